/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Names as lspci shows them: libpci over pci.ids (and udev's hwdb where libpci asks it), loaded on
 * the first lookup only. USB names come from the udev hwdb, as lsusb's do.
 */
#include <pci/pci.h>
#include <libudev.h>
#include <stdio.h>
#include <string.h>

#include "qpci-internal.h"

/* libpci calls this only when its allocator fails, and expects it not to return. */
_printf_(1, 2) __attribute__((noreturn)) static void pacc_error(char *msg, ...) {
        (void)msg;
        abort();
}

/* libpci has no per-handle user data to route warnings through; the library checks what matters itself. */
_printf_(1, 2) static void pacc_quiet(char *msg, ...) {
        (void)msg;
}

static struct pci_access *pacc(struct qpci_ctx *ctx) {
        struct pci_access *a;

        if (ctx->pacc)
                return ctx->pacc;
        a = pci_alloc();
        if (!a)
                return NULL;
        a->error = pacc_error;
        a->warning = pacc_quiet;
        a->debug = pacc_quiet;
        /* No ~/.pciids-cache, no DNS: only the local list (and hwdb unless a file was forced). */
        a->id_lookup_mode = ctx->use_hwdb && !ctx->pci_ids ? 0 : PCI_LOOKUP_NO_HWDB;
        if (ctx->pci_ids) {
                char *p = strdup(ctx->pci_ids);
                if (!p) {
                        pci_cleanup(a);
                        return NULL;
                }
                pci_set_name_list_path(a, p, 1);
        }
        ctx->pacc = a;
        return a;
}

static char *lookup(struct qpci_ctx *ctx, int flags, int a1, int a2) {
        struct pci_access *a = pacc(ctx);
        char buf[256];
        const char *s;

        if (!a)
                return NULL;
        s = pci_lookup_name(a, buf, sizeof(buf), flags | PCI_LOOKUP_NO_NUMBERS, a1, a2);
        return s ? strdup(s) : NULL;
}

char *qpci_names_vendor(struct qpci_ctx *ctx, uint16_t vendor) {
        return lookup(ctx, PCI_LOOKUP_VENDOR, vendor, 0);
}

char *qpci_names_device(struct qpci_ctx *ctx, uint16_t vendor, uint16_t device) {
        return lookup(ctx, PCI_LOOKUP_DEVICE, vendor, device);
}

char *qpci_names_class(struct qpci_ctx *ctx, uint32_t class_code) {
        char *s = lookup(ctx, PCI_LOOKUP_CLASS, class_code >> 8, 0);
        size_t l;

        /* With no subclass entry libpci names the base class and appends " [0c80]": Qubes shows the
         * name alone. */
        if (s && (l = strlen(s)) > 7 && s[l - 1] == ']' && s[l - 6] == '[' && s[l - 7] == ' ')
                s[l - 7] = '\0';
        return s;
}

static struct udev_hwdb *hwdb(struct qpci_ctx *ctx) {
        if (ctx->hwdb || ctx->hwdb_failed || !ctx->use_hwdb)
                return ctx->hwdb;
        ctx->udev = udev_new();
        if (ctx->udev)
                ctx->hwdb = udev_hwdb_new(ctx->udev);
        if (!ctx->hwdb) {
                ctx->hwdb_failed = true;
                log_dbg(ctx, "udev hwdb not available: USB devices are named by their own strings");
        }
        return ctx->hwdb;
}

char *qpci_names_usb(struct qpci_ctx *ctx, uint16_t vendor, uint16_t product) {
        struct udev_hwdb *h = hwdb(ctx);
        struct udev_list_entry *e;
        const char *v = NULL, *m = NULL;
        char key[32], *s = NULL;

        if (!h)
                return NULL;
        snprintf(key, sizeof(key), "usb:v%04Xp%04X", vendor, product);
        udev_list_entry_foreach(e, udev_hwdb_get_properties_list_entry(h, key, 0)) {
                if (streq(udev_list_entry_get_name(e), "ID_VENDOR_FROM_DATABASE"))
                        v = udev_list_entry_get_value(e);
                else if (streq(udev_list_entry_get_name(e), "ID_MODEL_FROM_DATABASE"))
                        m = udev_list_entry_get_value(e);
        }
        if (v && m && asprintf(&s, "%s %s", v, m) < 0)
                s = NULL;
        else if (v && !m)
                s = strdup(v);
        return s;
}

void qpci_names_free(struct qpci_ctx *ctx) {
        if (ctx->pacc)
                pci_cleanup(ctx->pacc);
        ctx->pacc = NULL;
        ctx->hwdb = udev_hwdb_unref(ctx->hwdb);
        ctx->udev = udev_unref(ctx->udev);
        ctx->hwdb_failed = false;
}
