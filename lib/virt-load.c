/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The public VM API, forwarded to the module qpci-virt.so (see virt-module.h), which is loaded by
 * the first qpci_virt_open(). Every other function takes an object only an open connection made,
 * so by then the module is there.
 */
#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qpci-internal.h"
#include "virt-module.h"

static const struct qpci_virt_module *mod;

/* Where the module may be: named by QPCI_VIRT_MODULE, beside the executable's folder (the build
 * tree's lib/, or an installed prefix's lib/qpci/), then the configured module folder. */
static int load(struct qpci_ctx *ctx, int priority) {
        char exe[PATH_MAX], cand[3][PATH_MAX + 32] = {{0}};
        const char *env = getenv("QPCI_VIRT_MODULE");
        const char *err = "not there";
        ssize_t n;
        size_t k = 0;

        if (mod)
                return 0;
        if (env && *env)
                snprintf(cand[k++], sizeof(cand[0]), "%s", env);
        else {
                n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
                if (n > 0) {
                        exe[n] = '\0';
                        const char *dir = dirname(exe);
                        snprintf(cand[k++], sizeof(cand[0]), "%s/../lib/qpci-virt.so", dir);
                        snprintf(cand[k++], sizeof(cand[0]), "%s/../lib/qpci/qpci-virt.so", dir);
                }
                snprintf(cand[k++], sizeof(cand[0]), "%s/qpci-virt.so", QPCI_MODULE_DIR);
        }
        for (size_t i = 0; i < k; i++) {
                void *h;
                if (access(cand[i], F_OK) < 0)
                        continue;
                /* RTLD_NODELETE: the table stays valid for the life of the process. */
                h = dlopen(cand[i], RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
                if (!h) {
                        err = dlerror();
                        break;
                }
                mod = dlsym(h, QPCI_VIRT_MODULE_SYMBOL);
                if (mod && mod->abi == QPCI_VIRT_MODULE_ABI)
                        return 0;
                err = mod ? "it comes from another build of qpci" : "it is not qpci's VM module";
                mod = NULL;
                dlclose(h);
                break;
        }
        qpci_log(ctx, priority, "VM support is not available: cannot load qpci-virt.so (%s: %s); it needs libvirt0 and "
                 "libxml2 installed", k ? cand[0] : "", err);
        return -ENOPKG;
}

QPCI_EXPORT int qpci_virt_open(struct qpci_ctx *ctx, const char *uri, unsigned flags, struct qpci_virt **ret) {
        int r = load(ctx, flags & QPCI_VIRT_OPTIONAL ? QPCI_LOG_INFO : QPCI_LOG_ERR);
        return r < 0 ? r : mod->virt_open(ctx, uri, flags, ret);
}

QPCI_EXPORT int qpci_virt_hook(struct qpci_ctx *ctx, const char *driver, const char *op, const char *subop,
                               const char *xml) {
        int r = load(ctx, QPCI_LOG_ERR);
        return r < 0 ? r : mod->virt_hook(ctx, driver, op, subop, xml);
}

QPCI_EXPORT struct qpci_virt *qpci_virt_unref(struct qpci_virt *v) {
        return v ? mod->virt_unref(v) : NULL;
}

QPCI_EXPORT const char *qpci_vm_state_name(enum qpci_vm_state s) {
        static const char *const names[] = {"Halted", "Running", "Paused", "Transient"};
        return (size_t)s < ELEMENTSOF(names) ? names[s] : "Transient";
}

QPCI_EXPORT const char *const *qpci_vm_pref_names(void) {
        static const char *const none[] = {NULL};
        return mod ? mod->vm_pref_names() : none;
}

/* The rest forward as they are. */
#define FORWARD(type, name, params, args) \
        QPCI_EXPORT type qpci_##name params { return mod->name args; }

FORWARD(const char *, virt_get_uri, (const struct qpci_virt *v), (v))
FORWARD(int, virt_get_vms, (struct qpci_virt *v, struct qpci_vm *const **vms, size_t *n), (v, vms, n))
FORWARD(int, virt_find_vm, (struct qpci_virt *v, const char *name, struct qpci_vm **ret), (v, name, ret))
FORWARD(int, virt_create_vm, (struct qpci_virt *v, const struct qpci_vm_config *c, struct qpci_vm **ret), (v, c, ret))
FORWARD(const char *, vm_get_name, (const struct qpci_vm *vm), (vm))
FORWARD(enum qpci_vm_state, vm_get_state, (const struct qpci_vm *vm), (vm))
FORWARD(unsigned long, vm_get_memory_mib, (struct qpci_vm *vm), (vm))
FORWARD(int, vm_get_pref, (struct qpci_vm *vm, const char *name, char **value, bool *is_default),
        (vm, name, value, is_default))
FORWARD(int, vm_set_pref, (struct qpci_vm *vm, const char *name, const char *value), (vm, name, value))
FORWARD(int, vm_get_assignments, (struct qpci_vm *vm, struct qpci_assignment **ret, size_t *n), (vm, ret, n))
FORWARD(int, vm_attach,
        (struct qpci_vm *vm, struct qpci_inventory *inv, struct qpci_dev *d, const struct qpci_attach_options *o),
        (vm, inv, d, o))
FORWARD(int, vm_detach, (struct qpci_vm *vm, struct qpci_inventory *inv, const struct qpci_addr *addr),
        (vm, inv, addr))
FORWARD(int, vm_start, (struct qpci_vm *vm, struct qpci_inventory *inv), (vm, inv))
FORWARD(int, vm_check, (struct qpci_vm *vm, struct qpci_inventory *inv), (vm, inv))
FORWARD(int, vm_shutdown, (struct qpci_vm *vm, bool wait, bool force, unsigned timeout_s),
        (vm, wait, force, timeout_s))
FORWARD(int, vm_remove, (struct qpci_vm *vm), (vm))
