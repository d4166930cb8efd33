/* SPDX-License-Identifier: GPL-2.0-or-later */
/* qvm-pci list and info: the host's devices as Qubes shows them, -v's facts, and --json's every field. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "json-vm.h"
#include "qvm-pci.h"
#include "tool.h"

/* Walks a device's "\n"-separated warnings: sets *line to the next one and returns its length, or
 * -1 after the last. */
static int next_warning(const char **w, const char **line) {
        size_t l;

        if (!*w || !**w)
                return -1;
        l = strcspn(*w, "\n");
        *line = *w;
        *w += l + ((*w)[l] == '\n');
        return (int)l;
}

static const char *reset_list(unsigned methods, char *buf, size_t size) {
        size_t len = 0;

        buf[0] = '\0';
        for (unsigned i = 0; i < QPCI_RESET_METHOD_COUNT; i++)
                if (methods & (1u << i))
                        len += snprintf(buf + len, len < size ? size - len : 0, "%s%s", len ? "," : "",
                                        qpci_reset_method_name(1u << i));
        return len ? buf : "-";
}

/* Every one of them: a list a reader would take as whole must be. */
static void json_dev_refs(struct json *j, const char *key, const struct qpci_dev *d,
                          struct qpci_dev *(*next)(const struct qpci_dev *, const struct qpci_dev *)) {
        json_begin_array(j, key);
        for (struct qpci_dev *p = next(d, NULL); p; p = next(d, p))
                json_string(j, NULL, qpci_dev_get_bdf(p));
        json_end_array(j);
}

/* One device as JSON: every field the inventory knows. */
/* host_uses: for info only (it reads the mount table); NULL leaves the field out. */
static void json_dev(struct json *j, struct qpci_dev *d, const char *host_uses, const struct used_by *u) {
        char id[64];
        const char *module = NULL, *w, *line;

        snprintf(id, sizeof(id), "dom0:%s", qpci_dev_get_ident(d));
        json_begin_object(j, NULL);
        json_string(j, "id", id);
        json_string(j, "bdf", qpci_dev_get_bdf(d));
        /* Qubes R4.3's identities; "device_id" was already the PCI device id, and stays that. */
        json_string(j, "port_id", qpci_dev_get_path(d));
        json_string(j, "qubes_device_id", qpci_dev_get_devid(d));
        json_hex(j, "vendor_id", qpci_dev_get_vendor_id(d), 4);
        json_hex(j, "device_id", qpci_dev_get_device_id(d), 4);
        json_hex(j, "subsystem_vendor_id", qpci_dev_get_subsystem_vendor_id(d), 4);
        json_hex(j, "subsystem_device_id", qpci_dev_get_subsystem_device_id(d), 4);
        json_hex(j, "class", qpci_dev_get_class(d), 6);
        json_hex(j, "revision", qpci_dev_get_revision(d), 2);
        json_string(j, "vendor", qpci_dev_get_vendor_name(d));
        json_string(j, "product", qpci_dev_get_product_name(d));
        json_string(j, "class_name", qpci_dev_get_class_name(d));
        json_string(j, "description", qpci_dev_get_description(d));
        json_string(j, "driver", qpci_dev_get_driver(d));
        static const char *const states[] = {"host", "hidden", "free"};
        json_string(j, "state", states[qpci_dev_get_state(d)]);
        json_string(j, "hidden_from", qpci_dev_get_hidden_from(d));
        json_bool(j, "pciback_slot", qpci_dev_get_pciback(d) & QPCI_PCIBACK_SLOT);
        json_bool(j, "pciback_permissive", qpci_dev_get_pciback(d) & QPCI_PCIBACK_PERMISSIVE);
        json_string(j, "modalias", qpci_dev_get_modalias(d));
        json_string(j, "module", qpci_dev_get_module(d, &module) == 0 ? module : NULL);
        if (qpci_dev_get_iommu_group(d) >= 0)
                json_int(j, "iommu_group", qpci_dev_get_iommu_group(d));
        else
                json_null(j, "iommu_group");
        json_dev_refs(j, "iommu_group_peers", d, qpci_dev_next_group_peer);
        json_bool(j, "multifunction", qpci_dev_is_multifunction(d));
        json_dev_refs(j, "siblings", d, qpci_dev_next_sibling);
        json_bool(j, "bridge", qpci_dev_is_bridge(d));
        json_string(j, "parent", qpci_dev_get_parent(d) ? qpci_dev_get_bdf(qpci_dev_get_parent(d)) : NULL);
        json_hex(j, "bus", qpci_dev_get_addr(d)->bus, 2);
        json_bool(j, "root_bus", qpci_dev_on_root_bus(d));
        json_bool(j, "pcie", qpci_dev_is_pcie(d));
        json_string(j, "pcie_type", qpci_dev_is_pcie(d) ? qpci_pcie_type_name(qpci_dev_get_pcie_type(d)) : NULL);
        json_string(j, "physfn", qpci_dev_get_physfn(d) ? qpci_dev_get_bdf(qpci_dev_get_physfn(d)) : NULL);
        json_bool(j, "sriov_pf", qpci_dev_is_sriov_pf(d));
        if (qpci_dev_is_sriov_pf(d)) {
                json_int(j, "sriov_totalvfs", qpci_dev_get_total_vfs(d));
                json_int(j, "sriov_numvfs", qpci_dev_get_num_vfs(d));
        }
        json_begin_array(j, "reset_methods");
        for (unsigned i = 0; i < QPCI_RESET_METHOD_COUNT; i++)
                if (qpci_dev_get_reset_methods(d) & (1u << i))
                        json_string(j, NULL, qpci_reset_method_name(1u << i));
        json_end_array(j);
        static const char *const sources[] = {"kernel", "config", "unknown"};
        json_string(j, "reset_source", sources[qpci_dev_get_reset_source(d)]);
        json_bool(j, "strict_reset", qpci_dev_has_strict_reset(d));
        json_string(j, "strict_reset_reason", qpci_dev_get_strict_reset_reason(d));
        if (host_uses)
                json_string(j, "host_uses", host_uses);
        json_begin_array(j, "used_by");
        for (size_t i = 0; u && i < u->n_entries; i++)
                for (size_t k = 0; k < u->entries[i].n; k++) {
                        const struct qpci_assignment *a = &u->entries[i].assignments[k];
                        if (!u->entries[i].here[k] || qpci_addr_cmp(&a->addr, qpci_dev_get_addr(d)) != 0)
                                continue;
                        json_begin_object(j, NULL);
                        json_string(j, "vm", qpci_vm_get_name(u->entries[i].vm));
                        json_bool(j, "persistent", a->persistent);
                        json_bool(j, "attached", a->live);
                        json_bool(j, "no_strict_reset", a->no_strict_reset);
                        json_bool(j, "permissive", a->permissive);
                        json_end_object(j);
                }
        json_end_array(j);
        json_begin_array(j, "warnings");
        w = qpci_dev_get_warnings(d);
        for (int l; (l = next_warning(&w, &line)) >= 0;) {
                _cleanup_free_ char *text = strndup(line, l);
                json_string(j, NULL, text ? text : "");
        }
        json_end_array(j);
        json_end_object(j);
}

/* Each line of a device's warnings, to stderr, prefixed with the device. */
static void print_warnings(const struct qpci_dev *d) {
        const char *w = qpci_dev_get_warnings(d), *line;
        for (int l; (l = next_warning(&w, &line)) >= 0;) {
                _cleanup_free_ char *text = strndup(line, l);
                fprintf(stderr, "%s: warning: %s: %s\n", tool_prog, qpci_dev_get_bdf(d), text ? tool_esc(text) : "");
        }
}

/* One row of the table: cells point into the device, the inventory's names, or the row itself. */
enum { COL_ID, COL_SBDF, COL_DESC, COL_STATE, COL_GROUP, COL_RESET, COL_STRICT, COL_USED_BY, N_COLS };

struct row {
        const char *cell[N_COLS];
        char id[QPCI_IDENT_MAX + 8], state[128], group[16], reset[128];
};

/* "host: e1000e", "hidden: vfio-pci (by qpci, from e1000e)", "hidden: pciback", "free". */
static const char *state_text(const struct qpci_dev *d, char *buf, size_t size) {
        const char *from = tool_esc(qpci_dev_get_hidden_from(d)), *driver = tool_esc(qpci_dev_get_driver(d));
        unsigned pciback = qpci_dev_get_pciback(d);
        int n = 0;

        switch (qpci_dev_get_state(d)) {
        case QPCI_STATE_HOST:
                n = snprintf(buf, size, "host: %s", driver);
                break;
        case QPCI_STATE_HIDDEN:
                if (from)
                        n = snprintf(buf, size, "hidden: %s (by qpci, from %s)", driver, from[0] ? from : "no driver");
                else
                        n = snprintf(buf, size, "hidden: %s", driver);
                break;
        case QPCI_STATE_FREE:
                n = snprintf(buf, size, "free");
                break;
        }
        /* pciback's own lists: a device in its slots is seized by it at the next probe. */
        if ((pciback & QPCI_PCIBACK_SLOT) && !streq(qpci_dev_get_driver(d) ? qpci_dev_get_driver(d) : "", "pciback"))
                n += snprintf(buf + n, (size_t)n < size ? size - n : 0, ", in pciback's slots");
        if (pciback & QPCI_PCIBACK_PERMISSIVE)
                snprintf(buf + n, (size_t)n < size ? size - n : 0, ", permissive");
        return buf;
}

static void fill_row(struct qpci_dev *d, const char *used_by, struct row *r) {
        snprintf(r->id, sizeof(r->id), "dom0:%s", qpci_dev_get_ident(d));
        snprintf(r->group, sizeof(r->group), "%d", qpci_dev_get_iommu_group(d));
        r->cell[COL_ID] = r->id;
        r->cell[COL_SBDF] = qpci_dev_get_bdf(d);
        r->cell[COL_DESC] = tool_esc(qpci_dev_get_description(d));
        r->cell[COL_STATE] = state_text(d, r->state, sizeof(r->state));
        r->cell[COL_GROUP] = qpci_dev_get_iommu_group(d) >= 0 ? r->group : "-";
        r->cell[COL_RESET] = reset_list(qpci_dev_get_reset_methods(d), r->reset, sizeof(r->reset));
        r->cell[COL_STRICT] = qpci_dev_has_strict_reset(d) ? "yes" : "no";
        r->cell[COL_USED_BY] = tool_esc(used_by);
}

/* Aligned as Qubes' `column -t`: two spaces between columns, nothing after the last text. */
static bool col_hidden(int c, bool verbose, bool sbdf) {
        return (!verbose && c > COL_DESC && c < COL_USED_BY) || (!sbdf && c == COL_SBDF);
}

static void print_row(const struct row *r, const size_t *width, bool verbose, bool sbdf) {
        int last = COL_USED_BY;

        while (last > 0 && (!*r->cell[last] || col_hidden(last, verbose, sbdf)))
                last--;
        for (int c = 0; c <= last; c++) {
                if (col_hidden(c, verbose, sbdf))
                        continue;
                if (c < last)
                        printf("%-*s  ", (int)width[c], r->cell[c]);
                else
                        fputs(r->cell[c], stdout);
        }
        putchar('\n');
}

/* Two passes over the devices, widths then rows: no copy of the table is ever held. */
/* Rows for the VMs named (none: every device). */
static bool shown(const struct used_by *u, struct qpci_dev *d, int n_vms, char **vms) {
        for (int i = 0; i < n_vms; i++)
                if (used_by_vm_has(u, vms[i], qpci_dev_get_addr(d)))
                        return true;
        return n_vms == 0;
}

static int do_list(struct qpci_inventory *inv, const struct used_by *u, int n_vms, char **vms, bool verbose,
                   bool as_json, bool quiet, bool sbdf) {
        static const struct row header = {.cell = {"BACKEND:DEVID", "SBDF", "DESCRIPTION", "STATE", "IOMMU", "RESET",
                                                    "STRICT", "USED BY"}};
        size_t n = qpci_inventory_count(inv), width[N_COLS] = {0};
        /* Qubes prints the header only for a person, so scripts can read rows directly. */
        bool head = isatty(STDOUT_FILENO);
        struct row r;

        for (size_t i = 0; i < n && !quiet; i++)
                if (shown(u, qpci_inventory_get(inv, i), n_vms, vms))
                        print_warnings(qpci_inventory_get(inv, i));
        if (as_json) {
                struct json j;
                json_init(&j, stdout);
                json_begin_array(&j, NULL);
                for (size_t i = 0; i < n; i++)
                        if (shown(u, qpci_inventory_get(inv, i), n_vms, vms))
                                json_dev(&j, qpci_inventory_get(inv, i), NULL, u);
                json_end_array(&j);
                json_finish(&j);
                return 0;
        }
        for (size_t i = 0; i < n + head; i++) {
                const struct row *p = &header;
                if (i < n) {
                        if (!shown(u, qpci_inventory_get(inv, i), n_vms, vms))
                                continue;
                        fill_row(qpci_inventory_get(inv, i), used_by_text(u, i), &r);
                        p = &r;
                }
                for (int c = 0; c < N_COLS; c++) {
                        size_t l = strlen(p->cell[c]);
                        if (l > width[c])
                                width[c] = l;
                }
        }
        if (head)
                print_row(&header, width, verbose, sbdf);
        for (size_t i = 0; i < n; i++) {
                if (!shown(u, qpci_inventory_get(inv, i), n_vms, vms))
                        continue;
                fill_row(qpci_inventory_get(inv, i), used_by_text(u, i), &r);
                print_row(&r, width, verbose, sbdf);
        }
        return 0;
}

/* A line for a person: past max it says how many more (--json lists them all). */
static void print_refs(const char *label, const struct qpci_dev *d,
                       struct qpci_dev *(*next)(const struct qpci_dev *, const struct qpci_dev *), size_t max) {
        size_t i = 0;

        printf("  %-14s", label);
        for (struct qpci_dev *p = next(d, NULL); p; p = next(d, p), i++)
                if (i < max)
                        printf("%sdom0:%s", i ? ", " : "", qpci_dev_get_ident(p));
        if (i > max)
                printf(", and %zu more", i - max);
        printf("\n");
}

static int do_info(struct qpci_dev *d, const char *used, const struct used_by *u, bool as_json) {
        const char *module = NULL, *w, *line;
        char reset[128];
        size_t n;
        static const char *const sources[] = {"from the kernel", "derived from config space", "unknown"};

        if (as_json) {
                _cleanup_free_ char *deps = NULL;
                struct json j;
                if (qpci_dev_get_host_dependents(d, &deps) < 0) {
                        free(deps); /* what could not be read, not what uses it */
                        deps = NULL;
                }
                json_init(&j, stdout);
                json_dev(&j, d, deps, u);
                json_finish(&j);
                return 0;
        }
        printf("dom0:%s  %s\n", qpci_dev_get_ident(d), qpci_dev_get_bdf(d));
        printf("  %-14s%s\n", "description", tool_esc(qpci_dev_get_description(d)));
        /* What Qubes R4.3's info gives: the port (a PCI path), the device id and the SBDF. */
        printf("  %-14sdom0:%s\n", "port", qpci_dev_get_path(d));
        printf("  %-14s%s\n", "device ID", qpci_dev_get_devid(d));
        printf("  %-14s%s\n", "sbdf", qpci_dev_get_bdf(d));
        printf("  %-14s%04x:%04x, subsystem %04x:%04x, class %06x, revision %02x\n", "ids",
               qpci_dev_get_vendor_id(d), qpci_dev_get_device_id(d), qpci_dev_get_subsystem_vendor_id(d),
               qpci_dev_get_subsystem_device_id(d), qpci_dev_get_class(d), qpci_dev_get_revision(d));
        char state[128];
        printf("  %-14s%s\n", "state", state_text(d, state, sizeof(state)));
        if (*used)
                printf("  %-14s%s\n", "used by", tool_esc(used));
        qpci_dev_get_module(d, &module);
        printf("  %-14s%s\n", "module", module ? tool_esc(module) : "none found for its modalias");
        if (qpci_dev_get_iommu_group(d) < 0)
                printf("  %-14snone (no IOMMU, or it is off)\n", "iommu group");
        else {
                n = qpci_dev_get_group_peer_count(d);
                printf("  %-14s%d%s\n", "iommu group", qpci_dev_get_iommu_group(d), n ? "" : " (alone in it)");
                if (n)
                        print_refs("  group peers", d, qpci_dev_next_group_peer, 64);
        }
        if (qpci_dev_get_sibling_count(d))
                print_refs("siblings", d, qpci_dev_next_sibling, 64);
        if (qpci_dev_get_parent(d))
                printf("  %-14s%02x, behind bridge dom0:%s, with %zu other function(s)\n", "bus",
                       qpci_dev_get_addr(d)->bus, qpci_dev_get_ident(qpci_dev_get_parent(d)),
                       qpci_dev_get_bus_peer_count(d));
        else
                printf("  %-14s%02x, a root bus, with %zu other function(s)\n", "bus", qpci_dev_get_addr(d)->bus,
                       qpci_dev_get_bus_peer_count(d));
        printf("  %-14s%s\n", "type",
               qpci_dev_is_pcie(d) ? qpci_pcie_type_name(qpci_dev_get_pcie_type(d)) : "conventional PCI");
        if (qpci_dev_get_physfn(d))
                printf("  %-14svirtual function of dom0:%s\n", "sr-iov", qpci_dev_get_ident(qpci_dev_get_physfn(d)));
        else if (qpci_dev_is_sriov_pf(d))
                printf("  %-14sphysical function, %u of %u VFs enabled\n", "sr-iov", qpci_dev_get_num_vfs(d),
                       qpci_dev_get_total_vfs(d));
        _cleanup_free_ char *deps = NULL;
        int uses = qpci_dev_get_host_dependents(d, &deps);
        if (uses > 0)
                printf("  %-14s%s\n", "host uses it", tool_esc(deps));
        else if (uses < 0) /* not knowing is not "nothing" */
                printf("  %-14sunknown: %s\n", "host uses it", deps ? tool_esc(deps) : strerror(-uses));
        printf("  %-14s%s (%s)\n", "reset",
               qpci_dev_get_reset_methods(d) ? reset_list(qpci_dev_get_reset_methods(d), reset, sizeof(reset)) : "none",
               sources[qpci_dev_get_reset_source(d)]);
        printf("  %-14s%s: %s\n", "strict reset", qpci_dev_has_strict_reset(d) ? "yes" : "no",
               tool_esc(qpci_dev_get_strict_reset_reason(d)));
        w = qpci_dev_get_warnings(d);
        for (int l; (l = next_warning(&w, &line)) >= 0;) {
                _cleanup_free_ char *text = strndup(line, l);
                printf("  %-14s%s\n", "warning", text ? tool_esc(text) : "");
        }
        return 0;
}

/* R4.3's assignment rows: one per VM and device, "*" before a VM that has it assigned (required),
 * "attached" for a VM that has it now only. */
struct arow {
        char *id, *sbdf, *desc, *vm;
};

static int arow_cmp(const void *a, const void *b) {
        const struct arow *x = a, *y = b;
        int c = strcmp(x->id, y->id);
        return c ? c : strcmp(x->vm, y->vm);
}

static bool vm_selected(const struct pci_run *r, const char *name) {
        for (size_t i = 0; i < r->n_exclude; i++)
                if (streq(r->exclude[i], name))
                        return false;
        if (r->all || r->n == 0)
                return true;
        for (int i = 0; i < r->n; i++)
                if (streq(r->args[i], name))
                        return true;
        return false;
}

static int assignment_row(const struct pci_run *r, const char *vm, const struct qpci_assignment *a, struct arow *row) {
        struct qpci_dev *d;
        int k = qpci_assignment_find(r->inv, a, &d);
        bool other = k == 0 && !qpci_devid_matches(a->devid, d);
        char ident[QPCI_IDENT_MAX];
        const char *port = a->path[0] ? a->path : d ? qpci_dev_get_path(d) : qpci_addr_format_ident(&a->addr, ident);
        const char *nsr = a->no_strict_reset ? "no-strict-reset=True" : "";
        const char *perm = a->permissive ? "permissive=True" : "";
        bool opts = *nsr || *perm;

        if (asprintf(&row->id, "dom0:%s", port) < 0)
                return -ENOMEM;
        if (asprintf(&row->sbdf, "%s", k == 0 ? qpci_dev_get_bdf(d) : a->bdf) < 0)
                return -ENOMEM;
        if (asprintf(&row->desc, "%s%s", streq(a->devid, "*") ? "any device" : a->devid[0] ? a->devid : "(unreadable)",
                     k == -ENOTUNIQ ? " (several devices on this host are it)" : k < 0 ? " (missing from this host)"
                     : other ? " (another device is at its port)" : "") < 0)
                return -ENOMEM;
        if (asprintf(&row->vm, "%s%s (%s%s%s%s%s)", a->persistent ? "*" : "", vm,
                     a->persistent ? "required" : "attached", opts ? ": " : "", nsr, *nsr && *perm ? ", " : "",
                     perm) < 0)
                row->vm = NULL;
        return row->vm ? 0 : -ENOMEM;
}

static void arows_free(struct arow *rows, size_t n) {
        for (size_t i = 0; rows && i < n; i++) {
                free(rows[i].id);
                free(rows[i].sbdf);
                free(rows[i].desc);
                free(rows[i].vm);
        }
        free(rows);
}

/* list -s --json: one object per VM and assignment, the VM's name in each. */
static int assignments_json(const struct pci_run *r) {
        const struct used_by *u = &r->used;
        struct json j;

        json_init(&j, stdout);
        json_begin_array(&j, NULL);
        for (size_t i = 0; i < u->n_entries; i++) {
                const char *name = qpci_vm_get_name(u->entries[i].vm);
                if (!vm_selected(r, name))
                        continue;
                for (size_t k = 0; k < u->entries[i].n; k++) {
                        json_begin_object(&j, NULL);
                        json_string(&j, "vm", name);
                        json_bool(&j, "running", qpci_vm_get_state(u->entries[i].vm) == QPCI_VM_RUNNING);
                        json_assignment(&j, "assignment", r->inv, &u->entries[i].assignments[k]);
                        json_end_object(&j);
                }
        }
        json_end_array(&j);
        json_finish(&j);
        return 0;
}

static int do_assignments(const struct pci_run *r) {
        const struct used_by *u = &r->used;
        struct arow *rows = NULL;
        bool head = isatty(STDOUT_FILENO);
        /* Aligned as Qubes' column -t: the header counts only when it is printed. */
        size_t n = 0, w[3] = {head ? strlen("BACKEND:DEVID") : 0, head ? strlen("SBDF") : 0,
                              head ? strlen("DESCRIPTION") : 0};
        int k = 0;

        for (size_t i = 0; i < u->n_entries && k == 0; i++) {
                const char *name = qpci_vm_get_name(u->entries[i].vm);
                if (!vm_selected(r, name))
                        continue;
                for (size_t j = 0; j < u->entries[i].n && k == 0; j++) {
                        struct arow *nr = reallocarray(rows, n + 1, sizeof(*rows));
                        if (!nr) {
                                k = -ENOMEM;
                                break;
                        }
                        rows = nr;
                        rows[n] = (struct arow){0};
                        k = assignment_row(r, name, &u->entries[i].assignments[j], &rows[n]);
                        n++;
                }
        }
        if (k < 0) {
                arows_free(rows, n);
                return tool_failed(k);
        }
        if (n)
                qsort(rows, n, sizeof(*rows), arow_cmp);
        for (size_t i = 0; i < n; i++) {
                size_t l[3] = {strlen(rows[i].id), strlen(rows[i].sbdf), strlen(tool_esc(rows[i].desc))};
                for (int c = 0; c < 3; c++)
                        if (l[c] > w[c])
                                w[c] = l[c];
        }
        if (head) {
                printf("%-*s  ", (int)w[0], "BACKEND:DEVID");
                if (r->with_sbdf)
                        printf("%-*s  ", (int)w[1], "SBDF");
                printf("%-*s  USED BY\n", (int)w[2], "DESCRIPTION");
        }
        for (size_t i = 0; i < n; i++) {
                printf("%-*s  ", (int)w[0], rows[i].id);
                if (r->with_sbdf)
                        printf("%-*s  ", (int)w[1], rows[i].sbdf);
                printf("%-*s  ", (int)w[2], tool_esc(rows[i].desc));
                printf("%s\n", tool_esc(rows[i].vm));
        }
        arows_free(rows, n);
        return 0;
}

int pci_cmd_list(struct pci_run *r) {
        _cleanup_free_ char **vms = NULL;
        int n_vms = 0;

        /* Every VM named must exist: a typo is not an empty list. */
        for (int i = 0; i < r->n; i++) {
                struct qpci_vm *vm;
                if (qpci_virt_find_vm(r->virt, r->args[i], &vm) < 0)
                        return EXIT_USAGE;
        }
        for (size_t i = 0; i < r->n_exclude; i++) {
                struct qpci_vm *vm;
                if (qpci_virt_find_vm(r->virt, r->exclude[i], &vm) < 0)
                        return EXIT_USAGE;
        }
        if (r->assignments)
                return r->as_json ? assignments_json(r) : do_assignments(r);
        if (!r->all && r->n_exclude == 0)
                return do_list(r->inv, &r->used, r->n, r->args, r->verbose, r->as_json, r->quiet, r->with_sbdf);
        /* --all, --exclude: the devices of every VM but those excluded. */
        vms = calloc(r->used.n_entries + 1, sizeof(*vms));
        if (!vms)
                return tool_failed(-ENOMEM);
        for (size_t i = 0; i < r->used.n_entries; i++) {
                const char *name = qpci_vm_get_name(r->used.entries[i].vm);
                if (vm_selected(r, name))
                        vms[n_vms++] = (char *)name;
        }
        if (n_vms == 0)
                return 0;
        return do_list(r->inv, &r->used, n_vms, vms, r->verbose, r->as_json, r->quiet, r->with_sbdf);
}

/* R4.3's info without a device: every device's, one after another (--json: one array). */
static int info_all(struct pci_run *r) {
        size_t n = qpci_inventory_count(r->inv);
        struct json j;

        if (!r->as_json) {
                for (size_t i = 0; i < n; i++) {
                        struct qpci_dev *d = qpci_inventory_get(r->inv, i);
                        if (i)
                                putchar('\n');
                        do_info(d, used_by_dev(&r->used, r->inv, d), &r->used, false);
                }
                return 0;
        }
        json_init(&j, stdout);
        json_begin_array(&j, NULL);
        for (size_t i = 0; i < n; i++) {
                struct qpci_dev *d = qpci_inventory_get(r->inv, i);
                _cleanup_free_ char *deps = NULL;
                if (qpci_dev_get_host_dependents(d, &deps) < 0) {
                        free(deps); /* what could not be read, not what uses it */
                        deps = NULL;
                }
                json_dev(&j, d, deps, &r->used);
        }
        json_end_array(&j);
        json_finish(&j);
        return 0;
}

int pci_cmd_info(struct pci_run *r) {
        struct qpci_dev *d;
        int k;

        if (r->n == 0)
                return info_all(r);
        if ((k = pci_lookup(r, r->args[0], &d)))
                return k;
        return do_info(d, used_by_dev(&r->used, r->inv, d), &r->used, r->as_json);
}
