/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The inventory on fixture hosts built from tests/topologies/ at test time: relations, odd sysfs,
 * names, modules, and USB controllers, each as a real kernel lays them out.
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
        char *log;
        size_t log_len;
};

static void capture_log(void *data, int priority, const char *fmt, va_list args) {
        struct host *h = data;
        char line[512];
        int n;
        (void)priority;
        n = vsnprintf(line, sizeof(line), fmt, args);
        h->log = realloc(h->log, h->log_len + n + 2);
        assert_non_null(h->log);
        memcpy(h->log + h->log_len, line, n);
        h->log_len += n;
        h->log[h->log_len++] = '\n';
        h->log[h->log_len] = '\0';
}

static struct host *host_new(const char *topology) {
        struct host *h = calloc(1, sizeof(*h));
        char cmd[512];

        assert_non_null(h);
        strcpy(h->root, "/tmp/qpci-inv-XXXXXX");
        assert_non_null(mkdtemp(h->root));
        /* (Built in two steps: GCC's UBSan build misjudges a fourth %s as possibly null.) */
        int n = snprintf(cmd, sizeof(cmd), "python3 %s/tests/fixture/mkfixture.py --force %s/tests/topologies/%s.topo ",
                         QPCI_SOURCE_ROOT, QPCI_SOURCE_ROOT, topology);
        assert_true(n > 0 && (size_t)n + strlen(h->root) + 6 < sizeof(cmd));
        strcat(strcat(cmd, h->root), "/root");
        assert_int_equal(system(cmd), 0);
        strcat(h->root, "/root");
        assert_int_equal(qpci_new(h->root, &h->ctx), 0);
        qpci_set_log_fn(h->ctx, capture_log, h);
        assert_int_equal(qpci_set_pci_ids(h->ctx, QPCI_SOURCE_ROOT "/tests/data/pci.ids"), 0);
        assert_int_equal(qpci_inventory_new(h->ctx, &h->inv), 0);
        return h;
}

static void host_free(struct host *h) {
        char cmd[128];
        qpci_inventory_unref(h->inv);
        qpci_unref(h->ctx);
        h->root[strlen(h->root) - strlen("/root")] = '\0';
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", h->root);
        assert_int_equal(system(cmd), 0);
        free(h->log);
        free(h);
}

static struct qpci_dev *dev(struct host *h, const char *id) {
        struct qpci_dev *d = NULL;
        const char *why = NULL;
        if (qpci_inventory_lookup(h->inv, id, &d, &why) < 0)
                fail_msg("%s: %s", id, why);
        return d;
}

static void test_seed_laptop(void **state) {
        struct host *h = host_new("seed-laptop");
        struct qpci_dev *rel, *d;
        const char *module;
        (void)state;

        assert_int_equal(qpci_inventory_count(h->inv), 15);
        /* Sorted by address, whatever order readdir gave. */
        for (size_t i = 1; i < qpci_inventory_count(h->inv); i++)
                assert_true(qpci_addr_cmp(qpci_dev_get_addr(qpci_inventory_get(h->inv, i - 1)),
                                          qpci_dev_get_addr(qpci_inventory_get(h->inv, i))) < 0);

        d = dev(h, "dom0:00_1a.0");
        assert_int_equal(qpci_dev_get_vendor_id(d), 0x8086);
        assert_int_equal(qpci_dev_get_device_id(d), 0x1e2d);
        assert_int_equal(qpci_dev_get_subsystem_vendor_id(d), 0x17aa);
        assert_int_equal(qpci_dev_get_subsystem_device_id(d), 0x21f3);
        assert_int_equal(qpci_dev_get_class(d), 0x0c0320);
        assert_int_equal(qpci_dev_get_revision(d), 0x04);
        assert_string_equal(qpci_dev_get_driver(d), "ehci-pci");
        assert_int_equal(qpci_dev_get_iommu_group(d), 5);
        assert_true(qpci_dev_is_multifunction(d));
        assert_int_equal(qpci_dev_get_sibling_count(d), 2);
        rel = qpci_dev_next_sibling(d, NULL);
        assert_string_equal(qpci_dev_get_bdf(rel), "0000:00:1a.1");
        rel = qpci_dev_next_sibling(d, rel);
        assert_string_equal(qpci_dev_get_bdf(rel), "0000:00:1a.2");
        assert_null(qpci_dev_next_sibling(d, rel));
        assert_int_equal(qpci_dev_get_group_peer_count(d), 2);
        /* The walk goes past the device itself: 1a.0 is first in its group. */
        rel = qpci_dev_next_group_peer(qpci_dev_next_sibling(d, NULL), NULL);
        assert_ptr_equal(rel, d);
        assert_string_equal(qpci_dev_get_bdf(qpci_dev_next_group_peer(qpci_dev_next_sibling(d, NULL), rel)),
                            "0000:00:1a.2");
        assert_true(qpci_dev_on_root_bus(d));
        assert_null(qpci_dev_get_parent(d));
        assert_int_equal(qpci_dev_get_bus_peer_count(d), 13);
        assert_string_equal(qpci_dev_get_modalias(d), "pci:v00008086d00001E2Dsv000017AAsd000021F3bc0Csc03i20");
        assert_int_equal(qpci_dev_get_module(d, &module), 0);
        assert_string_equal(module, "ehci_pci");
        assert_string_equal(qpci_dev_get_description(d), "USB controller: Intel Corporation 7 Series/C216 Chipset "
                                                         "Family USB Enhanced Host Controller #2");
        assert_int_equal(qpci_dev_get_reset_methods(d), QPCI_RESET_AF_FLR | QPCI_RESET_PM);
        assert_int_equal(qpci_dev_get_reset_source(d), QPCI_RESET_FROM_KERNEL);
        assert_true(qpci_dev_has_strict_reset(d));

        /* The MEI function: no reset at all on a busy root bus; its PM capability says why not PM. */
        d = dev(h, "00:16.0");
        assert_false(qpci_dev_has_strict_reset(d));
        assert_string_equal(qpci_dev_get_strict_reset_reason(d),
                            "no FLR, no PM reset (it keeps its state in D3hot: NoSoftRst+), and it shares bus 00 "
                            "with 13 other functions: assign with -o no-strict-reset=True, and consider the device "
                            "tainted after use");

        d = dev(h, "0000:02:00.0");
        assert_ptr_equal(qpci_dev_get_parent(d), dev(h, "00_1c.0"));
        assert_false(qpci_dev_on_root_bus(d));
        assert_int_equal(qpci_dev_get_bus_peer_count(d), 0);
        assert_int_equal(qpci_dev_get_pcie_type(d), QPCI_PCIE_ENDPOINT);
        assert_false(qpci_dev_is_multifunction(d));
        assert_int_equal(qpci_dev_get_module(d, &module), 0);
        assert_string_equal(module, "r8169");

        d = dev(h, "00_1c.0");
        assert_true(qpci_dev_is_bridge(d));
        assert_int_equal(qpci_dev_get_pcie_type(d), QPCI_PCIE_ROOT_PORT);
        assert_false(qpci_dev_has_strict_reset(d));
        /* The host bridge has no driver and no module. */
        d = dev(h, "00:00.0");
        assert_null(qpci_dev_get_driver(d));
        assert_int_equal(qpci_dev_get_module(d, &module), 0);
        assert_null(module);
        assert_null(h->log); /* a well-formed host gives no warning */
        host_free(h);
}

static void test_gpu_behind_switch(void **state) {
        struct host *h = host_new("gpu-switch");
        struct qpci_dev *gpu, *audio;
        (void)state;

        gpu = dev(h, "03:00.0");
        audio = dev(h, "03:00.1");
        assert_true(qpci_dev_is_multifunction(gpu));
        assert_int_equal(qpci_dev_get_sibling_count(gpu), 1);
        assert_ptr_equal(qpci_dev_next_sibling(gpu, NULL), audio);
        assert_null(qpci_dev_next_sibling(gpu, audio));
        assert_int_equal(qpci_dev_get_group_peer_count(gpu), 1);
        assert_ptr_equal(qpci_dev_next_group_peer(gpu, NULL), audio);
        assert_null(qpci_dev_next_group_peer(gpu, audio));
        /* A device of another group or slot is no place to go on from. */
        assert_null(qpci_dev_next_group_peer(gpu, dev(h, "04:00.0")));
        assert_null(qpci_dev_next_sibling(gpu, dev(h, "04:00.0")));
        /* Parent chain: downstream port, upstream port, root port, root bus. */
        assert_string_equal(qpci_dev_get_bdf(qpci_dev_get_parent(gpu)), "0000:02:00.0");
        assert_int_equal(qpci_dev_get_pcie_type(qpci_dev_get_parent(gpu)), QPCI_PCIE_DOWNSTREAM);
        assert_int_equal(qpci_dev_get_pcie_type(qpci_dev_get_parent(qpci_dev_get_parent(gpu))), QPCI_PCIE_UPSTREAM);
        assert_true(qpci_dev_on_root_bus(dev(h, "00:01.0")));
        /* The GPU shares its bus with its audio function, so no bus reset, though the kernel lists
         * one (it probed before the audio function existed); NoSoftRst, so no PM. */
        assert_int_equal(qpci_dev_get_reset_methods(gpu), QPCI_RESET_BUS);
        assert_false(qpci_dev_has_strict_reset(gpu));
        assert_non_null(strstr(qpci_dev_get_strict_reset_reason(gpu), "shares bus 03 with 1 other function (the bus "
                                                                      "reset the kernel lists would be refused):"));
        assert_true(qpci_dev_has_strict_reset(audio));
        assert_int_equal(qpci_dev_get_reset_methods(dev(h, "04:00.0")), QPCI_RESET_FLR | QPCI_RESET_BUS);
        host_free(h);
}

static void test_sriov(void **state) {
        struct host *h = host_new("sriov");
        struct qpci_dev *pf, *vf;
        (void)state;

        pf = dev(h, "05:00.0");
        assert_true(qpci_dev_is_sriov_pf(pf));
        assert_int_equal(qpci_dev_get_total_vfs(pf), 63);
        assert_int_equal(qpci_dev_get_num_vfs(pf), 4);
        assert_null(qpci_dev_get_physfn(pf));
        for (const char *const *id = (const char *const[]){"05:10.0", "05:10.2", "05:10.4", "05:10.6", NULL}; *id; id++) {
                vf = dev(h, *id);
                assert_ptr_equal(qpci_dev_get_physfn(vf), pf);
                /* VFs share a slot without being one multi-function device. */
                assert_false(qpci_dev_is_multifunction(vf));
                assert_int_equal(qpci_dev_get_sibling_count(vf), 0);
                assert_null(qpci_dev_next_sibling(vf, NULL));
                assert_int_equal(qpci_dev_get_reset_methods(vf), QPCI_RESET_FLR);
        }
        assert_true(qpci_dev_is_multifunction(pf));
        assert_int_equal(qpci_dev_get_sibling_count(pf), 1);
        host_free(h);
}

/* Linux 5.10: no reset_method; qpci must reach the kernel's answer from config space. */
static void test_old_kernel(void **state) {
        struct host *h = host_new("noreset");
        static const struct {
                const char *id;
                unsigned methods;
                bool strict;
        } want[] = {
                {"00:00.0", 0, false},
                {"00:14.3", QPCI_RESET_FLR, true},
                {"00:1f.6", QPCI_RESET_AF_FLR | QPCI_RESET_PM, true},
                {"00:14.0", QPCI_RESET_PM, true},
                {"00:16.0", 0, false},
                {"00:1c.0", 0, false},
                {"01:00.0", QPCI_RESET_BUS, true},
                {"02:00.0", QPCI_RESET_FLR | QPCI_RESET_BUS, true}, /* probed before its VF existed */
                {"02:02.0", QPCI_RESET_FLR, true},
                {"00:1f.4", 0, true}, /* config cut at 64 bytes, but the kernel has `reset` */
        };
        (void)state;

        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
                struct qpci_dev *d = dev(h, want[i].id);
                if (qpci_dev_get_reset_methods(d) != want[i].methods || qpci_dev_has_strict_reset(d) != want[i].strict)
                        fail_msg("%s: methods %#x strict %d, want %#x %d (%s)", want[i].id, qpci_dev_get_reset_methods(d),
                                 qpci_dev_has_strict_reset(d), want[i].methods, want[i].strict,
                                 qpci_dev_get_strict_reset_reason(d));
        }
        assert_int_equal(qpci_dev_get_reset_source(dev(h, "00:1f.6")), QPCI_RESET_FROM_CONFIG);
        assert_int_equal(qpci_dev_get_reset_source(dev(h, "00:1f.4")), QPCI_RESET_UNKNOWN);
        host_free(h);
}

static void test_segments(void **state) {
        struct host *h = host_new("segment");
        struct qpci_dev *d;
        (void)state;

        d = dev(h, "dom0:10000_e1_00.0");
        assert_string_equal(qpci_dev_get_ident(d), "10000_e1_00.0");
        assert_string_equal(qpci_dev_get_bdf(d), "10000:e1:00.0");
        assert_string_equal(qpci_dev_get_bdf(qpci_dev_get_parent(d)), "10000:e0:06.0");
        /* The VMD's own bus is a root bus, though it sits below a device of segment 0. */
        assert_true(qpci_dev_on_root_bus(qpci_dev_get_parent(d)));
        d = dev(h, "0001:01:00.0");
        assert_string_equal(qpci_dev_get_ident(d), "0001_01_00.0");
        assert_int_equal(qpci_dev_get_reset_methods(d), QPCI_RESET_FLR | QPCI_RESET_BUS);
        /* Segment 0 comes first, then 1, then the VMD domain. */
        assert_int_equal(qpci_dev_get_addr(qpci_inventory_get(h->inv, 0))->segment, 0);
        assert_int_equal(qpci_dev_get_addr(qpci_inventory_get(h->inv, qpci_inventory_count(h->inv) - 1))->segment,
                         0x10000);
        host_free(h);
}

/* Every oddity is listed with what could be read, and a warning that names the device. */
static void test_odd_sysfs(void **state) {
        struct host *h = host_new("odd");
        struct qpci_dev *d;
        (void)state;

        assert_int_equal(qpci_inventory_count(h->inv), 11);
        for (size_t i = 0; i < qpci_inventory_count(h->inv); i++) {
                d = qpci_inventory_get(h->inv, i);
                assert_non_null(qpci_dev_get_description(d));
                assert_non_null(qpci_dev_get_strict_reset_reason(d));
        }
        d = dev(h, "00:01.0"); /* config cut at 10 bytes: ids from uevent, the rest unknown */
        assert_int_equal(qpci_dev_get_device_id(d), 0x1901);
        assert_non_null(strstr(qpci_dev_get_warnings(d), "only 10 bytes"));
        d = dev(h, "00:04.0"); /* no config at all */
        assert_int_equal(qpci_dev_get_class(d), 0x118000);
        assert_non_null(strstr(qpci_dev_get_warnings(d), "cannot read config space"));
        d = dev(h, "00:05.0"); /* capability loop */
        assert_non_null(strstr(qpci_dev_get_warnings(d), "loops"));
        d = dev(h, "00:08.0"); /* no uevent: ids and class from their own files */
        assert_int_equal(qpci_dev_get_vendor_id(d), 0x8086);
        assert_int_equal(qpci_dev_get_class(d), 0x0c0500);
        assert_string_equal(qpci_dev_get_driver(d), "i801_smbus");
        d = dev(h, "00:0a.0"); /* a driver link to a directory that is not there */
        assert_string_equal(qpci_dev_get_driver(d), "ghost");
        d = dev(h, "00:09.0");
        assert_int_equal(qpci_dev_get_iommu_group(d), -1);
        /* Warnings are the device's, for the front end to show: the library's log stays quiet. */
        assert_null(h->log);
        host_free(h);
}

static void test_usb_controllers(void **state) {
        struct host *h = host_new("xhci");
        struct qpci_usb *usb = NULL;
        const struct qpci_usb_bus *b;
        (void)state;

        assert_int_equal(qpci_usb_new(h->ctx, &usb), 0);
        assert_int_equal(qpci_usb_bus_count(usb), 5);
        /* PCI controllers in address order, each with its buses; the non-PCI one last. */
        b = qpci_usb_get_bus(usb, 0);
        assert_int_equal(b->busnum, 1);
        assert_string_equal(b->controller, "0000:00:14.0");
        assert_string_equal(b->version, "2.00");
        assert_int_equal(b->n_devices, 4); /* root hub, keyboard, hub, mouse */
        assert_string_equal(b->devices[0].port, "usb1");
        assert_string_equal(b->devices[1].port, "1-1");
        assert_string_equal(b->devices[3].port, "1-2.1");
        assert_int_equal(b->devices[1].vendor_id, 0x046d);
        assert_int_equal(b->devices[1].product_id, 0xc31c);
        b = qpci_usb_get_bus(usb, 1);
        assert_int_equal(b->busnum, 2);
        assert_string_equal(b->controller, "0000:00:14.0");
        assert_string_equal(qpci_usb_get_bus(usb, 2)->controller, "0000:3a:00.0");
        assert_string_equal(qpci_usb_get_bus(usb, 3)->controller, "0000:3a:00.0");
        b = qpci_usb_get_bus(usb, 4);
        assert_null(b->controller);
        assert_string_equal(b->controller_path, "platform/dummy_hcd.0");
        qpci_usb_unref(usb);
        host_free(h);
}

/* Each device's PCI path, as Qubes R4.3 computes it from sysfs, finds that device; a device id
 * matches the device it describes, with wildcards, and no other. */
static void test_paths_and_ids(void **state) {
        struct host *h = host_new("paths");
        struct qpci_dev *gpu = dev(h, "c6:00.0"), *d = NULL;
        (void)state;

        /* Qubes' worked example: root bus c0, secondary buses c5 and c6. */
        assert_string_equal(qpci_dev_get_path(gpu), "c0_03.5-00_00.0-00_00.0");
        assert_string_equal(qpci_dev_get_path(dev(h, "c0:03.5")), "c0_03.5");
        assert_string_equal(qpci_dev_get_path(dev(h, "0d:00.0")), "00_07.0-00_00.0-00_02.0-00_00.0-00_01.0-00_00.0");
        assert_string_equal(qpci_dev_get_path(dev(h, "05:02.0")), "00_1e.0-00_02.0");
        for (size_t i = 0; i < qpci_inventory_count(h->inv); i++) {
                struct qpci_dev *x = qpci_inventory_get(h->inv, i);
                assert_ptr_equal(dev(h, qpci_dev_get_path(x)), x);
        }
        assert_string_equal(qpci_dev_get_devid(gpu), "0x1002:0x73df::p030000");
        assert_true(qpci_devid_matches("0x1002:0x73df::p030000", gpu));
        assert_true(qpci_devid_matches("0x1002:0x73DF::p030000", gpu));
        assert_true(qpci_devid_matches("*", gpu));
        assert_true(qpci_devid_matches("_", gpu));
        assert_true(qpci_devid_matches("*:0x73df:*:p03****", gpu));
        assert_true(qpci_devid_matches("0x1002:_::p______", gpu));
        assert_true(qpci_devid_matches("0x1002:0x73df::*", gpu));
        assert_false(qpci_devid_matches("0x1002:0x73de::p030000", gpu));
        assert_false(qpci_devid_matches("0x1002:0x73df::p030001", gpu));
        assert_false(qpci_devid_matches("0x1002:0x73df:SN1:p030000", gpu));
        assert_false(qpci_devid_matches("0x1002:0x73df::p030000p030000", gpu));
        assert_false(qpci_devid_matches("0x1002:0x73df", gpu));
        assert_false(qpci_devid_matches(NULL, gpu));

        const char *why = NULL;
        assert_int_equal(qpci_inventory_lookup(h->inv, "dom0:c0_03.5-00_00.0-00_00.0:0x8086:0x73df::p030000", &d, &why),
                         -ENODEV);
        assert_non_null(strstr(why, "not the one the device id names"));
        assert_int_equal(qpci_inventory_lookup(h->inv, "dom0:c0_03.5-00_00.0-00_01.0", &d, &why), -ENODEV);
        assert_int_equal(qpci_inventory_lookup(h->inv, "dom0:*:0x1002:0x73df::p030000", &d, &why), -EINVAL);
        host_free(h);
}

/* The warnings' lines in order: an on-demand inventory adds config space's later. */
static int line_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *sorted_lines(const char *text) {
        char *copy = strdup(text ? text : ""), *save = NULL, *out;
        size_t n = 0, len = strlen(copy);
        char **lines = calloc(len + 1, sizeof(*lines)); /* no more lines than characters */

        assert_non_null(copy);
        assert_non_null(lines);
        for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                lines[n++] = l;
        qsort(lines, n, sizeof(*lines), line_cmp);
        out = calloc(1, len + 2);
        assert_non_null(out);
        for (size_t i = 0; i < n; i++)
                strcat(strcat(out, lines[i]), "\n");
        free(lines);
        free(copy);
        return out;
}

/* Each fact an on-demand inventory gives is the listing's, on every topology (warnings may come
 * in another order); and until asked, it leaves config space unread. */
static void test_on_demand_same_answers(void **state) {
        static const char *const topologies[] = {
                "seed-laptop", "gpu-switch", "gpu-switch-510", "sriov", "segment", "paths", "odd", "oddfs",
                "hostile", "cardbus", "noreset", "large-group", "xhci",
        };
        (void)state;

        for (size_t t = 0; t < ELEMENTSOF(topologies); t++) {
                struct host *h = host_new(topologies[t]);
                struct qpci_inventory *lazy = NULL;
                size_t unread = 0;

                assert_int_equal(qpci_inventory_new_with(h->ctx, QPCI_INVENTORY_ON_DEMAND, &lazy), 0);
                assert_int_equal(qpci_inventory_count(lazy), qpci_inventory_count(h->inv));
                for (size_t i = 0; i < qpci_inventory_count(lazy); i++)
                        unread += !qpci_inventory_get(lazy, i)->config_read;
                assert_true(unread > 0);
                for (size_t i = 0; i < qpci_inventory_count(lazy); i++) {
                        struct qpci_dev *e = qpci_inventory_get(h->inv, i), *l = qpci_inventory_get(lazy, i);
                        const char *why = topologies[t];
                        assert_string_equal(qpci_dev_get_bdf(l), qpci_dev_get_bdf(e));
                        assert_string_equal(qpci_dev_get_path(l), qpci_dev_get_path(e));
                        assert_string_equal(qpci_dev_get_devid(l), qpci_dev_get_devid(e));
                        assert_int_equal(qpci_dev_get_revision(l), qpci_dev_get_revision(e));
                        assert_int_equal(qpci_dev_get_header_type(l), qpci_dev_get_header_type(e));
                        assert_int_equal(qpci_dev_is_bridge(l), qpci_dev_is_bridge(e));
                        assert_int_equal(qpci_dev_is_multifunction(l), qpci_dev_is_multifunction(e));
                        assert_int_equal(qpci_dev_get_sibling_count(l), qpci_dev_get_sibling_count(e));
                        assert_int_equal(qpci_dev_get_pcie_type(l), qpci_dev_get_pcie_type(e));
                        assert_int_equal(qpci_dev_is_sriov_pf(l), qpci_dev_is_sriov_pf(e));
                        assert_int_equal(qpci_dev_get_reset_methods(l), qpci_dev_get_reset_methods(e));
                        assert_int_equal(qpci_dev_get_reset_source(l), qpci_dev_get_reset_source(e));
                        assert_int_equal(qpci_dev_has_strict_reset(l), qpci_dev_has_strict_reset(e));
                        assert_string_equal(qpci_dev_get_strict_reset_reason(l), qpci_dev_get_strict_reset_reason(e));
                        char *we = sorted_lines(qpci_dev_get_warnings(e)), *wl = sorted_lines(qpci_dev_get_warnings(l));
                        if (!streq(we, wl))
                                fail_msg("%s %s: warnings '%s' on demand, '%s' listed", why, qpci_dev_get_bdf(l), wl, we);
                        free(we);
                        free(wl);
                }
                qpci_inventory_unref(lazy);
                host_free(h);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_seed_laptop),
                cmocka_unit_test(test_gpu_behind_switch),
                cmocka_unit_test(test_sriov),
                cmocka_unit_test(test_old_kernel),
                cmocka_unit_test(test_segments),
                cmocka_unit_test(test_odd_sysfs),
                cmocka_unit_test(test_usb_controllers),
                cmocka_unit_test(test_paths_and_ids),
                cmocka_unit_test(test_on_demand_same_answers),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
