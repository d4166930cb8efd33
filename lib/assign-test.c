/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Qubes' rules for giving a device to a VM (rules.c), each on its own, over inventories of fixture
 * trees and without libvirt: which running VM has which device is a table here. Large IOMMU groups
 * (a PCIe switch without ACS) are checked whole, every peer named in a refusal.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "qpci-internal.h"

struct host {
        char root[64];
        struct qpci_ctx *ctx;
        struct qpci_inventory *inv;
        char *err; /* the last error logged, whole */
};

static void keep_error(void *data, int priority, const char *fmt, va_list ap) {
        struct host *h = data;
        if (priority != QPCI_LOG_ERR)
                return;
        free(h->err);
        assert_true(vasprintf(&h->err, fmt, ap) >= 0);
}

/* A host from topology text (tmpfs: large trees cost little there). */
static struct host *host_new(const char *topology) {
        struct host *h = calloc(1, sizeof(*h));
        char topo[128], cmd[512];
        FILE *f;

        assert_non_null(h);
        strcpy(h->root, "/dev/shm/qpci-rules-XXXXXX");
        assert_non_null(mkdtemp(h->root));
        snprintf(topo, sizeof(topo), "%s.topo", h->root);
        assert_non_null(f = fopen(topo, "w"));
        fputs(topology, f);
        fclose(f);
        snprintf(cmd, sizeof(cmd), "python3 %s/tests/fixture/mkfixture.py --force %s %s", QPCI_SOURCE_ROOT, topo,
                 h->root);
        assert_int_equal(system(cmd), 0);
        unlink(topo);
        assert_int_equal(qpci_new(h->root, &h->ctx), 0);
        qpci_set_log_fn(h->ctx, keep_error, h);
        assert_int_equal(qpci_inventory_new(h->ctx, &h->inv), 0);
        return h;
}

static struct host *host_from_file(const char *name) {
        char path[256], *text;
        FILE *f;
        long n;

        snprintf(path, sizeof(path), "%s/tests/topologies/%s.topo", QPCI_SOURCE_ROOT, name);
        assert_non_null(f = fopen(path, "r"));
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        rewind(f);
        assert_non_null(text = calloc(1, n + 1));
        assert_int_equal(fread(text, 1, n, f), n);
        fclose(f);
        struct host *h = host_new(text);
        free(text);
        return h;
}

static void host_free(struct host *h) {
        char cmd[128];

        qpci_inventory_unref(h->inv);
        qpci_unref(h->ctx);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", h->root);
        assert_int_equal(system(cmd), 0);
        free(h->err);
        free(h);
}

static struct qpci_dev *dev(struct host *h, const char *id) {
        struct qpci_dev *d = NULL;
        if (qpci_inventory_lookup(h->inv, id, &d, NULL) < 0)
                fail_msg("%s: no such device in the fixture", id);
        return d;
}

/* What the driver link would say after a hide: the rules read the inventory only. */
static void set_driver(struct qpci_dev *d, const char *drv) {
        free(d->driver);
        d->driver = drv ? strdup(drv) : NULL;
}

static struct qpci_assignment assignment(struct qpci_dev *d) {
        struct qpci_assignment a = {
                .addr = *qpci_dev_get_addr(d),
                .vendor_id = qpci_dev_get_vendor_id(d),
                .device_id = qpci_dev_get_device_id(d),
                .persistent = true,
        };
        snprintf(a.bdf, sizeof(a.bdf), "%s", qpci_dev_get_bdf(d));
        snprintf(a.path, sizeof(a.path), "%s", qpci_dev_get_path(d));
        snprintf(a.devid, sizeof(a.devid), "%s", qpci_dev_get_devid(d));
        return a;
}

/* Running VMs and the one device each has, by BDF; or a running VM whose devices libvirt cannot
 * tell (unreadable). */
struct users {
        const char *bdf[4], *vm[4];
        bool unreadable;
};

static int user_of(const struct qpci_addr *addr, void *data, const char **vm) {
        const struct users *u = data;
        char bdf[QPCI_BDF_MAX];

        if (u->unreadable)
                return -EIO;
        qpci_addr_format_bdf(addr, bdf);
        for (size_t i = 0; i < ELEMENTSOF(u->bdf) && u->bdf[i]; i++)
                if (streq(u->bdf[i], bdf)) {
                        *vm = u->vm[i];
                        return 1;
                }
        return 0;
}

static struct qpci_rules rules_for(struct host *h, const struct qpci_assignment *set, size_t n, struct users *u) {
        return (struct qpci_rules){
                .ctx = h->ctx,
                .inv = h->inv,
                .vm = "sys-gpu",
                .set = set,
                .n = n,
                .strict = true,
                .vfio = true,
                .user_of = user_of,
                .user_data = u,
        };
}

static void expect_error(struct host *h, const char *part) {
        if (!h->err || !strstr(h->err, part))
                fail_msg("want an error with '%s', got '%s'", part, h->err ? h->err : "(none)");
        free(h->err);
        h->err = NULL;
}

/* The device is there, and it is the card that was assigned, at the port it was assigned. */
static void test_same_card(void **state) {
        struct host *h = host_from_file("gpu-switch");
        struct qpci_dev *nvme = dev(h, "04:00.0"), *d;
        struct qpci_assignment a = assignment(nvme);
        struct users u = {0};
        struct qpci_rules r = rules_for(h, &a, 1, &u);
        (void)state;

        assert_string_equal(a.path, "00_01.0-00_00.0-00_01.0-00_00.0");
        assert_int_equal(qpci_rule_present(&r, &a, &d), 0);
        assert_ptr_equal(d, nvme);
        assert_int_equal(qpci_rule_same_card(&r, &a, nvme), 0);
        assert_int_equal(qpci_rules_check(&r, &a, true), 0);

        struct qpci_assignment gone = a;
        snprintf(gone.path, sizeof(gone.path), "00_01.0-00_00.0-00_07.0-00_00.0");
        assert_int_equal(qpci_rule_present(&r, &gone, &d), -ENODEV);
        expect_error(h, "dom0:00_01.0-00_00.0-00_07.0-00_00.0 is assigned to sys-gpu, but the host has no such "
                        "device: unassign it (qvm-pci unassign sys-gpu dom0:00_01.0-00_00.0-00_07.0-00_00.0)");
        /* No port recorded (a <hostdev> of virsh's): the device at its address. */
        gone.path[0] = '\0';
        assert_int_equal(qpci_addr_parse("0000:09:00.0", &gone.addr, NULL), 0);
        assert_int_equal(qpci_rule_present(&r, &gone, &d), -ENODEV);
        expect_error(h, "dom0:09_00.0 is assigned to sys-gpu, but the host has no such device");

        /* Another device at the port: what was expected and what is there are named. */
        struct qpci_assignment other = a;
        snprintf(other.devid, sizeof(other.devid), "0x144d:0xa809::p010802");
        assert_int_equal(qpci_rule_same_card(&r, &other, nvme), -ESTALE);
        expect_error(h, "dom0:00_01.0-00_00.0-00_01.0-00_00.0 holds 0x144d:0xa808::p010802, not the "
                        "0x144d:0xa809::p010802 that was assigned to sys-gpu");
        /* Recorded by an older qpci without the class: any class. */
        snprintf(other.devid, sizeof(other.devid), "0x144d:0xa808::*");
        assert_int_equal(qpci_rule_same_card(&r, &other, nvme), 0);
        /* A port alone takes whatever is there. */
        snprintf(other.devid, sizeof(other.devid), "*");
        assert_int_equal(qpci_rule_same_card(&r, &other, nvme), 0);
        /* An unreadable record is never taken for a match. */
        other.devid[0] = '\0';
        assert_int_equal(qpci_rule_same_card(&r, &other, nvme), -ESTALE);
        expect_error(h, "cannot be read");

        /* A device id alone: the device wherever it is, refused when the host has none or several. */
        struct qpci_assignment by_id = a;
        snprintf(by_id.path, sizeof(by_id.path), "*");
        assert_int_equal(qpci_addr_parse("0000:09:00.0", &by_id.addr, NULL), 0);
        assert_int_equal(qpci_rule_present(&r, &by_id, &d), 0);
        assert_ptr_equal(d, nvme);
        snprintf(by_id.devid, sizeof(by_id.devid), "0x144d:0xa809::p010802");
        assert_int_equal(qpci_rule_present(&r, &by_id, &d), -ENODEV);
        expect_error(h, "sys-gpu is assigned the device 0x144d:0xa809::p010802 wherever it is, but the host has none");
        snprintf(by_id.devid, sizeof(by_id.devid), "0x10b5:0x8747::*");
        assert_int_equal(qpci_rule_present(&r, &by_id, &d), -ENOTUNIQ);
        expect_error(h, "and the host has several: qpci cannot tell which one sys-gpu should get");
        host_free(h);
}

/* A card at the end of a chain of 12 bridges (a Thunderbolt dock on a dock), reached through
 * downstream port 0a:0<port>.0 near the end of the chain. */
static struct host *deep_chain(unsigned port) {
        char topo[4096];
        size_t len = snprintf(topo, sizeof(topo), "dev 0000:00:01.0 8086:1901 class=060400 bridge=01-0c "
                                                  "pcie=root_port group=1\n");

        for (unsigned bus = 1; bus <= 0x0b; bus++) {
                char parent[16] = "00:01.0";
                if (bus > 1)
                        snprintf(parent, sizeof(parent), "%02x:%02x.0", bus - 1, bus - 1 == 0x0a ? port : 0);
                len += snprintf(topo + len, sizeof(topo) - len, "dev 0000:%02x:%02x.0 8086:15da class=060400 "
                                "bridge=%02x-0c parent=0000:%s pcie=downstream group=%u\n", bus,
                                bus == 0x0a ? port : 0, bus + 1, parent, bus + 1);
        }
        len += snprintf(topo + len, sizeof(topo) - len, "dev 0000:0c:00.0 144d:a808 class=010802 parent=0000:0b:00.0 "
                        "driver=nvme pcie=endpoint flr reset=flr group=20\n");
        assert_true(len < sizeof(topo));
        return host_new(topo);
}

/* However deep the card sits, its whole path is its port: the same BDF behind another downstream
 * port near the end of the chain is not the port that was assigned. */
static void test_same_card_deep(void **state) {
        struct host *h = deep_chain(0), *moved = deep_chain(1);
        struct qpci_assignment a = assignment(dev(h, "0c:00.0"));
        struct users u = {0};
        struct qpci_rules r = rules_for(moved, &a, 1, &u);
        struct qpci_dev *d;
        (void)state;

        assert_int_equal(strlen(a.path), 7 + 12 * 8);
        assert_string_equal(a.path + strlen(a.path) - 16, "-00_00.0-00_00.0");
        assert_int_equal(qpci_rule_present(&r, &a, &d), -ENODEV);
        expect_error(moved, "but the host has no such device");
        r = rules_for(h, &a, 1, &u);
        assert_int_equal(qpci_rule_present(&r, &a, &d), 0);
        assert_ptr_equal(d, dev(h, "0c:00.0"));
        host_free(h);
        host_free(moved);
}

static void test_bridge(void **state) {
        struct host *h = host_from_file("gpu-switch");
        struct qpci_dev *port = dev(h, "02:00.0");
        struct qpci_assignment a = assignment(port);
        struct users u = {0};
        struct qpci_rules r = rules_for(h, &a, 1, &u);
        (void)state;

        assert_int_equal(qpci_rule_not_bridge(&r, port), -EINVAL);
        expect_error(h, "dom0:02_00.0 is a PCI bridge: bridges stay with the host");
        /* Even where the other rules are not checked yet (a halted VM's persistent attach). */
        assert_int_equal(qpci_rules_check(&r, &a, false), -EINVAL);
        assert_int_equal(qpci_rule_not_bridge(&r, dev(h, "04:00.0")), 0);
        host_free(h);
}

static void test_one_vm(void **state) {
        struct host *h = host_from_file("gpu-switch");
        struct qpci_dev *nvme = dev(h, "04:00.0");
        struct qpci_assignment a = assignment(nvme);
        struct users u = {.bdf = {"0000:04:00.0"}, .vm = {"sys-net"}};
        struct qpci_rules r = rules_for(h, &a, 1, &u);
        (void)state;

        assert_int_equal(qpci_rule_one_vm(&r, nvme), -EBUSY);
        expect_error(h, "dom0:04_00.0 is in use by the running VM sys-net: a device serves one running VM at a time; "
                        "shut sys-net down first (qvm-shutdown sys-net)");
        /* The same refusal for a program: its code and its parts, the line whole beside them. */
        const struct qpci_error *e = qpci_get_error(h->ctx);
        assert_non_null(e);
        assert_string_equal(e->code, "in-use");
        assert_int_equal(e->errnum, EBUSY);
        assert_string_equal(e->error, "dom0:04_00.0 is in use by the running VM sys-net");
        assert_string_equal(e->reason, "a device serves one running VM at a time");
        assert_string_equal(e->fix, "shut sys-net down first (qvm-shutdown sys-net)");
        assert_string_equal(e->message, "dom0:04_00.0 is in use by the running VM sys-net: a device serves one running "
                                        "VM at a time; shut sys-net down first (qvm-shutdown sys-net)");
        /* The first failure stays the context's until it is cleared: the cause, not what followed. */
        assert_int_equal(qpci_rule_not_bridge(&r, dev(h, "02:00.0")), -EINVAL);
        assert_string_equal(qpci_get_error(h->ctx)->code, "in-use");
        qpci_clear_error(h->ctx);
        assert_null(qpci_get_error(h->ctx));
        assert_int_equal(qpci_rule_not_bridge(&r, dev(h, "02:00.0")), -EINVAL);
        assert_string_equal(qpci_get_error(h->ctx)->code, "bridge");
        assert_null(qpci_get_error(h->ctx)->fix);
        qpci_clear_error(h->ctx);
        assert_int_equal(qpci_rules_check(&r, &a, true), -EBUSY);
        /* At a persistent attach to a halted VM, another VM's use is no reason to refuse. */
        assert_int_equal(qpci_rules_check(&r, &a, false), 0);
        u.bdf[0] = NULL;
        assert_int_equal(qpci_rule_one_vm(&r, nvme), 0);
        /* Whether a running VM has it cannot be told: not given, rather than taken as unused. */
        u.unreadable = true;
        assert_int_equal(qpci_rule_one_vm(&r, nvme), -EIO);
        assert_int_equal(qpci_rules_check(&r, &a, true), -EIO);
        assert_int_equal(qpci_rules_check(&r, &a, false), 0);
        host_free(h);
}

/* The functions of one device go to one VM, unless the VM does without a strict reset. */
static void test_functions_together(void **state) {
        struct host *h = host_from_file("gpu-switch");
        struct qpci_dev *gpu = dev(h, "03:00.0"), *audio = dev(h, "03:00.1");
        struct qpci_assignment set[2] = {assignment(audio), assignment(gpu)};
        struct users u = {0};
        struct qpci_rules r = rules_for(h, set, 1, &u);
        (void)state;

        assert_int_equal(qpci_rule_functions_together(&r, audio), -EBUSY);
        expect_error(h, "dom0:03_00.1 is a function of a multi-function device whose dom0:03_00.0 is on the host "
                        "(driver nouveau): assign all its functions to sys-gpu (qvm-pci attach -p sys-gpu dom0:03_00.0), "
                        "hide that one (qvm-pci hide dom0:03_00.0), or attach with -o no-strict-reset=True");
        r.strict = false;
        assert_int_equal(qpci_rule_functions_together(&r, audio), 0);
        r.strict = true;
        /* Both the VM's: fine. */
        r.n = 2;
        assert_int_equal(qpci_rule_functions_together(&r, audio), 0);
        r.n = 1;
        /* Hidden and unused: fine; free with no driver: refused; in another running VM: refused. */
        set_driver(gpu, "vfio-pci");
        assert_int_equal(qpci_rule_functions_together(&r, audio), 0);
        u.bdf[0] = "0000:03:00.0", u.vm[0] = "games";
        assert_int_equal(qpci_rule_functions_together(&r, audio), -EBUSY);
        expect_error(h, "whose dom0:03_00.0 is in use by the running VM games: all its functions go to one VM; shut "
                        "games down, or attach with -o no-strict-reset=True");
        u.bdf[0] = NULL;
        u.unreadable = true;
        assert_int_equal(qpci_rule_functions_together(&r, audio), -EIO);
        u.unreadable = false;
        set_driver(gpu, NULL);
        assert_int_equal(qpci_rule_functions_together(&r, audio), -EBUSY);
        expect_error(h, "whose dom0:03_00.0 is free, with no driver");
        /* A device of one function has nothing to keep together. */
        assert_int_equal(qpci_rule_functions_together(&r, dev(h, "04:00.0")), 0);
        host_free(h);
}

static void test_strict_reset(void **state) {
        struct host *h = host_from_file("gpu-switch");
        struct qpci_dev *gpu = dev(h, "03:00.0"), *audio = dev(h, "03:00.1");
        struct qpci_assignment set[2] = {assignment(gpu), assignment(audio)};
        struct users u = {0};
        struct qpci_rules r = rules_for(h, set, 2, &u);
        (void)state;

        assert_int_equal(qpci_rule_strict_reset(&r, gpu), -EPERM);
        expect_error(h, "dom0:03_00.0 has no reliable reset, so a VM could leave it in a state that attacks the next one: "
                        "no FLR");
        /* The fix is the error's own even where the line's reason says it in other words. */
        assert_string_equal(qpci_get_error(h->ctx)->code, "no-reset");
        assert_string_equal(qpci_get_error(h->ctx)->error, "dom0:03_00.0 has no reliable reset");
        assert_non_null(strstr(qpci_get_error(h->ctx)->fix, "no-strict-reset=True"));
        assert_int_equal(qpci_rule_strict_reset(&r, audio), 0);
        assert_int_equal(qpci_rules_check(&r, &set[0], false), -EPERM);
        r.strict = false;
        assert_int_equal(qpci_rule_strict_reset(&r, gpu), 0);
        /* Without a strict reset the whole set passes: one group, both functions the VM's. */
        assert_int_equal(qpci_rules_check(&r, &set[0], true), 0);
        host_free(h);
}

/* n functions in one IOMMU group, one per slot across as many root buses as they need, each on
 * the host's e1000e, and a switch port without ACS in the group too (bridges stay with the host). */
static struct host *large_group(size_t n) {
        size_t size = 64 + n * 128, len;
        char *topo = malloc(size);

        assert_non_null(topo);
        len = snprintf(topo, size, "dev 0000:0f:00.0 10b5:8747 class=060400 driver=pcieport bridge=f0-f0 "
                                   "pcie=downstream group=7\n");
        for (size_t i = 0; i < n; i++)
                len += snprintf(topo + len, size - len, "dev 0000:%02zx:%02zx.0 8086:10d3 class=020000 driver=e1000e "
                                "pcie=endpoint flr reset=flr group=7\n", 0x10 + i / 32, i % 32);
        assert_true(len < size);
        struct host *h = host_new(topo);
        free(topo);
        assert_int_equal(qpci_inventory_count(h->inv), n + 1);
        return h;
}

/* The i-th function of large_group (the switch port sorts first). */
static struct qpci_dev *nic(struct host *h, size_t i) {
        return qpci_inventory_get(h->inv, i + 1);
}

/* VFIO never splits a group: every peer the host uses is checked and named, however many. */
static void test_group_whole(void **state) {
        static const size_t sizes[] = {1, 64, 65, 72, 300};
        (void)state;

        for (size_t s = 0; s < ELEMENTSOF(sizes); s++) {
                size_t n = sizes[s];
                struct host *h = large_group(n);
                struct qpci_assignment *set = calloc(n, sizeof(*set));
                struct users u = {0};
                struct qpci_rules r = rules_for(h, set, 1, &u);
                struct qpci_dev *first = nic(h, 0), *last = nic(h, n - 1);
                char named[128];

                assert_non_null(set);
                for (size_t i = 0; i < n; i++)
                        set[i] = assignment(nic(h, i));
                assert_int_equal(qpci_dev_get_group_peer_count(first), n);
                if (n == 1) {
                        /* Alone but for a bridge: nothing to split. */
                        assert_int_equal(qpci_rule_group_whole(&r, first), 0);
                        assert_int_equal(qpci_rules_check(&r, &set[0], true), 0);
                        free(set);
                        host_free(h);
                        continue;
                }
                /* All the others on the host: refused, each named once, the bridge not. */
                assert_int_equal(qpci_rule_group_whole(&r, first), -EBUSY);
                assert_non_null(h->err);
                for (size_t i = 1; i < n; i++) {
                        snprintf(named, sizeof(named), "dom0:%s (driver e1000e)",
                                 qpci_dev_get_ident(nic(h, i)));
                        const char *at = strstr(h->err, named);
                        if (!at || strstr(at + 1, named))
                                fail_msg("group of %zu: '%s' not named exactly once in: %s", n, named, h->err);
                }
                assert_null(strstr(h->err, "0f_00.0"));
                if (n == 2)
                        expect_error(h, "which the host uses (driver e1000e): VFIO never splits a group between a VM "
                                        "and the host; assign it to sys-gpu too, or hide it (qvm-pci hide dom0:");
                else {
                        snprintf(named, sizeof(named), "shares IOMMU group 7 with %zu devices the host uses: ", n - 1);
                        expect_error(h, named);
                }
                /* All the VM's: fine. */
                r.n = n;
                assert_int_equal(qpci_rule_group_whole(&r, first), 0);
                assert_int_equal(qpci_rules_check(&r, &set[0], true), 0);
                r.n = 1;
                /* All hidden but the last one: that one is still checked, and named alone. */
                for (size_t i = 1; i + 1 < n; i++)
                        set_driver(nic(h, i), "vfio-pci");
                assert_int_equal(qpci_rule_group_whole(&r, first), -EBUSY);
                snprintf(named, sizeof(named), "shares IOMMU group 7 with dom0:%s, which the host uses",
                         qpci_dev_get_ident(last));
                expect_error(h, named);
                /* Hidden too, but a running VM has it. */
                set_driver(last, "vfio-pci");
                assert_int_equal(qpci_rule_group_whole(&r, first), 0);
                u.bdf[0] = qpci_dev_get_bdf(last), u.vm[0] = "sys-net";
                assert_int_equal(qpci_rule_group_whole(&r, first), -EBUSY);
                snprintf(named, sizeof(named), "with dom0:%s, which the running VM sys-net has",
                         qpci_dev_get_ident(last));
                expect_error(h, named);
                u.bdf[0] = NULL, u.unreadable = true;
                assert_int_equal(qpci_rule_group_whole(&r, first), -EIO);
                /* On a Xen dom0 (pciback) groups do not bind: no refusal. */
                r.vfio = false;
                assert_int_equal(qpci_rule_group_whole(&r, first), 0);
                free(set);
                host_free(h);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_same_card),
                cmocka_unit_test(test_same_card_deep),
                cmocka_unit_test(test_bridge),
                cmocka_unit_test(test_one_vm),
                cmocka_unit_test(test_functions_together),
                cmocka_unit_test(test_strict_reset),
                cmocka_unit_test(test_group_whole),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
