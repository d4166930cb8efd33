/* SPDX-License-Identifier: GPL-2.0-or-later */
/* qvm-pci hide, unhide, reset and permissive: devices between the host and its stub drivers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json-vm.h"
#include "qvm-pci.h"
#include "tool.h"

/* {"action": ..., "id", "bdf", ...} of one device; the caller adds its fields and ends it. */
static void json_action(struct json *j, const char *action, struct qpci_dev *d) {
        char id[QPCI_IDENT_MAX + 8];

        snprintf(id, sizeof(id), "dom0:%s", qpci_dev_get_ident(d));
        json_init(j, stdout);
        json_begin_object(j, NULL);
        json_string(j, "action", action);
        json_string(j, "id", id);
        json_string(j, "bdf", qpci_dev_get_bdf(d));
}

static void json_done(struct json *j) {
        json_end_object(j);
        json_finish(j);
}

static int do_reset(struct qpci_dev *d, bool as_json) {
        unsigned used;
        struct json j;

        if (qpci_host_reset(d, &used) < 0)
                return EXIT_FAIL;
        if (as_json) {
                json_action(&j, "reset", d);
                json_string(&j, "method", used ? qpci_reset_method_name(used) : NULL);
                json_done(&j);
                return 0;
        }
        printf("dom0:%s reset%s%s\n", qpci_dev_get_ident(d), used ? " with " : "",
               used ? qpci_reset_method_name(used) : " (the kernel does not say how)");
        return 0;
}

static int do_permissive(struct qpci_dev *d, bool persistent, bool off, bool as_json) {
        struct json j;

        if ((off ? qpci_host_clear_permissive(d, true) : qpci_host_set_permissive(d, persistent)) < 0)
                return EXIT_FAIL;
        if (as_json) {
                json_action(&j, "permissive", d);
                json_bool(&j, "permissive", !off);
                json_bool(&j, "persistent", off || persistent);
                json_done(&j);
        } else if (off)
                printf("dom0:%s is not permissive, now or at boot\n", qpci_dev_get_ident(d));
        else {
                printf("dom0:%s is permissive: a VM may write most of its config space\n", qpci_dev_get_ident(d));
                if (persistent)
                        printf("kept permissive whenever pciback takes it at boot, by "
                               "/etc/udev/rules.d/40-qpci-hide.rules\n");
        }
        /* The warning of Qubes OS's Assigning Devices page, where the user acts. */
        if (!off)
                fprintf(stderr, "%s: warning: this weakens the device's isolation, especially without a VT-d interrupt "
                        "remapping unit; use it only for a device that does not work otherwise\n", tool_prog);
        return 0;
}

/* hide / unhide: every id is checked before anything moves. */
static int do_move(struct pci_run *run, bool hide) {
        struct qpci_ctx *ctx = run->ctx;
        const struct qpci_hide_options *o = &run->hide;
        int n = run->n, r;
        _cleanup_free_ struct qpci_dev **devs = calloc(n, sizeof(*devs));
        char drv[64];

        if (!devs)
                return EXIT_FAIL;
        for (int i = 0; i < n; i++)
                if ((r = pci_lookup(run, run->args[i], &devs[i])))
                        return r;
        r = hide ? qpci_host_hide(run->inv, devs, n, o) : qpci_host_unhide(run->inv, devs, n);
        if (r < 0)
                return EXIT_FAIL; /* the library said why */
        if (run->as_json) {
                struct json j;
                json_init(&j, stdout);
                json_begin_object(&j, NULL);
                json_string(&j, "action", hide ? "hide" : "unhide");
                json_bool(&j, "persistent", hide && o->persistent);
                json_moved(&j, "moved", ctx, run->inv);
                json_end_object(&j);
                json_finish(&j);
                return 0;
        }
        for (int i = 0; i < n; i++) {
                if (qpci_host_current_driver(ctx, qpci_dev_get_bdf(devs[i]), drv, sizeof(drv)) < 0)
                        drv[0] = '\0';
                printf("dom0:%s %s %s\n", qpci_dev_get_ident(devs[i]), hide ? "hidden on" : "back on the host, driver",
                       drv[0] ? tool_esc(drv) : "none");
        }
        if (hide && o->persistent) {
                printf("kept hidden across reboots by /etc/udev/rules.d/40-qpci-hide.rules\n");
                /* Debian's initramfs-tools copies custom udev rules into the initramfs, where a
                 * driver loaded early (a USB keyboard's controller) would otherwise bind first. */
                if (streq(qpci_get_root(ctx), "/") && access("/usr/sbin/update-initramfs", X_OK) == 0)
                        printf("run 'update-initramfs -u' so that the rule also holds in the initramfs\n");
        }
        return 0;
}

int pci_cmd_hide(struct pci_run *r) { return do_move(r, true); }
int pci_cmd_unhide(struct pci_run *r) { return do_move(r, false); }

int pci_cmd_reset(struct pci_run *r) {
        struct qpci_dev *d;
        int k = pci_lookup(r, r->args[0], &d);
        return k ? k : do_reset(d, r->as_json);
}

int pci_cmd_permissive(struct pci_run *r) {
        struct qpci_dev *d;
        int k = pci_lookup(r, r->args[0], &d);
        return k ? k : do_permissive(d, r->hide.persistent, r->off, r->as_json);
}
