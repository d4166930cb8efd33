/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The failure a context carries: the first error the library reported since it was cleared, with a
 * stable code and, where the library knows them apart, what failed, why and what to do. A front
 * end that prints machine-readable output takes it from here instead of parsing the logged line.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "qpci-internal.h"

static const struct {
        int errnum;
        const char *code;
} errno_codes[] = {
        {ENOENT, "not-found"},    {ENODEV, "not-found"},    {ENXIO, "not-found"},   {EBUSY, "in-use"},
        {EINVAL, "bad-argument"}, {EEXIST, "exists"},       {EACCES, "needs-root"}, {EPERM, "needs-root"},
        {EROFS, "read-only"},     {ENOSPC, "no-space"},     {ESTALE, "changed"},    {ETIMEDOUT, "timeout"},
        {EALREADY, "already"},    {EOPNOTSUPP, "unsupported"}, {ENOPKG, "unsupported"}, {ENOTTY, "no-reset"},
        {EREMOTE, "remote"},      {ENOMEM, "out-of-memory"}, {ENOTUNIQ, "ambiguous"},
};

QPCI_EXPORT const char *qpci_errno_code(int r) {
        int e = r < 0 ? -r : r;

        for (size_t i = 0; i < ELEMENTSOF(errno_codes); i++)
                if (errno_codes[i].errnum == e)
                        return errno_codes[i].code;
        return "failed";
}

QPCI_EXPORT const struct qpci_error *qpci_get_error(const struct qpci_ctx *ctx) {
        return ctx->error.code ? &ctx->error : NULL;
}

QPCI_EXPORT void qpci_clear_error(struct qpci_ctx *ctx) {
        free(ctx->error_text);
        ctx->error_text = NULL;
        ctx->error = (struct qpci_error){0};
}

/* Keeps the parts in one allocation, "message\0error\0reason\0fix\0", so the error is one free. */
static void record(struct qpci_ctx *ctx, int r, const char *code, const char *message, const char *what,
                   const char *why, const char *fix) {
        size_t lm = strlen(message) + 1, lw = strlen(what) + 1, lr = why ? strlen(why) + 1 : 0,
               lf = fix ? strlen(fix) + 1 : 0;
        char *t;

        if (ctx->error.code)
                return;
        t = malloc(lm + lw + lr + lf);
        ctx->error.code = code ? code : qpci_errno_code(r);
        ctx->error.errnum = r < 0 ? -r : r;
        if (!t)
                return; /* the code alone still says what kind of failure it was */
        ctx->error_text = t;
        ctx->error.message = memcpy(t, message, lm);
        ctx->error.error = memcpy(t + lm, what, lw);
        ctx->error.reason = why ? memcpy(t + lm + lw, why, lr) : NULL;
        ctx->error.fix = fix ? memcpy(t + lm + lw + lr, fix, lf) : NULL;
}

void qpci_error_record(struct qpci_ctx *ctx, int r, const char *fmt, va_list ap) {
        _cleanup_free_ char *text = NULL;

        if (ctx->error.code)
                return;
        if (vasprintf(&text, fmt, ap) < 0)
                text = NULL;
        record(ctx, r, NULL, text ? text : "", text ? text : "", NULL, NULL);
}

int qpci_log_errno(struct qpci_ctx *ctx, int r, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        qpci_error_record(ctx, r, fmt, ap);
        va_end(ap);
        va_start(ap, fmt);
        qpci_log_va(ctx, QPCI_LOG_ERR, fmt, ap);
        va_end(ap);
        return r;
}

char *qpci_strf(const char *fmt, ...) {
        va_list ap;
        char *s = NULL;

        if (!fmt)
                return NULL;
        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        return s;
}

int qpci_refuse(struct qpci_ctx *ctx, int r, const char *code, const char *sep_why, const char *sep_fix, char *what,
                char *why, char *fix) {
        _cleanup_free_ char *line = NULL;
        bool fix_in_line = fix && sep_fix;

        if (!what)
                r = -ENOMEM;
        else if (asprintf(&line, "%s%s%s%s%s", what, why ? sep_why : "", why ? why : "",
                          fix_in_line ? (why ? sep_fix : ": ") : "", fix_in_line ? fix : "") < 0)
                line = NULL;
        if (line) {
                record(ctx, r, code, line, what, why, fix);
                qpci_log(ctx, QPCI_LOG_ERR, "%s", line);
        }
        free(what);
        free(why);
        free(fix);
        return r;
}

QPCI_EXPORT void qpci_findings_free(struct qpci_finding *f, size_t n) {
        for (size_t i = 0; f && i < n; i++) {
                free(f[i].error);
                free(f[i].reason);
                free(f[i].fix);
                free(f[i].vm);
        }
        free(f);
}
