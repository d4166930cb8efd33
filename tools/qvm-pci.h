/* SPDX-License-Identifier: GPL-2.0-or-later */
/* qvm-pci's commands: one table (qvm-pci.c) says what each takes and needs; one file per group runs them. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"
#include "qpci.h"

/* The options, one bit each: a command lists those it takes, anything else is refused. */
enum {
        PCI_OPT_VERBOSE = 1u << 0,
        PCI_OPT_QUIET = 1u << 1,
        PCI_OPT_JSON = 1u << 2,
        PCI_OPT_DRIVER = 1u << 3,
        PCI_OPT_WITH_GROUP = 1u << 4,
        PCI_OPT_FORCE = 1u << 5,
        PCI_OPT_PERSISTENT = 1u << 6,
        PCI_OPT_OPTION = 1u << 7,
        PCI_OPT_CONNECT = 1u << 8,
        PCI_OPT_OFF = 1u << 9,
        PCI_OPT_REQUIRED = 1u << 10,
        PCI_OPT_ASK = 1u << 11,
        PCI_OPT_PORT = 1u << 12,
        PCI_OPT_DEVICE = 1u << 13,
        PCI_OPT_RO = 1u << 14,
        PCI_OPT_ASSIGNMENTS = 1u << 15,
        PCI_OPT_SBDF = 1u << 16,
        PCI_OPT_ALL = 1u << 17,
        PCI_OPT_EXCLUDE = 1u << 18,
        PCI_OPT_COUNT = 19,
};

/* What the runner sets up before a command runs, in this order. */
enum {
        PCI_NEED_RECOVER = 1u << 0,       /* put back what a killed qpci left half-moved */
        PCI_NEED_VIRT = 1u << 1,          /* libvirt, or fail */
        PCI_NEED_VIRT_OPTIONAL = 1u << 2, /* libvirt if it answers (USED BY stays empty otherwise) */
        PCI_NEED_VIRT_WITH_ARGS = 1u << 3, /* libvirt, or fail, when arguments (VM names) are given */
        PCI_NEED_INVENTORY = 1u << 4,
        PCI_NEED_USED_BY = 1u << 5,       /* who uses each device */
        /* As PCI_NEED_RECOVER for a command that only reads: never waits for another command, and
         * goes on (with a warning) when the move cannot be put back. */
        PCI_NEED_RECOVER_READING = 1u << 6,
        /* The inventory reads config space only of the devices the command looks at (it acts on a
         * few); a listing shows every function's and reads them all in one pass. */
        PCI_NEED_ON_DEMAND = 1u << 7,
};

/* Who uses each device: per inventory row, "sys-usb (no-strict-reset=True), sys-net". */
struct used_by_vm {
        struct qpci_vm *vm;
        struct qpci_assignment *assignments; /* each addr: the device it names now, when here */
        bool *here;                          /* per assignment: it names a device of this host */
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

struct pci_cmd;

/* One run of qvm-pci: the command line, parsed, and what the command needs, set up. */
struct pci_run {
        const char *prog;
        const struct pci_cmd *cmd;
        int n;       /* arguments after the command */
        char **args;
        const char *uri; /* -c */
        bool verbose, quiet, as_json, off;
        bool required, ask, only_port, only_device, ro; /* assign, unassign */
        bool r32;                                      /* R3.2's -l, -a, -d */
        bool assignments, with_sbdf, all;              /* list */
        char **exclude;                                /* list --exclude, each VM */
        size_t n_exclude;
        struct qpci_hide_options hide;
        struct qpci_attach_options attach;
        struct qpci_ctx *ctx;
        struct qpci_virt *virt;
        struct qpci_inventory *inv;
        struct used_by used;
};

struct pci_cmd {
        const char *name;
        const char *aliases[3];
        const char *synopsis;  /* its arguments and options, for --help */
        const char *help;      /* what it does */
        int min_args, max_args; /* max_args -1: any number */
        const char *args_error; /* what to say when the count is wrong */
        unsigned options;      /* PCI_OPT_* it takes */
        unsigned needs;        /* PCI_NEED_* */
        int (*run)(struct pci_run *r);
        /* What the command line alone can refuse, before libvirt or sysfs is read (NULL: nothing). */
        int (*check)(struct pci_run *r);
};

/* qvm-pci-list.c */
int pci_cmd_list(struct pci_run *r);
int pci_cmd_info(struct pci_run *r);
/* qvm-pci-usb.c: the words of a pasted lsusb line arrive as several arguments. */
int pci_cmd_usb(struct pci_run *r);
/* qvm-pci-host.c: moves between the host and its stub drivers. */
int pci_cmd_hide(struct pci_run *r);
int pci_cmd_unhide(struct pci_run *r);
int pci_cmd_reset(struct pci_run *r);
int pci_cmd_permissive(struct pci_run *r);
/* qvm-pci-vm.c */
int pci_cmd_attach(struct pci_run *r);
int pci_cmd_assign(struct pci_run *r);
int pci_cmd_unassign(struct pci_run *r);
int pci_check_attach(struct pci_run *r);
int pci_check_assign(struct pci_run *r);
int pci_check_unassign(struct pci_run *r);
int pci_cmd_detach(struct pci_run *r);
int pci_cmd_check(struct pci_run *r);
int pci_cmd_r32_list(struct pci_run *r);

/* One device id to the inventory's device; prints why not (exit EXIT_USAGE) when it is not one. */
int pci_lookup(struct pci_run *r, const char *id, struct qpci_dev **ret);

/* v NULL (no libvirt): every row empty. */
int used_by_collect(struct qpci_virt *v, struct qpci_inventory *inv, struct used_by *u);
const char *used_by_text(const struct used_by *u, size_t row);
const char *used_by_dev(const struct used_by *u, struct qpci_inventory *inv, const struct qpci_dev *d);
bool used_by_vm_has(const struct used_by *u, const char *vm, const struct qpci_addr *a);
void used_by_free(struct used_by *u);
/* One -o k=v into o; prints why and returns -EINVAL when it is not one Qubes knows. */
int parse_attach_option(const char *kv, struct qpci_attach_options *o);
