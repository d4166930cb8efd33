/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_forms_users_type),
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_format),
                cmocka_unit_test(test_order),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
