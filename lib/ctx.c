/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The library context: the host root every path is resolved under, the log sink, lazy databases. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "qpci-internal.h"

QPCI_EXPORT int qpci_new(const char *root, struct qpci_ctx **ret) {
        _cleanup_free_ struct qpci_ctx *ctx = NULL;
        _cleanup_free_ char *r = NULL;

        if (!ret)
                return -EINVAL;
        if (!root || !*root)
                root = "/";
        r = strdup(root);
        if (!r)
                return -ENOMEM;
        /* "/a/b/" and "/a/b" are the same root; keep "/" itself. */
        for (size_t l = strlen(r); l > 1 && r[l - 1] == '/'; l--)
                r[l - 1] = '\0';

        ctx = calloc(1, sizeof(*ctx));
        if (!ctx)
                return -ENOMEM;
        /* One descriptor for the root: every later open is relative to it, so no path is ever built twice. */
        ctx->root_fd = open(r, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (ctx->root_fd < 0)
                return -errno;
        ctx->refcount = 1;
        ctx->lock_fd = -1;
        /* Long enough for any unbind that ends; a driver stuck in one must not hang every command. */
        ctx->lock_timeout_ms = 60000;
        /* A VM start holds the VM lock through the hypervisor's start: Xen's libxl takes up to a
         * minute under emulation, and a waiter may queue behind more than one. */
        ctx->vm_lock_timeout_ms = 300000;
        ctx->root = TAKE_PTR(r);
        ctx->log_priority = QPCI_LOG_WARNING;
        ctx->use_hwdb = true;
        *ret = TAKE_PTR(ctx);
        return 0;
}

QPCI_EXPORT struct qpci_ctx *qpci_ref(struct qpci_ctx *ctx) {
        if (ctx)
                ctx->refcount++;
        return ctx;
}

QPCI_EXPORT struct qpci_ctx *qpci_unref(struct qpci_ctx *ctx) {
        if (!ctx || --ctx->refcount > 0)
                return NULL;
        qpci_names_free(ctx);
        qpci_modules_free(ctx);
        qpci_state_close_all(ctx);
        if (ctx->root_fd >= 0)
                close(ctx->root_fd);
        free(ctx->root);
        free(ctx->pci_ids);
        free(ctx->osrelease);
        qpci_clear_error(ctx);
        free(ctx);
        return NULL;
}

QPCI_EXPORT void qpci_set_log_fn(struct qpci_ctx *ctx, qpci_log_fn fn, void *data) {
        ctx->log_fn = fn;
        ctx->log_data = data;
}

QPCI_EXPORT void qpci_set_log_priority(struct qpci_ctx *ctx, int priority) {
        ctx->log_priority = priority;
}

QPCI_EXPORT void qpci_set_lock_timeout(struct qpci_ctx *ctx, unsigned seconds) {
        ctx->lock_timeout_ms = seconds > 86400 ? 86400000 : seconds * 1000;
        ctx->vm_lock_timeout_ms = ctx->lock_timeout_ms;
}

QPCI_EXPORT const char *qpci_get_root(const struct qpci_ctx *ctx) {
        return ctx->root;
}

QPCI_EXPORT int qpci_set_pci_ids(struct qpci_ctx *ctx, const char *path) {
        char *p = NULL;

        /* Devices point at names already looked up: the source cannot change under them. */
        if (ctx->pacc || ctx->n_names)
                return -EBUSY;
        if (path) {
                p = strdup(path);
                if (!p)
                        return -ENOMEM;
        }
        free(ctx->pci_ids);
        ctx->pci_ids = p;
        return 0;
}

QPCI_EXPORT int qpci_set_hwdb(struct qpci_ctx *ctx, bool enable) {
        if (ctx->pacc || ctx->n_names || ctx->hwdb)
                return -EBUSY;
        ctx->use_hwdb = enable;
        return 0;
}

const char *qpci_root_prefix(const struct qpci_ctx *ctx) {
        return streq(ctx->root, "/") ? "" : ctx->root;
}

void qpci_log_va(struct qpci_ctx *ctx, int priority, const char *fmt, va_list ap) {
        if (ctx->log_fn && priority <= ctx->log_priority)
                ctx->log_fn(ctx->log_data, priority, fmt, ap);
}

void qpci_log(struct qpci_ctx *ctx, int priority, const char *fmt, ...) {
        va_list ap;

        /* An error logged without its errno is still the context's failure, as "failed". */
        if (priority <= QPCI_LOG_ERR) {
                va_start(ap, fmt);
                qpci_error_record(ctx, 0, fmt, ap);
                va_end(ap);
        }
        va_start(ap, fmt);
        qpci_log_va(ctx, priority, fmt, ap);
        va_end(ap);
}

const char *qpci_ctx_osrelease(struct qpci_ctx *ctx) {
        char buf[256];

        if (ctx->osrelease)
                return ctx->osrelease;
        /*
         * The rooted procfs says which kernel the sysfs tree belongs to; only when it is absent and
         * the root is the real one is uname() the same answer.
         */
        _cleanup_close_ int fd = qpci_open_root(ctx, "/proc/sys/kernel", O_PATH | O_DIRECTORY);
        if (fd >= 0 && qpci_read_line(fd, "osrelease", buf, sizeof(buf)) > 0)
                ctx->osrelease = strdup(buf);
        else if (streq(ctx->root, "/")) {
                struct utsname u;
                if (uname(&u) == 0)
                        ctx->osrelease = strdup(u.release);
        }
        if (!ctx->osrelease)
                ctx->osrelease = strdup("");
        return ctx->osrelease ? ctx->osrelease : "";
}
