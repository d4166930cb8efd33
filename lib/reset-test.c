/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The strict-reset decision on hand-built devices: each case is a layout found on real hosts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "qpci-internal.h"

struct fixture {
        char root[64];
        struct qpci_ctx *ctx;
        struct qpci_inventory inv;
        struct qpci_dev dev;
};

static struct fixture *fixture_new(const char *release) {
        struct fixture *f = calloc(1, sizeof(*f));
        char path[128];
        FILE *o;

        assert_non_null(f);
        strcpy(f->root, "/tmp/qpci-reset-XXXXXX");
        assert_non_null(mkdtemp(f->root));
        snprintf(path, sizeof(path), "%s/proc", f->root);
        mkdir(path, 0755);
        strcat(path, "/sys");
        mkdir(path, 0755);
        strcat(path, "/kernel");
        mkdir(path, 0755);
        strcat(path, "/osrelease");
        o = fopen(path, "w");
        assert_non_null(o);
        fprintf(o, "%s\n", release);
        fclose(o);
        assert_int_equal(qpci_new(f->root, &f->ctx), 0);
        f->inv.ctx = f->ctx;
        f->dev.inv = &f->inv;
        f->dev.addr = (struct qpci_addr){0, 0, 0x1a, 0};
        f->dev.root_bus = true;
        f->dev.config.header_ok = true;
        f->dev.config.caps_complete = true;
        f->dev.config.pcie_type = QPCI_PCIE_NONE;
        return f;
}

static void fixture_free(struct fixture *f) {
        char cmd[128];
        free(f->dev.reset_reason);
        free(f->dev.kernel_reset_methods);
        qpci_unref(f->ctx);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
        assert_int_equal(system(cmd), 0);
        free(f);
}

static void test_kernel_release(void **state) {
        (void)state;
        assert_true(qpci_kernel_has_reset_method("5.15.0"));
        assert_true(qpci_kernel_has_reset_method("6.1.0-13-amd64"));
        assert_true(qpci_kernel_has_reset_method("10.0"));
        assert_false(qpci_kernel_has_reset_method("5.14.21"));
        assert_false(qpci_kernel_has_reset_method("5.10.0-28-amd64"));
        assert_false(qpci_kernel_has_reset_method("4.19.0"));
        assert_false(qpci_kernel_has_reset_method(""));
        assert_false(qpci_kernel_has_reset_method("garbage"));
}

static void test_parse_methods(void **state) {
        (void)state;
        assert_int_equal(qpci_reset_parse_methods("flr pm\n"), QPCI_RESET_FLR | QPCI_RESET_PM);
        assert_int_equal(qpci_reset_parse_methods("af_flr bus"), QPCI_RESET_AF_FLR | QPCI_RESET_BUS);
        assert_int_equal(qpci_reset_parse_methods("bogus flrx bus"), QPCI_RESET_BUS);
        assert_int_equal(qpci_reset_parse_methods(""), 0);
        assert_string_equal(qpci_reset_method_name(QPCI_RESET_CXL_BUS), "cxl_bus");
        assert_null(qpci_reset_method_name(QPCI_RESET_FLR | QPCI_RESET_PM));
}

/* The issue's own example: an ICH USB controller with no reset, on a busy root bus. */
static void test_seed_usb_controller(void **state) {
        struct fixture *f = fixture_new("6.1.0-13-amd64");
        (void)state;
        f->dev.bus_peers = 11;
        qpci_dev_resolve_reset(&f->dev);
        assert_int_equal(f->dev.reset_source, QPCI_RESET_FROM_KERNEL);
        assert_int_equal(f->dev.reset_methods, 0);
        assert_false(qpci_dev_has_strict_reset(&f->dev));
        assert_string_equal(qpci_dev_get_strict_reset_reason(&f->dev),
                            "no FLR, no PM reset, and it shares bus 00 with 11 other functions: assign with "
                            "-o no-strict-reset=True, and consider the device tainted after use");
        fixture_free(f);
}

static void test_kernel_file_wins(void **state) {
        struct fixture *f = fixture_new("6.1.0-13-amd64");
        (void)state;
        /* The config space says nothing, yet the kernel has a device-specific quirk: trust it. */
        f->dev.kernel_reset_methods = strdup("device_specific");
        f->dev.has_reset_file = true;
        qpci_dev_resolve_reset(&f->dev);
        assert_int_equal(f->dev.reset_methods, QPCI_RESET_DEVICE_SPECIFIC);
        assert_true(qpci_dev_has_strict_reset(&f->dev));
        assert_non_null(strstr(qpci_dev_get_strict_reset_reason(&f->dev), "device-specific"));
        fixture_free(f);
}

/* The derivation alone: what drivers/pci/pci.c would probe, from config space and topology. */
static void test_derive_like_the_kernel(void **state) {
        struct fixture *f = fixture_new("5.10.0-28-amd64");
        struct qpci_dev parent = {0};
        struct qpci_dev *d = &f->dev;
        (void)state;

        d->config.pcie_type = QPCI_PCIE_ENDPOINT;
        d->config.pcie_flr = true;
        d->config.pm_pos = 0x40;
        assert_int_equal(qpci_reset_derive(d), QPCI_RESET_FLR | QPCI_RESET_PM);

        /* NoSoftRst+: a D3hot cycle keeps state, so the kernel does not count PM as a reset. */
        d->config.pcie_flr = false;
        d->config.pm_no_soft_reset = true;
        assert_int_equal(qpci_reset_derive(d), 0);

        /* AF FLR needs both TP and FLR, as pci_af_flr() checks. */
        d->config.af_pos = 0x50;
        d->config.af_flr = true;
        assert_int_equal(qpci_reset_derive(d), 0);
        d->config.af_tp = true;
        assert_int_equal(qpci_reset_derive(d), QPCI_RESET_AF_FLR);
        d->config.af_pos = 0;
        d->config.af_tp = d->config.af_flr = false;

        /* Alone behind a bridge: the bridge can pulse its secondary bus. */
        d->root_bus = false;
        d->parent = &parent;
        d->addr.bus = 2;
        assert_int_equal(qpci_reset_derive(d), QPCI_RESET_BUS);
        /* The first function of a shared bus (a GPU before its audio): the kernel probes it before
         * the audio function exists and lists `bus`, which a reset then refuses. */
        d->bus_peers = 1;
        assert_int_equal(qpci_reset_derive(d), QPCI_RESET_BUS);
        /* The audio function, probed with the GPU already there: no bus reset. */
        d->addr.fn = 1;
        d->bus_before = 1;
        assert_int_equal(qpci_reset_derive(d), 0);
        d->addr.fn = 0;
        d->bus_before = 0;
        /* A bridge is never reset through its own parent. */
        d->bus_peers = 0;
        d->bridge = true;
        assert_int_equal(qpci_reset_derive(d), 0);
        d->bridge = false;
        /* An SR-IOV VF: the specification requires FLR. */
        d->physfn = &parent;
        d->bus_peers = 4;
        assert_int_equal(qpci_reset_derive(d), QPCI_RESET_FLR);
        fixture_free(f);
}

/* On a pre-5.15 kernel the `reset` attribute says whether, config space says how. */
static void test_old_kernel_policy(void **state) {
        struct fixture *f = fixture_new("5.10.0-28-amd64");
        struct qpci_dev parent = {0};
        struct qpci_dev *d = &f->dev;
        (void)state;

        d->root_bus = false;
        d->parent = &parent;
        d->addr.bus = 2;
        d->has_reset_file = true;
        qpci_dev_resolve_reset(d);
        assert_int_equal(d->reset_source, QPCI_RESET_FROM_CONFIG);
        assert_int_equal(d->reset_methods, QPCI_RESET_BUS);
        assert_true(qpci_dev_has_strict_reset(d));
        assert_string_equal(qpci_dev_get_strict_reset_reason(d),
                            "resets with secondary bus reset (bus) only; it is alone on bus 02, so nothing else is "
                            "reset with it");
        free(d->reset_reason);
        d->reset_reason = NULL;

        /* No reset attribute: the kernel found nothing, whatever config space suggests (quirks). */
        d->has_reset_file = false;
        qpci_dev_resolve_reset(d);
        assert_int_equal(d->reset_source, QPCI_RESET_FROM_KERNEL);
        assert_int_equal(d->reset_methods, 0);
        assert_false(qpci_dev_has_strict_reset(d));
        assert_non_null(strstr(qpci_dev_get_strict_reset_reason(d), "the kernel offers no reset of bus 02"));
        free(d->reset_reason);
        d->reset_reason = NULL;

        /* The attribute exists but config space is cut short: reset works, how is unknown. */
        d->has_reset_file = true;
        d->bus_peers = 2;
        d->bus_before = 1;
        d->config.caps_complete = false;
        d->config.len = 64;
        qpci_dev_resolve_reset(d);
        assert_int_equal(d->reset_source, QPCI_RESET_UNKNOWN);
        assert_true(qpci_dev_has_strict_reset(d));
        assert_non_null(strstr(qpci_dev_get_strict_reset_reason(d), "reset attribute"));
        free(d->reset_reason);
        d->reset_reason = NULL;

        /* ...unless it is the first function of its shared bus: a bus reset probed before the others
         * existed explains the attribute as well as a usable method would. */
        d->bus_before = 0;
        qpci_dev_resolve_reset(d);
        assert_int_equal(d->reset_source, QPCI_RESET_UNKNOWN);
        assert_false(qpci_dev_has_strict_reset(d));
        assert_non_null(strstr(qpci_dev_get_strict_reset_reason(d), "only 64 bytes"));
        fixture_free(f);
}

/* No kernel release to go by (a bare tree): derive, and say so when config space is too short. */
static void test_unknown_when_truncated(void **state) {
        struct fixture *f = fixture_new("");
        (void)state;
        f->dev.config.caps_complete = false;
        f->dev.config.len = 64;
        f->dev.bus_peers = 3;
        qpci_dev_resolve_reset(&f->dev);
        assert_int_equal(f->dev.reset_source, QPCI_RESET_UNKNOWN);
        assert_false(qpci_dev_has_strict_reset(&f->dev));
        assert_non_null(strstr(qpci_dev_get_strict_reset_reason(&f->dev), "only 64 bytes"));
        fixture_free(f);
}

/* Linux 6.1 lists `bus` for the first function of a shared bus (it probes while scanning). */
static void test_kernel_bus_on_shared_bus(void **state) {
        struct fixture *f = fixture_new("6.1.0-13-amd64");
        struct qpci_dev parent = {0};
        (void)state;
        f->dev.root_bus = false;
        f->dev.parent = &parent;
        f->dev.addr.bus = 6;
        f->dev.bus_peers = 1;
        f->dev.kernel_reset_methods = strdup("flr bus");
        f->dev.has_reset_file = true;
        qpci_dev_resolve_reset(&f->dev);
        assert_int_equal(qpci_dev_get_reset_methods(&f->dev), QPCI_RESET_FLR | QPCI_RESET_BUS);
        assert_true(qpci_dev_has_strict_reset(&f->dev));
        assert_string_equal(qpci_dev_get_strict_reset_reason(&f->dev), "resets with function-level reset (flr)");
        free(f->dev.reset_reason);
        f->dev.reset_reason = NULL;
        free(f->dev.kernel_reset_methods);
        f->dev.kernel_reset_methods = strdup("bus");
        qpci_dev_resolve_reset(&f->dev);
        assert_false(qpci_dev_has_strict_reset(&f->dev));
        assert_non_null(strstr(qpci_dev_get_strict_reset_reason(&f->dev), "would be refused"));
        fixture_free(f);
}

/*
 * Linux 5.10 has no reset_method, only `reset`, made when the probe found a method: for the GPU of a
 * GPU + audio pair behind a switch port, a bus reset probed before the audio function existed. A
 * reset refuses it (the bus is shared), as on 6.1, where the same GPU lists `bus`: same verdict.
 */
static void test_old_kernel_gpu_bus_only(void **state) {
        struct fixture *f = fixture_new("5.10.0-28-amd64");
        struct fixture *g = fixture_new("6.1.0-13-amd64");
        struct qpci_dev parent = {0};
        struct qpci_dev *old = &f->dev, *new = &g->dev;
        (void)state;
        for (int i = 0; i < 2; i++) {
                struct qpci_dev *d = i ? new : old;
                d->root_bus = false;
                d->parent = &parent;
                d->addr.bus = 3;
                d->bus_peers = 1;
                d->config.pcie_type = QPCI_PCIE_ENDPOINT;
                d->config.pm_pos = 0x60;
                d->config.pm_no_soft_reset = true;
                d->has_reset_file = true;
        }
        new->kernel_reset_methods = strdup("bus");
        qpci_dev_resolve_reset(old);
        qpci_dev_resolve_reset(new);
        assert_int_equal(old->reset_source, QPCI_RESET_FROM_CONFIG);
        assert_int_equal(qpci_dev_get_reset_methods(old), QPCI_RESET_BUS);
        assert_false(qpci_dev_has_strict_reset(old));
        assert_false(qpci_dev_has_strict_reset(new));
        assert_string_equal(qpci_dev_get_strict_reset_reason(old), qpci_dev_get_strict_reset_reason(new));
        assert_non_null(strstr(qpci_dev_get_strict_reset_reason(old), "would be refused"));
        fixture_free(f);
        fixture_free(g);
}

/* A `reset` file with every capability read and none explaining it: the kernel's own quirk. */
static void test_old_kernel_device_specific(void **state) {
        struct fixture *f = fixture_new("5.10.0-28-amd64");
        (void)state;
        f->dev.bus_peers = 5;
        f->dev.has_reset_file = true;
        qpci_dev_resolve_reset(&f->dev);
        assert_true(qpci_dev_has_strict_reset(&f->dev));
        assert_non_null(strstr(qpci_dev_get_strict_reset_reason(&f->dev), "device-specific"));
        assert_null(strstr(qpci_dev_get_strict_reset_reason(&f->dev), "bytes of config space"));
        fixture_free(f);
}

/* The kernel's quirks skip some methods that config space offers: so does the derivation. */
static void test_old_kernel_quirks(void **state) {
        struct fixture *f = fixture_new("5.10.0-28-amd64");
        struct qpci_dev parent = {0};
        struct qpci_dev *d = &f->dev;
        (void)state;

        /* An AMD GPU with its HDMI audio behind a switch port: PM without NoSoftRst, which the
         * kernel's quirk ignores (the round trip resets nothing), and a bus reset probed before
         * the audio function existed. 6.1 lists only `bus` for it: not strict, on both kernels. */
        d->vendor_id = 0x1002;
        d->device_id = 0x67df;
        d->class_code = 0x030000;
        d->root_bus = false;
        d->parent = &parent;
        d->addr.bus = 3;
        d->bus_peers = 1;
        d->config.pcie_type = QPCI_PCIE_ENDPOINT;
        d->config.pm_pos = 0x50;
        d->has_reset_file = true;
        qpci_dev_resolve_reset(d);
        assert_int_equal(qpci_dev_get_reset_methods(d), QPCI_RESET_BUS);
        assert_false(qpci_dev_has_strict_reset(d));
        free(d->reset_reason);
        d->reset_reason = NULL;
        /* On a root bus the kernel keeps the PM reset (nothing better is possible there). */
        d->root_bus = true;
        d->parent = NULL;
        assert_int_equal(qpci_reset_derive(d), QPCI_RESET_PM);
        /* Not a GPU (its audio function): PM counts. */
        d->root_bus = false;
        d->parent = &parent;
        d->class_code = 0x040300;
        d->bus_before = 1;
        assert_int_equal(qpci_reset_derive(d), QPCI_RESET_PM);

        /* Intel 82579LM: FLR (here through Advanced Features) hangs it, so the kernel never uses it. */
        d->vendor_id = 0x8086;
        d->device_id = 0x1502;
        d->class_code = 0x020000;
        d->root_bus = true;
        d->parent = NULL;
        d->bus_before = 3;
        d->config.pm_pos = 0;
        d->config.af_pos = 0x60;
        d->config.af_tp = d->config.af_flr = true;
        assert_int_equal(qpci_reset_derive(d), 0);
        d->device_id = 0x10d3; /* an 82574L, which has no such quirk */
        assert_int_equal(qpci_reset_derive(d), QPCI_RESET_AF_FLR);
        fixture_free(f);
}

static void test_root_bus_alone(void **state) {
        struct fixture *f = fixture_new("6.6.0");
        (void)state;
        f->dev.addr.bus = 0x80;
        qpci_dev_resolve_reset(&f->dev);
        assert_string_equal(qpci_dev_get_strict_reset_reason(&f->dev),
                            "no FLR, no PM reset, and bus 80 is a root bus, which has no bus reset: assign with "
                            "-o no-strict-reset=True, and consider the device tainted after use");
        fixture_free(f);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_kernel_release),
                cmocka_unit_test(test_parse_methods),
                cmocka_unit_test(test_seed_usb_controller),
                cmocka_unit_test(test_kernel_file_wins),
                cmocka_unit_test(test_derive_like_the_kernel),
                cmocka_unit_test(test_old_kernel_policy),
                cmocka_unit_test(test_unknown_when_truncated),
                cmocka_unit_test(test_kernel_bus_on_shared_bus),
                cmocka_unit_test(test_old_kernel_gpu_bus_only),
                cmocka_unit_test(test_old_kernel_device_specific),
                cmocka_unit_test(test_old_kernel_quirks),
                cmocka_unit_test(test_root_bus_alone),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
