/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qpci manager: the Cockpit page "PCI devices" on this desktop without a Cockpit login. Cockpit's
 * own cockpit-desktop does it safely: the bridge runs here, as this user, while cockpit-ws and the
 * browser run in a user and network namespace of their own, joined to the bridge by a pipe, so
 * the session it serves is on no port that another user or process can reach.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

/* Where distributions put Cockpit's helpers (Debian's libexecdir, then Fedora's). */
static const char *const desktop_paths[] = {
        "/usr/lib/cockpit/cockpit-desktop",
        "/usr/libexec/cockpit-desktop",
};

static void usage(FILE *f) {
        fputs("Usage: qpci manager [--browser COMMAND]\n"
              "Opens the Cockpit page \"PCI devices\" (host devices, the USB finder, VMs and their\n"
              "devices) in a browser, without a Cockpit login: cockpit-ws and the browser run in a\n"
              "network namespace of their own (Cockpit's cockpit-desktop), so no other user or process\n"
              "can reach the session. Run it as root to change devices and VMs.\n\n"
              "  -b, --browser COMMAND  the browser to run with the page's URL (default: $BROWSER,\n"
              "                         else Cockpit's choice: chromium, firefox)\n"
              "  -h, --help             this text\n",
              f);
}

/* Is the page where Cockpit's bridge looks for pages? cockpit-bridge --packages lists each
 * package it sees, its name first. */
static int page_installed(void) {
        FILE *p = popen("cockpit-bridge --packages 2>/dev/null", "r");
        char line[512];
        int found = 0;

        if (!p)
                return -errno;
        while (fgets(line, sizeof(line), p))
                if (strncmp(line, "qpci ", 5) == 0)
                        found = 1;
        if (pclose(p) != 0 && !found)
                return -ENOENT;
        return found;
}

int cmd_manager(int argc, char **argv) {
        static const struct option options[] = {
                {"browser", required_argument, NULL, 'b'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        const char *browser = NULL, *desktop = NULL;
        char buf[64];
        int c, r;

        opterr = 0;
        while ((c = getopt_long(argc, argv, ":b:h", options, NULL)) != -1)
                switch (c) {
                case 'b':
                        browser = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                case ':':
                        tool_error("%s needs a value; see 'qpci manager --help'",
                                   tool_option_name(options, ":b:h", optopt, buf, sizeof(buf)));
                        return EXIT_USAGE;
                default:
                        tool_error("unknown option '%s'; see 'qpci manager --help'", argv[optind - 1]);
                        return EXIT_USAGE;
                }
        if (optind < argc) {
                tool_error("qpci manager takes no argument ('%s'); see 'qpci manager --help'", argv[optind]);
                return EXIT_USAGE;
        }
        for (size_t i = 0; i < sizeof(desktop_paths) / sizeof(desktop_paths[0]) && !desktop; i++)
                if (access(desktop_paths[i], X_OK) == 0)
                        desktop = desktop_paths[i];
        if (!desktop) {
                tool_error("Cockpit's cockpit-desktop is missing (%s): install Cockpit (Debian: cockpit-ws "
                           "cockpit-bridge cockpit-system)", desktop_paths[0]);
                return EXIT_FAIL;
        }
        r = page_installed();
        if (r <= 0) {
                tool_error(r == 0 ? "Cockpit's bridge does not see the page \"PCI devices\" (the package qpci): "
                                    "install it (Debian: cockpit-qpci; meson install puts it in DATADIR/cockpit/qpci; "
                                    "Cockpit reads /usr/share/cockpit, /usr/local/share/cockpit and "
                                    "~/.local/share/cockpit)"
                                  : "cannot run cockpit-bridge --packages: install Cockpit (Debian: cockpit-bridge)");
                return EXIT_FAIL;
        }
        if (browser && setenv("BROWSER", browser, 1) < 0)
                return tool_failed(-errno);
        fflush(NULL);
        execl(desktop, desktop, "/cockpit/@localhost/qpci/index.html", (char *)NULL);
        tool_error("cannot run %s: %s", desktop, strerror(errno));
        return EXIT_FAIL;
}
