/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Xen domains and the devices libvirt would refuse them. Upstream libvirt resets every host device
 * before a Xen domain gets it and fails the start or the hot-plug when it cannot (no FLR, no PM
 * reset, no bus reset: any device on a root bus, such as a laptop's USB controllers), whatever the
 * user said with no-strict-reset. So qpci gives those devices through libxl itself (xen.c), and
 * libvirt sees a domain without them:
 *   start:  the domain is created paused from its definition minus its <hostdev>s; the first device
 *           is added through libxl, then the domain runs, and the others follow once its PCI
 *           frontend has connected: libxl adds a device to a domain's existing PCI backend only
 *           then (it waits 10 s for that and fails), and a paused domain never connects. Once one
 *           device must go this way they all do, since a backend made by libvirt at the start
 *           would leave even the first waiting;
 *   attach: into a running domain through libxl;
 *   detach: out of it through libxl.
 * The running domain's XML records them in qpci's metadata (via-libxl), so that qpci still sees who
 * uses them. When the domain goes, libxl tears them down with it: libvirt's libxl driver destroys
 * the domain through libxl, which removes every PCI device the domain has in xenstore.
 */
#include <libvirt/libvirt.h>
#include <stdlib.h>

#include "qpci-internal.h"
#include "virt.h"

/* A kernel boots in seconds; under emulation (the tests) in a minute or two. */
#define FRONTEND_TIMEOUT_S 180

static unsigned domid_of(virDomainPtr dom) {
        return virDomainGetID(dom); /* (unsigned)-1 when it does not run */
}

/* The running domain's record of what it has through libxl, rewritten whole (one element). */
static int save_live_meta(struct qpci_vm *vm, struct qpci_vmxml *live) {
        _cleanup_free_ char *md = qpci_vmxml_format_meta(live);

        if (!md)
                return -ENOMEM;
        if (virDomainSetMetadata(vm->dom, VIR_DOMAIN_METADATA_ELEMENT, md, "qpci", QPCI_XMLNS,
                                 VIR_DOMAIN_AFFECT_LIVE) < 0)
                return log_error_errno(vm->virt->ctx, -EIO, "libvirt could not record %s's devices: %s", vm->name,
                                       qpci_virt_error());
        return 0;
}

int qpci_vm_create_via_libxl(struct qpci_vm *vm, const struct qpci_assignment *a, size_t n) {
        struct qpci_ctx *ctx = vm->virt->ctx;
        struct qpci_vmxml *def, *live = NULL;
        _cleanup_free_ char *def_xml = NULL, *live_xml = NULL;
        virDomainPtr dom;
        unsigned domid;
        int r;

        if ((r = qpci_vm_def(vm, &def)) < 0)
                return r;
        if (!(def_xml = qpci_vmxml_format(def)) || qpci_vmxml_parse(def_xml, &live) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                qpci_vmxml_set_via_libxl(live, &a[i], true);
        live_xml = qpci_vmxml_format(live);
        qpci_vmxml_free(live);
        if (!live_xml)
                return -ENOMEM;
        /* A domain that is defined keeps its definition: libvirt runs it with this XML and goes back
         * to the definition when it stops. */
        dom = virDomainCreateXML(vm->virt->conn, live_xml, VIR_DOMAIN_START_PAUSED);
        if (!dom)
                return log_error_errno(ctx, -EIO, "libvirt could not start %s: %s (its devices stay hidden from the "
                                       "host)", vm->name, qpci_virt_error());
        domid = domid_of(dom);
        for (size_t i = 0; i < n && r >= 0; i++) {
                if (i == 0) {
                        r = qpci_xen_pci_add(ctx, domid, &a[i].addr, a[i].permissive);
                        if (r >= 0 && virDomainResume(dom) < 0)
                                r = log_error_errno(ctx, -EIO, "libvirt could not resume %s: %s", vm->name,
                                                    qpci_virt_error());
                } else if ((r = qpci_xen_wait_pcifront(ctx, domid, FRONTEND_TIMEOUT_S)) >= 0)
                        r = qpci_xen_pci_add(ctx, domid, &a[i].addr, a[i].permissive);
        }
        if (r < 0) {
                virDomainDestroy(dom);
                log_err(ctx, "%s not started: what libxl could not give it (its devices stay hidden from the host)",
                        vm->name);
        }
        virDomainFree(dom);
        qpci_vm_refresh(vm);
        return r;
}

int qpci_vm_attach_via_libxl(struct qpci_vm *vm, const struct qpci_assignment *a) {
        struct qpci_vmxml *live;
        unsigned domid = domid_of(vm->dom);
        int r;

        if ((r = qpci_vm_live(vm, &live)) < 0 || !live)
                return r < 0 ? r : -ESRCH;
        if ((r = qpci_xen_wait_pcifront(vm->virt->ctx, domid, FRONTEND_TIMEOUT_S)) < 0 ||
            (r = qpci_xen_pci_add(vm->virt->ctx, domid, &a->addr, a->permissive)) < 0)
                return r;
        qpci_vmxml_set_via_libxl(live, a, true);
        if ((r = save_live_meta(vm, live)) < 0) {
                /* Unrecorded, no rule would see that this VM has it: take it back. */
                qpci_xen_pci_remove(vm->virt->ctx, domid, &a->addr);
                qpci_vm_refresh(vm);
                return r;
        }
        qpci_vm_refresh(vm);
        return 0;
}

int qpci_vm_detach_via_libxl(struct qpci_vm *vm, const struct qpci_assignment *a) {
        struct qpci_vmxml *live;
        int r;

        if ((r = qpci_vm_live(vm, &live)) < 0 || !live)
                return r < 0 ? r : -ESRCH;
        if ((r = qpci_xen_pci_remove(vm->virt->ctx, domid_of(vm->dom), &a->addr)) < 0)
                return r;
        qpci_vmxml_set_via_libxl(live, a, false);
        r = save_live_meta(vm, live);
        qpci_vm_refresh(vm);
        return r;
}
