/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The inventory: every PCI function sysfs shows, read once, sorted by address, with the relations
 * a device-assignment decision needs (parent bridge, bus peers, slot siblings, SR-IOV, reset).
 *
 * Per function it reads little: `uevent` (the kernel's own view of class, ids and driver, after
 * quirks, in one read), `config` (header type, revision, capabilities), and a few links. Odd entries
 * are listed with what could be read, and a warning. Config space is what sysfs makes costly (a
 * Xen dom0 traps each access): an on-demand inventory, for a command that acts on a few devices,
 * reads a function's only when something asks what it decides.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pci-regs.h"
#include "qpci-internal.h"

void qpci_dev_warn(struct qpci_dev *d, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        char *joined = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0)
                return;
        /* Kept with the device (front ends show them in address order); the log gets them as detail. */
        log_dbg(d->inv->ctx, "%s: %s", d->bdf, msg);
        if (d->warnings) {
                if (asprintf(&joined, "%s\n%s", d->warnings, msg) < 0)
                        return;
                free(d->warnings);
                d->warnings = joined;
        } else
                d->warnings = TAKE_PTR(msg);
}

/* uevent: "DRIVER=ehci-pci\nPCI_CLASS=C0320\nPCI_ID=8086:1E2D\nPCI_SUBSYS_ID=17AA:21F3\n..." (the driver
 * is read from its link instead: the link is what binding changes first). */
enum { UEV_CLASS = 1, UEV_ID = 2, UEV_SUBSYS = 4 };

static unsigned parse_uevent(struct qpci_dev *d, char *buf) {
        unsigned have = 0;
        char *save = NULL;

        for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                unsigned long v, w;
                char *colon;

                if (strncmp(line, "PCI_CLASS=", 10) == 0) {
                        if (qpci_parse_hex(line + 10, 0xffffff, &v) == 0) {
                                d->class_code = v;
                                have |= UEV_CLASS;
                        }
                } else if ((strncmp(line, "PCI_ID=", 7) == 0 || strncmp(line, "PCI_SUBSYS_ID=", 14) == 0) &&
                           (colon = strchr(line, ':'))) {
                        bool subsys = line[4] == 'S';
                        *colon = '\0';
                        if (qpci_parse_hex(strchr(line, '=') + 1, 0xffff, &v) < 0 ||
                            qpci_parse_hex(colon + 1, 0xffff, &w) < 0)
                                continue;
                        if (subsys) {
                                d->subsys_vendor_id = v;
                                d->subsys_device_id = w;
                                have |= UEV_SUBSYS;
                        } else {
                                d->vendor_id = v;
                                d->device_id = w;
                                have |= UEV_ID;
                        }
                }
        }
        return have;
}

/*
 * What the inventory learns while it reads functions in address order: where SR-IOV physical
 * functions sit. The kernel gives a VF its PF's parent in the device tree (pci_iov_add_virtfn())
 * and an address after the PF's (the PF's routing ID plus an offset that is never 0), so only a
 * function beside a PF read before it can have a `physfn` link.
 */
struct scan {
        char **pf_parents;
        size_t n_pf_parents;
        bool lost; /* out of memory for one: every function is looked at */
        struct qpci_fd_batch fds;
};

/* Fills a field from its own attribute file, else from config space, else warns. */
static void fill_field(struct qpci_dev *d, int devfd, const char *attr, unsigned long max, bool from_config,
                       unsigned long config_value, void (*set)(struct qpci_dev *, unsigned long)) {
        unsigned long v;
        int r = qpci_read_hex(devfd, attr, max, &v);

        if (r == 0) {
                set(d, v);
                return;
        }
        if (from_config) {
                set(d, config_value);
                if (r != -ENOENT)
                        qpci_dev_warn(d, "unreadable %s attribute (%s): used config space", attr,
                                      qpci_attr_strerror(r));
                return;
        }
        qpci_dev_warn(d, "%s unknown: no %s attribute (%s) and no config space", attr, attr, qpci_attr_strerror(r));
}

static void set_vendor(struct qpci_dev *d, unsigned long v) { d->vendor_id = v; }
static void set_device(struct qpci_dev *d, unsigned long v) { d->device_id = v; }
static void set_svendor(struct qpci_dev *d, unsigned long v) { d->subsys_vendor_id = v; }
static void set_sdevice(struct qpci_dev *d, unsigned long v) { d->subsys_device_id = v; }
static void set_class(struct qpci_dev *d, unsigned long v) { d->class_code = v; }
static void set_revision(struct qpci_dev *d, unsigned long v) { d->revision = v; }

/* devfd may be a negative errno: the function's directory could not be opened again. fds: the
 * scan's batch of descriptors to close, NULL to close at once. */
static void load_config(struct qpci_dev *d, int devfd, struct qpci_fd_batch *fds) {
        uint8_t buf[PCI_CFG_SPACE_SIZE];
        ssize_t n = devfd < 0 ? devfd : qpci_scan_read_binary(fds, devfd, "config", buf, sizeof(buf));

        if (n < 0) {
                qpci_dev_warn(d, "cannot read config space: %s", qpci_attr_strerror((int)n));
                n = 0;
        } else if (n == 0)
                qpci_dev_warn(d, "config space is empty: header fields and capabilities unknown");
        else if (n < PCI_STD_HEADER_SIZE)
                qpci_dev_warn(d, "config space is only %zd bytes: header fields and capabilities unknown", n);
        qpci_config_parse(buf, n, &d->config);
        d->config_read = true;
        if (d->config.caps_looped)
                qpci_dev_warn(d, "the capability list loops back on itself: read up to the loop");
        else if (d->config.header_known && !d->config.caps_complete && (size_t)n >= PCI_CFG_SPACE_SIZE)
                qpci_dev_warn(d, "the capability list is malformed: read up to the bad entry");
}

/* The revision: the header's, else its own attribute's (once config space was tried). */
static void settle_revision(struct qpci_dev *d, int devfd) {
        if (d->config.header_ok)
                d->revision = d->config.revision;
        else
                fill_field(d, devfd, "revision", 0xff, false, 0, set_revision);
}

static void load_ids(struct qpci_dev *d, int devfd, struct scan *scan) {
        const struct qpci_config *c = &d->config;
        char buf[512];
        unsigned have = 0;
        ssize_t n = qpci_scan_read_attr(&scan->fds, devfd, "uevent", buf, sizeof(buf));

        if (n >= 0)
                have = parse_uevent(d, buf);
        else if (n != -ENOENT)
                qpci_dev_warn(d, "unreadable uevent (%s): ids read from their own attributes", qpci_attr_strerror(n));
        /* An id uevent does not give may come from config space: read it now, as the listing does. */
        if (have != (UEV_CLASS | UEV_ID | UEV_SUBSYS) && !d->config_read)
                load_config(d, devfd, &scan->fds);
        bool ids = c->len >= 4, hdr = c->header_ok;
        bool subsys = c->header_ok && c->subsys_ok;
        if (!(have & UEV_ID)) {
                fill_field(d, devfd, "vendor", 0xffff, ids, c->vendor_id, set_vendor);
                fill_field(d, devfd, "device", 0xffff, ids, c->device_id, set_device);
        }
        if (!(have & UEV_SUBSYS)) {
                fill_field(d, devfd, "subsystem_vendor", 0xffff, subsys, c->subsys_vendor_id, set_svendor);
                fill_field(d, devfd, "subsystem_device", 0xffff, subsys, c->subsys_device_id, set_sdevice);
        }
        if (!(have & UEV_CLASS))
                fill_field(d, devfd, "class", 0xffffff, hdr, c->class_code, set_class);
        if (d->config_read)
                settle_revision(d, devfd);
        char drv[NAME_MAX + 1];
        int r = qpci_readlink_basename(devfd, "driver", drv, sizeof(drv));
        if (r == 0)
                d->driver = strdup(drv);
        else if (r == -ELOOP)
                qpci_dev_warn(d, "its driver link loops back on itself: driver unknown");
}

static void scan_done(struct scan *s) {
        qpci_fd_batch_flush(&s->fds);
        for (size_t i = 0; i < s->n_pf_parents; i++)
                free(s->pf_parents[i]);
        free(s->pf_parents);
}

static bool beside_pf(const struct scan *s, const char *parent) {
        if (!parent || s->lost)
                return true;
        for (size_t i = 0; i < s->n_pf_parents; i++)
                if (streq(s->pf_parents[i], parent))
                        return true;
        return false;
}

static void add_pf_parent(struct scan *s, const char *parent) {
        char **nv;

        if (!parent || beside_pf(s, parent))
                return;
        nv = reallocarray(s->pf_parents, s->n_pf_parents + 1, sizeof(*nv));
        if (nv)
                s->pf_parents = nv;
        if (!nv || !(nv[s->n_pf_parents] = strdup(parent))) {
                s->lost = true;
                return;
        }
        s->n_pf_parents++;
}

/* The kernel takes SR-IOV only from a PCI Express endpoint or root complex integrated endpoint
 * (sriov_init()): a whole capability list that says otherwise rules a PF out without a look-up.
 * Without config space read (an on-demand inventory), sriov_totalvfs is looked up: the kernel shows
 * it only for a function sriov_init() took. */
static bool may_be_pf(const struct qpci_config *c) {
        if (!c->header_ok || !c->caps_complete)
                return true;
        return c->pcie_type == QPCI_PCIE_ENDPOINT || c->pcie_type == QPCI_PCIE_RC_ENDPOINT;
}

static void load_sriov(struct qpci_dev *d, int devfd, struct scan *scan, const char *parent) {
        char buf[NAME_MAX + 1];

        if (beside_pf(scan, parent) && qpci_readlink_basename(devfd, "physfn", buf, sizeof(buf)) == 0) {
                d->physfn_bdf = strdup(buf);
                return; /* a VF is never a PF itself */
        }
        if (!may_be_pf(&d->config))
                return;
        /* Only a physical function has sriov_totalvfs; the values are decimal. */
        ssize_t n = qpci_scan_read_line(&scan->fds, devfd, "sriov_totalvfs", buf, sizeof(buf));
        if (n > 0) {
                d->sriov_pf = true;
                d->total_vfs = strtoul(buf, NULL, 10);
                if (qpci_scan_read_line(&scan->fds, devfd, "sriov_numvfs", buf, sizeof(buf)) > 0)
                        d->num_vfs = strtoul(buf, NULL, 10);
        }
        /* An unreadable one still makes a PF, whose VFs must not go unseen. */
        if (n != -ENOENT)
                add_pf_parent(scan, parent);
}

static void load_links(struct qpci_dev *d, int devfd, struct scan *scan, const char *parent) {
        const char *release = qpci_ctx_osrelease(d->inv->ctx);
        char buf[NAME_MAX + 1];

        d->iommu_group = -1;
        int r = qpci_readlink_basename(devfd, "iommu_group", buf, sizeof(buf));
        if (r == -ELOOP)
                qpci_dev_warn(d, "its iommu_group link loops back on itself: group unknown");
        if (r == 0) {
                char *end;
                long g = strtol(buf, &end, 10);
                if (*end || g < 0 || g > INT_MAX)
                        qpci_dev_warn(d, "odd iommu_group link '%s': group unknown", buf);
                else
                        d->iommu_group = g;
        }
        load_sriov(d, devfd, scan, parent);
        /* From 5.15 the kernel shows `reset` exactly when it shows reset_method, and before it has no
         * reset_method: each kernel is asked only for what it can have. */
        bool with_methods = qpci_kernel_has_reset_method(release), before = *release && !with_methods;
        char methods[256];
        ssize_t n = before ? -ENOENT : qpci_scan_read_line(&scan->fds, devfd, "reset_method", methods, sizeof(methods));
        if (n >= 0) {
                d->kernel_reset_methods = strdup(methods);
                d->has_reset_file = true;
        } else {
                if (n != -ENOENT)
                        qpci_dev_warn(d, "unreadable reset_method (%s): taken as absent", qpci_attr_strerror(n));
                d->has_reset_file = !with_methods && faccessat(devfd, "reset", F_OK, 0) == 0;
        }
}

/* The kernel's secondary_bus_number (decimal) of the bridge at name below dirfd, -1 when unreadable. */
static int read_bus_number(struct qpci_fd_batch *fds, int dirfd, const char *name) {
        char num[16];
        unsigned long v;

        if (qpci_scan_read_line(fds, dirfd, name, num, sizeof(num)) > 0 && qpci_parse_dec(num, 255, &v) == 0)
                return (int)v;
        return -1;
}

/* What config space decides of one function besides its capabilities (reset is resolved with the
 * relations). devfd and fds as for load_config(). */
static void derive_from_config(struct qpci_dev *d, int devfd, struct qpci_fd_batch *fds) {
        d->header_type = d->config.header_type;
        d->pcie_type = d->config.pcie_type;
        /*
         * A bridge is what has a bus behind it: the kernel decides by the header type (pci_is_bridge():
         * type 1, and type 2 for CardBus), and vfio-pci refuses every header but type 0. Only when
         * config space cannot say does the class stand in: PCI bridge (0604) or CardBus bridge (0607).
         */
        int bridge = qpci_config_is_bridge(&d->config);
        if (bridge < 0 && d->config.header_ok)
                qpci_dev_warn(d, "config space gives header type %02x, which the kernel never lists (only 0, 1 "
                              "and 2): it is garbage or the device stopped answering; capabilities unread, and "
                              "its class says whether it is a bridge", d->header_type & PCI_HEADER_TYPE_MASK);
        d->bridge = bridge >= 0 ? bridge : (d->class_code >> 8) == 0x0604 || (d->class_code >> 8) == 0x0607;
        /* The bus behind a bridge, which the paths of the devices below count from: the kernel's
         * number (decimal), else the header's. A parent's may have been read already, for paths. */
        if (d->bridge && d->secondary_bus < 0) {
                d->secondary_bus = devfd >= 0 ? read_bus_number(fds, devfd, "secondary_bus_number") : -1;
                if (d->secondary_bus < 0 && d->config.header_ok)
                        d->secondary_bus = d->config.secondary_bus;
        }
        d->config_done = true;
}

/* Reads one function; whatever cannot be read becomes a warning on it, never a failure. False when
 * the entry is no function at all (it names another one's directory, loops, or leads nowhere). */
static bool load_device(struct qpci_inventory *inv, int dirfd, struct scan *scan, struct qpci_dev *d) {
        const char *name = d->bdf, *dir = name;
        char target[PATH_MAX], parent[NAME_MAX + 1];
        bool have_parent = false;
        struct qpci_addr pa;
        ssize_t n;

        d->inv = inv;
        d->iommu_group = -1;
        d->pcie_type = QPCI_PCIE_NONE;
        d->secondary_bus = -1;
        qpci_addr_format_bdf(&d->addr, d->bdf);
        qpci_addr_format_ident(&d->addr, d->ident);

        /* sys/bus/pci/devices/X links into the device tree: the component above is the parent
         * bridge, or "pciSSSS:BB" for a root bus (also for a root bus below a VMD controller). */
        n = readlinkat(dirfd, name, target, sizeof(target) - 1);
        if (n >= 0) {
                target[n] = '\0';
                /* The kernel's link ends in the name it is listed under; another is a second name. */
                const char *base = strrchr(target, '/');
                base = base ? base + 1 : target;
                if (!streq(base, name)) {
                        log_warn(inv->ctx, "ignoring %s in sys/bus/pci/devices: it leads to %s, so it names "
                                 "another function", name, base);
                        return false;
                }
                have_parent = qpci_path_parent_component(target, parent, sizeof(parent)) == 0;
                if (have_parent && qpci_addr_parse_sysfs(parent, &pa) == 0)
                        d->parent_bdf = strdup(parent);
                else
                        d->root_bus = true;
                /* Where the link leads, as the kernel would resolve it, without making sysfs build
                 * the link's text a second time (kernfs writes it out at every follow). An absolute
                 * one would leave the root: it is followed as the link it is. */
                if (target[0] != '/')
                        dir = target;
        } else
                d->root_bus = true;

        int devfd = openat(dirfd, dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (devfd < 0 && (errno == ELOOP || errno == ENOENT || errno == ENOTDIR)) {
                log_warn(inv->ctx, "ignoring %s in sys/bus/pci/devices: %s", name,
                         errno == ELOOP    ? "its link loops back on itself"
                         : errno == ENOENT ? "its link leads nowhere"
                                           : "not a device directory");
                return false;
        }
        if (devfd < 0) {
                qpci_dev_warn(d, "cannot open its sysfs directory: %s", strerror(errno));
                d->config_done = true; /* nothing more to learn of it, then or later */
                return true;
        }
        /* The listing reads config space while the directory is open; an on-demand inventory when a
         * caller first asks (or sooner, where the ids need it). */
        if (!inv->on_demand)
                load_config(d, devfd, &scan->fds);
        load_ids(d, devfd, scan);
        load_links(d, devfd, scan, have_parent ? parent : NULL);
        if (d->config_read)
                derive_from_config(d, devfd, &scan->fds);
        /* After its attributes' descriptors, so that a function's come in one run. */
        qpci_fd_batch_close(&scan->fds, devfd);
        return true;
}

/* sys/bus/pci/devices holds one link per function, named "%04x:%02x:%02x.%d" by the kernel: another
 * spelling of an address (0000:00:1A.0, 00000:00:1a.0) would list a function twice. NULL when name
 * is the kernel's, else why not (allocated; NULL too when out of memory, and then *oom is set). */
static char *misnamed(const char *name, bool *oom) {
        char bdf[QPCI_BDF_MAX];
        struct qpci_addr a;
        char *msg = NULL;

        if (qpci_addr_parse_sysfs(name, &a) < 0)
                msg = strdup("not a PCI address");
        else if (streq(name, qpci_addr_format_bdf(&a, bdf)))
                return NULL;
        else if (asprintf(&msg, "not a name the kernel gives (it would be %s)", bdf) < 0)
                msg = NULL;
        *oom = !msg;
        return msg;
}

static int str_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

struct lines {
        char **v;
        size_t n;
};

static void lines_done(struct lines *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->v[i]);
        free(l->v);
}

static int lines_add(struct lines *l, char *line) {
        char **nv = line ? reallocarray(l->v, l->n + 1, sizeof(*nv)) : NULL;

        if (!nv) {
                free(line);
                return -ENOMEM;
        }
        l->v = nv;
        l->v[l->n++] = line;
        return 0;
}

static int addr_cmp(const void *a, const void *b) {
        return qpci_addr_cmp(a, b);
}

static int dev_cmp(const void *a, const void *b) {
        return qpci_addr_cmp(&((const struct qpci_dev *)a)->addr, &((const struct qpci_dev *)b)->addr);
}

static struct qpci_dev *find_bdf(const struct qpci_inventory *inv, const char *bdf) {
        struct qpci_addr a;

        if (!bdf || qpci_addr_parse_sysfs(bdf, &a) < 0)
                return NULL;
        return qpci_inventory_find(inv, &a);
}

static bool same_slot(const struct qpci_addr *a, const struct qpci_addr *b) {
        return a->segment == b->segment && a->bus == b->bus && a->dev == b->dev;
}

static void link_relations(struct qpci_inventory *inv) {
        size_t i, j;

        for (i = 0; i < inv->n; i++) {
                struct qpci_dev *d = &inv->devs[i];
                d->parent = find_bdf(inv, d->parent_bdf);
                d->physfn = find_bdf(inv, d->physfn_bdf);
                if (d->physfn_bdf && !d->physfn)
                        qpci_dev_warn(d, "its physical function %s is not listed", d->physfn_bdf);
        }
        /* Sorted by address, a bus and a slot are each one run of the array. */
        for (i = 0; i < inv->n; i = j) {
                const struct qpci_addr *a = &inv->devs[i].addr;
                for (j = i; j < inv->n && inv->devs[j].addr.segment == a->segment && inv->devs[j].addr.bus == a->bus; j++)
                        ;
                size_t before = 0;
                for (size_t k = i; k < j; k++) {
                        inv->devs[k].bus_peers = j - i - 1;
                        inv->devs[k].bus_before = before;
                        if (!inv->devs[k].physfn_bdf)
                                before++;
                }
        }
        for (i = 0; i < inv->n; i = j) {
                bool mf = false;
                size_t functions = 0;
                struct qpci_dev *lone = NULL;
                for (j = i; j < inv->n && same_slot(&inv->devs[j].addr, &inv->devs[i].addr); j++) {
                        struct qpci_dev *d = &inv->devs[j];
                        if (d->physfn)
                                continue; /* VFs share slots without being one device */
                        functions++;
                        lone = d;
                        if (d->header_type & PCI_HEADER_MULTIFUNC)
                                mf = true;
                }
                /* The kernel trusts function 0's header bit; a slot holding several functions is one
                 * multi-function device whatever a (possibly unreadable) header says. */
                mf = mf || functions > 1;
                /* A function alone in its slot is one by its own header's bit, read on demand. */
                if (!mf && functions == 1 && !lone->config_done)
                        lone->mf_from_header = true;
                for (size_t k = i; k < j; k++) {
                        inv->devs[k].multifunction = mf && !inv->devs[k].physfn;
                        inv->devs[k].slot_first = i;
                        inv->devs[k].slot_count = j - i;
                }
        }
        inv->linked = true;
        for (i = 0; i < inv->n; i++)
                if (inv->devs[i].config_done)
                        qpci_dev_resolve_reset(&inv->devs[i]);
}

/* An on-demand inventory's reading of what config space decides of d; bus_number: try the
 * kernel's secondary_bus_number first, if it is a bridge (unless that was just tried). */
static void load_config_now(struct qpci_dev *d, bool bus_number) {
        int devfd = openat(d->inv->devices_fd, d->bdf, O_PATH | O_DIRECTORY | O_CLOEXEC);

        if (devfd < 0)
                devfd = -errno;
        if (!d->config_read) {
                load_config(d, devfd, NULL);
                settle_revision(d, devfd);
        }
        derive_from_config(d, bus_number ? devfd : -EBADF, NULL);
        if (devfd >= 0)
                close(devfd);
        if (d->mf_from_header)
                d->multifunction = d->header_type & PCI_HEADER_MULTIFUNC;
        if (d->inv->linked)
                qpci_dev_resolve_reset(d);
}

void qpci_dev_need_config(const struct qpci_dev *d) {
        /* The listing's inventory read it all already. Else a cache filled behind const, as names
         * are: the device's facts do not change by being read. */
        if (d->inv->on_demand && !d->config_done)
                load_config_now((struct qpci_dev *)d, true);
}

/*
 * The paths of the functions below a bridge count from its secondary bus. Without its config space:
 * a parent in the device tree is a bridge, and the kernel shows secondary_bus_number exactly for
 * pci_is_bridge() functions (since 4.13); where that cannot be read, config space says.
 */
static void load_parent_buses(struct qpci_inventory *inv) {
        for (size_t i = 0; i < inv->n; i++) {
                struct qpci_dev *p = inv->devs[i].parent;
                char name[QPCI_BDF_MAX + sizeof("/secondary_bus_number")];

                if (!p || p->config_done || p->secondary_bus >= 0)
                        continue;
                snprintf(name, sizeof(name), "%s/secondary_bus_number", p->bdf);
                p->secondary_bus = read_bus_number(NULL, inv->devices_fd, name);
                if (p->secondary_bus < 0)
                        load_config_now(p, false);
        }
}

/*
 * Qubes R4.3's PCI path: the bridges from the root bus down and the device, the first with its
 * own bus number, each other with its bus relative to the secondary bus of the bridge above, so
 * that renumbered buses leave it as it was. The kernel puts a device below the bridge whose bus
 * it is on, so that number is 00; a tree that says otherwise keeps its own bus number there rather
 * than a negative one. A parent chain longer than the 256 buses there are (a fixture's loop) stops.
 */
static int build_path(struct qpci_dev *d, unsigned depth) {
        struct qpci_dev *p = d->parent;
        char part[QPCI_IDENT_MAX + 2];
        int r;

        if (d->path)
                return 0;
        if (!p || depth >= 256)
                return (d->path = strdup(d->ident)) ? 0 : -ENOMEM;
        r = build_path(p, depth + 1);
        if (r < 0)
                return r;
        unsigned bus = d->addr.bus;
        if (p->secondary_bus >= 0 && bus >= (unsigned)p->secondary_bus)
                bus -= p->secondary_bus;
        snprintf(part, sizeof(part), "-%02x_%02x.%x", bus, d->addr.dev, d->addr.fn);
        if (asprintf(&d->path, "%s%s", p->path, part) < 0) {
                d->path = NULL;
                return -ENOMEM;
        }
        return 0;
}

static int build_identities(struct qpci_inventory *inv) {
        for (size_t i = 0; i < inv->n; i++) {
                struct qpci_dev *d = &inv->devs[i];
                int r = build_path(d, 0);
                if (r < 0)
                        return r;
                snprintf(d->devid, sizeof(d->devid), "0x%04x:0x%04x::p%06x", d->vendor_id, d->device_id,
                         d->class_code & 0xffffff);
        }
        return 0;
}

static int group_cmp(const void *a, const void *b) {
        const struct qpci_dev *x = *(struct qpci_dev *const *)a, *y = *(struct qpci_dev *const *)b;
        if (x->iommu_group != y->iommu_group)
                return x->iommu_group < y->iommu_group ? -1 : 1;
        return qpci_addr_cmp(&x->addr, &y->addr);
}

static int index_groups(struct qpci_inventory *inv) {
        size_t i, j;

        inv->by_group = calloc(inv->n ? inv->n : 1, sizeof(*inv->by_group));
        if (!inv->by_group)
                return -ENOMEM;
        for (i = 0; i < inv->n; i++)
                if (inv->devs[i].iommu_group >= 0)
                        inv->by_group[inv->n_grouped++] = &inv->devs[i];
        qsort(inv->by_group, inv->n_grouped, sizeof(*inv->by_group), group_cmp);
        for (i = 0; i < inv->n_grouped; i = j) {
                for (j = i; j < inv->n_grouped && inv->by_group[j]->iommu_group == inv->by_group[i]->iommu_group; j++)
                        ;
                for (size_t k = i; k < j; k++) {
                        inv->by_group[k]->group_first = i;
                        inv->by_group[k]->group_count = j - i;
                        inv->by_group[k]->group_pos = k;
                }
        }
        return 0;
}

static void dev_done(struct qpci_dev *d) {
        free(d->driver);
        free(d->parent_bdf);
        free(d->path);
        free(d->physfn_bdf);
        free(d->kernel_reset_methods);
        free(d->reset_reason);
        free(d->module);
        free(d->warnings);
        free(d->hidden_from);
}

QPCI_EXPORT struct qpci_inventory *qpci_inventory_ref(struct qpci_inventory *inv) {
        if (inv)
                inv->refcount++;
        return inv;
}

QPCI_EXPORT struct qpci_inventory *qpci_inventory_unref(struct qpci_inventory *inv) {
        if (!inv || --inv->refcount > 0)
                return NULL;
        for (size_t i = 0; i < inv->n; i++)
                dev_done(&inv->devs[i]);
        free(inv->devs);
        free(inv->by_group);
        free(inv->pciback_slots);
        free(inv->pciback_permissive);
        if (inv->devices_fd >= 0)
                close(inv->devices_fd);
        qpci_unref(inv->ctx);
        free(inv);
        return NULL;
}

static inline void qpci_inventory_unrefp(struct qpci_inventory **p) { qpci_inventory_unref(*p); }

QPCI_EXPORT int qpci_inventory_new_with(struct qpci_ctx *ctx, unsigned flags, struct qpci_inventory **ret) {
        _cleanup_(qpci_inventory_unrefp) struct qpci_inventory *inv = NULL;
        _cleanup_closedir_ DIR *dir = NULL;
        _cleanup_free_ struct qpci_addr *addrs = NULL;
        _cleanup_(lines_done) struct lines rejects = {0};
        _cleanup_(scan_done) struct scan scan = {0};
        size_t cap = 0, n_addrs = 0;
        struct dirent *de;
        int fd;

        if (flags & ~QPCI_INVENTORY_ON_DEMAND)
                return log_error_errno(ctx, -EINVAL, "unknown inventory flags 0x%x", flags);
        inv = calloc(1, sizeof(*inv));
        if (!inv)
                return -ENOMEM;
        inv->refcount = 1;
        inv->ctx = qpci_ref(ctx);
        inv->devices_fd = -1;
        inv->on_demand = flags & QPCI_INVENTORY_ON_DEMAND;

        fd = qpci_open_root(ctx, "/sys/bus/pci/devices", O_RDONLY | O_DIRECTORY);
        if (fd < 0) {
                log_err(ctx, "cannot read %s/sys/bus/pci/devices: %s", qpci_root_prefix(ctx),
                        strerror(-fd));
                return fd;
        }
        dir = fdopendir(fd);
        if (!dir) {
                close(fd);
                return -errno;
        }
        if (inv->on_demand && (inv->devices_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0) {
                int r = -errno;
                return log_error_errno(ctx, r, "cannot keep sys/bus/pci/devices open: %s", strerror(-r));
        }
        /* Addresses first, sorted while they are small; then each device is read straight into its
         * place, so the large device records never move. */
        while ((de = readdir(dir))) {
                struct qpci_addr a;
                if (de->d_name[0] == '.')
                        continue;
                bool oom = false;
                _cleanup_free_ char *why = misnamed(de->d_name, &oom);
                if (oom)
                        return -ENOMEM;
                if (why) {
                        /* Kept to be told in name order: readdir's order is the file system's. */
                        char *line = NULL;
                        if (asprintf(&line, "ignoring %s in sys/bus/pci/devices: %s", de->d_name, why) < 0)
                                line = NULL;
                        if (lines_add(&rejects, line) < 0)
                                return -ENOMEM;
                        continue;
                }
                qpci_addr_parse_sysfs(de->d_name, &a);
                if (n_addrs == cap) {
                        size_t ncap = cap ? cap * 2 : 64;
                        struct qpci_addr *na = reallocarray(addrs, ncap, sizeof(*na));
                        if (!na)
                                return -ENOMEM;
                        addrs = na;
                        cap = ncap;
                }
                addrs[n_addrs++] = a;
        }
        if (rejects.n > 0)
                qsort(rejects.v, rejects.n, sizeof(*rejects.v), str_cmp);
        for (size_t i = 0; i < rejects.n; i++)
                log_warn(ctx, "%s", rejects.v[i]);
        if (n_addrs > 0) /* qsort's array may not be NULL, even empty: a host (or VM) without PCI */
                qsort(addrs, n_addrs, sizeof(*addrs), addr_cmp);
        inv->devs = calloc(n_addrs ? n_addrs : 1, sizeof(*inv->devs));
        if (!inv->devs)
                return -ENOMEM;
        for (size_t i = 0; i < n_addrs; i++) {
                struct qpci_dev *d = &inv->devs[inv->n];
                d->addr = addrs[i];
                if (load_device(inv, dirfd(dir), &scan, d))
                        inv->n++;
                else {
                        dev_done(d);
                        memset(d, 0, sizeof(*d));
                }
        }
        link_relations(inv);
        if (inv->on_demand)
                load_parent_buses(inv);
        int r = build_identities(inv);
        if (r < 0)
                return r;
        r = index_groups(inv);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(inv);
        return 0;
}

QPCI_EXPORT int qpci_inventory_new(struct qpci_ctx *ctx, struct qpci_inventory **ret) {
        return qpci_inventory_new_with(ctx, 0, ret);
}

QPCI_EXPORT size_t qpci_inventory_count(const struct qpci_inventory *inv) {
        return inv->n;
}

QPCI_EXPORT struct qpci_dev *qpci_inventory_get(const struct qpci_inventory *inv, size_t i) {
        return i < inv->n ? &inv->devs[i] : NULL;
}

QPCI_EXPORT struct qpci_dev *qpci_inventory_find(const struct qpci_inventory *inv, const struct qpci_addr *a) {
        struct qpci_dev key = {.addr = *a};
        return bsearch(&key, inv->devs, inv->n, sizeof(*inv->devs), dev_cmp);
}
