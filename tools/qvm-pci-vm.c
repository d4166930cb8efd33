/* SPDX-License-Identifier: GPL-2.0-or-later */
/* qvm-pci's VM side: who uses each device (USED BY), attach and detach, Qubes' -o options. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json-vm.h"
#include "qvm-pci.h"
#include "tool.h"

/* The inventory is sorted by address: each assignment finds its row by bisection. */
static long row_of(struct qpci_inventory *inv, const struct qpci_addr *a) {
        size_t lo = 0, hi = qpci_inventory_count(inv);

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = qpci_addr_cmp(qpci_dev_get_addr(qpci_inventory_get(inv, mid)), a);
                if (c == 0)
                        return (long)mid;
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return -1;
}

/* "sys-usb (no-strict-reset=True, permissive=True)", as Qubes prints a VM with options. */
static int describe(const char *vm, const struct qpci_assignment *a, char **ret) {
        const char *nsr = a->no_strict_reset ? "no-strict-reset=True" : "";
        const char *perm = a->permissive ? "permissive=True" : "";
        bool opts = *nsr || *perm;

        return asprintf(ret, "%s%s%s%s%s%s", vm, opts ? " (" : "", nsr, *nsr && *perm ? ", " : "", perm,
                        opts ? ")" : "") < 0 ? -ENOMEM : 0;
}

void used_by_free(struct used_by *u) {
        for (size_t i = 0; u->rows && i < u->n_rows; i++)
                free(u->rows[i].text);
        free(u->rows);
        for (size_t i = 0; i < u->n_entries; i++) {
                free(u->entries[i].assignments);
                free(u->entries[i].here);
        }
        free(u->entries);
        *u = (struct used_by){0};
}

static int add_text(char **text, const char *more) {
        char *s;
        if (asprintf(&s, "%s%s%s", *text ? *text : "", *text ? ", " : "", more) < 0)
                return -ENOMEM;
        free(*text);
        *text = s;
        return 0;
}

int used_by_collect(struct qpci_virt *v, struct qpci_inventory *inv, struct used_by *u) {
        struct qpci_vm *const *vms;
        size_t n;
        int r;

        *u = (struct used_by){0};
        u->n_rows = qpci_inventory_count(inv);
        u->rows = calloc(u->n_rows ? u->n_rows : 1, sizeof(*u->rows));
        if (!u->rows || !v)
                return u->rows ? 0 : -ENOMEM;
        if ((r = qpci_virt_get_vms(v, &vms, &n)) < 0)
                return r;
        u->entries = calloc(n ? n : 1, sizeof(*u->entries));
        if (!u->entries)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                struct used_by_vm *e = &u->entries[u->n_entries++];
                e->vm = vms[i];
                if ((r = qpci_vm_get_assignments(vms[i], &e->assignments, &e->n)) < 0)
                        return r;
                if (!(e->here = calloc(e->n ? e->n : 1, sizeof(*e->here))))
                        return -ENOMEM;
                for (size_t k = 0; k < e->n; k++) {
                        struct qpci_assignment *a = &e->assignments[k];
                        _cleanup_free_ char *d = NULL;
                        struct qpci_dev *dev;
                        long row = a->live ? row_of(inv, &a->addr) : -1;
                        /* An assignment names its device by its port or its device id, wherever it is now:
                         * its address here is that device's, for every listing. */
                        if (!a->live && qpci_assignment_find(inv, a, &dev) == 0 && qpci_devid_matches(a->devid, dev)) {
                                a->addr = *qpci_dev_get_addr(dev);
                                row = row_of(inv, &a->addr);
                        }
                        if (row < 0)
                                continue; /* assigned, but gone from the host: qvm-start says so */
                        e->here[k] = true;
                        if ((r = describe(qpci_vm_get_name(vms[i]), a, &d)) < 0 ||
                            (r = add_text(&u->rows[row].text, d)) < 0)
                                return r;
                }
        }
        return 0;
}

const char *used_by_text(const struct used_by *u, size_t row) {
        return row < u->n_rows && u->rows[row].text ? u->rows[row].text : "";
}

const char *used_by_dev(const struct used_by *u, struct qpci_inventory *inv, const struct qpci_dev *d) {
        long row = row_of(inv, qpci_dev_get_addr(d));
        return row < 0 ? "" : used_by_text(u, (size_t)row);
}

bool used_by_vm_has(const struct used_by *u, const char *vm, const struct qpci_addr *a) {
        for (size_t i = 0; i < u->n_entries; i++) {
                if (!streq(qpci_vm_get_name(u->entries[i].vm), vm))
                        continue;
                for (size_t k = 0; k < u->entries[i].n; k++)
                        if (u->entries[i].here[k] && qpci_addr_cmp(&u->entries[i].assignments[k].addr, a) == 0)
                                return true;
        }
        return false;
}

/* Qubes' -o k=v: no-strict-reset and permissive, True or False (False: as if absent). */
int parse_attach_option(const char *kv, struct qpci_attach_options *o) {
        const char *eq = strchr(kv, '=');
        size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
        bool *flag = NULL, value;

        if (klen == strlen("no-strict-reset") && !strncmp(kv, "no-strict-reset", klen))
                flag = &o->no_strict_reset;
        else if (klen == strlen("permissive") && !strncmp(kv, "permissive", klen))
                flag = &o->permissive;
        if (!flag) {
                tool_error("unknown option '%.*s' for PCI devices: use no-strict-reset=True or permissive=True",
                           (int)klen, kv);
                return -EINVAL;
        }
        if (!eq) {
                tool_error("option '%s' needs a value: %s=True or %s=False", kv, kv, kv);
                return -EINVAL;
        }
        if (!strcasecmp(eq + 1, "true"))
                value = true;
        else if (!strcasecmp(eq + 1, "false"))
                value = false;
        else {
                tool_error("invalid value '%s' for %.*s: use True or False", eq + 1, (int)klen, kv);
                return -EINVAL;
        }
        *flag = value;
        return 0;
}

/* After a change: {"action", "vm": the VM as it is now, with its devices, "moved": devices that
 * changed driver (hidden for a running VM). r is the change's result, passed on. */
static int vm_result(struct pci_run *run, struct qpci_vm *vm, int r) {
        struct json j;

        if (r < 0 || !run->as_json)
                return r;
        json_init(&j, stdout);
        json_begin_object(&j, NULL);
        json_string(&j, "action", run->cmd->name);
        if (json_vm(&j, "vm", vm, run->inv) < 0)
                json_string(&j, "vm", qpci_vm_get_name(vm));
        json_moved(&j, "moved", run->ctx, run->inv);
        json_end_object(&j);
        json_finish(&j);
        return 0;
}

/* assign --device dom0:*:DEVID: the one device of the host that the device id names. */
static int lookup_by_devid(struct pci_run *run, const char *id, struct qpci_dev **d) {
        _cleanup_(qpci_device_spec_done) struct qpci_device_spec spec = {0};
        struct qpci_assignment a = {.path = "*"};
        int k;

        if (!run->only_device || qpci_device_spec_parse(id, &spec, NULL) < 0 || !streq(spec.port, "*") ||
            snprintf(a.devid, sizeof(a.devid), "%s", spec.devid) >= (int)sizeof(a.devid))
                return pci_lookup(run, id, d);
        if ((k = qpci_assignment_find(run->inv, &a, d)) == 0)
                return 0;
        tool_error_code(qpci_errno_code(k), "%s '%s': %s", k == -ENODEV ? "no device" : "ambiguous device id", id,
                        k == -ENODEV ? "no PCI device on this host is it"
                                     : "several devices on this host are it: give the port of the one you mean");
        return EXIT_USAGE;
}

int pci_cmd_attach(struct pci_run *run) {
        struct qpci_dev *d;
        struct qpci_vm *vm;
        int r;

        if (qpci_virt_find_vm(run->virt, run->args[0], &vm) < 0)
                return EXIT_USAGE;
        if ((r = lookup_by_devid(run, run->args[1], &d)) != 0)
                return r;
        r = vm_result(run, vm, qpci_vm_attach(vm, run->inv, d, &run->attach));
        return r == 0 ? 0 : r == -EINVAL || r == -EEXIST ? EXIT_USAGE : EXIT_FAIL;
}

/* R4.0 to R4.3 take --ro for every device class; it means something for block devices only. */
int pci_check_attach(struct pci_run *r) {
        if (r->ro) {
                tool_error("--ro has no meaning for PCI devices (it makes block devices read-only): leave it out");
                return EXIT_USAGE;
        }
        return 0;
}

/* Qubes R4.3 refuses these for PCI too; each refusal says why and what to type instead. */
int pci_check_assign(struct pci_run *r) {
        int k = pci_check_attach(r);

        if (k)
                return k;
        if (r->ask) {
                tool_error("PCI devices cannot be assigned as not required: a VM cannot ask for one while it "
                           "runs, since the host must give it up first; use assign --required");
                return EXIT_USAGE;
        }
        if (!r->required) {
                tool_error("PCI devices cannot be assigned as not required: the VM gets the device when it "
                           "starts, or does not start; use assign --required (-r)");
                return EXIT_USAGE;
        }
        if (r->only_port && r->only_device) {
                tool_error("assign --port --device would give the VM any device at any port: use --port (whatever "
                           "is at this port), --device (this device wherever it is), or neither (this device at "
                           "this port)");
                return EXIT_USAGE;
        }
        r->attach.only_port = r->only_port;
        r->attach.only_device = r->only_device;
        return 0;
}

int pci_check_unassign(struct pci_run *r) {
        if (r->only_port && r->only_device) {
                tool_error("unassign --port --device names no assignment: use --port (one to whatever is at the "
                           "port) or --device (one to the device wherever it is)");
                return EXIT_USAGE;
        }
        if ((r->only_port || r->only_device) && r->n < 2) {
                tool_error("unassign %s needs a device, like: unassign %s sys-usb dom0:00_1a.0",
                           r->only_port ? "--port" : "--device", r->only_port ? "--port" : "--device");
                return EXIT_USAGE;
        }
        return 0;
}

/* The addresses of the VM's assignments (persistent ones only, or every one) that the device
 * string id names: 0 and *ret (maybe none), or an exit status when id is not a device string. *d
 * is the device at its port, NULL when the host has none there. */
static int named(struct pci_run *run, struct qpci_vm *vm, const char *id, bool persistent_only, struct qpci_dev **d,
                 struct qpci_addr **ret, size_t *n_ret) {
        _cleanup_(qpci_device_spec_done) struct qpci_device_spec spec = {0};
        _cleanup_free_ struct qpci_assignment *a = NULL;
        enum qpci_match how = run->only_port ? QPCI_MATCH_PORT : run->only_device ? QPCI_MATCH_DEVICE : QPCI_MATCH_ANY;
        const char *why;
        size_t n = 0;
        int k;

        *d = NULL;
        *ret = NULL;
        *n_ret = 0;
        if ((k = qpci_device_spec_parse(id, &spec, &why)) < 0) {
                tool_error_code(qpci_errno_code(k), "invalid device id '%s': %s", id, why);
                return EXIT_USAGE;
        }
        /* A device gone from the host, or another one at its port, can still be named (Qubes #10791). */
        if (!streq(spec.port, "*") && (k = qpci_inventory_lookup(run->inv, id, d, &why)) < 0 && k != -ENODEV) {
                tool_error_code(qpci_errno_code(k), "invalid device id '%s': %s", id, why);
                return EXIT_USAGE;
        }
        if ((k = qpci_vm_get_assignments(vm, &a, &n)) < 0)
                return tool_failed(k);
        for (size_t i = 0; i < n; i++) {
                struct qpci_addr *na;
                if ((persistent_only && !a[i].persistent) || !qpci_assignment_matches(&a[i], &spec, *d, how))
                        continue;
                if (!(na = reallocarray(*ret, *n_ret + 1, sizeof(**ret)))) {
                        free(*ret);
                        *ret = NULL;
                        return tool_failed(-ENOMEM);
                }
                *ret = na;
                na[(*n_ret)++] = a[i].addr;
        }
        return 0;
}

static bool has_persistent(struct qpci_vm *vm) {
        _cleanup_free_ struct qpci_assignment *a = NULL;
        size_t n = 0;
        bool any = false;

        if (qpci_vm_get_assignments(vm, &a, &n) < 0)
                return false;
        for (size_t i = 0; i < n; i++)
                any |= a[i].persistent;
        return any;
}

/* unassign or detach (op) of each assignment named. None named: op of the device at the string's
 * port, when there is one, for the library to say in Qubes' words that the VM does not have it;
 * else none, said. */
static int on_named(struct pci_run *run, struct qpci_vm *vm, const struct qpci_addr *addrs, size_t n,
                    struct qpci_dev *d, int (*op)(struct qpci_vm *, struct qpci_inventory *, const struct qpci_addr *),
                    const char *none) {
        int r = 0;

        if (n == 0 && !d) {
                tool_error_code("not-assigned", "%s", none);
                return EXIT_USAGE;
        }
        if (n == 0)
                r = op(vm, run->inv, qpci_dev_get_addr(d));
        for (size_t i = 0; i < n && r == 0; i++)
                r = op(vm, run->inv, &addrs[i]);
        r = vm_result(run, vm, r);
        return r == 0 ? 0 : r == -ENOENT ? EXIT_USAGE : EXIT_FAIL;
}

/* R4.3's unassign: the persistent assignment only; a device the running VM has stays until detach. */
int pci_cmd_unassign(struct pci_run *run) {
        _cleanup_free_ struct qpci_addr *addrs = NULL;
        _cleanup_free_ char *none = NULL;
        bool alone = run->only_port || run->only_device;
        struct qpci_dev *d;
        struct qpci_vm *vm;
        size_t n = 0;
        int r;

        if (qpci_virt_find_vm(run->virt, run->args[0], &vm) < 0)
                return EXIT_USAGE;
        if (run->n < 2)
                return vm_result(run, vm, qpci_vm_unassign(vm, run->inv, NULL)) < 0 ? EXIT_FAIL : 0;
        if ((r = named(run, vm, run->args[1], true, &d, &addrs, &n)) != 0)
                return r;
        if (asprintf(&none, "%s'%s' is not assigned to %s%s%s", run->only_port ? "no assignment of the port alone: "
                     : run->only_device ? "no assignment of the device alone: " : "", run->args[1],
                     qpci_vm_get_name(vm), d ? "" : " (and the host has no such device)",
                     alone ? "; qvm-pci list -s lists its assignments" : "") < 0)
                return tool_failed(-ENOMEM);
        return on_named(run, vm, addrs, n, alone ? NULL : d, qpci_vm_unassign, none);
}

/* The same as attach -p underneath, with R4.3's --port and --device. */
int pci_cmd_assign(struct pci_run *r) {
        r->attach.persistent = true;
        return pci_cmd_attach(r);
}

/*
 * detach takes a device from a running VM. A halted VM has nothing attached: what it has is
 * assigned, and Qubes R4.3 says nothing there (#9373); qpci says to unassign it, and changes
 * nothing. R3.2's -d, whose every device was persistent, ends the assignment as it did.
 */
int pci_cmd_detach(struct pci_run *run) {
        _cleanup_free_ struct qpci_addr *addrs = NULL;
        _cleanup_free_ char *none = NULL;
        struct qpci_dev *d = NULL;
        struct qpci_vm *vm;
        size_t n = 0;
        int r;

        if (qpci_virt_find_vm(run->virt, run->args[0], &vm) < 0)
                return EXIT_USAGE;
        if (run->n > 1 && (r = named(run, vm, run->args[1], false, &d, &addrs, &n)) != 0)
                return r;
        if (qpci_vm_get_state(vm) == QPCI_VM_HALTED && !run->r32 && (run->n > 1 ? n > 0 : has_persistent(vm))) {
                tool_error_code("vm-halted", "%s is halted: %s assigned to it (required), not attached, and it "
                                "gets %s at its next start; to end the assignment: qvm-pci unassign %s%s%s",
                                qpci_vm_get_name(vm), run->n > 1 ? "the device is" : "its devices are",
                                run->n > 1 ? "it" : "them", qpci_vm_get_name(vm), run->n > 1 ? " " : "",
                                run->n > 1 ? run->args[1] : "");
                return EXIT_USAGE;
        }
        if (run->n < 2)
                return vm_result(run, vm, qpci_vm_detach(vm, run->inv, NULL)) < 0 ? EXIT_FAIL : 0;
        if (asprintf(&none, "'%s' is not attached to %s (and the host has no such device)", run->args[1],
                     qpci_vm_get_name(vm)) < 0)
                return tool_failed(-ENOMEM);
        return on_named(run, vm, addrs, n, d, qpci_vm_detach, none);
}

static void check_json(struct qpci_vm *vm, const struct qpci_finding *f, size_t n, bool allowed) {
        struct json j;

        json_init(&j, stdout);
        json_begin_object(&j, NULL);
        json_string(&j, "vm", qpci_vm_get_name(vm));
        json_bool(&j, "running", qpci_vm_get_state(vm) == QPCI_VM_RUNNING);
        json_bool(&j, "allowed", allowed);
        json_begin_array(&j, "findings");
        for (size_t i = 0; i < n; i++) {
                json_begin_object(&j, NULL);
                json_string(&j, "bdf", f[i].bdf);
                json_string(&j, "code", f[i].code);
                json_bool(&j, "refusal", f[i].refusal);
                json_string(&j, "error", f[i].error);
                json_string(&j, "reason", f[i].reason);
                json_string(&j, "fix", f[i].fix);
                json_string(&j, "other", f[i].other[0] ? f[i].other : NULL);
                json_string(&j, "vm", f[i].vm);
                if (f[i].vm)
                        json_bool(&j, "vm_running", f[i].vm_running);
                json_end_object(&j);
        }
        json_end_array(&j);
        json_end_object(&j);
        json_finish(&j);
}

/* check: the rules' verdict on the VM's devices and those named, each finding on its own line. Exit
 * 1 when the rules refuse (text); --json says it in "allowed" and exits 0. */
int pci_cmd_check(struct pci_run *run) {
        _cleanup_free_ struct qpci_dev **devs = calloc(run->n, sizeof(*devs));
        struct qpci_finding *f = NULL;
        struct qpci_vm *vm;
        bool allowed = true;
        size_t n = 0;
        int r;

        if (!devs)
                return tool_failed(-ENOMEM);
        if (qpci_virt_find_vm(run->virt, run->args[0], &vm) < 0)
                return EXIT_USAGE;
        for (int i = 1; i < run->n; i++)
                if ((r = pci_lookup(run, run->args[i], &devs[i - 1])))
                        return r;
        if ((r = qpci_vm_verdict(vm, run->inv, devs, run->n - 1, &run->attach, &f, &n)) < 0)
                return tool_failed(r);
        for (size_t i = 0; i < n; i++)
                allowed &= !f[i].refusal;
        if (run->as_json)
                check_json(vm, f, n, allowed);
        else {
                for (size_t i = 0; i < n; i++) {
                        printf("%s %s: %s", f[i].refusal ? "refused" : "note", f[i].code, tool_esc(f[i].error));
                        if (f[i].reason)
                                printf(": %s", tool_esc(f[i].reason));
                        if (f[i].fix)
                                printf("%s%s", f[i].reason ? "; " : ": ", tool_esc(f[i].fix));
                        putchar('\n');
                }
                printf("%s: the rules %s\n", tool_esc(qpci_vm_get_name(vm)), allowed ? "allow it" : "refuse it");
        }
        qpci_findings_free(f, n);
        return allowed || run->as_json ? 0 : EXIT_FAIL;
}

/* R3.2's `qvm-pci -l VM`: the VM's devices as the Python list it printed, "['00:1a.0']". */
int pci_cmd_r32_list(struct pci_run *r) {
        _cleanup_free_ struct qpci_assignment *a = NULL;
        struct qpci_vm *vm;
        size_t n = 0;
        int k;

        if (qpci_virt_find_vm(r->virt, r->args[0], &vm) < 0)
                return EXIT_USAGE;
        /* An empty list would say the VM has no devices: a VM that could not be read is a failure. */
        if ((k = qpci_vm_get_assignments(vm, &a, &n)) < 0)
                return tool_failed(k);
        if (r->as_json) {
                struct json j;
                json_init(&j, stdout);
                json_begin_array(&j, NULL);
                for (size_t i = 0; i < n; i++)
                        json_assignment(&j, NULL, NULL, &a[i]);
                json_end_array(&j);
                json_finish(&j);
                return 0;
        }
        printf("[");
        for (size_t i = 0; i < n; i++) {
                char bdf[QPCI_BDF_MAX];
                /* R3.2 knew segment 0 only, and left it out. */
                qpci_addr_format_bdf(&a[i].addr, bdf);
                printf("%s'%s'", i ? ", " : "", a[i].addr.segment ? bdf : bdf + 5);
        }
        printf("]\n");
        return 0;
}
