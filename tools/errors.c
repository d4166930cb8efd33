/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Errors in the tools' words: options named as the user wrote them, whatever getopt did to argv, and
 * failures the library has already told. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "tool.h"

bool tool_json;

/* The first failure, copied: the library's strings end with its context. */
static struct {
        bool set;
        char *code, *message, *error, *reason, *fix;
} kept;

static char *dup_or_null(const char *s) {
        return s ? strdup(s) : NULL;
}

void tool_json_keep(const struct qpci_error *e) {
        if (kept.set || !e)
                return;
        kept.set = true;
        kept.code = dup_or_null(e->code);
        kept.message = dup_or_null(e->message);
        kept.error = dup_or_null(e->error);
        kept.reason = dup_or_null(e->reason);
        kept.fix = dup_or_null(e->fix);
}

void tool_json_error(int exit_code) {
        struct json j;
        const char *code = kept.code ? kept.code : exit_code == EXIT_USAGE ? "bad-argument" : "failed";
        char fallback[96];

        snprintf(fallback, sizeof(fallback), "%s failed (exit status %d)", tool_prog, exit_code);
        json_init(&j, stdout);
        json_begin_object(&j, NULL);
        json_string(&j, "error", kept.error ? kept.error : fallback);
        json_string(&j, "reason", kept.reason);
        json_string(&j, "fix", kept.fix);
        json_string(&j, "code", code);
        json_string(&j, "message", kept.message ? kept.message : kept.error ? kept.error : fallback);
        json_int(&j, "exit", exit_code);
        json_end_object(&j);
        json_finish(&j);
        fflush(stdout);
        free(kept.code);
        free(kept.message);
        free(kept.error);
        free(kept.reason);
        free(kept.fix);
        kept.set = false;
}

const char *tool_option_name(const struct option *options, const char *shorts, int val, char *buf, size_t size) {
        for (size_t i = 0; options[i].name; i++) {
                if (options[i].val != val)
                        continue;
                if (val != ':' && strchr(shorts, val))
                        snprintf(buf, size, "-%c/--%s", val, options[i].name);
                else
                        snprintf(buf, size, "--%s", options[i].name);
                return buf;
        }
        snprintf(buf, size, "-%c", val);
        return buf;
}

void tool_option_error(const char *prog, char **argv, const struct option *options, const char *shorts, int c) {
        /* For a short option inside a bundle ("-Zv") optind has not moved on, so argv[optind - 1]
         * is whatever came before it: only a "--" word there is the option itself. */
        const char *word = optind > 0 ? argv[optind - 1] : "";
        bool is_long = strncmp(word, "--", 2) == 0 && word[2];
        size_t len = is_long ? strcspn(word, "=") : 0;
        char name[64];

        if (is_long && c == ':')
                tool_error("option '%.*s' needs a value; see '%s --help'", (int)len, word, prog);
        else if (is_long && optopt && word[len] == '=')
                tool_error("option '%.*s' takes no value; see '%s --help'", (int)len, word, prog);
        else if (is_long)
                tool_error("unknown option '%.*s'; see '%s --help'", (int)len, word, prog);
        else if (c == ':')
                tool_error("option '%s' needs a value; see '%s --help'",
                           tool_option_name(options, shorts, optopt, name, sizeof(name)), prog);
        else if (optopt > ' ' && optopt < 0x7f)
                tool_error("unknown option '-%c'; see '%s --help'", optopt, prog);
        else
                tool_error("unknown option; see '%s --help'", prog);
}

int tool_failed(int r) {
        if (r == -ENOMEM)
                tool_error("out of memory");
        return EXIT_FAIL;
}
