/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What every front end shares: its name for messages, and the library context set up from the environment. */
#pragma once

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "macro.h"
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
/* The same with the failure's stable code ("not-found"): under --json it is the error object's. */
__attribute__((format(printf, 2, 3))) void tool_error_code(const char *code, const char *fmt, ...);

/* --json anywhere on the command line: a failure is one JSON object on stdout (tool_json_error())
 * instead of a line on stderr. */
extern bool tool_json;
/* Keeps the first failure of the command: the library's (ctx's error) or the tool's own. */
void tool_json_keep(const struct qpci_error *e);
/* Prints the kept failure as {"error", "reason", "fix", "code", "message"}; a command that failed
 * with nothing said gets one too. exit_code decides the code of a tool's own message: 2 is a
 * "bad-argument". */
void tool_json_error(int exit_code);

/* The library's objects under _cleanup_, as in the library. */
static inline void qpci_unrefp(struct qpci_ctx **p) { qpci_unref(*p); }
static inline void qpci_inventory_unrefp(struct qpci_inventory **p) { qpci_inventory_unref(*p); }
static inline void qpci_virt_unrefp(struct qpci_virt **p) { qpci_virt_unref(*p); }
static inline void qpci_usb_unrefp(struct qpci_usb **p) { qpci_usb_unref(*p); }

/* After getopt_long returned '?' or ':' (the option string starts with ':'): one line naming the
 * option as it was written, "unknown option '-Z'" or "option '--driver' needs a value". */
void tool_option_error(const char *prog, char **argv, const struct option *options, const char *shorts, int c);
/* The option whose getopt value is val, as --help spells it: "-p/--persistent", "--off" (shorts: the
 * getopt string of short options). */
const char *tool_option_name(const struct option *options, const char *shorts, int val, char *buf, size_t size);

/* After a library call failed with r: the library has said why (one failure, one line), except
 * when memory ran out, which it cannot always say. Returns EXIT_FAIL. */
int tool_failed(int r);

/* s as it may go to a terminal: control characters and bytes that are not UTF-8 escaped (\n, \t,
 * \r, \e by name, others as \xHH). s itself when nothing needs it, else a copy that lives until
 * exit. Every string from hardware, udev, sysfs or libvirt goes through it before a text printer. */
const char *tool_esc(const char *s);
/* Length of the UTF-8 character at s that may be printed as it is; 0 for a control character (C0,
 * DEL, C1) or a byte that is not UTF-8. */
size_t tool_char_len(const char *s);
void tool_fputs_esc(const char *s, FILE *f);

int cmd_qvm_pci(const char *prog, int argc, char **argv);
int cmd_qvm_prefs(const char *prog, int argc, char **argv);
/* qvm-create, qvm-ls, qvm-start, qvm-shutdown, qvm-remove: tool_prog says which. */
int cmd_qvm_vm(const char *prog, int argc, char **argv);
int cmd_qpci_hook(const char *prog, int argc, char **argv);
/* qpci monitor: argv[0] is "monitor". */
int cmd_qpci_monitor(int argc, char **argv);
/* qpci manager: the Cockpit page in a browser, without a Cockpit login (Cockpit's cockpit-desktop). */
int cmd_manager(int argc, char **argv);
