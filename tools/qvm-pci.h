/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

#include "macro.h"

/* qvm-pci usb [QUERY...]: the words of a pasted lsusb line arrive as several arguments. */
int qvm_pci_usb(const char *prog, int argc, char **argv, bool as_json, bool quiet);
