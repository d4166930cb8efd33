/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The rules' verdict before acting: what a start or an attach would refuse, every refusal and not
 * only the first, with what must go along and which other VMs have the devices, so that a screen
 * shows it before the user applies anything. The rules themselves are rules.c's, each run on its
 * own with the context's error taken as a finding; nothing is logged and nothing changes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qpci-internal.h"
#include "virt.h"

struct findings {
        struct qpci_finding *f;
        size_t n;
};

static struct qpci_finding *add(struct findings *fs, const char *bdf, const char *code, bool refusal) {
        struct qpci_finding *nf = reallocarray(fs->f, fs->n + 1, sizeof(*nf));

        if (!nf)
                return NULL;
        fs->f = nf;
        nf = &fs->f[fs->n++];
        *nf = (struct qpci_finding){.code = code, .refusal = refusal};
        snprintf(nf->bdf, sizeof(nf->bdf), "%s", bdf);
        return nf;
}

static char *dup_or_null(const char *s) {
        return s ? strdup(s) : NULL;
}

/* A rule's result: a refusal becomes a finding (the context's error, then cleared). */
static int take(struct qpci_ctx *ctx, struct findings *fs, const char *bdf, int k) {
        const struct qpci_error *e = qpci_get_error(ctx);
        struct qpci_finding *f;

        if (k >= 0)
                return 0;
        if (k == -ENOMEM || !e)
                return k == -ENOMEM ? k : 0;
        if (!(f = add(fs, bdf, e->code, true)))
                return -ENOMEM;
        f->error = dup_or_null(e->error);
        f->reason = dup_or_null(e->reason);
        f->fix = dup_or_null(e->fix);
        qpci_clear_error(ctx);
        return f->error || !e->error ? 0 : -ENOMEM;
}

static bool in_set(const struct qpci_assignment *set, size_t n, const struct qpci_dev *d) {
        for (size_t i = 0; i < n; i++)
                if (qpci_addr_cmp(&set[i].addr, qpci_dev_get_addr(d)) == 0)
                        return true;
        return false;
}

static int goes_along(struct findings *fs, const struct qpci_assignment *set, size_t n, struct qpci_dev *d,
                      struct qpci_dev *p, const char *why) {
        char text[256];
        struct qpci_finding *f;
        const char *drv = qpci_dev_get_driver(p);

        if (qpci_dev_is_bridge(p) || in_set(set, n, p))
                return 0;
        /* Another function is often in the same group too: said once. */
        for (size_t i = 0; i < fs->n; i++)
                if (streq(fs->f[i].code, "goes-along") && streq(fs->f[i].other, qpci_dev_get_bdf(p)))
                        return 0;
        if (!(f = add(fs, qpci_dev_get_bdf(d), "goes-along", drv && *drv && !qpci_driver_is_stub(drv))))
                return -ENOMEM;
        snprintf(f->other, sizeof(f->other), "%s", qpci_dev_get_bdf(p));
        snprintf(text, sizeof(text), "dom0:%s goes along with dom0:%s", qpci_dev_get_ident(p), qpci_dev_get_ident(d));
        f->error = strdup(text);
        f->reason = strdup(why);
        return f->error && f->reason ? 0 : -ENOMEM;
}

/* Every VM but vm that has one of the set's devices assigned or attached, running or not. */
static int elsewhere(struct qpci_vm *vm, struct findings *fs, const struct qpci_assignment *set, size_t n) {
        struct qpci_vm *const *vms;
        size_t n_vms;
        int r;

        if ((r = qpci_virt_get_vms(vm->virt, &vms, &n_vms)) < 0)
                return r;
        for (size_t i = 0; i < n_vms; i++) {
                _cleanup_free_ struct qpci_assignment *a = NULL;
                size_t k = 0;
                if (vms[i] == vm || qpci_vm_get_assignments(vms[i], &a, &k) < 0)
                        continue;
                for (size_t j = 0; j < k; j++)
                        for (size_t s = 0; s < n; s++) {
                                struct qpci_finding *f;
                                char text[512], ident[QPCI_IDENT_MAX];
                                bool running = vms[i]->state != QPCI_VM_HALTED;
                                if (qpci_addr_cmp(&a[j].addr, &set[s].addr) != 0)
                                        continue;
                                if (!(f = add(fs, set[s].bdf, "assigned-elsewhere", false)))
                                        return -ENOMEM;
                                snprintf(text, sizeof(text), "dom0:%s is %s to %s too (%s)",
                                         qpci_addr_format_ident(&set[s].addr, ident),
                                         a[j].persistent ? "assigned" : "attached", vms[i]->name,
                                         running ? "running" : "halted");
                                f->error = strdup(text);
                                f->vm = strdup(vms[i]->name);
                                f->vm_running = running;
                                if (!f->error || !f->vm)
                                        return -ENOMEM;
                        }
        }
        return 0;
}

static int verdict(struct qpci_vm *vm, struct qpci_inventory *inv, struct qpci_assignment *set, size_t n,
                   struct findings *fs) {
        struct qpci_ctx *ctx = vm->virt->ctx;
        int r;

        for (size_t i = 0; i < n; i++) {
                const struct qpci_rules rules = {
                        .ctx = ctx,
                        .inv = inv,
                        .vm = vm->name,
                        .set = set,
                        .n = n,
                        .strict = qpci_vm_strict_for(vm, &set[i]),
                        .vfio = !qpci_host_is_xen_dom0(ctx),
                        .user_of = qpci_vm_running_user_name,
                        .user_data = vm,
                };
                struct qpci_dev *d;
                const char *user;

                if ((r = take(ctx, fs, set[i].bdf, qpci_rule_present(&rules, &set[i], &d))) < 0)
                        return r;
                if (!d)
                        continue;
                if ((r = take(ctx, fs, set[i].bdf, qpci_rule_same_card(&rules, &set[i], d))) < 0 ||
                    (r = take(ctx, fs, set[i].bdf, qpci_rule_not_bridge(&rules, d))) < 0 ||
                    (r = take(ctx, fs, set[i].bdf, qpci_rule_one_vm(&rules, d))) < 0 ||
                    (r = take(ctx, fs, set[i].bdf, qpci_rule_functions_together(&rules, d))) < 0 ||
                    (r = take(ctx, fs, set[i].bdf, qpci_rule_group_whole(&rules, d))) < 0 ||
                    (r = take(ctx, fs, set[i].bdf, qpci_rule_strict_reset(&rules, d))) < 0)
                        return r;
                if (fs->n && streq(fs->f[fs->n - 1].code, "in-use") &&
                    qpci_vm_running_user_name(&set[i].addr, vm, &user) > 0 && (fs->f[fs->n - 1].vm = strdup(user)))
                        fs->f[fs->n - 1].vm_running = true;
                if (rules.strict)
                        QPCI_DEV_FOREACH_SIBLING(p, d)
                                if ((r = goes_along(fs, set, n, d, p, "the functions of one device go to one VM "
                                                    "(unless it does without a reliable reset)")) < 0)
                                        return r;
                if (rules.vfio)
                        QPCI_DEV_FOREACH_GROUP_PEER(p, d)
                                if ((r = goes_along(fs, set, n, d, p, "VFIO never splits an IOMMU group")) < 0)
                                        return r;
        }
        return elsewhere(vm, fs, set, n);
}

int qpci_vm_verdict(struct qpci_vm *vm, struct qpci_inventory *inv, struct qpci_dev *const *devs, size_t n,
                    const struct qpci_attach_options *o, struct qpci_finding **ret, size_t *n_ret) {
        struct qpci_ctx *ctx = vm->virt->ctx;
        _cleanup_free_ struct qpci_assignment *set = NULL;
        struct findings fs = {0};
        size_t n_set = 0;
        int r, quiet = ctx->log_priority;

        if ((r = qpci_vm_get_assignments(vm, &set, &n_set)) < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                struct qpci_assignment a, *ns;
                if (in_set(set, n_set, devs[i]))
                        continue;
                qpci_vm_assignment_of(devs[i], o, &a);
                if (!(ns = reallocarray(set, n_set + 1, sizeof(*set))))
                        return -ENOMEM;
                set = ns;
                set[n_set++] = a;
        }
        /* The refusals are the answer here, not failures: none is logged, and the context's error
         * is left as it was found (none). */
        qpci_clear_error(ctx);
        ctx->log_priority = -1;
        r = verdict(vm, inv, set, n_set, &fs);
        ctx->log_priority = quiet;
        qpci_clear_error(ctx);
        if (r < 0) {
                qpci_findings_free(fs.f, fs.n);
                return log_error_errno(ctx, r, "cannot check the rules for %s: %s", vm->name, strerror(-r));
        }
        *ret = fs.f;
        *n_ret = fs.n;
        return 0;
}
