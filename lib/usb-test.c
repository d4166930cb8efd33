/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What users paste into `qvm-pci usb`. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "qpci-internal.h"

static void test_lsusb_line(void **state) {
        struct qpci_usb_query q;
        (void)state;
        assert_int_equal(qpci_usb_query_parse("Bus 003 Device 003: ID 413c:818d Dell Computer Corp.", &q, NULL), 0);
        assert_int_equal(q.busnum, 3);
        assert_int_equal(q.devnum, 3);
        assert_int_equal(q.vendor_id, 0x413c);
        assert_int_equal(q.product_id, 0x818d);
        assert_null(q.port);
        struct qpci_usb_device modem = {.busnum = 3, .devnum = 3, .vendor_id = 0x413c, .product_id = 0x818d};
        assert_true(qpci_usb_query_matches(&q, &modem));
        modem.devnum = 4; /* same model, another one plugged in: not the one pasted */
        assert_false(qpci_usb_query_matches(&q, &modem));
}

static void test_short_forms(void **state) {
        struct qpci_usb_query q;
        struct qpci_usb_device d = {.busnum = 3, .devnum = 1, .port = (char *)"usb3"};
        (void)state;
        assert_int_equal(qpci_usb_query_parse("3", &q, NULL), 0);
        assert_int_equal(q.busnum, 3);
        assert_true(qpci_usb_query_matches(&q, &d));
        assert_int_equal(qpci_usb_query_parse("003", &q, NULL), 0);
        assert_int_equal(q.busnum, 3);
        assert_int_equal(qpci_usb_query_parse("usb12", &q, NULL), 0);
        assert_int_equal(q.busnum, 12);
        assert_int_equal(qpci_usb_query_parse("413C:818d", &q, NULL), 0);
        assert_int_equal(q.busnum, -1);
        assert_int_equal(q.vendor_id, 0x413c);
        assert_int_equal(qpci_usb_query_parse("3-1.2", &q, NULL), 0);
        assert_string_equal(q.port, "3-1.2");
        assert_int_equal(q.busnum, 3);
        d.port = (char *)"3-1.2";
        assert_true(qpci_usb_query_matches(&q, &d));
        d.port = (char *)"3-1.20";
        assert_false(qpci_usb_query_matches(&q, &d));
        qpci_usb_query_done(&q);
}

static void test_bad(void **state) {
        struct qpci_usb_query q;
        const char *why = NULL;
        (void)state;
        const char *bad[] = {"", "xyz", "413c:818", "413c-818d", "3-", "3-1.", "-1", "Bus 3", "Bus 3 Device 3: ID 41:818d",
                             "413c:818dx"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                why = NULL;
                if (qpci_usb_query_parse(bad[i], &q, &why) != -EINVAL)
                        fail_msg("'%s' was accepted", bad[i]);
                assert_non_null(strstr(why, "lsusb"));
        }
}

/* Numbers the kernel never gives are refused, not wrapped or cut into numbers that exist. */
static void test_out_of_range(void **state) {
        struct qpci_usb_query q;
        const char *why;
        (void)state;
        const char *bad[] = {
                "Bus 4294967299 Device 003: ID 413c:818d Dell Computer Corp.", /* 2^32 + 3 */
                "Bus 4294967295 Device 4294967295: ID 413c:818d",
                "Bus 003 Device 4294967299: ID 413c:818d",
                "Bus 18446744073709551619 Device 003: ID 413c:818d", /* 2^64 + 3 */
                "Bus 000 Device 003: ID 413c:818d",
                "Bus 003 Device 128: ID 413c:818d",
                "Bus 065 Device 001: ID 1d6b:0002",
                "0", "65", "1234", "4294967299", "usb0", "usb4294967299", "usb18446744073709551619",
                "4294967299-1.2", "0-1",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                why = NULL;
                if (qpci_usb_query_parse(bad[i], &q, &why) != -ERANGE)
                        fail_msg("'%s' was not refused as out of range", bad[i]);
                assert_non_null(why);
                assert_non_null(strstr(why, "from 1 to"));
                assert_null(q.port);
        }
        /* The ends of the ranges still parse. */
        assert_int_equal(qpci_usb_query_parse("Bus 064 Device 127: ID 1d6b:0002", &q, NULL), 0);
        assert_int_equal(q.busnum, 64);
        assert_int_equal(q.devnum, 127);
        assert_int_equal(qpci_usb_query_parse("Bus 1 Device 1: ID 1d6b:0002", &q, NULL), 0);
        assert_int_equal(q.busnum, 1);
        assert_int_equal(qpci_usb_query_parse("usb64", &q, NULL), 0);
        assert_int_equal(q.busnum, 64);
        assert_int_equal(qpci_usb_query_parse("0000000000000000000003", &q, NULL), 0);
        assert_int_equal(q.busnum, 3);
        assert_int_equal(qpci_usb_query_parse("64-1.2", &q, NULL), 0);
        assert_int_equal(q.busnum, 64);
        qpci_usb_query_done(&q);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lsusb_line),
                cmocka_unit_test(test_short_forms),
                cmocka_unit_test(test_bad),
                cmocka_unit_test(test_out_of_range),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
