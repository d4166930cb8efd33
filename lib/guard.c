/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host-critical guard: what on this host would stop working if a PCI function left it. A
 * device backs a block device when the block device's sysfs path runs through the function's
 * directory; the same holds for network interfaces, framebuffers and ttys. Stacked devices
 * (device-mapper, md, bonds, bridges) are followed down through their slaves and lower links.
 *
 * Nothing here has a size limit of its own: lines are read whole, names and paths are allocated,
 * and a stack is followed to its bottom however deep it goes. A limit would decide what is
 * checked, and what is not checked is handed to a VM.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <search.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "qpci-internal.h"

struct found {
        char **items;
        size_t n;
        int error;     /* the answer is incomplete, and must not read as "nothing" */
        char *failure; /* what could not be read, when that was the reason */
};

_printf_(2, 3) static void add(struct found *f, const char *fmt, ...) {
        _cleanup_free_ char *item = NULL;
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&item, fmt, ap);
        va_end(ap);
        if (n < 0) {
                item = NULL;
                f->error = -ENOMEM;
                return;
        }
        /* A disk with three mounted partitions is named once per mount, not once per path to it. */
        for (size_t i = 0; i < f->n; i++)
                if (streq(f->items[i], item))
                        return;
        char **t = realloc(f->items, (f->n + 1) * sizeof(*t));
        if (!t) {
                f->error = -ENOMEM;
                return;
        }
        f->items = t;
        f->items[f->n++] = TAKE_PTR(item);
}

/* The /proc files write space, tab, newline and backslash in names as \ooo (the kernel's
 * mangle() and seq_path()): decoded in place, so a mount on "/mnt/my disk" is that path. */
static void unescape_octal(char *s) {
        char *w = s;

        for (const char *r = s; *r;) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
                    r[3] <= '7') {
                        *w++ = (char)((r[1] - '0') << 6 | (r[2] - '0') << 3 | (r[3] - '0'));
                        r += 4;
                } else
                        *w++ = *r++;
        }
        *w = '\0';
}

struct walk {
        char **queue;        /* real paths still to look at */
        size_t n, size;
        void *seen;          /* every real path ever queued (tsearch), so a loop ends */
        int error;
};

static int cmp_str(const void *a, const void *b) {
        return strcmp(a, b);
}

/* Queues the sysfs object at path (any spelling) unless it was already seen; path is consumed. */
static void walk_push(struct walk *w, char *path) {
        _cleanup_free_ char *p = path;
        char *real = realpath(p, NULL), **node;

        if (!real)
                return; /* a dangling link leads nowhere */
        node = tsearch(real, &w->seen, cmp_str);
        if (!node) {
                free(real);
                w->error = -ENOMEM;
                return;
        }
        if (*node != real) {
                free(real);
                return;
        }
        if (w->n == w->size) {
                size_t size = w->size ? w->size * 2 : 16;
                char **q = realloc(w->queue, size * sizeof(*q));
                if (!q) {
                        w->error = -ENOMEM;
                        return;
                }
                w->queue = q;
                w->size = size;
        }
        w->queue[w->n++] = real; /* owned by w->seen; the queue only points at it */
}

/* Queues the entries of dir/sub (those starting with prefix, when given). */
static void walk_push_entries(struct walk *w, const char *dir, const char *sub, const char *prefix) {
        _cleanup_free_ char *path = NULL;
        struct dirent *de;

        if (asprintf(&path, "%s%s%s", dir, sub ? "/" : "", sub ? sub : "") < 0) {
                w->error = -ENOMEM;
                return;
        }
        _cleanup_closedir_ DIR *d = opendir(path);
        while (d && (de = readdir(d))) {
                char *next;
                if (de->d_name[0] == '.' || (prefix && strncmp(de->d_name, prefix, strlen(prefix)) != 0))
                        continue;
                if (asprintf(&next, "%s/%s", path, de->d_name) < 0) {
                        w->error = -ENOMEM;
                        return;
                }
                walk_push(w, next);
        }
}

/* Whether the sysfs object at rel (relative to root) sits below the function, directly or through
 * what it is stacked on: 1, 0, or -ENOMEM. Every object is looked at once, however deep the stack
 * and whatever loops its links make. */
static int below(struct qpci_ctx *ctx, const char *rel, const char *bdf) {
        _cleanup_free_ char *needle = NULL, *start = NULL, *root = NULL;
        struct walk w = {0};
        int r = 0;

        if (asprintf(&needle, "/%s/", bdf) < 0 || asprintf(&start, "%s/%s", qpci_root_prefix(ctx), rel) < 0)
                return -ENOMEM;
        root = *qpci_root_prefix(ctx) ? realpath(qpci_root_prefix(ctx), NULL) : strdup("");
        if (!root)
                return -errno;
        walk_push(&w, TAKE_PTR(start));
        for (size_t i = 0; r == 0 && w.error == 0 && i < w.n; i++) {
                const char *real = w.queue[i];
                size_t skip = strncmp(real, root, strlen(root)) == 0 ? strlen(root) : 0;
                _cleanup_free_ char *slashed = NULL;

                /* Only the part below the root: a fixture's own folder may hold anything. */
                if (asprintf(&slashed, "%s/", real + skip) < 0)
                        w.error = -ENOMEM;
                else if (strstr(slashed, needle))
                        r = 1;
                else {
                        /* Stacked block devices list what they are made of in slaves/, stacked
                         * network links in lower_*. */
                        walk_push_entries(&w, real, "slaves", NULL);
                        walk_push_entries(&w, real, NULL, "lower_");
                }
        }
        free(w.queue);
        tdestroy(w.seen, free);
        return r ? r : w.error;
}

static void note(struct found *f, int r) {
        if (r < 0)
                f->error = r;
}

/* A /proc or sysfs file below the root, NULL when there is none. One that is there but cannot be
 * read (not a regular file: a FIFO would block forever) leaves the answer incomplete. */
static FILE *open_proc(struct qpci_ctx *ctx, const char *path, struct found *f) {
        _cleanup_close_ int fd = qpci_open_attr(ctx->root_fd, path + 1, O_RDONLY);
        FILE *file = NULL;

        if (fd >= 0 && (file = fdopen(fd, "r"))) {
                TAKE_FD(fd);
                return file;
        }
        int r = fd < 0 ? fd : -errno;
        if (r == -ENOENT)
                return NULL;
        f->error = r;
        if (!f->failure && asprintf(&f->failure, "cannot read %s: %s", path, qpci_attr_strerror(r)) < 0)
                f->failure = NULL;
        return NULL;
}

struct mount {
        unsigned maj, min;
        char *dir, *src;
};

struct mounts {
        struct mount *m;
        size_t n;
};

static void mounts_free(struct mounts *ms) {
        for (size_t i = 0; i < ms->n; i++) {
                free(ms->m[i].dir);
                free(ms->m[i].src);
        }
        free(ms->m);
}

/* The block device a mount's source names ("/dev/nvme0n1p2", "/dev/mapper/root"), as a path in
 * sysfs, or NULL. A device node gives its number; a name that is no node (a fixture's /dev) its
 * entry in /sys/class/block. */
static char *source_sysfs(struct qpci_ctx *ctx, const char *src) {
        _cleanup_free_ char *path = NULL, *real = NULL;
        char *rel = NULL;
        struct stat st;

        if (!src || src[0] != '/' || asprintf(&path, "%s%s", qpci_root_prefix(ctx), src) < 0)
                return NULL;
        if (stat(path, &st) == 0 && S_ISBLK(st.st_mode)) {
                if (asprintf(&rel, "sys/dev/block/%u:%u", major(st.st_rdev), minor(st.st_rdev)) < 0)
                        return NULL;
                return rel;
        }
        if (!(real = realpath(path, NULL)) || !strstr(real, "/dev/"))
                return NULL;
        if (asprintf(&rel, "sys/class/block/%s", strrchr(real, '/') + 1) < 0)
                return NULL;
        return rel;
}

/* Whether the filesystem on device maj:min, mounted from src, sits below the function. A
 * filesystem on a block device has it in /sys/dev/block; btrfs (and any filesystem that gives its
 * mounts an anonymous number, 0:N) has only its source to say which device it is on. */
static int fs_below(struct qpci_ctx *ctx, const char *bdf, unsigned maj, unsigned min, const char *src) {
        _cleanup_free_ char *rel = NULL, *by_src = NULL;

        if (asprintf(&rel, "sys/dev/block/%u:%u", maj, min) < 0)
                return -ENOMEM;
        if (faccessat(ctx->root_fd, rel, F_OK, 0) == 0)
                return below(ctx, rel, bdf);
        by_src = source_sysfs(ctx, src);
        return by_src ? below(ctx, by_src, bdf) : 0;
}

/* Mounted filesystems: /proc/self/mountinfo's lines, each read whole however long (an overlay's
 * can run to pages). What is mounted from where is kept for the swap files.
 * "36 35 98:0 / /mnt1 rw,noatime master:1 - ext3 /dev/root rw,errors=continue" */
static void check_mounts(struct qpci_ctx *ctx, const char *bdf, struct found *f, struct mounts *ms) {
        _cleanup_fclose_ FILE *mi = open_proc(ctx, "/proc/self/mountinfo", f);
        _cleanup_free_ char *line = NULL;
        size_t size = 0;

        while (mi && getline(&line, &size, mi) > 0) {
                char *field[5], *type = NULL, *src = NULL, *save = NULL, *t;
                unsigned maj, min, i = 0;
                int r;

                line[strcspn(line, "\n")] = '\0';
                for (t = strtok_r(line, " ", &save); t && i < ELEMENTSOF(field); t = strtok_r(NULL, " ", &save))
                        field[i++] = t;
                if (i < ELEMENTSOF(field) || sscanf(field[2], "%u:%u", &maj, &min) != 2)
                        continue;
                /* Optional fields (shared:N, master:N...) until a lone "-", then type and source. */
                while ((t = strtok_r(NULL, " ", &save)) && !streq(t, "-"))
                        ;
                if (t && (type = strtok_r(NULL, " ", &save)))
                        src = strtok_r(NULL, " ", &save);
                unescape_octal(field[4]);
                if (type)
                        unescape_octal(type);
                if (src)
                        unescape_octal(src);
                if ((r = fs_below(ctx, bdf, maj, min, src)) > 0)
                        add(f, "the filesystem mounted on %s (%s %s)", field[4], type ? type : "",
                            src ? src : "");
                note(f, r);
                struct mount *m = realloc(ms->m, (ms->n + 1) * sizeof(*m));
                if (!m) {
                        f->error = -ENOMEM;
                        return;
                }
                ms->m = m;
                m[ms->n] = (struct mount){maj, min, strdup(field[4]), src ? strdup(src) : NULL};
                if (!m[ms->n].dir || (src && !m[ms->n].src))
                        f->error = -ENOMEM;
                ms->n++;
        }
}

/* The mount a file lives on, for a filesystem without a block device of its own: the one with
 * its device number, or else the deepest mount point above it (a btrfs subvolume has a number of
 * its own). */
static const struct mount *mount_of(const struct mounts *ms, const char *name, dev_t dev) {
        const struct mount *best = NULL;
        size_t best_len = 0;

        for (size_t i = ms->n; i-- > 0;)
                if (ms->m[i].maj == major(dev) && ms->m[i].min == minor(dev))
                        return &ms->m[i];
        for (size_t i = 0; i < ms->n; i++) {
                size_t l = strlen(ms->m[i].dir);
                bool above = streq(ms->m[i].dir, "/") ||
                             (strncmp(name, ms->m[i].dir, l) == 0 && (name[l] == '/' || !name[l]));
                if (above && (!best || l >= best_len)) {
                        best = &ms->m[i];
                        best_len = l;
                }
        }
        return best;
}

/* Active swap: /proc/swaps names each swap partition or file, escaped as mountinfo is. */
static void check_swap(struct qpci_ctx *ctx, const char *bdf, struct found *f, const struct mounts *ms) {
        _cleanup_fclose_ FILE *sw = open_proc(ctx, "/proc/swaps", f);
        _cleanup_free_ char *line = NULL;
        size_t size = 0;

        while (sw && getline(&line, &size, sw) > 0) {
                _cleanup_free_ char *path = NULL, *rel = NULL;
                char *name = line;
                struct stat st;
                int r;

                name[strcspn(name, " \t\n")] = '\0';
                if (!*name || streq(name, "Filename"))
                        continue;
                unescape_octal(name);
                if (asprintf(&path, "%s%s", qpci_root_prefix(ctx), name) < 0) {
                        f->error = -ENOMEM;
                        return;
                }
                if (stat(path, &st) < 0)
                        continue;
                /* A swap partition is its own device; a swap file lives on its filesystem's. */
                if (S_ISBLK(st.st_mode))
                        r = asprintf(&rel, "sys/dev/block/%u:%u", major(st.st_rdev), minor(st.st_rdev)) < 0
                                    ? -ENOMEM
                                    : below(ctx, rel, bdf);
                else {
                        const struct mount *m = mount_of(ms, name, st.st_dev);
                        r = fs_below(ctx, bdf, major(st.st_dev), minor(st.st_dev), m ? m->src : NULL);
                }
                if (r > 0)
                        add(f, "active swap on %s", name);
                note(f, r);
        }
}

/* The interface of the default route: /proc/net/route's line with destination 00000000. */
static void check_route(struct qpci_ctx *ctx, const char *bdf, struct found *f) {
        _cleanup_fclose_ FILE *rt = open_proc(ctx, "/proc/net/route", f);
        _cleanup_free_ char *line = NULL;
        size_t size = 0;

        while (rt && getline(&line, &size, rt) > 0) {
                _cleanup_free_ char *rel = NULL;
                char *save = NULL, *iface = strtok_r(line, " \t\n", &save), *dest = strtok_r(NULL, " \t\n", &save);
                int r;

                if (!iface || !dest || !streq(dest, "00000000"))
                        continue;
                if (asprintf(&rel, "sys/class/net/%s", iface) < 0) {
                        f->error = -ENOMEM;
                        return;
                }
                if ((r = below(ctx, rel, bdf)) > 0)
                        add(f, "the network interface %s of the default route", iface);
                note(f, r);
        }
}

/* And IPv6's: /proc/net/ipv6_route's ::/0 ("DEST PLEN SRC SRCPLEN NEXTHOP METRIC REFCNT USE FLAGS
 * IFACE", in hex), up and not a reject route (the kernel keeps an unreachable ::/0 on lo). An
 * IPv6-only host reaches the world through it alone. */
static void check_route6(struct qpci_ctx *ctx, const char *bdf, struct found *f) {
        _cleanup_fclose_ FILE *rt = open_proc(ctx, "/proc/net/ipv6_route", f);
        _cleanup_free_ char *line = NULL;
        size_t size = 0;

        while (rt && getline(&line, &size, rt) > 0) {
                _cleanup_free_ char *rel = NULL;
                char *field[10], *save = NULL, *t;
                unsigned long flags;
                size_t i = 0;
                int r;

                for (t = strtok_r(line, " \t\n", &save); t && i < ELEMENTSOF(field); t = strtok_r(NULL, " \t\n", &save))
                        field[i++] = t;
                if (i < ELEMENTSOF(field) || strspn(field[0], "0") != 32 || field[0][32] || !streq(field[1], "00"))
                        continue;
                flags = strtoul(field[8], NULL, 16);
                if (!(flags & 0x0001) || (flags & 0x0200)) /* RTF_UP, RTF_REJECT */
                        continue;
                if (asprintf(&rel, "sys/class/net/%s", field[9]) < 0) {
                        f->error = -ENOMEM;
                        return;
                }
                if ((r = below(ctx, rel, bdf)) > 0)
                        add(f, "the network interface %s of the default route", field[9]);
                note(f, r);
        }
}

static int is_fb(const struct dirent *de) {
        const char *d = de->d_name;
        if (strncmp(d, "fb", 2) != 0 || !d[2])
                return 0;
        for (d += 2; *d; d++)
                if (*d < '0' || *d > '9')
                        return 0;
        return 1;
}

/* A virtual terminal is drawn by fbcon on the framebuffers, however many the host has. */
static void check_framebuffers(struct qpci_ctx *ctx, const char *bdf, const char *tty, struct found *f) {
        _cleanup_free_ char *dir = NULL;
        struct dirent **fbs = NULL;
        int n;

        if (asprintf(&dir, "%s/sys/class/graphics", qpci_root_prefix(ctx)) < 0) {
                f->error = -ENOMEM;
                return;
        }
        n = scandir(dir, &fbs, is_fb, versionsort);
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *rel = NULL;
                int r = asprintf(&rel, "sys/class/graphics/%s", fbs[i]->d_name) < 0 ? -ENOMEM : below(ctx, rel, bdf);
                if (r > 0)
                        add(f, "the console %s (on %s)", tty, fbs[i]->d_name);
                note(f, r);
        }
        for (int i = 0; i < n; i++)
                free(fbs[i]);
        free(fbs);
}

/* The consoles the kernel writes to, and what shows them: a framebuffer or a serial port. */
static void check_console(struct qpci_ctx *ctx, const char *bdf, struct found *f) {
        _cleanup_fclose_ FILE *active = open_proc(ctx, "/sys/class/tty/console/active", f);
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        char *save = NULL;

        if (!active || getline(&line, &size, active) <= 0)
                return;
        for (char *t = strtok_r(line, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
                if (strncmp(t, "tty", 3) == 0 && t[3] >= '0' && t[3] <= '9')
                        check_framebuffers(ctx, bdf, t, f);
                else {
                        _cleanup_free_ char *rel = NULL;
                        int r = asprintf(&rel, "sys/class/tty/%s", t) < 0 ? -ENOMEM : below(ctx, rel, bdf);
                        if (r > 0)
                                add(f, "the console %s", t);
                        note(f, r);
                }
        }
}

/* Joins what was found into one phrase: "A, B, C". */
static char *join(struct found *f) {
        size_t len = 1;
        char *text, *p;

        for (size_t i = 0; i < f->n; i++)
                len += strlen(f->items[i]) + 2;
        if (!(text = p = malloc(len)))
                return NULL;
        *p = '\0';
        for (size_t i = 0; i < f->n; i++)
                p = stpcpy(stpcpy(p, i ? ", " : ""), f->items[i]);
        return text;
}

int qpci_guard_dependents(struct qpci_ctx *ctx, const char *bdf, char **ret) {
        struct found f = {0};
        char *text = NULL;

        struct mounts ms = {0};

        check_mounts(ctx, bdf, &f, &ms);
        check_swap(ctx, bdf, &f, &ms);
        mounts_free(&ms);
        check_route(ctx, bdf, &f);
        check_route6(ctx, bdf, &f);
        check_console(ctx, bdf, &f);
        if (!f.error && f.n && !(text = join(&f)))
                f.error = -ENOMEM;
        for (size_t i = 0; i < f.n; i++)
                free(f.items[i]);
        free(f.items);
        if (f.error) {
                free(text);
                *ret = f.failure;
                return f.error;
        }
        *ret = text;
        return text ? 1 : 0;
}

QPCI_EXPORT int qpci_dev_get_host_dependents(struct qpci_dev *d, char **ret) {
        return qpci_guard_dependents(d->inv->ctx, d->bdf, ret);
}
