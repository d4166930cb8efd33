/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * modalias -> kernel module through libkmod, rooted: the rooted host's /lib/modules/<release> and
 * modprobe configuration, never the build machine's. Loaded once, on first use.
 */
#include <libkmod.h>
#include <stdio.h>
#include <string.h>

#include "qpci-internal.h"

static __typeof__(kmod_new) *sym_kmod_new;
static __typeof__(kmod_unref) *sym_kmod_unref;
static __typeof__(kmod_set_log_priority) *sym_kmod_set_log_priority;
static __typeof__(kmod_load_resources) *sym_kmod_load_resources;
static __typeof__(kmod_list_next) *sym_kmod_list_next;
static __typeof__(kmod_module_new_from_lookup) *sym_kmod_module_new_from_lookup;
static __typeof__(kmod_module_get_module) *sym_kmod_module_get_module;
static __typeof__(kmod_module_get_name) *sym_kmod_module_get_name;
static __typeof__(kmod_module_unref) *sym_kmod_module_unref;
static __typeof__(kmod_module_unref_list) *sym_kmod_module_unref_list;
static __typeof__(kmod_module_probe_insert_module) *sym_kmod_module_probe_insert_module;

static const struct qpci_dlsym kmod_syms[] = {
        QPCI_DLSYM(kmod_new),
        QPCI_DLSYM(kmod_unref),
        QPCI_DLSYM(kmod_set_log_priority),
        QPCI_DLSYM(kmod_load_resources),
        QPCI_DLSYM(kmod_list_next),
        QPCI_DLSYM(kmod_module_new_from_lookup),
        QPCI_DLSYM(kmod_module_get_module),
        QPCI_DLSYM(kmod_module_get_name),
        QPCI_DLSYM(kmod_module_unref),
        QPCI_DLSYM(kmod_module_unref_list),
        QPCI_DLSYM(kmod_module_probe_insert_module),
};
static struct qpci_dlib libkmod = {"libkmod.so.2", kmod_syms, ELEMENTSOF(kmod_syms), 1, ""};

static struct kmod_ctx *kmod(struct qpci_ctx *ctx) {
        _cleanup_free_ char *dir = NULL, *c1 = NULL, *c2 = NULL, *c3 = NULL;
        const char *release = qpci_ctx_osrelease(ctx);
        const char *base = qpci_root_prefix(ctx);

        if (ctx->kmod || ctx->kmod_failed)
                return ctx->kmod;
        ctx->kmod_failed = true;
        if (!*release)
                return NULL;
        if (qpci_dlib_open(&libkmod) < 0) {
                log_dbg(ctx, "modules unknown: %s", libkmod.why);
                return NULL;
        }
        if (asprintf(&dir, "%s/lib/modules/%s", base, release) < 0 ||
            asprintf(&c1, "%s/etc/modprobe.d", base) < 0 || asprintf(&c2, "%s/run/modprobe.d", base) < 0 ||
            asprintf(&c3, "%s/lib/modprobe.d", base) < 0)
                return NULL;
        const char *config[] = {c1, c2, c3, NULL};
        ctx->kmod = sym_kmod_new(dir, config);
        if (!ctx->kmod)
                return NULL;
        sym_kmod_set_log_priority(ctx->kmod, 0);
        /* Keep the indexes mapped: one lookup per device would otherwise reopen them each time. */
        if (sym_kmod_load_resources(ctx->kmod) < 0) {
                log_dbg(ctx, "no module index in %s: modules unknown", dir);
                ctx->kmod = sym_kmod_unref(ctx->kmod);
                return NULL;
        }
        ctx->kmod_failed = false;
        return ctx->kmod;
}

int qpci_modules_lookup(struct qpci_ctx *ctx, const char *modalias, char **ret) {
        struct kmod_ctx *k = kmod(ctx);
        struct kmod_list *list = NULL;
        char *name = NULL;
        int r;

        *ret = NULL;
        if (!k)
                return 0;
        r = sym_kmod_module_new_from_lookup(k, modalias, &list);
        if (r < 0)
                return r;
        /* As `modprobe -R` prints first: the module modprobe would load. */
        if (list) {
                struct kmod_module *m = sym_kmod_module_get_module(list);
                name = strdup(sym_kmod_module_get_name(m));
                sym_kmod_module_unref(m);
        }
        sym_kmod_module_unref_list(list);
        if (list && !name)
                return -ENOMEM;
        *ret = name;
        return 0;
}

int qpci_modules_load(struct qpci_ctx *ctx, const char *name) {
        struct kmod_ctx *k = kmod(ctx);
        struct kmod_list *list = NULL, *l;
        int r = -ENOENT;

        if (!k)
                return -ENOENT;
        /* A name or an alias, as modprobe takes it; dependencies and softdeps come along. */
        r = sym_kmod_module_new_from_lookup(k, name, &list);
        if (r < 0)
                return r;
        r = -ENOENT;
        for (l = list; l; l = sym_kmod_list_next(list, l)) {
                struct kmod_module *m = sym_kmod_module_get_module(l);
                r = sym_kmod_module_probe_insert_module(m, KMOD_PROBE_APPLY_BLACKLIST_ALIAS_ONLY, NULL, NULL, NULL,
                                                        NULL);
                sym_kmod_module_unref(m);
                if (r >= 0)
                        break;
        }
        sym_kmod_module_unref_list(list);
        return r;
}

void qpci_modules_free(struct qpci_ctx *ctx) {
        if (ctx->kmod)
                ctx->kmod = sym_kmod_unref(ctx->kmod);
        ctx->kmod_failed = false;
}
