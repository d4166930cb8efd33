/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Rooted access to small kernel attribute files: the one place host paths are opened. */
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "qpci-internal.h"

int qpci_open_root(struct qpci_ctx *ctx, const char *path, int flags) {
        int fd;

        /* Absolute host paths are taken relative to the root descriptor, so "/sys" under a fixture
         * root opens ROOT/sys. Symlinks inside the tree are relative, as the kernel makes them. */
        while (*path == '/')
                path++;
        if (!*path)
                path = ".";
        fd = openat(ctx->root_fd, path, flags | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

/*
 * Every kernel attribute is a regular file, for which O_NONBLOCK changes nothing. Anything else
 * where one should be (a FIFO, which a plain open() waits on for a writer forever; a device node)
 * then cannot block: a read ends at once, empty or with EAGAIN.
 */
static int open_nonblock(int dirfd, const char *name, int flags) {
        struct stat st;
        int fd = openat(dirfd, name, flags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

        if (fd < 0) {
                int r = -errno;
                /* A FIFO without a reader refuses a non-blocking writer with ENXIO: name it. */
                if (r == -ENXIO && fstatat(dirfd, name, &st, 0) == 0 && !S_ISREG(st.st_mode))
                        return -QPCI_ENOTREG;
                return r;
        }
        return fd;
}

int qpci_open_attr(int dirfd, const char *name, int flags) {
        _cleanup_close_ int fd = open_nonblock(dirfd, name, flags);
        struct stat st;

        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return S_ISDIR(st.st_mode) ? -EISDIR : -QPCI_ENOTREG;
        return TAKE_FD(fd);
}

/* After an empty read or EAGAIN: -QPCI_ENOTREG when fd is not a regular file, else r. The readers
 * below, which the inventory runs for every function, look at the type only then. */
static int unless_irregular(int fd, int r) {
        struct stat st;

        if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode))
                return -QPCI_ENOTREG;
        return r;
}

const char *qpci_attr_strerror(int r) {
        if (r == -QPCI_ENOTREG)
                return "not a regular file, as every kernel attribute is";
        if (r == -EFBIG)
                return "longer than qpci takes for it: not read, rather than read cut";
        return strerror(r < 0 ? -r : r);
}

static int int_cmp(const void *a, const void *b) {
        int x = *(const int *)a, y = *(const int *)b;
        return (x > y) - (x < y);
}

void qpci_fd_batch_flush(struct qpci_fd_batch *b) {
        qsort(b->fds, b->n, sizeof(*b->fds), int_cmp);
        /* Open descriptors are distinct, so a run of consecutive numbers in the sorted batch is all
         * its own: one close_range() each, and nobody else's (one inherited, say) closed with them. */
        for (size_t i = 0, j; i < b->n; i = j) {
                for (j = i + 1; j < b->n && b->fds[j] == b->fds[j - 1] + 1; j++)
                        ;
                if (j - i > 1 && close_range(b->fds[i], b->fds[j - 1], 0) == 0)
                        continue;
                for (size_t k = i; k < j; k++)
                        close(b->fds[k]);
        }
        b->n = 0;
}

void qpci_fd_batch_close(struct qpci_fd_batch *b, int fd) {
        if (fd < 0)
                return;
        if (!b) {
                close(fd);
                return;
        }
        if (b->n == ELEMENTSOF(b->fds))
                qpci_fd_batch_flush(b);
        b->fds[b->n++] = fd;
}

static ssize_t read_text(int fd, void *data, size_t size) {
        char *buf = data;
        ssize_t n;

        /* sysfs hands a text attribute over whole in the first read, and a regular file's short read
         * is its end: a read that leaves room is the last, with no second read to see EOF. */
        for (n = 0; (size_t)n < size - 1;) {
                size_t want = size - 1 - n;
                ssize_t k = read(fd, buf + n, want);
                if (k < 0)
                        return unless_irregular(fd, -errno);
                n += k;
                if ((size_t)k < want)
                        break;
        }
        if (n == 0) {
                int r = unless_irregular(fd, 0);
                if (r < 0)
                        return r;
        }
        buf[n] = '\0';
        /* A value that does not fit is not read: a cut one would be taken for the whole (a driver
         * name, an override to put back, a list of devices) and decide what moves. */
        if ((size_t)n == size - 1) {
                char more;
                ssize_t k = read(fd, &more, 1);
                if (k < 0)
                        return -errno;
                if (k > 0)
                        return -EFBIG;
        }
        return n;
}

/* Opens dirfd/name, reads it with reader and closes it, through batch b (NULL: at once). */
static ssize_t open_read(struct qpci_fd_batch *b, int dirfd, const char *name,
                         ssize_t (*reader)(int fd, void *buf, size_t size), void *buf, size_t size) {
        int fd = open_nonblock(dirfd, name, O_RDONLY);
        if (fd < 0)
                return fd;
        ssize_t n = reader(fd, buf, size);
        qpci_fd_batch_close(b, fd);
        return n;
}

ssize_t qpci_scan_read_attr(struct qpci_fd_batch *b, int dirfd, const char *name, char *buf, size_t size) {
        return size == 0 ? -EINVAL : open_read(b, dirfd, name, read_text, buf, size);
}

ssize_t qpci_read_attr(int dirfd, const char *name, char *buf, size_t size) {
        return qpci_scan_read_attr(NULL, dirfd, name, buf, size);
}

ssize_t qpci_scan_read_line(struct qpci_fd_batch *b, int dirfd, const char *name, char *buf, size_t size) {
        ssize_t n = qpci_scan_read_attr(b, dirfd, name, buf, size);

        if (n < 0)
                return n;
        if (memchr(buf, '\0', n))
                return -EBADMSG;
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
                buf[--n] = '\0';
        return n;
}

ssize_t qpci_read_line(int dirfd, const char *name, char *buf, size_t size) {
        return qpci_scan_read_line(NULL, dirfd, name, buf, size);
}

int qpci_parse_hex(const char *s, unsigned long max, unsigned long *ret) {
        unsigned long v = 0;
        bool any = false;

        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
                s += 2;
        for (; *s; s++) {
                int d = qpci_hex_digit(*s);
                if (d < 0 && *s == '\n' && s[1] == '\0')
                        break;
                if (d < 0)
                        return -EINVAL;
                if (v > (max - d) / 16)
                        return -ERANGE;
                v = v * 16 + d;
                any = true;
        }
        if (!any)
                return -EINVAL;
        *ret = v;
        return 0;
}

int qpci_parse_dec(const char *s, unsigned long max, unsigned long *ret) {
        unsigned long v = 0;
        bool any = false;

        for (; *s; s++) {
                if (*s == '\n' && s[1] == '\0')
                        break;
                if (*s < '0' || *s > '9')
                        return -EINVAL;
                if (v > (max - (*s - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (*s - '0');
                any = true;
        }
        if (!any)
                return -EINVAL;
        *ret = v;
        return 0;
}

int qpci_read_hex(int dirfd, const char *name, unsigned long max, unsigned long *ret) {
        char buf[32];
        ssize_t n = qpci_read_line(dirfd, name, buf, sizeof(buf));

        if (n < 0)
                return n;
        return qpci_parse_hex(buf, max, ret);
}

int qpci_readlink_basename(int dirfd, const char *name, char *buf, size_t size) {
        char target[PATH_MAX];
        ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
        const char *base;

        if (n < 0)
                return -errno;
        target[n] = '\0';
        base = strrchr(target, '/');
        base = base ? base + 1 : target;
        /* A link that leads back to itself ("driver" -> "driver") has a name but no target: say so,
         * not its name. No kernel link ends in its own name, so only such a one costs the check. (A
         * dangling link keeps its name: a driver directory may be gone while the link is not.) */
        const char *own = strrchr(name, '/');
        if (streq(base, own ? own + 1 : name) && faccessat(dirfd, name, F_OK, 0) < 0 && errno == ELOOP)
                return -ELOOP;
        if (!*base || strlen(base) >= size)
                return -ENAMETOOLONG;
        strcpy(buf, base);
        return 0;
}

int qpci_path_parent_component(const char *path, char *buf, size_t size) {
        const char *end = strrchr(path, '/'), *start;

        if (!end || end == path)
                return -ENOENT;
        start = end - 1;
        while (start > path && start[-1] != '/')
                start--;
        if ((size_t)(end - start) >= size)
                return -ENAMETOOLONG;
        memcpy(buf, start, end - start);
        buf[end - start] = '\0';
        return 0;
}

static ssize_t read_binary(int fd, void *data, size_t size) {
        uint8_t *buf = data;
        size_t got = 0;

        /* sysfs config reads may come back short (unprivileged readers get 64 bytes): loop to EOF. */
        while (got < size) {
                ssize_t n = read(fd, buf + got, size - got);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return got > 0 ? (ssize_t)got : unless_irregular(fd, -errno);
                }
                if (n == 0)
                        break;
                got += n;
        }
        return got > 0 ? (ssize_t)got : unless_irregular(fd, 0);
}

ssize_t qpci_scan_read_binary(struct qpci_fd_batch *b, int dirfd, const char *name, uint8_t *buf, size_t size) {
        return open_read(b, dirfd, name, read_binary, buf, size);
}

ssize_t qpci_read_binary(int dirfd, const char *name, uint8_t *buf, size_t size) {
        return qpci_scan_read_binary(NULL, dirfd, name, buf, size);
}
