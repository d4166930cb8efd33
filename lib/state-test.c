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
#include <sys/file.h>
#include <sys/stat.h>
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

static _unused_ void path_of(struct fx *f, char *buf, size_t size, const char *rel) {
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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_error_code_survives_logging, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
