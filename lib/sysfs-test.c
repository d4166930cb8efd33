/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Closing descriptors in batches: all of the batch's, none of anyone else's. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>

#include "qpci-internal.h"

static bool is_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }

/* Opens n descriptors on /dev/null into fds. */
static void open_some(int *fds, size_t n) {
        for (size_t i = 0; i < n; i++) {
                fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
                assert_true(fds[i] >= 0);
        }
}

/* Another's descriptor between the batch's stays open, as do those opened after the batch's. */
static void test_batch_leaves_others_open(void **state) {
        (void)state;
        struct qpci_fd_batch b = {0};
        int mine[6], theirs, later;

        open_some(mine, 3);
        open_some(&theirs, 1);
        open_some(mine + 3, 3);
        for (size_t i = 0; i < 6; i++)
                qpci_fd_batch_close(&b, mine[5 - i]); /* out of order, as a function's directory is */
        open_some(&later, 1);
        for (size_t i = 0; i < 6; i++)
                assert_true(is_open(mine[i]));
        qpci_fd_batch_flush(&b);
        for (size_t i = 0; i < 6; i++)
                assert_false(is_open(mine[i]));
        assert_true(is_open(theirs));
        assert_true(is_open(later));
        assert_int_equal(b.n, 0);
        close(theirs);
        close(later);
}

/* More than a batch holds: the earlier ones are closed as the batch fills, the rest at the flush. */
static void test_batch_full(void **state) {
        (void)state;
        struct qpci_fd_batch b = {0};
        size_t n = ELEMENTSOF(b.fds) + 5;
        int *fds = calloc(n, sizeof(*fds));

        assert_non_null(fds);
        open_some(fds, n);
        for (size_t i = 0; i < n; i++)
                qpci_fd_batch_close(&b, fds[i]);
        assert_false(is_open(fds[0]));
        assert_false(is_open(fds[ELEMENTSOF(b.fds) - 1]));
        assert_true(is_open(fds[n - 1]));
        qpci_fd_batch_flush(&b);
        for (size_t i = 0; i < n; i++)
                assert_false(is_open(fds[i]));
        free(fds);
}

/* Without a batch, a descriptor is closed at once. */
static void test_no_batch(void **state) {
        (void)state;
        int fd;

        open_some(&fd, 1);
        qpci_fd_batch_close(NULL, fd);
        assert_false(is_open(fd));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_batch_leaves_others_open),
                cmocka_unit_test(test_batch_full),
                cmocka_unit_test(test_no_batch),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
