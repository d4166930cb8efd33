/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host engine against a model of the kernel's driver core, on a fixture tree: what a real
 * kernel cannot be made to do on demand. Every sysfs write of a multi-device hide or unhide is
 * made to fail in turn, and the process is killed at every write in turn; after each, every device
 * must be back on exactly the driver and driver_override it had, and the journal empty.
 * (tests/kernel/ runs the same operations on a real kernel.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "qpci-internal.h"

/* The GPU and its HDMI audio: one IOMMU group, two functions, two host drivers. */
static const char *const gpu[] = {"0000:03:00.0", "0000:03:00.1"};
static const char *const native[] = {"nouveau", "snd_hda_intel"};

struct model {
        char root[64];
        int writes;
        int fail_at;  /* this write returns -EIO (-1: none) */
        int crash_at; /* this write kills the process, as SIGKILL would (-1: none) */
        int fill_at;  /* 1 + the write at which the state's file system fills up (0: none) */
};

static void path_of(struct model *m, char *buf, size_t size, const char *fmt, const char *a, const char *b) {
        int n = snprintf(buf, size, "%s/", m->root);
        snprintf(buf + n, size - n, fmt, a, b);
}

static void read_link_base(const char *path, char *buf, size_t size) {
        char t[PATH_MAX];
        ssize_t n = readlink(path, t, sizeof(t) - 1);
        buf[0] = '\0';
        if (n > 0) {
                t[n] = '\0';
                snprintf(buf, size, "%s", basename(t));
        }
}

static void dev_driver(struct model *m, const char *bdf, char *buf, size_t size) {
        char p[PATH_MAX];
        path_of(m, p, sizeof(p), "sys/bus/pci/devices/%s/driver%s", bdf, "");
        read_link_base(p, buf, size);
}

static void dev_override(struct model *m, const char *bdf, char *buf, size_t size) {
        char p[PATH_MAX];
        FILE *f;
        path_of(m, p, sizeof(p), "sys/bus/pci/devices/%s/driver_override%s", bdf, "");
        f = fopen(p, "r");
        assert_non_null(f);
        if (!fgets(buf, size, f))
                buf[0] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        fclose(f);
}

static int link_driver(struct model *m, const char *bdf, const char *drv) {
        char dev[PATH_MAX + 16], p[PATH_MAX], real[PATH_MAX];
        path_of(m, p, sizeof(p), "sys/bus/pci/drivers/%s%s", drv, "");
        if (access(p, F_OK) < 0)
                return -ENODEV;
        path_of(m, dev, sizeof(dev), "sys/bus/pci/devices/%s%s", bdf, "");
        assert_non_null(realpath(dev, real));
        path_of(m, p, sizeof(p), "sys/bus/pci/drivers/%s/%s", drv, bdf);
        assert_int_equal(symlink(real, p), 0);
        path_of(m, p, sizeof(p), "sys/bus/pci/drivers/%s%s", drv, "");
        snprintf(dev, sizeof(dev), "%s/driver", real);
        assert_int_equal(symlink(p, dev), 0);
        return 0;
}

static const char *native_driver(const char *bdf) {
        for (size_t i = 0; i < 2; i++)
                if (streq(bdf, gpu[i]))
                        return native[i];
        return NULL;
}

static void drop_line(struct model *m, const char *file, const char *line) {
        char p[PATH_MAX], text[4096] = "", *l, *save = NULL;
        FILE *f;

        path_of(m, p, sizeof(p), "%s%s", file, "");
        if (!(f = fopen(p, "r")))
                return;
        text[fread(text, 1, sizeof(text) - 1, f)] = '\0';
        fclose(f);
        assert_non_null(f = fopen(p, "w"));
        for (l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                if (!streq(l, line))
                        fprintf(f, "%s\n", l);
        fclose(f);
}

/* The driver core's rules, as Documentation/ABI/testing/sysfs-bus-pci gives them. */
static int model_write(void *data, int dirfd, const char *name, const char *value) {
        struct model *m = data;
        char fdpath[64], dir[PATH_MAX], cur[64], ovr[64], p[PATH_MAX + 32];
        const char *drv;
        ssize_t n;
        int k = m->writes++;

        if (k == m->crash_at)
                _exit(137);
        if (k == m->fail_at)
                return -EIO;
        if (m->fill_at && k + 1 == m->fill_at) {
                char cmd[PATH_MAX + 64];
                /* At most 4 MiB, whatever is mounted there: the test's tmpfs is far smaller. */
                snprintf(cmd, sizeof(cmd), "dd if=/dev/zero of=%s/var/lib/qpci/filler bs=4k count=1024 2>/dev/null",
                         m->root);
                if (system(cmd) == -1)
                        return -EIO;
        }
        snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", dirfd);
        n = readlink(fdpath, dir, sizeof(dir) - 1);
        assert_true(n > 0);
        dir[n] = '\0';
        if (streq(name, "driver_override")) {
                FILE *f;
                snprintf(p, sizeof(p), "%s/driver_override", dir);
                f = fopen(p, "w");
                assert_non_null(f);
                fprintf(f, "%s\n", streq(value, "\n") ? "(null)" : value);
                fclose(f);
                return 0;
        }
        if (streq(name, "unbind") || streq(name, "bind")) {
                drv = basename(dir);
                dev_driver(m, value, cur, sizeof(cur));
                if (streq(name, "unbind")) {
                        if (!streq(cur, drv))
                                return -ENODEV;
                        path_of(m, p, sizeof(p), "sys/bus/pci/drivers/%s/%s", drv, value);
                        unlink(p);
                        if (streq(drv, "pciback")) /* pciback frees the device's state: permissive too */
                                drop_line(m, "sys/bus/pci/drivers/pciback/permissive", value);
                        path_of(m, p, sizeof(p), "sys/bus/pci/devices/%s/driver%s", value, "");
                        unlink(p);
                        return 0;
                }
                dev_override(m, value, ovr, sizeof(ovr));
                if (cur[0])
                        return -EBUSY;
                if (!streq(ovr, "(null)") && !streq(ovr, drv))
                        return -ENODEV;
                return link_driver(m, value, drv);
        }
        if (streq(name, "drivers_probe")) {
                dev_driver(m, value, cur, sizeof(cur));
                if (cur[0])
                        return 0;
                dev_override(m, value, ovr, sizeof(ovr));
                drv = streq(ovr, "(null)") ? native_driver(value) : ovr;
                if (drv)
                        link_driver(m, value, drv); /* success even when nothing binds, like the kernel */
                return 0;
        }
        if (streq(name, "remove_slot")) /* pciback forgets the device: nothing to model */
                return 0;
        if (streq(name, "permissive")) { /* pciback lists each device it was told of */
                FILE *f;
                snprintf(p, sizeof(p), "%s/permissive", dir);
                assert_non_null(f = fopen(p, "a"));
                fprintf(f, "%s\n", value);
                fclose(f);
                return 0;
        }
        fail_msg("unexpected write of '%s' to %s/%s", value, dir, name);
        return -EINVAL;
}

struct host {
        struct model m;
        struct qpci_ctx *ctx;
        struct qpci_inventory *inv;
        struct qpci_dev *devs[2];
};

static void host_open(struct host *h) {
        assert_int_equal(qpci_new(h->m.root, &h->ctx), 0);
        h->ctx->write_hook = model_write;
        h->ctx->write_hook_data = &h->m;
        assert_int_equal(qpci_inventory_new(h->ctx, &h->inv), 0);
        for (size_t i = 0; i < 2; i++)
                assert_int_equal(qpci_inventory_lookup(h->inv, gpu[i], &h->devs[i], NULL), 0);
}

static void host_close(struct host *h) {
        h->inv = qpci_inventory_unref(h->inv);
        h->ctx = qpci_unref(h->ctx);
}

static int setup(void **state) {
        struct host *h = calloc(1, sizeof(*h));
        char cmd[512];

        assert_non_null(h);
        strcpy(h->m.root, "/tmp/qpci-host-XXXXXX");
        assert_non_null(mkdtemp(h->m.root));
        snprintf(cmd, sizeof(cmd), "python3 %s/tests/fixture/mkfixture.py --force %s/tests/topologies/gpu-switch.topo %s",
                 QPCI_SOURCE_ROOT, QPCI_SOURCE_ROOT, h->m.root);
        assert_int_equal(system(cmd), 0);
        h->m.fail_at = h->m.crash_at = -1;
        host_open(h);
        *state = h;
        return 0;
}

static int teardown(void **state) {
        struct host *h = *state;
        char cmd[128];
        host_close(h);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", h->m.root);
        assert_int_equal(system(cmd), 0);
        free(h);
        return 0;
}

static void expect(struct host *h, const char *const drivers[2], const char *override) {
        char cur[64], ovr[64];
        for (size_t i = 0; i < 2; i++) {
                dev_driver(&h->m, gpu[i], cur, sizeof(cur));
                dev_override(&h->m, gpu[i], ovr, sizeof(ovr));
                if (!streq(cur, drivers[i]) || !streq(ovr, override))
                        fail_msg("%s: on '%s' with override '%s', want '%s' and '%s' (fail_at %d, crash_at %d)", gpu[i],
                                 cur, ovr, drivers[i], override, h->m.fail_at, h->m.crash_at);
        }
}

static int count(struct qpci_ctx *c, const char *o, const char *b, const char *x, const char *y, void *d) {
        (void)c, (void)o, (void)b, (void)x, (void)y;
        (*(size_t *)d)++;
        return 0;
}

static size_t journal_rows(struct host *h) {
        size_t n = 0;
        assert_int_equal(qpci_state_open(h->ctx), 0);
        assert_int_equal(qpci_journal_foreach(h->ctx, count, &n), 0);
        qpci_state_close(h->ctx);
        return n;
}

static const char *const on_host[] = {"nouveau", "snd_hda_intel"};
static const char *const on_vfio[] = {"vfio-pci", "vfio-pci"};

static void test_round_trip(void **state) {
        struct host *h = *state;
        char drv[64];

        assert_int_equal(qpci_host_hide(h->inv, h->devs, 2,
                                        &(struct qpci_hide_options){.driver = "vfio-pci", .persistent = true}), 0);
        expect(h, on_vfio, "vfio-pci");
        assert_int_equal(h->m.writes, 6); /* override, unbind, probe: twice */
        /* The boot-time rule sets the override at device add, before a host driver's module loads. */
        char rules[PATH_MAX], text[4096] = "";
        path_of(&h->m, rules, sizeof(rules), "etc/udev/rules.d/40-qpci-hide.rules%s%s", "", "");
        FILE *f = fopen(rules, "r");
        assert_non_null(f);
        text[fread(text, 1, sizeof(text) - 1, f)] = '\0';
        fclose(f);
        assert_non_null(strstr(text, "ACTION==\"add\", SUBSYSTEM==\"pci\", KERNEL==\"0000:03:00.0\", ATTR{vendor}==\"0x10de\", "
                                     "ATTR{device}==\"0x1b80\", ATTR{driver_override}=\"vfio-pci\", "
                                     "RUN{builtin}+=\"kmod load vfio-pci\", "
                                     "RUN+=\"/bin/sh -c 'echo $kernel > /sys/bus/pci/drivers_probe'\"\n"));
        assert_non_null(strstr(text, "KERNEL==\"0000:03:00.1\", ATTR{vendor}==\"0x10de\", ATTR{device}==\"0x10f0\""));
        assert_int_equal(qpci_state_open(h->ctx), 0);
        assert_int_equal(qpci_state_host_driver(h->ctx, gpu[0], 0x10de, 0x1b80, drv, sizeof(drv)), 1);
        assert_string_equal(drv, "nouveau");
        /* A record is for that very device: another card at the address gets none. */
        assert_int_equal(qpci_state_host_driver(h->ctx, gpu[0], 0x10de, 0x1b81, drv, sizeof(drv)), 0);
        qpci_state_close(h->ctx);
        /* A fresh inventory shows them hidden by qpci, and from which driver. */
        struct qpci_inventory *inv;
        struct qpci_dev *d;
        assert_int_equal(qpci_inventory_new(h->ctx, &inv), 0);
        assert_int_equal(qpci_inventory_lookup(inv, gpu[1], &d, NULL), 0);
        assert_int_equal(qpci_dev_get_state(d), QPCI_STATE_HIDDEN);
        assert_string_equal(qpci_dev_get_driver(d), "vfio-pci");
        assert_string_equal(qpci_dev_get_hidden_from(d), "snd_hda_intel");
        qpci_inventory_unref(inv);
        /* Hiding what is hidden moves nothing. */
        h->m.writes = 0;
        assert_int_equal(qpci_host_hide(h->inv, h->devs, 2, NULL), 0);
        assert_int_equal(h->m.writes, 0);

        assert_int_equal(qpci_host_unhide(h->inv, h->devs, 2), 0);
        expect(h, on_host, "(null)");
        assert_int_equal(journal_rows(h), 0);
        assert_int_equal(access(rules, F_OK), -1); /* nothing kept hidden: no rule file */
        assert_int_equal(qpci_inventory_new(h->ctx, &inv), 0);
        assert_int_equal(qpci_inventory_lookup(inv, gpu[1], &d, NULL), 0);
        assert_int_equal(qpci_dev_get_state(d), QPCI_STATE_HOST);
        assert_null(qpci_dev_get_hidden_from(d));
        qpci_inventory_unref(inv);
        /* Unhiding what is on the host is refused, and moves nothing. */
        h->m.writes = 0;
        assert_int_equal(qpci_host_unhide(h->inv, h->devs, 1), -EINVAL);
        assert_int_equal(h->m.writes, 0);
}

static void read_rules(struct host *h, char *text, size_t size) {
        char rules[PATH_MAX];
        FILE *f;

        text[0] = '\0';
        path_of(&h->m, rules, sizeof(rules), "etc/udev/rules.d/40-qpci-hide.rules%s%s", "", "");
        if ((f = fopen(rules, "r"))) {
                text[fread(text, 1, size - 1, f)] = '\0';
                fclose(f);
        }
}

/* An unhide of devices hidden for now only leaves the boot-time rules of others as they were:
 * the same file, not one written anew (a write and an fsync that change nothing). */
static void test_unhide_keeps_rules(void **state) {
        struct host *h = *state;
        char rules[PATH_MAX], before[4096], after[4096];
        struct stat was, now;

        assert_int_equal(qpci_state_open(h->ctx), 0);
        assert_int_equal(qpci_state_begin(h->ctx), 0);
        assert_int_equal(qpci_state_record_hidden(h->ctx, "0000:04:00.0", 0x144d, 0xa808, "nvme", "vfio-pci", true,
                                                  true), 0);
        assert_int_equal(qpci_state_commit(h->ctx), 0);
        assert_int_equal(qpci_state_write_rules(h->ctx), 1);
        qpci_state_close(h->ctx);
        path_of(&h->m, rules, sizeof(rules), "etc/udev/rules.d/40-qpci-hide.rules%s%s", "", "");
        assert_int_equal(stat(rules, &was), 0);
        read_rules(h, before, sizeof(before));
        assert_non_null(strstr(before, "KERNEL==\"0000:04:00.0\""));

        assert_int_equal(qpci_host_hide(h->inv, h->devs, 2, &(struct qpci_hide_options){.driver = "vfio-pci"}), 0);
        assert_int_equal(qpci_host_unhide(h->inv, h->devs, 2), 0);
        expect(h, on_host, "(null)");
        assert_int_equal(stat(rules, &now), 0);
        assert_true(now.st_ino == was.st_ino);
        read_rules(h, after, sizeof(after));
        assert_string_equal(after, before);

        /* Given back with a rule of its own: the file is written, and holds the other's rule only. */
        assert_int_equal(qpci_host_hide(h->inv, h->devs, 2,
                                        &(struct qpci_hide_options){.driver = "vfio-pci", .persistent = true}), 0);
        read_rules(h, after, sizeof(after));
        assert_non_null(strstr(after, "KERNEL==\"0000:03:00.1\""));
        assert_int_equal(qpci_host_unhide(h->inv, h->devs, 2), 0);
        read_rules(h, after, sizeof(after));
        assert_string_equal(after, before);
}

/* pciback's permissive mode, now and, with persistent, at every boot until the device is unhidden. */
static void test_permissive(void **state) {
        struct host *h = *state;
        static const char *const on_pciback[] = {"pciback", "pciback"};
        char p[PATH_MAX], text[4096];

        /* On the host driver: refused, and nothing kept. */
        assert_int_equal(qpci_host_set_permissive(h->devs[0], true), -EINVAL);
        read_rules(h, text, sizeof(text));
        assert_string_equal(text, "");

        path_of(&h->m, p, sizeof(p), "sys/bus/pci/drivers/pciback%s%s", "", "");
        assert_int_equal(mkdir(p, 0755), 0);
        path_of(&h->m, p, sizeof(p), "sys/bus/pci/drivers/pciback/permissive%s%s", "", "");
        fclose(fopen(p, "w"));
        assert_int_equal(qpci_host_hide(h->inv, h->devs, 2, &(struct qpci_hide_options){.driver = "pciback"}), 0);
        expect(h, on_pciback, "pciback");
        /* Once: pciback has it, and no rule is written. */
        assert_int_equal(qpci_host_set_permissive(h->devs[1], false), 0);
        read_rules(h, text, sizeof(text));
        assert_string_equal(text, "");
        assert_int_equal(qpci_host_set_permissive(h->devs[0], true), 0);
        FILE *f = fopen(p, "r");
        assert_non_null(f);
        text[fread(text, 1, sizeof(text) - 1, f)] = '\0';
        fclose(f);
        assert_string_equal(text, "0000:03:00.1\n0000:03:00.0\n");
        read_rules(h, text, sizeof(text));
        assert_non_null(strstr(text, "ACTION==\"add|bind\", SUBSYSTEM==\"pci\", KERNEL==\"0000:03:00.0\", "
                                     "ATTR{vendor}==\"0x10de\", ATTR{device}==\"0x1b80\", DRIVER==\"pciback\", "
                                     "RUN+=\"/bin/sh -c 'echo 0000:03:00.0 > /sys/bus/pci/drivers/pciback/permissive'\"\n"));
        assert_null(strstr(text, "0000:03:00.1"));
        assert_null(strstr(text, "driver_override")); /* hidden for now only: no hide rule */
        /* The inventory reads pciback's lists: permissive, and in its slots (pcistub's list). */
        path_of(&h->m, p, sizeof(p), "sys/bus/pci/drivers/pciback/slots%s%s", "", "");
        f = fopen(p, "w");
        assert_non_null(f);
        fprintf(f, "0000:03:00.0\n0000:03:00.1\n");
        fclose(f);
        struct qpci_inventory *inv;
        struct qpci_dev *d;
        assert_int_equal(qpci_inventory_new(h->ctx, &inv), 0);
        assert_int_equal(qpci_inventory_lookup(inv, gpu[0], &d, NULL), 0);
        assert_int_equal(qpci_dev_get_pciback(d), QPCI_PCIBACK_SLOT | QPCI_PCIBACK_PERMISSIVE);
        assert_int_equal(qpci_inventory_lookup(inv, "0000:04:00.0", &d, NULL), 0);
        assert_int_equal(qpci_dev_get_pciback(d), 0);
        qpci_inventory_unref(inv);
        /* pciback cannot switch permissive off: qpci unbinds and binds it again, journaled. */
        h->m.writes = 0;
        assert_int_equal(qpci_host_clear_permissive(h->devs[0], false), 0);
        expect(h, on_pciback, "pciback");
        assert_int_equal(journal_rows(h), 0);
        path_of(&h->m, p, sizeof(p), "sys/bus/pci/drivers/pciback/permissive%s%s", "", "");
        assert_non_null(f = fopen(p, "r"));
        text[fread(text, 1, sizeof(text) - 1, f)] = '\0';
        fclose(f);
        assert_string_equal(text, "0000:03:00.1\n");
        assert_int_equal(h->m.writes, 4); /* override, unbind, remove_slot, probe */
        h->m.writes = 0;
        assert_int_equal(qpci_host_clear_permissive(h->devs[0], false), 0); /* not permissive: nothing to do */
        assert_int_equal(h->m.writes, 0);
        /* Given back: the rule goes with it. */
        assert_int_equal(qpci_host_unhide(h->inv, h->devs, 2), 0);
        expect(h, on_host, "(null)");
        read_rules(h, text, sizeof(text));
        assert_string_equal(text, "");
}

/* A device a VM used without a reliable reset stays recorded, for that very card only, with the
 * VM's whole name however long it is. */
static void test_taint(void **state) {
        struct host *h = *state;
        char *vm = NULL;
        char long_name[1001];

        assert_int_equal(qpci_state_tainted_by(h->ctx, gpu[0], 0x10de, 0x1b80, &vm), 0);
        assert_null(vm);
        assert_int_equal(qpci_state_mark_tainted(h->ctx, gpu[0], 0x10de, 0x1b80, "sys-gpu"), 0);
        assert_int_equal(qpci_state_tainted_by(h->ctx, gpu[0], 0x10de, 0x1b80, &vm), 1);
        assert_string_equal(vm, "sys-gpu");
        free(vm);
        assert_int_equal(qpci_state_tainted_by(h->ctx, gpu[0], 0x10de, 0x1b81, &vm), 0);
        assert_null(vm);
        assert_int_equal(qpci_state_mark_tainted(h->ctx, gpu[0], 0x10de, 0x1b80, "games"), 0);
        assert_int_equal(qpci_state_tainted_by(h->ctx, gpu[0], 0x10de, 0x1b80, &vm), 1);
        assert_string_equal(vm, "games");
        free(vm);
        /* Longer than any buffer a caller would guess: the same name comes back, not a cut one. */
        memset(long_name, 'v', sizeof(long_name) - 1);
        long_name[sizeof(long_name) - 1] = '\0';
        assert_int_equal(qpci_state_mark_tainted(h->ctx, gpu[0], 0x10de, 0x1b80, long_name), 0);
        assert_int_equal(qpci_state_tainted_by(h->ctx, gpu[0], 0x10de, 0x1b80, &vm), 1);
        assert_string_equal(vm, long_name);
        free(vm);
}

/* pciback's permissive list names each device on a line of its own: another segment's device whose
 * address ends in this one's (10000:03:00.0 behind a VMD controller) is not this one. */
static void test_permissive_exact(void **state) {
        struct host *h = *state;
        char p[PATH_MAX];
        FILE *f;

        path_of(&h->m, p, sizeof(p), "sys/bus/pci/drivers/pciback%s%s", "", "");
        assert_int_equal(mkdir(p, 0755), 0);
        path_of(&h->m, p, sizeof(p), "sys/bus/pci/drivers/pciback/permissive%s%s", "", "");
        assert_non_null(f = fopen(p, "w"));
        fputs("10000:03:00.0\n0000:03:00.10\n", f);
        fclose(f);
        assert_false(qpci_pciback_is_permissive(h->ctx, gpu[0]));
        assert_non_null(f = fopen(p, "a"));
        fputs("0000:03:00.0\n", f);
        fclose(f);
        assert_true(qpci_pciback_is_permissive(h->ctx, gpu[0]));
        assert_false(qpci_pciback_is_permissive(h->ctx, gpu[1]));
}

/* A driver_override longer than qpci's record of it (the kernel takes up to a page) is not cut to
 * fit and later put back cut: the hide is refused before anything moves. */
static void test_long_override(void **state) {
        struct host *h = *state;
        char p[PATH_MAX], longer[NAME_MAX + 46], ovr[sizeof(longer) + 8];
        FILE *f;

        memset(longer, 'x', sizeof(longer) - 1);
        longer[sizeof(longer) - 1] = '\0';
        path_of(&h->m, p, sizeof(p), "sys/bus/pci/devices/%s/driver_override%s", gpu[1], "");
        assert_non_null(f = fopen(p, "w"));
        fprintf(f, "%s\n", longer);
        fclose(f);
        assert_int_equal(qpci_host_hide(h->inv, h->devs, 2, NULL), -EFBIG);
        assert_int_equal(h->m.writes, 0);
        for (size_t i = 0; i < 2; i++) {
                char cur[64];
                dev_driver(&h->m, gpu[i], cur, sizeof(cur));
                assert_string_equal(cur, native[i]);
        }
        dev_override(&h->m, gpu[1], ovr, sizeof(ovr));
        assert_string_equal(ovr, longer);
        assert_int_equal(journal_rows(h), 0);
}

/* When the guard cannot tell what on the host depends on a device (its /proc file is a FIFO), the
 * hide is refused: not knowing is not knowing that nothing does. */
static void test_guard_unreadable(void **state) {
        struct host *h = *state;
        char p[PATH_MAX];

        path_of(&h->m, p, sizeof(p), "proc/self%s%s", "", "");
        assert_int_equal(mkdir(p, 0755), 0);
        path_of(&h->m, p, sizeof(p), "proc/self/mountinfo%s%s", "", "");
        assert_int_equal(mkfifo(p, 0644), 0);
        alarm(10);
        assert_true(qpci_host_hide(h->inv, h->devs, 2, NULL) < 0);
        alarm(0);
        assert_int_equal(h->m.writes, 0);
        expect(h, native, "(null)");
        /* --force hides it unchecked, as it hides a device the host does depend on. */
        assert_int_equal(qpci_host_hide(h->inv, h->devs, 2, &(struct qpci_hide_options){.force = true}), 0);
}

static void test_group_rule(void **state) {
        struct host *h = *state;

        assert_int_equal(qpci_host_hide(h->inv, h->devs, 1, NULL), -EBUSY);
        assert_int_equal(h->m.writes, 0);
        expect(h, on_host, "(null)");
        /* --with-group takes the audio function along. */
        assert_int_equal(qpci_host_hide(h->inv, h->devs, 1, &(struct qpci_hide_options){.with_group = true}), 0);
        expect(h, on_vfio, "vfio-pci");
}

/* The last error logged, whole. */
static void keep_error(void *data, int priority, const char *fmt, va_list ap) {
        char **last = data;
        if (priority != QPCI_LOG_ERR)
                return;
        free(*last);
        assert_true(vasprintf(last, fmt, ap) >= 0);
}

/* n functions in one IOMMU group (a PCIe switch without ACS), one per slot across as many root
 * buses as they need, each on a host driver. */
static void large_group_fixture(const char *root, size_t n) {
        char topo[PATH_MAX], cmd[PATH_MAX * 3];
        FILE *f;

        snprintf(topo, sizeof(topo), "%s.topo", root);
        assert_non_null(f = fopen(topo, "w"));
        for (size_t i = 0; i < n; i++)
                fprintf(f, "dev 0000:%02zx:%02zx.0 8086:10d3 class=020000 driver=e1000e pcie=endpoint flr "
                           "reset=flr group=7\n", 0x10 + i / 32, i % 32);
        fprintf(f, "driver vfio-pci\n");
        fclose(f);
        snprintf(cmd, sizeof(cmd), "python3 %s/tests/fixture/mkfixture.py --force %s %s", QPCI_SOURCE_ROOT, topo, root);
        assert_int_equal(system(cmd), 0);
        unlink(topo);
}

/* Hiding one function of a large group: refused naming every other one, or, with --with-group,
 * all of them moved, whatever the group's size. */
static void test_large_groups(void **state) {
        static const size_t sizes[] = {1, 64, 65, 72, 300};
        (void)state;

        for (size_t s = 0; s < ELEMENTSOF(sizes); s++) {
                size_t n = sizes[s];
                struct model m = {.fail_at = -1, .crash_at = -1};
                struct qpci_ctx *ctx;
                struct qpci_inventory *inv;
                struct qpci_dev *first;
                _cleanup_free_ char *err = NULL;
                char drv[64], cmd[128];

                /* tmpfs: hundreds of functions cost little there (the fixture README says why). */
                strcpy(m.root, "/dev/shm/qpci-group-XXXXXX");
                assert_non_null(mkdtemp(m.root));
                large_group_fixture(m.root, n);
                assert_int_equal(qpci_new(m.root, &ctx), 0);
                ctx->write_hook = model_write;
                ctx->write_hook_data = &m;
                qpci_set_log_fn(ctx, keep_error, &err);
                assert_int_equal(qpci_inventory_new(ctx, &inv), 0);
                assert_int_equal(qpci_inventory_count(inv), n);
                first = qpci_inventory_get(inv, 0);
                assert_int_equal(qpci_dev_get_group_peer_count(first), n - 1);

                if (n > 1) {
                        assert_int_equal(qpci_host_hide(inv, &first, 1, NULL), -EBUSY);
                        assert_int_equal(m.writes, 0);
                        assert_non_null(err);
                        for (size_t i = 1; i < n; i++) {
                                char named[64];
                                snprintf(named, sizeof(named), "%s (e1000e)", qpci_dev_get_bdf(qpci_inventory_get(inv, i)));
                                if (!strstr(err, named))
                                        fail_msg("group of %zu: %s is not named in: %s", n, named, err);
                        }
                        assert_non_null(strstr(err, "name them too or add --with-group"));
                } else /* alone in its group: nothing else to name */
                        assert_int_equal(qpci_host_hide(inv, &first, 1, NULL), 0);
                assert_int_equal(qpci_host_hide(inv, &first, 1, &(struct qpci_hide_options){.with_group = true}), 0);
                for (size_t i = 0; i < n; i++) {
                        dev_driver(&m, qpci_dev_get_bdf(qpci_inventory_get(inv, i)), drv, sizeof(drv));
                        if (!streq(drv, "vfio-pci"))
                                fail_msg("group of %zu: %s is on '%s' after hide --with-group", n,
                                         qpci_dev_get_bdf(qpci_inventory_get(inv, i)), drv);
                }
                qpci_inventory_unref(inv);
                qpci_unref(ctx);
                snprintf(cmd, sizeof(cmd), "rm -rf '%s'", m.root);
                assert_int_equal(system(cmd), 0);
        }
}

/* A failure at every single write: all or nothing, every time. */
static void test_fail_each_step(void **state) {
        struct host *h = *state;

        for (int k = 0; k < 6; k++) {
                h->m.writes = 0;
                h->m.fail_at = k;
                assert_true(qpci_host_hide(h->inv, h->devs, 2, NULL) < 0);
                expect(h, on_host, "(null)");
                assert_int_equal(journal_rows(h), 0);
        }
        h->m.fail_at = -1;
        assert_int_equal(qpci_host_hide(h->inv, h->devs, 2, NULL), 0);
        for (int k = 0; k < 6; k++) {
                h->m.writes = 0;
                h->m.fail_at = k;
                if (k >= 4) {
                        /* Every unbind comes before any probe: writes 4 and 5 are the probes. A
                         * drivers_probe failing is survived: the driver recorded at hide time binds. */
                        assert_int_equal(qpci_host_unhide(h->inv, h->devs, 2), 0);
                        expect(h, on_host, "(null)");
                        h->m.fail_at = -1;
                        assert_int_equal(qpci_host_hide(h->inv, h->devs, 2, NULL), 0);
                        continue;
                }
                assert_true(qpci_host_unhide(h->inv, h->devs, 2) < 0);
                /* A device that was on its stub stays there. */
                expect(h, on_vfio, "vfio-pci");
                assert_int_equal(journal_rows(h), 0);
        }
}

/* Killed at every write: the next command puts everything back. */
static void test_crash_each_step(void **state) {
        struct host *h = *state;

        for (int hide = 1; hide >= 0; hide--) {
                for (int k = 0; k < 6; k++) {
                        pid_t pid;
                        int status;

                        host_close(h);
                        pid = fork();
                        assert_true(pid >= 0);
                        if (pid == 0) {
                                h->m.crash_at = k;
                                h->m.writes = 0;
                                host_open(h);
                                if (hide)
                                        qpci_host_hide(h->inv, h->devs, 2, NULL);
                                else
                                        qpci_host_unhide(h->inv, h->devs, 2);
                                _exit(0);
                        }
                        assert_int_equal(waitpid(pid, &status, 0), pid);
                        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 137);
                        host_open(h);
                        assert_int_equal(journal_rows(h), 2);
                        assert_int_equal(qpci_host_recover(h->ctx), 0);
                        expect(h, hide ? on_host : on_vfio, hide ? "(null)" : "vfio-pci");
                        assert_int_equal(journal_rows(h), 0);
                }
                if (hide)
                        assert_int_equal(qpci_host_hide(h->inv, h->devs, 2, NULL), 0);
        }
}

/* The disk fills up once every device has moved, so the result cannot be recorded: the devices go
 * back now, rather than at whichever command comes next. In a mount namespace of its own (a small
 * tmpfs over the state folder); skipped where mounting is not allowed. */
static void test_full_disk_after_moves(void **state) {
        struct host *h = *state;
        char dir[PATH_MAX], cmd[PATH_MAX + 64];
        int status;
        pid_t pid;

        path_of(&h->m, dir, sizeof(dir), "var/lib/qpci%s%s", "", "");
        snprintf(cmd, sizeof(cmd), "mkdir -p %s", dir);
        assert_int_equal(system(cmd), 0);
        host_close(h);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char cur[64], ovr[64];
                if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
                    mount("tmpfs", dir, "tmpfs", 0, "size=256k") < 0)
                        _exit(77);
                host_open(h); /* a root descriptor of this namespace */
                h->m.writes = 0;
                h->m.fill_at = 5 + 1; /* the second probe: both devices are on vfio-pci */
                int r = qpci_host_hide(h->inv, h->devs, 2, NULL);
                if (r != -ENOSPC)
                        _exit(10);
                for (size_t i = 0; i < 2; i++) {
                        dev_driver(&h->m, gpu[i], cur, sizeof(cur));
                        dev_override(&h->m, gpu[i], ovr, sizeof(ovr));
                        if (!streq(cur, native[i]) || !streq(ovr, "(null)"))
                                _exit(11);
                }
                /* Room again: what the journal still says is a no-op to play back. */
                snprintf(cmd, sizeof(cmd), "rm %s/filler", dir);
                h->m.fill_at = 0;
                if (system(cmd) != 0 || qpci_host_recover(h->ctx) < 0 || journal_rows(h) != 0)
                        _exit(12);
                for (size_t i = 0; i < 2; i++) {
                        dev_driver(&h->m, gpu[i], cur, sizeof(cur));
                        if (!streq(cur, native[i]))
                                _exit(13);
                }
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        host_open(h);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
                skip();
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_group_rule, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unhide_keeps_rules, setup, teardown),
                cmocka_unit_test(test_large_groups),
                cmocka_unit_test_setup_teardown(test_permissive, setup, teardown),
                cmocka_unit_test_setup_teardown(test_permissive_exact, setup, teardown),
                cmocka_unit_test_setup_teardown(test_long_override, setup, teardown),
                cmocka_unit_test_setup_teardown(test_guard_unreadable, setup, teardown),
                cmocka_unit_test_setup_teardown(test_taint, setup, teardown),
                cmocka_unit_test_setup_teardown(test_fail_each_step, setup, teardown),
                cmocka_unit_test_setup_teardown(test_crash_each_step, setup, teardown),
                cmocka_unit_test_setup_teardown(test_full_disk_after_moves, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
