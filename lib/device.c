/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One PCI function's facts, and the names and module looked up for it on first use. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pci-regs.h"
#include "qpci-internal.h"

QPCI_EXPORT const struct qpci_addr *qpci_dev_get_addr(const struct qpci_dev *d) { return &d->addr; }
QPCI_EXPORT const char *qpci_dev_get_bdf(const struct qpci_dev *d) { return d->bdf; }
QPCI_EXPORT const char *qpci_dev_get_ident(const struct qpci_dev *d) { return d->ident; }
QPCI_EXPORT const char *qpci_dev_get_path(const struct qpci_dev *d) { return d->path; }
QPCI_EXPORT const char *qpci_dev_get_devid(const struct qpci_dev *d) { return d->devid; }
QPCI_EXPORT uint16_t qpci_dev_get_vendor_id(const struct qpci_dev *d) { return d->vendor_id; }
QPCI_EXPORT uint16_t qpci_dev_get_device_id(const struct qpci_dev *d) { return d->device_id; }
QPCI_EXPORT uint16_t qpci_dev_get_subsystem_vendor_id(const struct qpci_dev *d) { return d->subsys_vendor_id; }
QPCI_EXPORT uint16_t qpci_dev_get_subsystem_device_id(const struct qpci_dev *d) { return d->subsys_device_id; }
QPCI_EXPORT uint32_t qpci_dev_get_class(const struct qpci_dev *d) { return d->class_code; }
/* What config space decides is read on first use in an on-demand inventory: these go through
 * qpci_dev_need_config() (a cache behind const, as names are). */
QPCI_EXPORT uint8_t qpci_dev_get_revision(const struct qpci_dev *d) {
        qpci_dev_need_config(d);
        return d->revision;
}
QPCI_EXPORT uint8_t qpci_dev_get_header_type(const struct qpci_dev *d) {
        qpci_dev_need_config(d);
        return d->header_type;
}
QPCI_EXPORT bool qpci_dev_is_bridge(const struct qpci_dev *d) {
        qpci_dev_need_config(d);
        return d->bridge;
}

/* For refusals: the kernel tells a CardBus bridge (header type 2, a card bus behind it) from a
 * PCI-to-PCI one (type 1), and so does what qpci says. */
const char *qpci_dev_bridge_kind(const struct qpci_dev *d) {
        qpci_dev_need_config(d);
        return (d->header_type & PCI_HEADER_TYPE_MASK) == PCI_HEADER_TYPE_CARDBUS ? "CardBus bridge" : "PCI bridge";
}
QPCI_EXPORT const char *qpci_dev_get_driver(const struct qpci_dev *d) { return d->driver; }
QPCI_EXPORT int qpci_dev_get_iommu_group(const struct qpci_dev *d) { return d->iommu_group; }
QPCI_EXPORT bool qpci_dev_is_multifunction(const struct qpci_dev *d) {
        qpci_dev_need_config(d);
        return d->multifunction;
}
QPCI_EXPORT struct qpci_dev *qpci_dev_get_parent(const struct qpci_dev *d) { return d->parent; }
QPCI_EXPORT bool qpci_dev_on_root_bus(const struct qpci_dev *d) { return d->root_bus; }
QPCI_EXPORT size_t qpci_dev_get_bus_peer_count(const struct qpci_dev *d) { return d->bus_peers; }
QPCI_EXPORT int qpci_dev_get_pcie_type(const struct qpci_dev *d) {
        qpci_dev_need_config(d);
        return d->pcie_type;
}
QPCI_EXPORT bool qpci_dev_is_pcie(const struct qpci_dev *d) { return qpci_dev_get_pcie_type(d) != QPCI_PCIE_NONE; }
QPCI_EXPORT struct qpci_dev *qpci_dev_get_physfn(const struct qpci_dev *d) { return d->physfn; }
QPCI_EXPORT bool qpci_dev_is_sriov_pf(const struct qpci_dev *d) { return d->sriov_pf; }
QPCI_EXPORT unsigned qpci_dev_get_total_vfs(const struct qpci_dev *d) { return d->total_vfs; }
QPCI_EXPORT unsigned qpci_dev_get_num_vfs(const struct qpci_dev *d) { return d->num_vfs; }
QPCI_EXPORT const char *qpci_dev_get_warnings(const struct qpci_dev *d) { return d->warnings; }
static void mark_hidden(const char *bdf, uint16_t vendor, uint16_t device, const char *host_driver, void *data) {
        struct qpci_inventory *inv = data;
        struct qpci_addr a;
        struct qpci_dev *d;

        if (qpci_addr_parse_sysfs(bdf, &a) < 0 || !(d = qpci_inventory_find(inv, &a)))
                return;
        /* Only for the same card: the address may hold another one since. */
        if (d->vendor_id != vendor || d->device_id != device)
                return;
        char *from = strdup(host_driver);
        if (from) {
                free(d->hidden_from);
                d->hidden_from = from;
        }
}

QPCI_EXPORT const char *qpci_dev_get_hidden_from(const struct qpci_dev *d) {
        /* Read on first use: a hide or unhide never needs it, and opening the database costs. Without
         * it devices only lack "hidden by qpci": not fatal (the state says why, once). */
        if (!d->inv->hidden_loaded) {
                d->inv->hidden_loaded = true;
                qpci_state_foreach_hidden(d->inv->ctx, mark_hidden, d->inv);
        }
        return d->hidden_from;
}

/* A whole pciback list ("0000:00:1a.0\n..."), or NULL. */
static char *read_list(int fd, const char *name) {
        char *buf = malloc(65536);
        if (buf && qpci_read_attr(fd, name, buf, 65536) < 0) {
                free(buf);
                buf = NULL;
        }
        return buf;
}

static bool listed(const char *list, const char *bdf) {
        size_t len = strlen(bdf);
        for (const char *p = list; p && (p = strstr(p, bdf)); p += len)
                if ((p == list || p[-1] == '\n') && (p[len] == '\n' || p[len] == '\0'))
                        return true;
        return false;
}

QPCI_EXPORT unsigned qpci_dev_get_pciback(const struct qpci_dev *d) {
        struct qpci_inventory *inv = d->inv;

        if (!inv->pciback_loaded) {
                _cleanup_close_ int fd = qpci_open_root(inv->ctx, "/sys/bus/pci/drivers/pciback", O_PATH | O_DIRECTORY);
                inv->pciback_loaded = true;
                if (fd >= 0) {
                        inv->pciback_slots = read_list(fd, "slots");
                        inv->pciback_permissive = read_list(fd, "permissive");
                }
        }
        return (listed(inv->pciback_slots, d->bdf) ? QPCI_PCIBACK_SLOT : 0) |
               (listed(inv->pciback_permissive, d->bdf) ? QPCI_PCIBACK_PERMISSIVE : 0);
}

QPCI_EXPORT enum qpci_dev_state qpci_dev_get_state(const struct qpci_dev *d) {
        if (!d->driver)
                return QPCI_STATE_FREE;
        return qpci_driver_is_stub(d->driver) ? QPCI_STATE_HIDDEN : QPCI_STATE_HOST;
}

QPCI_EXPORT const char *qpci_pcie_type_name(int type) {
        static const char *const names[] = {
                [QPCI_PCIE_ENDPOINT] = "endpoint",
                [QPCI_PCIE_LEGACY_ENDPOINT] = "legacy endpoint",
                [QPCI_PCIE_ROOT_PORT] = "root port",
                [QPCI_PCIE_UPSTREAM] = "switch upstream port",
                [QPCI_PCIE_DOWNSTREAM] = "switch downstream port",
                [QPCI_PCIE_PCI_BRIDGE] = "PCIe to PCI bridge",
                [QPCI_PCIE_PCIE_BRIDGE] = "PCI to PCIe bridge",
                [QPCI_PCIE_RC_ENDPOINT] = "root complex integrated endpoint",
                [QPCI_PCIE_RC_EVENT] = "root complex event collector",
        };
        if (type < 0)
                return "conventional PCI";
        if ((size_t)type >= ELEMENTSOF(names) || !names[type])
                return "unknown PCIe type";
        return names[type];
}

/* Relations are contiguous runs (a slot in the address-sorted array, a group in the group index),
 * so walking one costs its own size, not the host's: `list --json` stays linear. Walks, not copies
 * into the caller's array: nothing a caller sizes can leave a peer out. */
QPCI_EXPORT size_t qpci_dev_get_group_peer_count(const struct qpci_dev *d) {
        return d->iommu_group < 0 ? 0 : d->group_count - 1;
}

QPCI_EXPORT struct qpci_dev *qpci_dev_next_group_peer(const struct qpci_dev *d, const struct qpci_dev *prev) {
        size_t end = d->group_first + d->group_count, i = d->group_first;

        if (d->iommu_group < 0)
                return NULL;
        if (prev) {
                if (prev->inv != d->inv || prev->iommu_group != d->iommu_group)
                        return NULL;
                i = prev->group_pos + 1;
        }
        for (; i < end; i++)
                if (d->inv->by_group[i] != d)
                        return d->inv->by_group[i];
        return NULL;
}

QPCI_EXPORT struct qpci_dev *qpci_dev_next_sibling(const struct qpci_dev *d, const struct qpci_dev *prev) {
        size_t end = d->slot_first + d->slot_count, i = d->slot_first;

        if (!qpci_dev_is_multifunction(d))
                return NULL;
        if (prev) {
                if (prev->inv != d->inv || prev < d->inv->devs + d->slot_first || prev >= d->inv->devs + end)
                        return NULL;
                i = (size_t)(prev - d->inv->devs) + 1;
        }
        for (; i < end; i++) {
                struct qpci_dev *o = &d->inv->devs[i];
                if (o != d && qpci_dev_is_multifunction(o))
                        return o;
        }
        return NULL;
}

QPCI_EXPORT size_t qpci_dev_get_sibling_count(const struct qpci_dev *d) {
        size_t n = 0;

        QPCI_DEV_FOREACH_SIBLING(o, d)
                n++;
        return n;
}

static void fill_names(struct qpci_dev *d) {
        struct qpci_ctx *ctx = d->inv->ctx;

        if (d->names_done)
                return;
        d->names_done = true;
        d->vendor_name = qpci_names_vendor(ctx, d->vendor_id);
        d->product_name = qpci_names_device(ctx, d->vendor_id, d->device_id);
        d->class_name = qpci_names_class(ctx, d->class_code);
}

QPCI_EXPORT const char *qpci_dev_get_vendor_name(struct qpci_dev *d) {
        fill_names(d);
        return d->vendor_name;
}

QPCI_EXPORT const char *qpci_dev_get_product_name(struct qpci_dev *d) {
        fill_names(d);
        return d->product_name;
}

QPCI_EXPORT const char *qpci_dev_get_class_name(struct qpci_dev *d) {
        fill_names(d);
        return d->class_name;
}

QPCI_EXPORT const char *qpci_dev_get_description(struct qpci_dev *d) {
        if (!d->description)
                d->description = qpci_names_description(d->inv->ctx, d->class_code, d->vendor_id, d->device_id);
        return d->description;
}

QPCI_EXPORT const char *qpci_dev_get_modalias(struct qpci_dev *d) {
        /* The kernel's format (drivers/pci/pci-sysfs.c), built rather than read: the same bytes. */
        if (!d->modalias[0])
                snprintf(d->modalias, sizeof(d->modalias), "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X",
                         d->vendor_id, d->device_id, d->subsys_vendor_id, d->subsys_device_id,
                         (d->class_code >> 16) & 0xff, (d->class_code >> 8) & 0xff, d->class_code & 0xff);
        return d->modalias;
}

QPCI_EXPORT int qpci_dev_get_module(struct qpci_dev *d, const char **ret) {
        if (!d->module_done) {
                int r = qpci_modules_lookup(d->inv->ctx, qpci_dev_get_modalias(d), &d->module);
                if (r < 0)
                        return r;
                d->module_done = true;
        }
        *ret = d->module;
        return 0;
}
