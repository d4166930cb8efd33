/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What every front end shares: its name for messages, and the library context set up from the environment. */
#pragma once

#include <stdbool.h>

#include "qpci.h"

/* Exit codes: 1 for "it did not work", 2 for "you asked wrongly" (bad id, unknown option), as Qubes does. */
enum { EXIT_FAIL = 1, EXIT_USAGE = 2 };

struct tool_cmd {
        const char *name;
        int (*run)(const char *prog, int argc, char **argv);
        const char *help;
};

/* The name messages start with ("qvm-pci"). */
extern const char *tool_prog;

/* From the environment: QPCI_ROOT roots every host path, QPCI_PCI_IDS names devices from that
 * file, QPCI_HWDB=0 keeps udev's hwdb out. verbose: info messages too. */
int tool_ctx_new(struct qpci_ctx **ret, bool verbose);
__attribute__((format(printf, 1, 2))) void tool_error(const char *fmt, ...);

int cmd_qvm_pci(const char *prog, int argc, char **argv);
int cmd_qvm_prefs(const char *prog, int argc, char **argv);
/* qvm-create, qvm-ls, qvm-start, qvm-shutdown, qvm-remove: tool_prog says which. */
int cmd_qvm_vm(const char *prog, int argc, char **argv);
int cmd_qpci_hook(const char *prog, int argc, char **argv);
