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

static __typeof__(pci_alloc) *sym_pci_alloc;
static __typeof__(pci_cleanup) *sym_pci_cleanup;
static __typeof__(pci_lookup_name) *sym_pci_lookup_name;
static __typeof__(pci_set_name_list_path) *sym_pci_set_name_list_path;
static const struct qpci_dlsym pci_syms[] = {
        QPCI_DLSYM(pci_alloc),
        QPCI_DLSYM(pci_cleanup),
        QPCI_DLSYM(pci_lookup_name),
        QPCI_DLSYM(pci_set_name_list_path),
};
static struct qpci_dlib libpci = {"libpci.so.3", pci_syms, ELEMENTSOF(pci_syms), 1, ""};


/* libpci calls this only when its allocator fails, and expects it not to return. */
_printf_(1, 2) __attribute__((noreturn)) static void pacc_error(char *msg, ...) {
        (void)msg;
        abort();
}

/* libpci has no per-handle user data to route warnings through; the library checks what matters itself. */
_printf_(1, 2) static void pacc_quiet(char *msg, ...) {
        (void)msg;
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

static struct pci_access *pacc(struct qpci_ctx *ctx) {
        struct pci_access *a;

        if (ctx->pacc || ctx->pacc_failed)
                return ctx->pacc;
        if (qpci_dlib_open(&libpci) < 0) {
                ctx->pacc_failed = true;
                log_dbg(ctx, "no names: %s", libpci.why);
                return NULL;
        }
        a = sym_pci_alloc();
        if (!a)
                return NULL;
        a->error = pacc_error;
        a->warning = pacc_quiet;
        a->debug = pacc_quiet;
        /* No ~/.pciids-cache, no DNS: only the local list, and hwdb unless a file was forced or the
         * host has no hwdb.bin (libpci 3.9 then leaks a udev handle on every lookup). */
        a->id_lookup_mode = ctx->use_hwdb && !ctx->pci_ids && hwdb(ctx) ? 0 : PCI_LOOKUP_NO_HWDB;
        if (ctx->pci_ids) {
                char *p = strdup(ctx->pci_ids);
                if (!p) {
                        sym_pci_cleanup(a);
                        return NULL;
                }
                sym_pci_set_name_list_path(a, p, 1);
        }
        ctx->pacc = a;
        return a;
}

/*
 * Names are shared: a host of thousands of functions has few distinct ids (VFs, identical ports),
 * so each name is looked up and stored once per context, and devices point at it. Keys carry
 * their kind in the top bits; a slot with a NULL name remembers that the database has none.
 */
enum { KIND_VENDOR = 1, KIND_DEVICE, KIND_CLASS, KIND_DESCRIPTION };

struct qpci_name {
        uint64_t key; /* 0: empty slot */
        char *name;
};

static uint64_t mkkey(unsigned kind, uint64_t id) {
        return (uint64_t)kind << 56 | id;
}

static struct qpci_name *slot(struct qpci_ctx *ctx, uint64_t key) {
        size_t mask = ctx->n_names_cap - 1;
        /* Fibonacci hashing spreads the clustered id space over the table. */
        size_t i = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 20) & mask;
        while (ctx->names[i].key && ctx->names[i].key != key)
                i = (i + 1) & mask;
        return &ctx->names[i];
}

/* Finds key's slot, growing the table to stay at most half full. NULL only when out of memory. */
static struct qpci_name *find_or_add(struct qpci_ctx *ctx, uint64_t key, bool *found) {
        struct qpci_name *e;

        if ((ctx->n_names + 1) * 2 > ctx->n_names_cap) {
                struct qpci_name *old = ctx->names;
                size_t old_cap = ctx->n_names_cap;
                size_t cap = old_cap ? old_cap * 2 : 256;
                struct qpci_name *t = calloc(cap, sizeof(*t));
                if (!t)
                        return NULL;
                ctx->names = t;
                ctx->n_names_cap = cap;
                for (size_t i = 0; i < old_cap; i++)
                        if (old[i].key)
                                *slot(ctx, old[i].key) = old[i];
                free(old);
        }
        e = slot(ctx, key);
        *found = e->key == key;
        if (!*found) {
                e->key = key;
                e->name = NULL;
                ctx->n_names++;
        }
        return e;
}

static const char *lookup(struct qpci_ctx *ctx, unsigned kind, uint64_t id, int flags, int a1, int a2) {
        struct pci_access *a;
        struct qpci_name *e;
        char buf[256];
        const char *s;
        bool found;

        e = find_or_add(ctx, mkkey(kind, id), &found);
        if (!e || found)
                return e ? e->name : NULL;
        a = pacc(ctx);
        s = a ? sym_pci_lookup_name(a, buf, sizeof(buf), flags | PCI_LOOKUP_NO_NUMBERS, a1, a2) : NULL;
        e->name = s ? strdup(s) : NULL;
        /* With no subclass entry libpci names the base class and appends " [0c80]": Qubes shows the
         * name alone. */
        size_t l = e->name ? strlen(e->name) : 0;
        if (kind == KIND_CLASS && l > 7 && e->name[l - 1] == ']' && e->name[l - 6] == '[' && e->name[l - 7] == ' ')
                e->name[l - 7] = '\0';
        return e->name;
}

const char *qpci_names_vendor(struct qpci_ctx *ctx, uint16_t vendor) {
        return lookup(ctx, KIND_VENDOR, vendor, PCI_LOOKUP_VENDOR, vendor, 0);
}

const char *qpci_names_device(struct qpci_ctx *ctx, uint16_t vendor, uint16_t device) {
        return lookup(ctx, KIND_DEVICE, (uint32_t)vendor << 16 | device, PCI_LOOKUP_DEVICE, vendor, device);
}

const char *qpci_names_class(struct qpci_ctx *ctx, uint32_t class_code) {
        return lookup(ctx, KIND_CLASS, class_code >> 8, PCI_LOOKUP_CLASS, class_code >> 8, 0);
}

const char *qpci_names_description(struct qpci_ctx *ctx, uint32_t class_code, uint16_t vendor, uint16_t device) {
        uint64_t id = (uint64_t)(class_code >> 8) << 32 | (uint32_t)vendor << 16 | device;
        struct qpci_name *e;
        bool found;

        e = find_or_add(ctx, mkkey(KIND_DESCRIPTION, id), &found);
        if (!e || found)
                return e ? e->name : NULL;
        const char *c = qpci_names_class(ctx, class_code), *v = qpci_names_vendor(ctx, vendor),
                   *p = qpci_names_device(ctx, vendor, device);
        /* The lookups above may have grown the table: find the slot again. */
        e = slot(ctx, mkkey(KIND_DESCRIPTION, id));
        if (asprintf(&e->name, "%s: %s %s", c ? c : "Unknown", v ? v : "Unknown", p ? p : "Unknown") < 0)
                e->name = NULL;
        return e->name;
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
        for (size_t i = 0; i < ctx->n_names_cap; i++)
                free(ctx->names[i].name);
        free(ctx->names);
        ctx->names = NULL;
        ctx->n_names = ctx->n_names_cap = 0;
        if (ctx->pacc)
                sym_pci_cleanup(ctx->pacc);
        ctx->pacc = NULL;
        ctx->hwdb = udev_hwdb_unref(ctx->hwdb);
        ctx->udev = udev_unref(ctx->udev);
        ctx->hwdb_failed = false;
        ctx->pacc_failed = false;
}
