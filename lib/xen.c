/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What only Xen's own library can do for a device on a dom0. When a domain lets a device go, Xen
 * keeps it in quarantine (assigned to DOMID_IO): dom0's driver then binds but cannot map its
 * interrupts ("xen map irq failed -19 for 32752 domain") and its DMA faults in the IOMMU. Taking it
 * out of quarantine is what `xl pci-assignable-remove` starts with: xc_deassign_device(DOMID_IO).
 * libxenctrl is loaded only then, and only on a dom0 (its package is part of Xen's tools).
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>

#include "qpci-internal.h"

/* libxenctrl's API, stable across Xen releases (xenctrl.h); the library is versioned by release. */
#define XEN_DOMID_IO 0x7FF1U
typedef struct xc_interface_core xc_interface;

int qpci_xen_dequarantine(struct qpci_ctx *ctx, const struct qpci_addr *a) {
        static const char *const names[] = {"libxenctrl.so", "libxenctrl.so.4.17", "libxenctrl.so.4.18",
                                            "libxenctrl.so.4.19", "libxenctrl.so.4.20", "libxenctrl.so.4.16"};
        xc_interface *(*open_)(void *, void *, unsigned);
        int (*close_)(xc_interface *);
        int (*deassign)(xc_interface *, uint32_t, uint32_t);
        xc_interface *xch;
        void *h = NULL;
        int r;

        for (size_t i = 0; !h && i < ELEMENTSOF(names); i++)
                h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (!h) {
                log_dbg(ctx, "no libxenctrl (Xen's tools): cannot take devices out of Xen's quarantine");
                return -ENOPKG;
        }
        open_ = (xc_interface * (*)(void *, void *, unsigned)) dlsym(h, "xc_interface_open");
        close_ = (int (*)(xc_interface *))dlsym(h, "xc_interface_close");
        deassign = (int (*)(xc_interface *, uint32_t, uint32_t))dlsym(h, "xc_deassign_device");
        if (!open_ || !close_ || !deassign || !(xch = open_(NULL, NULL, 0))) {
                dlclose(h);
                return log_error_errno(ctx, -EIO, "libxenctrl is there but unusable: cannot reach the hypervisor");
        }
        /* The machine SBDF as Xen encodes it. A device that was in no domain is in no quarantine:
         * Xen then says so, and there is nothing to do. */
        r = deassign(xch, XEN_DOMID_IO, a->segment << 16 | (uint32_t)a->bus << 8 | (uint32_t)a->dev << 3 | a->fn);
        if (r < 0)
                log_dbg(ctx, "%04x:%02x:%02x.%x: not in Xen's quarantine", a->segment, a->bus, a->dev, a->fn);
        else
                log_info(ctx, "%04x:%02x:%02x.%x: taken out of Xen's quarantine", a->segment, a->bus, a->dev, a->fn);
        close_(xch);
        dlclose(h);
        return r < 0 ? 0 : 1;
}
