/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host-critical guard on hand-built trees: block devices stacked deeper than anyone expects,
 * stacks whose links loop, /proc lines and names longer than any buffer, more framebuffers and
 * consoles than a guess would allow. Each must still name what depends on the device.
 * (tests/kernel/guard.sh checks the common cases on a real kernel.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "qpci-internal.h"

#define NVME "0000:00:1d.0"
#define SATA "0000:00:1f.2"
#define GPU "0000:01:00.0"
#define NIC "0000:02:00.0"

/* The disks' own numbers: a major no real disk of the machine running the tests has (the swap
 * file's filesystem gets a link of its own, under its real number). */
#define DISK_MAJOR 240
#define STACK_MAJOR 241

struct fixture {
        char root[64];
        struct qpci_ctx *ctx;
};

static char *at(struct fixture *f, const char *rel) {
        char *p;
        assert_true(asprintf(&p, "%s/%s", f->root, rel) > 0);
        return p;
}

static void mkdirs(const char *path) {
        _cleanup_free_ char *p = strdup(path);
        assert_non_null(p);
        for (char *s = p + 1; *s; s++)
                if (*s == '/') {
                        *s = '\0';
                        mkdir(p, 0755);
                        *s = '/';
                }
        mkdir(p, 0755);
}

static void mkparent(const char *path) {
        _cleanup_free_ char *p = strdup(path);
        assert_non_null(p);
        *strrchr(p, '/') = '\0';
        mkdirs(p);
}

static void mkdir_at(struct fixture *f, const char *rel) {
        _cleanup_free_ char *p = at(f, rel);
        mkdirs(p);
}

static void put(struct fixture *f, const char *rel, const char *text) {
        _cleanup_free_ char *p = at(f, rel);
        FILE *o;
        mkparent(p);
        assert_non_null(o = fopen(p, "w"));
        fputs(text, o);
        fclose(o);
}

/* A link at rel to the tree's target, as the kernel's links point inside sysfs. */
static void link_to(struct fixture *f, const char *target, const char *rel) {
        _cleanup_free_ char *t = at(f, target), *p = at(f, rel);
        mkparent(p);
        assert_int_equal(symlink(t, p), 0);
}

/* A block device: its directory, its dev number in sys/dev/block, and what it is made of. */
static void blockdev(struct fixture *f, const char *dir, unsigned maj, unsigned min, const char *const *slaves) {
        _cleanup_free_ char *p = at(f, dir), *dev = NULL;
        mkdirs(p);
        assert_true(asprintf(&dev, "sys/dev/block/%u:%u", maj, min) > 0);
        link_to(f, dir, dev);
        for (; slaves && *slaves; slaves += 2) {
                _cleanup_free_ char *s = NULL;
                assert_true(asprintf(&s, "%s/slaves/%s", dir, slaves[0]) > 0);
                link_to(f, slaves[1], s);
        }
}

#define NVME_DISK "sys/devices/pci0000:00/" NVME "/nvme/nvme0/nvme0n1"
#define NVME_PART NVME_DISK "/nvme0n1p1"
#define SATA_DISK "sys/devices/pci0000:00/" SATA "/ata1/host0/target0:0:0/0:0:0:0/block/sda"

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        strcpy(f->root, "/tmp/qpci-guard-XXXXXX");
        assert_non_null(mkdtemp(f->root));
        put(f, "proc/sys/kernel/osrelease", "6.1.0-13-amd64\n");
        blockdev(f, NVME_DISK, DISK_MAJOR, 0, NULL);
        blockdev(f, NVME_PART, DISK_MAJOR, 1, NULL);
        blockdev(f, SATA_DISK, DISK_MAJOR, 16, NULL);
        assert_int_equal(qpci_new(f->root, &f->ctx), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;
        _cleanup_free_ char *cmd = NULL;
        qpci_unref(f->ctx);
        assert_true(asprintf(&cmd, "rm -rf '%s'", f->root) > 0);
        assert_int_equal(system(cmd), 0);
        free(f);
        return 0;
}

/* What the guard says about bdf: its whole phrase, or "" when nothing depends on it. */
static char *dependents(struct fixture *f, const char *bdf) {
        char *what = NULL;
        int r = qpci_guard_dependents(f->ctx, bdf, &what);
        assert_true(r >= 0);
        assert_int_equal(r, what != NULL);
        return what ? what : strdup("");
}

static void assert_dependents(struct fixture *f, const char *bdf, const char *expected) {
        _cleanup_free_ char *what = dependents(f, bdf);
        assert_string_equal(what, expected);
}

/* A virtual block device stacked on others (device-mapper, md). */
static void stacked(struct fixture *f, const char *name, unsigned min, const char *const *slaves) {
        _cleanup_free_ char *dir = NULL;
        assert_true(asprintf(&dir, "sys/devices/virtual/block/%s", name) > 0);
        blockdev(f, dir, STACK_MAJOR, min, slaves);
}

static const char *virt(const char *name) {
        static char buf[8][128];
        static int i;
        i = (i + 1) % 8;
        snprintf(buf[i], sizeof(buf[i]), "sys/devices/virtual/block/%s", name);
        return buf[i];
}

/* A filesystem on LVM on LUKS on RAID...: twelve layers between the mount and the NVMe. */
static void test_deep_stack(void **state) {
        struct fixture *f = *state;
        char name[16], below[16] = "md0";

        stacked(f, "md0", 0, (const char *const[]){"nvme0n1p1", NVME_PART, NULL});
        for (unsigned i = 1; i < 12; i++) {
                snprintf(name, sizeof(name), "dm-%u", i);
                stacked(f, name, i, (const char *const[]){below, virt(below), NULL});
                snprintf(below, sizeof(below), "%s", name);
        }
        put(f, "proc/self/mountinfo",
            "21 1 240:16 / / rw,relatime shared:1 - ext4 /dev/sda rw\n"
            "30 21 241:11 / /srv rw,relatime shared:2 - ext4 /dev/mapper/top rw\n");
        assert_dependents(f, NVME, "the filesystem mounted on /srv (ext4 /dev/mapper/top)");
        assert_dependents(f, SATA, "the filesystem mounted on / (ext4 /dev/sda)");
}

/* Links that loop (no kernel makes them, a corrupt or odd sysfs might): the walk ends, and still
 * finds the device that one member of the loop is made of, however far round the loop it is. */
static void test_stack_loop(void **state) {
        struct fixture *f = *state;
        char name[16], next[16];

        for (unsigned i = 0; i < 10; i++) {
                snprintf(name, sizeof(name), "ring%u", i);
                snprintf(next, sizeof(next), "ring%u", (i + 1) % 10);
                if (i == 9)
                        stacked(f, name, i, (const char *const[]){next, virt(next), "sda", SATA_DISK, NULL});
                else
                        stacked(f, name, i, (const char *const[]){next, virt(next), NULL});
        }
        /* A loop made of nothing but itself, both ways round at every step. */
        stacked(f, "self0", 20, (const char *const[]){"self0", virt("self0"), "self1", virt("self1"), NULL});
        stacked(f, "self1", 21, (const char *const[]){"self0", virt("self0"), "self1", virt("self1"), NULL});
        put(f, "proc/self/mountinfo",
            "30 1 241:0 / /ring rw - xfs /dev/mapper/ring rw\n"
            "31 1 241:20 / /self rw - xfs /dev/mapper/self rw\n");
        assert_dependents(f, SATA, "the filesystem mounted on /ring (xfs /dev/mapper/ring)");
        assert_dependents(f, NVME, "");
}

/* A mountinfo line of more than a page (a deep mount point, long options): read whole, with the
 * type and source that come after its middle, and the kernel's escapes decoded. */
static void test_long_mountinfo_line(void **state) {
        struct fixture *f = *state;
        _cleanup_free_ char *mnt = malloc(5001), *line = NULL, *expected = NULL, *opts = malloc(3001);

        assert_non_null(mnt);
        assert_non_null(opts);
        strcpy(mnt, "/mnt/my\\040disk/");
        memset(mnt + strlen(mnt), 'd', 5000 - strlen(mnt));
        mnt[5000] = '\0';
        memset(opts, 'o', 3000);
        opts[3000] = '\0';
        assert_true(asprintf(&line, "21 1 240:16 / / rw - ext4 /dev/sda rw\n"
                                    "40 21 240:1 / %s rw,relatime,%s shared:7 master:3 - ext4 /dev/nvme0n1p1 rw,%s\n"
                                    "41 21 0:52 / /var/lib/docker/x/merged rw - overlay overlay rw,lowerdir=%s\n",
                             mnt, opts, opts, opts) > 0);
        put(f, "proc/self/mountinfo", line);
        memcpy(mnt + 7, " disk", 5);
        memmove(mnt + 12, mnt + 15, strlen(mnt + 15) + 1);
        assert_true(asprintf(&expected, "the filesystem mounted on %s (ext4 /dev/nvme0n1p1)", mnt) > 0);
        assert_dependents(f, NVME, expected);
        assert_dependents(f, SATA, "the filesystem mounted on / (ext4 /dev/sda)");
}

/* A swap file whose path is longer than any name buffer, and one with a space, which /proc/swaps
 * writes as \040. */
static void test_long_swap_path(void **state) {
        struct fixture *f = *state;
        _cleanup_free_ char *name = strdup("/swap"), *spaced = NULL, *swaps = NULL, *expected = NULL;
        _cleanup_free_ char *dev = NULL, *p = NULL;
        struct stat st;

        for (int i = 0; i < 5; i++) {
                char comp[232];
                _cleanup_free_ char *longer = NULL;
                memset(comp, 'a' + i, sizeof(comp) - 1);
                comp[sizeof(comp) - 1] = '\0';
                assert_true(asprintf(&longer, "%s/%s", name, comp) > 0);
                free(name);
                name = TAKE_PTR(longer);
        }
        assert_true(asprintf(&p, "%s/swapfile", name) > 0);
        free(name);
        name = TAKE_PTR(p);
        assert_true(strlen(name) > 1024);
        put(f, name + 1, "");
        put(f, "swap dir/file", "");

        /* The files' own filesystem, as the fixture sees it: a partition of the NVMe. */
        p = at(f, name + 1);
        assert_int_equal(stat(p, &st), 0);
        assert_true(major(st.st_dev) != DISK_MAJOR && major(st.st_dev) != STACK_MAJOR);
        assert_true(asprintf(&dev, "sys/dev/block/%u:%u", major(st.st_dev), minor(st.st_dev)) > 0);
        link_to(f, NVME_PART, dev);

        assert_true(asprintf(&swaps, "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
                                     "%s\tfile\t\t1048572\t\t0\t\t-2\n"
                                     "/swap\\040dir/file                          file\t\t1048572\t\t0\t\t-3\n",
                             name) > 0);
        put(f, "proc/swaps", swaps);
        assert_true(asprintf(&expected, "active swap on %s, active swap on /swap dir/file", name) > 0);
        assert_dependents(f, NVME, expected);
        assert_dependents(f, SATA, "");
}

/* Two swap files, one name the start of the other: both are named. */
static void test_similar_names(void **state) {
        struct fixture *f = *state;
        _cleanup_free_ char *p = NULL, *dev = NULL;
        struct stat st;

        put(f, "swapfile", "");
        put(f, "swap", "");
        p = at(f, "swap");
        assert_int_equal(stat(p, &st), 0);
        assert_true(asprintf(&dev, "sys/dev/block/%u:%u", major(st.st_dev), minor(st.st_dev)) > 0);
        link_to(f, NVME_PART, dev);
        put(f, "proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n"
                             "/swapfile\tfile\t1024\t0\t-2\n"
                             "/swap\tfile\t1024\t0\t-3\n");
        assert_dependents(f, NVME, "active swap on /swapfile, active swap on /swap");
}

/* The console on the tenth framebuffer, listed after more consoles than fit a small buffer. */
static void test_console_framebuffers(void **state) {
        struct fixture *f = *state;
        char *active = calloc(1, 4096);

        assert_non_null(active);
        for (int i = 0; i < 10; i++) {
                char target[128], rel[64];
                if (i < 9)
                        snprintf(target, sizeof(target), "sys/devices/platform/simple-framebuffer.0/graphics/fb%d", i);
                else
                        snprintf(target, sizeof(target), "sys/devices/pci0000:00/0000:00:01.0/%s/graphics/fb%d", GPU, i);
                mkdir_at(f, target);
                snprintf(rel, sizeof(rel), "sys/class/graphics/fb%d", i);
                link_to(f, target, rel);
        }
        for (int i = 0; i < 40; i++)
                sprintf(active + strlen(active), "netcon%d ", i);
        strcat(active, "tty1\n");
        put(f, "sys/class/tty/console/active", active);
        free(active);
        assert_dependents(f, GPU, "the console tty1 (on fb9)");
        assert_dependents(f, NVME, "");
}

/* The default route through a bond over a bridge over the NIC: followed down its lower links. */
static void test_route_stack(void **state) {
        struct fixture *f = *state;

        mkdir_at(f, "sys/devices/pci0000:00/0000:00:1c.0/" NIC "/net/enp2s0");
        mkdir_at(f, "sys/devices/virtual/net/br0");
        mkdir_at(f, "sys/devices/virtual/net/bond0");
        link_to(f, "sys/devices/pci0000:00/0000:00:1c.0/" NIC "/net/enp2s0", "sys/class/net/enp2s0");
        link_to(f, "sys/devices/virtual/net/br0", "sys/class/net/br0");
        link_to(f, "sys/devices/virtual/net/bond0", "sys/class/net/bond0");
        link_to(f, "sys/devices/virtual/net/br0", "sys/devices/virtual/net/bond0/lower_br0");
        link_to(f, "sys/devices/pci0000:00/0000:00:1c.0/" NIC "/net/enp2s0", "sys/devices/virtual/net/br0/lower_enp2s0");
        put(f, "proc/net/route", "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
                                 "bond0\t00000000\t0202000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n");
        assert_dependents(f, NIC, "the network interface bond0 of the default route");
        assert_dependents(f, NVME, "");
}

/* btrfs gives its mounts anonymous numbers (0:N) that /sys/dev/block does not know: the source
 * names the device, directly or through device-mapper, and a swap file on btrfs is on it too. */
static void test_btrfs(void **state) {
        struct fixture *f = *state;
        _cleanup_free_ char *p = NULL, *mountinfo = NULL, *mapper = NULL;
        struct stat st;

        stacked(f, "dm-5", 5, (const char *const[]){"sda", SATA_DISK, NULL});
        link_to(f, NVME_PART, "sys/class/block/nvme0n1p1");
        link_to(f, virt("dm-5"), "sys/class/block/dm-5");
        put(f, "dev/nvme0n1p1", "");
        put(f, "dev/dm-5", "");
        mapper = at(f, "dev/mapper/crypt");
        mkparent(mapper);
        assert_int_equal(symlink("../dm-5", mapper), 0);
        put(f, "swap/file", "");
        /* The swap file's number, as stat() gives it here, stands for btrfs's anonymous one. */
        p = at(f, "swap/file");
        assert_int_equal(stat(p, &st), 0);
        assert_true(asprintf(&mountinfo, "21 1 0:33 / / rw,relatime shared:1 - btrfs /dev/nvme0n1p1 rw,ssd\n"
                                         "22 21 0:34 /@home /home rw - btrfs /dev/mapper/crypt rw\n"
                                         "23 21 %u:%u /@swap /swap rw - btrfs /dev/nvme0n1p1 rw\n"
                                         "24 21 0:22 / /run rw - tmpfs tmpfs rw\n",
                             major(st.st_dev), minor(st.st_dev)) > 0);
        put(f, "proc/self/mountinfo", mountinfo);
        put(f, "proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n/swap/file\tfile\t1024\t0\t-2\n");
        assert_dependents(f, NVME, "the filesystem mounted on / (btrfs /dev/nvme0n1p1), the filesystem mounted on "
                                   "/swap (btrfs /dev/nvme0n1p1), active swap on /swap/file");
        assert_dependents(f, SATA, "the filesystem mounted on /home (btrfs /dev/mapper/crypt)");
}

/* A swap file in a btrfs subvolume has the subvolume's number, which no mount shows: it is on the
 * filesystem of the deepest mount point above it. */
static void test_btrfs_subvolume_swap(void **state) {
        struct fixture *f = *state;

        link_to(f, NVME_PART, "sys/class/block/nvme0n1p1");
        link_to(f, SATA_DISK, "sys/class/block/sda");
        put(f, "dev/nvme0n1p1", "");
        put(f, "dev/sda", "");
        put(f, "swap/file", "");
        put(f, "proc/self/mountinfo", "21 1 0:33 / / rw - btrfs /dev/sda rw\n"
                                      "22 21 0:34 /@sw /swap rw - btrfs /dev/nvme0n1p1 rw\n"
                                      "23 21 0:35 /@swapx /swapx rw - btrfs /dev/sda rw\n");
        put(f, "proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n/swap/file\tfile\t1024\t0\t-2\n");
        assert_dependents(f, NVME, "the filesystem mounted on /swap (btrfs /dev/nvme0n1p1), active swap on /swap/file");
}

/* A /proc file that is not one (a FIFO, which a plain open waits on forever): the guard does not
 * hang, and says which file it could not read rather than that nothing depends on the device. */
static void test_unreadable_proc(void **state) {
        struct fixture *f = *state;
        _cleanup_free_ char *p = at(f, "proc/swaps");
        char *what = NULL;

        put(f, "proc/self/mountinfo", "21 1 240:16 / / rw - ext4 /dev/sda rw\n");
        assert_int_equal(mkfifo(p, 0644), 0);
        alarm(10);
        assert_true(qpci_guard_dependents(f->ctx, NVME, &what) < 0);
        assert_non_null(what);
        assert_string_equal(what, "cannot read /proc/swaps: not a regular file, as every kernel attribute is");
        free(what);
        assert_true(qpci_guard_dependents(f->ctx, SATA, &what) < 0);
        assert_non_null(strstr(what, "/proc/swaps"));
        free(what);
        alarm(0);
}

/* An IPv6-only host: its default route is in ipv6_route alone, beside the unreachable ::/0 on lo
 * that the kernel always keeps. Named once when both tables route through the same interface. */
static void test_route_ipv6(void **state) {
        struct fixture *f = *state;

        mkdir_at(f, "sys/devices/pci0000:00/0000:00:1c.0/" NIC "/net/enp2s0");
        mkdir_at(f, "sys/devices/virtual/net/lo");
        link_to(f, "sys/devices/pci0000:00/0000:00:1c.0/" NIC "/net/enp2s0", "sys/class/net/enp2s0");
        link_to(f, "sys/devices/virtual/net/lo", "sys/class/net/lo");
        put(f, "proc/net/route", "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n");
        put(f, "proc/net/ipv6_route",
            "fd000000000000000000000000000000 40 00000000000000000000000000000000 00 "
            "00000000000000000000000000000000 00000100 00000001 00000000 00000001     enp2s0\n"
            "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
            "fd000000000000000000000000000001 00000400 00000002 00000000 00000003   enp2s0\n"
            "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
            "00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n");
        assert_dependents(f, NIC, "the network interface enp2s0 of the default route");
        assert_dependents(f, NVME, "");
        /* The same interface in both tables: named once. */
        put(f, "proc/net/route", "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
                                 "enp2s0\t00000000\t0202000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n");
        assert_dependents(f, NIC, "the network interface enp2s0 of the default route");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_deep_stack, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stack_loop, setup, teardown),
                cmocka_unit_test_setup_teardown(test_long_mountinfo_line, setup, teardown),
                cmocka_unit_test_setup_teardown(test_long_swap_path, setup, teardown),
                cmocka_unit_test_setup_teardown(test_similar_names, setup, teardown),
                cmocka_unit_test_setup_teardown(test_console_framebuffers, setup, teardown),
                cmocka_unit_test_setup_teardown(test_route_stack, setup, teardown),
                cmocka_unit_test_setup_teardown(test_route_ipv6, setup, teardown),
                cmocka_unit_test_setup_teardown(test_btrfs, setup, teardown),
                cmocka_unit_test_setup_teardown(test_btrfs_subvolume_swap, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unreadable_proc, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
