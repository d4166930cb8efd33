/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qvm-prefs: a VM's preferences, in both of Qubes' syntaxes:
 *   R4:   qvm-prefs VM [PROP [VALUE]], qvm-prefs VM --default PROP
 *   R3.2: qvm-prefs -s VM PROP VALUE, qvm-prefs VM -s PROP VALUE, -g VM PROP, -l VM
 */
#include <getopt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "macro.h"
#include "tool.h"

static void usage(const char *prog, FILE *f) {
        fprintf(f,
                "Usage: %s [-c URI] VM                  list the preferences\n"
                "       %s [-c URI] VM PROP             print one\n"
                "       %s [-c URI] VM PROP VALUE       set one\n"
                "       %s [-c URI] VM --default PROP   put one back to its default\n"
                "       %s -l VM | -g VM PROP | -s VM PROP VALUE   (Qubes R3.2)\n"
                "\n"
                "Preferences: kernel, initrd, kernelopts (the kernel command line; a VM with PCI devices\n"
                "defaults to 'iommu=soft swiotlb=2048', and Qubes OS's Assigning Devices page gives a\n"
                "larger DMA buffer, 'iommu=soft swiotlb=8192'), memory and maxmem (MiB; a VM with PCI\n"
                "devices gets no ballooning), vcpus, pci_strictreset (False: every PCI device of the VM is\n"
                "used without a reliable reset, as -o no-strict-reset=True does for one).\n"
                "\n"
                "  -c, --connect URI  libvirt URI (default: LIBVIRT_DEFAULT_URI, else qemu:///system, or\n"
                "                     xen:///system on a Xen dom0)\n"
                "  -D, --default      put PROP back to its default\n"
                "  -l, --list         (R3.2) list the preferences\n"
                "  -g, --get          (R3.2) print PROP\n"
                "  -s, --set          (R3.2) set PROP to VALUE\n"
                "      --json         {\"vm\": VM, \"prefs\": {PROP: {\"value\": V, \"default\": B}...}}: every\n"
                "                     preference, or the one named (as it is after a set); a failure as\n"
                "                     a JSON object\n"
                "  -h, --help         this text\n",
                prog, prog, prog, prog, prog);
}

/* One preference, or all (name NULL), as it is now. */
static int print_json(struct qpci_vm *vm, const char *name) {
        const char *one[] = {name, NULL};
        const char *const *names = name ? one : qpci_vm_pref_names();
        struct json j;
        int r;

        /* Read before anything is printed: a failure is the error object alone. */
        for (const char *const *p = names; *p; p++) {
                _cleanup_free_ char *value = NULL;
                if ((r = qpci_vm_get_pref(vm, *p, &value, NULL)) < 0)
                        return r == -ENOENT ? EXIT_USAGE : tool_failed(r);
        }
        json_init(&j, stdout);
        json_begin_object(&j, NULL);
        json_string(&j, "vm", qpci_vm_get_name(vm));
        json_begin_object(&j, "prefs");
        for (const char *const *p = names; *p; p++) {
                _cleanup_free_ char *value = NULL;
                bool dflt = false;
                if ((r = qpci_vm_get_pref(vm, *p, &value, &dflt)) < 0)
                        return tool_failed(r);
                json_begin_object(&j, *p);
                json_string(&j, "value", value);
                json_bool(&j, "default", dflt);
                json_end_object(&j);
        }
        json_end_object(&j);
        json_end_object(&j);
        json_finish(&j);
        return 0;
}

static int list(struct qpci_vm *vm) {
        for (const char *const *p = qpci_vm_pref_names(); *p; p++) {
                _cleanup_free_ char *value = NULL;
                bool dflt = false;
                int r = qpci_vm_get_pref(vm, *p, &value, &dflt);
                if (r < 0)
                        return tool_failed(r);
                /* As Qubes OS's Assigning Devices page shows it:
                 * "kernelopts       : iommu=soft swiotlb=2048 (default)". */
                printf("%-16s : %s%s\n", *p, tool_esc(value), dflt ? " (default)" : "");
        }
        return 0;
}

int cmd_qvm_prefs(const char *prog, int argc, char **argv) {
        static const struct option options[] = {
                {"connect", required_argument, NULL, 'c'}, {"default", no_argument, NULL, 'D'},
                {"set", no_argument, NULL, 's'},           {"get", no_argument, NULL, 'g'},
                {"list", no_argument, NULL, 'l'},          {"help", no_argument, NULL, 'h'},
                {"json", no_argument, NULL, 'J'},          {},
        };
        _cleanup_(qpci_unrefp) struct qpci_ctx *ctx = NULL;
        _cleanup_(qpci_virt_unrefp) struct qpci_virt *v = NULL;
        const char *uri = NULL, *mode = NULL;
        struct qpci_vm *vm;
        bool as_json = false;
        int c, n;

        /* ":": a missing value is told apart from an unknown option. */
        static const char shorts[] = ":c:Dsglh";

        opterr = 0;
        while ((c = getopt_long(argc, argv, shorts, options, NULL)) >= 0) {
                switch (c) {
                case 'c': uri = optarg; break;
                case 'D': case 's': case 'g': case 'l':
                        if (mode && *mode != c) {
                                tool_error("options -%c and -%c do not go together", *mode, c);
                                return EXIT_USAGE;
                        }
                        mode = c == 'D' ? "D" : c == 's' ? "s" : c == 'g' ? "g" : "l";
                        break;
                case 'J': as_json = true; break;
                case 'h': usage(prog, stdout); return 0;
                default:
                        tool_option_error(prog, argv, options, shorts, c);
                        return EXIT_USAGE;
                }
        }
        n = argc - optind;
        /* Without a mode, the number of words says: VM, VM PROP, VM PROP VALUE. */
        if (!mode)
                mode = n == 1 ? "l" : n == 2 ? "g" : "s";
        if (n < 1 || (*mode == 'l' && n != 1) || ((*mode == 'g' || *mode == 'D') && n != 2) || (*mode == 's' && n != 3)) {
                tool_error("%s; see '%s --help'",
                           n < 1 ? "name a VM" : *mode == 's' ? "setting takes a VM, a property and a value"
                                           : *mode == 'l' ? "listing takes a VM only" : "this takes a VM and a property",
                           prog);
                return EXIT_USAGE;
        }
        if (tool_ctx_new(&ctx, false) < 0 || qpci_virt_open(ctx, uri, 0, &v) < 0)
                return EXIT_FAIL;
        if (qpci_virt_find_vm(v, argv[optind], &vm) < 0)
                return EXIT_USAGE;
        if (*mode == 'l')
                return as_json ? print_json(vm, NULL) : list(vm);
        if (*mode == 'g' && as_json)
                return print_json(vm, argv[optind + 1]);
        if (*mode == 'g') {
                _cleanup_free_ char *value = NULL;
                int r = qpci_vm_get_pref(vm, argv[optind + 1], &value, NULL);
                if (r == 0)
                        printf("%s\n", tool_esc(value));
                return r == 0 ? 0 : r == -ENOENT ? EXIT_USAGE : tool_failed(r);
        }
        int r = qpci_vm_set_pref(vm, argv[optind + 1], *mode == 'D' ? NULL : argv[optind + 2]);
        if (r == 0 && as_json)
                return print_json(vm, argv[optind + 1]);
        return r == 0 ? 0 : r == -ENOENT || r == -EINVAL ? EXIT_USAGE : tool_failed(r);
}
