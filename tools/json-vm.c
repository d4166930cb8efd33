/* SPDX-License-Identifier: GPL-2.0-or-later */
/* VMs, their assignments and the devices a command moved, as the --json forms write them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "json-vm.h"

/* Where the device is now: the one that was assigned (found by its port, or by its device id
 * wherever it is), another card at its port, or none. */
static const char *presence(struct qpci_inventory *inv, const struct qpci_assignment *a, struct qpci_dev **d) {
        *d = NULL;
        if (!inv)
                return NULL;
        if (qpci_assignment_find(inv, a, d) < 0)
                return "missing";
        return qpci_devid_matches(a->devid, *d) ? "present" : "changed";
}

void json_assignment(struct json *j, const char *key, struct qpci_inventory *inv, const struct qpci_assignment *a) {
        char ident[QPCI_IDENT_MAX], id[QPCI_IDENT_MAX + 8];
        struct qpci_dev *d;
        const char *p = presence(inv, a, &d);

        snprintf(id, sizeof(id), "dom0:%s", qpci_addr_format_ident(&a->addr, ident));
        json_begin_object(j, key);
        json_string(j, "id", id);
        json_string(j, "bdf", a->bdf);
        /* Qubes R4.3's identity as recorded: the port ("*": the device wherever it is) and the
         * device id ("*": whatever is at the port); a port not recorded is the device's now. */
        json_string(j, "port_id", a->path[0] ? a->path : d ? qpci_dev_get_path(d) : NULL);
        json_string(j, "qubes_device_id", a->devid[0] ? a->devid : NULL);
        if (a->vendor_id) {
                json_hex(j, "vendor_id", a->vendor_id, 4);
                json_hex(j, "device_id", a->device_id, 4);
        } else {
                json_null(j, "vendor_id");
                json_null(j, "device_id");
        }
        json_bool(j, "persistent", a->persistent);
        json_bool(j, "attached", a->live);
        json_begin_object(j, "options");
        json_bool(j, "no-strict-reset", a->no_strict_reset);
        json_bool(j, "permissive", a->permissive);
        json_end_object(j);
        /* "present", "changed" (another device at its place: the rules refuse it) or "missing". */
        json_string(j, "device", p);
        json_bool(j, "present", p && streq(p, "present"));
        json_end_object(j);
}

static void json_pref(struct json *j, struct qpci_vm *vm, const char *name, bool as_number) {
        _cleanup_free_ char *value = NULL;
        char *end;

        if (qpci_vm_get_pref(vm, name, &value, NULL) < 0 || !value) {
                json_null(j, name);
                return;
        }
        long long n = strtoll(value, &end, 10);
        if (as_number && *value && !*end)
                json_int(j, name, n);
        else if (streq(name, "pci_strictreset"))
                json_bool(j, name, streq(value, "True"));
        else
                json_string(j, name, value);
}

int json_vm(struct json *j, const char *key, struct qpci_vm *vm, struct qpci_inventory *inv) {
        _cleanup_free_ struct qpci_assignment *a = NULL;
        size_t n = 0;
        int r = qpci_vm_get_assignments(vm, &a, &n);

        if (r < 0)
                return r;
        json_begin_object(j, key);
        json_string(j, "name", qpci_vm_get_name(vm));
        json_string(j, "state", qpci_vm_state_name(qpci_vm_get_state(vm)));
        json_bool(j, "running", qpci_vm_get_state(vm) == QPCI_VM_RUNNING);
        json_pref(j, vm, "memory", true);
        json_pref(j, vm, "maxmem", true);
        json_pref(j, vm, "vcpus", true);
        json_pref(j, vm, "kernelopts", false);
        json_pref(j, vm, "pci_strictreset", false);
        json_begin_array(j, "devices");
        for (size_t i = 0; i < n; i++)
                json_assignment(j, NULL, inv, &a[i]);
        json_end_array(j);
        json_end_object(j);
        return 0;
}

void json_moved(struct json *j, const char *key, struct qpci_ctx *ctx, struct qpci_inventory *inv) {
        json_begin_array(j, key);
        for (size_t i = 0; inv && i < qpci_inventory_count(inv); i++) {
                struct qpci_dev *d = qpci_inventory_get(inv, i);
                const char *was = qpci_dev_get_driver(d) ? qpci_dev_get_driver(d) : "";
                char now[256], id[QPCI_IDENT_MAX + 8];

                /* The inventory is the snapshot from before the command: a driver that differs moved. */
                if (qpci_host_current_driver(ctx, qpci_dev_get_bdf(d), now, sizeof(now)) < 0 || streq(now, was))
                        continue;
                snprintf(id, sizeof(id), "dom0:%s", qpci_dev_get_ident(d));
                json_begin_object(j, NULL);
                json_string(j, "id", id);
                json_string(j, "bdf", qpci_dev_get_bdf(d));
                json_string(j, "from", *was ? was : NULL);
                json_string(j, "to", *now ? now : NULL);
                json_end_object(j);
        }
        json_end_array(j);
}
