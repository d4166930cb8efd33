/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Moving one PCI function between drivers through sysfs, each step checked against what the kernel
 * did rather than what it said: drivers_probe reports success even when nothing bound, so the
 * `driver` link is the only proof.
 *
 * The order follows the kernel's rules (Documentation/ABI/testing/sysfs-bus-pci):
 *  - driver_override first: from then on no other driver can take the device, not even one whose
 *    new_id matches, so there is no window for the host driver to come back;
 *  - then unbind from the current driver, which may block while its remove() runs;
 *  - then drivers_probe, which binds whatever driver the override allows.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "qpci-internal.h"

static FILE *open_proc_file(struct qpci_ctx *ctx, const char *path) {
        _cleanup_close_ int fd = qpci_open_attr(ctx->root_fd, path + 1, O_RDONLY);
        FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
        if (f)
                TAKE_FD(fd);
        return f;
}

bool qpci_driver_is_stub(const char *driver) {
        static const char *const stubs[] = {"vfio-pci", "pciback", "pci-stub"};

        for (size_t i = 0; i < ELEMENTSOF(stubs); i++)
                if (streq(driver, stubs[i]))
                        return true;
        return false;
}

int qpci_write_attr(struct qpci_ctx *ctx, int dirfd, const char *name, const char *value) {
        _cleanup_close_ int fd = -1;
        size_t len = strlen(value);
        ssize_t n;

        /* Tests put a model of the driver core here (and faults into it); see host-test.c. */
        if (ctx->write_hook)
                return ctx->write_hook(ctx->write_hook_data, dirfd, name, value);
        fd = qpci_open_attr(dirfd, name, O_WRONLY);
        if (fd < 0)
                return fd;
        /* sysfs takes one write per attribute; a short write is a failure, not something to resume. */
        n = write(fd, value, len);
        if (n < 0)
                return -errno;
        return (size_t)n == len ? 0 : -EIO;
}

int qpci_dev_open_sysfs(struct qpci_ctx *ctx, const char *bdf) {
        char path[64];

        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", bdf);
        return qpci_open_root(ctx, path, O_PATH | O_DIRECTORY);
}

int qpci_current_driver(int devfd, char *buf, size_t size) {
        int r = qpci_readlink_basename(devfd, "driver", buf, size);

        if (r == -ENOENT) {
                buf[0] = '\0';
                return 0;
        }
        return r;
}

static int write_driver_attr(struct qpci_ctx *ctx, const char *driver, const char *attr, const char *bdf) {
        char path[PATH_MAX];
        _cleanup_close_ int fd = -1;

        snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s", driver);
        fd = qpci_open_root(ctx, path, O_PATH | O_DIRECTORY);
        if (fd < 0)
                return fd;
        return qpci_write_attr(ctx, fd, attr, bdf);
}

int qpci_unbind(struct qpci_ctx *ctx, const char *bdf, const char *driver) {
        int r = write_driver_attr(ctx, driver, "unbind", bdf);
        if (r < 0)
                return log_error_errno(ctx, r, "%s: unbinding from %s failed: %s", bdf, driver, strerror(-r));
        /* pciback keeps every device it ever took in its slot list (pcistub_probe adds a bound
         * device there) and seizes it again at any later probe, driver_override or not: forget it,
         * or a device without a host driver goes straight back to pciback. */
        if (streq(driver, "pciback")) {
                int k = write_driver_attr(ctx, driver, "remove_slot", bdf);
                if (k < 0)
                        log_dbg(ctx, "%s: pciback's remove_slot: %s", bdf, strerror(-k));
        }
        return 0;
}

int qpci_bind(struct qpci_ctx *ctx, const char *bdf, const char *driver) {
        return write_driver_attr(ctx, driver, "bind", bdf);
}

int qpci_drivers_probe(struct qpci_ctx *ctx, const char *bdf) {
        _cleanup_close_ int fd = qpci_open_root(ctx, "/sys/bus/pci", O_PATH | O_DIRECTORY);

        if (fd < 0)
                return fd;
        return qpci_write_attr(ctx, fd, "drivers_probe", bdf);
}

int qpci_set_override(struct qpci_ctx *ctx, int devfd, const char *driver) {
        /* An empty write clears it; the kernel strips one trailing newline. */
        return qpci_write_attr(ctx, devfd, "driver_override", driver && *driver ? driver : "\n");
}

int qpci_read_override(int devfd, char *buf, size_t size) {
        ssize_t n = qpci_read_line(devfd, "driver_override", buf, size);

        if (n < 0)
                return (int)n;
        if (streq(buf, "(null)"))
                buf[0] = '\0';
        return 0;
}

/* pciback lists one address a line. A line is the device only when it is the whole line: the
 * device 0000:e1:00.0 is not 10000:e1:00.0 behind a VMD controller, which contains its address. */
bool qpci_pciback_is_permissive(struct qpci_ctx *ctx, const char *bdf) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        ssize_t n;

        f = open_proc_file(ctx, "/sys/bus/pci/drivers/pciback/permissive");
        while (f && (n = getline(&line, &size, f)) > 0) {
                if (line[n - 1] == '\n')
                        line[n - 1] = '\0';
                if (streq(line, bdf))
                        return true;
        }
        return false;
}
