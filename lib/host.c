/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Taking devices from the host and giving them back, all or nothing.
 *
 * Every operation runs under the state lock, first puts back whatever an interrupted command left
 * half-moved, then commits its intent to the journal before the first sysfs write. A failure
 * part-way moves every device back to exactly the driver (and driver_override) it had, so a device
 * that was already on a stub stays there.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "qpci-internal.h"


QPCI_EXPORT bool qpci_host_is_xen_dom0(struct qpci_ctx *ctx) {
        _cleanup_close_ int fd = qpci_open_root(ctx, "/proc/xen", O_PATH | O_DIRECTORY);
        char buf[128];

        return fd >= 0 && qpci_read_line(fd, "capabilities", buf, sizeof(buf)) > 0 && strstr(buf, "control_d");
}

QPCI_EXPORT const char *qpci_host_default_stub(struct qpci_ctx *ctx) {
        /* On a Xen dom0 the hypervisor assigns devices, through pciback; elsewhere VFIO does. */
        return qpci_host_is_xen_dom0(ctx) ? "pciback" : "vfio-pci";
}

QPCI_EXPORT int qpci_host_current_driver(struct qpci_ctx *ctx, const char *bdf, char *buf, size_t size) {
        _cleanup_close_ int devfd = qpci_dev_open_sysfs(ctx, bdf);

        if (devfd < 0)
                return devfd;
        return qpci_current_driver(devfd, buf, size);
}

/* The stub's driver directory, loading its module when it is missing. */
static int ensure_driver(struct qpci_ctx *ctx, const char *driver) {
        char path[PATH_MAX];
        const char *module = streq(driver, "pciback") ? "xen-pciback" : driver;
        int r;

        snprintf(path, sizeof(path), "sys/bus/pci/drivers/%s", driver);
        if (faccessat(ctx->root_fd, path, F_OK, 0) == 0)
                return 0;
        /* Loading a module changes the running kernel: never on behalf of a fixture tree. */
        if (!streq(ctx->root, "/"))
                return log_error_errno(ctx, -ENOENT, "driver %s is not loaded (no /%s under %s), and qpci loads "
                                       "modules only on the real host", driver, path, ctx->root);
        r = qpci_modules_load(ctx, module);
        if (r < 0)
                return log_error_errno(ctx, r, "cannot load the module %s for %s: %s", module, driver, strerror(-r));
        if (faccessat(ctx->root_fd, path, F_OK, 0) < 0)
                return log_error_errno(ctx, -ENOENT, "module %s loaded, but the driver %s did not appear", module,
                                       driver);
        return 0;
}

/* Puts one device back as the journal recorded it: override first, then the driver. */
static int restore(struct qpci_ctx *ctx, const char *op, const char *bdf, const char *from_driver,
                   const char *from_override, void *data) {
        _cleanup_close_ int devfd = qpci_dev_open_sysfs(ctx, bdf);
        char cur[NAME_MAX + 1];
        int r;

        (void)op;
        (void)data;
        if (devfd < 0)
                return log_error_errno(ctx, devfd, "%s: gone from sysfs, cannot put it back: %s", bdf,
                                       strerror(-devfd));
        r = qpci_current_driver(devfd, cur, sizeof(cur));
        if (r < 0)
                return r;
        r = qpci_set_override(ctx, devfd, from_override);
        if (r < 0)
                return log_error_errno(ctx, r, "%s: cannot restore driver_override: %s", bdf, strerror(-r));
        if (streq(cur, from_driver))
                return 0;
        if (cur[0] && (r = qpci_unbind(ctx, bdf, cur)) < 0)
                return r;
        if (from_driver[0] && qpci_bind(ctx, bdf, from_driver) < 0)
                qpci_drivers_probe(ctx, bdf); /* the driver may want its own match: let the core decide */
        r = qpci_current_driver(devfd, cur, sizeof(cur));
        if (r < 0)
                return r;
        if (!streq(cur, from_driver))
                return log_error_errno(ctx, -EIO, "%s: could not put it back on %s (it is on %s)", bdf,
                                       from_driver[0] ? from_driver : "no driver", cur[0] ? cur : "no driver");
        log_info(ctx, "%s: back on %s", bdf, from_driver[0] ? from_driver : "no driver");
        return 0;
}

static int count_row(struct qpci_ctx *ctx, const char *op, const char *bdf, const char *a, const char *b, void *data) {
        (void)ctx, (void)op, (void)bdf, (void)a, (void)b;
        (*(size_t *)data)++;
        return 0;
}

/* Opens the state (taking the lock) and undoes what an interrupted command left behind. */
static int begin_command(struct qpci_ctx *ctx) {
        size_t pending = 0;
        int r = qpci_state_open(ctx);

        if (r < 0)
                return r;
        r = qpci_journal_foreach(ctx, count_row, &pending);
        if (r < 0 || pending == 0)
                return r;
        log_warn(ctx, "an earlier qpci command was interrupted: putting %zu device(s) back as they were", pending);
        r = qpci_journal_foreach(ctx, restore, NULL);
        if (r < 0)
                return log_error_errno(ctx, r, "recovery failed: the journal in /var/lib/qpci is kept for the next try");
        if ((r = qpci_state_begin(ctx)) < 0 || (r = qpci_journal_clear(ctx)) < 0)
                return r;
        return qpci_state_commit(ctx);
}

QPCI_EXPORT int qpci_host_recover(struct qpci_ctx *ctx) {
        int r;

        /* Cheap when nothing is pending: no lock, no write. */
        if (!qpci_state_journal_pending(ctx))
                return 0;
        r = begin_command(ctx);
        qpci_state_close(ctx);
        return r;
}

struct move {
        struct qpci_dev *dev;
        char from[NAME_MAX + 1];
        char override[NAME_MAX + 1];
        bool moved;
};

/* Records where every device is before anything moves: the journal's intent. */
static int journal_intent(struct qpci_ctx *ctx, const char *op, struct move *m, size_t n) {
        int r = qpci_state_begin(ctx);

        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_close_ int devfd = qpci_dev_open_sysfs(ctx, m[i].dev->bdf);
                if (devfd < 0)
                        r = log_error_errno(ctx, devfd, "%s: gone from sysfs: %s", m[i].dev->bdf, strerror(-devfd));
                else if ((r = qpci_current_driver(devfd, m[i].from, sizeof(m[i].from))) >= 0 &&
                         (r = qpci_read_override(devfd, m[i].override, sizeof(m[i].override))) >= 0)
                        r = qpci_journal_add(ctx, op, m[i].dev->bdf, m[i].from, m[i].override);
        }
        if (r < 0) {
                qpci_state_rollback(ctx);
                return r;
        }
        return qpci_state_commit(ctx);
}

static void undo(struct qpci_ctx *ctx, const char *op, struct move *m, size_t n) {
        for (size_t i = n; i-- > 0;)
                if (m[i].moved)
                        restore(ctx, op, m[i].dev->bdf, m[i].from, m[i].override, NULL);
}

static int finish(struct qpci_ctx *ctx, bool hide, const char *stub, bool persistent, struct move *m, size_t n) {
        int r = qpci_state_begin(ctx);

        for (size_t i = 0; r >= 0 && i < n; i++) {
                struct qpci_dev *d = m[i].dev;
                bool ours = !qpci_driver_is_stub(m[i].from);
                if (!hide)
                        r = qpci_state_forget(ctx, d->bdf);
                else if (ours || persistent)
                        r = qpci_state_record_hidden(ctx, d->bdf, d->vendor_id, d->device_id, ours ? m[i].from : "",
                                                     stub, ours, persistent);
        }
        if (r >= 0)
                r = qpci_journal_clear(ctx);
        if (r < 0) {
                qpci_state_rollback(ctx);
                return r;
        }
        r = qpci_state_commit(ctx);
        /* The devices moved either way; a rule file that could not be written is reported. */
        if (r >= 0 && (persistent || !hide))
                r = qpci_state_write_rules(ctx);
        return r < 0 ? r : 0;
}

/* The moves were undone: the intent is void. */
static void abandon(struct qpci_ctx *ctx) {
        if (qpci_state_begin(ctx) >= 0 && qpci_journal_clear(ctx) >= 0)
                qpci_state_commit(ctx);
        else
                qpci_state_rollback(ctx);
}

static bool in_set(struct qpci_dev *const *set, size_t n, const struct qpci_dev *d) {
        for (size_t i = 0; i < n; i++)
                if (set[i] == d)
                        return true;
        return false;
}

/* VFIO takes IOMMU groups whole: every endpoint of the group leaves the host together. */
static int expand_groups(struct qpci_ctx *ctx, struct move **m, size_t *n, bool with_group) {
        size_t orig = *n;

        for (size_t i = 0; i < orig; i++) {
                struct qpci_dev *d = (*m)[i].dev, *peers[64];
                size_t np = qpci_dev_get_group_peers(d, peers, ELEMENTSOF(peers));
                char others[1024] = "";
                size_t len = 0, missing = 0;

                if (d->iommu_group < 0)
                        return log_error_errno(ctx, -ENODEV, "%s has no IOMMU group: the IOMMU is off or missing "
                                               "(boot with intel_iommu=on or amd_iommu=on); vfio-pci cannot take it",
                                               d->bdf);
                for (size_t k = 0; k < np && k < ELEMENTSOF(peers); k++) {
                        struct qpci_dev *p = peers[k];
                        bool listed = false;
                        for (size_t j = 0; j < *n; j++)
                                listed |= (*m)[j].dev == p;
                        if (listed || p->bridge)
                                continue; /* bridges stay with the host: the kernel allows it */
                        if (with_group) {
                                struct move *nm = reallocarray(*m, *n + 1, sizeof(**m));
                                if (!nm)
                                        return -ENOMEM;
                                *m = nm;
                                (*m)[(*n)++] = (struct move){.dev = p};
                                continue;
                        }
                        missing++;
                        len += snprintf(others + len, len < sizeof(others) ? sizeof(others) - len : 0, "%s%s (%s)",
                                        len ? ", " : "", p->bdf, p->driver ? p->driver : "no driver");
                }
                if (missing)
                        return log_error_errno(ctx, -EBUSY, "%s shares IOMMU group %d with %s: VFIO takes a group "
                                               "whole, so name them too or add --with-group", d->bdf, d->iommu_group,
                                               others);
        }
        return 0;
}

QPCI_EXPORT int qpci_host_hide(struct qpci_inventory *inv, struct qpci_dev *const *devs, size_t n,
                               const struct qpci_hide_options *o) {
        struct qpci_ctx *ctx = inv->ctx;
        const char *stub = o && o->driver ? o->driver : qpci_host_default_stub(ctx);
        _cleanup_free_ struct move *m = calloc(n ? n : 1, sizeof(*m));
        size_t nm = 0;
        int r;

        if (!m)
                return -ENOMEM;
        if (!qpci_driver_is_stub(stub) || streq(stub, "pci-stub"))
                return log_error_errno(ctx, -EINVAL, "unknown driver '%s' to hide devices with: use vfio-pci or "
                                       "pciback", stub);
        for (size_t i = 0; i < n; i++) {
                if (devs[i]->bridge)
                        return log_error_errno(ctx, -EINVAL, "%s is a PCI bridge: bridges stay with the host",
                                               devs[i]->bdf);
                if (!in_set(devs, i, devs[i]))
                        m[nm++] = (struct move){.dev = devs[i]};
        }
        if (streq(stub, "vfio-pci") && (r = expand_groups(ctx, &m, &nm, o && o->with_group)) < 0)
                return r;
        for (size_t i = 0; i < nm && !(o && o->force); i++) {
                _cleanup_free_ char *what = NULL;
                if (qpci_guard_dependents(ctx, m[i].dev->bdf, &what) > 0)
                        return log_error_errno(ctx, -EBUSY, "%s backs %s: hiding it would take that from the host; "
                                               "add --force if you mean it", m[i].dev->bdf, what);
        }
        if ((r = begin_command(ctx)) < 0 || (r = ensure_driver(ctx, stub)) < 0 ||
            (r = journal_intent(ctx, "hide", m, nm)) < 0)
                goto out;
        for (size_t i = 0; i < nm; i++) {
                if (streq(m[i].from, stub))
                        continue;
                m[i].moved = true;
                r = qpci_move_to(ctx, m[i].dev->bdf, stub);
                if (r < 0) {
                        log_err(ctx, "putting the devices back as they were");
                        undo(ctx, "hide", m, nm);
                        abandon(ctx);
                        goto out;
                }
                log_info(ctx, "%s: hidden on %s (was %s)", m[i].dev->bdf, stub, m[i].from[0] ? m[i].from : "unbound");
        }
        r = finish(ctx, true, stub, o && o->persistent, m, nm);
out:
        qpci_state_close(ctx);
        return r;
}

/* Back to a host driver: the core's own match first, then the modalias's module, then the record. */
static int give_back(struct qpci_ctx *ctx, struct move *m) {
        struct qpci_dev *d = m->dev;
        _cleanup_close_ int devfd = qpci_dev_open_sysfs(ctx, d->bdf);
        char cur[NAME_MAX + 1], recorded[NAME_MAX + 1];
        const char *module = NULL;
        int r;

        if (devfd < 0)
                return devfd;
        if ((r = qpci_set_override(ctx, devfd, "")) < 0)
                return log_error_errno(ctx, r, "%s: cannot clear driver_override: %s", d->bdf, strerror(-r));
        if (m->from[0] && (r = qpci_unbind(ctx, d->bdf, m->from)) < 0)
                return r;
        qpci_drivers_probe(ctx, d->bdf);
        if ((r = qpci_current_driver(devfd, cur, sizeof(cur))) < 0)
                return r;
        /* Nothing bound: the driver's module may not be loaded. Resolve it from the modalias
         * (uhci_hcd is the module uhci-hcd: never guess from a driver's name). */
        if (!cur[0] && streq(ctx->root, "/") && qpci_dev_get_module(d, &module) == 0 && module &&
            qpci_modules_load(ctx, module) >= 0) {
                qpci_drivers_probe(ctx, d->bdf);
                qpci_current_driver(devfd, cur, sizeof(cur));
        }
        bool known = !cur[0] &&
                     qpci_state_host_driver(ctx, d->bdf, d->vendor_id, d->device_id, recorded, sizeof(recorded)) > 0;
        if (known && recorded[0]) {
                qpci_bind(ctx, d->bdf, recorded);
                qpci_current_driver(devfd, cur, sizeof(cur));
        }
        /* It had no driver when qpci took it (QEMU's edu, a card without a Linux driver): free is home. */
        if (known && !recorded[0] && !cur[0]) {
                log_info(ctx, "%s: back on the host with no driver, as before it was hidden", d->bdf);
                return 0;
        }
        if (!cur[0])
                return log_error_errno(ctx, -ENODEV, "%s: no host driver takes it (modalias %s, module %s)", d->bdf,
                                       qpci_dev_get_modalias(d), module ? module : "none found");
        log_info(ctx, "%s: back on the host, driver %s", d->bdf, cur);
        return 0;
}

QPCI_EXPORT int qpci_host_unhide(struct qpci_inventory *inv, struct qpci_dev *const *devs, size_t n) {
        struct qpci_ctx *ctx = inv->ctx;
        _cleanup_free_ struct move *m = calloc(n ? n : 1, sizeof(*m));
        size_t nm = 0;
        int r;

        if (!m)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!in_set(devs, i, devs[i]))
                        m[nm++] = (struct move){.dev = devs[i]};
        if ((r = begin_command(ctx)) < 0 || (r = journal_intent(ctx, "unhide", m, nm)) < 0)
                goto out;
        for (size_t i = 0; i < nm; i++)
                if (!qpci_driver_is_stub(m[i].from)) {
                        r = log_error_errno(ctx, -EINVAL, "%s is not hidden: it is on %s", m[i].dev->bdf,
                                            m[i].from[0] ? m[i].from : "no driver");
                        abandon(ctx);
                        goto out;
                }
        for (size_t i = 0; i < nm; i++) {
                m[i].moved = true;
                r = give_back(ctx, &m[i]);
                if (r < 0) {
                        log_err(ctx, "putting the devices back on their stub drivers");
                        undo(ctx, "unhide", m, nm);
                        abandon(ctx);
                        goto out;
                }
        }
        r = finish(ctx, false, NULL, false, m, nm);
out:
        qpci_state_close(ctx);
        return r;
}
