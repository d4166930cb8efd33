/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host-critical guard: what on this host would stop working if a PCI function left it. A
 * device backs a block device when the block device's sysfs path runs through the function's
 * directory; the same holds for network interfaces, framebuffers and ttys. Stacked devices
 * (device-mapper, md, bonds, bridges) are followed down through their slaves and lower links.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "qpci-internal.h"

struct found {
        char *text;
        size_t len;
};

_printf_(2, 3) static void add(struct found *f, const char *fmt, ...) {
        char buf[256];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        if (f->text && strstr(f->text, buf))
                return; /* a disk with three mounted partitions is named once per mount, not per path */
        char *t = realloc(f->text, f->len + n + 3);
        if (!t)
                return;
        f->text = t;
        f->len += sprintf(t + f->len, "%s%s", f->len ? ", " : "", buf);
}

static bool below(struct qpci_ctx *ctx, const char *rel, const char *bdf, int depth);

/* Whether any entry of rel/sub (those starting with prefix, when given) sits below the function. */
static bool any_below(struct qpci_ctx *ctx, const char *rel, const char *sub, const char *prefix, const char *bdf,
                      int depth) {
        char dir[PATH_MAX], next[PATH_MAX];
        struct dirent *de;

        snprintf(dir, sizeof(dir), "%s/%s%s%s", qpci_root_prefix(ctx), rel, sub ? "/" : "",
                 sub ? sub : "");
        _cleanup_closedir_ DIR *d = opendir(dir);
        while (d && (de = readdir(d))) {
                if (de->d_name[0] == '.' || (prefix && strncmp(de->d_name, prefix, strlen(prefix)) != 0))
                        continue;
                snprintf(next, sizeof(next), "%s/%s%s%s", rel, sub ? sub : "", sub ? "/" : "", de->d_name);
                if (below(ctx, next, bdf, depth + 1))
                        return true;
        }
        return false;
}

/* Whether the sysfs object at rel (relative to root) sits below the function. */
static bool below(struct qpci_ctx *ctx, const char *rel, const char *bdf, int depth) {
        char path[PATH_MAX], real[PATH_MAX], needle[64];

        snprintf(path, sizeof(path), "%s/%s", qpci_root_prefix(ctx), rel);
        if (!realpath(path, real) || strlen(real) + 2 > sizeof(real))
                return false;
        snprintf(needle, sizeof(needle), "/%s/", bdf);
        strcat(real, "/");
        if (strstr(real, needle))
                return true;
        /* Stacked block devices list what they are made of in slaves/, stacked links in lower_*. */
        return depth < 8 &&
               (any_below(ctx, rel, "slaves", NULL, bdf, depth) || any_below(ctx, rel, NULL, "lower_", bdf, depth));
}

/* Mounted filesystems and swap: /proc/self/mountinfo and /proc/swaps name their block devices. */
static void check_block(struct qpci_ctx *ctx, const char *bdf, struct found *f) {
        _cleanup_fclose_ FILE *mi = NULL, *sw = NULL;
        _cleanup_close_ int fd = -1;
        char line[4096];

        fd = qpci_open_root(ctx, "/proc/self/mountinfo", O_RDONLY);
        mi = fd >= 0 ? fdopen(TAKE_FD(fd), "r") : NULL;
        while (mi && fgets(line, sizeof(line), mi)) {
                unsigned maj, min;
                char mnt[1024], rel[64], *sep, src[1024] = "", type[64] = "";
                /* "36 35 98:0 / /mnt1 rw,noatime master:1 - ext3 /dev/root rw,errors=continue" */
                if (sscanf(line, "%*u %*u %u:%u %*s %1023s", &maj, &min, mnt) != 3)
                        continue;
                if ((sep = strstr(line, " - ")))
                        sscanf(sep + 3, "%63s %1023s", type, src);
                snprintf(rel, sizeof(rel), "sys/dev/block/%u:%u", maj, min);
                if (below(ctx, rel, bdf, 0))
                        add(f, "the filesystem mounted on %s (%s %s)", mnt, type, src);
        }
        fd = qpci_open_root(ctx, "/proc/swaps", O_RDONLY);
        sw = fd >= 0 ? fdopen(TAKE_FD(fd), "r") : NULL;
        while (sw && fgets(line, sizeof(line), sw)) {
                char name[1024], rel[64], path[PATH_MAX];
                struct stat st;
                if (sscanf(line, "%1023s", name) != 1 || streq(name, "Filename"))
                        continue;
                snprintf(path, sizeof(path), "%s%s", qpci_root_prefix(ctx), name);
                if (stat(path, &st) < 0)
                        continue;
                /* A swap partition is its own device; a swap file lives on its filesystem's. */
                dev_t dev = S_ISBLK(st.st_mode) ? st.st_rdev : st.st_dev;
                snprintf(rel, sizeof(rel), "sys/dev/block/%u:%u", major(dev), minor(dev));
                if (below(ctx, rel, bdf, 0))
                        add(f, "active swap on %s", name);
        }
}

/* The interface of the default route: /proc/net/route's line with destination 00000000. */
static void check_route(struct qpci_ctx *ctx, const char *bdf, struct found *f) {
        _cleanup_close_ int fd = qpci_open_root(ctx, "/proc/net/route", O_RDONLY);
        _cleanup_fclose_ FILE *rt = fd >= 0 ? fdopen(TAKE_FD(fd), "r") : NULL;
        char line[512];

        while (rt && fgets(line, sizeof(line), rt)) {
                char iface[64], dest[16], rel[128];
                if (sscanf(line, "%63s %15s", iface, dest) != 2 || !streq(dest, "00000000"))
                        continue;
                snprintf(rel, sizeof(rel), "sys/class/net/%s", iface);
                if (below(ctx, rel, bdf, 0))
                        add(f, "the network interface %s of the default route", iface);
        }
}

/* The consoles the kernel writes to, and what shows them: a framebuffer or a serial port. */
static void check_console(struct qpci_ctx *ctx, const char *bdf, struct found *f) {
        _cleanup_close_ int fd = qpci_open_root(ctx, "/sys/class/tty/console", O_PATH | O_DIRECTORY);
        char active[256], rel[128];
        char *save = NULL;

        if (fd < 0 || qpci_read_line(fd, "active", active, sizeof(active)) <= 0)
                return;
        for (char *t = strtok_r(active, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
                if (strncmp(t, "tty", 3) == 0 && t[3] >= '0' && t[3] <= '9') {
                        /* A virtual terminal is drawn on the framebuffer (fbcon). */
                        for (int fb = 0; fb < 8; fb++) {
                                snprintf(rel, sizeof(rel), "sys/class/graphics/fb%d", fb);
                                if (below(ctx, rel, bdf, 0))
                                        add(f, "the console %s (on fb%d)", t, fb);
                        }
                } else {
                        snprintf(rel, sizeof(rel), "sys/class/tty/%s", t);
                        if (below(ctx, rel, bdf, 0))
                                add(f, "the console %s", t);
                }
        }
}

int qpci_guard_dependents(struct qpci_ctx *ctx, const char *bdf, char **ret) {
        struct found f = {0};

        check_block(ctx, bdf, &f);
        check_route(ctx, bdf, &f);
        check_console(ctx, bdf, &f);
        *ret = f.text;
        return f.text ? 1 : 0;
}

QPCI_EXPORT int qpci_dev_get_host_dependents(struct qpci_dev *d, char **ret) {
        return qpci_guard_dependents(d->inv->ctx, d->bdf, ret);
}
