/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The state database and its lock on a fixture tree, fed what a database file can hold after a
 * crash, a bad disk or a hand edit: damaged pages, rows with NULLs, a directory in its place, a
 * full or read-only file system, and other processes holding the lock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <time.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>

#include "qpci-internal.h"

struct fx {
        char root[64];
        struct qpci_ctx *ctx;
        char log[8192]; /* everything logged, one message a line */
        int clobber_errno; /* the log function sets errno to this, as stdio may */
};

static void log_capture(void *data, int priority, const char *fmt, va_list args) {
        struct fx *f = data;
        size_t len = strlen(f->log);

        (void)priority;
        vsnprintf(f->log + len, sizeof(f->log) - len, fmt, args);
        len = strlen(f->log);
        if (len + 1 < sizeof(f->log))
                strcpy(f->log + len, "\n");
        if (f->clobber_errno)
                errno = f->clobber_errno;
}

static void path_of(struct fx *f, char *buf, size_t size, const char *rel) {
        snprintf(buf, size, "%s/%s", f->root, rel);
}

static int setup(void **state) {
        struct fx *f = calloc(1, sizeof(*f));
        char cmd[512];

        assert_non_null(f);
        strcpy(f->root, "/tmp/qpci-state-XXXXXX");
        assert_non_null(mkdtemp(f->root));
        snprintf(cmd, sizeof(cmd), "python3 %s/tests/fixture/mkfixture.py --force %s/tests/topologies/gpu-switch.topo %s",
                 QPCI_SOURCE_ROOT, QPCI_SOURCE_ROOT, f->root);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(qpci_new(f->root, &f->ctx), 0);
        qpci_set_log_fn(f->ctx, log_capture, f);
        qpci_set_log_priority(f->ctx, QPCI_LOG_INFO);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fx *f = *state;
        char cmd[128];

        qpci_unref(f->ctx);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
        assert_int_equal(system(cmd), 0);
        free(f);
        return 0;
}

/* The code a failure returns is the one it had, whatever logging it did to errno. */
static void test_error_code_survives_logging(void **state) {
        struct fx *f = *state;
        int r;

        f->clobber_errno = EPIPE;
        errno = ENOENT;
        r = log_error_errno(f->ctx, -errno, "probe: %s", strerror(errno));
        assert_int_equal(r, -ENOENT);
        assert_non_null(strstr(f->log, "probe: No such file or directory"));
}

static size_t count_lines(const char *log, const char *needle) {
        size_t n = 0;
        for (const char *p = log; (p = strstr(p, needle)); p++)
                n++;
        return n;
}

/* No SQL in what users read, and the file named. */
static void assert_words(struct fx *f) {
        assert_null(strstr(f->log, "SELECT"));
        assert_null(strstr(f->log, "INSERT"));
        assert_null(strstr(f->log, "CREATE"));
        assert_null(strstr(f->log, "PRAGMA"));
}

/* Runs SQL on the fixture's database as another program would (a hand edit, an older qpci). */
static void raw_sql(struct fx *f, const char *sql) {
        char path[PATH_MAX];
        sqlite3 *db;

        path_of(f, path, sizeof(path), "var/lib/qpci/state.db");
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
                fail_msg("%s: %s", sql, sqlite3_errmsg(db));
        sqlite3_close(db);
}

static void mkdir_state(struct fx *f) {
        char cmd[PATH_MAX + 32];
        snprintf(cmd, sizeof(cmd), "mkdir -p %s/var/lib/qpci", f->root);
        assert_int_equal(system(cmd), 0);
}

static void make_db(struct fx *f) {
        assert_int_equal(qpci_state_open(f->ctx), 0);
        qpci_state_close(f->ctx);
}

/* Whether some process other than this one could take the lock now (a child tries). */
static bool lock_free(struct fx *f) {
        char path[PATH_MAX];
        int status;
        pid_t pid;

        path_of(f, path, sizeof(path), "var/lib/qpci/lock");
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int fd = open(path, O_RDWR);
                _exit(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : 1);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static const char *hidden_from(struct fx *f, const char *bdf, struct qpci_inventory **inv) {
        struct qpci_dev *d;

        assert_int_equal(qpci_inventory_new(f->ctx, inv), 0);
        assert_int_equal(qpci_inventory_lookup(*inv, bdf, &d, NULL), 0);
        return qpci_dev_get_hidden_from(d);
}

/* What a command holds, what it calls inside keeps: the lock stays until the command lets go. */
static void test_state_nests(void **state) {
        struct fx *f = *state;
        char *vm = NULL;

        assert_int_equal(qpci_state_open(f->ctx), 0);
        assert_false(lock_free(f));
        assert_int_equal(qpci_state_mark_tainted(f->ctx, "0000:03:00.0", 0x10de, 0x1b80, "sys-gpu"), 0);
        assert_non_null(f->ctx->db);
        assert_false(lock_free(f));
        assert_int_equal(qpci_state_permissive_at_boot(f->ctx, "0000:03:00.0", 0x10de, 0x1b80, false), 0);
        assert_non_null(f->ctx->db);
        assert_false(lock_free(f));
        assert_int_equal(qpci_state_tainted_by(f->ctx, "0000:03:00.0", 0x10de, 0x1b80, &vm), 1);
        assert_string_equal(vm, "sys-gpu");
        free(vm);
        qpci_state_close(f->ctx);
        assert_true(lock_free(f));
        assert_null(f->ctx->db);
}

/* A row as a database can hold it whatever qpci wrote: NULLs, a driver name that is a path. */
static void test_rows_with_nulls(void **state) {
        struct fx *f = *state;
        struct qpci_inventory *inv;
        char drv[64], *vm = NULL;

        make_db(f);
        raw_sql(f, "DROP TABLE devices; CREATE TABLE devices (bdf TEXT, vendor INTEGER, device INTEGER, host_driver "
                   "TEXT, stub TEXT, bound_by_qpci INTEGER, persistent INTEGER, hidden_at INTEGER);"
                   "INSERT INTO devices VALUES ('0000:03:00.0', 4318, 7040, NULL, 'vfio-pci', 1, 1, 0);"
                   "INSERT INTO devices VALUES ('0000:03:00.1', 4318, 4336, '../../../../tmp/x', 'vfio-pci', 1, 1, 0);"
                   "INSERT INTO devices VALUES (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);"
                   "INSERT INTO devices VALUES ('0000:04:00.0', 5197, 43016, 'nvme', 'x\" RUN+=\"/bin/evil', 1, 1, 0);"
                   "DROP TABLE tainted; CREATE TABLE tainted (bdf TEXT, vendor INTEGER, device INTEGER, vm TEXT, "
                   "since INTEGER); INSERT INTO tainted VALUES ('0000:03:00.0', 4318, 7040, NULL, NULL);"
                   "DROP TABLE journal; CREATE TABLE journal (seq INTEGER PRIMARY KEY, op TEXT, bdf TEXT, "
                   "from_driver TEXT, from_override TEXT); INSERT INTO journal (op) VALUES (NULL);");
        assert_null(hidden_from(f, "0000:03:00.0", &inv));
        qpci_inventory_unref(inv);
        assert_null(hidden_from(f, "0000:03:00.1", &inv));
        qpci_inventory_unref(inv);
        assert_string_equal(hidden_from(f, "0000:04:00.0", &inv), "nvme");
        qpci_inventory_unref(inv);
        assert_non_null(strstr(f->log, "damaged device record"));
        assert_int_equal(qpci_state_tainted_by(f->ctx, "0000:03:00.0", 0x10de, 0x1b80, &vm), 1);
        free(vm);
        assert_int_equal(qpci_state_open(f->ctx), 0);
        assert_int_equal(qpci_state_host_driver(f->ctx, "0000:03:00.0", 0x10de, 0x1b80, drv, sizeof(drv)), 0);
        assert_int_equal(qpci_state_host_driver(f->ctx, "0000:03:00.1", 0x10de, 0x10f0, drv, sizeof(drv)), 0);
        assert_string_equal(drv, "");
        /* A rule udev runs as root holds nothing a row made up. */
        char rules[PATH_MAX], text[4096] = "";
        assert_true(qpci_state_write_rules(f->ctx) >= 0);
        path_of(f, rules, sizeof(rules), "etc/udev/rules.d/40-qpci-hide.rules");
        FILE *fp = fopen(rules, "r");
        if (fp) {
                text[fread(text, 1, sizeof(text) - 1, fp)] = '\0';
                fclose(fp);
        }
        assert_null(strstr(text, "evil"));
        qpci_state_close(f->ctx);
        assert_words(f);
}

/* Random bytes over one page: said, the file kept aside, and qpci goes on from sysfs. */
static void test_damaged_database(void **state) {
        struct fx *f = *state;
        struct qpci_inventory *inv;
        char path[PATH_MAX], junk[4096];
        FILE *fp;

        assert_int_equal(qpci_state_open(f->ctx), 0);
        assert_int_equal(qpci_state_begin(f->ctx), 0);
        assert_int_equal(qpci_state_record_hidden(f->ctx, "0000:03:00.0", 0x10de, 0x1b80, "nouveau", "vfio-pci", true,
                                                  false), 0);
        assert_int_equal(qpci_state_commit(f->ctx), 0);
        qpci_state_close(f->ctx);
        assert_string_equal(hidden_from(f, "0000:03:00.0", &inv), "nouveau");
        qpci_inventory_unref(inv);

        path_of(f, path, sizeof(path), "var/lib/qpci/state.db");
        srand(7);
        for (size_t i = 0; i < sizeof(junk); i++)
                junk[i] = (char)rand();
        assert_non_null(fp = fopen(path, "r+"));
        assert_int_equal(fseek(fp, 4096, SEEK_SET), 0); /* page 2: the first table's */
        assert_int_equal(fwrite(junk, 1, sizeof(junk), fp), sizeof(junk));
        fclose(fp);

        f->log[0] = '\0';
        assert_null(hidden_from(f, "0000:03:00.0", &inv));
        qpci_inventory_unref(inv);
        assert_non_null(strstr(f->log, "is damaged"));
        assert_non_null(strstr(f->log, "state.db.damaged"));
        assert_words(f);
        /* Kept aside: the next command starts a new one. */
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "ls %s/var/lib/qpci/state.db.damaged* >/dev/null 2>&1", f->root);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(qpci_state_open(f->ctx), 0);
        assert_false(qpci_state_journal_pending(f->ctx));
        qpci_state_close(f->ctx);
}

/* Damage a command finds under the lock (a hide's start): set aside, and the command goes on. */
static void test_damaged_database_under_lock(void **state) {
        struct fx *f = *state;
        char path[PATH_MAX], cmd[256];

        mkdir_state(f);
        path_of(f, path, sizeof(path), "var/lib/qpci/state.db");
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        fputs("this is not a database, and never was one; it is long enough to be read as a header.....", fp);
        fclose(fp);
        assert_int_equal(qpci_state_open(f->ctx), 0);
        assert_int_equal(qpci_state_begin(f->ctx), 0);
        assert_int_equal(qpci_journal_clear(f->ctx), 0);
        assert_int_equal(qpci_state_commit(f->ctx), 0);
        qpci_state_close(f->ctx);
        assert_int_equal(count_lines(f->log, "is damaged"), 1);
        snprintf(cmd, sizeof(cmd), "grep -q 'never was one' %s/var/lib/qpci/state.db.damaged*", f->root);
        assert_int_equal(system(cmd), 0);
        assert_words(f);
}

/* A directory where the database goes: one warning for a listing, one error for a move. */
static void test_directory_database(void **state) {
        struct fx *f = *state;
        struct qpci_inventory *inv;
        char path[PATH_MAX], *vm = NULL;

        mkdir_state(f);
        path_of(f, path, sizeof(path), "var/lib/qpci/state.db");
        assert_int_equal(mkdir(path, 0755), 0);
        assert_false(qpci_state_journal_pending(f->ctx));
        assert_null(hidden_from(f, "0000:03:00.0", &inv));
        qpci_inventory_unref(inv);
        assert_int_equal(qpci_state_tainted_by(f->ctx, "0000:03:00.0", 0x10de, 0x1b80, &vm), 0);
        assert_null(vm);
        assert_int_equal(count_lines(f->log, "\n"), 1);
        assert_non_null(strstr(f->log, "state.db is not a file"));
        f->log[0] = '\0';
        assert_true(qpci_state_open(f->ctx) < 0);
        assert_int_equal(count_lines(f->log, "\n"), 1);
        assert_non_null(strstr(f->log, "move it away"));
        assert_true(lock_free(f));
}

/* A child that takes a lock with take() and holds it until killed, as another command stuck in a
 * driver or the hypervisor would; returns once it holds it. */
static pid_t fork_holder(struct fx *f, int (*take)(struct qpci_ctx *ctx)) {
        int pipefd[2];
        char c;
        pid_t pid;

        assert_int_equal(pipe(pipefd), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct qpci_ctx *ctx;
                close(pipefd[0]);
                if (qpci_new(f->root, &ctx) < 0 || take(ctx) < 0)
                        _exit(1);
                assert_int_equal(write(pipefd[1], "x", 1), 1);
                pause();
                _exit(0);
        }
        close(pipefd[1]);
        assert_int_equal(read(pipefd[0], &c, 1), 1);
        close(pipefd[0]);
        return pid;
}

/* Another command holds the lock, as one stuck in a driver's unbind would. */
static void test_lock_held(void **state) {
        struct fx *f = *state;
        struct qpci_inventory *inv;
        int status;
        pid_t pid;

        make_db(f);
        assert_int_equal(qpci_state_open(f->ctx), 0);
        assert_int_equal(qpci_state_begin(f->ctx), 0);
        assert_int_equal(qpci_state_record_hidden(f->ctx, "0000:03:00.0", 0x10de, 0x1b80, "nouveau", "vfio-pci", true,
                                                  false), 0);
        assert_int_equal(qpci_journal_add(f->ctx, "hide", "0000:03:00.1", "snd_hda_intel", ""), 0);
        assert_int_equal(qpci_state_commit(f->ctx), 0);
        qpci_state_close(f->ctx);

        pid = fork_holder(f, qpci_state_open);

        /* Readers: at once, and they see what was committed. */
        time_t t0 = time(NULL);
        assert_string_equal(hidden_from(f, "0000:03:00.0", &inv), "nouveau");
        qpci_inventory_unref(inv);
        assert_true(qpci_state_journal_pending(f->ctx));
        assert_true(time(NULL) - t0 <= 1);
        /* A writer: says for whom it waits, and gives up. */
        qpci_set_lock_timeout(f->ctx, 1);
        f->log[0] = '\0';
        assert_int_equal(qpci_state_open(f->ctx), -EBUSY);
        assert_true(time(NULL) - t0 <= 4);
        char holder[32];
        snprintf(holder, sizeof(holder), "pid %d: ", (int)pid);
        assert_int_equal(count_lines(f->log, holder), 2); /* waiting for it, then giving up */
        assert_non_null(strstr(f->log, "test-state"));
        assert_non_null(strstr(f->log, "gave up after 1 s"));
        assert_null(f->ctx->db);

        kill(pid, SIGKILL);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_int_equal(qpci_state_open(f->ctx), 0);
        qpci_state_close(f->ctx);
}

/* Another command holds the VM lock, as a VM start stuck in the hypervisor would: a second one
 * says for whom it waits, gives up after its bound, and a later one gets the lock. */
static void test_vm_lock_held(void **state) {
        struct fx *f = *state;
        int status, fd;
        char holder[32];
        pid_t pid;

        pid = fork_holder(f, qpci_state_lock_vms);

        time_t t0 = time(NULL);
        qpci_set_lock_timeout(f->ctx, 1);
        f->log[0] = '\0';
        assert_int_equal(qpci_state_lock_vms(f->ctx), -EBUSY);
        assert_true(time(NULL) - t0 <= 4);
        snprintf(holder, sizeof(holder), "pid %d: ", (int)pid);
        assert_int_equal(count_lines(f->log, holder), 2); /* waiting for it, then giving up */
        assert_int_equal(count_lines(f->log, "finish giving devices to a VM"), 1);
        assert_int_equal(count_lines(f->log, "gave up after 1 s"), 1);

        kill(pid, SIGKILL);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        f->log[0] = '\0';
        fd = qpci_state_lock_vms(f->ctx);
        assert_true(fd >= 0);
        assert_string_equal(f->log, "");
        close(fd);
}

/* A journal that cannot be played back: a device gone (unplugged), another whose driver will not
 * take it back. Moves are refused with what to do, readers go on, and recover ends it by hand. */
static void test_unreplayable_journal(void **state) {
        struct fx *f = *state;
        struct qpci_inventory *inv;
        struct qpci_recovered *got = NULL;
        size_t n = 99;

        make_db(f);
        assert_int_equal(qpci_state_open(f->ctx), 0);
        assert_int_equal(qpci_state_begin(f->ctx), 0);
        assert_int_equal(qpci_journal_add(f->ctx, "hide", "0000:0f:00.0", "e1000e", ""), 0);
        assert_int_equal(qpci_journal_add(f->ctx, "hide", "0000:04:00.0", "e1000e", ""), 0);
        assert_int_equal(qpci_state_commit(f->ctx), 0);
        qpci_state_close(f->ctx);

        f->log[0] = '\0';
        assert_int_equal(qpci_host_recover(f->ctx), -EBUSY);
        assert_non_null(strstr(f->log, "left 0000:04:00.0 (on nvme, not back on e1000e), 0000:0f:00.0 (gone from this "
                                       "host) half-moved"));
        assert_non_null(strstr(f->log, "run 'qpci recover'"));
        assert_true(lock_free(f));
        /* Reading goes on, with a warning, and the journal stays for the next try. */
        f->log[0] = '\0';
        assert_int_equal(qpci_host_recover_reading(f->ctx), 0);
        assert_non_null(strstr(f->log, "what is shown is as sysfs has it"));
        assert_int_equal(qpci_inventory_new(f->ctx, &inv), 0);
        qpci_inventory_unref(inv);
        assert_true(qpci_state_journal_pending(f->ctx));

        /* By hand: the gone device's move ends; the stuck one stays, said. */
        assert_int_equal(qpci_host_recover_by_hand(f->ctx, NULL, 0, &got, &n), -EBUSY);
        assert_int_equal(n, 2);
        for (size_t i = 0; i < n; i++) {
                if (streq(got[i].bdf, "0000:0f:00.0"))
                        assert_int_equal(got[i].state, QPCI_RECOVERED_GONE);
                else {
                        assert_string_equal(got[i].bdf, "0000:04:00.0");
                        assert_int_equal(got[i].state, QPCI_RECOVERED_STUCK);
                        assert_string_equal(got[i].now, "nvme");
                        assert_string_equal(got[i].was, "e1000e");
                }
        }
        free(got);
        /* Only a device of the move can be forgotten. */
        assert_int_equal(qpci_host_recover_by_hand(f->ctx, (const char *[]){"03:00.0"}, 1, &got, &n), -ENOENT);
        assert_null(got);
        assert_int_equal(qpci_host_recover_by_hand(f->ctx, (const char *[]){"dom0:04_00.0"}, 1, &got, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(got[0].state, QPCI_RECOVERED_LEFT);
        assert_string_equal(got[0].now, "nvme");
        free(got);
        assert_false(qpci_state_journal_pending(f->ctx));
        assert_int_equal(qpci_host_recover(f->ctx), 0);
        assert_int_equal(qpci_host_recover_by_hand(f->ctx, NULL, 0, &got, &n), 0);
        assert_int_equal(n, 0);
        free(got);
        assert_true(lock_free(f));
}

/* A reader meets the live intent of a move under way: it neither waits nor puts anything back. */
static void test_reader_during_move(void **state) {
        struct fx *f = *state;
        char path[PATH_MAX];
        int fd;

        make_db(f);
        assert_int_equal(qpci_state_open(f->ctx), 0);
        assert_int_equal(qpci_state_begin(f->ctx), 0);
        assert_int_equal(qpci_journal_add(f->ctx, "hide", "0000:04:00.0", "e1000e", ""), 0);
        assert_int_equal(qpci_state_commit(f->ctx), 0);
        qpci_state_close(f->ctx);
        path_of(f, path, sizeof(path), "var/lib/qpci/lock");
        assert_true((fd = open(path, O_RDWR)) >= 0);
        assert_int_equal(flock(fd, LOCK_EX), 0);
        assert_int_equal(pwrite(fd, "pid 4242: qvm-pci hide 04:00.0\n", 31, 0), 31);
        f->log[0] = '\0';
        assert_int_equal(qpci_host_recover_reading(f->ctx), 0);
        assert_non_null(strstr(f->log, "another qpci command (pid 4242: qvm-pci hide 04:00.0) is moving devices"));
        assert_true(qpci_state_journal_pending(f->ctx));
        close(fd);
}

/* Inside the child of in_tmpfs(): no cmocka there (a failure would run the rest of the tests in
 * the child too), but a line on stderr and exit status 1. */
#define CHECK(cond)                                                                                  \
        do {                                                                                         \
                if (!(cond)) {                                                                       \
                        fprintf(stderr, "%s:%d: %s failed; logged: %s\n", __FILE__, __LINE__, #cond, \
                                f->log);                                                             \
                        _exit(1);                                                                    \
                }                                                                                    \
        } while (0)

/* In a mount namespace of its own (the host's mounts untouched): a child mounts a small tmpfs over
 * the state folder and runs fn there. Skipped where mounting is not allowed. */
static void in_tmpfs(struct fx *f, const char *opts, void (*fn)(struct fx *f, const char *dir)) {
        char dir[PATH_MAX];
        int status;
        pid_t pid;

        path_of(f, dir, sizeof(dir), "var/lib/qpci");
        mkdir_state(f);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
                    mount("tmpfs", dir, "tmpfs", 0, opts) < 0)
                        _exit(77);
                /* A context of this namespace: its root descriptor would still see the old mounts. */
                qpci_unref(f->ctx);
                if (qpci_new(f->root, &f->ctx) < 0)
                        _exit(1);
                qpci_set_log_fn(f->ctx, log_capture, f);
                fn(f, dir);
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
                skip();
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Whether the lock is free, from this process: another descriptor of the file. */
static bool lock_free_here(struct fx *f) {
        char path[PATH_MAX];
        _cleanup_close_ int fd = -1;

        path_of(f, path, sizeof(path), "var/lib/qpci/lock");
        fd = open(path, O_RDWR);
        return fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0;
}

static void full_disk(struct fx *f, const char *dir) {
        char cmd[PATH_MAX + 64];
        int r;

        /* The lock file and an empty database fit; the journal does not. */
        CHECK(qpci_state_open(f->ctx) == 0);
        qpci_state_close(f->ctx);
        snprintf(cmd, sizeof(cmd), "dd if=/dev/zero of=%s/filler bs=4k count=1024 2>/dev/null", dir);
        CHECK(system(cmd) != -1);
        f->log[0] = '\0';
        CHECK(qpci_state_open(f->ctx) == 0);
        r = qpci_state_begin(f->ctx);
        if (r >= 0) {
                for (int i = 0; r >= 0 && i < 64; i++)
                        r = qpci_journal_add(f->ctx, "hide", "0000:03:00.0", "nouveau",
                                             "a long override to fill pages............................");
                if (r >= 0)
                        r = qpci_state_commit(f->ctx);
                if (r < 0)
                        qpci_state_rollback(f->ctx);
        }
        qpci_state_close(f->ctx);
        CHECK(r == -ENOSPC);
        CHECK(count_lines(f->log, "\n") == 1);
        CHECK(strstr(f->log, "is full; free some space"));
        CHECK(strstr(f->log, "state.db"));
        CHECK(!strstr(f->log, "INSERT") && !strstr(f->log, "SELECT"));
        CHECK(lock_free_here(f));
}

static void test_full_disk(void **state) {
        in_tmpfs(*state, "size=64k", full_disk);
}

static void read_only(struct fx *f, const char *dir) {
        struct qpci_inventory *inv;
        struct qpci_dev *d;

        CHECK(qpci_state_open(f->ctx) == 0);
        CHECK(qpci_state_begin(f->ctx) == 0);
        CHECK(qpci_state_record_hidden(f->ctx, "0000:03:00.0", 0x10de, 0x1b80, "nouveau", "vfio-pci", true, false) == 0);
        CHECK(qpci_state_commit(f->ctx) == 0);
        qpci_state_close(f->ctx);
        CHECK(mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY, NULL) == 0);
        f->log[0] = '\0';
        /* Reading needs no write. */
        CHECK(qpci_inventory_new(f->ctx, &inv) == 0);
        CHECK(qpci_inventory_lookup(inv, "0000:03:00.0", &d, NULL) == 0);
        CHECK(qpci_dev_get_hidden_from(d) && streq(qpci_dev_get_hidden_from(d), "nouveau"));
        qpci_inventory_unref(inv);
        CHECK(f->log[0] == '\0');
        /* A change is refused in one line that says what to do. */
        CHECK(qpci_state_open(f->ctx) < 0);
        CHECK(count_lines(f->log, "\n") == 1);
        CHECK(strstr(f->log, "make it writable"));
}

static void test_read_only(void **state) {
        in_tmpfs(*state, "size=1m", read_only);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_error_code_survives_logging, setup, teardown),
                cmocka_unit_test_setup_teardown(test_state_nests, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rows_with_nulls, setup, teardown),
                cmocka_unit_test_setup_teardown(test_damaged_database, setup, teardown),
                cmocka_unit_test_setup_teardown(test_damaged_database_under_lock, setup, teardown),
                cmocka_unit_test_setup_teardown(test_directory_database, setup, teardown),
                cmocka_unit_test_setup_teardown(test_lock_held, setup, teardown),
                cmocka_unit_test_setup_teardown(test_vm_lock_held, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unreplayable_journal, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reader_during_move, setup, teardown),
                cmocka_unit_test_setup_teardown(test_full_disk, setup, teardown),
                cmocka_unit_test_setup_teardown(test_read_only, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
