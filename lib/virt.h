/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What virt.c and assign.c share: the bodies of the VM objects, which hold libvirt's handles. */
#pragma once

#include <libvirt/libvirt.h>

#include "qpci-internal.h"

struct qpci_virt {
        int refcount;
        struct qpci_ctx *ctx;
        virConnectPtr conn;
        char *uri;
        /* Another host's libvirt: that host's name, and this one's when the names told them apart
         * (NULL when the URI had a host part). NULL for this host's. */
        char *remote_host, *this_host;
        struct qpci_vm **vms; /* sorted by name, read once */
        size_t n_vms;
        bool listed;
};

struct qpci_vm {
        struct qpci_virt *virt;
        virDomainPtr dom;
        char *name;
        enum qpci_vm_state state;
        struct qpci_vmxml *def;  /* the definition, parsed on first use */
        struct qpci_vmxml *live; /* the running domain's XML, likewise */
};

/* When v is another host's libvirt: logs that, then what fmt says, and returns -EREMOTE; else 0. */
_printf_(3, 4) int qpci_virt_refuse_remote(struct qpci_virt *v, int priority, const char *fmt, ...);
/* A local session's log folder, made when missing (virt.c says why). */
void qpci_virt_make_log_dir(struct qpci_virt *v);
/* libvirt's last error, for a message. */
const char *qpci_virt_error(void);
int qpci_vm_def(struct qpci_vm *vm, struct qpci_vmxml **ret);
int qpci_vm_live(struct qpci_vm *vm, struct qpci_vmxml **ret);
int qpci_vm_define(struct qpci_vm *vm, struct qpci_vmxml *x);
/* Reads the state again and forgets the parsed XML. */
void qpci_vm_refresh(struct qpci_vm *vm);

/* Without a connection (the libvirt hook): VMs known from their XML. */
int qpci_virt_new_offline(struct qpci_ctx *ctx, struct qpci_virt **ret);
/* Added to v, which owns it; it owns x, even on failure. */
int qpci_vm_new_offline(struct qpci_virt *v, struct qpci_vmxml *x, enum qpci_vm_state state, struct qpci_vm **ret);
/* Checks the rules for every device of the VM and hides them (all or nothing): what a start
 * needs before the hypervisor gets the VM. */
int qpci_vm_prepare(struct qpci_vm *vm, struct qpci_inventory *inv, size_t *n_devices);

/* assign.c, for verdict.c: the rules' callback naming the running VM other than data (a struct
 * qpci_vm) that has addr; whether a device of the VM needs a reliable reset; a device as the
 * assignment attach would record. */
int qpci_vm_running_user_name(const struct qpci_addr *addr, void *data, const char **name);
bool qpci_vm_strict_for(struct qpci_vm *vm, const struct qpci_assignment *a);
int qpci_vm_assignment_of(struct qpci_dev *d, const struct qpci_attach_options *o, struct qpci_assignment *a);

/* via-libxl.c: a Xen domain's devices that libvirt would refuse (no reset it accepts), given
 * through libxl. A start gives all n of them so (via-libxl.c says why). */
int qpci_vm_create_via_libxl(struct qpci_vm *vm, const struct qpci_assignment *a, size_t n);
int qpci_vm_attach_via_libxl(struct qpci_vm *vm, const struct qpci_assignment *a);
int qpci_vm_detach_via_libxl(struct qpci_vm *vm, const struct qpci_assignment *a);
