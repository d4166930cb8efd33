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
 * so no two processes move the same device at once. Readers (listing) take no lock: they read what
 * was committed, and never wait for a move.
 *
 * Whatever a database file holds is read as untrusted: damage sets the file aside and qpci goes on
 * from sysfs; a row that does not say what qpci needs is ignored, never followed.
 */
#include <fcntl.h>
#include <poll.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "qpci-internal.h"

#define STATE_DIR "var/lib/qpci"
#define DB_FILE STATE_DIR "/state.db"
#define SCHEMA_VERSION 3
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
/* How long one side of the database waits for the other's transaction: moves never hold one
 * across a sysfs write, so this only covers a commit. */
#define BUSY_MS 5000

/* The database's path as users see it (under a fixture root when there is one). */
static char *db_path(struct qpci_ctx *ctx) {
        char *path;
        return asprintf(&path, "%s/%s", qpci_root_prefix(ctx), DB_FILE) < 0 ? NULL : path;
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

/* Every column qpci reads, so a database with the tables but not their columns (another program's,
 * a hand edit) is found at open, not half-way through a move. */
static const char *const probes[] = {
        "SELECT bdf, vendor, device, host_driver, stub, bound_by_qpci, persistent, hidden_at FROM devices LIMIT 0",
        "SELECT seq, op, bdf, from_driver, from_override FROM journal LIMIT 0",
        "SELECT bdf, vendor, device FROM permissive LIMIT 0",
        "SELECT bdf, vendor, device, vm, since FROM tainted LIMIT 0",
};

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

static bool is_damage(int code) {
        code &= 0xff;
        return code == SQLITE_CORRUPT || code == SQLITE_NOTADB || code == SQLITE_FORMAT;
}

/*
 * What went wrong with the database, in words: what qpci was doing, where the file is, and what to
 * do. SQLite's own message names no file and suggests nothing, and a statement's text means
 * nothing to a user.
 */
static int db_error(struct qpci_ctx *ctx, sqlite3 *db, int code, const char *doing) {
        _cleanup_free_ char *path = db_path(ctx);
        int sys = db ? sqlite3_system_errno(db) : 0;
        const char *p = path ? path : "/" DB_FILE;

        if ((code & 0xff) == SQLITE_FULL || sys == ENOSPC || sys == EDQUOT)
                return log_error_errno(ctx, -ENOSPC, "cannot %s: the file system of %s is full; free some space "
                                       "there and try again", doing, p);
        if ((code & 0xff) == SQLITE_READONLY || (code & 0xff) == SQLITE_PERM || (code & 0xff) == SQLITE_AUTH ||
            sys == EROFS || sys == EACCES || sys == EPERM)
                return log_error_errno(ctx, -EACCES, "cannot %s: %s cannot be written (%s); qpci needs root and a "
                                       "writable /%s", doing, p, sys ? strerror(sys) : sqlite3_errstr(code),
                                       STATE_DIR);
        if (is_damage(code))
                return log_error_errno(ctx, -EBADMSG, "cannot %s: %s is damaged; run the command again: qpci then "
                                       "moves it aside and goes on from what sysfs shows", doing, p);
        switch (code & 0xff) {
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return log_error_errno(ctx, -EBUSY, "cannot %s: another program keeps %s locked; try again", doing,
                                       p);
        case SQLITE_NOMEM:
                return log_error_errno(ctx, -ENOMEM, "cannot %s: out of memory", doing);
        case SQLITE_IOERR:
        case SQLITE_CANTOPEN:
                return log_error_errno(ctx, -EIO, "cannot %s: reading or writing %s failed (%s); the kernel log "
                                       "(dmesg) may say why", doing, p, sys ? strerror(sys) : sqlite3_errstr(code));
        default:
                return log_error_errno(ctx, -EIO, "cannot %s: %s is not a state database this qpci understands "
                                       "(%s); move it away and try again", doing, p, sqlite3_errstr(code));
        }
}

static int exec(struct qpci_ctx *ctx, const char *sql, const char *doing) {
        int s = sqlite3_exec(ctx->db, sql, NULL, NULL, NULL);
        return s == SQLITE_OK ? 0 : db_error(ctx, ctx->db, s, doing);
}

/* Text a row holds, or NULL: a column can hold NULL (or a blob) whatever the schema says. */
static const char *col_text(sqlite3_stmt *st, int i) {
        return sqlite3_column_type(st, i) == SQLITE_TEXT ? (const char *)sqlite3_column_text(st, i) : NULL;
}

/* A PCI id (0 to 0xffff) a row holds, or -1. */
static int col_id(sqlite3_stmt *st, int i) {
        sqlite3_int64 v = sqlite3_column_int64(st, i);
        return sqlite3_column_type(st, i) == SQLITE_INTEGER && v >= 0 && v <= 0xffff ? (int)v : -1;
}

/* What a driver's name can be in sysfs, and so in a path qpci builds from it: no slash, no "..",
 * nothing a udev rule or a terminal would read as syntax. "" is no driver. */
static bool valid_driver(const char *s) {
        size_t len = s ? strlen(s) : 0;

        if (!s || len >= 64 || streq(s, ".") || streq(s, ".."))
                return false;
        for (const char *p = s; *p; p++)
                if (*p <= ' ' || *p >= 0x7f || *p == '/' || *p == '"' || *p == '\'' || *p == '\\' || *p == '$')
                        return false;
        return true;
}

static bool valid_bdf(const char *s) {
        struct qpci_addr a;
        return s && qpci_addr_parse_sysfs(s, &a) == 0;
}

/* Said once per context: a listing reads the state several times, and the reason is the same. */
static void warn_once(struct qpci_ctx *ctx, const char *fmt, ...) _printf_(2, 3);
static void warn_once(struct qpci_ctx *ctx, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        int r;

        if (ctx->state_warned)
                return;
        ctx->state_warned = true;
        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r >= 0)
                log_warn(ctx, "%s", msg);
}

static void bad_row(struct qpci_ctx *ctx, const char *table, const char *bdf) {
        _cleanup_free_ char *path = db_path(ctx);
        warn_once(ctx, "%s holds a damaged %s record (%s): qpci ignores it", path ? path : DB_FILE, table,
                  valid_bdf(bdf) ? bdf : "no valid address");
}

/* ---- the lock: one command moves devices at a time ---- */

/* Who holds the lock, as the holder wrote it beside the lock: "pid 1234: qvm-pci hide 03:00.0". */
static void read_holder(int fd, char *buf, size_t size) {
        ssize_t n = pread(fd, buf, size - 1, 0);

        buf[n > 0 ? n : 0] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        if (!buf[0])
                snprintf(buf, size, "a process that has not said which");
}

/* This process's command line, printable, for whoever waits for the lock. */
static void write_holder(int fd) {
        char cmd[256] = "", line[300];
        int cfd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
        ssize_t n = cfd >= 0 ? read(cfd, cmd, sizeof(cmd) - 1) : -1;

        if (cfd >= 0)
                close(cfd);
        for (ssize_t i = 0; i < n; i++)
                cmd[i] = cmd[i] == '\0' ? ' ' : (cmd[i] < ' ' || cmd[i] >= 0x7f) ? '?' : cmd[i];
        for (cmd[n > 0 ? n : 0] = '\0'; n > 0 && cmd[n - 1] == ' '; n--)
                cmd[n - 1] = '\0';
        n = snprintf(line, sizeof(line), "pid %d: %s\n", (int)getpid(), cmd[0] ? cmd : "qpci");
        /* Only a courtesy to waiters: a lock file that cannot take it still locks. */
        if (ftruncate(fd, 0) == 0 && pwrite(fd, line, strlen(line), 0) < 0)
                return;
}

static long long now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Takes an exclusive flock on fd. One held says for whom it waits (what the holder does, and who:
 * pid and command), and gives up after timeout_ms with the holder named: a driver stuck in its
 * unbind, or a hypervisor stuck in a start, keeps its command, and so the lock, forever.
 */
static int wait_for_lock(struct qpci_ctx *ctx, int fd, const char *holder_does, const char *stuck_in,
                         unsigned timeout_ms) {
        char holder[300];
        long long deadline;

        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
                return 0;
        if (errno != EWOULDBLOCK)
                return log_error_errno(ctx, -errno, "cannot take qpci's lock: %s", strerror(errno));
        read_holder(fd, holder, sizeof(holder));
        log_warn(ctx, "waiting for another qpci command to finish %s (%s)", holder_does, holder);
        deadline = now_ms() + timeout_ms;
        while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno != EWOULDBLOCK)
                        return log_error_errno(ctx, -errno, "cannot take qpci's lock: %s", strerror(errno));
                if (now_ms() >= deadline) {
                        read_holder(fd, holder, sizeof(holder));
                        return log_error_errno(ctx, -EBUSY, "gave up after %u s: another qpci command (%s) is still "
                                               "%s, perhaps stuck in %s; try again once it has ended",
                                               (timeout_ms + 999) / 1000, holder, holder_does, stuck_in);
                }
                poll(NULL, 0, 50);
        }
        return 0;
}

/* Takes the lock beside the database. Without wait, -EWOULDBLOCK at once and nothing said. */
static int take_lock(struct qpci_ctx *ctx, bool wait) {
        _cleanup_close_ int fd = -1;
        int r = mkdirs_rooted(ctx, STATE_DIR);

        if (r < 0)
                return wait ? log_error_errno(ctx, r, "cannot create %s/%s for qpci's state: %s", qpci_root_prefix(ctx),
                                              STATE_DIR, strerror(-r))
                            : r;
        fd = openat(ctx->root_fd, STATE_DIR "/lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 && !wait)
                return -errno;
        if (fd < 0)
                return log_error_errno(ctx, -errno, "cannot open qpci's lock %s/%s/lock: %s%s", qpci_root_prefix(ctx),
                                       STATE_DIR, strerror(errno),
                                       errno == EROFS   ? "; qpci keeps its state there: make it writable"
                                       : errno == EACCES || errno == EPERM ? " (qpci needs root to change devices)"
                                                                           : "");
        if (!wait && flock(fd, LOCK_EX | LOCK_NB) < 0)
                return -errno;
        if (wait && (r = wait_for_lock(ctx, fd, "moving devices", "a driver (dmesg says)", ctx->lock_timeout_ms)) < 0)
                return r;
        write_holder(fd);
        ctx->lock_fd = TAKE_FD(fd);
        return 0;
}

int qpci_state_dir_open(struct qpci_ctx *ctx) {
        int r = mkdirs_rooted(ctx, STATE_DIR), fd;

        if (r < 0)
                return r;
        fd = openat(ctx->root_fd, STATE_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

void qpci_state_holder(struct qpci_ctx *ctx, char *buf, size_t size) {
        _cleanup_close_ int fd = openat(ctx->root_fd, STATE_DIR "/lock", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

        if (fd < 0)
                snprintf(buf, size, "a process qpci cannot name");
        else
                read_holder(fd, buf, size);
}

static void release_lock(struct qpci_ctx *ctx) {
        if (ctx->lock_fd < 0)
                return;
        /* Emptied first, so a waiter that reads it between two holders names nobody stale. */
        if (ftruncate(ctx->lock_fd, 0) < 0)
                log_dbg(ctx, "could not empty the lock file: %s", strerror(errno));
        close(ctx->lock_fd);
        ctx->lock_fd = -1;
}

/* ---- the database ---- */

/* 0 when the database is usable, 1 when it is damaged, -1 when it could not be read (*code says
 * why, and the caller says it: an error to a move, a warning to a listing). */
static int check_db(sqlite3 *db, int *code) {
        sqlite3_stmt *st = NULL;
        int s;

        s = sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL);
        if (s == SQLITE_OK && (s = sqlite3_step(st)) == SQLITE_ROW) {
                const char *res = col_text(st, 0);
                s = res && streq(res, "ok") ? SQLITE_DONE : SQLITE_CORRUPT;
        }
        sqlite3_finalize(st);
        *code = s;
        if (is_damage(s))
                return 1;
        return s == SQLITE_DONE ? 0 : -1;
}

/* Tables as qpci reads them; 1 when one is not. */
static int check_tables(sqlite3 *db, int *code) {
        for (size_t i = 0; i < ELEMENTSOF(probes); i++) {
                sqlite3_stmt *st = NULL;
                int s = sqlite3_prepare_v2(db, probes[i], -1, &st, NULL);
                sqlite3_finalize(st);
                if (s != SQLITE_OK) {
                        *code = s;
                        return 1;
                }
        }
        return 0;
}

/* Under the lock: keeps the damaged file for whoever wants to look at it, and says where:
 * state.db.damaged, or .damaged.N beside earlier ones. */
static int set_aside(struct qpci_ctx *ctx, int code) {
        _cleanup_free_ char *path = db_path(ctx);
        char aside[128], journal[160];
        struct stat st;

        snprintf(aside, sizeof(aside), "%s.damaged", DB_FILE);
        for (unsigned i = 1; fstatat(ctx->root_fd, aside, &st, AT_SYMLINK_NOFOLLOW) == 0 && i < 1000; i++)
                snprintf(aside, sizeof(aside), "%s.damaged.%u", DB_FILE, i);
        if (renameat(ctx->root_fd, DB_FILE, ctx->root_fd, aside) < 0)
                return log_error_errno(ctx, -errno, "%s is damaged (%s), and it cannot be moved aside: %s; move it "
                                       "away by hand and try again", path ? path : DB_FILE, sqlite3_errstr(code),
                                       strerror(errno));
        /* A rollback journal belongs to the file it was written for. */
        snprintf(journal, sizeof(journal), "%s-journal", aside);
        if (renameat(ctx->root_fd, DB_FILE "-journal", ctx->root_fd, journal) < 0 && errno != ENOENT)
                log_warn(ctx, "could not move %s-journal aside: %s", path ? path : DB_FILE, strerror(errno));
        log_warn(ctx, "%s is damaged (%s): qpci moved it to %s/%s and goes on from what sysfs shows; the drivers "
                 "devices had before qpci hid them are forgotten (unhide finds one from the device's modalias)",
                 path ? path : DB_FILE, sqlite3_errstr(code), qpci_root_prefix(ctx), aside);
        return 0;
}

static void close_db(struct qpci_ctx *ctx) {
        sqlite3_close(ctx->db);
        ctx->db = NULL;
}

/* Something other than a file where the database goes (a directory): -EISDIR, said. */
static int check_type(struct qpci_ctx *ctx, bool *exists) {
        struct stat st;

        *exists = fstatat(ctx->root_fd, DB_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0;
        return !*exists || S_ISREG(st.st_mode) ? 0 : -EISDIR;
}

static int not_a_file(struct qpci_ctx *ctx, bool error) {
        _cleanup_free_ char *path = db_path(ctx);
        const char *p = path ? path : DB_FILE;

        if (error)
                return log_error_errno(ctx, -EISDIR, "%s is not a file (a directory?), and qpci keeps its state "
                                       "there: move it away and try again", p);
        warn_once(ctx, "%s is not a file (a directory?): qpci's state is ignored, what is shown comes from sysfs "
                  "alone; move it away", p);
        return -EISDIR;
}

/* Under the lock: the database, set aside and started anew when it is damaged. */
static int open_db(struct qpci_ctx *ctx) {
        _cleanup_free_ char *path = db_path(ctx);
        bool exists;
        int r, s, code = SQLITE_OK;

        if (!path)
                return -ENOMEM;
        if (check_type(ctx, &exists) < 0)
                return not_a_file(ctx, true);
        for (int attempt = 0;; attempt++) {
                s = sqlite3_open_v2(path, &ctx->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
                if (s != SQLITE_OK) {
                        r = db_error(ctx, ctx->db, s, "open qpci's state");
                        close_db(ctx);
                        return r;
                }
                sqlite3_extended_result_codes(ctx->db, 1);
                sqlite3_busy_timeout(ctx->db, BUSY_MS);
                r = check_db(ctx->db, &code);
                if (r < 0)
                        r = db_error(ctx, ctx->db, code, "read qpci's state");
                if (r == 0) {
                        /* The schema once per database, not once per command: user_version says so. */
                        sqlite3_stmt *st = NULL;
                        int version = 0;
                        if ((s = sqlite3_prepare_v2(ctx->db, "PRAGMA user_version", -1, &st, NULL)) == SQLITE_OK &&
                            (s = sqlite3_step(st)) == SQLITE_ROW)
                                version = sqlite3_column_int(st, 0);
                        sqlite3_finalize(st);
                        if (s != SQLITE_ROW)
                                r = is_damage(s) ? (code = s, 1) : db_error(ctx, ctx->db, s, "read qpci's state");
                        else if (version < SCHEMA_VERSION &&
                                 ((r = exec(ctx, schema, "create qpci's state")) < 0 ||
                                  (r = exec(ctx, "PRAGMA user_version=" STRINGIFY(SCHEMA_VERSION),
                                            "create qpci's state")) < 0))
                                ;
                        else
                                r = check_tables(ctx->db, &code);
                }
                if (r == 0)
                        break;
                close_db(ctx);
                if (r < 0)
                        return r;
                /* Damaged: a second time means the fresh file is too, which is no damage to set aside. */
                if (attempt > 0)
                        return db_error(ctx, NULL, code, "start a new state database");
                if ((r = set_aside(ctx, code)) < 0)
                        return r;
        }
        /* Durable before the first sysfs write: the journal is only useful if it survives a crash. */
        r = exec(ctx, "PRAGMA synchronous=FULL", "set up qpci's state");
        if (r < 0)
                close_db(ctx);
        return r;
}

static int state_open(struct qpci_ctx *ctx, bool wait) {
        int r;

        /* Nested: a command's window holds it, and what it calls shares it. */
        if (ctx->state_refs > 0) {
                ctx->state_refs++;
                return 0;
        }
        /* The lock first: recovery and every move happen under it. */
        if ((r = take_lock(ctx, wait)) < 0)
                return r;
        if ((r = open_db(ctx)) < 0) {
                release_lock(ctx);
                return r;
        }
        ctx->state_refs = 1;
        return 0;
}

int qpci_state_open(struct qpci_ctx *ctx) {
        return state_open(ctx, true);
}

int qpci_state_try_open(struct qpci_ctx *ctx) {
        return state_open(ctx, false);
}

void qpci_state_close(struct qpci_ctx *ctx) {
        if (ctx->state_refs == 0 || --ctx->state_refs > 0)
                return;
        close_db(ctx);
        release_lock(ctx);
}

void qpci_state_close_all(struct qpci_ctx *ctx) {
        if (ctx->state_refs > 0) {
                ctx->state_refs = 1;
                qpci_state_close(ctx);
        }
}

/*
 * For reading, without the lock: readers never wait for a move (a driver stuck in its unbind holds
 * the lock forever). They see what was committed; a move commits its intent before its first sysfs
 * write and its result after the last. The command's own connection when it holds one. NULL when
 * there is no database or it cannot be read (said once).
 */
static sqlite3 *open_reader(struct qpci_ctx *ctx, bool *own) {
        _cleanup_free_ char *path = NULL;
        sqlite3 *db = NULL;
        bool exists;
        int s, code;

        *own = false;
        if (ctx->db)
                return ctx->db;
        if (check_type(ctx, &exists) < 0) {
                not_a_file(ctx, false);
                return NULL;
        }
        if (!exists || !(path = db_path(ctx)))
                return NULL;
        for (int attempt = 0;; attempt++) {
                s = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
                if (s != SQLITE_OK)
                        break;
                sqlite3_extended_result_codes(db, 1);
                sqlite3_busy_timeout(db, BUSY_MS);
                int damaged = check_db(db, &s);
                if (damaged == 1 || (damaged == 0 && check_tables(db, &code) == 1)) {
                        sqlite3_close(db);
                        qpci_state_damaged(ctx, damaged == 1 ? s : code);
                        return NULL;
                }
                if (damaged == 0) {
                        *own = true;
                        return db;
                }
                sqlite3_close(db);
                db = NULL;
                /* A command killed in its commit left a rollback journal, which only a writer plays
                 * back: one, when no command runs, and then read again. */
                if (attempt > 0 || (s & 0xff) != SQLITE_READONLY || ctx->state_refs > 0 || state_open(ctx, false) < 0)
                        break;
                qpci_state_close(ctx);
        }
        warn_once(ctx, "cannot read %s (%s): what is shown comes from sysfs alone", path, sqlite3_errstr(s));
        sqlite3_close(db);
        return NULL;
}

static void close_reader(sqlite3 *db, bool own) {
        if (own)
                sqlite3_close(db);
}

void qpci_state_damaged(struct qpci_ctx *ctx, int code) {
        _cleanup_free_ char *path = db_path(ctx);

        /* Set aside at once when no move is under way; open_db does it under the lock. */
        if (ctx->state_refs == 0 && state_open(ctx, false) == 0) {
                qpci_state_close(ctx);
                return;
        }
        warn_once(ctx, "%s is damaged (%s): what is shown comes from sysfs alone; the next qpci command that "
                  "moves devices sets it aside", path ? path : DB_FILE, sqlite3_errstr(code));
}

/* A read's failure: damage is handled as damage, anything else said once. */
static int read_failed(struct qpci_ctx *ctx, sqlite3 *db, int code, const char *doing) {
        _cleanup_free_ char *path = db_path(ctx);

        if (db == ctx->db)
                return db_error(ctx, db, code, doing);
        if (is_damage(code))
                qpci_state_damaged(ctx, code);
        else
                warn_once(ctx, "cannot %s in %s (%s): what is shown comes from sysfs alone", doing,
                          path ? path : DB_FILE, sqlite3_errstr(code));
        return -EIO;
}

int qpci_state_lock_vms(struct qpci_ctx *ctx) {
        _cleanup_close_ int fd = -1;
        int r = mkdirs_rooted(ctx, STATE_DIR);

        if (r < 0)
                return log_error_errno(ctx, r, "cannot create %s/%s: %s", qpci_root_prefix(ctx), STATE_DIR,
                                       strerror(-r));
        fd = openat(ctx->root_fd, STATE_DIR "/vms.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return log_error_errno(ctx, -errno, "cannot open the qpci VM lock: %s", strerror(errno));
        if ((r = wait_for_lock(ctx, fd, "giving devices to a VM", "the hypervisor (its log says)",
                                 ctx->vm_lock_timeout_ms)) < 0)
                return r;
        write_holder(fd);
        return TAKE_FD(fd);
}

int qpci_state_begin(struct qpci_ctx *ctx) {
        return exec(ctx, "BEGIN IMMEDIATE", "change qpci's state");
}

int qpci_state_commit(struct qpci_ctx *ctx) {
        return exec(ctx, "COMMIT", "save qpci's state");
}

void qpci_state_rollback(struct qpci_ctx *ctx) {
        if (!sqlite3_get_autocommit(ctx->db))
                sqlite3_exec(ctx->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Runs one prepared statement that returns no rows, and finalizes it. */
static int run(struct qpci_ctx *ctx, sqlite3_stmt *st, const char *doing) {
        int s = sqlite3_step(st);
        sqlite3_finalize(st);
        return s == SQLITE_DONE ? 0 : db_error(ctx, ctx->db, s, doing);
}

static int prepare(struct qpci_ctx *ctx, const char *sql, sqlite3_stmt **st, const char *doing) {
        int s = sqlite3_prepare_v2(ctx->db, sql, -1, st, NULL);
        return s == SQLITE_OK ? 0 : db_error(ctx, ctx->db, s, doing);
}

int qpci_journal_add(struct qpci_ctx *ctx, const char *op, const char *bdf, const char *from_driver,
                     const char *from_override) {
        static const char doing[] = "record where the devices are before moving them";
        sqlite3_stmt *st = NULL;
        int r;

        if ((r = prepare(ctx, "INSERT INTO journal (op, bdf, from_driver, from_override) VALUES (?,?,?,?)", &st,
                         doing)) < 0)
                return r;
        sqlite3_bind_text(st, 1, op, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, bdf, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, from_driver, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, from_override, -1, SQLITE_STATIC);
        return run(ctx, st, doing);
}

int qpci_journal_clear(struct qpci_ctx *ctx) {
        return exec(ctx, "DELETE FROM journal", "clear the journal of the move");
}

int qpci_journal_forget(struct qpci_ctx *ctx, const char *bdf) {
        static const char doing[] = "remove a device from the journal";
        sqlite3_stmt *st = NULL;
        int r;

        if ((r = prepare(ctx, "DELETE FROM journal WHERE bdf = ?", &st, doing)) < 0)
                return r;
        sqlite3_bind_text(st, 1, bdf, -1, SQLITE_STATIC);
        return run(ctx, st, doing);
}

int qpci_journal_foreach(struct qpci_ctx *ctx,
                         int (*fn)(struct qpci_ctx *ctx, const char *op, const char *bdf, const char *from_driver,
                                   const char *from_override, void *data),
                         void *data) {
        static const char doing[] = "read the journal of an interrupted move";
        sqlite3_stmt *st = NULL;
        int r = 0, s;

        /* Newest first: undo runs backwards through what was done. */
        if ((r = prepare(ctx, "SELECT op, bdf, from_driver, from_override FROM journal ORDER BY seq DESC", &st,
                         doing)) < 0)
                return r;
        while ((s = sqlite3_step(st)) == SQLITE_ROW) {
                const char *op = col_text(st, 0), *bdf = col_text(st, 1), *from = col_text(st, 2),
                           *override = col_text(st, 3);
                /* Where a device goes back to comes from this row alone: one that does not say is
                 * no instruction. */
                if (!op || !valid_bdf(bdf) || !valid_driver(from) || !valid_driver(override)) {
                        bad_row(ctx, "journal", bdf);
                        continue;
                }
                int k = fn(ctx, op, bdf, from, override, data);
                if (k < 0 && r == 0)
                        r = k;
        }
        if (s != SQLITE_DONE && r == 0)
                r = db_error(ctx, ctx->db, s, doing);
        sqlite3_finalize(st);
        return r;
}

int qpci_state_record_hidden(struct qpci_ctx *ctx, const char *bdf, uint16_t vendor, uint16_t device,
                             const char *host_driver, const char *stub, bool bound_by_qpci, bool persistent) {
        static const char doing[] = "record which devices qpci hid";
        sqlite3_stmt *st = NULL;
        int r;

        /* A device hidden again keeps the host driver first recorded for it, and stays persistent
         * once asked to. */
        if ((r = prepare(ctx,
                         "INSERT INTO devices (bdf, vendor, device, host_driver, stub, bound_by_qpci, persistent, "
                         "hidden_at) VALUES (?1,?2,?3,?4,?5,?6,?8,?7) ON CONFLICT(bdf) DO UPDATE SET "
                         "vendor=?2, device=?3, stub=?5, persistent=max(persistent, ?8), "
                         "host_driver=CASE WHEN vendor=?2 AND device=?3 AND ?6=0 AND host_driver IS NOT NULL "
                         "THEN host_driver ELSE ?4 END, "
                         "bound_by_qpci=CASE WHEN vendor=?2 AND device=?3 AND ?6=0 THEN bound_by_qpci ELSE ?6 END",
                         &st, doing)) < 0)
                return r;
        sqlite3_bind_text(st, 1, bdf, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, vendor);
        sqlite3_bind_int(st, 3, device);
        sqlite3_bind_text(st, 4, host_driver, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, stub, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 6, bound_by_qpci);
        sqlite3_bind_int64(st, 7, (sqlite3_int64)time(NULL));
        sqlite3_bind_int(st, 8, persistent);
        return run(ctx, st, doing);
}

/* One statement on one device's row, by address (and ids, when the statement has ?2 and ?3). */
static int device_row(struct qpci_ctx *ctx, const char *sql, const char *bdf, uint16_t vendor, uint16_t device,
                      const char *doing) {
        sqlite3_stmt *st = NULL;
        int r;

        if ((r = prepare(ctx, sql, &st, doing)) < 0)
                return r;
        sqlite3_bind_text(st, 1, bdf, -1, SQLITE_STATIC);
        if (sqlite3_bind_parameter_count(st) >= 3) {
                sqlite3_bind_int(st, 2, vendor);
                sqlite3_bind_int(st, 3, device);
        }
        return run(ctx, st, doing);
}

static int forget_permissive(struct qpci_ctx *ctx, const char *bdf) {
        return device_row(ctx, "DELETE FROM permissive WHERE bdf = ?1", bdf, 0, 0,
                          "forget a device's permissive mode");
}

/* A device given back keeps nothing of qpci's: neither its record nor a boot-time permissive mode.
 * 1 when one of them wrote a boot-time rule (the rule file changes), 0 when neither did: most
 * devices given back were hidden for now only, and their unhide then leaves the file alone. */
int qpci_state_forget(struct qpci_ctx *ctx, const char *bdf) {
        static const char doing[] = "forget a device given back";
        bool rule = false;
        int r = device_row(ctx, "DELETE FROM devices WHERE bdf = ?1 AND NOT persistent", bdf, 0, 0, doing);

        if (r >= 0 && sqlite3_changes(ctx->db) == 0) {
                r = device_row(ctx, "DELETE FROM devices WHERE bdf = ?1", bdf, 0, 0, doing);
                rule = sqlite3_changes(ctx->db) > 0;
        }
        if (r >= 0 && (r = forget_permissive(ctx, bdf)) >= 0)
                rule |= sqlite3_changes(ctx->db) > 0;
        return r < 0 ? r : rule;
}

int qpci_state_permissive_at_boot(struct qpci_ctx *ctx, const char *bdf, uint16_t vendor, uint16_t device, bool keep) {
        int r = qpci_state_open(ctx);

        if (r < 0)
                return r;
        if ((r = qpci_state_begin(ctx)) >= 0) {
                r = keep ? device_row(ctx, "INSERT OR REPLACE INTO permissive (bdf, vendor, device) VALUES (?1, ?2, ?3)",
                                      bdf, vendor, device, "record a device's permissive mode")
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
        static const char doing[] = "read which driver a device had";
        sqlite3_stmt *st = NULL;
        int r, s;

        buf[0] = '\0';
        /* The record is only trusted for the same device: an address can hold another card later. */
        if ((r = prepare(ctx, "SELECT host_driver FROM devices WHERE bdf = ? AND vendor = ? AND device = ?", &st,
                         doing)) < 0)
                return r;
        sqlite3_bind_text(st, 1, bdf, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, vendor);
        sqlite3_bind_int(st, 3, device);
        s = sqlite3_step(st);
        if (s == SQLITE_ROW) {
                const char *drv = col_text(st, 0);
                if (valid_driver(drv)) {
                        snprintf(buf, size, "%s", drv);
                        r = 1;
                } else
                        bad_row(ctx, "device", bdf);
        } else if (s != SQLITE_DONE)
                r = db_error(ctx, ctx->db, s, doing);
        sqlite3_finalize(st);
        return r;
}

int qpci_state_mark_tainted(struct qpci_ctx *ctx, const char *bdf, uint16_t vendor, uint16_t device, const char *vm) {
        static const char doing[] = "record that a VM used a device without a reliable reset";
        sqlite3_stmt *st = NULL;
        int r;

        if ((r = qpci_state_open(ctx)) < 0)
                return r;
        if ((r = prepare(ctx, "INSERT OR REPLACE INTO tainted (bdf, vendor, device, vm, since) VALUES (?,?,?,?,?)",
                         &st, doing)) >= 0) {
                sqlite3_bind_text(st, 1, bdf, -1, SQLITE_STATIC);
                sqlite3_bind_int(st, 2, vendor);
                sqlite3_bind_int(st, 3, device);
                sqlite3_bind_text(st, 4, vm, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 5, (sqlite3_int64)time(NULL));
                r = run(ctx, st, doing);
        }
        qpci_state_close(ctx);
        return r;
}

int qpci_state_tainted_by(struct qpci_ctx *ctx, const char *bdf, uint16_t vendor, uint16_t device, char **ret) {
        bool own;
        sqlite3 *db = open_reader(ctx, &own);
        sqlite3_stmt *st = NULL;
        int r = 0, s;

        *ret = NULL;
        if (!db)
                return 0;
        s = sqlite3_prepare_v2(db, "SELECT vm FROM tainted WHERE bdf = ? AND vendor = ? AND device = ?", -1, &st, NULL);
        if (s == SQLITE_OK) {
                sqlite3_bind_text(st, 1, bdf, -1, SQLITE_STATIC);
                sqlite3_bind_int(st, 2, vendor);
                sqlite3_bind_int(st, 3, device);
                s = sqlite3_step(st);
        }
        if (s == SQLITE_ROW) {
                /* The VM's whole name, however long libvirt let it be: a cut one would warn about the
                 * wrong VM, or about the very VM that used it. A row without one still says the
                 * device is tainted. */
                const char *vm = col_text(st, 0);
                r = (*ret = strdup(vm && vm[0] ? vm : "a VM qpci cannot name")) ? 1 : -ENOMEM;
        }
        sqlite3_finalize(st);
        if (s != SQLITE_ROW && s != SQLITE_DONE)
                read_failed(ctx, db, s, "read which devices are tainted");
        close_reader(db, own);
        return r;
}

bool qpci_state_journal_pending(struct qpci_ctx *ctx) {
        bool own;
        sqlite3 *db = open_reader(ctx, &own);
        sqlite3_stmt *st = NULL;
        int s;

        if (!db)
                return false;
        s = sqlite3_prepare_v2(db, "SELECT 1 FROM journal LIMIT 1", -1, &st, NULL);
        if (s == SQLITE_OK)
                s = sqlite3_step(st);
        sqlite3_finalize(st);
        if (s != SQLITE_ROW && s != SQLITE_DONE)
                read_failed(ctx, db, s, "read the journal");
        close_reader(db, own);
        return s == SQLITE_ROW;
}

int qpci_state_foreach_hidden(struct qpci_ctx *ctx,
                              void (*fn)(const char *bdf, uint16_t vendor, uint16_t device, const char *host_driver,
                                         void *data),
                              void *data) {
        bool own;
        sqlite3 *db = open_reader(ctx, &own);
        sqlite3_stmt *st = NULL;
        int r = 0, s;

        if (!db)
                return 0;
        s = sqlite3_prepare_v2(db, "SELECT bdf, vendor, device, host_driver FROM devices", -1, &st, NULL);
        while (s == SQLITE_OK && (s = sqlite3_step(st)) == SQLITE_ROW) {
                const char *bdf = col_text(st, 0), *drv = col_text(st, 3);
                int vendor = col_id(st, 1), device = col_id(st, 2);
                if (!valid_bdf(bdf) || vendor < 0 || device < 0 || !valid_driver(drv)) {
                        bad_row(ctx, "device", bdf);
                        s = SQLITE_OK;
                        continue;
                }
                fn(bdf, vendor, device, drv, data);
                s = SQLITE_OK;
        }
        sqlite3_finalize(st);
        /* A loop that ends early on an error has shown only part of the state: say so. */
        if (s != SQLITE_DONE)
                r = read_failed(ctx, db, s, "read which devices qpci hid");
        close_reader(db, own);
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

/* The rows of one query, each printed by a rule format; returns how many. What goes into a rule is
 * checked first: udev runs these as root at every boot. */
static int print_rules(struct qpci_ctx *ctx, FILE *f, const char *sql, bool hide) {
        static const char doing[] = "read which devices stay hidden at boot";
        sqlite3_stmt *st = NULL;
        int n = 0, r, s;

        if ((r = prepare(ctx, sql, &st, doing)) < 0)
                return r;
        while ((s = sqlite3_step(st)) == SQLITE_ROW) {
                const char *bdf = col_text(st, 0), *stub = hide ? col_text(st, 3) : "pciback";
                int vendor = col_id(st, 1), device = col_id(st, 2);
                if (!valid_bdf(bdf) || vendor < 0 || device < 0 || !stub || !qpci_driver_is_stub(stub) ||
                    streq(stub, "pci-stub")) {
                        bad_row(ctx, hide ? "device" : "permissive", bdf);
                        continue;
                }
                fprintf(f, "ACTION==\"%s\", SUBSYSTEM==\"pci\", KERNEL==\"%s\", ATTR{vendor}==\"0x%04x\", "
                           "ATTR{device}==\"0x%04x\", ",
                        hide ? "add" : "add|bind", bdf, vendor, device);
                if (hide) {
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
        return s == SQLITE_DONE ? n : db_error(ctx, ctx->db, s, doing);
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
