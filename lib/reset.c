/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reset capability, the heart of Qubes' strict reset. The kernel is the reference: since 5.15 its
 * reset_method attribute lists what it will use, and the attribute is hidden when nothing is
 * usable. On older kernels qpci derives the same answer from config space the way
 * drivers/pci/pci.c probes it (pcie_reset_flr, pci_af_flr, pci_pm_reset, pci_parent_bus_reset).
 */
#include <stdio.h>
#include <string.h>

#include "pci-regs.h"
#include "qpci-internal.h"

/* Bit order is the kernel's pci_reset_fn_methods[] order, which is also its order of preference. */
static const char *const method_names[QPCI_RESET_METHOD_COUNT] = {
        "device_specific", "acpi", "flr", "af_flr", "pm", "bus", "cxl_bus",
};

static const char *const method_words[QPCI_RESET_METHOD_COUNT] = {
        "a device-specific kernel reset",
        "an ACPI _RST reset",
        "function-level reset (flr)",
        "function-level reset through Advanced Features (af_flr)",
        "power-management reset (pm: D3hot to D0)",
        "secondary bus reset (bus)",
        "CXL bus reset (cxl_bus)",
};

QPCI_EXPORT const char *qpci_reset_method_name(unsigned method) {
        for (unsigned i = 0; i < QPCI_RESET_METHOD_COUNT; i++)
                if (method == 1u << i)
                        return method_names[i];
        return NULL;
}

unsigned qpci_reset_parse_methods(const char *s) {
        unsigned m = 0;

        while (*s) {
                size_t len = strcspn(s, " \n\t");
                for (unsigned i = 0; len && i < QPCI_RESET_METHOD_COUNT; i++)
                        if (strlen(method_names[i]) == len && strncmp(s, method_names[i], len) == 0)
                                m |= 1u << i;
                s += len;
                s += strspn(s, " \n\t");
        }
        return m;
}

bool qpci_kernel_has_reset_method(const char *release) {
        unsigned major, minor;

        if (sscanf(release, "%u.%u", &major, &minor) != 2)
                return false;
        return major > 5 || (major == 5 && minor >= 15);
}

/*
 * The kernel's own exceptions, as the kernels without reset_method have them (drivers/pci/quirks.c
 * in 5.10): functions whose FLR hangs them (PCI_DEV_FLAGS_NO_FLR_RESET, which pcie_has_flr() and
 * pci_af_flr() both honour), and AMD/ATI GPUs below a bridge, whose D3hot round trip resets
 * nothing (PCI_DEV_FLAGS_NO_PM_RESET). The probe skips those methods; so does the derivation.
 */
static bool quirk_no_flr(const struct qpci_dev *d) {
        static const struct {
                uint16_t vendor, device;
        } ids[] = {
                {0x1022, 0x1487}, /* AMD Starship/Matisse HD Audio */
                {0x1022, 0x148c}, /* AMD Starship USB 3.0 */
                {0x1022, 0x149c}, /* AMD Matisse USB 3.0 */
                {0x8086, 0x1502}, /* Intel 82579LM */
                {0x8086, 0x1503}, /* Intel 82579V */
        };

        for (size_t i = 0; i < ELEMENTSOF(ids); i++)
                if (d->vendor_id == ids[i].vendor && d->device_id == ids[i].device)
                        return true;
        return false;
}

static bool quirk_no_pm_reset(const struct qpci_dev *d) {
        return d->vendor_id == 0x1002 && (d->class_code >> 8) == 0x0300 && !d->root_bus;
}

unsigned qpci_reset_derive(const struct qpci_dev *d) {
        const struct qpci_config *c = &d->config;
        bool no_flr = quirk_no_flr(d);
        unsigned m = 0;

        /* SR-IOV requires every VF to support FLR; the kernel and libvirt both rely on it. */
        if ((c->pcie_flr || d->physfn) && !no_flr)
                m |= QPCI_RESET_FLR;
        if (c->af_tp && c->af_flr && !no_flr)
                m |= QPCI_RESET_AF_FLR;
        if (c->pm_pos && !c->pm_no_soft_reset && !quirk_no_pm_reset(d))
                m |= QPCI_RESET_PM;
        /*
         * pci_parent_bus_reset() (and the slot reset before it): never on a root bus (no bridge to
         * pulse), never for a bridge itself, and only for a function alone on its bus. The kernel
         * asks while it scans (pci_init_capabilities(), in 5.10 as in 6.1), before the functions
         * after it exist: the first function of a shared bus gets `bus` too, which a reset then
         * refuses (usable_methods()). A VF is probed when SR-IOV is enabled, never alone.
         */
        if (!d->root_bus && d->parent && !d->bridge && !d->physfn && !d->physfn_bdf &&
            d->bus_before == 0)
                m |= QPCI_RESET_BUS;
        return m;
}

static unsigned usable_methods(const struct qpci_dev *d);

void qpci_dev_resolve_reset(struct qpci_dev *d) {
        const struct qpci_config *c = &d->config;
        const char *release = qpci_ctx_osrelease(d->inv->ctx);

        d->reset_methods = 0;
        d->kernel_can_reset = false;
        d->reset_source = QPCI_RESET_FROM_KERNEL;
        if (d->kernel_reset_methods) {
                d->reset_methods = qpci_reset_parse_methods(d->kernel_reset_methods);
                d->kernel_can_reset = d->reset_methods != 0;
                return;
        }
        /* A kernel that has the attribute hides it when no method is usable: that is an answer. */
        if (qpci_kernel_has_reset_method(release))
                return;
        /* Older kernels create the `reset` attribute exactly when pci_probe_reset_function() found a
         * method, without saying which: config space tells which. */
        if (*release && !d->has_reset_file)
                return;
        /* With `bus` derived as the kernel probed it, the same device gets the same methods, and so
         * the same verdict, as under a kernel that lists them. */
        d->kernel_can_reset = d->has_reset_file;
        d->reset_methods = qpci_reset_derive(d);
        /* Without the whole capability list an empty answer may be a missing one, and a `reset` file
         * that a refused bus reset explains may hide a method or not. */
        if (!(c->header_ok && (c->caps_complete || c->caps_looped)) && usable_methods(d) == 0)
                d->reset_source = QPCI_RESET_UNKNOWN;
        else
                d->reset_source = QPCI_RESET_FROM_CONFIG;
}

QPCI_EXPORT unsigned qpci_dev_get_reset_methods(const struct qpci_dev *d) {
        qpci_dev_need_config(d);
        return d->reset_methods;
}

QPCI_EXPORT enum qpci_reset_source qpci_dev_get_reset_source(const struct qpci_dev *d) {
        qpci_dev_need_config(d);
        return d->reset_source;
}

/*
 * The methods a reset can really use. The kernel probes methods while it scans, before later
 * functions on the same bus exist, so the first function of a shared bus may list `bus`; at reset
 * time pci_parent_bus_reset() refuses a bus that holds anything else.
 */
static unsigned usable_methods(const struct qpci_dev *d) {
        if (d->bus_peers > 0 || d->root_bus)
                return d->reset_methods & ~QPCI_RESET_BUS;
        return d->reset_methods;
}

QPCI_EXPORT bool qpci_dev_has_strict_reset(const struct qpci_dev *d) {
        qpci_dev_need_config(d);
        /* Bridges stay with the host: whatever they can do, they are never handed to a VM. */
        if (d->bridge)
                return false;
        return usable_methods(d) != 0 || (d->reset_methods == 0 && d->kernel_can_reset);
}

static char *no_reset_reason(const struct qpci_dev *d) {
        const struct qpci_config *c = &d->config;
        const char *fix = "assign with -o no-strict-reset=True, and consider the device tainted after use";
        char bus[16], pm[64];
        char *s = NULL;
        int r;

        snprintf(bus, sizeof(bus), "%02x", d->addr.bus);
        if (c->pm_pos && c->pm_no_soft_reset)
                snprintf(pm, sizeof(pm), "no PM reset (it keeps its state in D3hot: NoSoftRst+)");
        else
                snprintf(pm, sizeof(pm), "no PM reset");

        if (d->reset_source == QPCI_RESET_UNKNOWN)
                r = asprintf(&s, "reset methods unknown: only %zu bytes of config space are readable "
                             "(run as root to read them); %s", c->len, fix);
        else if (d->bus_peers > 0)
                r = asprintf(&s, "no FLR, %s, and it shares bus %s with %zu other function%s%s: %s", pm, bus,
                             d->bus_peers, d->bus_peers == 1 ? "" : "s",
                             d->reset_methods & QPCI_RESET_BUS ? " (the bus reset the kernel lists would be refused)"
                                                                : "",
                             fix);
        else if (d->root_bus || !d->parent)
                r = asprintf(&s, "no FLR, %s, and bus %s is a root bus, which has no bus reset: %s", pm, bus, fix);
        else
                r = asprintf(&s, "no FLR, %s, and the kernel offers no reset of bus %s: %s", pm, bus, fix);
        return r < 0 ? NULL : s;
}

QPCI_EXPORT const char *qpci_dev_get_strict_reset_reason(struct qpci_dev *d) {
        char list[256] = "";
        size_t len = 0;
        int r = 0;

        if (d->reset_reason)
                return d->reset_reason;
        qpci_dev_need_config(d);
        if (d->bridge) {
                /* vfio-pci takes only type-0 headers; a CardBus bridge has a bus behind it as well. */
                d->reset_reason = qpci_strf("a %s: bridges stay with the host and are never assigned to a VM",
                                            qpci_dev_bridge_kind(d));
                return d->reset_reason;
        }
        if (d->reset_methods == 0 && d->kernel_can_reset) {
                if (d->reset_source == QPCI_RESET_UNKNOWN)
                        r = asprintf(&d->reset_reason, "the kernel can reset it (it has a reset attribute), but "
                                     "this kernel does not say how and only %zu bytes of config space are readable",
                                     d->config.len);
                else
                        /* Config space shows no method, yet the kernel found one: a quirk of its own
                         * (pci_dev_specific_reset()), which it would use. */
                        r = asprintf(&d->reset_reason, "the kernel can reset it (it has a reset attribute) with a "
                                     "method config space does not show, such as a device-specific one");
                if (r < 0)
                        d->reset_reason = NULL;
                return d->reset_reason;
        }
        if (usable_methods(d) == 0) {
                d->reset_reason = no_reset_reason(d);
                return d->reset_reason;
        }
        for (unsigned i = 0; i < QPCI_RESET_METHOD_COUNT; i++)
                if (usable_methods(d) & (1u << i))
                        len += snprintf(list + len, len < sizeof(list) ? sizeof(list) - len : 0, "%s%s",
                                        len ? ", then " : "", method_words[i]);
        if (usable_methods(d) == QPCI_RESET_BUS)
                r = asprintf(&d->reset_reason, "resets with %s only; it is alone on bus %02x, so nothing else "
                             "is reset with it", list, d->addr.bus);
        else
                r = asprintf(&d->reset_reason, "resets with %s%s", list,
                             d->reset_source == QPCI_RESET_FROM_CONFIG ? " (derived from config space: this "
                             "kernel has no reset_method)" : "");
        if (r < 0)
                d->reset_reason = NULL;
        return d->reset_reason;
}
