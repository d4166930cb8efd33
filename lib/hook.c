/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libvirt's hook (/etc/libvirt/hooks/qemu, .../libxl): a domain started from virsh or virt-manager
 * passes the same rules as one started by qvm-start, and gets its PCI devices hidden first. A hook
 * must never call libvirt back (the daemon waits for it: a deadlock), so the running domains are
 * read from the status files libvirt keeps for them, and the new one from the XML on stdin.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qpci-internal.h"
#include "virt-module.h"
#include "virt.h"

static char *read_all(int dirfd, const char *name) {
        _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
        size_t len = 0, cap = 0;
        char *buf = NULL, *nb;
        ssize_t k;

        if (fd < 0)
                return NULL;
        do {
                if (len + 4096 + 1 > cap) {
                        cap = cap ? cap * 2 : 16384;
                        if (!(nb = realloc(buf, cap))) {
                                free(buf);
                                return NULL;
                        }
                        buf = nb;
                }
                k = read(fd, buf + len, cap - len - 1);
                if (k > 0)
                        len += (size_t)k;
        } while (k > 0);
        if (k < 0) {
                free(buf);
                return NULL;
        }
        buf[len] = '\0';
        return buf;
}

/* The running domains of a driver, from /run/libvirt/DRIVER/NAME.xml, except the one named. */
static int add_running(struct qpci_virt *v, const char *driver, const char *except) {
        char path[64];
        _cleanup_closedir_ DIR *dir = NULL;
        struct dirent *de;
        int fd, r = 0;

        snprintf(path, sizeof(path), "/run/libvirt/%s", driver);
        fd = qpci_open_root(v->ctx, path, O_RDONLY | O_DIRECTORY);
        if (fd < 0)
                return 0; /* nothing runs: the daemon has made no status folder yet */
        dir = fdopendir(fd);
        if (!dir) {
                close(fd);
                return -errno;
        }
        while (r >= 0 && (de = readdir(dir))) {
                _cleanup_free_ char *xml = NULL;
                struct qpci_vmxml *x = NULL;
                size_t l = strlen(de->d_name);
                if (l < 5 || strcmp(de->d_name + l - 4, ".xml") != 0 || !(xml = read_all(dirfd(dir), de->d_name)))
                        continue;
                if (qpci_vmxml_parse(xml, &x) < 0)
                        continue;
                if (streq(qpci_vmxml_get_name(x), except)) {
                        qpci_vmxml_free(x);
                        continue;
                }
                r = qpci_vm_new_offline(v, x, QPCI_VM_RUNNING, NULL);
        }
        return r;
}

int qpci_virt_hook(struct qpci_ctx *ctx, const char *driver, const char *op, const char *subop, const char *xml) {
        struct qpci_virt *v = NULL;
        struct qpci_inventory *inv = NULL;
        struct qpci_vmxml *x = NULL;
        struct qpci_vm *vm = NULL;
        size_t n;
        int r;

        if (!streq(driver, "qemu") && !streq(driver, "libxl"))
                return log_error_errno(ctx, -EINVAL, "qpci's hook serves libvirt's qemu and libxl drivers, not '%s'",
                                       driver);
        /* Only before a start: the devices must be off the host before the hypervisor opens them. */
        if (!streq(op, "prepare") || !streq(subop, "begin"))
                return 0;
        if ((r = qpci_vmxml_parse(xml, &x)) < 0)
                return log_error_errno(ctx, r, "the hook got no domain XML on its standard input");
        if ((r = qpci_virt_new_offline(ctx, &v)) < 0 || (r = add_running(v, driver, qpci_vmxml_get_name(x))) < 0 ||
            (r = qpci_vm_new_offline(v, TAKE_PTR(x), QPCI_VM_HALTED, &vm)) < 0)
                goto out;
        if ((r = qpci_host_recover(ctx)) < 0 || (r = qpci_inventory_new_with(ctx, QPCI_INVENTORY_ON_DEMAND, &inv)) < 0)
                goto out;
        r = qpci_vm_prepare(vm, inv, &n);
out:
        qpci_vmxml_free(x);
        qpci_inventory_unref(inv);
        qpci_virt_unref(v);
        return r;
}
