/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Config space comes from hardware and sysfs: any bytes, any length, must parse without harm. */
#include <stddef.h>
#include <stdint.h>

#include "qpci-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct qpci_config c;

        qpci_config_parse(data, size, &c);
        /* What the parser reports must lie inside what it was given. */
        if (c.pm_pos && (size_t)c.pm_pos + 6 > size)
                __builtin_trap();
        if (c.pcie_pos && (size_t)c.pcie_pos + 8 > size)
                __builtin_trap();
        if (c.header_ok != (size >= 64))
                __builtin_trap();
        /* A header type the kernel refuses decides nothing: no capabilities, no bridge verdict. */
        if (c.header_ok && !c.header_known && (c.pm_pos || c.pcie_pos || c.af_pos || qpci_config_is_bridge(&c) != -1))
                __builtin_trap();
        if (c.subsys_ok && !c.header_ok)
                __builtin_trap();
        return 0;
}
