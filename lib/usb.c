/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which PCI controller a USB device hangs off, and what else rides on it: what Qubes OS's Assigning
 * Devices page does by hand with lsusb and readlink /sys/bus/usb/devices/usbN. A root hub "usbN"
 * sits in the controller's sysfs directory, so the component above it names the controller.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "qpci-internal.h"

struct qpci_usb {
        int refcount;
        size_t n_buses;
        struct qpci_usb_bus *buses;
};

/*
 * The numbers the kernel can give: usbcore numbers buses from 1 below USB_MAXBUS (64) and devices
 * from 1 to 127 (a USB address has 7 bits). Anything else is a typo or a paste gone wrong, never a
 * device: refused rather than wrapped into one that exists.
 */
#define USB_BUS_MAX 64
#define USB_DEVNUM_MAX 127

/* Decimal digits at *s, advanced past them; -EINVAL without digits, -ERANGE outside 1..max. */
static int parse_number(const char **s, unsigned long max, unsigned long *ret) {
        const char *p = *s;
        unsigned long long v = 0;
        bool big = false;

        if (*p < '0' || *p > '9')
                return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
                if (v > max)
                        big = true; /* keep reading the digits, without growing past max */
                else
                        v = v * 10 + (unsigned)(*p - '0');
        }
        *s = p;
        if (big || v > max || v == 0)
                return -ERANGE;
        *ret = v;
        return 0;
}

static void device_done(struct qpci_usb_device *d) {
        free(d->port);
        free(d->manufacturer);
        free(d->product);
        free(d->name);
}

QPCI_EXPORT struct qpci_usb *qpci_usb_ref(struct qpci_usb *usb) {
        if (usb)
                usb->refcount++;
        return usb;
}

QPCI_EXPORT struct qpci_usb *qpci_usb_unref(struct qpci_usb *usb) {
        if (!usb || --usb->refcount > 0)
                return NULL;
        for (size_t i = 0; i < usb->n_buses; i++) {
                struct qpci_usb_bus *b = &usb->buses[i];
                for (size_t j = 0; j < b->n_devices; j++)
                        device_done(&b->devices[j]);
                free(b->devices);
                free(b->version);
                free(b->controller);
                free(b->controller_path);
        }
        free(usb->buses);
        free(usb);
        return NULL;
}

static inline void qpci_usb_unrefp(struct qpci_usb **p) { qpci_usb_unref(*p); }

static char *read_string(int fd, const char *name) {
        /* usbcore keeps a string descriptor's 126 UTF-16 units as at most 381 bytes of UTF-8. */
        char buf[512];
        return qpci_read_line(fd, name, buf, sizeof(buf)) > 0 ? strdup(buf) : NULL;
}

static int read_dec(int fd, const char *name) {
        char buf[32], *end;
        long v;

        if (qpci_read_line(fd, name, buf, sizeof(buf)) <= 0)
                return -1;
        v = strtol(buf, &end, 10);
        return *end || v < 0 || v > INT_MAX ? -1 : (int)v;
}

/* version: where to put a root hub's USB version (" 2.00"), NULL for other devices. */
static int load_device(struct qpci_ctx *ctx, int dirfd, const char *name, struct qpci_usb_device *d, char **version) {
        _cleanup_close_ int fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
        unsigned long v;

        if (fd < 0)
                return -errno;
        d->port = strdup(name);
        if (!d->port)
                return -ENOMEM;
        d->busnum = read_dec(fd, "busnum");
        d->devnum = read_dec(fd, "devnum");
        if (qpci_read_hex(fd, "idVendor", 0xffff, &v) == 0)
                d->vendor_id = v;
        if (qpci_read_hex(fd, "idProduct", 0xffff, &v) == 0)
                d->product_id = v;
        if (qpci_read_hex(fd, "bDeviceClass", 0xff, &v) == 0)
                d->device_class = v;
        if (version) {
                char *v = read_string(fd, "version");
                /* The kernel pads it: " 2.00". */
                *version = v ? strdup(v + strspn(v, " ")) : NULL;
                free(v);
        }
        d->manufacturer = read_string(fd, "manufacturer");
        d->product = read_string(fd, "product");
        d->name = qpci_names_usb(ctx, d->vendor_id, d->product_id);
        if (!d->name && (d->manufacturer || d->product) &&
            asprintf(&d->name, "%s%s%s", d->manufacturer ? d->manufacturer : "",
                     d->manufacturer && d->product ? " " : "", d->product ? d->product : "") < 0)
                d->name = NULL;
        if (d->busnum < 0)
                log_warn(ctx, "USB device %s: unreadable busnum", name);
        return 0;
}

/* "3-1.10" after "3-1.2": ports compare as numbers, component by component; root hubs first. */
static int port_cmp(const void *a, const void *b) {
        const char *p = ((const struct qpci_usb_device *)a)->port, *q = ((const struct qpci_usb_device *)b)->port;
        bool ra = strncmp(p, "usb", 3) == 0, rb = strncmp(q, "usb", 3) == 0;

        if (ra != rb)
                return ra ? -1 : 1;
        while (*p && *q) {
                char *ep, *eq;
                unsigned long x = strtoul(p, &ep, 10), y = strtoul(q, &eq, 10);
                if (ep == p || eq == q)
                        return strcmp(p, q);
                if (x != y)
                        return x < y ? -1 : 1;
                p = *ep ? ep + 1 : ep;
                q = *eq ? eq + 1 : eq;
        }
        return *p ? 1 : *q ? -1 : 0;
}

static int bus_cmp(const void *a, const void *b) {
        const struct qpci_usb_bus *x = a, *y = b;
        int c;

        /* PCI controllers first, in address order; then the rest by path. */
        if (!x->controller != !y->controller)
                return x->controller ? -1 : 1;
        if (x->controller && y->controller) {
                struct qpci_addr ax = {0}, ay = {0};
                qpci_addr_parse_sysfs(x->controller, &ax);
                qpci_addr_parse_sysfs(y->controller, &ay);
                c = qpci_addr_cmp(&ax, &ay);
        } else
                c = strcmp(x->controller_path ? x->controller_path : "", y->controller_path ? y->controller_path : "");
        return c ? c : x->busnum - y->busnum;
}

static struct qpci_usb_bus *find_bus(struct qpci_usb *usb, int busnum) {
        for (size_t i = 0; i < usb->n_buses; i++)
                if (usb->buses[i].busnum == busnum)
                        return &usb->buses[i];
        return NULL;
}

static int add_bus(struct qpci_usb *usb, int dirfd, const char *name, int busnum) {
        char target[PATH_MAX], parent[NAME_MAX + 1];
        struct qpci_usb_bus *nb, *b;
        struct qpci_addr a;
        ssize_t n;

        nb = reallocarray(usb->buses, usb->n_buses + 1, sizeof(*nb));
        if (!nb)
                return -ENOMEM;
        usb->buses = nb;
        b = &usb->buses[usb->n_buses++];
        memset(b, 0, sizeof(*b));
        b->busnum = busnum;

        n = readlinkat(dirfd, name, target, sizeof(target) - 1);
        if (n < 0)
                return 0;
        target[n] = '\0';
        if (qpci_path_parent_component(target, parent, sizeof(parent)) == 0 && qpci_addr_parse_sysfs(parent, &a) == 0)
                b->controller = strdup(parent);
        /* Where the root hub hangs, relative to /sys/devices, for controllers that are not PCI. */
        char *dev = strstr(target, "devices/"), *slash = strrchr(target, '/');
        if (dev && slash && slash > dev + 8) {
                *slash = '\0';
                b->controller_path = strdup(dev + 8);
        }
        return 0;
}

QPCI_EXPORT int qpci_usb_new(struct qpci_ctx *ctx, struct qpci_usb **ret) {
        _cleanup_(qpci_usb_unrefp) struct qpci_usb *usb = NULL;
        _cleanup_closedir_ DIR *dir = NULL;
        struct dirent *de;
        int fd, r;

        usb = calloc(1, sizeof(*usb));
        if (!usb)
                return -ENOMEM;
        usb->refcount = 1;
        fd = qpci_open_root(ctx, "/sys/bus/usb/devices", O_RDONLY | O_DIRECTORY);
        if (fd == -ENOENT) {
                /* No USB core in this kernel: no USB buses, which is an answer, not an error. */
                *ret = TAKE_PTR(usb);
                return 0;
        }
        if (fd < 0)
                return fd;
        dir = fdopendir(fd);
        if (!dir) {
                close(fd);
                return -errno;
        }
        /* Root hubs first, so every device finds its bus. */
        for (int pass = 0; pass < 2; pass++) {
                rewinddir(dir);
                while ((de = readdir(dir))) {
                        bool root = strncmp(de->d_name, "usb", 3) == 0;
                        struct qpci_usb_device dev = {0}, *nd;
                        struct qpci_usb_bus *b;

                        if (de->d_name[0] == '.' || strchr(de->d_name, ':') || root != (pass == 0))
                                continue; /* interfaces ("3-1:1.0") are not devices */
                        _cleanup_free_ char *version = NULL;
                        r = load_device(ctx, dirfd(dir), de->d_name, &dev, root ? &version : NULL);
                        if (r < 0) {
                                device_done(&dev);
                                if (r == -ENOMEM)
                                        return r;
                                log_warn(ctx, "USB device %s: %s", de->d_name, strerror(-r));
                                continue;
                        }
                        if (root && dev.busnum < 0) {
                                const char *digits = de->d_name + 3;
                                unsigned long v;
                                if (parse_number(&digits, INT_MAX, &v) == 0 && !*digits)
                                        dev.busnum = v;
                        }
                        b = find_bus(usb, dev.busnum);
                        if (!b && root) {
                                r = add_bus(usb, dirfd(dir), de->d_name, dev.busnum);
                                if (r < 0) {
                                        device_done(&dev);
                                        return r;
                                }
                                b = &usb->buses[usb->n_buses - 1];
                                b->version = TAKE_PTR(version);
                        }
                        if (!b) {
                                log_warn(ctx, "USB device %s: bus %d has no root hub", de->d_name, dev.busnum);
                                device_done(&dev);
                                continue;
                        }
                        nd = reallocarray(b->devices, b->n_devices + 1, sizeof(*nd));
                        if (!nd) {
                                device_done(&dev);
                                return -ENOMEM;
                        }
                        b->devices = nd;
                        b->devices[b->n_devices++] = dev;
                }
        }
        /* qsort's array may not be NULL, even empty: a host without USB buses has none. */
        for (size_t i = 0; i < usb->n_buses; i++)
                if (usb->buses[i].n_devices > 0)
                        qsort(usb->buses[i].devices, usb->buses[i].n_devices, sizeof(struct qpci_usb_device),
                              port_cmp);
        if (usb->n_buses > 0)
                qsort(usb->buses, usb->n_buses, sizeof(*usb->buses), bus_cmp);
        *ret = TAKE_PTR(usb);
        return 0;
}

QPCI_EXPORT size_t qpci_usb_bus_count(const struct qpci_usb *usb) {
        return usb->n_buses;
}

QPCI_EXPORT const struct qpci_usb_bus *qpci_usb_get_bus(const struct qpci_usb *usb, size_t i) {
        return i < usb->n_buses ? &usb->buses[i] : NULL;
}

static bool all_digits(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

/* Exactly four hex digits at *s. */
static int parse_hex4(const char **s, int *ret) {
        int v = 0;

        for (int i = 0; i < 4; i++) {
                int d = qpci_hex_digit((*s)[i]);
                if (d < 0)
                        return -EINVAL;
                v = v * 16 + d;
        }
        *s += 4;
        *ret = v;
        return 0;
}

static const char *skip_blanks(const char *s) {
        return s + strspn(s, " \t");
}

static const char *skip_word(const char *s, const char *word) {
        size_t n = strlen(word);
        return strncmp(s, word, n) == 0 ? s + n : NULL;
}

static const char *const bus_range = "USB bus numbers go from 1 to 64 (lsusb prints them as 'Bus 003')";
static const char *const dev_range = "USB device numbers go from 1 to 127 (lsusb prints them as 'Device 003')";

/* "Bus 003 Device 003: ID 413c:818d Dell Computer Corp.": 1 when s is such a line (q filled, or
 * -ERANGE and why set), 0 when it is not one. */
static int parse_lsusb_line(const char *s, struct qpci_usb_query *q, const char **why) {
        unsigned long bus, devnum;
        int r;

        if (!(s = skip_word(s, "Bus")))
                return 0;
        s = skip_blanks(s);
        r = parse_number(&s, USB_BUS_MAX, &bus);
        if (r == -EINVAL)
                return 0;
        if (r < 0) {
                *why = bus_range;
                return r;
        }
        if (!(s = skip_word(skip_blanks(s), "Device")))
                return 0;
        s = skip_blanks(s);
        r = parse_number(&s, USB_DEVNUM_MAX, &devnum);
        if (r == -EINVAL)
                return 0;
        if (r < 0) {
                *why = dev_range;
                return r;
        }
        if (!(s = skip_word(skip_blanks(s), ":")) || !(s = skip_word(skip_blanks(s), "ID")))
                return 0;
        s = skip_blanks(s);
        if (parse_hex4(&s, &q->vendor_id) < 0 || *s++ != ':' || parse_hex4(&s, &q->product_id) < 0)
                return 0;
        if (*s && *s != ' ' && *s != '\t')
                return 0; /* "413c:818dx": not lsusb's id */
        q->busnum = bus;
        q->devnum = devnum;
        return 1;
}

/* A bus number on its own ("3", "usb3") or before a port ("3-1.2"): digits, then end. */
static int parse_bus(const char *s, const char *end, int *ret, const char **why) {
        unsigned long v;
        const char *p = s;
        int r = parse_number(&p, USB_BUS_MAX, &v);

        if (r == 0 && p != end)
                r = -EINVAL;
        if (r == -ERANGE)
                *why = bus_range;
        if (r == 0)
                *ret = v;
        return r;
}

QPCI_EXPORT int qpci_usb_query_parse(const char *s, struct qpci_usb_query *q, const char **why) {
        const char *dummy;
        int r;

        if (!why)
                why = &dummy;
        *q = (struct qpci_usb_query){.busnum = -1, .devnum = -1, .vendor_id = -1, .product_id = -1};
        s += strspn(s, " \t");
        r = parse_lsusb_line(s, q, why);
        if (r != 0) {
                if (r < 0)
                        *q = (struct qpci_usb_query){.busnum = -1, .devnum = -1, .vendor_id = -1, .product_id = -1};
                return r < 0 ? r : 0;
        }
        if (strncmp(s, "usb", 3) == 0 && all_digits(s + 3))
                return parse_bus(s + 3, s + strlen(s), &q->busnum, why);
        if (all_digits(s))
                return parse_bus(s, s + strlen(s), &q->busnum, why);
        if (strlen(s) == 9 && s[4] == ':') {
                const char *p = s;
                int v, pid;
                if (parse_hex4(&p, &v) == 0 && *p++ == ':' && parse_hex4(&p, &pid) == 0) {
                        q->vendor_id = v;
                        q->product_id = pid;
                        return 0;
                }
        }
        /* A port: "3-1.2". */
        const char *dash = strchr(s, '-');
        if (dash && dash > s && strspn(s, "0123456789") == (size_t)(dash - s) && dash[1] &&
            strspn(dash + 1, "0123456789.") == strlen(dash + 1) && dash[strlen(dash) - 1] != '.') {
                r = parse_bus(s, dash, &q->busnum, why);
                if (r < 0)
                        return r;
                q->port = strdup(s);
                if (!q->port)
                        return -ENOMEM;
                return 0;
        }
        *why = "expected a bus number (3), a VID:PID (413c:818d), a port (3-1.2) or a line of lsusb output";
        return -EINVAL;
}

QPCI_EXPORT void qpci_usb_query_done(struct qpci_usb_query *q) {
        free(q->port);
        q->port = NULL;
}

QPCI_EXPORT bool qpci_usb_query_matches(const struct qpci_usb_query *q, const struct qpci_usb_device *d) {
        if (q->busnum >= 0 && d->busnum != q->busnum)
                return false;
        if (q->devnum >= 0 && d->devnum != q->devnum)
                return false;
        if (q->vendor_id >= 0 && (d->vendor_id != q->vendor_id || d->product_id != q->product_id))
                return false;
        if (q->port && !streq(d->port, q->port))
                return false;
        return true;
}
