/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libvirt's domain events as qpci's changes: a VM defined, undefined, started, stopped, paused or
 * resumed, its definition or metadata changed (where qpci keeps assignments), a device added to or
 * removed from the running domain. libvirt delivers them from its own event loop, which runs here
 * until the monitor is stopped; nothing is polled.
 */
#include <libvirt/libvirt.h>
#include <poll.h>
#include <unistd.h>

#include "qpci-internal.h"
#include "virt.h"

struct watch {
        qpci_change_fn fn;
        void *data;
        bool quit;
};

static void report(struct watch *w, const char *type, virDomainPtr dom, const char *detail) {
        struct qpci_change c = {.type = type, .vm = virDomainGetName(dom), .detail = detail};
        w->fn(&c, w->data);
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque) {
        static const char *const types[] = {
                [VIR_DOMAIN_EVENT_DEFINED] = "vm-defined",   [VIR_DOMAIN_EVENT_UNDEFINED] = "vm-undefined",
                [VIR_DOMAIN_EVENT_STARTED] = "vm-started",   [VIR_DOMAIN_EVENT_SUSPENDED] = "vm-paused",
                [VIR_DOMAIN_EVENT_RESUMED] = "vm-resumed",   [VIR_DOMAIN_EVENT_STOPPED] = "vm-stopped",
                [VIR_DOMAIN_EVENT_PMSUSPENDED] = "vm-paused",
                [VIR_DOMAIN_EVENT_CRASHED] = "vm-stopped",
        };
        /* The stopped details a page shows: why the VM is halted now. */
        static const char *const stopped[] = {
                [VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN] = "shutdown", [VIR_DOMAIN_EVENT_STOPPED_DESTROYED] = "destroyed",
                [VIR_DOMAIN_EVENT_STOPPED_CRASHED] = "crashed",   [VIR_DOMAIN_EVENT_STOPPED_MIGRATED] = "migrated",
                [VIR_DOMAIN_EVENT_STOPPED_SAVED] = "saved",       [VIR_DOMAIN_EVENT_STOPPED_FAILED] = "failed",
        };
        (void)conn;
        if (event < 0 || (size_t)event >= ELEMENTSOF(types) || !types[event])
                return 0;
        report(opaque, types[event], dom,
               event == VIR_DOMAIN_EVENT_STOPPED && detail >= 0 && (size_t)detail < ELEMENTSOF(stopped)
                       ? stopped[detail] : NULL);
        return 0;
}

static void on_metadata(virConnectPtr conn, virDomainPtr dom, int type, const char *nsuri, void *opaque) {
        (void)conn, (void)type;
        report(opaque, "vm-changed", dom, nsuri);
}

static void on_device(virConnectPtr conn, virDomainPtr dom, const char *alias, void *opaque, bool added) {
        (void)conn;
        report(opaque, added ? "vm-device-added" : "vm-device-removed", dom, alias);
}

static void on_device_added(virConnectPtr conn, virDomainPtr dom, const char *alias, void *opaque) {
        on_device(conn, dom, alias, opaque, true);
}

static void on_device_removed(virConnectPtr conn, virDomainPtr dom, const char *alias, void *opaque) {
        on_device(conn, dom, alias, opaque, false);
}

static void on_stop(int watch, int fd, int events, void *opaque) {
        struct watch *w = opaque;
        (void)watch, (void)fd, (void)events;
        w->quit = true;
}

int qpci_virt_watch(struct qpci_ctx *ctx, const char *uri, qpci_change_fn fn, void *data, int stop_fd) {
        struct watch w = {.fn = fn, .data = data};
        struct qpci_virt *v = NULL;
        int ids[4] = {-1, -1, -1, -1}, handle, r;

        /* Before the connection opens: it registers its socket with the loop that exists then. */
        if (virEventRegisterDefaultImpl() < 0)
                return log_error_errno(ctx, -EIO, "cannot start libvirt's event loop: %s", qpci_virt_error());
        /* A monitor goes on with the devices alone: not reaching libvirt is a warning, not its end. */
        if ((r = qpci_virt_open(ctx, uri, QPCI_VIRT_OPTIONAL, &v)) < 0) {
                log_warn(ctx, "VM events are left out: cannot reach libvirt%s%s (-v says why)", uri ? " at " : "",
                         uri ? uri : "");
                return r;
        }
        ids[0] = virConnectDomainEventRegisterAny(v->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                  VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), &w, NULL);
        ids[1] = virConnectDomainEventRegisterAny(v->conn, NULL, VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
                                                  VIR_DOMAIN_EVENT_CALLBACK(on_metadata), &w, NULL);
        ids[2] = virConnectDomainEventRegisterAny(v->conn, NULL, VIR_DOMAIN_EVENT_ID_DEVICE_ADDED,
                                                  VIR_DOMAIN_EVENT_CALLBACK(on_device_added), &w, NULL);
        ids[3] = virConnectDomainEventRegisterAny(v->conn, NULL, VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
                                                  VIR_DOMAIN_EVENT_CALLBACK(on_device_removed), &w, NULL);
        /* Lifecycle events are what every driver has; the others are extras where a driver lacks them. */
        if (ids[0] < 0) {
                log_warn(ctx, "VM events are left out: libvirt at %s gives none (%s)", v->uri, qpci_virt_error());
                qpci_virt_unref(v);
                return -EOPNOTSUPP;
        }
        handle = virEventAddHandle(stop_fd, VIR_EVENT_HANDLE_READABLE, on_stop, &w, NULL);
        fn(&(struct qpci_change){.type = "ready"}, data);
        while (!w.quit && handle >= 0)
                if (virEventRunDefaultImpl() < 0)
                        break;
        if (handle >= 0)
                virEventRemoveHandle(handle);
        for (size_t i = 0; i < ELEMENTSOF(ids); i++)
                if (ids[i] >= 0)
                        virConnectDomainEventDeregisterAny(v->conn, ids[i]);
        qpci_virt_unref(v);
        return 0;
}
