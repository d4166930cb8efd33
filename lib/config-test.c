/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Config-space images built byte by byte, as the hardware would present them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "pci-regs.h"
#include "qpci-internal.h"

struct image {
        uint8_t b[PCI_CFG_SPACE_SIZE];
        uint8_t last_cap; /* where to chain the next capability from */
        uint8_t next_pos;
};

static void put16(uint8_t *b, size_t pos, uint16_t v) { b[pos] = v; b[pos + 1] = v >> 8; }
static void put32(uint8_t *b, size_t pos, uint32_t v) { put16(b, pos, v); put16(b, pos + 2, v >> 16); }

static void image_init(struct image *im, uint16_t vendor, uint16_t device, uint32_t class_code, uint8_t header) {
        memset(im, 0, sizeof(*im));
        put16(im->b, PCI_VENDOR_ID, vendor);
        put16(im->b, PCI_DEVICE_ID, device);
        put32(im->b, PCI_REVISION_ID, class_code << 8 | 0x04);
        im->b[PCI_HEADER_TYPE] = header;
        im->next_pos = 0x40;
}

/* Appends a capability of len bytes and returns its offset. */
static uint8_t add_cap(struct image *im, uint8_t id, uint8_t len) {
        uint8_t pos = im->next_pos;
        if (im->last_cap)
                im->b[im->last_cap + 1] = pos;
        else {
                im->b[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
                /* A CardBus header keeps its list pointer at 0x14; 0x34 is an I/O window there. */
                if ((im->b[PCI_HEADER_TYPE] & PCI_HEADER_TYPE_MASK) == PCI_HEADER_TYPE_CARDBUS)
                        im->b[PCI_CB_CAPABILITY_LIST] = pos;
                else
                        im->b[PCI_CAPABILITY_LIST] = pos;
        }
        im->b[pos] = id;
        im->last_cap = pos;
        im->next_pos = pos + ((len + 3) & ~3);
        return pos;
}

static void test_header(void **state) {
        struct image im;
        struct qpci_config c;
        (void)state;
        image_init(&im, 0x8086, 0x1e2d, 0x0c0320, 0x80);
        put16(im.b, PCI_SUBSYSTEM_VENDOR_ID, 0x17aa);
        put16(im.b, PCI_SUBSYSTEM_ID, 0x21f3);
        qpci_config_parse(im.b, sizeof(im.b), &c);
        assert_true(c.header_ok);
        assert_int_equal(c.vendor_id, 0x8086);
        assert_int_equal(c.device_id, 0x1e2d);
        assert_int_equal(c.class_code, 0x0c0320);
        assert_int_equal(c.revision, 0x04);
        assert_int_equal(c.header_type, 0x80);
        assert_int_equal(c.subsys_vendor_id, 0x17aa);
        assert_int_equal(c.subsys_device_id, 0x21f3);
        assert_true(c.caps_complete);
        assert_int_equal(c.pcie_type, QPCI_PCIE_NONE);
}

static void test_bridge_buses(void **state) {
        struct image im;
        struct qpci_config c;
        (void)state;
        image_init(&im, 0x8086, 0x1e10, 0x060400, PCI_HEADER_TYPE_BRIDGE);
        im.b[PCI_SECONDARY_BUS] = 0x02;
        im.b[PCI_SUBORDINATE_BUS] = 0x03;
        qpci_config_parse(im.b, sizeof(im.b), &c);
        assert_int_equal(c.secondary_bus, 2);
        assert_int_equal(c.subordinate_bus, 3);
        assert_int_equal(c.subsys_vendor_id, 0); /* type 1 has no subsystem ids in the header */
        assert_false(c.subsys_ok);
        assert_int_equal(qpci_config_is_bridge(&c), 1);
}

/* A bridge keeps its subsystem ids in an SSVID capability, where pci_setup_device() reads them. */
static void test_bridge_ssvid(void **state) {
        struct image im;
        struct qpci_config c;
        uint8_t ss;
        (void)state;
        image_init(&im, 0x10b5, 0x8747, 0x060400, PCI_HEADER_TYPE_BRIDGE);
        ss = add_cap(&im, PCI_CAP_ID_SSVID, 8);
        put16(im.b, ss + PCI_SSVID_VENDOR_ID, 0x1462);
        put16(im.b, ss + PCI_SSVID_DEVICE_ID, 0x7a72);
        qpci_config_parse(im.b, sizeof(im.b), &c);
        assert_true(c.subsys_ok);
        assert_int_equal(c.subsys_vendor_id, 0x1462);
        assert_int_equal(c.subsys_device_id, 0x7a72);
        /* On a device header the same bytes are just another capability. */
        im.b[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_NORMAL;
        qpci_config_parse(im.b, sizeof(im.b), &c);
        assert_int_equal(c.subsys_vendor_id, 0);
}

/*
 * Header type 2 (a CardBus bridge, class 0607): a bridge with a bus behind it, its capability list
 * at 0x14 and its subsystem ids at 0x40, as pci_setup_device() and __pci_bus_find_cap_start() read.
 */
static void test_cardbus(void **state) {
        struct image im;
        struct qpci_config c;
        uint8_t pm;
        (void)state;
        image_init(&im, 0x1180, 0x0476, 0x060700, PCI_HEADER_TYPE_CARDBUS | PCI_HEADER_MULTIFUNC);
        im.b[PCI_SECONDARY_BUS] = 0x16;
        im.b[PCI_SUBORDINATE_BUS] = 0x19;
        put16(im.b, PCI_CB_SUBSYSTEM_VENDOR_ID, 0x17aa);
        put16(im.b, PCI_CB_SUBSYSTEM_ID, 0x20c6);
        im.next_pos = 0x80;
        pm = add_cap(&im, PCI_CAP_ID_PM, 8);
        qpci_config_parse(im.b, sizeof(im.b), &c);
        assert_int_equal(qpci_config_is_bridge(&c), 1);
        assert_int_equal(c.secondary_bus, 0x16);
        assert_int_equal(c.subordinate_bus, 0x19);
        assert_true(c.subsys_ok);
        assert_int_equal(c.subsys_vendor_id, 0x17aa);
        assert_int_equal(c.subsys_device_id, 0x20c6);
        assert_int_equal(c.pm_pos, pm);
        assert_true(c.caps_complete);
        /* 0x34 holds an I/O window on this header: a value there is no list. */
        im.b[PCI_CB_CAPABILITY_LIST] = 0;
        im.b[PCI_CAPABILITY_LIST] = pm;
        qpci_config_parse(im.b, sizeof(im.b), &c);
        assert_int_equal(c.pm_pos, 0);
        /* The 64 bytes an unprivileged reader gets end before the subsystem ids. */
        qpci_config_parse(im.b, PCI_STD_HEADER_SIZE, &c);
        assert_int_equal(qpci_config_is_bridge(&c), 1);
        assert_false(c.subsys_ok);
}

/* The kernel refuses a function whose header type is not 0, 1 or 2: such bytes decide nothing. */
static void test_unknown_header(void **state) {
        struct image im;
        struct qpci_config c;
        (void)state;
        image_init(&im, 0x8086, 0x1502, 0x020000, 0x7f);
        add_cap(&im, PCI_CAP_ID_PM, 8);
        qpci_config_parse(im.b, sizeof(im.b), &c);
        assert_true(c.header_ok);
        assert_false(c.header_known);
        assert_int_equal(qpci_config_is_bridge(&c), -1);
        assert_int_equal(c.pm_pos, 0);
        assert_false(c.caps_complete);
        assert_false(c.subsys_ok);
        image_init(&im, 0x8086, 0x1502, 0x020000, PCI_HEADER_TYPE_NORMAL | PCI_HEADER_MULTIFUNC);
        qpci_config_parse(im.b, sizeof(im.b), &c);
        assert_int_equal(qpci_config_is_bridge(&c), 0);
        qpci_config_parse(im.b, 10, &c);
        assert_int_equal(qpci_config_is_bridge(&c), -1);
}

static void test_caps(void **state) {
        struct image im;
        struct qpci_config c;
        uint8_t pm, exp, af;
        (void)state;
        image_init(&im, 0x8086, 0x1502, 0x020000, 0);
        pm = add_cap(&im, PCI_CAP_ID_PM, 8);
        add_cap(&im, 0x05 /* MSI */, 24);
        exp = add_cap(&im, PCI_CAP_ID_EXP, 60);
        put16(im.b, exp + PCI_EXP_FLAGS, 0x0002 | QPCI_PCIE_ENDPOINT << 4);
        put32(im.b, exp + PCI_EXP_DEVCAP, PCI_EXP_DEVCAP_FLR | 0x8000);
        af = add_cap(&im, PCI_CAP_ID_AF, 6);
        im.b[af + PCI_AF_CAP] = PCI_AF_CAP_TP | PCI_AF_CAP_FLR;
        qpci_config_parse(im.b, sizeof(im.b), &c);
        assert_int_equal(c.pm_pos, pm);
        assert_false(c.pm_no_soft_reset);
        assert_int_equal(c.pcie_pos, exp);
        assert_int_equal(c.pcie_type, QPCI_PCIE_ENDPOINT);
        assert_true(c.pcie_flr);
        assert_true(c.af_tp && c.af_flr);
        assert_true(c.caps_complete);
        assert_false(c.caps_looped);

        /* NoSoftRst set in PMCSR: a D3hot round trip keeps the device's state. */
        put16(im.b, pm + PCI_PM_CTRL, PCI_PM_CTRL_NO_SOFT_RESET);
        put32(im.b, exp + PCI_EXP_DEVCAP, 0);
        qpci_config_parse(im.b, sizeof(im.b), &c);
        assert_true(c.pm_no_soft_reset);
        assert_false(c.pcie_flr);
}

static void test_root_port_type(void **state) {
        struct image im;
        struct qpci_config c;
        uint8_t exp;
        (void)state;
        image_init(&im, 0x8086, 0x1e10, 0x060400, PCI_HEADER_TYPE_BRIDGE | PCI_HEADER_MULTIFUNC);
        exp = add_cap(&im, PCI_CAP_ID_EXP, 60);
        put16(im.b, exp + PCI_EXP_FLAGS, 0x0042);
        qpci_config_parse(im.b, sizeof(im.b), &c);
        assert_int_equal(c.pcie_type, QPCI_PCIE_ROOT_PORT);
}

static void test_loop_ends(void **state) {
        struct image im;
        struct qpci_config c;
        uint8_t a, b;
        (void)state;
        image_init(&im, 0x1234, 0x5678, 0x020000, 0);
        a = add_cap(&im, PCI_CAP_ID_PM, 8);
        b = add_cap(&im, 0x05, 8);
        im.b[b + 1] = a; /* back to the first: a naive walk never ends */
        qpci_config_parse(im.b, sizeof(im.b), &c);
        assert_true(c.caps_looped);
        assert_false(c.caps_complete);
        assert_int_equal(c.pm_pos, a);

        im.b[a + 1] = a; /* a capability pointing at itself */
        qpci_config_parse(im.b, sizeof(im.b), &c);
        assert_true(c.caps_looped);
}

static void test_truncated(void **state) {
        struct image im;
        struct qpci_config c;
        uint8_t exp;
        (void)state;
        image_init(&im, 0x8086, 0x10fb, 0x020000, 0);
        add_cap(&im, PCI_CAP_ID_PM, 8);
        exp = add_cap(&im, PCI_CAP_ID_EXP, 60);
        put32(im.b, exp + PCI_EXP_DEVCAP, PCI_EXP_DEVCAP_FLR);

        /* An unprivileged reader gets the 64-byte header only: the capabilities are unknown. */
        qpci_config_parse(im.b, 64, &c);
        assert_true(c.header_ok);
        assert_int_equal(c.vendor_id, 0x8086);
        assert_false(c.caps_complete);
        assert_int_equal(c.pm_pos, 0);

        /* Cut in the middle of the PCIe capability: what lies beyond is not invented. */
        qpci_config_parse(im.b, exp + 4, &c);
        assert_false(c.pcie_flr);
        assert_int_equal(c.pcie_pos, 0);

        qpci_config_parse(im.b, 10, &c);
        assert_false(c.header_ok);
        assert_int_equal(c.device_id, 0x10fb);
        qpci_config_parse(im.b, 0, &c);
        assert_false(c.header_ok);
        assert_int_equal(c.vendor_id, 0);
}

static void test_garbage_pointer(void **state) {
        struct image im;
        struct qpci_config c;
        (void)state;
        image_init(&im, 0x8086, 0x1502, 0x020000, 0);
        im.b[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
        im.b[PCI_CAPABILITY_LIST] = 0x10; /* into the header */
        qpci_config_parse(im.b, sizeof(im.b), &c);
        assert_false(c.caps_complete);
        memset(im.b + 0x40, 0xff, sizeof(im.b) - 0x40);
        im.b[PCI_CAPABILITY_LIST] = 0x40; /* all ones: a device that went away */
        qpci_config_parse(im.b, sizeof(im.b), &c);
        assert_false(c.caps_complete);
        assert_int_equal(c.pm_pos, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_header),
                cmocka_unit_test(test_bridge_buses),
                cmocka_unit_test(test_bridge_ssvid),
                cmocka_unit_test(test_cardbus),
                cmocka_unit_test(test_unknown_header),
                cmocka_unit_test(test_caps),
                cmocka_unit_test(test_root_port_type),
                cmocka_unit_test(test_loop_ends),
                cmocka_unit_test(test_truncated),
                cmocka_unit_test(test_garbage_pointer),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
