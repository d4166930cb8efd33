/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The VM tools: qvm-create, qvm-ls, qvm-start, qvm-shutdown, qvm-remove, each over libvirt. */
#include <getopt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json-vm.h"
#include "macro.h"
#include "tool.h"

/* Which tool runs: "qvm-ls" whether it was run as qvm-ls or as "qpci ls" (tool_prog). */
static char tool[32];

/* A parsed command line: options are the tool's, names are what is left. */
struct vm_args {
        const char *uri;
        bool wait, force, all, json;
        unsigned timeout;
        struct qpci_vm_config cfg;
};

static bool parse_uint(const char *s, unsigned max, unsigned *ret) {
        char *end;
        unsigned long v;

        if (!s || !*s)
                return false;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || *end || v == 0 || v > max)
                return false;
        *ret = (unsigned)v;
        return true;
}

static void usage(const char *prog, FILE *f) {
        if (streq(tool, "qvm-create"))
                fprintf(f, "Usage: %s [-c URI] --kernel FILE [--initrd FILE] [--kernelopts OPTS] [--memory MB]\n"
                           "       [--vcpus N] [--type kvm|qemu|xen] NAME\n\n"
                           "Defines a VM (a libvirt domain) that boots FILE directly, so kernelopts apply.\n\n"
                           "      --kernel FILE      the kernel the VM boots\n"
                           "      --initrd FILE      its initial ramdisk\n"
                           "      --kernelopts OPTS  its command line (a VM with PCI devices defaults to\n"
                           "                         'iommu=soft swiotlb=2048')\n"
                           "      --memory MB        memory in MiB (default 400)\n"
                           "      --vcpus N          virtual CPUs (default 1)\n"
                           "      --type T           kvm, qemu (emulated) or xen (paravirtualized); default: xen\n"
                           "                         on a Xen connection, else kvm where libvirt offers it\n",
                        prog);
        else if (streq(tool, "qvm-ls"))
                fprintf(f, "Usage: %s [-c URI] [NAME...]\n\nThe VMs: state, memory and PCI devices.\n\n", prog);
        else if (streq(tool, "qvm-start"))
                fprintf(f, "Usage: %s [-c URI] NAME...\n\nChecks the rules for each VM's PCI devices, hides them from "
                           "the host and starts it.\n\n", prog);
        else if (streq(tool, "qvm-shutdown"))
                fprintf(f, "Usage: %s [-c URI] [--wait] [--timeout S] [-f] NAME...\n\nShuts VMs down; their PCI "
                           "devices stay hidden from the host.\n\n"
                           "      --wait         until each VM is halted (and, on Xen, its devices released)\n"
                           "      --timeout S    --wait and --force give up after S seconds (default 60)\n"
                           "  -f, --force        power the VM off instead of asking it to shut down\n",
                        prog);
        else
                fprintf(f, "Usage: %s [-c URI] [-f] NAME...\n\nRemoves halted VMs (their libvirt definitions).\n\n"
                           "  -f, --force        accepted for Qubes' syntax: qvm-remove never asks\n",
                        prog);
        fprintf(f, "  -c, --connect URI  libvirt URI (default: LIBVIRT_DEFAULT_URI, else qemu:///system, or\n"
                   "                     xen:///system on a Xen dom0)\n"
                   "      --json         the VMs (qvm-ls), or what was done, as JSON; a failure as a JSON object\n"
                   "  -h, --help         this text\n");
}

/* Returns the index of the first name, or -1 after printing why. */
static int parse(const char *prog, int argc, char **argv, struct vm_args *a) {
        static const struct option options[] = {
                {"connect", required_argument, NULL, 'c'}, {"kernel", required_argument, NULL, 'k'},
                {"initrd", required_argument, NULL, 'i'},  {"kernelopts", required_argument, NULL, 'o'},
                {"memory", required_argument, NULL, 'm'},  {"vcpus", required_argument, NULL, 'n'},
                {"type", required_argument, NULL, 't'},    {"wait", no_argument, NULL, 'w'},
                {"force", no_argument, NULL, 'f'},         {"timeout", required_argument, NULL, 'T'},
                {"help", no_argument, NULL, 'h'},          {"json", no_argument, NULL, 'J'},
                {},
        };
        bool create = streq(tool, "qvm-create");
        int c;

        /* ":": a missing value is told apart from an unknown option. */
        static const char shorts[] = ":c:fh";

        opterr = 0;
        while ((c = getopt_long(argc, argv, shorts, options, NULL)) >= 0) {
                bool ok = true;
                /* Each tool takes its own options only. */
                const char *only = strchr("kiomnt", c) && !create                         ? "qvm-create"
                                   : strchr("wT", c) && !streq(tool, "qvm-shutdown") ? "qvm-shutdown"
                                   : c == 'f' && !streq(tool, "qvm-shutdown") && !streq(tool, "qvm-remove")
                                           ? "qvm-shutdown and qvm-remove"
                                           : NULL;
                if (only) {
                        char name[64];
                        tool_error("%s is for %s only; see '%s --help'",
                                   tool_option_name(options, shorts, c, name, sizeof(name)), only, prog);
                        return -1;
                }
                switch (c) {
                case 'c': a->uri = optarg; break;
                case 'k': a->cfg.kernel = optarg; break;
                case 'i': a->cfg.initrd = optarg; break;
                case 'o': a->cfg.kernelopts = optarg; break;
                case 'm': ok = parse_uint(optarg, 1u << 30, &a->cfg.memory_mib); break;
                case 'n': ok = parse_uint(optarg, 4096, &a->cfg.vcpus); break;
                case 't':
                        a->cfg.virt_type = optarg;
                        ok = streq(optarg, "kvm") || streq(optarg, "qemu") || streq(optarg, "xen");
                        break;
                case 'w': a->wait = true; break;
                case 'f': a->force = true; break;
                case 'J': a->json = true; break;
                case 'T': ok = parse_uint(optarg, 86400, &a->timeout); break;
                case 'h': usage(prog, stdout); return -2;
                default:
                        tool_option_error(prog, argv, options, shorts, c);
                        return -1;
                }
                if (!ok) {
                        const char *name = "";
                        for (size_t i = 0; options[i].name; i++)
                                if (options[i].val == c)
                                        name = options[i].name;
                        tool_error("invalid value '%s' for --%s: %s", optarg, name,
                                   c == 't' ? "use kvm, qemu or xen" : "a whole number, at least 1, is expected");
                        return -1;
                }
        }
        if (create) {
                if (optind + 1 != argc) {
                        tool_error("%s takes one VM name; see '%s --help'", prog, prog);
                        return -1;
                }
                a->cfg.name = argv[optind];
        } else if (optind == argc && !streq(tool, "qvm-ls")) {
                tool_error("%s takes one or more VM names; see '%s --help'", prog, prog);
                return -1;
        }
        return optind;
}

static bool named(int argc, char **argv, const char *name) {
        for (int k = 0; k < argc; k++)
                if (streq(argv[k], name))
                        return true;
        return argc == 0;
}

/* The VMs' own devices are told present or not from a snapshot of the host's; without one, not. */
static struct qpci_inventory *inventory_or_null(struct qpci_ctx *ctx) {
        struct qpci_inventory *inv = NULL;
        return qpci_inventory_new_with(ctx, QPCI_INVENTORY_ON_DEMAND, &inv) < 0 ? NULL : inv;
}

/* {"action": ..., "vms": [...], "moved": [...]}: what a VM tool did, each VM as it is after. */
static int json_result(struct qpci_ctx *ctx, struct qpci_inventory *inv, const char *action, struct qpci_vm **vms,
                       size_t n, bool moved) {
        struct json j;

        json_init(&j, stdout);
        json_begin_object(&j, NULL);
        json_string(&j, "action", action);
        json_begin_array(&j, "vms");
        /* A removed VM, or one that cannot be read again after what was done, is its name alone:
         * the action itself succeeded. */
        for (size_t i = 0; i < n; i++)
                if (vms[i] && (streq(action, "remove") || json_vm(&j, NULL, vms[i], inv) < 0))
                        json_string(&j, NULL, qpci_vm_get_name(vms[i]));
        json_end_array(&j);
        if (moved)
                json_moved(&j, "moved", ctx, inv);
        json_end_object(&j);
        json_finish(&j);
        return 0;
}

static int ls_json(struct qpci_ctx *ctx, struct qpci_vm *const *vms, size_t n, int argc, char **argv) {
        _cleanup_(qpci_inventory_unrefp) struct qpci_inventory *inv = inventory_or_null(ctx);
        struct json j;
        int r;

        /* Every VM is read before anything is printed: a failure is the error object alone. */
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ struct qpci_assignment *a = NULL;
                size_t n_a;
                if (named(argc, argv, qpci_vm_get_name(vms[i])) && (r = qpci_vm_get_assignments(vms[i], &a, &n_a)) < 0)
                        return tool_failed(r);
        }
        json_init(&j, stdout);
        json_begin_array(&j, NULL);
        for (size_t i = 0; i < n; i++)
                if (named(argc, argv, qpci_vm_get_name(vms[i])) && (r = json_vm(&j, NULL, vms[i], inv)) < 0)
                        return tool_failed(r);
        json_end_array(&j);
        json_finish(&j);
        return 0;
}

static int ls(struct qpci_ctx *ctx, struct qpci_virt *v, bool as_json, int argc, char **argv) {
        struct qpci_vm *const *vms;
        size_t n, wname = 4;
        int r;

        if ((r = qpci_virt_get_vms(v, &vms, &n)) < 0)
                return tool_failed(r);
        for (int i = 0; i < argc; i++) {
                struct qpci_vm *vm;
                if (qpci_virt_find_vm(v, argv[i], &vm) < 0)
                        return EXIT_USAGE;
        }
        if (as_json)
                return ls_json(ctx, vms, n, argc, argv);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ struct qpci_assignment *a = NULL;
                size_t n_a;
                if (strlen(tool_esc(qpci_vm_get_name(vms[i]))) > wname)
                        wname = strlen(tool_esc(qpci_vm_get_name(vms[i])));
                /* Every VM is read before the table starts: a failure leaves no half table. */
                if ((r = qpci_vm_get_assignments(vms[i], &a, &n_a)) < 0)
                        return tool_failed(r);
        }
        printf("%-*s  %-9s  %6s  %s\n", (int)wname, "NAME", "STATE", "MEMORY", "DEVICES");
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ struct qpci_assignment *a = NULL;
                size_t n_a = 0;
                if (!named(argc, argv, qpci_vm_get_name(vms[i])))
                        continue;
                if ((r = qpci_vm_get_assignments(vms[i], &a, &n_a)) < 0)
                        return tool_failed(r); /* read above: only memory can run out */
                printf("%-*s  %-9s  %6lu  ", (int)wname, tool_esc(qpci_vm_get_name(vms[i])),
                       qpci_vm_state_name(qpci_vm_get_state(vms[i])), qpci_vm_get_memory_mib(vms[i]));
                for (size_t k = 0; k < n_a; k++) {
                        char ident[QPCI_IDENT_MAX];
                        printf("%sdom0:%s", k ? ", " : "", qpci_addr_format_ident(&a[k].addr, ident));
                }
                putchar('\n');
        }
        return 0;
}

/* qvm-start, qvm-shutdown, qvm-remove: each name is found first, so a typo fails before anything changes. */
static int act(struct qpci_ctx *ctx, struct qpci_virt *v, const struct vm_args *a, int n, char **names) {
        _cleanup_(qpci_inventory_unrefp) struct qpci_inventory *inv = NULL;
        _cleanup_free_ struct qpci_vm **vms = calloc(n, sizeof(*vms));
        int r;

        if (!vms)
                return tool_failed(-ENOMEM);
        for (int i = 0; i < n; i++)
                if (qpci_virt_find_vm(v, names[i], &vms[i]) < 0)
                        return EXIT_USAGE;
        if (streq(tool, "qvm-start") && ((r = qpci_host_recover(ctx)) < 0 ||
                                         (r = qpci_inventory_new_with(ctx, QPCI_INVENTORY_ON_DEMAND, &inv)) < 0))
                return tool_failed(r);
        for (int i = 0; i < n; i++) {
                if (streq(tool, "qvm-start"))
                        r = qpci_vm_start(vms[i], inv);
                else if (streq(tool, "qvm-shutdown"))
                        r = qpci_vm_shutdown(vms[i], a->wait, a->force, a->timeout);
                else
                        r = qpci_vm_remove(vms[i]);
                if (r < 0)
                        return tool_failed(r);
        }
        if (a->json) {
                if (!inv)
                        inv = inventory_or_null(ctx);
                return json_result(ctx, inv, tool + strlen("qvm-"), vms, n, streq(tool, "qvm-start"));
        }
        return 0;
}

int cmd_qvm_vm(const char *prog, int argc, char **argv) {
        _cleanup_(qpci_unrefp) struct qpci_ctx *ctx = NULL;
        _cleanup_(qpci_virt_unrefp) struct qpci_virt *v = NULL;
        struct vm_args a = {0};
        int first, r;

        snprintf(tool, sizeof(tool), "%s%s", strncmp(tool_prog, "qpci ", 5) == 0 ? "qvm-" : "",
                 strncmp(tool_prog, "qpci ", 5) == 0 ? tool_prog + 5 : tool_prog);
        first = parse(prog, argc, argv, &a);

        if (first < 0)
                return first == -2 ? 0 : EXIT_USAGE;
        if (tool_ctx_new(&ctx, false) < 0 || qpci_virt_open(ctx, a.uri, 0, &v) < 0)
                return EXIT_FAIL;
        if (streq(tool, "qvm-create")) {
                struct qpci_vm *vm = NULL;
                r = qpci_virt_create_vm(v, &a.cfg, &vm);
                if (r == 0 && a.json)
                        return json_result(ctx, NULL, "create", &vm, 1, false);
                return r == 0 ? 0 : r == -EINVAL ? EXIT_USAGE : tool_failed(r);
        }
        if (streq(tool, "qvm-ls"))
                return ls(ctx, v, a.json, argc - first, argv + first);
        return act(ctx, v, &a, argc - first, argv + first);
}
