/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The module's one export (qpci-virt.sym hides everything else): the table virt-load.c, in
 * libqpci, forwards the public VM API to.
 */
#include "qpci-internal.h"
#include "virt-module.h"

QPCI_EXPORT const struct qpci_virt_module qpci_virt_module = {
        .abi = QPCI_VIRT_MODULE_ABI,
        .virt_open = qpci_virt_open,
        .virt_unref = qpci_virt_unref,
        .virt_get_uri = qpci_virt_get_uri,
        .virt_get_vms = qpci_virt_get_vms,
        .virt_find_vm = qpci_virt_find_vm,
        .virt_create_vm = qpci_virt_create_vm,
        .vm_get_name = qpci_vm_get_name,
        .vm_get_state = qpci_vm_get_state,
        .vm_get_memory_mib = qpci_vm_get_memory_mib,
        .vm_get_pref = qpci_vm_get_pref,
        .vm_set_pref = qpci_vm_set_pref,
        .vm_get_assignments = qpci_vm_get_assignments,
        .vm_attach = qpci_vm_attach,
        .vm_detach = qpci_vm_detach,
        .vm_start = qpci_vm_start,
        .vm_check = qpci_vm_check,
        .vm_shutdown = qpci_vm_shutdown,
        .vm_remove = qpci_vm_remove,
        .virt_hook = qpci_virt_hook,
        .vm_unassign = qpci_vm_unassign,
        .vm_verdict = qpci_vm_verdict,
        .virt_watch = qpci_virt_watch,
};
