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
        const char *bad[] = {"", "xyz", "413c:818", "413c-818d", "3-", "3-1.", "-1", "1234", "Bus 3"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                why = NULL;
                if (qpci_usb_query_parse(bad[i], &q, &why) != -EINVAL)
                        fail_msg("'%s' was accepted", bad[i]);
                assert_non_null(strstr(why, "lsusb"));
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lsusb_line),
                cmocka_unit_test(test_short_forms),
                cmocka_unit_test(test_bad),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
