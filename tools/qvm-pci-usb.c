/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qvm-pci usb: the "Finding the right USB controller" steps of Qubes OS's Assigning Devices page,
 * in one command. For a USB device it names the PCI controller, every bus that controller owns (an
 * xHCI has two), every device on them, and the controller's sibling functions: all that goes to the
 * VM with it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "qvm-pci.h"
#include "tool.h"

/* Buses are sorted by controller, so one controller's buses are one run starting at *i. */
static size_t controller_run(const struct qpci_usb *usb, size_t i) {
        const struct qpci_usb_bus *b = qpci_usb_get_bus(usb, i);
        size_t j = i + 1;

        for (; j < qpci_usb_bus_count(usb); j++) {
                const struct qpci_usb_bus *o = qpci_usb_get_bus(usb, j);
                const char *x = b->controller ? b->controller : b->controller_path;
                const char *y = o->controller ? o->controller : o->controller_path;
                if (!x || !y || !streq(x, y))
                        break;
        }
        return j;
}

/* The PCI function a bus's root hub sits on, NULL for a controller that is not on PCI. */
static struct qpci_dev *controller_of(const struct qpci_usb_bus *b, struct qpci_inventory *inv) {
        struct qpci_addr a;

        if (!b->controller || qpci_addr_parse(b->controller, &a, NULL) < 0)
                return NULL;
        return qpci_inventory_find(inv, &a);
}

static bool run_matches(const struct qpci_usb *usb, size_t i, size_t j, const struct qpci_usb_query *q) {
        for (; i < j; i++) {
                const struct qpci_usb_bus *b = qpci_usb_get_bus(usb, i);
                for (size_t k = 0; k < b->n_devices; k++)
                        if (!q || qpci_usb_query_matches(q, &b->devices[k]))
                                return true;
        }
        return false;
}

static void print_run(const struct qpci_usb *usb, size_t i, size_t j, struct qpci_inventory *inv,
                      const struct qpci_usb_query *q) {
        const struct qpci_usb_bus *first = qpci_usb_get_bus(usb, i);
        struct qpci_dev *ctrl;

        ctrl = controller_of(first, inv);
        if (ctrl)
                printf("dom0:%s  %s\n", qpci_dev_get_ident(ctrl), tool_esc(qpci_dev_get_description(ctrl)));
        else
                printf("%s  (not a PCI device: it cannot be assigned with qvm-pci)\n",
                       first->controller_path ? tool_esc(first->controller_path) : "unknown controller");
        for (; i < j; i++) {
                const struct qpci_usb_bus *b = qpci_usb_get_bus(usb, i);
                printf("  usb%d%s%s%s\n", b->busnum, b->version ? " (USB " : "", b->version ? tool_esc(b->version) : "",
                       b->version ? ")" : "");
                for (size_t k = 0; k < b->n_devices; k++) {
                        const struct qpci_usb_device *d = &b->devices[k];
                        if (strncmp(d->port, "usb", 3) == 0)
                                continue; /* the root hub is the bus line above */
                        printf("  %s %-10s %04x:%04x  %s\n", q && qpci_usb_query_matches(q, d) ? "*" : " ", tool_esc(d->port),
                               d->vendor_id, d->product_id, d->name ? tool_esc(d->name) : "(no name)");
                }
        }
        if (ctrl && qpci_dev_get_sibling_count(ctrl)) {
                printf("  also goes along: ");
                QPCI_DEV_FOREACH_SIBLING(s, ctrl)
                        printf("%sdom0:%s", s == qpci_dev_next_sibling(ctrl, NULL) ? "" : ", ", qpci_dev_get_ident(s));
                printf(" (functions of the same device)\n");
        }
}

static void json_run(struct json *js, const struct qpci_usb *usb, size_t i, size_t j, struct qpci_inventory *inv,
                     const struct qpci_usb_query *q) {
        const struct qpci_usb_bus *first = qpci_usb_get_bus(usb, i);
        struct qpci_dev *ctrl;
        char id[64];

        ctrl = controller_of(first, inv);
        json_begin_object(js, NULL);
        if (ctrl) {
                snprintf(id, sizeof(id), "dom0:%s", qpci_dev_get_ident(ctrl));
                json_string(js, "id", id);
                json_string(js, "bdf", qpci_dev_get_bdf(ctrl));
                json_string(js, "description", qpci_dev_get_description(ctrl));
        } else {
                json_null(js, "id");
                json_null(js, "bdf");
                json_null(js, "description");
        }
        json_string(js, "sysfs_path", first->controller_path);
        json_begin_array(js, "siblings");
        if (ctrl)
                QPCI_DEV_FOREACH_SIBLING(s, ctrl)
                        json_string(js, NULL, qpci_dev_get_bdf(s));
        json_end_array(js);
        json_begin_array(js, "buses");
        for (; i < j; i++) {
                const struct qpci_usb_bus *b = qpci_usb_get_bus(usb, i);
                json_begin_object(js, NULL);
                json_int(js, "bus", b->busnum);
                json_string(js, "version", b->version);
                json_begin_array(js, "devices");
                for (size_t k = 0; k < b->n_devices; k++) {
                        const struct qpci_usb_device *d = &b->devices[k];
                        json_begin_object(js, NULL);
                        json_string(js, "port", d->port);
                        json_int(js, "devnum", d->devnum);
                        json_hex(js, "vendor_id", d->vendor_id, 4);
                        json_hex(js, "product_id", d->product_id, 4);
                        json_string(js, "name", d->name);
                        json_string(js, "manufacturer", d->manufacturer);
                        json_string(js, "product", d->product);
                        json_bool(js, "hub", d->device_class == 0x09);
                        json_bool(js, "matched", q && qpci_usb_query_matches(q, d));
                        json_end_object(js);
                }
                json_end_array(js);
                json_end_object(js);
        }
        json_end_array(js);
        json_end_object(js);
}

static void query_donep(struct qpci_usb_query **q) {
        if (*q)
                qpci_usb_query_done(*q);
}

int pci_cmd_usb(struct pci_run *run) {
        _cleanup_(qpci_inventory_unrefp) struct qpci_inventory *inv = NULL;
        _cleanup_(qpci_usb_unrefp) struct qpci_usb *usb = NULL;
        _cleanup_(query_donep) struct qpci_usb_query *q = NULL;
        _cleanup_free_ char *text = NULL;
        struct qpci_usb_query query;
        bool as_json = run->as_json;
        size_t len = 0, shown = 0;
        struct json js;
        const char *why;
        int r;

        /* The words of a pasted lsusb line arrive as several arguments. */
        for (int i = 0; i < run->n; i++)
                len += strlen(run->args[i]) + 1;
        if (run->n > 0) {
                text = calloc(1, len);
                if (!text)
                        return tool_failed(-ENOMEM);
                for (int i = 0; i < run->n; i++) {
                        if (i)
                                strcat(text, " ");
                        strcat(text, run->args[i]);
                }
                r = qpci_usb_query_parse(text, &query, &why);
                if (r < 0) {
                        tool_error("invalid USB query '%s': %s", text, why);
                        return EXIT_USAGE;
                }
                q = &query;
        }
        if ((r = qpci_inventory_new(run->ctx, &inv)) < 0 || (r = qpci_usb_new(run->ctx, &usb)) < 0)
                return tool_failed(r);
        if (as_json) {
                json_init(&js, stdout);
                json_begin_array(&js, NULL);
        }
        for (size_t i = 0, j; i < qpci_usb_bus_count(usb); i = j) {
                j = controller_run(usb, i);
                if (q && !run_matches(usb, i, j, q))
                        continue;
                if (as_json)
                        json_run(&js, usb, i, j, inv, q);
                else
                        print_run(usb, i, j, inv, q);
                shown++;
        }
        if (as_json) {
                json_end_array(&js);
                json_finish(&js);
        }
        if (!q && qpci_usb_bus_count(usb) == 0 && !as_json)
                fprintf(stderr, "%s: this host has no USB buses\n", tool_prog);
        if (q && shown == 0) {
                tool_error("no USB device matches '%s'; 'lsusb' lists what is plugged in", text);
                return EXIT_FAIL;
        }
        if (!as_json && q && shown == 1)
                printf("Assigning the controller gives the VM everything listed above; the host loses it.\n");
        return 0;
}
