/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "qpci-internal.h"

static void expect_addr(const char *s, uint32_t seg, uint8_t bus, uint8_t dev, uint8_t fn) {
        struct qpci_addr a;
        const char *why = NULL;
        assert_int_equal(qpci_addr_parse(s, &a, &why), 0);
        assert_int_equal(a.segment, seg);
        assert_int_equal(a.bus, bus);
        assert_int_equal(a.dev, dev);
        assert_int_equal(a.fn, fn);
}

static void expect_bad(const char *s, const char *why_part) {
        struct qpci_addr a = {0};
        const char *why = NULL;
        assert_int_equal(qpci_addr_parse(s, &a, &why), -EINVAL);
        assert_non_null(why);
        if (!strstr(why, why_part))
                fail_msg("'%s': reason '%s' lacks '%s'", s, why, why_part);
}

static void test_forms_users_type(void **state) {
        (void)state;
        expect_addr("dom0:00_1a.0", 0, 0, 0x1a, 0);
        expect_addr("00_1a.0", 0, 0, 0x1a, 0);
        expect_addr("00:1a.0", 0, 0, 0x1a, 0);
        expect_addr("0000:00:1a.0", 0, 0, 0x1a, 0);
        expect_addr("dom0:0001_03_00.1", 1, 3, 0, 1);
        expect_addr("0000_00_1F.7", 0, 0, 0x1f, 7);
        expect_addr("10000:e1:00.0", 0x10000, 0xe1, 0, 0);
        expect_addr("3:0.1", 0, 3, 0, 1);
}

static void test_malformed(void **state) {
        (void)state;
        expect_bad("", "empty");
        expect_bad("sys-usb:00_1a.0", "dom0");
        expect_bad("00_1a", "function");
        expect_bad("00:20.0", "00-1f");
        expect_bad("00:1a.8", "0-7");
        expect_bad("00:1a.0x", "single digit");
        expect_bad("00:1a_0", "mixes");
        expect_bad("100:1a.0", "00-ff");
        expect_bad("0:0:0:1a.0", "too many");
        expect_bad("zz_1a.0", "hexadecimal");
        expect_bad("dom0:", "hexadecimal");
        expect_bad("123456789:00:1a.0", "hexadecimal");
        assert_int_equal(qpci_addr_parse(NULL, NULL, NULL), -EINVAL);
}

static void test_format(void **state) {
        char b[QPCI_BDF_MAX], i[QPCI_IDENT_MAX];
        struct qpci_addr a = {.segment = 0, .bus = 0, .dev = 0x1a, .fn = 0};
        (void)state;
        assert_string_equal(qpci_addr_format_bdf(&a, b), "0000:00:1a.0");
        assert_string_equal(qpci_addr_format_ident(&a, i), "00_1a.0");
        a.segment = 0x10000;
        a.bus = 0xe1;
        assert_string_equal(qpci_addr_format_bdf(&a, b), "10000:e1:1a.0");
        assert_string_equal(qpci_addr_format_ident(&a, i), "10000_e1_1a.0");
}

static void test_order(void **state) {
        struct qpci_addr a = {0, 0, 0x1a, 0}, b = {0, 0, 0x1a, 1}, c = {0, 2, 0, 0}, d = {1, 0, 0, 0};
        (void)state;
        assert_true(qpci_addr_cmp(&a, &b) < 0);
        assert_true(qpci_addr_cmp(&b, &c) < 0);
        assert_true(qpci_addr_cmp(&c, &d) < 0);
        assert_true(qpci_addr_cmp(&d, &a) > 0);
        assert_int_equal(qpci_addr_cmp(&a, &a), 0);
}

static void expect_path(const char *s, const char *canon) {
        char *out = NULL;
        const char *why = NULL;
        if (qpci_path_parse(s, &out, &why) < 0)
                fail_msg("'%s': %s", s, why);
        assert_string_equal(out, canon);
        free(out);
}

static void expect_bad_path(const char *s, const char *why_part) {
        char *out = NULL;
        const char *why = NULL;
        assert_int_equal(qpci_path_parse(s, &out, &why), -EINVAL);
        assert_null(out);
        if (!why || !strstr(why, why_part))
                fail_msg("'%s': reason '%s' lacks '%s'", s, why ? why : "(none)", why_part);
}

/* Paths as Qubes R4.3 prints them come back the same; other spellings in that form. */
static void test_paths(void **state) {
        (void)state;
        expect_path("00_1a.0", "00_1a.0");
        expect_path("c0_03.5-00_00.0-00_00.0", "c0_03.5-00_00.0-00_00.0");
        expect_path("C0_03.5-00_00.0-00_00.0", "c0_03.5-00_00.0-00_00.0");
        expect_path("0000_00_1c.0-00_00.0", "00_1c.0-00_00.0");
        expect_path("0001_00_02.0-00_00.0", "0001_00_02.0-00_00.0");
        expect_path("10000_e0_06.0-00_00.0", "10000_e0_06.0-00_00.0");
        expect_bad_path("", "empty");
        expect_bad_path("00_1c.0-", "empty part");
        expect_bad_path("-00_1c.0", "empty part");
        expect_bad_path("00_1c.0--00_00.0", "empty part");
        expect_bad_path("00_1c.0-0000_00_00.0", "after the first");
        expect_bad_path("00_1c.0-00:00.0", "after the first");
        expect_bad_path("00_1c.0-00_20.0", "00-1f");
        expect_bad_path("00_1c.0-00_00.8", "0-7");
        expect_bad_path("00_1c.0-100_00.0", "00-ff");
}

static void expect_spec(const char *s, const char *port, const char *devid) {
        struct qpci_device_spec spec = {0};
        const char *why = NULL;
        if (qpci_device_spec_parse(s, &spec, &why) < 0)
                fail_msg("'%s': %s", s, why);
        assert_string_equal(spec.backend, "dom0");
        assert_string_equal(spec.port, port);
        if (devid)
                assert_string_equal(spec.devid, devid);
        else
                assert_null(spec.devid);
        qpci_device_spec_done(&spec);
}

static void expect_bad_spec(const char *s, const char *why_part) {
        struct qpci_device_spec spec = {0};
        const char *why = NULL;
        assert_int_equal(qpci_device_spec_parse(s, &spec, &why), -EINVAL);
        assert_null(spec.port);
        if (!why || !strstr(why, why_part))
                fail_msg("'%s': reason '%s' lacks '%s'", s, why ? why : "(none)", why_part);
}

/* R4.3's BACKEND:PORT[:DEVID], and every older form, which wins where a string could be read as
 * both (it never names two devices: no VM is called 0000, no port is a bare bus). */
static void test_device_strings(void **state) {
        (void)state;
        expect_spec("dom0:00_1a.0", "00_1a.0", NULL);
        expect_spec("00:1a.0", "00_1a.0", NULL);
        expect_spec("0000:00:1a.0", "00_1a.0", NULL);
        expect_spec("dom0:00:1a.0", "00_1a.0", NULL);
        expect_spec("dom0:0001_00_1a.0", "0001_00_1a.0", NULL);
        expect_spec("dom0:00_1c.0-00_00.0", "00_1c.0-00_00.0", NULL);
        expect_spec("00_1c.0-00_00.0", "00_1c.0-00_00.0", NULL);
        expect_spec("dom0:00_1a.0:0x8086:0x1e2d::p0c0320", "00_1a.0", "0x8086:0x1e2d::p0c0320");
        expect_spec("dom0:c0_03.5-00_00.0-00_00.0:0x1002:0x73df::p030000", "c0_03.5-00_00.0-00_00.0",
                    "0x1002:0x73df::p030000");
        expect_spec("dom0:00_1a.0:*", "00_1a.0", "*");
        expect_spec("dom0:00_1a.0:_", "00_1a.0", "*");
        expect_spec("dom0:*:0x8086:0x1e2d::p0c0320", "*", "0x8086:0x1e2d::p0c0320");
        expect_spec("dom0:_:0x8086:*::p0c03**", "*", "0x8086:*::p0c03**");
        expect_bad_spec("", "empty");
        expect_bad_spec("00:1b.9", "0-7");
        expect_bad_spec("sys-usb:00_1a.0", "only the backend dom0");
        expect_bad_spec("dom0:*", "needs a device id");
        expect_bad_spec("dom0:*:*", "needs a device id");
        expect_bad_spec("dom0:00_1a.0:", "empty");
        expect_bad_spec("dom0:00_1a.0:0x8086", "VENDOR:DEVICE:SERIAL:INTERFACES");
        expect_bad_spec("dom0:00_1a.0:0x8086:0x1e2d:", "VENDOR:DEVICE:SERIAL:INTERFACES");
        expect_bad_spec("dom0:00_1a.0:0x8086:0x1e2d::p0c0320:x", "7 characters");
        expect_bad_spec("dom0:00_1a.0:8086:0x1e2d::p0c0320", "0x and four");
        expect_bad_spec("dom0:00_1a.0:0x8086:0x1e2d::p0c03", "7 characters");
        expect_bad_spec("dom0:00_1a.0:0x8086:0x1e2d::p0c032g", "7 characters");
        expect_bad_spec("dom0:00_1a.0:0x8086:0x1e2d:a/b:p0c0320", "serial");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_forms_users_type),
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_format),
                cmocka_unit_test(test_order),
                cmocka_unit_test(test_paths),
                cmocka_unit_test(test_device_strings),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
