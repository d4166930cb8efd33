/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The VM code (virt.c, assign.c, vmxml.c) is a module, qpci-virt.so, loaded on first use
 * (virt-load.c): libvirt and libxml2 bring some sixty libraries with them, which a command that
 * only lists or hides devices should neither need installed nor pay to load. The module exports
 * this one table (virt-module.c); the public qpci_virt_*() and qpci_vm_*() functions of libqpci
 * forward through it. The module links libqpci.so for the host side (inventory, engine, state),
 * so the process has one copy of it; what the module needs of libqpci's internals is the
 * LIBQPCI_PRIVATE node of libqpci.sym.
 */
#pragma once

#include "qpci.h"

/* Bumped when the table changes: a module of another build is refused, never half-used. */
#define QPCI_VIRT_MODULE_ABI 7

struct qpci_virt_module {
        unsigned abi;
        int (*virt_open)(struct qpci_ctx *ctx, const char *uri, unsigned flags, struct qpci_virt **ret);
        struct qpci_virt *(*virt_unref)(struct qpci_virt *v);
        const char *(*virt_get_uri)(const struct qpci_virt *v);
        int (*virt_get_vms)(struct qpci_virt *v, struct qpci_vm *const **vms, size_t *n);
        int (*virt_find_vm)(struct qpci_virt *v, const char *name, struct qpci_vm **ret);
        int (*virt_create_vm)(struct qpci_virt *v, const struct qpci_vm_config *c, struct qpci_vm **ret);
        const char *(*vm_get_name)(const struct qpci_vm *vm);
        enum qpci_vm_state (*vm_get_state)(const struct qpci_vm *vm);
        unsigned long (*vm_get_memory_mib)(struct qpci_vm *vm);
        int (*vm_get_pref)(struct qpci_vm *vm, const char *name, char **value, bool *is_default);
        int (*vm_set_pref)(struct qpci_vm *vm, const char *name, const char *value);
        int (*vm_get_assignments)(struct qpci_vm *vm, struct qpci_assignment **ret, size_t *n);
        int (*vm_attach)(struct qpci_vm *vm, struct qpci_inventory *inv, struct qpci_dev *d,
                         const struct qpci_attach_options *o);
        int (*vm_detach)(struct qpci_vm *vm, struct qpci_inventory *inv, const struct qpci_addr *addr);
        int (*vm_start)(struct qpci_vm *vm, struct qpci_inventory *inv);
        int (*vm_check)(struct qpci_vm *vm, struct qpci_inventory *inv);
        int (*vm_shutdown)(struct qpci_vm *vm, bool wait, bool force, unsigned timeout_s);
        int (*vm_remove)(struct qpci_vm *vm);
        int (*virt_hook)(struct qpci_ctx *ctx, const char *driver, const char *op, const char *subop, const char *xml);
        int (*vm_unassign)(struct qpci_vm *vm, struct qpci_inventory *inv, const struct qpci_addr *addr);
        int (*vm_verdict)(struct qpci_vm *vm, struct qpci_inventory *inv, struct qpci_dev *const *devs, size_t n,
                          const struct qpci_attach_options *o, struct qpci_finding **ret, size_t *n_ret);
        int (*virt_watch)(struct qpci_ctx *ctx, const char *uri, qpci_change_fn fn, void *data, int stop_fd);
};

#define QPCI_VIRT_MODULE_SYMBOL "qpci_virt_module"
