/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One binary, many names: run as qvm-pci (a link) it behaves as Qubes' tool of that name; run as
 * qpci it takes the group as its first argument ("qpci pci list").
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

const char *tool_prog = "qpci";

static const struct tool_cmd commands[] = {
        {"qvm-pci", cmd_qvm_pci, "PCI devices: list, give to VMs, hide from the host; USB controllers"},
        {"qvm-prefs", cmd_qvm_prefs, "a VM's preferences: kernelopts, memory, pci_strictreset..."},
        {"qvm-create", cmd_qvm_vm, "define a VM that boots a kernel directly"},
        {"qvm-ls", cmd_qvm_vm, "list the VMs, with their state, memory and PCI devices"},
        {"qvm-start", cmd_qvm_vm, "start VMs, after checking the rules for their PCI devices"},
        {"qvm-shutdown", cmd_qvm_vm, "shut VMs down (their devices stay hidden from the host)"},
        {"qvm-remove", cmd_qvm_vm, "remove halted VMs"},
        {"qpci-hook", cmd_qpci_hook, "libvirt's hooks: VMs started from virsh pass qpci's rules too"},
};

/* "qpci pci ..." is "qvm-pci ...". */
static const struct {
        const char *group;
        const char *tool;
} groups[] = {
        {"pci", "qvm-pci"},     {"prefs", "qvm-prefs"}, {"create", "qvm-create"}, {"ls", "qvm-ls"},
        {"start", "qvm-start"}, {"shutdown", "qvm-shutdown"}, {"remove", "qvm-remove"},
        {"hook", "qpci-hook"},
};

/* One line, whatever device strings or arguments the message carries. */
static void print_message(const char *prefix, const char *fmt, va_list args) {
        _cleanup_free_ char *text = NULL;

        fprintf(stderr, "%s: %s", tool_prog, prefix);
        if (vasprintf(&text, fmt, args) < 0)
                fputs("(out of memory for the message)", stderr);
        else
                tool_fputs_esc(text, stderr);
        fputc('\n', stderr);
}

static void log_stderr(void *data, int priority, const char *fmt, va_list args) {
        if (tool_json && priority <= QPCI_LOG_ERR) {
                /* The library recorded it before it logged it: the parts and the code are there. */
                tool_json_keep(qpci_get_error(data));
                return;
        }
        print_message(priority <= QPCI_LOG_ERR ? "" : priority <= QPCI_LOG_WARNING ? "warning: " : "", fmt, args);
}

static void error_va(const char *code, const char *fmt, va_list ap) {
        if (tool_json) {
                _cleanup_free_ char *text = NULL;
                if (vasprintf(&text, fmt, ap) < 0)
                        text = NULL;
                tool_json_keep(&(struct qpci_error){.code = code, .message = text, .error = text});
                return;
        }
        print_message("", fmt, ap);
}

void tool_error(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        error_va(NULL, fmt, ap);
        va_end(ap);
}

void tool_error_code(const char *code, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        error_va(code, fmt, ap);
        va_end(ap);
}

int tool_ctx_new(struct qpci_ctx **ret, bool verbose) {
        _cleanup_(qpci_unrefp) struct qpci_ctx *ctx = NULL;
        const char *root = getenv("QPCI_ROOT"), *ids = getenv("QPCI_PCI_IDS"), *hwdb = getenv("QPCI_HWDB");
        int r = qpci_new(root, &ctx);

        if (r < 0) {
                tool_error("cannot use %s as the host root: %s (QPCI_ROOT must name a directory)", root ? root : "/",
                           strerror(-r));
                return r;
        }
        qpci_set_log_fn(ctx, log_stderr, ctx);
        qpci_set_log_priority(ctx, verbose ? QPCI_LOG_INFO : QPCI_LOG_WARNING);
        /* libpci reads the list only at the first name, and a list it cannot read only gives
         * "Unknown" names: a wrong path is said here, where it was given. */
        if (ids && *ids && access(ids, R_OK) < 0) {
                r = -errno;
                tool_error("QPCI_PCI_IDS names %s, which cannot be read: %s", ids, strerror(-r));
                return r;
        }
        if (ids && *ids && (r = qpci_set_pci_ids(ctx, ids)) < 0) {
                tool_error("cannot use QPCI_PCI_IDS: %s", strerror(-r));
                return r;
        }
        /* QPCI_LOCK_TIMEOUT=S: how long a command waits for another one that moves devices. */
        const char *timeout = getenv("QPCI_LOCK_TIMEOUT");
        if (timeout && *timeout) {
                char *end;
                errno = 0;
                unsigned long secs = strtoul(timeout, &end, 10);
                if (errno || *end || timeout[0] == '-' || secs > 86400) {
                        tool_error("QPCI_LOCK_TIMEOUT must be a number of seconds from 0 to 86400, not '%s'",
                                   tool_esc(timeout));
                        return -EINVAL;
                }
                qpci_set_lock_timeout(ctx, (unsigned)secs);
        }
        /* QPCI_HWDB=0: names only from pci.ids and the devices' own strings (stable test output). */
        if (hwdb && strcmp(hwdb, "0") == 0)
                qpci_set_hwdb(ctx, false); /* cannot fail: nothing was looked up yet */
        *ret = TAKE_PTR(ctx);
        return 0;
}

static void recover_usage(FILE *f) {
        fprintf(f, "Usage: qpci recover [-v] [--forget ID]...\n\n"
                   "Ends a move of devices that an interrupted qpci command left half-done: puts each device\n"
                   "back on the driver it had before, and says where each one is left. A device that is\n"
                   "gone from the host is left out; --forget ID leaves that device as it is now (use it\n"
                   "when its driver cannot take it back).\n\n"
                   "  -v, --verbose    say what is done, step by step\n"
                   "      --forget ID  leave this device as it is now and end its part of the move\n"
                   "  -h, --help       this text\n");
}

static void print_recovered(const struct qpci_recovered *d) {
        const char *was = d->was[0] ? tool_esc(d->was) : "no driver", *now = d->now[0] ? tool_esc(d->now) : "no driver";

        switch (d->state) {
        case QPCI_RECOVERED_BACK:
                printf("%s: back on %s, as before the interrupted command\n", d->bdf, was);
                break;
        case QPCI_RECOVERED_GONE:
                printf("%s: gone from this host, so nothing to put back (if it comes back, the kernel probes it "
                       "anew)\n", d->bdf);
                break;
        case QPCI_RECOVERED_LEFT:
                printf("%s: left as it is, on %s (it was on %s before the interrupted command)\n", d->bdf, now, was);
                break;
        case QPCI_RECOVERED_STUCK:
                printf("%s: still on %s: qpci could not put it back on %s (dmesg may say why); fix that and run "
                       "'qpci recover' again, or leave it so with 'qpci recover --forget %s'\n", d->bdf, now, was,
                       d->bdf);
                break;
        }
}

/* qpci recover: the interrupted move ended by hand. */
static int cmd_recover(int argc, char **argv) {
        static const struct option options[] = {
                {"forget", required_argument, NULL, 'f'},
                {"verbose", no_argument, NULL, 'v'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        static const char shorts[] = ":vh";
        _cleanup_(qpci_unrefp) struct qpci_ctx *ctx = NULL;
        _cleanup_free_ const char **forget = calloc(argc, sizeof(*forget));
        _cleanup_free_ struct qpci_recovered *devs = NULL;
        size_t n_forget = 0, n = 0;
        bool verbose = false;
        int c, r;

        if (!forget)
                return EXIT_FAIL;
        opterr = 0;
        while ((c = getopt_long(argc, argv, shorts, options, NULL)) >= 0) {
                switch (c) {
                case 'f':
                        forget[n_forget++] = optarg;
                        break;
                case 'v':
                        verbose = true;
                        break;
                case 'h':
                        recover_usage(stdout);
                        return 0;
                default:
                        tool_option_error(tool_prog, argv, options, shorts, c);
                        return EXIT_USAGE;
                }
        }
        if (optind < argc) {
                tool_error("recover takes no arguments ('%s'); name a device to leave as it is with --forget ID",
                           tool_esc(argv[optind]));
                return EXIT_USAGE;
        }
        if (tool_ctx_new(&ctx, verbose) < 0)
                return EXIT_FAIL;
        r = qpci_host_recover_by_hand(ctx, forget, n_forget, &devs, &n);
        if (r == -ENOENT || r == -EINVAL)
                return EXIT_USAGE;
        for (size_t i = 0; i < n; i++)
                print_recovered(&devs[i]);
        if (r == -EBUSY && n > 0) {
                tool_error("the interrupted move is not ended: a device above is still stuck");
                return EXIT_FAIL;
        }
        if (r < 0)
                return tool_failed(r);
        if (n == 0)
                printf("Nothing to recover: no qpci command was interrupted.\n");
        else
                printf("The interrupted move is ended: no device is left half-moved.\n");
        return 0;
}

static void usage(FILE *f) {
        fprintf(f, "Usage: qpci GROUP [ARGS...]   or run through a link named after a tool\n"
                   "       qpci --help | --version\n\n");
        for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
                for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
                        if (strcmp(commands[k].name, groups[i].tool) == 0)
                                fprintf(f, "  qpci %-8s (%s): %s\n", groups[i].group, commands[k].name, commands[k].help);
        fprintf(f, "  qpci recover  : end a move of devices that an interrupted qpci command left half-done\n"
                   "  qpci manager  : the Cockpit page \"PCI devices\" in a browser, without a Cockpit login\n"
                   "  qpci monitor  : one line per change of devices and VMs, as it happens (--json)\n\n"
                   "  -h, --help     this text (and 'qpci GROUP --help': that group's)\n"
                   "      --version  qpci's version\n");
}

/* Whether --json is one of the arguments (before a "--"): known before any option is parsed, so
 * that a bad option is a JSON error too. */
static bool wants_json(int argc, char **argv) {
        for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
                if (strcmp(argv[i], "--json") == 0)
                        return true;
        return false;
}

static int run(int argc, char **argv) {
        const char *name = strrchr(argv[0], '/');
        static char prog[64];

        name = name ? name + 1 : argv[0];
        for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
                if (strcmp(name, commands[k].name) == 0) {
                        tool_prog = commands[k].name;
                        return commands[k].run(tool_prog, argc, argv);
                }
        if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
                usage(argc < 2 ? stderr : stdout);
                return argc < 2 ? EXIT_USAGE : 0;
        }
        if (strcmp(argv[1], "--version") == 0) {
                printf("qpci %s\n", QPCI_VERSION);
                return 0;
        }
        if (strcmp(argv[1], "recover") == 0) {
                tool_prog = "qpci recover";
                return cmd_recover(argc - 1, argv + 1);
        }
        if (strcmp(argv[1], "monitor") == 0) {
                tool_prog = "qpci monitor";
                return cmd_qpci_monitor(argc - 1, argv + 1);
        }
        if (strcmp(argv[1], "manager") == 0) {
                tool_prog = "qpci manager";
                return cmd_manager(argc - 1, argv + 1);
        }
        for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
                if (strcmp(argv[1], groups[i].group) != 0)
                        continue;
                for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
                        if (strcmp(commands[k].name, groups[i].tool) == 0) {
                                snprintf(prog, sizeof(prog), "qpci %s", groups[i].group);
                                tool_prog = prog;
                                return commands[k].run(prog, argc - 1, argv + 1);
                        }
        }
        tool_error("unknown group '%s'; run 'qpci --help' for the list", argv[1]);
        return EXIT_USAGE;
}

int main(int argc, char **argv) {
        int r;

        tool_json = wants_json(argc, argv);
        r = run(argc, argv);
        if (tool_json && r != 0)
                tool_json_error(r);
        return r;
}
