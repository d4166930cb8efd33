/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libqpci's private header: struct bodies and cross-file prototypes, grouped by source file. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"
#include "qpci.h"

#define QPCI_EXPORT __attribute__((visibility("default")))
/* An internal function that qpci's VM module calls across the library boundary: exported in the
 * LIBQPCI_PRIVATE node of libqpci.sym, which is not an API (only the module of the same build). */
#define QPCI_PRIVATE __attribute__((visibility("default")))

/* ---- ctx.c ---- */

struct pci_access;
struct kmod_ctx;
struct udev;
struct udev_hwdb;
struct qpci_name;
struct sqlite3;

struct qpci_ctx {
        int refcount;
        char *root;          /* "/" or a fixture directory, without trailing slash unless "/" */
        int root_fd;         /* O_PATH descriptor of root: every host path is opened relative to it */
        qpci_log_fn log_fn;
        void *log_data;
        int log_priority;
        char *pci_ids;       /* override of the system's pci.ids, NULL for the default */
        bool use_hwdb;
        /* Opened on first use, freed with the context (libpci's lazy name list, as in lspci). */
        struct pci_access *pacc;
        bool pacc_failed;    /* libpci could not be loaded: no names */
        struct qpci_name *names;        /* the shared name table of names.c */
        size_t n_names, n_names_cap;
        struct kmod_ctx *kmod;
        bool kmod_failed;
        struct udev *udev;
        struct udev_hwdb *hwdb;
        bool hwdb_failed;
        char *osrelease;     /* the kernel release of the (rooted) host, "" when unknown */
        /* state.c: the database, open with lock_fd locked while state_refs > 0: a command's window,
         * and whatever it calls inside shares it (nested opens count, the last close releases). */
        struct sqlite3 *db;
        int state_refs;
        bool state_warned;            /* a problem with the state was said once already */
        unsigned lock_timeout_ms;     /* how long a command waits for another's lock */
        unsigned vm_lock_timeout_ms;  /* and for another's VM start or hot-plug */
        /* Every sysfs write goes through this when set: the unit tests' model of the driver core. */
        int (*write_hook)(void *data, int dirfd, const char *name, const char *value);
        void *write_hook_data;
        int lock_fd;
        /* error.c: the first failure since qpci_clear_error(); its strings live in error_text. */
        struct qpci_error error;
        char *error_text;
};

_printf_(3, 4) QPCI_PRIVATE void qpci_log(struct qpci_ctx *ctx, int priority, const char *fmt, ...);
void qpci_log_va(struct qpci_ctx *ctx, int priority, const char *fmt, va_list ap);
#define log_err(ctx, ...) qpci_log((ctx), QPCI_LOG_ERR, __VA_ARGS__)
#define log_warn(ctx, ...) qpci_log((ctx), QPCI_LOG_WARNING, __VA_ARGS__)
#define log_info(ctx, ...) qpci_log((ctx), QPCI_LOG_INFO, __VA_ARGS__)
#define log_dbg(ctx, ...) qpci_log((ctx), QPCI_LOG_DEBUG, __VA_ARGS__)
/* Logs the reason and evaluates to r, so a failure is reported where it is understood. r is taken
 * before logging: callers pass -errno, which a log function (stdio, syslog) may change. */
#define log_error_errno(ctx, r, ...) qpci_log_errno((ctx), (r), __VA_ARGS__)

/* ---- error.c: the failure a context carries ---- */

/* Logs the failure, records it as the context's error (its code from r) unless one is there, and
 * returns r. */
_printf_(3, 4) QPCI_PRIVATE int qpci_log_errno(struct qpci_ctx *ctx, int r, const char *fmt, ...);
void qpci_error_record(struct qpci_ctx *ctx, int r, const char *fmt, va_list ap);
/* A malloc'd string, NULL for a NULL format or when memory runs out. */
_printf_(1, 2) QPCI_PRIVATE char *qpci_strf(const char *fmt, ...);
/* A refusal whose parts the caller knows apart: what is refused, why (NULL: no reason given), what
 * to do (NULL: nothing to do); takes them (malloc'd; what NULL means memory ran out). Logs one line,
 * "WHAT: WHY; FIX" with sep_why and sep_fix in place of ": " and "; " (sep_fix NULL: the line's WHY
 * says what to do already, and FIX is for the recorded error only), records it with code, returns r. */
QPCI_PRIVATE int qpci_refuse(struct qpci_ctx *ctx, int r, const char *code, const char *sep_why, const char *sep_fix,
                             char *what, char *why, char *fix);
/* Each part a parenthesized printf argument list, ("dom0:%s is ...", ident), or (NULL). */
#define log_refusal(ctx, r, code, what, why, fix) \
        qpci_refuse((ctx), (r), (code), ": ", "; ", qpci_strf what, qpci_strf why, qpci_strf fix)

/* What to put before an absolute host path ("" for the real root) where a library or realpath()
 * opens the path itself instead of going through the root descriptor. */
const char *qpci_root_prefix(const struct qpci_ctx *ctx);

/* The running (or rooted) kernel's release, "" when unknown. */
const char *qpci_ctx_osrelease(struct qpci_ctx *ctx);

/* ---- sysfs.c: rooted file access ---- */

static inline int qpci_hex_digit(int c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Opens a host path ("/sys/bus/pci/devices") below the context's root. */
QPCI_PRIVATE int qpci_open_root(struct qpci_ctx *ctx, const char *path, int flags);
/* What a kernel attribute that is not a regular file gives (a FIFO, a device node): -QPCI_ENOTREG. */
#define QPCI_ENOTREG EBADFD
/* Opens an attribute relative to dirfd without blocking (flags: O_RDONLY or O_WRONLY); a fd, or
 * -errno, -EISDIR, -QPCI_ENOTREG when it is not a regular file. */
int qpci_open_attr(int dirfd, const char *name, int flags);
/* strerror() that names -QPCI_ENOTREG and -EFBIG in words. */
const char *qpci_attr_strerror(int r);
/* Reads a small attribute file relative to dirfd into buf (NUL-terminated); returns its length or
 * -errno, -EFBIG when it does not fit in buf (never a cut value). */
ssize_t qpci_read_attr(int dirfd, const char *name, char *buf, size_t size);
/* The attribute with its trailing newline removed. */
ssize_t qpci_read_line(int dirfd, const char *name, char *buf, size_t size);
/* Parses "0x8086\n"-style attributes. */
int qpci_read_hex(int dirfd, const char *name, unsigned long max, unsigned long *ret);
QPCI_PRIVATE int qpci_parse_hex(const char *s, unsigned long max, unsigned long *ret);
/* A decimal attribute ("6\n", as secondary_bus_number is). */
int qpci_parse_dec(const char *s, unsigned long max, unsigned long *ret);
/* The last component of a symlink's target (a driver's or group's name), -errno when not a link. */
int qpci_readlink_basename(int dirfd, const char *name, char *buf, size_t size);
/* Returns the component before the last one of a path ("a/b/c" -> "b"), in buf. */
int qpci_path_parent_component(const char *path, char *buf, size_t size);
/* Reads a whole binary file up to size bytes; returns the length or -errno. */
ssize_t qpci_read_binary(int dirfd, const char *name, uint8_t *buf, size_t size);

/*
 * Descriptors that a scan of thousands of attribute files closes together, with one close_range()
 * where their numbers run without a gap (the kernel hands out the lowest free number, so one
 * reader's usually do): a system call saved per file read. Few at a time, so that the limit on open
 * files is never near; a descriptor given to it must not be used again.
 */
struct qpci_fd_batch {
        int fds[64];
        size_t n;
};
/* Closes fd now (b NULL) or with the batch. */
void qpci_fd_batch_close(struct qpci_fd_batch *b, int fd);
void qpci_fd_batch_flush(struct qpci_fd_batch *b);
/* qpci_read_attr(), qpci_read_line() and qpci_read_binary(), closing through batch b. */
ssize_t qpci_scan_read_attr(struct qpci_fd_batch *b, int dirfd, const char *name, char *buf, size_t size);
ssize_t qpci_scan_read_line(struct qpci_fd_batch *b, int dirfd, const char *name, char *buf, size_t size);
ssize_t qpci_scan_read_binary(struct qpci_fd_batch *b, int dirfd, const char *name, uint8_t *buf, size_t size);

/* ---- config.c: config space as data ---- */

struct qpci_config {
        size_t len;             /* how many bytes were readable */
        bool header_ok;         /* at least the 64-byte header */
        uint16_t vendor_id, device_id, subsys_vendor_id, subsys_device_id;
        uint32_t class_code;
        uint8_t revision;
        uint8_t header_type;    /* with the multi-function bit 7 */
        bool header_known;      /* a type the kernel accepts (0, 1, 2); it never lists a function with another */
        bool subsys_ok;         /* subsys_*_id were found where this header type keeps them */
        uint8_t secondary_bus, subordinate_bus; /* bridge and CardBus headers */
        bool caps_complete;     /* the capability list was walked to its end inside the buffer */
        bool caps_looped;       /* ...and it pointed back into itself */
        uint8_t pm_pos, pcie_pos, af_pos;
        bool pm_no_soft_reset;  /* PMCSR NoSoftRst */
        int pcie_type;          /* QPCI_PCIE_NONE when there is no PCI Express capability */
        bool pcie_flr;          /* DevCap: function-level reset */
        bool af_tp, af_flr;     /* Advanced Features: transaction pending and FLR */
};
/* Parses a config-space image; never reads past len. Pure: the fuzzer's target. */
void qpci_config_parse(const uint8_t *buf, size_t len, struct qpci_config *ret);
/* 1 for a bridge or CardBus header (the kernel's pci_is_bridge(): a bus behind it), 0 for a
 * device header, -1 when config space does not say (too short, or a type the kernel refuses). */
int qpci_config_is_bridge(const struct qpci_config *c);

/* ---- addr.c ---- */

/* Parses "SSSS:BB:DD.F" strictly, as sysfs names functions. */
QPCI_PRIVATE int qpci_addr_parse_sysfs(const char *s, struct qpci_addr *ret);

/* ---- reset.c ---- */

/* Parses the kernel's reset_method file content into method bits; unknown names are skipped. */
unsigned qpci_reset_parse_methods(const char *s);
/* What the kernel would offer, from config space and the device's place in the topology. */
unsigned qpci_reset_derive(const struct qpci_dev *d);
/* Fills the device's reset methods and source (called by the inventory once relations are known). */
void qpci_dev_resolve_reset(struct qpci_dev *d);
/* "CardBus bridge" or "PCI bridge", as the header type says. */
const char *qpci_dev_bridge_kind(const struct qpci_dev *d);
/* Whether a kernel release ("6.1.0-13-amd64") has the reset_method attribute (5.15 and later). */
bool qpci_kernel_has_reset_method(const char *release);

/* ---- dlib.c: system libraries loaded on first use ---- */

struct qpci_dlsym {
        const char *name;
        void **fn;
};
#define QPCI_DLSYM(f) {#f, (void **)&sym_##f}
/* A library and the functions taken from it; .result starts at 1 (not tried). */
struct qpci_dlib {
        const char *soname;
        const struct qpci_dlsym *syms;
        size_t n;
        int result;
        char why[256]; /* when it failed: dlerror()'s words, or the function missing */
};
/* Loads it on the first call, for the whole process: 0, or -ENOPKG with .why said. */
int qpci_dlib_open(struct qpci_dlib *l);

/* ---- names.c ---- */

/* Looks up a name in pci.ids / hwdb; NULL when unknown. Names belong to the context and live
 * as long as it does. */
const char *qpci_names_vendor(struct qpci_ctx *ctx, uint16_t vendor);
const char *qpci_names_device(struct qpci_ctx *ctx, uint16_t vendor, uint16_t device);
const char *qpci_names_class(struct qpci_ctx *ctx, uint32_t class_code);
/* Qubes' "{class}: {vendor} {product}", "Unknown" where a name is missing. */
const char *qpci_names_description(struct qpci_ctx *ctx, uint32_t class_code, uint16_t vendor, uint16_t device);
/* "vendor product" for a USB device from the udev hwdb; NULL when unknown. */
char *qpci_names_usb(struct qpci_ctx *ctx, uint16_t vendor, uint16_t product);
void qpci_names_free(struct qpci_ctx *ctx);

/* ---- modules.c ---- */

int qpci_modules_lookup(struct qpci_ctx *ctx, const char *modalias, char **ret);
/* Loads a module by name or alias, with its dependencies (the real host only: callers check). */
int qpci_modules_load(struct qpci_ctx *ctx, const char *name);
void qpci_modules_free(struct qpci_ctx *ctx);

/* ---- inventory.c ---- */

struct qpci_dev {
        struct qpci_inventory *inv;     /* the owner (not a reference) */
        struct qpci_addr addr;
        char bdf[QPCI_BDF_MAX];
        char ident[QPCI_IDENT_MAX];
        uint16_t vendor_id, device_id, subsys_vendor_id, subsys_device_id;
        uint32_t class_code;
        uint8_t revision;
        uint8_t header_type;
        bool bridge;
        bool multifunction;
        bool root_bus;
        bool sriov_pf;
        int iommu_group;
        int pcie_type;
        unsigned total_vfs, num_vfs;
        char *driver;
        char *parent_bdf;               /* from the sysfs path; resolved into parent */
        char *physfn_bdf;
        struct qpci_dev *parent;
        struct qpci_dev *physfn;
        int secondary_bus;              /* a bridge's, -1 when not one or unknown */
        char *path;                     /* Qubes R4.3's PCI path, its port id */
        char devid[32];                 /* Qubes R4.3's device id, "0x8086:0x10d3::p020000" */
        struct qpci_config config;
        char *kernel_reset_methods;     /* the reset_method file, NULL when absent */
        bool has_reset_file;
        unsigned reset_methods;
        bool kernel_can_reset;          /* reset_method lists something, or an old kernel has `reset` */
        enum qpci_reset_source reset_source;
        size_t bus_peers;
        size_t bus_before;              /* functions (VFs aside) at lower addresses on its bus: scanned first */
        size_t slot_first, slot_count;  /* this slot's run in inv->devs */
        size_t group_first, group_count; /* this group's run in inv->by_group */
        size_t group_pos;               /* its own place in inv->by_group */
        char modalias[80];
        /* Filled on first use; names are the context's, shared by identical devices. */
        const char *vendor_name, *product_name, *class_name, *description;
        char *reset_reason, *module;
        bool names_done, module_done;
        char *warnings;
        char *hidden_from;              /* qpci hid it and it was on this driver ("" none); NULL otherwise */
        /* config read (or tried); everything config space decides filled: header_type, pcie_type,
         * revision, bridge, secondary_bus, and once relations are known multifunction and reset. An
         * on-demand inventory fills them on first use, through qpci_dev_need_config(). */
        bool config_read, config_done;
        bool mf_from_header;            /* alone in its slot: multifunction is its own header's bit */
};

struct qpci_inventory {
        int refcount;
        struct qpci_ctx *ctx;
        size_t n;
        struct qpci_dev *devs;          /* sorted by address */
        struct qpci_dev **by_group;     /* devices with an IOMMU group, sorted by group then address */
        size_t n_grouped;
        bool hidden_loaded;             /* state.c has marked what qpci hid (on first use) */
        bool on_demand;                 /* config space read on first use (QPCI_INVENTORY_ON_DEMAND) */
        int devices_fd;                 /* sys/bus/pci/devices, kept to read it then; -1 otherwise */
        bool linked;                    /* relations known: a reset can be resolved */
        bool pciback_loaded;            /* pciback's lists below were read (on first use) */
        char *pciback_slots, *pciback_permissive; /* its "slots" and "permissive" files, NULL: none */
};

/* Fills what config space decides of d, once; every reader of those fields calls it first. */
void qpci_dev_need_config(const struct qpci_dev *d);

/* Appends a warning to the device and logs it. */
_printf_(2, 3) void qpci_dev_warn(struct qpci_dev *d, const char *fmt, ...);

/* ---- bind.c: one function between drivers ---- */

/* Whether pciback lists the device as permissive now (not the inventory's snapshot). */
bool qpci_pciback_is_permissive(struct qpci_ctx *ctx, const char *bdf);

/* The drivers that hold a device away from the host for a VM. */
QPCI_PRIVATE bool qpci_driver_is_stub(const char *driver);
int qpci_write_attr(struct qpci_ctx *ctx, int dirfd, const char *name, const char *value);
/* An O_PATH descriptor of /sys/bus/pci/devices/BDF. */
int qpci_dev_open_sysfs(struct qpci_ctx *ctx, const char *bdf);
/* The bound driver's name, "" when none. */
int qpci_current_driver(int devfd, char *buf, size_t size);
/* driver_override, "" when unset ("(null)" in sysfs). */
int qpci_read_override(int devfd, char *buf, size_t size);
int qpci_set_override(struct qpci_ctx *ctx, int devfd, const char *driver);
int qpci_unbind(struct qpci_ctx *ctx, const char *bdf, const char *driver);
int qpci_bind(struct qpci_ctx *ctx, const char *bdf, const char *driver);
int qpci_drivers_probe(struct qpci_ctx *ctx, const char *bdf);

/* ---- state.c: host state and the intent journal ---- */

/* Takes the state lock (waiting for another command at most the context's lock timeout, saying
 * for whom) and opens the database; nests: each open needs its close. */
QPCI_PRIVATE int qpci_state_open(struct qpci_ctx *ctx);
/* The same without waiting: -EWOULDBLOCK, unsaid, when another command holds the lock. */
int qpci_state_try_open(struct qpci_ctx *ctx);
/* qpci's state folder (made when missing), where "lock" and "vms.lock" name their holders while
 * a command runs: a descriptor to close, or -errno. */
int qpci_state_dir_open(struct qpci_ctx *ctx);
/* Who holds the lock, as it wrote itself beside it ("pid 1234: qvm-pci hide 03:00.0"). */
void qpci_state_holder(struct qpci_ctx *ctx, char *buf, size_t size);
QPCI_PRIVATE void qpci_state_close(struct qpci_ctx *ctx);
static inline void qpci_state_closep(struct qpci_ctx **ctx) {
        if (*ctx)
                qpci_state_close(*ctx);
}
/* Whatever the nesting (the context's end). */
void qpci_state_close_all(struct qpci_ctx *ctx);
/* A reader found the database damaged (SQLite's code): set aside at once when no command holds the
 * lock, else said once. */
void qpci_state_damaged(struct qpci_ctx *ctx, int code);
/* Serializes what gives devices to VMs (a start, a hot-plug), from the rules to the hypervisor's
 * answer, so two starts of VMs sharing a device cannot both pass the rules: a descriptor to close. */
QPCI_PRIVATE int qpci_state_lock_vms(struct qpci_ctx *ctx);
int qpci_state_begin(struct qpci_ctx *ctx);
int qpci_state_commit(struct qpci_ctx *ctx);
void qpci_state_rollback(struct qpci_ctx *ctx);
int qpci_journal_add(struct qpci_ctx *ctx, const char *op, const char *bdf, const char *from_driver,
                     const char *from_override);
int qpci_journal_clear(struct qpci_ctx *ctx);
/* Drops one device's entries: its move is ended by hand, the device left as it is. */
int qpci_journal_forget(struct qpci_ctx *ctx, const char *bdf);
/* Newest entry first; stops at nothing, returns the first failure. An entry that does not say
 * where its device was is skipped (and said). */
int qpci_journal_foreach(struct qpci_ctx *ctx,
                         int (*fn)(struct qpci_ctx *ctx, const char *op, const char *bdf, const char *from_driver,
                                   const char *from_override, void *data),
                         void *data);
int qpci_state_record_hidden(struct qpci_ctx *ctx, const char *bdf, uint16_t vendor, uint16_t device,
                             const char *host_driver, const char *stub, bool bound_by_qpci, bool persistent);
/* Keeps (keep) or forgets a device's pciback permissive mode at every boot: the record and the
 * rule file, under the lock, opened and closed here. */
int qpci_state_permissive_at_boot(struct qpci_ctx *ctx, const char *bdf, uint16_t vendor, uint16_t device, bool keep);
/* Rewrites the udev rule file of persistently hidden and permissive devices; returns how many
 * rules it holds. */
int qpci_state_write_rules(struct qpci_ctx *ctx);
/* Drops a device's records; 1 when one of them gave it a boot-time rule, 0 when none did. */
int qpci_state_forget(struct qpci_ctx *ctx, const char *bdf);
/* 1 and the driver qpci took this very device (same ids) from, 0 when there is no record. */
int qpci_state_host_driver(struct qpci_ctx *ctx, const char *bdf, uint16_t vendor, uint16_t device, char *buf,
                           size_t size);
/* A VM used the device without a reliable reset: it may have left it in any state (takes the lock). */
QPCI_PRIVATE int qpci_state_mark_tainted(struct qpci_ctx *ctx, const char *bdf, uint16_t vendor, uint16_t device,
                                         const char *vm);
/* 1 and the VM that last used this very device without a reliable reset in *ret (to free), 0 and
 * NULL when none (read-only). */
QPCI_PRIVATE int qpci_state_tainted_by(struct qpci_ctx *ctx, const char *bdf, uint16_t vendor, uint16_t device,
                                       char **ret);
/* Whether an interrupted command left moves in the journal (read-only, no lock). */
bool qpci_state_journal_pending(struct qpci_ctx *ctx);
/* Each device qpci hid, with the driver it had ("" for none), read without the lock; records that
 * do not say all of it are skipped (and said). 0, or -EIO when the state could not be read whole
 * (said). */
int qpci_state_foreach_hidden(struct qpci_ctx *ctx,
                              void (*fn)(const char *bdf, uint16_t vendor, uint16_t device, const char *host_driver,
                                         void *data),
                              void *data);

/* ---- virt-load.c, virt-watch.c ---- */

/* libvirt's domain events as changes, through fn, until stop_fd is readable: runs libvirt's event
 * loop (monitor.c gives it a thread of its own). */
int qpci_virt_watch(struct qpci_ctx *ctx, const char *uri, qpci_change_fn fn, void *data, int stop_fd);

/* ---- rules.c: Qubes' rules for one device given to a VM ---- */

struct qpci_rules {
        struct qpci_ctx *ctx;
        struct qpci_inventory *inv;
        const char *vm;                    /* the VM the device goes to */
        const struct qpci_assignment *set; /* all of that VM's devices, the one checked included */
        size_t n;
        bool strict;                       /* it needs a reliable reset (no no-strict-reset) */
        bool vfio;                         /* VFIO assigns, which never splits an IOMMU group (not Xen) */
        /* The running VM, other than vm, that has the device at addr now: 1 and its name, 0 when
         * none, or a negative errno (logged) when that cannot be told, and the device is not given. */
        int (*user_of)(const struct qpci_addr *addr, void *data, const char **vm);
        void *user_data;
};

QPCI_PRIVATE int qpci_rule_present(const struct qpci_rules *r, const struct qpci_assignment *a, struct qpci_dev **ret);
QPCI_PRIVATE int qpci_rule_same_card(const struct qpci_rules *r, const struct qpci_assignment *a, struct qpci_dev *d);
QPCI_PRIVATE int qpci_rule_not_bridge(const struct qpci_rules *r, struct qpci_dev *d);
QPCI_PRIVATE int qpci_rule_one_vm(const struct qpci_rules *r, struct qpci_dev *d);
QPCI_PRIVATE int qpci_rule_functions_together(const struct qpci_rules *r, struct qpci_dev *d);
QPCI_PRIVATE int qpci_rule_group_whole(const struct qpci_rules *r, struct qpci_dev *d);
QPCI_PRIVATE int qpci_rule_strict_reset(const struct qpci_rules *r, struct qpci_dev *d);
/* Every rule in turn; full adds those only a start or a hot-plug needs (one VM, functions and
 * group together). 0, or the first refusal, logged. */
QPCI_PRIVATE int qpci_rules_check(const struct qpci_rules *r, const struct qpci_assignment *a, bool full);

/* ---- guard.c ---- */

/* What on the host depends on the function (mounts, swap, default route, console), as one
 * comma-separated phrase in *ret (free it); 1 when something does, 0 when nothing, -errno when it
 * cannot tell, with what could not be read in *ret when that is why (else NULL). */
int qpci_guard_dependents(struct qpci_ctx *ctx, const char *bdf, char **ret);

/* ---- usb.c ---- */

/* ---- vmxml.c: a domain's XML, read and edited ---- */

#define QPCI_XMLNS "https://qpci.dev/xmlns/vm/1"

struct qpci_vmxml;
/* -EBADMSG when it is not a domain's XML. Records of an older qpci are converted as it is parsed. */
int qpci_vmxml_parse(const char *xml, struct qpci_vmxml **ret);
/* Whether the parse converted records of an older qpci: the definition is worth saving. */
bool qpci_vmxml_migrated(struct qpci_vmxml *x);
void qpci_vmxml_free(struct qpci_vmxml *x);
char *qpci_vmxml_format(struct qpci_vmxml *x);
const char *qpci_vmxml_get_name(struct qpci_vmxml *x);
/* The domain type: "kvm", "qemu", "xen"... */
const char *qpci_vmxml_get_type(struct qpci_vmxml *x);
/* Whether qpci created it (its metadata is there). */
bool qpci_vmxml_is_qpci(struct qpci_vmxml *x);
bool qpci_vmxml_has_pci(struct qpci_vmxml *x);
bool qpci_vmxml_strict_reset(struct qpci_vmxml *x);
int qpci_vmxml_get_pref(struct qpci_vmxml *x, const char *name, char **value, bool *is_default);
/* Whether value (NULL: the default) is one the preference takes, whatever the VM: -ENOENT for no such
 * preference, -EINVAL with *why. A kernel or initrd must be a readable, non-empty regular file. */
int qpci_vmxml_check_pref(const char *name, const char *value, const char **why);
/* The same; files_here false: a kernel or initrd is another host's file, and only its text is
 * checked. */
int qpci_vmxml_check_pref_on(const char *name, const char *value, bool files_here, const char **why);
/* Files named in x are another host's (set_pref then checks only their text). */
void qpci_vmxml_set_files_elsewhere(struct qpci_vmxml *x, bool elsewhere);
int qpci_vmxml_set_pref(struct qpci_vmxml *x, const char *name, const char *value, const char **why);
/* console_log: the file for the serial console's log, or NULL for none. */
char *qpci_vmxml_new_domain(const struct qpci_vm_config *c, const char *virt_type, const char *console_log);
/* live: the XML is a running domain's (assignments marked live, else persistent). */
int qpci_vmxml_get_assignments(struct qpci_vmxml *x, bool live, struct qpci_assignment **ret, size_t *n);
char *qpci_vmxml_hostdev(const struct qpci_assignment *a, const char *virt_type);
int qpci_vmxml_add_assignment(struct qpci_vmxml *x, const struct qpci_assignment *a);
int qpci_vmxml_remove_assignment(struct qpci_vmxml *x, const struct qpci_addr *addr);
void qpci_vmxml_set_via_libxl(struct qpci_vmxml *x, const struct qpci_assignment *a, bool on);
char *qpci_vmxml_format_meta(struct qpci_vmxml *x);

/* ---- xen.c ---- */

/* Takes the n devices a Xen domain let go out of Xen's quarantine: how many were there, -ENOPKG
 * without Xen's libxenctrl. */
int qpci_xen_dequarantine(struct qpci_ctx *ctx, const struct qpci_addr *a, size_t n);
/* Gives a device on pciback to the running domain domid, or takes it back, through libxl: what
 * `xl pci-attach` and `pci-detach` do, without the reset libvirt insists on. -ENOPKG without libxl. */
QPCI_PRIVATE int qpci_xen_pci_add(struct qpci_ctx *ctx, unsigned domid, const struct qpci_addr *a, bool permissive);
QPCI_PRIVATE int qpci_xen_pci_remove(struct qpci_ctx *ctx, unsigned domid, const struct qpci_addr *a);
/* Until the domain's PCI frontend has connected (it takes more devices only then). */
QPCI_PRIVATE int qpci_xen_wait_pcifront(struct qpci_ctx *ctx, unsigned domid, unsigned timeout_s);
