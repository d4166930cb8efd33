/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host operations on one hidden or host device that move nothing: reset and pciback's permissive
 * mode.
 *
 * Resetting a function through the kernel, and saying which method did it. The kernel tries its
 * methods in order and does not say which one worked; on kernels with reset_method qpci narrows
 * the list to one method at a time, in the kernel's own order, and puts the list back after.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "qpci-internal.h"

QPCI_EXPORT int qpci_host_reset(struct qpci_dev *d, unsigned *used) {
        struct qpci_ctx *ctx = d->inv->ctx;
        _cleanup_close_ int devfd = qpci_dev_open_sysfs(ctx, d->bdf);
        char saved[256];
        int r = -ENOTTY;

        *used = 0;
        if (devfd < 0)
                return log_error_errno(ctx, devfd, "%s: gone from sysfs: %s", d->bdf, strerror(-devfd));
        if (faccessat(devfd, "reset", F_OK, 0) < 0)
                return log_error_errno(ctx, -ENOTTY, "%s cannot be reset: %s", d->bdf,
                                       qpci_dev_get_strict_reset_reason(d));
        if (qpci_read_line(devfd, "reset_method", saved, sizeof(saved)) < 0) {
                /* An older kernel: one try with whatever it picks, first of the derived methods. */
                r = qpci_write_attr(ctx, devfd, "reset", "1");
                if (r < 0)
                        return log_error_errno(ctx, r, "%s: the kernel's reset failed: %s", d->bdf, strerror(-r));
                unsigned derived = qpci_dev_get_reset_methods(d);
                *used = derived & -derived;
                return 0;
        }
        unsigned methods = qpci_reset_parse_methods(saved);
        bool narrowed = false;
        for (unsigned i = 0; i < QPCI_RESET_METHOD_COUNT && r < 0; i++) {
                unsigned m = methods & (1u << i);
                if (!m || qpci_write_attr(ctx, devfd, "reset_method", qpci_reset_method_name(m)) < 0)
                        continue;
                narrowed = true;
                r = qpci_write_attr(ctx, devfd, "reset", "1");
                if (r >= 0)
                        *used = m;
                else
                        log_info(ctx, "%s: %s reset failed: %s", d->bdf, qpci_reset_method_name(m), strerror(-r));
        }
        /* The kernel's own list again, whatever happened. */
        int k = narrowed ? qpci_write_attr(ctx, devfd, "reset_method", saved) : 0;
        if (k < 0)
                log_err(ctx, "%s: could not restore reset_method '%s': %s", d->bdf, saved, strerror(-k));
        if (r < 0)
                return log_error_errno(ctx, r, "%s: no reset method worked (tried %s): %s", d->bdf, saved,
                                       strerror(-r));
        return 0;
}

QPCI_EXPORT int qpci_host_set_permissive(struct qpci_dev *d, bool persistent) {
        struct qpci_ctx *ctx = d->inv->ctx;
        _cleanup_close_ int fd = -1;
        char cur[64];
        int r;

        r = qpci_host_current_driver(ctx, d->bdf, cur, sizeof(cur));
        if (r < 0)
                return log_error_errno(ctx, r, "%s: cannot read its driver: %s", d->bdf, strerror(-r));
        if (streq(cur, "vfio-pci"))
                return log_error_errno(ctx, -EOPNOTSUPP, "%s is on vfio-pci: permissive mode is xen-pciback's config "
                                       "space filter and does not apply to VFIO, which lets a VM write what QEMU "
                                       "allows", d->bdf);
        if (!streq(cur, "pciback"))
                return log_error_errno(ctx, -EINVAL, "%s is not on pciback (it is on %s): hide it with "
                                       "'qvm-pci hide --driver pciback' first", d->bdf, cur[0] ? cur : "no driver");
        fd = qpci_open_root(ctx, "/sys/bus/pci/drivers/pciback", O_PATH | O_DIRECTORY);
        if (fd < 0)
                return log_error_errno(ctx, fd, "pciback has no sysfs directory: %s", strerror(-fd));
        r = qpci_write_attr(ctx, fd, "permissive", d->bdf);
        if (r < 0)
                return log_error_errno(ctx, r, "%s: pciback refused permissive mode: %s", d->bdf, strerror(-r));
        /* Read back: pciback lists the devices it lets write freely. */
        if (!qpci_pciback_is_permissive(ctx, d->bdf))
                return log_error_errno(ctx, -EIO, "%s: pciback accepted permissive mode but does not list it",
                                       d->bdf);
        return persistent ? qpci_state_permissive_at_boot(ctx, d->bdf, d->vendor_id, d->device_id, true) : 0;
}
