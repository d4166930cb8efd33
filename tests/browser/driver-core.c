/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Preloaded into the tools that the browser test's Cockpit runs: the kernel's answer to a driver
 * move on a fixture tree (QPCI_ROOT). A fixture is plain files, so a write to a driver's bind or
 * unbind, to drivers_probe or to a device's driver_override changes nothing by itself, and qpci
 * (which believes the driver link, not the write) would find every hide undone. Here those writes
 * move the links as the PCI driver core would: unbind drops the device's driver link and the
 * driver's link back; bind and drivers_probe make them, drivers_probe for the driver_override or
 * else for the driver the fixture first had. pciback's permissive takes a device into its list,
 * and pciback forgets it when the device leaves. Every other write goes through untouched. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

ssize_t write(int fd, const void *buf, size_t n);

static ssize_t (*real_write)(int, const void *, size_t);
static char *sys; /* the fixture's sys/, resolved */

/* A string made to measure; NULL when memory runs out. */
__attribute__((format(printf, 1, 2))) static char *str(const char *fmt, ...) {
        va_list ap;
        char *p;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&p, fmt, ap);
        va_end(ap);
        return k < 0 ? NULL : p;
}

/* The first line of a file, without its newline ("" when there is none). */
static char *first_line(char *path) {
        char *line = NULL;
        size_t size = 0;
        FILE *f = path ? fopen(path, "re") : NULL;

        free(path);
        if (!f || getline(&line, &size, f) < 0) {
                free(line);
                line = strdup("");
        }
        if (f)
                fclose(f);
        if (line)
                line[strcspn(line, "\n")] = '\0';
        return line;
}

/* The last component of what a link names, or NULL (no link). */
static char *link_name(char *link) {
        char *target = link ? realpath(link, NULL) : NULL;
        char *name = target ? strdup(strrchr(target, '/') + 1) : NULL;

        free(link);
        free(target);
        return name;
}

/* The links the driver core makes: the device's driver, and the driver's entry for it. */
static int bind_to(const char *bdf, const char *drv) {
        char *dev = str("%s/bus/pci/devices/%s", sys, bdf), *real = dev ? realpath(dev, NULL) : NULL;
        char *drvdir = str("%s/bus/pci/drivers/%s", sys, drv), *cur = real ? link_name(str("%s/driver", real)) : NULL;
        char *up = NULL, *target = NULL, *link = NULL;
        struct stat st;
        int r = -ENOMEM;

        if (!real || !drvdir || stat(drvdir, &st) < 0) {
                r = -ENODEV;
                goto out;
        }
        if (cur) {
                r = -EBUSY;
                goto out;
        }
        /* From the device's directory up to sys/: one "../" for each level below it. */
        if (!(up = strdup("")))
                goto out;
        for (const char *p = real + strlen(sys); *p; p++)
                if (*p == '/') {
                        char *more = str("%s../", up);
                        free(up);
                        if (!(up = more))
                                goto out;
                }
        if (!(target = str("%sbus/pci/drivers/%s", up, drv)) || !(link = str("%s/driver", real)))
                goto out;
        if (symlink(target, link) < 0) {
                r = -errno;
                goto out;
        }
        free(target);
        free(link);
        target = str("../../../..%s", real + strlen(sys));
        link = str("%s/%s", drvdir, bdf);
        r = !target || !link ? -ENOMEM : symlink(target, link) < 0 ? -errno : 0;
out:
        free(dev), free(real), free(drvdir), free(cur), free(up), free(target), free(link);
        return r;
}

static char *override_of(const char *bdf) {
        char *drv = first_line(str("%s/bus/pci/devices/%s/driver_override", sys, bdf));

        if (drv && strcmp(drv, "(null)") == 0)
                drv[0] = '\0';
        return drv;
}

/* The driver a device had when the fixture was made, kept beside sys/ at its first unbind: the
 * one the kernel's id tables would match again. */
static void remember(const char *bdf, const char *drv) {
        char *dir = str("%s/../.driver-core", sys), *path = str("%s/../.driver-core/%s", sys, bdf);
        int fd;

        if (dir && path) {
                (void)mkdir(dir, 0755);
                if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) >= 0) {
                        (void)real_write(fd, drv, strlen(drv));
                        close(fd);
                }
        }
        free(dir);
        free(path);
}

/* pciback's permissive list, one device a line. */
static int permissive(const char *bdf, bool on) {
        char *path = str("%s/bus/pci/drivers/pciback/permissive", sys), *line = NULL, *kept = NULL;
        size_t size = 0, kept_size = 0;
        FILE *f = path ? fopen(path, "re") : NULL, *out = open_memstream(&kept, &kept_size);
        int fd, r = 0;

        if (!path || !out)
                r = -ENOMEM;
        while (r == 0 && f && getline(&line, &size, f) >= 0)
                if (strcmp(line, bdf) != 0 && !(strncmp(line, bdf, strlen(bdf)) == 0 && line[strlen(bdf)] == '\n'))
                        fputs(line, out);
        if (out && on)
                fprintf(out, "%s\n", bdf);
        if (out)
                fclose(out);
        if (r == 0 && (fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)) >= 0) {
                if (real_write(fd, kept, kept_size) < 0)
                        r = -errno;
                close(fd);
        } else if (r == 0)
                r = -errno;
        if (f)
                fclose(f);
        free(path), free(line), free(kept);
        return r;
}

static int unbind(const char *bdf, const char *drv) {
        char *link = str("%s/bus/pci/devices/%s/driver", sys, bdf), *back = str("%s/bus/pci/drivers/%s/%s", sys, drv, bdf);
        char *cur = link ? link_name(strdup(link)) : NULL;
        int r = -ENODEV;

        if (!link || !back)
                r = -ENOMEM;
        else if (cur && strcmp(cur, drv) == 0) {
                remember(bdf, drv);
                r = unlink(link) < 0 || unlink(back) < 0 ? -errno : 0;
                if (r == 0 && strcmp(drv, "pciback") == 0)
                        r = permissive(bdf, false);
        }
        free(link), free(back), free(cur);
        return r;
}

/* A driver_override names the one driver that may take the device. */
static int bind(const char *bdf, const char *drv) {
        char *over = override_of(bdf);
        int r = !over ? -ENOMEM : over[0] && strcmp(over, drv) != 0 ? -ENODEV : bind_to(bdf, drv);

        free(over);
        return r;
}

/* Nothing bound is no error, as with the kernel: the caller looks at the link. */
static int probe(const char *bdf) {
        char *drv = override_of(bdf);

        if (drv && !drv[0]) {
                free(drv);
                drv = first_line(str("%s/../.driver-core/%s", sys, bdf));
        }
        if (!drv)
                return -ENOMEM;
        if (drv[0])
                (void)bind_to(bdf, drv);
        free(drv);
        return 0;
}

/* The kernel keeps the name and shows "(null)" for none; a file written in place would keep the
 * tail of a longer name. */
static int set_override(const char *path, const char *value) {
        int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC), r = 0;
        const char *text = *value ? value : "(null)";

        if (fd < 0)
                return -errno;
        if (real_write(fd, text, strlen(text)) < 0 || real_write(fd, "\n", 1) < 0)
                r = -errno;
        close(fd);
        return r;
}

/* 1: a write to the driver core, done (0 or -errno in *r); 0: any other write. */
static int model(int fd, const void *buf, size_t n, int *r) {
        static int known; /* 1: sys is the fixture's; -1: no fixture here */
        char proc[64], *path, *value, drv[256];
        const char *rest, *base;

        if (!known) {
                const char *root = getenv("QPCI_ROOT");
                char *real = root && *root ? realpath(root, NULL) : NULL;
                sys = real ? str("%s/sys", real) : NULL;
                known = sys ? 1 : -1;
                free(real);
        }
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        if (known < 0 || !(path = realpath(proc, NULL)))
                return 0;
        rest = path + strlen(sys);
        if (strncmp(path, sys, strlen(sys)) != 0 || *rest != '/') {
                free(path);
                return 0;
        }
        base = strrchr(rest, '/') + 1;
        /* The value as the kernel takes it: one trailing newline dropped. */
        if (!(value = strndup(buf, n)))
                *r = -ENOMEM;
        else {
                if (*value && value[strlen(value) - 1] == '\n')
                        value[strlen(value) - 1] = '\0';
                if (strcmp(rest, "/bus/pci/drivers_probe") == 0)
                        *r = probe(value);
                else if (strcmp(base, "driver_override") == 0 && strncmp(rest, "/devices/", 9) == 0)
                        *r = set_override(path, value);
                else if (sscanf(rest, "/bus/pci/drivers/%255[^/]/", drv) == 1 && strcmp(base, "bind") == 0)
                        *r = bind(value, drv);
                else if (sscanf(rest, "/bus/pci/drivers/%255[^/]/", drv) == 1 && strcmp(base, "unbind") == 0)
                        *r = unbind(value, drv);
                else if (strcmp(rest, "/bus/pci/drivers/pciback/permissive") == 0)
                        *r = permissive(value, true);
                else {
                        free(value), free(path);
                        return 0;
                }
        }
        free(value), free(path);
        return 1;
}

ssize_t write(int fd, const void *buf, size_t n) {
        int r;

        if (!real_write)
                real_write = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
        if (model(fd, buf, n, &r)) {
                if (r < 0) {
                        errno = -r;
                        return -1;
                }
                return (ssize_t)n;
        }
        return real_write(fd, buf, n);
}
