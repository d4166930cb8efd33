/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Config space is data: one read into a buffer, then pure parsing that never trusts a pointer in it.
 * A truncated image (an unprivileged reader gets 64 bytes), garbage, or a capability list that loops
 * must each end in a partial answer, never a crash or a hang.
 */
#include <string.h>

#include "pci-regs.h"
#include "qpci-internal.h"

static uint8_t rd8(const uint8_t *b, size_t pos) { return b[pos]; }
static uint16_t rd16(const uint8_t *b, size_t pos) { return b[pos] | (uint16_t)b[pos + 1] << 8; }
static uint32_t rd32(const uint8_t *b, size_t pos) { return rd16(b, pos) | (uint32_t)rd16(b, pos + 2) << 16; }

static void parse_caps(const uint8_t *buf, size_t len, struct qpci_config *c) {
        /* 48 dword slots lie between the header and 0x100: more entries than that means a loop. */
        bool seen[PCI_CFG_SPACE_SIZE / 4] = {false};
        size_t limit = len < PCI_CFG_SPACE_SIZE ? len : PCI_CFG_SPACE_SIZE;
        uint8_t type = c->header_type & PCI_HEADER_TYPE_MASK;
        size_t ptr_pos = type == PCI_HEADER_TYPE_CARDBUS ? PCI_CB_CAPABILITY_LIST : PCI_CAPABILITY_LIST;
        uint8_t pos;

        /* As the kernel's __pci_bus_find_cap_start(): another header type has no list it trusts. */
        if (!c->header_known)
                return;
        if (!(rd16(buf, PCI_STATUS) & PCI_STATUS_CAP_LIST)) {
                c->caps_complete = true;
                return;
        }
        pos = rd8(buf, ptr_pos);
        for (;;) {
                pos &= ~3; /* the low two bits are reserved, as the kernel masks them */
                if (pos == 0) {
                        c->caps_complete = true;
                        return;
                }
                if (pos < PCI_STD_HEADER_SIZE)
                        return; /* points into the header: garbage, stop with what we have */
                if (seen[pos / 4]) {
                        c->caps_looped = true;
                        return;
                }
                seen[pos / 4] = true;
                if ((size_t)pos + 2 > limit)
                        return; /* beyond what could be read */

                uint8_t id = rd8(buf, pos);
                uint8_t next = rd8(buf, pos + 1);
                if (id == 0xff)
                        return; /* all ones: the device went away or the image is garbage */
                if (id == PCI_CAP_ID_PM && !c->pm_pos && (size_t)pos + PCI_PM_CTRL + 2 <= limit) {
                        c->pm_pos = pos;
                        c->pm_no_soft_reset = rd16(buf, pos + PCI_PM_CTRL) & PCI_PM_CTRL_NO_SOFT_RESET;
                } else if (id == PCI_CAP_ID_EXP && !c->pcie_pos && (size_t)pos + PCI_EXP_DEVCAP + 4 <= limit) {
                        c->pcie_pos = pos;
                        c->pcie_type = (rd16(buf, pos + PCI_EXP_FLAGS) & PCI_EXP_FLAGS_TYPE) >> 4;
                        c->pcie_flr = rd32(buf, pos + PCI_EXP_DEVCAP) & PCI_EXP_DEVCAP_FLR;
                } else if (id == PCI_CAP_ID_AF && !c->af_pos && (size_t)pos + PCI_AF_CAP + 1 <= limit) {
                        uint8_t cap = rd8(buf, pos + PCI_AF_CAP);
                        c->af_pos = pos;
                        c->af_tp = cap & PCI_AF_CAP_TP;
                        c->af_flr = cap & PCI_AF_CAP_FLR;
                } else if (id == PCI_CAP_ID_SSVID && type == PCI_HEADER_TYPE_BRIDGE && !c->subsys_ok &&
                           (size_t)pos + PCI_SSVID_DEVICE_ID + 2 <= limit) {
                        /* pci_setup_device() takes a bridge's subsystem ids from here. */
                        c->subsys_vendor_id = rd16(buf, pos + PCI_SSVID_VENDOR_ID);
                        c->subsys_device_id = rd16(buf, pos + PCI_SSVID_DEVICE_ID);
                        c->subsys_ok = true;
                }
                pos = next;
        }
}

void qpci_config_parse(const uint8_t *buf, size_t len, struct qpci_config *c) {
        memset(c, 0, sizeof(*c));
        c->len = len;
        c->pcie_type = QPCI_PCIE_NONE;
        if (len >= PCI_DEVICE_ID + 2) {
                c->vendor_id = rd16(buf, PCI_VENDOR_ID);
                c->device_id = rd16(buf, PCI_DEVICE_ID);
        }
        if (len < PCI_STD_HEADER_SIZE)
                return;
        c->header_ok = true;
        c->revision = rd8(buf, PCI_REVISION_ID);
        c->class_code = rd32(buf, PCI_REVISION_ID) >> 8;
        c->header_type = rd8(buf, PCI_HEADER_TYPE);
        /* The layouts pci_setup_device() knows; it refuses a function with any other type. */
        switch (c->header_type & PCI_HEADER_TYPE_MASK) {
        case PCI_HEADER_TYPE_NORMAL:
                c->header_known = true;
                c->subsys_vendor_id = rd16(buf, PCI_SUBSYSTEM_VENDOR_ID);
                c->subsys_device_id = rd16(buf, PCI_SUBSYSTEM_ID);
                c->subsys_ok = true;
                break;
        case PCI_HEADER_TYPE_BRIDGE:
                c->header_known = true;
                c->secondary_bus = rd8(buf, PCI_SECONDARY_BUS);
                c->subordinate_bus = rd8(buf, PCI_SUBORDINATE_BUS);
                break;
        case PCI_HEADER_TYPE_CARDBUS:
                c->header_known = true;
                c->secondary_bus = rd8(buf, PCI_SECONDARY_BUS);
                c->subordinate_bus = rd8(buf, PCI_SUBORDINATE_BUS);
                /* Past the 64 bytes an unprivileged reader gets: often not there. */
                if (len >= PCI_CB_SUBSYSTEM_ID + 2) {
                        c->subsys_vendor_id = rd16(buf, PCI_CB_SUBSYSTEM_VENDOR_ID);
                        c->subsys_device_id = rd16(buf, PCI_CB_SUBSYSTEM_ID);
                        c->subsys_ok = true;
                }
                break;
        default:
                break;
        }
        parse_caps(buf, len, c);
}

int qpci_config_is_bridge(const struct qpci_config *c) {
        if (!c->header_ok || !c->header_known)
                return -1;
        return (c->header_type & PCI_HEADER_TYPE_MASK) != PCI_HEADER_TYPE_NORMAL;
}
