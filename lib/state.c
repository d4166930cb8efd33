/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host state in SQLite under /var/lib/qpci (rooted): which devices qpci hid and the driver each
 * had before, and an intent journal of device moves in progress.
 *
 * The journal makes a multi-device move all or nothing across crashes: the intent (every device's
 * driver and driver_override before the move) is committed before the first sysfs write, and
 * cleared in the same transaction that records the result. A journal found non-empty means a
 * process died in between; the next command puts every device back as it was.
 *
 * Concurrent commands serialize on a lock file beside the database, held for the whole command,
 * so no two processes move the same device at once.
 */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "qpci-internal.h"

#define STATE_DIR "var/lib/qpci"
#define SCHEMA_VERSION 3
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
#define BUSY_MS 30000 /* how long a reader or writer waits for the other side of the database */

static char *db_path(struct qpci_ctx *ctx) {
        char *path;
        return asprintf(&path, "%s/%s/state.db", qpci_root_prefix(ctx), STATE_DIR) < 0 ? NULL : path;
}

/* Opens the database read-only, or NULL when there is none: qpci never hid anything here. */
static sqlite3 *open_readonly(struct qpci_ctx *ctx) {
        _cleanup_free_ char *path = NULL;
        sqlite3 *db = NULL;

        if (faccessat(ctx->root_fd, STATE_DIR "/state.db", R_OK, 0) < 0 || !(path = db_path(ctx)))
                return NULL;
        if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
                log_warn(ctx, "cannot read %s: %s", path, sqlite3_errmsg(db));
                sqlite3_close(db);
                return NULL;
        }
        sqlite3_busy_timeout(db, BUSY_MS);
        return db;
}

static const char schema[] =
        "CREATE TABLE IF NOT EXISTS devices ("
        "  bdf TEXT PRIMARY KEY,"
        "  vendor INTEGER NOT NULL,"
        "  device INTEGER NOT NULL,"
        "  host_driver TEXT NOT NULL,"   /* the driver before qpci took it, '' for none */
        "  stub TEXT NOT NULL,"
        "  bound_by_qpci INTEGER NOT NULL,"
        "  persistent INTEGER NOT NULL DEFAULT 0," /* kept hidden across reboots */
        "  hidden_at INTEGER NOT NULL);"
        "CREATE TABLE IF NOT EXISTS journal ("
        "  seq INTEGER PRIMARY KEY,"
        "  op TEXT NOT NULL,"
        "  bdf TEXT NOT NULL,"
        "  from_driver TEXT NOT NULL,"
        "  from_override TEXT NOT NULL);"
        /* Version 2: devices pciback keeps in permissive mode at every boot. */
        "CREATE TABLE IF NOT EXISTS permissive ("
        "  bdf TEXT PRIMARY KEY,"
        "  vendor INTEGER NOT NULL,"
        "  device INTEGER NOT NULL);"
        /* Version 3: devices a VM used without a reliable reset, and which VM (the last one). */
        "CREATE TABLE IF NOT EXISTS tainted ("
        "  bdf TEXT PRIMARY KEY,"
        "  vendor INTEGER NOT NULL,"
        "  device INTEGER NOT NULL,"
        "  vm TEXT NOT NULL,"
        "  since INTEGER NOT NULL);";

static int mkdirs_rooted(struct qpci_ctx *ctx, const char *path) {
        char buf[256];

        /* Each level relative to the root descriptor, so a fixture root gets its own var/lib/qpci. */
        for (const char *p = path;; p++) {
                if (*p != '/' && *p != '\0')
                        continue;
                snprintf(buf, sizeof(buf), "%.*s", (int)(p - path), path);
                if (mkdirat(ctx->root_fd, buf, 0755) < 0 && errno != EEXIST)
                        return -errno;
                if (!*p)
                        return 0;
        }
}

static int sql_error(struct qpci_ctx *ctx, const char *what) {
        return log_error_errno(ctx, -EIO, "qpci state database: %s: %s", what, sqlite3_errmsg(ctx->db));
}

static int exec(struct qpci_ctx *ctx, const char *sql) {
        return sqlite3_exec(ctx->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : sql_error(ctx, sql);
}

int qpci_state_open(struct qpci_ctx *ctx) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (ctx->db)
                return 0;
        r = mkdirs_rooted(ctx, STATE_DIR);
        if (r < 0)
                return log_error_errno(ctx, r, "cannot create %s/%s: %s", qpci_root_prefix(ctx),
                                       STATE_DIR, strerror(-r));
        /* The lock first: recovery and every move happen under it. */
        ctx->lock_fd = openat(ctx->root_fd, STATE_DIR "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (ctx->lock_fd < 0)
                return log_error_errno(ctx, -errno, "cannot open the qpci lock: %s", strerror(errno));
        if (flock(ctx->lock_fd, LOCK_EX) < 0) {
                r = -errno;
                close(ctx->lock_fd);
                ctx->lock_fd = -1;
                return log_error_errno(ctx, r, "cannot take the qpci lock: %s", strerror(-r));
        }
        if (!(path = db_path(ctx)))
                return -ENOMEM;
        if (sqlite3_open_v2(path, &ctx->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
                r = sql_error(ctx, path);
                sqlite3_close(ctx->db);
                ctx->db = NULL;
                return r;
        }
        /* Readers (listing, the pending-journal check) do not take the lock: wait them out. */
        sqlite3_busy_timeout(ctx->db, BUSY_MS);
        /* Durable before the first sysfs write: the journal is only useful if it survives a crash. */
        r = exec(ctx, "PRAGMA synchronous=FULL");
        if (r < 0)
                return r;
        /* The schema once per database, not once per command: user_version says it is there. */
        sqlite3_stmt *st = NULL;
        int version = 0;
        if (sqlite3_prepare_v2(ctx->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
                version = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
        if (version >= SCHEMA_VERSION)
                return 0;
        r = exec(ctx, schema);
        return r < 0 ? r : exec(ctx, "PRAGMA user_version=" STRINGIFY(SCHEMA_VERSION));
}

int qpci_state_lock_vms(struct qpci_ctx *ctx) {
        int fd, r = mkdirs_rooted(ctx, STATE_DIR);

        if (r < 0)
                return log_error_errno(ctx, r, "cannot create %s/%s: %s", qpci_root_prefix(ctx), STATE_DIR,
                                       strerror(-r));
        fd = openat(ctx->root_fd, STATE_DIR "/vms.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return log_error_errno(ctx, -errno, "cannot open the qpci VM lock: %s", strerror(errno));
        if (flock(fd, LOCK_EX) < 0) {
                r = -errno;
                close(fd);
                return log_error_errno(ctx, r, "cannot take the qpci VM lock: %s", strerror(-r));
        }
        return fd;
}

void qpci_state_close(struct qpci_ctx *ctx) {
        if (ctx->db)
                sqlite3_close(ctx->db);
        ctx->db = NULL;
        if (ctx->lock_fd >= 0)
                close(ctx->lock_fd);
        ctx->lock_fd = -1;
}

int qpci_state_begin(struct qpci_ctx *ctx) {
        return exec(ctx, "BEGIN IMMEDIATE");
}

int qpci_state_commit(struct qpci_ctx *ctx) {
        return exec(ctx, "COMMIT");
}

void qpci_state_rollback(struct qpci_ctx *ctx) {
        sqlite3_exec(ctx->db, "ROLLBACK", NULL, NULL, NULL);
}

int qpci_journal_add(struct qpci_ctx *ctx, const char *op, const char *bdf, const char *from_driver,
                     const char *from_override) {
        sqlite3_stmt *st = NULL;
        int r = 0;

        if (sqlite3_prepare_v2(ctx->db, "INSERT INTO journal (op, bdf, from_driver, from_override) VALUES (?,?,?,?)",
                               -1, &st, NULL) != SQLITE_OK)
                return sql_error(ctx, "journal");
        sqlite3_bind_text(st, 1, op, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, bdf, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, from_driver, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, from_override, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
                r = sql_error(ctx, "journal");
        sqlite3_finalize(st);
        return r;
}

int qpci_journal_clear(struct qpci_ctx *ctx) {
        return exec(ctx, "DELETE FROM journal");
}

int qpci_journal_foreach(struct qpci_ctx *ctx,
                         int (*fn)(struct qpci_ctx *ctx, const char *op, const char *bdf, const char *from_driver,
                                   const char *from_override, void *data),
                         void *data) {
        sqlite3_stmt *st = NULL;
        int r = 0, s;

        /* Newest first: undo runs backwards through what was done. */
        if (sqlite3_prepare_v2(ctx->db, "SELECT op, bdf, from_driver, from_override FROM journal ORDER BY seq DESC",
                               -1, &st, NULL) != SQLITE_OK)
                return sql_error(ctx, "journal");
        while ((s = sqlite3_step(st)) == SQLITE_ROW) {
                int k = fn(ctx, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
                           (const char *)sqlite3_column_text(st, 2), (const char *)sqlite3_column_text(st, 3), data);
                if (k < 0 && r == 0)
                        r = k;
        }
        if (s != SQLITE_DONE && r == 0)
                r = sql_error(ctx, "journal");
        sqlite3_finalize(st);
        return r;
}

int qpci_state_record_hidden(struct qpci_ctx *ctx, const char *bdf, uint16_t vendor, uint16_t device,
                             const char *host_driver, const char *stub, bool bound_by_qpci, bool persistent) {
        sqlite3_stmt *st = NULL;
        int r = 0;

        /* A device hidden again keeps the host driver first recorded for it, and stays persistent
         * once asked to. */
        if (sqlite3_prepare_v2(ctx->db,
                               "INSERT INTO devices (bdf, vendor, device, host_driver, stub, bound_by_qpci, persistent, "
                               "hidden_at) VALUES (?1,?2,?3,?4,?5,?6,?8,?7) ON CONFLICT(bdf) DO UPDATE SET "
                               "vendor=?2, device=?3, stub=?5, persistent=max(persistent, ?8), "
                               "host_driver=CASE WHEN vendor=?2 AND device=?3 AND ?6=0 THEN host_driver ELSE ?4 END, "
                               "bound_by_qpci=CASE WHEN vendor=?2 AND device=?3 AND ?6=0 THEN bound_by_qpci ELSE ?6 END",
                               -1, &st, NULL) != SQLITE_OK)
                return sql_error(ctx, "devices");
        sqlite3_bind_text(st, 1, bdf, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, vendor);
        sqlite3_bind_int(st, 3, device);
        sqlite3_bind_text(st, 4, host_driver, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, stub, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 6, bound_by_qpci);
        sqlite3_bind_int64(st, 7, (sqlite3_int64)time(NULL));
        sqlite3_bind_int(st, 8, persistent);
        if (sqlite3_step(st) != SQLITE_DONE)
                r = sql_error(ctx, "devices");
        sqlite3_finalize(st);
        return r;
}

/* One statement on one device's row, by address (and ids, when the statement has ?2 and ?3). */
static int device_row(struct qpci_ctx *ctx, const char *sql, const char *bdf, uint16_t vendor, uint16_t device) {
        sqlite3_stmt *st = NULL;
        int r = 0;

        if (sqlite3_prepare_v2(ctx->db, sql, -1, &st, NULL) != SQLITE_OK)
                return sql_error(ctx, sql);
        sqlite3_bind_text(st, 1, bdf, -1, SQLITE_STATIC);
        if (sqlite3_bind_parameter_count(st) >= 3) {
                sqlite3_bind_int(st, 2, vendor);
                sqlite3_bind_int(st, 3, device);
        }
        if (sqlite3_step(st) != SQLITE_DONE)
                r = sql_error(ctx, sql);
        sqlite3_finalize(st);
        return r;
}

static int forget_permissive(struct qpci_ctx *ctx, const char *bdf) {
        return device_row(ctx, "DELETE FROM permissive WHERE bdf = ?1", bdf, 0, 0);
}

/* A device given back keeps nothing of qpci's: neither its record nor a boot-time permissive mode. */
int qpci_state_forget(struct qpci_ctx *ctx, const char *bdf) {
        int r = device_row(ctx, "DELETE FROM devices WHERE bdf = ?1", bdf, 0, 0);
        return r < 0 ? r : forget_permissive(ctx, bdf);
}

int qpci_state_permissive_at_boot(struct qpci_ctx *ctx, const char *bdf, uint16_t vendor, uint16_t device, bool keep) {
        int r = qpci_state_open(ctx);

        if (r >= 0 && (r = qpci_state_begin(ctx)) >= 0) {
                r = keep ? device_row(ctx, "INSERT OR REPLACE INTO permissive (bdf, vendor, device) VALUES (?1, ?2, ?3)",
                                      bdf, vendor, device)
                         : forget_permissive(ctx, bdf);
                if (r >= 0)
                        r = qpci_state_commit(ctx);
                else
                        qpci_state_rollback(ctx);
        }
        if (r >= 0)
                r = qpci_state_write_rules(ctx);
        qpci_state_close(ctx);
        return r < 0 ? r : 0;
}

int qpci_state_host_driver(struct qpci_ctx *ctx, const char *bdf, uint16_t vendor, uint16_t device, char *buf,
                           size_t size) {
        sqlite3_stmt *st = NULL;
        int r = 0;

        buf[0] = '\0';
        /* The record is only trusted for the same device: an address can hold another card later. */
        if (sqlite3_prepare_v2(ctx->db, "SELECT host_driver FROM devices WHERE bdf = ? AND vendor = ? AND device = ?",
                               -1, &st, NULL) != SQLITE_OK)
                return sql_error(ctx, "devices");
        sqlite3_bind_text(st, 1, bdf, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, vendor);
        sqlite3_bind_int(st, 3, device);
        if (sqlite3_step(st) == SQLITE_ROW) {
                snprintf(buf, size, "%s", (const char *)sqlite3_column_text(st, 0));
                r = 1;
        }
        sqlite3_finalize(st);
        return r;
}

int qpci_state_mark_tainted(struct qpci_ctx *ctx, const char *bdf, uint16_t vendor, uint16_t device, const char *vm) {
        sqlite3_stmt *st = NULL;
        int r;

        if ((r = qpci_state_open(ctx)) < 0)
                return r;
        if (sqlite3_prepare_v2(ctx->db, "INSERT OR REPLACE INTO tainted (bdf, vendor, device, vm, since) VALUES (?,?,?,?,?)",
                               -1, &st, NULL) != SQLITE_OK)
                r = sql_error(ctx, "tainted");
        else {
                sqlite3_bind_text(st, 1, bdf, -1, SQLITE_STATIC);
                sqlite3_bind_int(st, 2, vendor);
                sqlite3_bind_int(st, 3, device);
                sqlite3_bind_text(st, 4, vm, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 5, (sqlite3_int64)time(NULL));
                if (sqlite3_step(st) != SQLITE_DONE)
                        r = sql_error(ctx, "tainted");
        }
        sqlite3_finalize(st);
        qpci_state_close(ctx);
        return r;
}

int qpci_state_tainted_by(struct qpci_ctx *ctx, const char *bdf, uint16_t vendor, uint16_t device, char **ret) {
        sqlite3 *db = open_readonly(ctx);
        sqlite3_stmt *st = NULL;
        int r = 0;

        *ret = NULL;
        /* A database from before version 3 has no such table: nothing was tainted then. */
        if (db && sqlite3_prepare_v2(db, "SELECT vm FROM tainted WHERE bdf = ? AND vendor = ? AND device = ?", -1, &st,
                                     NULL) == SQLITE_OK) {
                sqlite3_bind_text(st, 1, bdf, -1, SQLITE_STATIC);
                sqlite3_bind_int(st, 2, vendor);
                sqlite3_bind_int(st, 3, device);
                if (sqlite3_step(st) == SQLITE_ROW) {
                        const char *vm = (const char *)sqlite3_column_text(st, 0);
                        /* The VM's whole name, however long libvirt let it be: a cut one would
                         * warn about the wrong VM, or about the very VM that used it. */
                        if (!vm)
                                r = 0;
                        else if (!(*ret = strdup(vm)))
                                r = -ENOMEM;
                        else
                                r = 1;
                }
        }
        sqlite3_finalize(st);
        sqlite3_close(db);
        return r;
}

bool qpci_state_journal_pending(struct qpci_ctx *ctx) {
        sqlite3 *db = open_readonly(ctx);
        sqlite3_stmt *st = NULL;
        bool pending = false;

        if (db && sqlite3_prepare_v2(db, "SELECT 1 FROM journal LIMIT 1", -1, &st, NULL) == SQLITE_OK)
                pending = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
        sqlite3_close(db);
        return pending;
}

int qpci_state_mark_hidden(struct qpci_inventory *inv) {
        struct qpci_ctx *ctx = inv->ctx;
        /* Read-only, without the lock: listing never waits for a whole hide, and never creates state. */
        sqlite3 *db = open_readonly(ctx);
        sqlite3_stmt *st = NULL;
        int r = 0;

        if (!db)
                return 0;
        if (sqlite3_prepare_v2(db, "SELECT bdf, vendor, device, host_driver FROM devices", -1, &st, NULL) != SQLITE_OK) {
                log_warn(ctx, "cannot read the qpci state database: %s", sqlite3_errmsg(db));
                r = -EIO;
        }
        while (st && sqlite3_step(st) == SQLITE_ROW) {
                struct qpci_addr a;
                struct qpci_dev *d;
                if (qpci_addr_parse_sysfs((const char *)sqlite3_column_text(st, 0), &a) < 0 ||
                    !(d = qpci_inventory_find(inv, &a)))
                        continue;
                /* Only for the same card: the address may hold another one since. */
                if (d->vendor_id != sqlite3_column_int(st, 1) || d->device_id != sqlite3_column_int(st, 2))
                        continue;
                free(d->hidden_from);
                d->hidden_from = strdup((const char *)sqlite3_column_text(st, 3));
        }
        sqlite3_finalize(st);
        sqlite3_close(db);
        return r;
}

/*
 * Persistent hiding, as driverctl does it: a udev rule sets driver_override when the device is
 * added, before udev's 80-drivers.rules loads the host driver's module for its modalias, and loads
 * the stub's module, whose probe then takes the device. Permissive mode, which pciback forgets
 * when the device leaves it, is written again whenever pciback has the device: at its "bind", or
 * at coldplug's replayed "add" when pciback took it before udev ran (xen-pciback.hide=), as the
 * R3.2 systemd unit of Qubes OS's Assigning Devices page does by hand. Written whole from the
 * database after every change, so it never drifts from it.
 */
#define RULES "etc/udev/rules.d/40-qpci-hide.rules"

/* The rows of one query, each printed by a rule format; returns how many. */
static int print_rules(struct qpci_ctx *ctx, FILE *f, const char *sql, bool hide) {
        sqlite3_stmt *st = NULL;
        int n = 0;

        if (sqlite3_prepare_v2(ctx->db, sql, -1, &st, NULL) != SQLITE_OK)
                return sql_error(ctx, sql);
        while (sqlite3_step(st) == SQLITE_ROW) {
                const char *bdf = (const char *)sqlite3_column_text(st, 0);
                fprintf(f, "ACTION==\"%s\", SUBSYSTEM==\"pci\", KERNEL==\"%s\", ATTR{vendor}==\"0x%04x\", "
                           "ATTR{device}==\"0x%04x\", ",
                        hide ? "add" : "add|bind", bdf, sqlite3_column_int(st, 1), sqlite3_column_int(st, 2));
                if (hide) {
                        const char *stub = (const char *)sqlite3_column_text(st, 3);
                        /* Then probe it: when an earlier device's rule loaded the stub already,
                         * nothing else would (the host driver's probe skips it: the override). */
                        fprintf(f, "ATTR{driver_override}=\"%s\", RUN{builtin}+=\"kmod load %s\", "
                                   "RUN+=\"/bin/sh -c 'echo $kernel > /sys/bus/pci/drivers_probe'\"\n",
                                stub, streq(stub, "pciback") ? "xen-pciback" : stub);
                } else
                        fprintf(f, "DRIVER==\"pciback\", RUN+=\"/bin/sh -c 'echo %s > "
                                   "/sys/bus/pci/drivers/pciback/permissive'\"\n", bdf);
                n++;
        }
        sqlite3_finalize(st);
        return n;
}

int qpci_state_write_rules(struct qpci_ctx *ctx) {
        _cleanup_fclose_ FILE *f = NULL;
        int fd, r, n;

        r = mkdirs_rooted(ctx, "etc/udev/rules.d");
        fd = r < 0 ? r : openat(ctx->root_fd, RULES ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        f = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (!f)
                return log_error_errno(ctx, -errno, "cannot write /%s: %s", RULES, strerror(errno));
        fprintf(f, "# Written by qpci (qvm-pci hide --persistent, qvm-pci permissive --persistent): devices kept\n"
                   "# away from the host across reboots. Do not edit; 'qvm-pci unhide' removes a device.\n");
        n = print_rules(ctx, f, "SELECT bdf, vendor, device, stub FROM devices WHERE persistent ORDER BY bdf", true);
        r = n < 0 ? n : print_rules(ctx, f, "SELECT bdf, vendor, device FROM permissive ORDER BY bdf", false);
        if (r < 0) {
                unlinkat(ctx->root_fd, RULES ".tmp", 0);
                return r;
        }
        n += r;
        if (fflush(f) != 0 || fsync(fileno(f)) < 0)
                return log_error_errno(ctx, -errno, "cannot write /%s: %s", RULES, strerror(errno));
        /* No rule left: no file, so nothing of qpci's stays in /etc. */
        if (n == 0) {
                unlinkat(ctx->root_fd, RULES ".tmp", 0);
                if (unlinkat(ctx->root_fd, RULES, 0) < 0 && errno != ENOENT)
                        return log_error_errno(ctx, -errno, "cannot remove /%s: %s", RULES, strerror(errno));
                return 0;
        }
        if (renameat(ctx->root_fd, RULES ".tmp", ctx->root_fd, RULES) < 0)
                return log_error_errno(ctx, -errno, "cannot write /%s: %s", RULES, strerror(errno));
        return n;
}
