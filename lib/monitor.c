/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Changes as they happen, for a screen that must follow them within a second without polling:
 * udev's events for PCI devices (the real host), inotify on qpci's state folder, where every
 * command that changes devices or VMs names itself in a lock file while it runs (so qpci's own
 * changes are seen under QPCI_ROOT too), inotify on a fixture tree's driver links (where no udev
 * runs), and libvirt's domain events, from the VM module's event loop in a thread of its own.
 * Changes from both threads reach the caller one at a time.
 */
#include <fcntl.h>
#include <libudev.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "qpci-internal.h"

/* The lock files of state.c, and what each one's holder wrote since it was taken. */
static const char *const lock_names[] = {"lock", "vms.lock"};

struct watched_dev {
        int wd;
        char bdf[QPCI_BDF_MAX];
};

struct qpci_monitor {
        struct qpci_ctx *ctx;
        char *uri;             /* NULL: the default connection; "" no VMs */
        qpci_change_fn fn;
        void *data;
        pthread_mutex_t lock;  /* one change at a time reaches fn */
        int stop_fd;           /* an eventfd: readable once stopped */
        int inotify_fd;
        int state_wd;
        char holder[ELEMENTSOF(lock_names)][300];
        bool modified[ELEMENTSOF(lock_names)];
        struct watched_dev *devs; /* a fixture tree's device folders */
        size_t n_devs;
        struct udev *udev;
        struct udev_monitor *udev_mon;
        pthread_t vm_thread;
        bool vm_thread_running;
        sem_t vm_ready; /* posted when libvirt's callbacks are in place, or it will give none */
};

static void emit(struct qpci_monitor *m, const struct qpci_change *c) {
        pthread_mutex_lock(&m->lock);
        m->fn(c, m->data);
        pthread_mutex_unlock(&m->lock);
}

static void emit_driver(struct qpci_monitor *m, const char *bdf, const char *driver) {
        struct qpci_change c = {.bdf = bdf};

        c.type = driver && *driver ? "device-bound" : "device-unbound";
        c.driver = driver && *driver ? driver : NULL;
        c.hidden = c.driver && qpci_driver_is_stub(c.driver);
        emit(m, &c);
}

static void vm_change(const struct qpci_change *c, void *data) {
        struct qpci_monitor *m = data;

        if (streq(c->type, "ready"))
                sem_post(&m->vm_ready);
        else
                emit(m, c);
}

static void *vm_thread(void *data) {
        struct qpci_monitor *m = data;
        int r = qpci_virt_watch(m->ctx, m->uri, vm_change, m, m->stop_fd);

        /* It never got as far as being ready: nobody must wait for it. */
        if (r < 0)
                sem_post(&m->vm_ready);
        return NULL;
}

static void inventory_unrefp(struct qpci_inventory **inv) {
        qpci_inventory_unref(*inv);
}

/* Without udev (a fixture tree), a device's folder is watched for its driver link. */
static int watch_fixture_devices(struct qpci_monitor *m) {
        _cleanup_(inventory_unrefp) struct qpci_inventory *inv = NULL;
        int r = qpci_inventory_new(m->ctx, &inv);

        if (r < 0)
                return r;
        m->devs = calloc(qpci_inventory_count(inv), sizeof(*m->devs));
        if (!m->devs && qpci_inventory_count(inv))
                return -ENOMEM;
        for (size_t i = 0; i < qpci_inventory_count(inv); i++) {
                const char *bdf = qpci_dev_get_bdf(qpci_inventory_get(inv, i));
                _cleanup_close_ int fd = qpci_dev_open_sysfs(m->ctx, bdf);
                char path[64];

                if (fd < 0)
                        continue;
                snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
                int wd = inotify_add_watch(m->inotify_fd, path, IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM);
                if (wd < 0)
                        continue;
                m->devs[m->n_devs].wd = wd;
                snprintf(m->devs[m->n_devs].bdf, sizeof(m->devs[m->n_devs].bdf), "%s", bdf);
                m->n_devs++;
        }
        return 0;
}

QPCI_EXPORT int qpci_monitor_new(struct qpci_ctx *ctx, const char *uri, qpci_change_fn fn, void *data,
                                 struct qpci_monitor **ret) {
        struct qpci_monitor *m = calloc(1, sizeof(*m));
        int r;

        if (!m)
                return -ENOMEM;
        m->ctx = qpci_ref(ctx);
        m->fn = fn;
        m->data = data;
        m->state_wd = -1;
        pthread_mutex_init(&m->lock, NULL);
        sem_init(&m->vm_ready, 0, 0);
        m->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        m->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (m->stop_fd < 0 || m->inotify_fd < 0 || (uri && !(m->uri = strdup(uri)))) {
                r = m->stop_fd < 0 || m->inotify_fd < 0 ? -errno : -ENOMEM;
                qpci_monitor_free(m);
                return log_error_errno(ctx, r, "cannot watch for changes: %s", strerror(-r));
        }
        /* qpci's own commands, whatever the root. */
        _cleanup_close_ int dir = qpci_state_dir_open(ctx);
        char path[64];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", dir);
        if (dir < 0 || (m->state_wd = inotify_add_watch(m->inotify_fd, path, IN_MODIFY | IN_CLOSE_WRITE)) < 0)
                log_warn(ctx, "qpci's own commands are left out: cannot watch its state folder (%s)",
                         strerror(dir < 0 ? -dir : errno));
        if (!streq(qpci_get_root(ctx), "/")) {
                if ((r = watch_fixture_devices(m)) < 0)
                        log_warn(ctx, "the devices' drivers are left out: %s", strerror(-r));
        } else if (!(m->udev = udev_new()) || !(m->udev_mon = udev_monitor_new_from_netlink(m->udev, "udev")) ||
                   udev_monitor_filter_add_match_subsystem_devtype(m->udev_mon, "pci", NULL) < 0 ||
                   udev_monitor_enable_receiving(m->udev_mon) < 0) {
                log_warn(ctx, "devices added, removed, hidden and given back are left out: udev's events cannot be "
                         "read (%s)", strerror(errno));
                m->udev_mon = udev_monitor_unref(m->udev_mon);
        }
        *ret = m;
        return 0;
}

static void read_udev(struct qpci_monitor *m) {
        struct udev_device *d = udev_monitor_receive_device(m->udev_mon);
        const char *action, *bdf;

        if (!d)
                return;
        action = udev_device_get_action(d);
        bdf = udev_device_get_sysname(d);
        if (action && bdf && (streq(action, "bind") || streq(action, "unbind")))
                emit_driver(m, bdf, streq(action, "bind") ? udev_device_get_driver(d) : NULL);
        else if (action && bdf && (streq(action, "add") || streq(action, "remove")))
                emit(m, &(struct qpci_change){.type = streq(action, "add") ? "device-added" : "device-removed",
                                               .bdf = bdf});
        udev_device_unref(d);
}

static void lock_event(struct qpci_monitor *m, const struct inotify_event *e) {
        for (size_t i = 0; i < ELEMENTSOF(lock_names); i++) {
                if (!e->len || !streq(e->name, lock_names[i]))
                        continue;
                if (e->mask & IN_MODIFY) {
                        _cleanup_close_ int dir = qpci_state_dir_open(m->ctx);
                        _cleanup_close_ int fd = dir < 0 ? -1 : openat(dir, lock_names[i], O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                        char buf[sizeof(m->holder[i])];
                        ssize_t n = fd < 0 ? -1 : pread(fd, buf, sizeof(buf) - 1, 0);
                        buf[n > 0 ? n : 0] = '\0';
                        buf[strcspn(buf, "\n")] = '\0';
                        /* The holder writes itself when it takes the lock, and the lock is emptied
                         * before it is let go: keep what was there. */
                        if (buf[0])
                                memcpy(m->holder[i], buf, sizeof(buf));
                        m->modified[i] = true;
                }
                /* Closed after a write: a command let go of it, done. Waiters only open and close it. */
                if ((e->mask & IN_CLOSE_WRITE) && m->modified[i]) {
                        emit(m, &(struct qpci_change){.type = "qpci",
                                                       .detail = m->holder[i][0] ? m->holder[i] : NULL});
                        m->holder[i][0] = '\0';
                        m->modified[i] = false;
                }
        }
}

static void read_inotify(struct qpci_monitor *m) {
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        ssize_t len;

        while ((len = read(m->inotify_fd, buf, sizeof(buf))) > 0)
                for (char *p = buf; p < buf + len;) {
                        const struct inotify_event *e = (const struct inotify_event *)p;
                        p += sizeof(*e) + e->len;
                        if (e->wd == m->state_wd) {
                                lock_event(m, e);
                                continue;
                        }
                        if (!e->len || !streq(e->name, "driver"))
                                continue;
                        for (size_t i = 0; i < m->n_devs; i++) {
                                char drv[256] = "";
                                if (m->devs[i].wd != e->wd)
                                        continue;
                                if (qpci_host_current_driver(m->ctx, m->devs[i].bdf, drv, sizeof(drv)) < 0)
                                        drv[0] = '\0';
                                emit_driver(m, m->devs[i].bdf, e->mask & (IN_CREATE | IN_MOVED_TO) ? drv : NULL);
                        }
                }
}

QPCI_EXPORT int qpci_monitor_run(struct qpci_monitor *m, int stop_fd) {
        struct pollfd p[4] = {
                {.fd = m->stop_fd, .events = POLLIN},
                {.fd = stop_fd, .events = POLLIN},
                {.fd = m->inotify_fd, .events = POLLIN},
                {.fd = m->udev_mon ? udev_monitor_get_fd(m->udev_mon) : -1, .events = POLLIN},
        };
        int r;

        if ((!m->uri || *m->uri) && !m->vm_thread_running) {
                r = pthread_create(&m->vm_thread, NULL, vm_thread, m);
                if (r != 0)
                        log_warn(m->ctx, "VM events are left out: %s", strerror(r));
                m->vm_thread_running = r == 0;
                /* "ready" promises that a change made after it is seen, VMs' included. */
                while (m->vm_thread_running && sem_wait(&m->vm_ready) < 0 && errno == EINTR)
                        ;
        }
        emit(m, &(struct qpci_change){.type = "ready"});
        for (;;) {
                if (poll(p, ELEMENTSOF(p), -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        break;
                }
                if (p[0].revents || p[1].revents) {
                        r = 0;
                        break;
                }
                if (p[2].revents)
                        read_inotify(m);
                if (p[3].revents)
                        read_udev(m);
        }
        qpci_monitor_stop(m);
        if (m->vm_thread_running) {
                pthread_join(m->vm_thread, NULL);
                m->vm_thread_running = false;
        }
        return r < 0 ? log_error_errno(m->ctx, r, "cannot wait for changes: %s", strerror(-r)) : 0;
}

QPCI_EXPORT void qpci_monitor_stop(struct qpci_monitor *m) {
        uint64_t one = 1;
        if (write(m->stop_fd, &one, sizeof(one)) < 0)
                return; /* already at its maximum: stopped anyway */
}

QPCI_EXPORT struct qpci_monitor *qpci_monitor_free(struct qpci_monitor *m) {
        if (!m)
                return NULL;
        if (m->vm_thread_running) {
                qpci_monitor_stop(m);
                pthread_join(m->vm_thread, NULL);
        }
        udev_monitor_unref(m->udev_mon);
        udev_unref(m->udev);
        if (m->inotify_fd >= 0)
                close(m->inotify_fd);
        if (m->stop_fd >= 0)
                close(m->stop_fd);
        pthread_mutex_destroy(&m->lock);
        sem_destroy(&m->vm_ready);
        free(m->devs);
        free(m->uri);
        qpci_unref(m->ctx);
        free(m);
        return NULL;
}
