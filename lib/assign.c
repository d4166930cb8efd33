/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PCI devices given to VMs, with Qubes' rules checked by qpci before libvirt or the hypervisor
 * sees anything, so each refusal says what is wrong and what to do (Qubes leaves most of them to
 * a hypervisor error). The engine (host.c) hides the devices; libvirt gets them managed='no' and
 * never hands them back to the host.
 */
#include <libvirt/libvirt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qpci-internal.h"
#include "virt.h"

static int append(struct qpci_assignment **a, size_t *n, const struct qpci_assignment *x) {
        struct qpci_assignment *na = reallocarray(*a, *n + 1, sizeof(**a));
        if (!na)
                return -ENOMEM;
        na[(*n)++] = *x;
        *a = na;
        return 0;
}

int qpci_vm_get_assignments(struct qpci_vm *vm, struct qpci_assignment **ret, size_t *n) {
        struct qpci_assignment *def = NULL, *live = NULL;
        size_t n_def = 0, n_live = 0;
        struct qpci_vmxml *x;
        int r;

        r = qpci_vm_def(vm, &x);
        if (r < 0 || (r = qpci_vmxml_get_assignments(x, false, &def, &n_def)) < 0)
                return r;
        r = qpci_vm_live(vm, &x);
        if (r >= 0 && x)
                r = qpci_vmxml_get_assignments(x, true, &live, &n_live);
        for (size_t i = 0; r >= 0 && i < n_live; i++) {
                size_t j = 0;
                while (j < n_def && qpci_addr_cmp(&def[j].addr, &live[i].addr) != 0)
                        j++;
                if (j < n_def)
                        def[j].live = true, def[j].via_libxl = live[i].via_libxl;
                else
                        r = append(&def, &n_def, &live[i]);
        }
        free(live);
        if (r < 0) {
                free(def);
                return r;
        }
        *ret = def;
        *n = n_def;
        return 0;
}

/* The running VM other than except that has the device now (*ret, NULL when none). A running VM
 * whose devices cannot be read might have it: that is an error (logged where it happened), never
 * "not in use". */
static int running_user(struct qpci_virt *v, const struct qpci_addr *addr, const struct qpci_vm *except,
                        struct qpci_vm **ret) {
        struct qpci_vm *const *vms;
        size_t n;
        int r;

        *ret = NULL;
        if ((r = qpci_virt_get_vms(v, &vms, &n)) < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ struct qpci_assignment *a = NULL;
                size_t k = 0;
                if (vms[i] == except || vms[i]->state == QPCI_VM_HALTED)
                        continue;
                if ((r = qpci_vm_get_assignments(vms[i], &a, &k)) < 0)
                        return r;
                for (size_t j = 0; j < k; j++)
                        if (a[j].live && qpci_addr_cmp(&a[j].addr, addr) == 0) {
                                *ret = vms[i];
                                return 1;
                        }
        }
        return 0;
}

/* After taking the VM lock: what other commands started meanwhile is seen. */
static void refresh_all(struct qpci_virt *v) {
        struct qpci_vm *const *vms;
        size_t n;

        if (qpci_virt_get_vms(v, &vms, &n) == 0)
                for (size_t i = 0; i < n; i++)
                        qpci_vm_refresh(vms[i]);
}

static bool in_set(const struct qpci_assignment *a, size_t n, const struct qpci_dev *d) {
        for (size_t i = 0; i < n; i++)
                if (qpci_addr_cmp(&a[i].addr, qpci_dev_get_addr(d)) == 0)
                        return true;
        return false;
}

int qpci_vm_running_user_name(const struct qpci_addr *addr, void *data, const char **name) {
        struct qpci_vm *vm = data, *user;
        int r = running_user(vm->virt, addr, vm, &user);

        *name = user ? user->name : NULL;
        return r;
}

/* Qubes' rules (rules.c) for one device of vm, whose devices (this one included) are set[0..n).
 * full: also the rules that only a start or a hot-plug needs. */
static int check_device(struct qpci_vm *vm, struct qpci_inventory *inv, const struct qpci_assignment *a,
                        const struct qpci_assignment *set, size_t n, bool strict, bool full) {
        const struct qpci_rules r = {
                .ctx = vm->virt->ctx,
                .inv = inv,
                .vm = vm->name,
                .set = set,
                .n = n,
                .strict = strict,
                .vfio = !qpci_host_is_xen_dom0(vm->virt->ctx),
                .user_of = qpci_vm_running_user_name,
                .user_data = vm,
        };
        return qpci_rules_check(&r, a, full);
}

bool qpci_vm_strict_for(struct qpci_vm *vm, const struct qpci_assignment *a) {
        struct qpci_vmxml *x;
        return !a->no_strict_reset && !(qpci_vm_def(vm, &x) == 0 && !qpci_vmxml_strict_reset(x));
}

/* On Xen, libvirt resets every device it gives and refuses one it cannot reset: what the user lets
 * go without a reliable reset goes through libxl instead (via-libxl.c). */
static bool via_libxl(struct qpci_vm *vm, const struct qpci_assignment *a) {
        struct qpci_vmxml *x;
        return !qpci_vm_strict_for(vm, a) && qpci_vm_def(vm, &x) == 0 && streq(qpci_vmxml_get_type(x), "xen");
}

/* A device used without a reliable reset may carry what the VM left in it (Qubes: "tainted"). */
static void mark_tainted(struct qpci_vm *vm, const struct qpci_assignment *a) {
        struct qpci_ctx *ctx = vm->virt->ctx;
        if (qpci_state_mark_tainted(ctx, a->bdf, a->vendor_id, a->device_id, vm->name) < 0)
                log_warn(ctx, "could not record that %s used dom0:%s without a reliable reset", vm->name, a->bdf);
}

static void warn_if_tainted(struct qpci_vm *vm, struct qpci_dev *d) {
        _cleanup_free_ char *by = NULL;
        if (qpci_state_tainted_by(vm->virt->ctx, qpci_dev_get_bdf(d), qpci_dev_get_vendor_id(d),
                                  qpci_dev_get_device_id(d), &by) > 0 && !streq(by, vm->name))
                log_warn(vm->virt->ctx, "dom0:%s was used by %s without a reliable reset (no-strict-reset): consider "
                         "it tainted, since %s may have left it in a state that attacks %s", qpci_dev_get_ident(d), by,
                         by, vm->name);
}

static int refuse_if_rooted(struct qpci_vm *vm) {
        struct qpci_ctx *ctx = vm->virt->ctx;
        if (streq(qpci_get_root(ctx), "/"))
                return 0;
        return qpci_refuse(ctx, -EPERM, "fixture", ": ", NULL,
                           qpci_strf("qpci reads a fixture tree (QPCI_ROOT=%s), but the hypervisor would take this "
                                     "host's real devices", qpci_get_root(ctx)),
                           qpci_strf("not giving PCI devices to %s", vm->name),
                           qpci_strf("run qpci without QPCI_ROOT to give VMs this host's devices"));
}

/* A VM of another host's libvirt can have only that host's devices, which qpci does not see: the
 * rules and the engine would act on this host's devices at the same addresses. */
static int refuse_remote_devices(struct qpci_vm *vm, const char *command) {
        return qpci_virt_refuse_remote(vm->virt, QPCI_LOG_ERR, "%s has PCI devices, and qpci gives VMs this host's "
                                       "devices only; run %s %s on %s itself", vm->name, command, vm->name,
                                       vm->virt->remote_host);
}

/* The VM's assignments, each persistent one with the address of the device it names now (its
 * port, or its device id wherever it is), which may differ from the recorded one. */
static int resolved_assignments(struct qpci_vm *vm, struct qpci_inventory *inv, struct qpci_assignment **ret,
                                size_t *n) {
        int r = qpci_vm_get_assignments(vm, ret, n);

        for (size_t i = 0; r >= 0 && i < *n; i++) {
                struct qpci_assignment *a = &(*ret)[i];
                struct qpci_dev *d;
                if (a->persistent && qpci_assignment_find(inv, a, &d) == 0) {
                        a->addr = *qpci_dev_get_addr(d);
                        snprintf(a->bdf, sizeof(a->bdf), "%s", qpci_dev_get_bdf(d));
                }
        }
        return r;
}

/* Every rule for every persistent assignment, on the devices they name now (*ret, resolved). */
static int check_resolved(struct qpci_vm *vm, struct qpci_inventory *inv, struct qpci_assignment **ret, size_t *n) {
        struct qpci_assignment *a = NULL;
        int r = resolved_assignments(vm, inv, &a, n);

        if (r >= 0 && *n > 0)
                r = refuse_remote_devices(vm, "qvm-start");
        for (size_t i = 0; r >= 0 && i < *n; i++) {
                if (!a[i].persistent)
                        continue;
                r = check_device(vm, inv, &a[i], a, *n, qpci_vm_strict_for(vm, &a[i]), true);
                /* Two assignments may name one device (its port, and its id alone): libvirt takes it once. */
                for (size_t j = 0; r >= 0 && j < i; j++)
                        if (a[j].persistent && qpci_addr_cmp(&a[i].addr, &a[j].addr) == 0)
                                r = log_error_errno(vm->virt->ctx, -EEXIST, "dom0:%s is assigned to %s twice (by its "
                                                    "port and by its device id): unassign one of them",
                                                    a[i].bdf, vm->name);
        }
        if (r < 0) {
                free(a);
                return r;
        }
        *ret = a;
        return 0;
}

int qpci_vm_check(struct qpci_vm *vm, struct qpci_inventory *inv) {
        _cleanup_free_ struct qpci_assignment *a = NULL;
        size_t n = 0;
        return check_resolved(vm, inv, &a, &n);
}

/* An assignment that followed its port (the buses were renumbered) or its device id to another
 * address: the definition gives libvirt the device where it is now. All the moved ones leave
 * their old addresses first, so two that trade places do not overwrite each other. */
static int follow_moves(struct qpci_vm *vm, const struct qpci_assignment *now, size_t n) {
        _cleanup_free_ struct qpci_assignment *was = NULL;
        struct qpci_vmxml *x;
        size_t n_was = 0, moved = 0;
        int r;

        if ((r = qpci_vm_get_assignments(vm, &was, &n_was)) < 0 || (r = qpci_vm_def(vm, &x)) < 0)
                return r;
        for (size_t i = 0; i < n && i < n_was; i++)
                if (now[i].persistent && qpci_addr_cmp(&now[i].addr, &was[i].addr) != 0) {
                        /* libvirt's hook has the XML libvirt starts, and may not call libvirt back. */
                        if (!vm->dom)
                                return log_error_errno(vm->virt->ctx, -ESTALE, "%s's device dom0:%s is at %s now, "
                                                       "not at %s where its definition gives it: start %s with "
                                                       "qvm-start, which follows it there", vm->name, now[i].path,
                                                       now[i].bdf, was[i].bdf, vm->name);
                        qpci_vmxml_remove_assignment(x, &was[i].addr);
                        moved++;
                }
        for (size_t i = 0; moved && i < n && i < n_was; i++)
                if (now[i].persistent && qpci_addr_cmp(&now[i].addr, &was[i].addr) != 0) {
                        log_info(vm->virt->ctx, "%s gets dom0:%s at %s now, no longer at %s", vm->name,
                                 streq(now[i].path, "*") ? now[i].devid : now[i].path, now[i].bdf, was[i].bdf);
                        if ((r = qpci_vmxml_add_assignment(x, &now[i])) < 0)
                                return r;
                }
        return moved ? qpci_vm_define(vm, x) : 0;
}

int qpci_vm_prepare(struct qpci_vm *vm, struct qpci_inventory *inv, size_t *n_devices) {
        _cleanup_free_ struct qpci_assignment *a = NULL;
        _cleanup_free_ struct qpci_dev **devs = NULL;
        size_t n = 0;
        int r;

        if ((r = check_resolved(vm, inv, &a, &n)) < 0)
                return r;
        *n_devices = n;
        if (n == 0)
                return 0;
        if ((r = refuse_if_rooted(vm)) < 0 || (r = follow_moves(vm, a, n)) < 0)
                return r;
        /* One window from the hide to the taint record: no other command moves these devices in
         * between (each step below nests in it). */
        _cleanup_(qpci_state_closep) struct qpci_ctx *window = NULL;
        if ((r = qpci_state_open(vm->virt->ctx)) < 0)
                return r;
        window = vm->virt->ctx;
        devs = calloc(n, sizeof(*devs));
        if (!devs)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                devs[i] = qpci_inventory_find(inv, &a[i].addr);
        r = qpci_host_hide(inv, devs, n, NULL);
        if (r < 0)
                return log_error_errno(vm->virt->ctx, r, "%s not started: its devices could not be hidden from the "
                                       "host", vm->name);
        /* pciback keeps permissive mode from an earlier VM: one not asking for it must not inherit it. */
        for (size_t i = 0; i < n; i++)
                if (!a[i].permissive && (r = qpci_host_clear_permissive(devs[i], false)) < 0)
                        return log_error_errno(vm->virt->ctx, r, "%s not started: dom0:%s is still permissive from "
                                               "an earlier VM", vm->name, qpci_dev_get_ident(devs[i]));
        for (size_t i = 0; i < n; i++)
                if (!qpci_vm_strict_for(vm, &a[i]))
                        mark_tainted(vm, &a[i]);
        return 0;
}

int qpci_vm_start(struct qpci_vm *vm, struct qpci_inventory *inv) {
        struct qpci_ctx *ctx = vm->virt->ctx;
        _cleanup_free_ struct qpci_assignment *a = NULL;
        _cleanup_close_ int lock = -1;
        size_t n = 0;
        int r;

        if ((r = qpci_vm_get_assignments(vm, &a, &n)) < 0)
                return r;
        if (n > 0 && (lock = qpci_state_lock_vms(ctx)) < 0)
                return lock;
        refresh_all(vm->virt);
        if (vm->state != QPCI_VM_HALTED)
                return log_refusal(ctx, -EALREADY, "vm-running", ("%s is running already", vm->name), (NULL), (NULL));
        if ((r = qpci_vm_prepare(vm, inv, &n)) < 0)
                return r;
        if (n > 0) {
                bool libxl = false;
                free(a);
                a = NULL;
                if ((r = qpci_vm_get_assignments(vm, &a, &n)) < 0)
                        return r;
                for (size_t i = 0; i < n; i++)
                        libxl |= via_libxl(vm, &a[i]);
                if (libxl)
                        return qpci_vm_create_via_libxl(vm, a, n);
        }
        qpci_virt_make_log_dir(vm->virt);
        if (virDomainCreate(vm->dom) < 0)
                return log_error_errno(ctx, -EIO, "libvirt could not start %s: %s%s", vm->name, qpci_virt_error(),
                                       n ? " (its devices stay hidden from the host)" : "");
        qpci_vm_refresh(vm);
        return 0;
}

int qpci_vm_assignment_of(struct qpci_dev *d, const struct qpci_attach_options *o, struct qpci_assignment *a) {
        *a = (struct qpci_assignment){
                .addr = *qpci_dev_get_addr(d),
                .vendor_id = qpci_dev_get_vendor_id(d),
                .device_id = qpci_dev_get_device_id(d),
                .no_strict_reset = o && o->no_strict_reset,
                .permissive = o && o->permissive,
                .persistent = o && o->persistent,
        };
        snprintf(a->bdf, sizeof(a->bdf), "%s", qpci_dev_get_bdf(d));
        snprintf(a->path, sizeof(a->path), "%s", o && o->only_device ? "*" : qpci_dev_get_path(d));
        snprintf(a->devid, sizeof(a->devid), "%s", o && o->only_port ? "*" : qpci_dev_get_devid(d));
        if (o && o->only_port)
                a->vendor_id = a->device_id = 0;
        return 0;
}

/* The same port (or both by device id), and the same device id, or one older qpci recorded with
 * less (no class) that the device matches: assigning it again changes nothing. */
static bool same_identity(const struct qpci_assignment *was, const struct qpci_assignment *a, struct qpci_dev *d) {
        return streq(was->path, a->path) && (streq(was->devid, a->devid) || (!streq(was->devid, "*") &&
                                                                             !streq(a->devid, "*") &&
                                                                             qpci_devid_matches(was->devid, d)));
}

int qpci_vm_attach(struct qpci_vm *vm, struct qpci_inventory *inv, struct qpci_dev *d,
                               const struct qpci_attach_options *o) {
        struct qpci_ctx *ctx = vm->virt->ctx;
        _cleanup_free_ struct qpci_assignment *set = NULL;
        _cleanup_free_ char *hd = NULL;
        _cleanup_close_ int lock = -1;
        struct qpci_assignment a;
        struct qpci_vmxml *x;
        size_t n = 0;
        bool running;
        int r;

        if ((r = qpci_virt_refuse_remote(vm->virt, QPCI_LOG_ERR, "qpci gives VMs this host's devices only; run "
                                         "qvm-pci attach on %s itself", vm->virt->remote_host)) < 0)
                return r;
        if ((lock = qpci_state_lock_vms(ctx)) < 0)
                return lock;
        refresh_all(vm->virt);
        running = vm->state != QPCI_VM_HALTED;
        if (!running && !(o && o->persistent))
                return qpci_refuse(ctx, -EINVAL, "vm-halted", ", ", NULL, qpci_strf("VM not running"),
                                   qpci_strf("can only attach device with persistent flag"),
                                   qpci_strf("attach it with -p (qvm-pci attach -p %s ID), or start %s first",
                                             vm->name, vm->name));
        qpci_vm_assignment_of(d, o, &a);
        if ((r = qpci_vm_get_assignments(vm, &set, &n)) < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (qpci_addr_cmp(&set[i].addr, &a.addr) == 0 && (set[i].live || !running) &&
                    (set[i].persistent || !a.persistent) && set[i].no_strict_reset == a.no_strict_reset &&
                    set[i].permissive == a.permissive &&
                    (!a.persistent || same_identity(&set[i], &a, d)))
                        return log_error_errno(ctx, -EEXIST, "device dom0:%s of class pci already attached to %s",
                                               qpci_dev_get_ident(d), vm->name);
        if (append(&set, &n, &a) < 0)
                return -ENOMEM;
        r = check_device(vm, inv, &a, set, n, qpci_vm_strict_for(vm, &a), running);
        if (r < 0)
                return r;
        warn_if_tainted(vm, d);
        if (a.permissive && (r = qpci_vm_def(vm, &x)) == 0 && !streq(qpci_vmxml_get_type(x), "xen"))
                log_warn(ctx, "permissive is xen-pciback's mode: on %s (%s) QEMU filters the device's config space "
                         "itself, and the option changes nothing", vm->name, qpci_vmxml_get_type(x));
        if (running && !in_set(set, n - 1, d)) {
                /* Hot-plug: off the host first (all or nothing), then into the VM. */
                if ((r = refuse_if_rooted(vm)) < 0 || (r = qpci_host_hide(inv, &d, 1, NULL)) < 0)
                        return r;
                if ((r = qpci_vm_def(vm, &x)) < 0)
                        return r;
                if (via_libxl(vm, &a)) {
                        if ((r = qpci_vm_attach_via_libxl(vm, &a)) < 0)
                                return log_error_errno(ctx, r, "dom0:%s not attached to %s (it stays hidden from the "
                                                       "host)", qpci_dev_get_ident(d), vm->name);
                } else if (!(hd = qpci_vmxml_hostdev(&a, qpci_vmxml_get_type(x))))
                        return -ENOMEM;
                else if (virDomainAttachDeviceFlags(vm->dom, hd, VIR_DOMAIN_AFFECT_LIVE) < 0)
                        return log_error_errno(ctx, -EIO, "libvirt could not attach dom0:%s to %s: %s (the device "
                                               "stays hidden from the host)", qpci_dev_get_ident(d), vm->name,
                                               qpci_virt_error());
                if (!qpci_vm_strict_for(vm, &a))
                        mark_tainted(vm, &a);
        }
        if (!a.persistent)
                return 0;
        if ((r = qpci_vm_def(vm, &x)) < 0)
                return r;
        r = qpci_vmxml_add_assignment(x, &a);
        if (r == -EEXIST)
                return 0;
        return r < 0 ? r : qpci_vm_define(vm, x);
}

static int wait_unplugged(struct qpci_vm *vm, const struct qpci_addr *addr) {
        /* A hot-unplug completes when the guest lets go (ACPI/PCIe hotplug): wait, as virsh does. */
        for (int tries = 0; tries < 100; tries++) {
                struct qpci_assignment *a = NULL;
                size_t n = 0;
                bool there = false;
                qpci_vm_refresh(vm);
                if (qpci_vm_get_assignments(vm, &a, &n) < 0)
                        return -EIO;
                for (size_t i = 0; i < n; i++)
                        there |= a[i].live && qpci_addr_cmp(&a[i].addr, addr) == 0;
                free(a);
                if (!there)
                        return 0;
                nanosleep(&(struct timespec){.tv_nsec = 100 * 1000 * 1000}, NULL);
        }
        return -ETIMEDOUT;
}

int qpci_vm_unassign(struct qpci_vm *vm, struct qpci_inventory *inv, const struct qpci_addr *addr) {
        struct qpci_ctx *ctx = vm->virt->ctx;
        _cleanup_free_ struct qpci_assignment *a = NULL;
        struct qpci_vmxml *x;
        size_t n = 0, done = 0;
        int r;

        if ((r = qpci_virt_refuse_remote(vm->virt, QPCI_LOG_ERR, "qpci gives VMs this host's devices only; run "
                                         "qvm-pci unassign on %s itself", vm->virt->remote_host)) < 0)
                return r;
        qpci_vm_refresh(vm);
        if ((r = qpci_vm_get_assignments(vm, &a, &n)) < 0 || (r = qpci_vm_def(vm, &x)) < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                if (!a[i].persistent || (addr && qpci_addr_cmp(addr, &a[i].addr) != 0))
                        continue;
                if (qpci_vmxml_remove_assignment(x, &a[i].addr) == 0)
                        done++;
        }
        if (addr && !done) {
                char ident[QPCI_IDENT_MAX];
                return log_refusal(ctx, -ENOENT, "not-assigned", ("device dom0:%s of class pci is not assigned to %s",
                                                                  qpci_addr_format_ident(addr, ident), vm->name),
                                   (NULL), (NULL));
        }
        if (done && (r = qpci_vm_define(vm, x)) < 0)
                return r;
        /* As detach: pciback would keep a permissive mode for the next VM, unless this one still has it. */
        for (size_t i = 0; i < n; i++) {
                struct qpci_dev *d = a[i].permissive && !a[i].live ? qpci_inventory_find(inv, &a[i].addr) : NULL;
                if (d && (!addr || qpci_addr_cmp(addr, &a[i].addr) == 0) && (r = qpci_host_clear_permissive(d, false)) < 0)
                        return r;
        }
        return 0;
}

int qpci_vm_detach(struct qpci_vm *vm, struct qpci_inventory *inv, const struct qpci_addr *addr) {
        struct qpci_ctx *ctx = vm->virt->ctx;
        _cleanup_free_ struct qpci_assignment *a = NULL;
        struct qpci_vmxml *x;
        size_t n = 0, done = 0;
        bool redefine = false;
        int r;

        if ((r = qpci_virt_refuse_remote(vm->virt, QPCI_LOG_ERR, "qpci gives VMs this host's devices only; run "
                                         "qvm-pci detach on %s itself", vm->virt->remote_host)) < 0)
                return r;
        qpci_vm_refresh(vm);
        if ((r = qpci_vm_get_assignments(vm, &a, &n)) < 0 || (r = qpci_vm_def(vm, &x)) < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                char ident[QPCI_IDENT_MAX];
                if (addr && qpci_addr_cmp(addr, &a[i].addr) != 0)
                        continue;
                done++;
                qpci_addr_format_ident(&a[i].addr, ident);
                if (a[i].live && a[i].via_libxl) {
                        if ((r = qpci_vm_detach_via_libxl(vm, &a[i])) < 0)
                                return r;
                        if ((r = qpci_vm_def(vm, &x)) < 0)
                                return r;
                } else if (a[i].live) {
                        _cleanup_free_ char *hd = qpci_vmxml_hostdev(&a[i], qpci_vmxml_get_type(x));
                        if (!hd)
                                return -ENOMEM;
                        if (virDomainDetachDeviceFlags(vm->dom, hd, VIR_DOMAIN_AFFECT_LIVE) < 0)
                                return log_error_errno(ctx, -EIO, "libvirt could not detach dom0:%s from %s: %s",
                                                       ident, vm->name, qpci_virt_error());
                        if (wait_unplugged(vm, &a[i].addr) < 0)
                                return log_error_errno(ctx, -ETIMEDOUT, "%s did not let dom0:%s go within 10 s: its "
                                                       "driver may hold it; try again, or shut %s down", vm->name,
                                                       ident, vm->name);
                        if ((r = qpci_vm_def(vm, &x)) < 0)
                                return r;
                }
                if (a[i].persistent && qpci_vmxml_remove_assignment(x, &a[i].addr) == 0)
                        redefine = true;
        }
        if (addr && !done) {
                char ident[QPCI_IDENT_MAX];
                return log_refusal(ctx, -ENOENT, "not-assigned", ("device dom0:%s of class pci not attached to %s",
                                                                  qpci_addr_format_ident(addr, ident), vm->name),
                                   (NULL), (NULL));
        }
        if (redefine && (r = qpci_vm_define(vm, x)) < 0)
                return r;
        /* The devices stay hidden: a device a VM had is never given back to the host by itself. On
         * pciback they would keep their permissive mode for the next VM, though. */
        for (size_t i = 0; i < n; i++) {
                struct qpci_dev *d = a[i].permissive ? qpci_inventory_find(inv, &a[i].addr) : NULL;
                if (d && (!addr || qpci_addr_cmp(addr, &a[i].addr) == 0) && (r = qpci_host_clear_permissive(d, false)) < 0)
                        return r;
        }
        return 0;
}
