/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

#include "macro.h"
#include "qpci.h"

/* qvm-pci usb [QUERY...]: the words of a pasted lsusb line arrive as several arguments. */
int qvm_pci_usb(const char *prog, int argc, char **argv, bool as_json, bool quiet);

/* Who uses each device: per inventory row, "sys-usb (no-strict-reset=True), sys-net". */
struct used_by_vm {
        struct qpci_vm *vm;
        struct qpci_assignment *assignments;
        size_t n;
};
struct used_by {
        struct {
                char *text;
        } *rows;
        size_t n_rows;
        struct used_by_vm *entries;
        size_t n_entries;
};
/* v NULL (no libvirt): every row empty. */
int used_by_collect(struct qpci_virt *v, struct qpci_inventory *inv, struct used_by *u);
const char *used_by_text(const struct used_by *u, size_t row);
const char *used_by_dev(const struct used_by *u, struct qpci_inventory *inv, const struct qpci_dev *d);
bool used_by_vm_has(const struct used_by *u, const char *vm, const struct qpci_addr *a);
void used_by_free(struct used_by *u);
/* One -o k=v into o; prints why and returns -EINVAL when it is not one Qubes knows. */
int parse_attach_option(const char *kv, struct qpci_attach_options *o);
void print_r32_list(struct qpci_vm *vm);
