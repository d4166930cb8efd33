/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What only Xen's own libraries can do for a device on a dom0. They are loaded only when needed,
 * and only on a dom0 (their packages are part of Xen's tools), so qpci runs without them elsewhere.
 *
 * Quarantine: when a domain lets a device go, Xen keeps it assigned to DOMID_IO: dom0's driver then
 * binds but cannot map its interrupts ("xen map irq failed -19 for 32752 domain") and its DMA
 * faults in the IOMMU. Taking it out is what `xl pci-assignable-remove` starts with:
 * xc_deassign_device(DOMID_IO), in libxenctrl.
 *
 * Devices without a reliable reset: upstream libvirt resets every host device of a Xen domain
 * before it gives it and refuses one it cannot reset, whatever the user said (Qubes patches libvirt
 * for its no-strict-reset option). libxl, Xen's toolstack library under libvirt, only logs a failed
 * reset, so qpci gives those devices to the domain through libxl itself, as `xl pci-attach` does.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qpci-internal.h"

#ifdef QPCI_XENLIGHT_SONAME
#include <libxl.h>
#include <time.h>
#include <xenstore.h>
#endif

/* libxenctrl's API, stable across Xen releases (xenctrl.h); the library is versioned by release. */
#define XEN_DOMID_IO 0x7FF1U
typedef struct xc_interface_core xc_interface;

int qpci_xen_dequarantine(struct qpci_ctx *ctx, const struct qpci_addr *a, size_t n) {
        static const char *const names[] = {"libxenctrl.so", "libxenctrl.so.4.17", "libxenctrl.so.4.18",
                                            "libxenctrl.so.4.19", "libxenctrl.so.4.20", "libxenctrl.so.4.16"};
        xc_interface *(*open_)(void *, void *, unsigned);
        int (*close_)(xc_interface *);
        int (*deassign)(xc_interface *, uint32_t, uint32_t);
        xc_interface *xch;
        void *h = NULL;
        int taken = 0;

        if (n == 0)
                return 0;
        /* Loaded once for all the devices: dlclose unloads it and the eight libraries it brings, and
         * loading them again costs a dom0 far more than the hypercalls. */
        for (size_t i = 0; !h && i < ELEMENTSOF(names); i++)
                h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (!h) {
                log_dbg(ctx, "no libxenctrl (Xen's tools): cannot take devices out of Xen's quarantine");
                return -ENOPKG;
        }
        open_ = (xc_interface * (*)(void *, void *, unsigned)) dlsym(h, "xc_interface_open");
        close_ = (int (*)(xc_interface *))dlsym(h, "xc_interface_close");
        deassign = (int (*)(xc_interface *, uint32_t, uint32_t))dlsym(h, "xc_deassign_device");
        if (!open_ || !close_ || !deassign || !(xch = open_(NULL, NULL, 0))) {
                dlclose(h);
                return log_error_errno(ctx, -EIO, "libxenctrl is there but unusable: cannot reach the hypervisor");
        }
        for (size_t i = 0; i < n; i++) {
                /* The machine SBDF as Xen encodes it. A device that was in no domain is in no
                 * quarantine: Xen then says so, and there is nothing to do. */
                uint32_t sbdf = a[i].segment << 16 | (uint32_t)a[i].bus << 8 | (uint32_t)a[i].dev << 3 | a[i].fn;
                if (deassign(xch, XEN_DOMID_IO, sbdf) < 0) {
                        log_dbg(ctx, "%04x:%02x:%02x.%x: not in Xen's quarantine", a[i].segment, a[i].bus, a[i].dev,
                                a[i].fn);
                } else {
                        log_info(ctx, "%04x:%02x:%02x.%x: taken out of Xen's quarantine", a[i].segment, a[i].bus,
                                 a[i].dev, a[i].fn);
                        taken++;
                }
        }
        close_(xch);
        dlclose(h);
        return taken;
}

#ifdef QPCI_XENLIGHT_SONAME
/* libxl as built against (its ABI changes with each Xen release, so only that release's soname),
 * its functions looked up once per call: a dom0 runs few of these. */
struct xl {
        void *h, *tl;
        libxl_ctx *ctx;
        struct xentoollog_logger *log;
        FILE *msgs; /* what libxl said, for the error message */
        char *buf;
        size_t len;
        __typeof__(libxl_device_pci_init) *pci_init;
        __typeof__(libxl_device_pci_dispose) *pci_dispose;
        __typeof__(libxl_device_pci_add) *pci_add;
        __typeof__(libxl_device_pci_remove) *pci_remove;
        __typeof__(libxl_ctx_free) *ctx_free;
        __typeof__(xtl_logger_destroy) *logger_destroy;
};

static void xl_close(struct xl *xl) {
        if (xl->ctx)
                xl->ctx_free(xl->ctx);
        if (xl->log)
                xl->logger_destroy(xl->log);
        if (xl->msgs)
                fclose(xl->msgs);
        free(xl->buf);
        if (xl->h)
                dlclose(xl->h);
        if (xl->tl)
                dlclose(xl->tl);
}

static int xl_open(struct qpci_ctx *ctx, struct xl *xl) {
        __typeof__(libxl_ctx_alloc) *ctx_alloc;
        __typeof__(xtl_createlogger_stdiostream) *new_logger;

        *xl = (struct xl){.h = dlopen(QPCI_XENLIGHT_SONAME, RTLD_NOW | RTLD_LOCAL),
                          .tl = dlopen("libxentoollog.so.1", RTLD_NOW | RTLD_LOCAL)};
        if (!xl->h || !xl->tl) {
                xl_close(xl);
                return log_error_errno(ctx, -ENOPKG, "cannot load Xen's libxl (%s, of Xen's tools): install the "
                                       "tools of this Xen release", QPCI_XENLIGHT_SONAME);
        }
        ctx_alloc = (__typeof__(ctx_alloc))dlsym(xl->h, "libxl_ctx_alloc");
        xl->ctx_free = (__typeof__(xl->ctx_free))dlsym(xl->h, "libxl_ctx_free");
        xl->pci_init = (__typeof__(xl->pci_init))dlsym(xl->h, "libxl_device_pci_init");
        xl->pci_dispose = (__typeof__(xl->pci_dispose))dlsym(xl->h, "libxl_device_pci_dispose");
        xl->pci_add = (__typeof__(xl->pci_add))dlsym(xl->h, "libxl_device_pci_add");
        xl->pci_remove = (__typeof__(xl->pci_remove))dlsym(xl->h, "libxl_device_pci_remove");
        new_logger = (__typeof__(new_logger))dlsym(xl->tl, "xtl_createlogger_stdiostream");
        xl->logger_destroy = (__typeof__(xl->logger_destroy))dlsym(xl->tl, "xtl_logger_destroy");
        if (!ctx_alloc || !xl->ctx_free || !xl->pci_init || !xl->pci_dispose || !xl->pci_add || !xl->pci_remove ||
            !new_logger || !xl->logger_destroy) {
                xl_close(xl);
                return log_error_errno(ctx, -ENOPKG, "%s lacks the functions qpci was built against", QPCI_XENLIGHT_SONAME);
        }
        xl->msgs = open_memstream(&xl->buf, &xl->len);
        if (xl->msgs)
                xl->log = (struct xentoollog_logger *)new_logger(xl->msgs, XTL_WARN, 0);
        if (!xl->log || ctx_alloc(&xl->ctx, LIBXL_VERSION, 0, xl->log) != 0) {
                xl->ctx = NULL;
                xl_close(xl);
                return log_error_errno(ctx, -EIO, "libxl is there but unusable: cannot reach the hypervisor");
        }
        return 0;
}

/* libxl's last message, for an error; the others are debug output. */
static const char *xl_said(struct qpci_ctx *ctx, struct xl *xl) {
        char *last = NULL, *line;

        fflush(xl->msgs);
        for (char *p = xl->buf; p && *p; p = line ? line + 1 : NULL) {
                line = strchr(p, '\n');
                if (line)
                        *line = '\0';
                if (*p) {
                        log_dbg(ctx, "libxl: %s", p);
                        last = p;
                }
                if (!line)
                        break;
        }
        return last ? last : "no message";
}

static int xl_pci(struct qpci_ctx *ctx, unsigned domid, const struct qpci_addr *a, bool permissive, bool add) {
        libxl_device_pci pci;
        struct xl xl;
        int r = xl_open(ctx, &xl);

        if (r < 0)
                return r;
        xl.pci_init(&pci);
        pci.domain = (int)a->segment;
        pci.bus = a->bus;
        pci.dev = a->dev;
        pci.func = a->fn;
        pci.permissive = permissive;
        /* Synchronous (no ao_how): done when the domain's PCI frontend has it, or has let it go. */
        r = add ? xl.pci_add(xl.ctx, domid, &pci, NULL) : xl.pci_remove(xl.ctx, domid, &pci, NULL);
        if (r != 0)
                r = log_error_errno(ctx, -EIO, "libxl could not %s %04x:%02x:%02x.%x %s domain %u: %s",
                                    add ? "give" : "take", a->segment, a->bus, a->dev, a->fn, add ? "to" : "from",
                                    domid, xl_said(ctx, &xl));
        else
                xl_said(ctx, &xl);
        xl.pci_dispose(&pci);
        xl_close(&xl);
        return r;
}

int qpci_xen_pci_add(struct qpci_ctx *ctx, unsigned domid, const struct qpci_addr *a, bool permissive) {
        return xl_pci(ctx, domid, a, permissive, true);
}

int qpci_xen_pci_remove(struct qpci_ctx *ctx, unsigned domid, const struct qpci_addr *a) {
        return xl_pci(ctx, domid, a, false, false);
}

/* The domain's PCI frontend says Connected (XenbusStateConnected, 4) in xenstore once it has
 * scanned the devices it was given. Linux's pcifront takes a reconfiguration (a device added) only
 * in that state, and libxl waits only 10 s for the backend to be connected before it gives up on
 * adding, which a booting domain may not be yet. */
int qpci_xen_wait_pcifront(struct qpci_ctx *ctx, unsigned domid, unsigned timeout_s) {
        void *h = dlopen("libxenstore.so.4", RTLD_NOW | RTLD_LOCAL);
        __typeof__(xs_open) *open_;
        __typeof__(xs_close) *close_;
        __typeof__(xs_read) *read_;
        struct xs_handle *xs;
        char path[64], state[16] = "none";
        int r = -ETIMEDOUT;

        if (!h)
                return log_error_errno(ctx, -ENOPKG, "cannot load Xen's libxenstore (libxenstore.so.4)");
        open_ = (__typeof__(open_))dlsym(h, "xs_open");
        close_ = (__typeof__(close_))dlsym(h, "xs_close");
        read_ = (__typeof__(read_))dlsym(h, "xs_read");
        if (!open_ || !close_ || !read_ || !(xs = open_(XS_OPEN_READONLY))) {
                dlclose(h);
                return log_error_errno(ctx, -EIO, "cannot reach xenstore");
        }
        snprintf(path, sizeof(path), "/local/domain/%u/device/pci/0/state", domid);
        for (unsigned ms = 0; ms < timeout_s * 1000; ms += 200) {
                unsigned len = 0;
                char *v = read_(xs, XBT_NULL, path, &len);
                if (v)
                        snprintf(state, sizeof(state), "%s", v);
                free(v);
                /* No frontend at all: the domain has had no PCI device yet, and libxl makes one. */
                if (!v || streq(state, "4")) {
                        r = 0;
                        break;
                }
                nanosleep(&(struct timespec){.tv_nsec = 200 * 1000 * 1000}, NULL);
        }
        close_(xs);
        dlclose(h);
        if (r < 0)
                log_err(ctx, "domain %u did not connect Xen's PCI frontend within %u s (its state: %s): does its "
                        "kernel have xen-pcifront?", domid, timeout_s, state);
        return r;
}
#else
int qpci_xen_pci_add(struct qpci_ctx *ctx, unsigned domid, const struct qpci_addr *a, bool permissive) {
        (void)domid, (void)a, (void)permissive;
        return log_error_errno(ctx, -ENOPKG, "qpci was built without Xen's libxl headers (Debian's libxen-dev): it "
                               "cannot give a device libvirt would refuse");
}

int qpci_xen_pci_remove(struct qpci_ctx *ctx, unsigned domid, const struct qpci_addr *a) {
        return qpci_xen_pci_add(ctx, domid, a, false);
}

int qpci_xen_wait_pcifront(struct qpci_ctx *ctx, unsigned domid, unsigned timeout_s) {
        (void)timeout_s;
        return qpci_xen_pci_add(ctx, domid, NULL, false);
}
#endif
