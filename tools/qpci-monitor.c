/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qpci monitor: one line per change, out at once (a reader such as Cockpit's spawn sees only what
 * was flushed), until SIGTERM or SIGINT, or until its reader goes away.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>

#include "json.h"
#include "tool.h"

struct out {
        struct qpci_monitor *m;
        bool as_json;
};

static void usage(FILE *f) {
        fprintf(f, "Usage: qpci monitor [--json] [-c URI] [--no-vms] [-v]\n\n"
                   "One line per change, as it happens: a PCI device added, removed, bound to a driver or\n"
                   "unbound (hidden from the host or given back), a qpci command that changed devices or VMs,\n"
                   "a VM defined, undefined, started, stopped, paused, resumed or changed (its assignments), a\n"
                   "device added to or removed from a running VM. Ends on SIGTERM or SIGINT.\n\n"
                   "      --json         each line a JSON object with its \"type\" and the ids to refresh\n"
                   "  -c, --connect URI  libvirt URI (default: LIBVIRT_DEFAULT_URI, else qemu:///system, or\n"
                   "                     xen:///system on a Xen dom0)\n"
                   "      --no-vms       no VM events (libvirt is not asked)\n"
                   "  -v, --verbose      say why a source of changes is left out\n");
}

static void print_change(const struct qpci_change *c, void *data) {
        struct out *o = data;
        struct qpci_addr a;
        char ident[QPCI_IDENT_MAX], id[QPCI_IDENT_MAX + 8] = "";

        if (c->bdf && qpci_addr_parse(c->bdf, &a, NULL) == 0)
                snprintf(id, sizeof(id), "dom0:%s", qpci_addr_format_ident(&a, ident));
        if (o->as_json) {
                struct json j;
                json_init_compact(&j, stdout);
                json_begin_object(&j, NULL);
                json_string(&j, "type", c->type);
                if (c->bdf) {
                        json_string(&j, "id", id[0] ? id : NULL);
                        json_string(&j, "bdf", c->bdf);
                }
                if (streq(c->type, "device-bound")) {
                        json_string(&j, "driver", c->driver);
                        json_bool(&j, "hidden", c->hidden);
                }
                if (c->vm)
                        json_string(&j, "vm", c->vm);
                if (streq(c->type, "qpci"))
                        json_string(&j, "command", c->detail);
                else if (c->vm)
                        json_string(&j, "detail", c->detail);
                json_end_object(&j);
                json_finish(&j);
        } else {
                printf("%s", c->type);
                if (c->bdf)
                        printf(" %s", id[0] ? id : tool_esc(c->bdf));
                if (c->driver)
                        printf(" %s%s", tool_esc(c->driver), c->hidden ? " (hidden)" : "");
                if (c->vm)
                        printf(" %s", tool_esc(c->vm));
                if (c->detail)
                        printf(" %s", tool_esc(c->detail));
                putchar('\n');
        }
        /* Gone reader (EPIPE, SIGPIPE ignored): nobody is left to tell. */
        if (fflush(stdout) != 0 || ferror(stdout))
                qpci_monitor_stop(o->m);
}

int cmd_qpci_monitor(int argc, char **argv) {
        static const struct option options[] = {
                {"json", no_argument, NULL, 'J'},       {"connect", required_argument, NULL, 'c'},
                {"no-vms", no_argument, NULL, 'N'},     {"verbose", no_argument, NULL, 'v'},
                {"help", no_argument, NULL, 'h'},       {},
        };
        static const char shorts[] = ":c:vh";
        _cleanup_(qpci_unrefp) struct qpci_ctx *ctx = NULL;
        struct out o = {0};
        const char *uri = NULL;
        bool verbose = false, no_vms = false;
        sigset_t stop;
        int c, r;

        opterr = 0;
        while ((c = getopt_long(argc, argv, shorts, options, NULL)) >= 0) {
                switch (c) {
                case 'J': o.as_json = true; break;
                case 'c': uri = optarg; break;
                case 'N': no_vms = true; break;
                case 'v': verbose = true; break;
                case 'h': usage(stdout); return 0;
                default:
                        tool_option_error(tool_prog, argv, options, shorts, c);
                        return EXIT_USAGE;
                }
        }
        if (optind < argc) {
                tool_error("monitor takes no arguments ('%s'); see 'qpci monitor --help'", tool_esc(argv[optind]));
                return EXIT_USAGE;
        }
        if (tool_ctx_new(&ctx, verbose) < 0)
                return EXIT_FAIL;
        /* SIGTERM and SIGINT end the watch through a descriptor, so it ends where it waits. */
        sigemptyset(&stop);
        sigaddset(&stop, SIGTERM);
        sigaddset(&stop, SIGINT);
        signal(SIGPIPE, SIG_IGN);
        if (sigprocmask(SIG_BLOCK, &stop, NULL) < 0) {
                tool_error("cannot take SIGTERM: %s", strerror(errno));
                return EXIT_FAIL;
        }
        _cleanup_close_ int sfd = signalfd(-1, &stop, SFD_CLOEXEC);
        if (sfd < 0) {
                tool_error("cannot take SIGTERM: %s", strerror(errno));
                return EXIT_FAIL;
        }
        if ((r = qpci_monitor_new(ctx, no_vms ? "" : uri, print_change, &o, &o.m)) < 0)
                return tool_failed(r);
        r = qpci_monitor_run(o.m, sfd);
        qpci_monitor_free(o.m);
        return r < 0 ? tool_failed(r) : 0;
}
