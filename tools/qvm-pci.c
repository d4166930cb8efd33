/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qvm-pci: Qubes' syntax over libqpci. One table says, for each command, its names, its arguments,
 * the options it takes and what it needs; the command line is checked against it before anything
 * is read or moved, and the commands themselves live one group to a file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qvm-pci.h"
#include "tool.h"

/* Every command has a --json form, if only for its failure. */
#define OPT_COMMON (PCI_OPT_VERBOSE | PCI_OPT_QUIET | PCI_OPT_JSON)

static const struct pci_cmd commands[] = {
        {"list", {"ls", "l"}, "[list] [-v] [-s] [--with-sbdf] [--json] [VM...|--all] [--exclude VM]",
         "the host's PCI devices (those of the VMs; -s: the VMs' assignments, R4.3)",
         0, -1, NULL, OPT_COMMON | PCI_OPT_JSON | PCI_OPT_CONNECT | PCI_OPT_ASSIGNMENTS | PCI_OPT_SBDF | PCI_OPT_ALL |
                 PCI_OPT_EXCLUDE,
         PCI_NEED_RECOVER_READING | PCI_NEED_VIRT_OPTIONAL | PCI_NEED_VIRT_WITH_ARGS | PCI_NEED_INVENTORY |
                 PCI_NEED_USED_BY,
         pci_cmd_list, NULL},
        {"attach", {"at", "a"}, "attach [-p] [-o OPT=True]... VM ID", "give a device to a VM (-p: at every start)",
         2, 2, "attach takes a VM and a device id, like: attach sys-usb dom0:00_1a.0",
         OPT_COMMON | PCI_OPT_PERSISTENT | PCI_OPT_OPTION | PCI_OPT_RO | PCI_OPT_CONNECT,
         PCI_NEED_RECOVER | PCI_NEED_VIRT | PCI_NEED_INVENTORY | PCI_NEED_ON_DEMAND, pci_cmd_attach, pci_check_attach},
        /* R4.3: the VM's assignment, what attach -p makes; qvm-start gives it the device. */
        {"assign", {"s"}, "assign -r [--port|--device] [-o OPT=True]... VM ID",
         "give a device to a VM at its every start (R4.3)",
         2, 2, "assign takes a VM and a device id, like: assign --required sys-usb dom0:00_1a.0",
         OPT_COMMON | PCI_OPT_REQUIRED | PCI_OPT_ASK | PCI_OPT_PORT | PCI_OPT_DEVICE | PCI_OPT_OPTION | PCI_OPT_RO |
                 PCI_OPT_CONNECT,
         PCI_NEED_RECOVER | PCI_NEED_VIRT | PCI_NEED_INVENTORY | PCI_NEED_ON_DEMAND, pci_cmd_assign, pci_check_assign},
        {"unassign", {"u"}, "unassign [--port|--device] VM [ID]",
         "end a VM's assignment (without ID: all), the device here or not",
         1, 2, "unassign takes a VM and, optionally, a device id",
         OPT_COMMON | PCI_OPT_PORT | PCI_OPT_DEVICE | PCI_OPT_CONNECT,
         PCI_NEED_RECOVER | PCI_NEED_VIRT | PCI_NEED_INVENTORY | PCI_NEED_ON_DEMAND, pci_cmd_unassign,
         pci_check_unassign},
        /* What a screen shows before the user applies anything: nothing is moved or recorded. */
        {"check", {NULL}, "check [-o OPT=True]... VM [ID...]", "the rules' verdict on VM with these devices too",
         1, -1, "check takes a VM and, optionally, device ids, like: check sys-usb dom0:00_1a.0",
         OPT_COMMON | PCI_OPT_OPTION | PCI_OPT_CONNECT,
         PCI_NEED_RECOVER_READING | PCI_NEED_VIRT | PCI_NEED_INVENTORY | PCI_NEED_ON_DEMAND, pci_cmd_check, NULL},
        {"detach", {"dt", "d"}, "detach VM [ID]", "take it (without ID: all of them) from a running VM",
         1, 2, "detach takes a VM and, optionally, a device id", OPT_COMMON | PCI_OPT_CONNECT,
         PCI_NEED_RECOVER | PCI_NEED_VIRT | PCI_NEED_INVENTORY | PCI_NEED_ON_DEMAND, pci_cmd_detach, NULL},
        {"info", {"i"}, "info [ID] [--json]", "all qpci knows of one device (without ID: of each)",
         0, 1, "info takes one device id, like dom0:00_1a.0", OPT_COMMON | PCI_OPT_JSON | PCI_OPT_CONNECT,
         PCI_NEED_RECOVER_READING | PCI_NEED_VIRT_OPTIONAL | PCI_NEED_INVENTORY | PCI_NEED_USED_BY, pci_cmd_info, NULL},
        {"usb", {NULL}, "usb [QUERY] [--json]", "the PCI controller behind USB devices",
         0, -1, NULL, OPT_COMMON | PCI_OPT_JSON, 0, pci_cmd_usb, NULL},
        /* hide and unhide recover by themselves, under the lock they take anyway. */
        {"hide", {NULL}, "hide [--driver D] [--with-group] [--force] [-p] ID...", "take devices from the host",
         1, -1, "hide takes one or more device ids, like dom0:00_1a.0",
         OPT_COMMON | PCI_OPT_DRIVER | PCI_OPT_WITH_GROUP | PCI_OPT_FORCE | PCI_OPT_PERSISTENT,
         PCI_NEED_INVENTORY | PCI_NEED_ON_DEMAND, pci_cmd_hide, NULL},
        {"unhide", {NULL}, "unhide ID...", "give hidden devices back to host drivers",
         1, -1, "unhide takes one or more device ids, like dom0:00_1a.0", OPT_COMMON,
         PCI_NEED_INVENTORY | PCI_NEED_ON_DEMAND, pci_cmd_unhide, NULL},
        {"reset", {NULL}, "reset ID", "reset through the kernel, and say with which method",
         1, 1, "reset takes one device id, like dom0:00_1a.0", OPT_COMMON,
         PCI_NEED_RECOVER | PCI_NEED_INVENTORY | PCI_NEED_ON_DEMAND, pci_cmd_reset, NULL},
        {"permissive", {NULL}, "permissive [-p] [--off] ID", "pciback's permissive mode (Xen)",
         1, 1, "permissive takes one device id, like dom0:00_1a.0", OPT_COMMON | PCI_OPT_PERSISTENT | PCI_OPT_OFF,
         PCI_NEED_RECOVER | PCI_NEED_INVENTORY | PCI_NEED_ON_DEMAND, pci_cmd_permissive, NULL},
        /* Qubes R3.2: -l VM, -a VM BB:DD.F, -d VM BB:DD.F, options rather than words. */
        {"-l", {NULL}, NULL, NULL, 1, 1, "-l takes a VM", OPT_COMMON | PCI_OPT_CONNECT,
         PCI_NEED_RECOVER_READING | PCI_NEED_VIRT, pci_cmd_r32_list, NULL},
};

static const struct option options[] = {
        {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},
        {"json", no_argument, NULL, 'J'},
        {"help", no_argument, NULL, 'h'},
        {"driver", required_argument, NULL, 'D'},
        {"with-group", no_argument, NULL, 'G'},
        {"force", no_argument, NULL, 'F'},
        {"persistent", no_argument, NULL, 'p'},
        {"option", required_argument, NULL, 'o'},
        {"connect", required_argument, NULL, 'c'},
        {"off", no_argument, NULL, 'O'},
        {"required", no_argument, NULL, 'r'},
        {"ask", no_argument, NULL, 'A'},
        {"ask-to-attach", no_argument, NULL, 'A'},
        {"port", no_argument, NULL, 'P'},
        {"only-port", no_argument, NULL, 'P'},
        {"device", no_argument, NULL, 'E'},
        {"only-device", no_argument, NULL, 'E'},
        {"ro", no_argument, NULL, 'R'},
        {"assignments", no_argument, NULL, 's'},
        {"with-sbdf", no_argument, NULL, 'S'},
        {"resolve-paths", no_argument, NULL, 'S'},
        {"all", no_argument, NULL, 'L'},
        {"exclude", required_argument, NULL, 'X'},
        {},
};

static unsigned option_bit(int c) {
        switch (c) {
        case 'v': return PCI_OPT_VERBOSE;
        case 'q': return PCI_OPT_QUIET;
        case 'J': return PCI_OPT_JSON;
        case 'D': return PCI_OPT_DRIVER;
        case 'G': return PCI_OPT_WITH_GROUP;
        case 'F': return PCI_OPT_FORCE;
        case 'p': return PCI_OPT_PERSISTENT;
        case 'o': return PCI_OPT_OPTION;
        case 'c': return PCI_OPT_CONNECT;
        case 'O': return PCI_OPT_OFF;
        case 'r': return PCI_OPT_REQUIRED;
        case 'A': return PCI_OPT_ASK;
        case 'P': return PCI_OPT_PORT;
        case 'E': return PCI_OPT_DEVICE;
        case 'R': return PCI_OPT_RO;
        case 's': return PCI_OPT_ASSIGNMENTS;
        case 'S': return PCI_OPT_SBDF;
        case 'L': return PCI_OPT_ALL;
        case 'X': return PCI_OPT_EXCLUDE;
        }
        return 0;
}

static void help(const char *prog, FILE *f) {
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (commands[i].synopsis)
                        fprintf(f, "%s %s %-30s  %s\n", i ? "      " : "Usage:", prog, commands[i].synopsis,
                                commands[i].help);
        fprintf(f,
                "\n"
                "       %s -l VM | -a VM BB:DD.F | -d VM BB:DD.F   (Qubes R3.2: list, attach, detach)\n"
                "\n"
                "attach to a running VM hot-plugs the device (Qubes R4.3 refuses that and wants assign and\n"
                "a restart); attach -p and assign -r to a halted VM give it the device at its next start.\n"
                "detach takes devices from a running VM; a halted VM's are assigned: unassign them (R3.2's\n"
                "-d still does).\n"
                "\n"
                "ID is R4.3's dom0:PORT[:DEVID], PORT a PCI path (dom0:00_1c.0-00_00.0; on the root bus\n"
                "dom0:00_1a.0) and DEVID the device id that must be there (0x8086:0x10d3::p020000, * for\n"
                "any value), or dom0:*:DEVID (the device wherever it is); or the older 00_1a.0, 00:1a.0,\n"
                "0000:00:1a.0, a BDF. QUERY is a bus number, a VID:PID, a port like 3-1.2, or a line of\n"
                "lsusb output. OPT is no-strict-reset (use the device without a reliable reset: it is\n"
                "tainted after) or permissive (pciback's permissive mode).\n"
                "\n"
                "  -v, --verbose   list: add state (host driver, hidden, free), IOMMU group, reset methods\n"
                "                  and the strict-reset verdict\n"
                "  -q, --quiet     only errors on stderr\n"
                "  -s, --assignments  list: R4.3's rows, one per VM and device: *VM (required: OPT=True),\n"
                "                  VM (attached), the device id (or: any device), a device gone marked\n"
                "      --with-sbdf, --resolve-paths  list: an SBDF column beside the port\n"
                "      --all, --exclude VM  list: the devices (-s: assignments) of every VM but those\n"
                "      --json      machine-readable output: list and info the devices, list -s the\n"
                "                  assignments, check the rules' verdict, the others what they did\n"
                "                  (what moved, what was recorded); a failure as one JSON object\n"
                "      --driver D  hide: vfio-pci or pciback (default: pciback on a Xen dom0, else vfio-pci)\n"
                "      --with-group  hide: take the rest of each device's IOMMU group along\n"
                "      --force     hide: even a device the host's mounts, swap, default route or console use\n"
                "  -c, --connect URI  list, info, attach, assign, unassign, detach, check: libvirt URI\n"
                "                  (default: LIBVIRT_DEFAULT_URI, else qemu:///system, or xen:///system on\n"
                "                  a Xen dom0)\n"
                "  -o, --option OPT=VALUE  attach, assign, check: no-strict-reset=True, permissive=True\n"
                "  -r, --required  assign: needed (PCI devices are always required: a VM starts with them\n"
                "                  or not at all); attach -p is the same as assign -r\n"
                "      --port, --only-port  assign: the port, whatever device is there at each start\n"
                "                  (any device); unassign: only such an assignment\n"
                "      --device, --only-device  assign: the device, wherever it is at each start;\n"
                "                  unassign: only such an assignment (ID may be dom0:*:DEVID)\n"
                "      --ask, --ask-to-attach, --ro  assign: refused, as Qubes R4.3 does for PCI devices\n"
                "                  (attach --ro too: it has no meaning for PCI)\n"
                "  -p, --persistent  attach: at every start of the VM (a halted VM takes only these);\n"
                "                  hide: keep them hidden across reboots (a udev rule in\n"
                "                  /etc/udev/rules.d/40-qpci-hide.rules sets driver_override at boot);\n"
                "                  permissive: set it again whenever pciback takes the device at boot\n"
                "      --off       permissive: end it, now and at boot (pciback has no switch: qpci\n"
                "                  unbinds the device and binds it again)\n"
                "  -h, --help      this text\n",
                prog);
}

static const struct pci_cmd *find_command(const char *word) {
        for (size_t i = 0; i < ELEMENTSOF(commands); i++) {
                if (streq(commands[i].name, word))
                        return &commands[i];
                for (size_t k = 0; k < ELEMENTSOF(commands[i].aliases) && commands[i].aliases[k]; k++)
                        if (streq(commands[i].aliases[k], word))
                                return &commands[i];
        }
        return NULL;
}

int pci_lookup(struct pci_run *r, const char *id, struct qpci_dev **ret) {
        const char *why;
        int k = qpci_inventory_lookup(r->inv, id, ret, &why);

        if (k < 0) {
                tool_error_code(qpci_errno_code(k), "%s '%s': %s", k == -ENODEV ? "no device" : "invalid device id",
                                id, why);
                return EXIT_USAGE;
        }
        return 0;
}

/* Sets up what the command needs, in the order the table's PCI_NEED_* gives, and runs it. */
static int run(struct pci_run *r) {
        unsigned needs = r->cmd->needs;
        int k;

        if (tool_ctx_new(&r->ctx, r->verbose) < 0)
                return EXIT_FAIL;
        if (r->quiet)
                qpci_set_log_priority(r->ctx, QPCI_LOG_ERR);
        /* A device left half-moved by a killed qpci is put back before anything is shown or done. */
        if ((needs & PCI_NEED_RECOVER) && qpci_host_recover(r->ctx) < 0)
                return EXIT_FAIL;
        if ((needs & PCI_NEED_RECOVER_READING) && (k = qpci_host_recover_reading(r->ctx)) < 0)
                return tool_failed(k);
        if (needs & (PCI_NEED_VIRT | PCI_NEED_VIRT_OPTIONAL)) {
                /* Listing goes on without libvirt (an empty USED BY); what names or changes a VM cannot. */
                /* A connection named with -c is one the user wants: not reaching it is not "no VMs". A VM
                 * named to --exclude is one to find, as are those named as arguments. */
                bool required = (needs & PCI_NEED_VIRT) ||
                                ((needs & PCI_NEED_VIRT_WITH_ARGS) && (r->n > 0 || r->n_exclude > 0)) || r->uri;
                /* Every device here is this host's: another host's VMs are refused, or left out. */
                if (qpci_virt_open(r->ctx, r->uri, (required ? 0 : QPCI_VIRT_OPTIONAL) | QPCI_VIRT_HOST_DEVICES,
                                   &r->virt) < 0 && required)
                        return EXIT_FAIL;
        }
        if (needs & PCI_NEED_INVENTORY) {
                k = qpci_inventory_new_with(r->ctx, needs & PCI_NEED_ON_DEMAND ? QPCI_INVENTORY_ON_DEMAND : 0,
                                            &r->inv);
                if (k < 0)
                        return tool_failed(k);
        }
        if ((needs & PCI_NEED_USED_BY) && (k = used_by_collect(r->virt, r->inv, &r->used)) < 0)
                return tool_failed(k);
        return r->cmd->run(r);
}

static void run_done(struct pci_run *r) {
        used_by_free(&r->used);
        qpci_inventory_unref(r->inv);
        qpci_virt_unref(r->virt);
        qpci_unref(r->ctx);
}

int cmd_qvm_pci(const char *prog, int argc, char **argv) {
        _cleanup_(run_done) struct pci_run r = {.prog = prog};
        /* -o values wait until the command is known: on a command that takes none, -o is the error. */
        _cleanup_free_ char **attach_opts = calloc(argc, sizeof(char *));
        _cleanup_free_ char **exclude = calloc(argc, sizeof(char *));
        const char *seen_as[PCI_OPT_COUNT] = {0}; /* each option's long name, when written long */
        unsigned seen = 0;
        int c, n_attach_opts = 0;

        if (!attach_opts || !exclude)
                return EXIT_FAIL;
        r.exclude = exclude;
        /* ":": a missing value is told apart from an unknown option. */
        static const char shorts[] = ":vqhprso:c:lad";

        opterr = 0;
        for (;;) {
                int longindex = -1;
                if ((c = getopt_long(argc, argv, shorts, options, &longindex)) < 0)
                        break;
                unsigned bit = option_bit(c);
                if (bit) {
                        if (!(seen & bit))
                                seen_as[__builtin_ctz(bit)] = longindex >= 0 ? options[longindex].name : NULL;
                        seen |= bit;
                }
                switch (c) {
                case 'v': r.verbose = true; break;
                case 'q': r.quiet = true; break;
                case 'J': r.as_json = true; break;
                case 'D': r.hide.driver = optarg; break;
                case 'G': r.hide.with_group = true; break;
                case 'F': r.hide.force = true; break;
                case 'p': r.hide.persistent = r.attach.persistent = true; break;
                case 'o': attach_opts[n_attach_opts++] = optarg; break;
                case 'c': r.uri = optarg; break;
                case 'O': r.off = true; break;
                case 'r': r.required = true; break;
                case 'A': r.ask = true; break;
                case 'P': r.only_port = true; break;
                case 'E': r.only_device = true; break;
                case 'R': r.ro = true; break;
                case 's': r.assignments = true; break;
                case 'S': r.with_sbdf = true; break;
                case 'L': r.all = true; break;
                case 'X': exclude[r.n_exclude++] = optarg; break;
                /* R3.2: every assignment was persistent. */
                case 'l': case 'a': case 'd': {
                        const struct pci_cmd *cmd = find_command(c == 'l' ? "-l" : c == 'a' ? "attach" : "detach");
                        if (r.cmd) {
                                tool_error("-%c does not go with %s", c, r.cmd->name);
                                return EXIT_USAGE;
                        }
                        r.cmd = cmd;
                        r.r32 = r.attach.persistent = true;
                        break;
                }
                case 'h': help(prog, stdout); return 0;
                default:
                        tool_option_error(prog, argv, options, shorts, c);
                        return EXIT_USAGE;
                }
        }
        if (!r.cmd) {
                const char *word = optind < argc ? argv[optind++] : "list";
                r.cmd = find_command(word);
                if (!r.cmd || word[0] == '-') {
                        char names[256] = "";
                        size_t len = 0;
                        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                                if (commands[i].synopsis)
                                        len += snprintf(names + len, len < sizeof(names) ? sizeof(names) - len : 0,
                                                        "%s%s", len ? ", " : "", commands[i].name);
                        tool_error("unknown command '%s': use %s; see '%s --help'", word, names, prog);
                        return EXIT_USAGE;
                }
        }
        r.n = argc - optind;
        r.args = argv + optind;
        if (seen & ~r.cmd->options) {
                /* Every option refused, as it was written: "list does not take --driver, -p or --off". */
                unsigned bad = seen & ~r.cmd->options;
                char text[PCI_OPT_COUNT * 32] = "";
                size_t len = 0;
                for (unsigned i = 0; i < PCI_OPT_COUNT; i++) {
                        if (!(bad & (1u << i)))
                                continue;
                        bad &= ~(1u << i);
                        /* Written long, as written (--ask or --ask-to-attach); else its short letter. */
                        for (size_t k = 0; options[k].name; k++) {
                                char one[32];
                                if (option_bit(options[k].val) != 1u << i)
                                        continue;
                                if (seen_as[i])
                                        snprintf(one, sizeof(one), "--%s", seen_as[i]);
                                else
                                        snprintf(one, sizeof(one), "-%c", options[k].val);
                                if (len < sizeof(text))
                                        len += snprintf(text + len, sizeof(text) - len, "%s%s",
                                                        len == 0 ? "" : bad ? ", " : " or ", one);
                                break;
                        }
                }
                tool_error("%s does not take %s; see '%s --help'", r.cmd->name, text, prog);
                return EXIT_USAGE;
        }
        for (int i = 0; i < n_attach_opts; i++)
                if (parse_attach_option(attach_opts[i], &r.attach) < 0)
                        return EXIT_USAGE;
        if (r.hide.driver && !streq(r.hide.driver, "vfio-pci") && !streq(r.hide.driver, "pciback")) {
                tool_error("unknown driver '%s' to hide devices with: use vfio-pci or pciback", r.hide.driver);
                return EXIT_USAGE;
        }
        if (r.n < r.cmd->min_args || (r.cmd->max_args >= 0 && r.n > r.cmd->max_args)) {
                tool_error("%s", r.cmd->args_error);
                return EXIT_USAGE;
        }
        if (r.cmd->check && (c = r.cmd->check(&r)) != 0)
                return c;
        return run(&r);
}
