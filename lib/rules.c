/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Qubes' rules for giving a PCI device to a VM, one function per rule, over the inventory alone:
 * what libvirt knows (which running VM has which device) comes in through a callback, so the
 * rules are tested without libvirt (assign-test.c). Each refusal says what is wrong and what to
 * do; Qubes leaves most of them to a hypervisor error.
 *
 * Groups and slots are walked whole: a group can hold hundreds of functions (a PCIe switch
 * without ACS), and no array sized in advance may leave one of them unchecked or unnamed.
 */
#include <stdio.h>
#include <string.h>

#include "qpci-internal.h"

static bool in_set(const struct qpci_rules *r, struct qpci_dev *d) {
        for (size_t i = 0; i < r->n; i++)
                if (qpci_addr_cmp(&r->set[i].addr, qpci_dev_get_addr(d)) == 0)
                        return true;
        return false;
}

/* 1 and *vm when a running VM other than r->vm has d, 0 when none, or an error. */
static int user_of(const struct qpci_rules *r, struct qpci_dev *d, const char **vm) {
        *vm = NULL;
        return r->user_of ? r->user_of(qpci_dev_get_addr(d), r->user_data, vm) : 0;
}

/* The port an assignment names to the user: its PCI path, or "*", or the address it was given at. */
static const char *port_of(const struct qpci_assignment *a, char ident[static QPCI_IDENT_MAX]) {
        return a->path[0] ? a->path : qpci_addr_format_ident(&a->addr, ident);
}

QPCI_EXPORT int qpci_assignment_find(const struct qpci_inventory *inv, const struct qpci_assignment *a,
                                     struct qpci_dev **ret) {
        size_t n = qpci_inventory_count(inv), found = 0;

        *ret = NULL;
        if (!a->path[0]) {
                *ret = qpci_inventory_find(inv, &a->addr);
                return *ret ? 0 : -ENODEV;
        }
        for (size_t i = 0; i < n; i++) {
                struct qpci_dev *d = qpci_inventory_get(inv, i);
                if (streq(a->path, "*") ? qpci_devid_matches(a->devid, d) : streq(a->path, qpci_dev_get_path(d))) {
                        if (found++ == 0)
                                *ret = d;
                }
        }
        return found == 0 ? -ENODEV : found > 1 ? -ENOTUNIQ : 0;
}

QPCI_EXPORT bool qpci_assignment_matches(const struct qpci_assignment *a, const struct qpci_device_spec *spec,
                                         const struct qpci_dev *d, enum qpci_match how) {
        char ident[QPCI_IDENT_MAX];
        bool by_id = streq(a->path, "*"), any_device = streq(a->devid, "*"), at_port, its_device;

        if (streq(spec->port, "*"))
                how = QPCI_MATCH_DEVICE;
        /* A BDF names the device the definition gives at that address, wherever its port is. */
        at_port = !by_id && (streq(a->path, spec->port) || (d && qpci_addr_cmp(&a->addr, qpci_dev_get_addr(d)) == 0) ||
                             (!strchr(spec->port, '-') && streq(qpci_addr_format_ident(&a->addr, ident), spec->port)));
        its_device = by_id && (spec->devid && !streq(spec->devid, "*") ? streq(a->devid, spec->devid)
                                                                        : d && qpci_devid_matches(a->devid, d));
        switch (how) {
        case QPCI_MATCH_PORT:
                return any_device && at_port;
        case QPCI_MATCH_DEVICE:
                return its_device;
        default:
                return at_port || its_device;
        }
}

int qpci_rule_present(const struct qpci_rules *r, const struct qpci_assignment *a, struct qpci_dev **ret) {
        char ident[QPCI_IDENT_MAX];
        const char *port = port_of(a, ident);
        int k = qpci_assignment_find(r->inv, a, ret);

        if (k == -ENOTUNIQ)
                return log_refusal(r->ctx, k, "ambiguous",
                                   ("%s is assigned the device %s wherever it is, and the host has several", r->vm,
                                    a->devid),
                                   ("qpci cannot tell which one %s should get", r->vm),
                                   ("unassign it (qvm-pci unassign --device %s dom0:*:%s) and assign one by its port",
                                    r->vm, a->devid));
        if (k < 0 && streq(port, "*"))
                return log_refusal(r->ctx, k, "not-found",
                                   ("%s is assigned the device %s wherever it is, but the host has none", r->vm,
                                    a->devid), (NULL),
                                   ("plug it in, or unassign it (qvm-pci unassign --device %s dom0:*:%s)", r->vm,
                                    a->devid));
        if (k < 0)
                return log_refusal(r->ctx, k, "not-found",
                                   ("dom0:%s is assigned to %s, but the host has no such device", port, r->vm), (NULL),
                                   ("unassign it (qvm-pci unassign %s dom0:%s)", r->vm, port));
        return 0;
}

/* Qubes R4.3: the device at the port must be the one its device id names; a port-only assignment
 * ("*") takes whatever is there. */
int qpci_rule_same_card(const struct qpci_rules *r, const struct qpci_assignment *a, struct qpci_dev *d) {
        char ident[QPCI_IDENT_MAX];
        const char *port = streq(a->path, "*") ? qpci_dev_get_path(d) : port_of(a, ident);

        if (!a->devid[0])
                return log_refusal(r->ctx, -ESTALE, "changed",
                                   ("the device id recorded for dom0:%s in %s's definition cannot be read", port,
                                    r->vm),
                                   ("qpci cannot tell whether dom0:%s is the device that was assigned", port),
                                   ("unassign it (qvm-pci unassign %s dom0:%s) and assign it again", r->vm, port));
        if (!qpci_devid_matches(a->devid, d))
                return log_refusal(r->ctx, -ESTALE, "changed",
                                   ("dom0:%s holds %s, not the %s that was assigned to %s", port,
                                    qpci_dev_get_devid(d), a->devid, r->vm),
                                   ("another device is at its port"),
                                   ("unassign it (qvm-pci unassign %s dom0:%s) and assign the device you mean, or "
                                    "assign the port to whatever is there (qvm-pci assign -r --port %s dom0:%s)",
                                    r->vm, port, r->vm, port));
        return 0;
}

int qpci_rule_not_bridge(const struct qpci_rules *r, struct qpci_dev *d) {
        if (qpci_dev_is_bridge(d))
                return log_refusal(r->ctx, -EINVAL, "bridge", ("dom0:%s is a %s", qpci_dev_get_ident(d), qpci_dev_bridge_kind(d)),
                                   ("bridges stay with the host"), (NULL));
        return 0;
}

/* A device serves one running VM at a time. */
int qpci_rule_one_vm(const struct qpci_rules *r, struct qpci_dev *d) {
        const char *user;
        int k = user_of(r, d, &user);

        if (k < 0)
                return k;
        if (k > 0)
                return log_refusal(r->ctx, -EBUSY, "in-use",
                                   ("dom0:%s is in use by the running VM %s", qpci_dev_get_ident(d), user),
                                   ("a device serves one running VM at a time"),
                                   ("shut %s down first (qvm-shutdown %s)", user, user));
        return 0;
}

static const char *state_words(const struct qpci_dev *d, char *buf, size_t size) {
        const char *drv = qpci_dev_get_driver(d);

        if (!drv || !*drv)
                snprintf(buf, size, "free, with no driver");
        else if (qpci_driver_is_stub(drv))
                snprintf(buf, size, "hidden on %s", drv);
        else
                snprintf(buf, size, "on the host (driver %s)", drv);
        return buf;
}

/* Qubes OS's Assigning Devices page: the functions of one device go to one VM, unless the VM
 * does without a strict reset. A sibling is fine when it is the VM's too, or hidden and unused. */
int qpci_rule_functions_together(const struct qpci_rules *r, struct qpci_dev *d) {
        const char *ident = qpci_dev_get_ident(d), *user;
        int k;

        if (!r->strict)
                return 0;
        QPCI_DEV_FOREACH_SIBLING(p, d) {
                const char *pid = qpci_dev_get_ident(p), *drv = qpci_dev_get_driver(p);
                char st[NAME_MAX + 32];

                if (in_set(r, p))
                        continue;
                if ((k = user_of(r, p, &user)) < 0)
                        return k;
                if (k > 0)
                        return log_refusal(r->ctx, -EBUSY, "functions-incomplete",
                                           ("dom0:%s is a function of a multi-function device whose dom0:%s is in "
                                            "use by the running VM %s", ident, pid, user),
                                           ("all its functions go to one VM"),
                                           ("shut %s down, or attach with -o no-strict-reset=True", user));
                if (!drv || !qpci_driver_is_stub(drv))
                        return log_refusal(r->ctx, -EBUSY, "functions-incomplete",
                                           ("dom0:%s is a function of a multi-function device whose dom0:%s is %s",
                                            ident, pid, state_words(p, st, sizeof(st))), (NULL),
                                           ("assign all its functions to %s (qvm-pci attach -p %s dom0:%s), hide "
                                            "that one (qvm-pci hide dom0:%s), or attach with -o no-strict-reset=True",
                                            r->vm, r->vm, pid, pid));
        }
        return 0;
}

/* VFIO hands a group to one owner, whatever the options: the kernel refuses a split. Bridges may
 * stay with the host. Every peer that stands in the way is named, however large the group. */
int qpci_rule_group_whole(const struct qpci_rules *r, struct qpci_dev *d) {
        _cleanup_free_ char *host = NULL, *ids = NULL;
        _cleanup_fclose_ FILE *fh = NULL, *fi = NULL;
        size_t lh = 0, li = 0, n_host = 0;
        const char *first_drv = NULL, *first = NULL;

        if (!r->vfio)
                return 0;
        QPCI_DEV_FOREACH_GROUP_PEER(p, d) {
                const char *drv = qpci_dev_get_driver(p), *user;
                int k;

                if (qpci_dev_is_bridge(p) || in_set(r, p))
                        continue;
                if ((k = user_of(r, p, &user)) < 0)
                        return k;
                if (k > 0)
                        return log_refusal(r->ctx, -EBUSY, "group-incomplete",
                                           ("dom0:%s shares IOMMU group %d with dom0:%s, which the running VM %s has",
                                            qpci_dev_get_ident(d), qpci_dev_get_iommu_group(d),
                                            qpci_dev_get_ident(p), user),
                                           ("VFIO never splits a group between VMs"), (NULL));
                if (!drv || !*drv || qpci_driver_is_stub(drv))
                        continue;
                if (!fh && (!(fh = open_memstream(&host, &lh)) || !(fi = open_memstream(&ids, &li))))
                        return -ENOMEM;
                fprintf(fh, "%sdom0:%s (driver %s)", n_host ? ", " : "", qpci_dev_get_ident(p), drv);
                fprintf(fi, " dom0:%s", qpci_dev_get_ident(p));
                if (n_host++ == 0)
                        first = qpci_dev_get_ident(p), first_drv = drv;
        }
        if (n_host == 0)
                return 0;
        if (ferror(fh) || ferror(fi) || fclose(TAKE_PTR(fh)) != 0 || fclose(TAKE_PTR(fi)) != 0)
                return -ENOMEM;
        if (n_host == 1)
                return log_refusal(r->ctx, -EBUSY, "group-incomplete",
                                   ("dom0:%s shares IOMMU group %d with dom0:%s, which the host uses (driver %s)",
                                    qpci_dev_get_ident(d), qpci_dev_get_iommu_group(d), first, first_drv),
                                   ("VFIO never splits a group between a VM and the host"),
                                   ("assign it to %s too, or hide it (qvm-pci hide dom0:%s)", r->vm, first));
        return qpci_refuse(r->ctx, -EBUSY, "group-incomplete", ". ", "; ",
                           qpci_strf("dom0:%s shares IOMMU group %d with %zu devices the host uses: %s",
                                     qpci_dev_get_ident(d), qpci_dev_get_iommu_group(d), n_host, host),
                           qpci_strf("VFIO never splits a group between a VM and the host"),
                           qpci_strf("assign them to %s too, or hide them (qvm-pci hide%s)", r->vm, ids));
}

int qpci_rule_strict_reset(const struct qpci_rules *r, struct qpci_dev *d) {
        if (r->strict && !qpci_dev_has_strict_reset(d))
                return qpci_refuse(r->ctx, -EPERM, "no-reset", ", so ", NULL,
                                   qpci_strf("dom0:%s has no reliable reset", qpci_dev_get_ident(d)),
                                   qpci_strf("a VM could leave it in a state that attacks the next one: %s",
                                             qpci_dev_get_strict_reset_reason(d)),
                                   qpci_strf("attach it with -o no-strict-reset=True, and consider it tainted "
                                             "after use"));
        return 0;
}

int qpci_rules_check(const struct qpci_rules *r, const struct qpci_assignment *a, bool full) {
        struct qpci_dev *d;
        int k;

        if ((k = qpci_rule_present(r, a, &d)) < 0 || (k = qpci_rule_same_card(r, a, d)) < 0 ||
            (k = qpci_rule_not_bridge(r, d)) < 0)
                return k;
        /* At a persistent attach to a halted VM the other functions may follow later. */
        if (full && ((k = qpci_rule_one_vm(r, d)) < 0 || (k = qpci_rule_functions_together(r, d)) < 0 ||
                     (k = qpci_rule_group_whole(r, d)) < 0))
                return k;
        return qpci_rule_strict_reset(r, d);
}
