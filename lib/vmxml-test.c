/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A domain's XML as qpci edits it: preferences, their defaults, and PCI assignments. No daemon. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qpci-internal.h"

static struct qpci_vmxml *new_vm(const char *type, const char *kernelopts) {
        struct qpci_vm_config c = {.name = "sys-usb", .kernel = "/boot/vmlinuz", .initrd = "/boot/initrd.img",
                                   .memory_mib = 300, .vcpus = 2, .kernelopts = kernelopts};
        _cleanup_free_ char *xml = qpci_vmxml_new_domain(&c, type, "/var/log/libvirt/qemu/sys-usb-console.log");
        struct qpci_vmxml *x = NULL;

        assert_non_null(xml);
        assert_int_equal(qpci_vmxml_parse(xml, &x), 0);
        return x;
}

static void expect_pref(struct qpci_vmxml *x, const char *name, const char *value, bool dflt) {
        _cleanup_free_ char *v = NULL;
        bool d = !dflt;
        assert_int_equal(qpci_vmxml_get_pref(x, name, &v, &d), 0);
        assert_string_equal(v, value);
        assert_int_equal(d, dflt);
}

static bool has(struct qpci_vmxml *x, const char *needle) {
        _cleanup_free_ char *xml = qpci_vmxml_format(x);
        return strstr(xml, needle) != NULL;
}

static const struct qpci_assignment usb = {
        .addr = {.bus = 0, .dev = 0x1a, .fn = 0}, .bdf = "0000:00:1a.0", .vendor_id = 0x8086, .device_id = 0x2934,
        .path = "00_1a.0", .devid = "0x8086:0x2934::p0c0320", .no_strict_reset = true, .persistent = true};

static void test_new_and_prefs(void **state) {
        (void)state;
        struct qpci_vmxml *x = new_vm("qemu", NULL);
        const char *why = NULL;

        assert_true(qpci_vmxml_is_qpci(x));
        assert_string_equal(qpci_vmxml_get_type(x), "qemu");
        expect_pref(x, "kernel", "/boot/vmlinuz", false);
        expect_pref(x, "kernelopts", "", true);
        expect_pref(x, "memory", "300", false);
        expect_pref(x, "maxmem", "300", true);
        expect_pref(x, "vcpus", "2", false);
        expect_pref(x, "pci_strictreset", "True", true);
        assert_true(has(x, "<cmdline>console=ttyS0</cmdline>"));
        assert_true(has(x, "machine=\"q35\""));
        /* No emulated USB controller beside the one a VM may be given. */
        assert_true(has(x, "<controller type=\"usb\" model=\"none\"/>"));
        /* The Assigning Devices page's DMA buffer goes after the console, which is not a preference. */
        assert_int_equal(qpci_vmxml_set_pref(x, "kernelopts", "iommu=soft swiotlb=8192", &why), 0);
        expect_pref(x, "kernelopts", "iommu=soft swiotlb=8192", false);
        assert_true(has(x, "<cmdline>console=ttyS0 iommu=soft swiotlb=8192</cmdline>"));
        /* Ballooning room without PCI devices. */
        assert_int_equal(qpci_vmxml_set_pref(x, "maxmem", "1000", &why), 0);
        assert_true(has(x, "<memory unit=\"KiB\">1024000</memory>"));
        assert_int_equal(qpci_vmxml_set_pref(x, "memory", "0", &why), -EINVAL);
        assert_non_null(why);
        assert_int_equal(qpci_vmxml_set_pref(x, "vcpus", "2x", &why), -EINVAL);
        assert_int_equal(qpci_vmxml_set_pref(x, "pci_strictreset", "maybe", &why), -EINVAL);
        assert_int_equal(qpci_vmxml_set_pref(x, "kernel", "vmlinuz", &why), -EINVAL);
        assert_int_equal(qpci_vmxml_set_pref(x, "colour", "red", &why), -ENOENT);
        assert_int_equal(qpci_vmxml_set_pref(x, "pci_strictreset", "false", &why), 0);
        expect_pref(x, "pci_strictreset", "False", false);
        assert_false(qpci_vmxml_strict_reset(x));
        assert_int_equal(qpci_vmxml_set_pref(x, "pci_strictreset", NULL, &why), 0);
        assert_true(qpci_vmxml_strict_reset(x));
        assert_int_equal(qpci_vmxml_set_pref(x, "kernelopts", NULL, &why), 0);
        expect_pref(x, "kernelopts", "", true);
        assert_true(has(x, "<cmdline>console=ttyS0</cmdline>"));
        qpci_vmxml_free(x);
}

static void test_assignments(void **state) {
        (void)state;
        struct qpci_vmxml *x = new_vm("qemu", NULL);
        struct qpci_assignment *a = NULL;
        const char *why;
        size_t n = 0;

        assert_int_equal(qpci_vmxml_set_pref(x, "maxmem", "1000", &why), 0);
        assert_int_equal(qpci_vmxml_add_assignment(x, &usb), 0);
        assert_int_equal(qpci_vmxml_add_assignment(x, &usb), -EEXIST);
        assert_true(qpci_vmxml_has_pci(x));
        /* managed='no': the engine hides it and never gives it back by itself. */
        assert_true(has(x, "<hostdev mode=\"subsystem\" type=\"pci\" managed=\"no\">"));
        assert_true(has(x, "<address domain=\"0x0000\" bus=\"0x00\" slot=\"0x1a\" function=\"0x0\"/>"));
        /* A VM with PCI devices: Qubes' kernelopts default, and no ballooning. */
        expect_pref(x, "kernelopts", "iommu=soft swiotlb=2048", true);
        assert_true(has(x, "<cmdline>console=ttyS0 iommu=soft swiotlb=2048</cmdline>"));
        assert_true(has(x, "<memory unit=\"KiB\">307200</memory>"));
        assert_int_equal(qpci_vmxml_get_assignments(x, false, &a, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(a[0].bdf, "0000:00:1a.0");
        assert_int_equal(a[0].vendor_id, 0x8086);
        assert_int_equal(a[0].device_id, 0x2934);
        assert_string_equal(a[0].path, "00_1a.0");
        assert_string_equal(a[0].devid, "0x8086:0x2934::p0c0320");
        assert_true(has(x, "port=\"00_1a.0\" devid=\"0x8086:0x2934::p0c0320\""));
        assert_true(a[0].no_strict_reset && a[0].persistent && !a[0].live && !a[0].permissive);
        free(a);
        /* Other options: the same address, updated in place. */
        struct qpci_assignment perm = usb;
        perm.no_strict_reset = false;
        perm.permissive = true;
        assert_int_equal(qpci_vmxml_add_assignment(x, &perm), 0);
        assert_int_equal(qpci_vmxml_get_assignments(x, false, &a, &n), 0);
        assert_int_equal(n, 1);
        assert_true(!a[0].no_strict_reset && a[0].permissive);
        free(a);
        assert_int_equal(qpci_vmxml_remove_assignment(x, &usb.addr), 0);
        assert_int_equal(qpci_vmxml_remove_assignment(x, &usb.addr), -ENOENT);
        assert_false(has(x, "qpci:device"));
        expect_pref(x, "kernelopts", "", true);
        assert_true(has(x, "<memory unit=\"KiB\">1024000</memory>"));
        qpci_vmxml_free(x);
}

static void test_xen(void **state) {
        (void)state;
        struct qpci_vmxml *x = new_vm("xen", "iommu=soft swiotlb=8192");
        struct qpci_assignment perm = usb;

        assert_true(has(x, "<type>linux</type>")); /* paravirtualized, with pcifront */
        assert_false(has(x, "<controller type=\"usb\""));
        assert_true(has(x, "<passthrough state=\"on\"/>")); /* hot-plug works without devices at start */
        assert_true(has(x, "<cmdline>console=hvc0 iommu=soft swiotlb=8192</cmdline>"));
        perm.permissive = true;
        assert_int_equal(qpci_vmxml_add_assignment(x, &perm), 0);
        /* libvirt's own word for pciback's permissive mode, as Qubes R4.2 uses it. */
        assert_true(has(x, "<source writeFiltering=\"no\">"));
        assert_false(has(x, "<driver name=\"vfio\"/>"));
        qpci_vmxml_free(x);
}

/* A running Xen domain that got a device through libxl (libvirt would refuse one it cannot reset):
 * no <hostdev>, only qpci's metadata says it is there. */
static void test_via_libxl(void **state) {
        (void)state;
        struct qpci_vmxml *x = new_vm("xen", NULL), *back = NULL;
        struct qpci_assignment *a = NULL;
        _cleanup_free_ char *md = NULL;
        size_t n = 0;

        assert_int_equal(qpci_vmxml_add_assignment(x, &usb), 0);
        qpci_vmxml_set_via_libxl(x, &usb, true);
        assert_false(qpci_vmxml_has_pci(x));
        /* What depended on having a device stays as it was rendered. */
        assert_true(has(x, "<cmdline>console=hvc0 iommu=soft swiotlb=2048</cmdline>"));
        assert_int_equal(qpci_vmxml_get_assignments(x, false, &a, &n), 0);
        assert_int_equal(n, 0); /* a definition never holds one */
        free(a);
        assert_int_equal(qpci_vmxml_get_assignments(x, true, &a, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(a[0].bdf, "0000:00:1a.0");
        assert_true(a[0].live && a[0].via_libxl && !a[0].persistent && a[0].no_strict_reset);
        assert_int_equal(a[0].vendor_id, 0x8086);
        assert_string_equal(a[0].path, "00_1a.0");
        free(a);
        /* The element virDomainSetMetadata() takes, which reads back the same in a domain's XML. */
        md = qpci_vmxml_format_meta(x);
        assert_non_null(strstr(md, "via-libxl=\"True\""));
        assert_null(strstr(md, "xmlns")); /* libvirt puts it in its place */
        assert_true(strncmp(md, "<vm ", 4) == 0);
        /* As libvirt gives it back. */
        _cleanup_free_ char *dom = NULL, *in_ns = NULL;
        assert_true(asprintf(&in_ns, "<qpci:vm xmlns:qpci='%s'%s", QPCI_XMLNS, md + 3) > 0);
        in_ns[strlen(in_ns) - strlen("</vm>")] = '\0';
        assert_true(asprintf(&dom, "<domain type='xen'><name>d</name><metadata>%s</qpci:vm></metadata></domain>", in_ns) > 0);
        assert_int_equal(qpci_vmxml_parse(dom, &back), 0);
        assert_int_equal(qpci_vmxml_get_assignments(back, true, &a, &n), 0);
        assert_int_equal(n, 1);
        assert_true(a[0].via_libxl && a[0].no_strict_reset && a[0].addr.dev == 0x1a);
        free(a);
        qpci_vmxml_free(back);
        /* Detached: gone from the record. */
        qpci_vmxml_set_via_libxl(x, &usb, false);
        assert_int_equal(qpci_vmxml_get_assignments(x, true, &a, &n), 0);
        assert_int_equal(n, 0);
        free(a);
        qpci_vmxml_free(x);
}

/* Records of an older qpci, converted once as the XML is parsed: a chain of BDFs or one BDF
 * becomes a PCI path, vendor and device a device id of any class, and the converted definition
 * says it was converted (the caller saves it); one in today's form is left as it is. */
static void test_migrate(void **state) {
        (void)state;
        static const char old[] =
                "<domain type='kvm'><name>old</name><devices>"
                "<hostdev mode='subsystem' type='pci' managed='no'><source>"
                "<address domain='0x0000' bus='0x05' slot='0x00' function='0x0'/></source></hostdev>"
                "<hostdev mode='subsystem' type='pci' managed='no'><source>"
                "<address domain='0x0000' bus='0x00' slot='0x19' function='0x0'/></source></hostdev>"
                "<hostdev mode='subsystem' type='pci' managed='no'><source>"
                "<address domain='0x0001' bus='0x03' slot='0x00' function='0x1'/></source></hostdev>"
                "<hostdev mode='subsystem' type='pci' managed='no'><source>"
                "<address domain='0x0000' bus='0x07' slot='0x00' function='0x0'/></source></hostdev>"
                "</devices><metadata><qpci:vm xmlns:qpci='" QPCI_XMLNS "'>"
                "<qpci:device addr='0000:05:00.0' vendor='0x8086' device='0x1533' path='0000:00:1c.4/0000:05:00.0'/>"
                "<qpci:device addr='0000:00:19.0' vendor='0x8086' device='0x1502' path='0000:00:19.0' "
                "no-strict-reset='True'/>"
                "<qpci:device addr='0001:03:00.1' vendor='0x10de' device='0x10f0' "
                "path='0001:00:02.0/0001:02:00.0/0001:03:00.1'/>"
                "<qpci:device addr='0000:07:00.0' vendor='0x8086' device='0x1533' path='0000:00:1c.4/junk'/>"
                "</qpci:vm></metadata></domain>";
        struct qpci_vmxml *x = NULL, *again = NULL;
        struct qpci_assignment *a = NULL;
        _cleanup_free_ char *saved = NULL;
        size_t n = 0;

        assert_int_equal(qpci_vmxml_parse(old, &x), 0);
        assert_true(qpci_vmxml_migrated(x));
        assert_int_equal(qpci_vmxml_get_assignments(x, false, &a, &n), 0);
        assert_int_equal(n, 4);
        assert_string_equal(a[0].path, "00_1c.4-00_00.0");
        assert_string_equal(a[0].devid, "0x8086:0x1533::*");
        assert_int_equal(a[0].vendor_id, 0x8086);
        assert_int_equal(a[0].device_id, 0x1533);
        assert_string_equal(a[1].path, "00_19.0");
        assert_string_equal(a[1].devid, "0x8086:0x1502::*");
        assert_true(a[1].no_strict_reset);
        assert_string_equal(a[2].path, "0001_00_02.0-00_00.0-00_00.1");
        /* A place that is neither form: no port, and a device id that never matches. */
        assert_string_equal(a[3].path, "");
        assert_string_equal(a[3].devid, "");
        free(a);
        saved = qpci_vmxml_format(x);
        assert_null(strstr(saved, "vendor="));
        assert_null(strstr(saved, "path="));
        assert_non_null(strstr(saved, "port=\"00_1c.4-00_00.0\" devid=\"0x8086:0x1533::*\""));
        qpci_vmxml_free(x);
        /* Once: what was saved is today's form, and is not converted again. */
        assert_int_equal(qpci_vmxml_parse(saved, &again), 0);
        assert_false(qpci_vmxml_migrated(again));
        assert_int_equal(qpci_vmxml_get_assignments(again, false, &a, &n), 0);
        assert_int_equal(n, 4);
        assert_string_equal(a[2].path, "0001_00_02.0-00_00.0-00_00.1");
        assert_string_equal(a[2].devid, "0x10de:0x10f0::*");
        free(a);
        qpci_vmxml_free(again);
}

/* A domain of virsh's: no metadata of qpci's, and its own cmdline is the preference. */
/* The serial console's log goes where the caller says, or nowhere: a daemon that cannot write
 * the file refuses to start the VM. */
static void test_console_log(void **state) {
        struct qpci_vm_config c = {.name = "vm", .kernel = "/boot/vmlinuz"};
        _cleanup_free_ char *session = qpci_vmxml_new_domain(&c, "qemu", "/home/u/.cache/libvirt/qemu/log/vm-console.log");
        _cleanup_free_ char *none = qpci_vmxml_new_domain(&c, "qemu", NULL);
        struct qpci_vmxml *x = new_vm("kvm", NULL);

        (void)state;
        assert_true(has(x, "<log file=\"/var/log/libvirt/qemu/sys-usb-console.log\" append=\"on\"/>"));
        qpci_vmxml_free(x);
        assert_non_null(strstr(session, "<log file=\"/home/u/.cache/libvirt/qemu/log/vm-console.log\""));
        assert_non_null(strstr(none, "<serial type=\"pty\""));
        assert_null(strstr(none, "<log"));
}

static void test_foreign(void **state) {
        (void)state;
        static const char xml[] =
                "<domain type='kvm'><name>win</name><memory unit='GiB'>4</memory><vcpu>4</vcpu>"
                "<os><type>hvm</type><cmdline>quiet</cmdline></os><devices>"
                "<hostdev mode='subsystem' type='pci' managed='yes'><source writeFiltering='no'>"
                "<address domain='0x0001' bus='0x02' slot='0x00' function='0x1'/></source></hostdev>"
                "<hostdev mode='subsystem' type='usb'><source><vendor id='0x1234'/></source></hostdev>"
                "</devices></domain>";
        struct qpci_vmxml *x = NULL;
        struct qpci_assignment *a = NULL;
        const char *why;
        size_t n = 0;

        assert_int_equal(qpci_vmxml_parse("<not-a-domain/>", &x), -EBADMSG);
        assert_int_equal(qpci_vmxml_parse("<domain", &x), -EBADMSG);
        assert_int_equal(qpci_vmxml_parse(xml, &x), 0);
        assert_false(qpci_vmxml_is_qpci(x));
        expect_pref(x, "kernelopts", "quiet", false);
        expect_pref(x, "memory", "4096", false);
        assert_int_equal(qpci_vmxml_get_assignments(x, true, &a, &n), 0);
        assert_int_equal(n, 1); /* the USB hostdev is not a PCI device */
        assert_string_equal(a[0].bdf, "0001:02:00.1");
        assert_true(a[0].permissive && a[0].live && !a[0].persistent && a[0].vendor_id == 0);
        free(a);
        assert_int_equal(qpci_vmxml_set_pref(x, "kernelopts", "quiet splash", &why), 0);
        assert_true(has(x, "<cmdline>quiet splash</cmdline>"));
        assert_false(qpci_vmxml_is_qpci(x));
        qpci_vmxml_free(x);
}

/* Values are checked as given, in qpci's words, before libxml2 or libvirt see them. */
static void test_pref_values(void **state) {
        (void)state;
        char dir[] = "/tmp/qpci-vmxml-XXXXXX", path[64];
        const char *why = NULL;
        FILE *f;

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/vmlinuz", dir);
        assert_non_null(f = fopen(path, "w"));
        fputs("kernel", f);
        fclose(f);
        assert_int_equal(qpci_vmxml_check_pref("kernel", path, &why), 0);
        assert_int_equal(qpci_vmxml_check_pref("kernel", dir, &why), -EINVAL);
        assert_non_null(strstr(why, "directory"));
        assert_int_equal(qpci_vmxml_check_pref("initrd", "/dev/null", &why), -EINVAL);
        assert_non_null(strstr(why, "not a regular file"));
        assert_int_equal(qpci_vmxml_check_pref("kernel", "/nonexistent/vmlinuz", &why), -EINVAL);
        /* Another host's file: only its text is checked here. */
        assert_int_equal(qpci_vmxml_check_pref_on("kernel", "/nonexistent/vmlinuz", false, &why), 0);
        assert_int_equal(qpci_vmxml_check_pref_on("kernel", "/boot/a\x1b", false, &why), -EINVAL);
        struct qpci_vmxml *far = new_vm("kvm", NULL);
        qpci_vmxml_set_files_elsewhere(far, true);
        assert_int_equal(qpci_vmxml_set_pref(far, "initrd", "/nonexistent/initrd.img", &why), 0);
        assert_true(has(far, "<initrd>/nonexistent/initrd.img</initrd>"));
        qpci_vmxml_set_files_elsewhere(far, false);
        assert_int_equal(qpci_vmxml_set_pref(far, "initrd", "/nonexistent/initrd.img", &why), -EINVAL);
        qpci_vmxml_free(far);
        assert_int_equal(qpci_vmxml_check_pref("kernel", NULL, &why), -EINVAL);
        snprintf(path, sizeof(path), "%s/fifo", dir);
        assert_int_equal(mkfifo(path, 0600), 0);
        assert_int_equal(qpci_vmxml_check_pref("kernel", path, &why), -EINVAL);
        unlink(path);
        snprintf(path, sizeof(path), "%s/vmlinuz", dir);
        unlink(path);
        rmdir(dir);

        assert_int_equal(qpci_vmxml_check_pref("kernelopts", "quiet iommu=soft", &why), 0);
        assert_int_equal(qpci_vmxml_check_pref("kernelopts", "quiet \x1b]0;x\x07", &why), -EINVAL);
        assert_non_null(strstr(why, "control"));
        assert_int_equal(qpci_vmxml_check_pref("kernelopts", "a\nb", &why), -EINVAL);
        assert_int_equal(qpci_vmxml_check_pref("kernelopts", "caf\xc3\xa9", &why), 0);
        assert_int_equal(qpci_vmxml_check_pref("kernelopts", "caf\xe9", &why), -EINVAL);
        assert_non_null(strstr(why, "UTF-8"));
        assert_int_equal(qpci_vmxml_check_pref("memory", "12x", &why), -EINVAL);
        assert_int_equal(qpci_vmxml_check_pref("colour", "red", &why), -ENOENT);

        /* A new domain never carries a value its preference would refuse. */
        struct qpci_vm_config c = {.name = "x", .kernel = "/boot/vmlinuz", .kernelopts = "a\x1b"};
        assert_null(qpci_vmxml_new_domain(&c, "qemu", NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_new_and_prefs),
                cmocka_unit_test(test_pref_values),
                cmocka_unit_test(test_assignments),
                cmocka_unit_test(test_xen),
                cmocka_unit_test(test_via_libxl),
                cmocka_unit_test(test_console_log),
                cmocka_unit_test(test_foreign),
                cmocka_unit_test(test_migrate),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
