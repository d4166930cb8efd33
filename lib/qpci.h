/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libqpci: the host's PCI functions as a device-assignment tool needs to see them.
 *
 * Conventions (taken from libkmod and systemd):
 * - objects are opaque and come from qpci_*_new(); ref/unref accept NULL and unref returns NULL;
 * - fallible calls return >= 0 on success and -errno on failure, results go through out pointers;
 * - the library never prints and never exits: it reports through the log function of its context;
 * - every host path is resolved below the context's root (QPCI_ROOT), so tests run on fixture trees.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct qpci_ctx;
struct qpci_inventory;
struct qpci_dev;
struct qpci_usb;

/* ---- context ---------------------------------------------------------- */

enum qpci_log_priority {
        QPCI_LOG_ERR = 3,
        QPCI_LOG_WARNING = 4,
        QPCI_LOG_INFO = 6,
        QPCI_LOG_DEBUG = 7,
};

typedef void (*qpci_log_fn)(void *data, int priority, const char *fmt, va_list args);

/* root: the directory every host path is resolved under; NULL or "" means "/". */
int qpci_new(const char *root, struct qpci_ctx **ret);
struct qpci_ctx *qpci_ref(struct qpci_ctx *ctx);
struct qpci_ctx *qpci_unref(struct qpci_ctx *ctx);
void qpci_set_log_fn(struct qpci_ctx *ctx, qpci_log_fn fn, void *data);
void qpci_set_log_priority(struct qpci_ctx *ctx, int priority);
/* How long a command that changes devices or gives them to a VM waits for another one (which it
 * names) before it gives up: unless set, 60 s for devices and 300 s for a VM's start or hot-plug. */
void qpci_set_lock_timeout(struct qpci_ctx *ctx, unsigned seconds);
const char *qpci_get_root(const struct qpci_ctx *ctx);
/* A pci.ids file to name devices from instead of the system's (and no udev hwdb). Like
 * qpci_set_hwdb(), only before the first name is looked up: -EBUSY after. */
int qpci_set_pci_ids(struct qpci_ctx *ctx, const char *path);
/* Look names up in the udev hwdb (default true). */
int qpci_set_hwdb(struct qpci_ctx *ctx, bool enable);

/* ---- failures ---------------------------------------------------------- */

/*
 * What the first failure the library reported on a context (since qpci_clear_error()) was, for a
 * front end that shows failures to programs: the line it logged, and the same in parts. Its strings
 * live until the context's error is cleared or the context ends. code is stable and short:
 * "not-found", "in-use", "bad-argument", "exists", "needs-root", "read-only", "no-space",
 * "changed" (not the device that was assigned), "timeout", "already", "unsupported", "no-reset",
 * "remote", "out-of-memory", "bridge", "no-iommu", "group-incomplete", "functions-incomplete",
 * "guarded", "not-hidden", "vm-running", "vm-halted", "not-assigned", "fixture", "ambiguous" (a
 * device id alone that names several devices), or "failed".
 */
struct qpci_error {
        const char *code;
        int errnum;          /* the errno it failed with (positive), 0 when none was given */
        const char *message; /* the whole line, as logged */
        const char *error;   /* what failed or was refused (the whole line when not known apart) */
        const char *reason;  /* why; NULL when the library gave none apart from error */
        const char *fix;     /* what to do; NULL likewise */
};
/* NULL when nothing failed. */
const struct qpci_error *qpci_get_error(const struct qpci_ctx *ctx);
void qpci_clear_error(struct qpci_ctx *ctx);
/* The code of a failure returned as -errno r that the library did not log ("not-found" for -ENODEV). */
const char *qpci_errno_code(int r);

/* ---- addresses -------------------------------------------------------- */

/* A PCI function's address; plain data. Segments may be wider than 16 bits (Intel VMD uses 10000+). */
struct qpci_addr {
        uint32_t segment;
        uint8_t bus;
        uint8_t dev;
        uint8_t fn;
};

#define QPCI_BDF_MAX 24   /* "ffffffff:ff:1f.7" and a NUL fit easily */
#define QPCI_IDENT_MAX 24 /* "ffffffff_ff_1f.7" */

/*
 * Accepts every form users type: "dom0:00_1a.0", "00_1a.0", "00:1a.0", "0000:00:1a.0",
 * "dom0:0000_00_1a.0", "0000_00_1a.0". Returns -EINVAL for anything else, and sets *why
 * (when not NULL) to a static phrase saying what is wrong.
 */
int qpci_addr_parse(const char *s, struct qpci_addr *ret, const char **why);
/* "0000:00:1a.0", as sysfs names it. */
char *qpci_addr_format_bdf(const struct qpci_addr *a, char buf[static QPCI_BDF_MAX]);
/* Qubes' ident: "00_1a.0" on segment 0, "0001_00_1a.0" elsewhere. */
char *qpci_addr_format_ident(const struct qpci_addr *a, char buf[static QPCI_IDENT_MAX]);
int qpci_addr_cmp(const struct qpci_addr *a, const struct qpci_addr *b);

/* ---- Qubes R4.3's identities: ports (PCI paths), device ids, device strings ---- */

/*
 * A PCI path (Qubes R4.3's port id of a PCI device) as typed ("00_1C.0-00_00.0", "0001_00_02.0-00_00.0")
 * in the form qpci_dev_get_path() gives, allocated in *ret; -EINVAL and *why when it is none.
 */
int qpci_path_parse(const char *s, char **ret, const char **why);
/*
 * A device id pattern: "*" (or "_") for any device, else VENDOR:DEVICE:SERIAL:INTERFACES as Qubes
 * R4.3 writes it, "0x8086:0x10d3::p020000" (an interface is p and the class, subclass and
 * programming interface); "*" or "_" alone for any value of a field, and in place of any one
 * character of the vendor, device and interfaces.
 */
int qpci_devid_check(const char *s, const char **why);
bool qpci_devid_matches(const char *pattern, const struct qpci_dev *d);

/* A device string: R4.3's BACKEND:PORT[:DEVID], and every older form qpci_addr_parse() takes. */
struct qpci_device_spec {
        char *backend; /* "dom0", the only one with PCI devices (also when left out) */
        char *port;    /* a PCI path ("00_1c.0-00_00.0"), a BDF's ident ("00_1a.0", "0001_00_1a.0"), or "*" */
        char *devid;   /* NULL when not given; "*" for any */
};
int qpci_device_spec_parse(const char *s, struct qpci_device_spec *ret, const char **why);
void qpci_device_spec_done(struct qpci_device_spec *spec);

/* ---- inventory -------------------------------------------------------- */

/* A snapshot of every PCI function of the host, sorted by address. */
int qpci_inventory_new(struct qpci_ctx *ctx, struct qpci_inventory **ret);
enum qpci_inventory_flags {
        /* For a command that looks at a few devices: each function's config space (and what it
         * decides: header, bridge, multi-function, reset) is read when first asked for, not for all.
         * The answers are the same; a listing is cheaper without it. */
        QPCI_INVENTORY_ON_DEMAND = 1u << 0,
};
/* The same, with QPCI_INVENTORY_* flags; -EINVAL for unknown ones. */
int qpci_inventory_new_with(struct qpci_ctx *ctx, unsigned flags, struct qpci_inventory **ret);
struct qpci_inventory *qpci_inventory_ref(struct qpci_inventory *inv);
struct qpci_inventory *qpci_inventory_unref(struct qpci_inventory *inv);
size_t qpci_inventory_count(const struct qpci_inventory *inv);
/* Devices belong to the inventory and live as long as it does. */
struct qpci_dev *qpci_inventory_get(const struct qpci_inventory *inv, size_t i);
struct qpci_dev *qpci_inventory_find(const struct qpci_inventory *inv, const struct qpci_addr *a);
/* Parses a user's device string (qpci_device_spec_parse()) and finds the device at its port, a
 * PCI path or a BDF: -EINVAL (malformed) or -ENODEV (no such device, or another one than its
 * device id names), *why says which. */
int qpci_inventory_lookup(const struct qpci_inventory *inv, const char *id, struct qpci_dev **ret,
                          const char **why);

/* ---- one PCI function --------------------------------------------------- */

const struct qpci_addr *qpci_dev_get_addr(const struct qpci_dev *d);
const char *qpci_dev_get_bdf(const struct qpci_dev *d);
const char *qpci_dev_get_ident(const struct qpci_dev *d);
/* Its PCI path, Qubes R4.3's port id: on a root bus its ident ("00_1a.0"); behind bridges each
 * bridge from the root bus down and then the device, each bus number relative to the secondary
 * bus of the bridge above ("00_1c.0-00_00.0"), which renumbered buses leave as it was. */
const char *qpci_dev_get_path(const struct qpci_dev *d);
/* Qubes R4.3's device id: "0x8086:0x10d3::p020000" (vendor, device, no serial, p and the class). */
const char *qpci_dev_get_devid(const struct qpci_dev *d);
uint16_t qpci_dev_get_vendor_id(const struct qpci_dev *d);
uint16_t qpci_dev_get_device_id(const struct qpci_dev *d);
uint16_t qpci_dev_get_subsystem_vendor_id(const struct qpci_dev *d);
uint16_t qpci_dev_get_subsystem_device_id(const struct qpci_dev *d);
/* 24-bit class code: base class, subclass, programming interface. */
uint32_t qpci_dev_get_class(const struct qpci_dev *d);
uint8_t qpci_dev_get_revision(const struct qpci_dev *d);
uint8_t qpci_dev_get_header_type(const struct qpci_dev *d);
bool qpci_dev_is_bridge(const struct qpci_dev *d);
/* The bound driver, NULL when none. */
const char *qpci_dev_get_driver(const struct qpci_dev *d);
enum qpci_dev_state {
        QPCI_STATE_HOST,   /* a host driver has it */
        QPCI_STATE_HIDDEN, /* on a stub driver (vfio-pci, pciback, pci-stub): away from the host */
        QPCI_STATE_FREE,   /* no driver at all */
};
enum qpci_dev_state qpci_dev_get_state(const struct qpci_dev *d);
/* When qpci hid the device: the driver it had before ("" for none); NULL when qpci did not. */
const char *qpci_dev_get_hidden_from(const struct qpci_dev *d);
/* The IOMMU group number, -1 when the device has none. */
int qpci_dev_get_iommu_group(const struct qpci_dev *d);
/* The other devices of the same IOMMU group, in address order: how many, and a walk over them
 * (prev NULL gives the first; NULL after the last). A group can hold hundreds of functions. */
size_t qpci_dev_get_group_peer_count(const struct qpci_dev *d);
struct qpci_dev *qpci_dev_next_group_peer(const struct qpci_dev *d, const struct qpci_dev *prev);
#define QPCI_DEV_FOREACH_GROUP_PEER(p, d) \
        for (struct qpci_dev *p = qpci_dev_next_group_peer((d), NULL); p; p = qpci_dev_next_group_peer((d), p))
bool qpci_dev_is_multifunction(const struct qpci_dev *d);
/* The other functions of the same multi-function device, in address order, likewise. */
size_t qpci_dev_get_sibling_count(const struct qpci_dev *d);
struct qpci_dev *qpci_dev_next_sibling(const struct qpci_dev *d, const struct qpci_dev *prev);
#define QPCI_DEV_FOREACH_SIBLING(p, d) \
        for (struct qpci_dev *p = qpci_dev_next_sibling((d), NULL); p; p = qpci_dev_next_sibling((d), p))
/* The bridge above, NULL on a root bus (or when the parent is not a PCI function). */
struct qpci_dev *qpci_dev_get_parent(const struct qpci_dev *d);
bool qpci_dev_on_root_bus(const struct qpci_dev *d);
/* How many other functions share this function's bus. */
size_t qpci_dev_get_bus_peer_count(const struct qpci_dev *d);

enum qpci_pcie_type {
        QPCI_PCIE_NONE = -1, /* conventional PCI */
        QPCI_PCIE_ENDPOINT = 0,
        QPCI_PCIE_LEGACY_ENDPOINT = 1,
        QPCI_PCIE_ROOT_PORT = 4,
        QPCI_PCIE_UPSTREAM = 5,
        QPCI_PCIE_DOWNSTREAM = 6,
        QPCI_PCIE_PCI_BRIDGE = 7,
        QPCI_PCIE_PCIE_BRIDGE = 8,
        QPCI_PCIE_RC_ENDPOINT = 9,
        QPCI_PCIE_RC_EVENT = 10,
};
int qpci_dev_get_pcie_type(const struct qpci_dev *d);
bool qpci_dev_is_pcie(const struct qpci_dev *d);
const char *qpci_pcie_type_name(int type);

/* SR-IOV: the physical function of a VF (NULL for others); a PF's VF count. */
struct qpci_dev *qpci_dev_get_physfn(const struct qpci_dev *d);
bool qpci_dev_is_sriov_pf(const struct qpci_dev *d);
unsigned qpci_dev_get_total_vfs(const struct qpci_dev *d);
unsigned qpci_dev_get_num_vfs(const struct qpci_dev *d);

/* "pci:v00008086d00001E2Dsv...", as the kernel's modalias file says. */
const char *qpci_dev_get_modalias(struct qpci_dev *d);
/* The kernel module for the modalias (through libkmod): 0 and *ret NULL when none matches. */
int qpci_dev_get_module(struct qpci_dev *d, const char **ret);

/* Names from pci.ids (libpci) or the udev hwdb; NULL when the database has none. */
const char *qpci_dev_get_vendor_name(struct qpci_dev *d);
const char *qpci_dev_get_product_name(struct qpci_dev *d);
/* The class named without its programming interface, as Qubes does ("USB controller"). */
const char *qpci_dev_get_class_name(struct qpci_dev *d);
/* Qubes' "{class}: {vendor} {product}", "Unknown" where a name is missing. */
const char *qpci_dev_get_description(struct qpci_dev *d);

/* What on the host uses the function (mounted filesystems, swap, the default route's interface,
 * the console), as one phrase in *ret for the caller to free; 0 and NULL when nothing does;
 * -errno when qpci cannot tell, with what it could not read in *ret when that is why. */
int qpci_dev_get_host_dependents(struct qpci_dev *d, char **ret);

/* ---- reset ------------------------------------------------------------ */

/* The kernel's reset methods, in the kernel's order of preference. */
enum qpci_reset_method {
        QPCI_RESET_DEVICE_SPECIFIC = 1u << 0,
        QPCI_RESET_ACPI = 1u << 1,
        QPCI_RESET_FLR = 1u << 2,
        QPCI_RESET_AF_FLR = 1u << 3,
        QPCI_RESET_PM = 1u << 4,
        QPCI_RESET_BUS = 1u << 5,
        QPCI_RESET_CXL_BUS = 1u << 6,
};
#define QPCI_RESET_METHOD_COUNT 7
/* The kernel's name for one method ("flr", "af_flr", ...), NULL for anything else. */
const char *qpci_reset_method_name(unsigned method);

enum qpci_reset_source {
        QPCI_RESET_FROM_KERNEL,  /* the kernel's reset_method file, or its absence on a kernel that has it */
        QPCI_RESET_FROM_CONFIG,  /* derived from config space as the kernel would */
        QPCI_RESET_UNKNOWN,      /* neither: config space could not be read far enough */
};

unsigned qpci_dev_get_reset_methods(const struct qpci_dev *d);
enum qpci_reset_source qpci_dev_get_reset_source(const struct qpci_dev *d);
/* Qubes' strict reset: can the device be reset reliably between two VMs? */
bool qpci_dev_has_strict_reset(const struct qpci_dev *d);
/* One line a user understands, saying why, and what to do when it cannot. */
const char *qpci_dev_get_strict_reset_reason(struct qpci_dev *d);

/* What was odd about this device's sysfs entry ("\n"-separated), NULL when nothing. The library
 * does not log these as warnings: the front end decides where they go. */
const char *qpci_dev_get_warnings(const struct qpci_dev *d);

/* What xen-pciback says of a device: it is in its slots (pciback seizes it at any probe, whatever
 * driver it is on now), and in its permissive list. 0 where pciback is not loaded. */
enum {
        QPCI_PCIBACK_SLOT = 1 << 0,
        QPCI_PCIBACK_PERMISSIVE = 1 << 1,
};
unsigned qpci_dev_get_pciback(const struct qpci_dev *d);

/* ---- the host engine: taking devices from the host and giving them back ---- */

struct qpci_hide_options {
        const char *driver; /* "vfio-pci" or "pciback"; NULL: pciback on a Xen dom0, else vfio-pci */
        bool with_group;    /* VFIO: take the device's whole IOMMU group along */
        bool force;         /* even a device that backs a mount, swap, the default route or the console */
        bool persistent;    /* also across reboots: a udev rule in /etc/udev/rules.d/40-qpci-hide.rules */
};

bool qpci_host_is_xen_dom0(struct qpci_ctx *ctx);
const char *qpci_host_default_stub(struct qpci_ctx *ctx);
/* The driver a device is on right now (not the inventory's snapshot), "" when none. */
int qpci_host_current_driver(struct qpci_ctx *ctx, const char *bdf, char *buf, size_t size);
/*
 * Binds the devices to the stub driver, all or nothing. Waits for other qpci processes, and first
 * puts back whatever an interrupted command left half-moved. On failure every device is back on
 * the driver it had, and the reason was logged.
 */
int qpci_host_hide(struct qpci_inventory *inv, struct qpci_dev *const *devs, size_t n,
                   const struct qpci_hide_options *o);
/* Gives hidden devices back to host drivers, all or nothing, as qpci_host_hide(). */
int qpci_host_unhide(struct qpci_inventory *inv, struct qpci_dev *const *devs, size_t n);
/* Resets the function through the kernel; *used is the method that did it (one QPCI_RESET_* bit,
 * 0 when an older kernel does not say). -ENOTTY when the kernel has no method for it. */
int qpci_host_reset(struct qpci_dev *d, unsigned *used);
/* xen-pciback's permissive mode (config-space writes unfiltered) for a device on pciback; with
 * persistent, again whenever pciback takes it at a later boot (until it is unhidden). */
int qpci_host_set_permissive(struct qpci_dev *d, bool persistent);
/* Ends pciback's permissive mode for a device on pciback (it has no switch for that: the device
 * is unbound and bound again), so that the next VM does not inherit it; with persistent, at later
 * boots too. */
int qpci_host_clear_permissive(struct qpci_dev *d, bool persistent);
/* Puts back what an interrupted command left half-moved, if anything (then under the lock);
 * front ends call it before a command that changes devices or VMs. -EBUSY (said) when a device
 * cannot be put back: qpci_host_recover_by_hand() ends that move. */
int qpci_host_recover(struct qpci_ctx *ctx);
/* The same for a command that only reads: it never waits for another command, and a move it
 * cannot put back is a warning (what is shown is then as sysfs has it), not a failure. */
int qpci_host_recover_reading(struct qpci_ctx *ctx);

enum qpci_recovered_state {
        QPCI_RECOVERED_BACK,  /* on the driver it had before the interrupted command */
        QPCI_RECOVERED_STUCK, /* qpci could not put it back: it stays in the journal */
        QPCI_RECOVERED_GONE,  /* not on the host any more (unplugged): nothing to put back */
        QPCI_RECOVERED_LEFT,  /* forgotten as asked: left on the driver it is on */
};

struct qpci_recovered {
        char bdf[QPCI_BDF_MAX];
        char was[256];        /* the driver before the interrupted command, "" for none */
        char now[256];        /* the driver it is on now, "" for none */
        enum qpci_recovered_state state;
};

/* Ends an interrupted move by hand: puts back each device of the journal that it can, and leaves
 * those named in forget (any id form) as they are, as it does devices that are gone; *ret (free
 * it) says where each one is left. 0 when the move is ended, -EBUSY when a device is still stuck
 * (it stays in the journal for the next try), -ENOENT for a forget not in the move (logged). With
 * no interrupted move, 0 and no device. */
int qpci_host_recover_by_hand(struct qpci_ctx *ctx, const char *const *forget, size_t n_forget,
                              struct qpci_recovered **ret, size_t *n_ret);

/* ---- USB: which PCI controller a USB device hangs off ------------------- */

struct qpci_usb_device {
        int busnum;
        int devnum;
        char *port;          /* "3-1.2"; "usb3" for the root hub */
        uint16_t vendor_id;
        uint16_t product_id;
        uint8_t device_class; /* 0x09: a hub */
        char *manufacturer;  /* what the device itself says, NULL when it says nothing */
        char *product;
        char *name;          /* the best name: hwdb "vendor product", else the device's strings */
};

struct qpci_usb_bus {
        int busnum;
        char *version;        /* "2.00", "3.00", NULL when unknown */
        char *controller;     /* the PCI function's BDF, NULL when not on PCI */
        char *controller_path; /* the sysfs device the root hub sits on, relative to /sys/devices */
        size_t n_devices;
        struct qpci_usb_device *devices; /* root hub first, then by port */
};

int qpci_usb_new(struct qpci_ctx *ctx, struct qpci_usb **ret);
struct qpci_usb *qpci_usb_ref(struct qpci_usb *usb);
struct qpci_usb *qpci_usb_unref(struct qpci_usb *usb);
size_t qpci_usb_bus_count(const struct qpci_usb *usb);
/* Buses sorted by controller then bus number. */
const struct qpci_usb_bus *qpci_usb_get_bus(const struct qpci_usb *usb, size_t i);

/*
 * What a user asks about: a bus number ("3", "003", "usb3"), a "VID:PID", a port ("3-1.2"),
 * or a pasted lsusb line ("Bus 003 Device 003: ID 413c:818d Dell Computer Corp.").
 */
struct qpci_usb_query {
        int busnum;    /* -1: any */
        int devnum;    /* -1: any */
        int vendor_id; /* -1: any */
        int product_id;
        char *port;    /* NULL: any */
};
int qpci_usb_query_parse(const char *s, struct qpci_usb_query *ret, const char **why);
void qpci_usb_query_done(struct qpci_usb_query *q);
bool qpci_usb_query_matches(const struct qpci_usb_query *q, const struct qpci_usb_device *dev);

/* ---- monitor: changes as they happen ------------------------------------- */

/* One change; strings live during the callback only. */
struct qpci_change {
        /* "ready" (first: every source is watched, so a change made after it is seen),
         * "device-added", "device-removed", "device-bound", "device-unbound" (a host driver or a
         * stub: hidden says which), "qpci" (a qpci command that changes devices or VMs ended),
         * "vm-defined", "vm-undefined", "vm-started", "vm-stopped", "vm-paused", "vm-resumed",
         * "vm-changed" (its definition or qpci's metadata, where assignments live),
         * "vm-device-added", "vm-device-removed" */
        const char *type;
        const char *bdf;     /* device-*: the function ("0000:00:1a.0") */
        const char *driver;  /* device-bound: the driver now */
        bool hidden;         /* device-bound: a stub driver (vfio-pci, pciback) has it */
        const char *vm;      /* vm-*: the VM's name */
        const char *detail;  /* qpci: the command, "pid 1234: qvm-pci hide dom0:00_1a.0"; vm-*: libvirt's
                              * detail ("booted", "shutdown", the device's alias), NULL when none */
};
typedef void (*qpci_change_fn)(const struct qpci_change *c, void *data);
struct qpci_monitor;
/*
 * Watches, without polling: udev (devices added, removed, bound and unbound; the real host only),
 * qpci's own state folder (a command that changed something, seen under QPCI_ROOT too, and the
 * driver links of a fixture tree), and, when uri is not "" and VM support is there, libvirt's
 * events (NULL: the default connection). A source that cannot be watched is said (a warning) and
 * left out.
 */
int qpci_monitor_new(struct qpci_ctx *ctx, const char *uri, qpci_change_fn fn, void *data,
                     struct qpci_monitor **ret);
/* Reports changes through fn until stop_fd (-1: none) becomes readable or qpci_monitor_stop(). */
int qpci_monitor_run(struct qpci_monitor *m, int stop_fd);
/* From fn too (a reader that went away). */
void qpci_monitor_stop(struct qpci_monitor *m);
struct qpci_monitor *qpci_monitor_free(struct qpci_monitor *m);

/* ---- VMs: libvirt domains, with PCI devices assigned the way Qubes does ---- */

struct qpci_virt; /* a connection to libvirt */
struct qpci_vm;   /* a domain; owned by its connection */

enum {
        QPCI_VIRT_OPTIONAL = 1 << 0, /* the caller goes on without VMs: a failure is only info */
        /* The caller shows or gives this host's devices with the VMs: a connection to another
         * host's libvirt is refused (-EREMOTE), since its VMs can have only that host's devices. */
        QPCI_VIRT_HOST_DEVICES = 1 << 1,
};
/* Connects to uri, or NULL for LIBVIRT_DEFAULT_URI, else xen:///system on a Xen dom0 and
 * qemu:///system elsewhere. The reason is logged when no daemon answers. */
int qpci_virt_open(struct qpci_ctx *ctx, const char *uri, unsigned flags, struct qpci_virt **ret);
struct qpci_virt *qpci_virt_unref(struct qpci_virt *v);
const char *qpci_virt_get_uri(const struct qpci_virt *v);
/* Every defined or running domain, sorted by name. */
int qpci_virt_get_vms(struct qpci_virt *v, struct qpci_vm *const **vms, size_t *n);
/* -ENOENT (logged) when there is no such VM. */
int qpci_virt_find_vm(struct qpci_virt *v, const char *name, struct qpci_vm **ret);

struct qpci_vm_config {
        const char *name;
        const char *kernel, *initrd, *kernelopts; /* booted directly, so kernelopts apply */
        unsigned memory_mib;                      /* 0: 400 */
        unsigned vcpus;                           /* 0: 1 */
        const char *virt_type;                    /* "kvm", "qemu", "xen"; NULL: what the host offers */
};
int qpci_virt_create_vm(struct qpci_virt *v, const struct qpci_vm_config *c, struct qpci_vm **ret);

enum qpci_vm_state {
        QPCI_VM_HALTED,
        QPCI_VM_RUNNING,
        QPCI_VM_PAUSED,
        QPCI_VM_TRANSIENT, /* starting, stopping, crashed: neither halted nor usable */
};
const char *qpci_vm_get_name(const struct qpci_vm *vm);
enum qpci_vm_state qpci_vm_get_state(const struct qpci_vm *vm);
/* Qubes' words: "Halted", "Running", "Paused", "Transient". */
const char *qpci_vm_state_name(enum qpci_vm_state s);
unsigned long qpci_vm_get_memory_mib(struct qpci_vm *vm);

/* qvm-prefs: kernel, initrd, kernelopts, memory, maxmem, vcpus, pci_strictreset. */
const char *const *qpci_vm_pref_names(void);
/* *value is the caller's; -ENOENT for an unknown preference. */
int qpci_vm_get_pref(struct qpci_vm *vm, const char *name, char **value, bool *is_default);
/* value NULL: back to the default. -ENOENT unknown, -EINVAL bad value (both logged, with what
 * is expected). Changes the definition: a running VM sees them at its next start. */
int qpci_vm_set_pref(struct qpci_vm *vm, const char *name, const char *value);

/* A device's path from its root bus: each bridge above it takes a bus number of its own, so at
 * most 256 bridges and the device. Sized for that, a path is never cut, so it is compared whole. */
#define QPCI_PATH_MAX (257 * QPCI_BDF_MAX)
/* A device id as qpci records it: "0x8086:0x10d3::p020000", with room to spare. */
#define QPCI_DEVID_MAX 64

/* One PCI device assigned to a VM. */
struct qpci_assignment {
        struct qpci_addr addr;
        char bdf[QPCI_BDF_MAX];
        uint16_t vendor_id, device_id; /* from devid; 0 when it names no one vendor:device ("*") */
        /* Qubes R4.3's identity: the port, a PCI path ("00_1c.0-00_00.0"; "*": the device wherever it
         * is; "": not recorded, the device at addr), and the device id that must be there
         * ("0x8086:0x10d3::p020000"; "*": whatever is at the port; "": unreadable, never matches). */
        char path[QPCI_PATH_MAX];
        char devid[QPCI_DEVID_MAX];
        bool no_strict_reset;
        bool permissive;
        bool persistent; /* in the definition: the VM gets it at every start */
        bool live;       /* attached to the running VM now */
        bool via_libxl;  /* given to the running Xen domain by libxl, not libvirt (which would refuse a
                            device it cannot reset) */
};
/* The device an assignment names on the host now: the one at its port (or, none recorded, at its
 * address), or, port "*", the one its device id names wherever it is. -ENODEV when there is none,
 * -ENOTUNIQ when a device id alone names several (*ret is then the first). Whether the device at
 * the port is the one its device id names is not checked here. */
int qpci_assignment_find(const struct qpci_inventory *inv, const struct qpci_assignment *a, struct qpci_dev **ret);
/* Which assignments a user's device string names, as Qubes R4.3's unassign takes it: PORT, only
 * one to the port alone (device id "*", assign --port); DEVICE, only one to the device id alone
 * (port "*", assign --device, or a string "dom0:*:DEVID"); ANY, one at that port (its PCI path,
 * or a BDF) and one to the device id of the device there now. d: the device at the string's
 * port, NULL when the host has none there. */
enum qpci_match { QPCI_MATCH_ANY, QPCI_MATCH_PORT, QPCI_MATCH_DEVICE };
bool qpci_assignment_matches(const struct qpci_assignment *a, const struct qpci_device_spec *spec,
                             const struct qpci_dev *d, enum qpci_match how);
/* The persistent assignments and the live ones, merged by address. *ret is the caller's. */
int qpci_vm_get_assignments(struct qpci_vm *vm, struct qpci_assignment **ret, size_t *n);

struct qpci_attach_options {
        bool persistent;
        bool no_strict_reset;
        bool permissive;
        /* Qubes R4.3's assign --port: whatever device is at the port at each start (device id "*");
         * --device: this device wherever it is then (port "*"). Neither: this device at this port. */
        bool only_port;
        bool only_device;
};
/* Assigns a device; to a running VM it is hidden from the host (the engine) and hot-plugged, to
 * a halted one only with persistent. Every rule is checked first; a refusal says why (logged). */
int qpci_vm_attach(struct qpci_vm *vm, struct qpci_inventory *inv, struct qpci_dev *d,
                   const struct qpci_attach_options *o);
/* addr NULL: every PCI device of the VM. The devices stay hidden from the host. */
int qpci_vm_detach(struct qpci_vm *vm, struct qpci_inventory *inv, const struct qpci_addr *addr);
/* Removes the VM's persistent assignment of addr (NULL: all of them) from its definition, whether
 * the device is on the host or not; a device attached to the running VM stays until it is detached
 * or the VM stops. -ENOENT when addr is not assigned to it. */
int qpci_vm_unassign(struct qpci_vm *vm, struct qpci_inventory *inv, const struct qpci_addr *addr);
/* Checks every rule for the VM's devices, hides them (all or nothing) and starts it. */
int qpci_vm_start(struct qpci_vm *vm, struct qpci_inventory *inv);
/* The rules alone: what qpci_vm_start() would refuse, without moving anything. */
int qpci_vm_check(struct qpci_vm *vm, struct qpci_inventory *inv);
/* What the rules say of one device, for showing before acting. */
struct qpci_finding {
        char bdf[QPCI_BDF_MAX];   /* the device it is about */
        const char *code;         /* as struct qpci_error's; "goes-along" and "assigned-elsewhere" too */
        char *error, *reason, *fix; /* as struct qpci_error's (reason and fix may be NULL) */
        bool refusal;             /* the rules refuse the set as it is; false: something to know */
        char other[QPCI_BDF_MAX]; /* "goes-along": the device that must go with it; else "" */
        char *vm;                 /* "assigned-elsewhere", "in-use": the other VM; else NULL */
        bool vm_running;
};
/*
 * The rules' verdict on vm having its devices and those of devs (with o's options), without changing
 * anything: every finding (not only the first refusal), in the order of the devices. A device that
 * must go along (another function of a device whose reset is strict, the rest of an IOMMU group) is
 * a "goes-along" finding; another VM that has a device assigned, running or not, an
 * "assigned-elsewhere" one. *ret (qpci_findings_free()) may be empty: nothing to say.
 */
int qpci_vm_verdict(struct qpci_vm *vm, struct qpci_inventory *inv, struct qpci_dev *const *devs, size_t n,
                    const struct qpci_attach_options *o, struct qpci_finding **ret, size_t *n_ret);
void qpci_findings_free(struct qpci_finding *f, size_t n);

/* Asks the guest to shut down; wait: until it is halted (timeout_s, 0: 60), force: power off. */
int qpci_vm_shutdown(struct qpci_vm *vm, bool wait, bool force, unsigned timeout_s);
/* Undefines a halted VM. */
int qpci_vm_remove(struct qpci_vm *vm);

/* libvirt's hook for driver ("qemu", "libxl"), with the arguments and the domain XML libvirt
 * gives it: at "prepare begin" the VM's devices pass the rules and are hidden (what qvm-start
 * does), so VMs started from virsh or virt-manager are held to them too; other operations: 0. */
int qpci_virt_hook(struct qpci_ctx *ctx, const char *driver, const char *op, const char *subop, const char *xml);

#ifdef __cplusplus
}
#endif
