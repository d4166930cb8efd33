/* SPDX-License-Identifier: GPL-2.0-or-later */
/* PCI configuration-space registers qpci reads (values from the PCI and PCIe base specifications). */
#pragma once

#define PCI_VENDOR_ID           0x00
#define PCI_DEVICE_ID           0x02
#define PCI_STATUS              0x06
#define  PCI_STATUS_CAP_LIST    0x10
#define PCI_REVISION_ID         0x08
#define PCI_CLASS_PROG          0x09
#define PCI_HEADER_TYPE         0x0e
#define  PCI_HEADER_TYPE_MASK   0x7f
#define  PCI_HEADER_TYPE_NORMAL 0
#define  PCI_HEADER_TYPE_BRIDGE 1
#define  PCI_HEADER_TYPE_CARDBUS 2
#define  PCI_HEADER_MULTIFUNC   0x80
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID        0x2e
#define PCI_CAPABILITY_LIST     0x34
#define PCI_CB_CAPABILITY_LIST  0x14
#define PCI_SECONDARY_BUS       0x19   /* on a CardBus header: the CardBus bus number */
#define PCI_SUBORDINATE_BUS     0x1a
#define PCI_CB_SUBSYSTEM_VENDOR_ID 0x40
#define PCI_CB_SUBSYSTEM_ID     0x42
#define PCI_STD_HEADER_SIZE     0x40
#define PCI_CFG_SPACE_SIZE      256
#define PCI_CFG_SPACE_EXP_SIZE  4096

#define PCI_CAP_ID_PM           0x01
#define PCI_CAP_ID_SSVID        0x0d   /* a bridge's subsystem ids */
#define PCI_SSVID_VENDOR_ID     4
#define PCI_SSVID_DEVICE_ID     6
#define PCI_CAP_ID_EXP          0x10
#define PCI_CAP_ID_AF           0x13

#define PCI_PM_CTRL             4      /* PMCSR, from the PM capability */
#define  PCI_PM_CTRL_NO_SOFT_RESET 0x0008

#define PCI_EXP_FLAGS           2
#define  PCI_EXP_FLAGS_TYPE     0x00f0
#define PCI_EXP_DEVCAP          4
#define  PCI_EXP_DEVCAP_FLR     0x10000000

#define PCI_AF_CAP              3
#define  PCI_AF_CAP_TP          0x01
#define  PCI_AF_CAP_FLR         0x02
