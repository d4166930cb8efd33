/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "json.h"

static void put_string(FILE *f, const char *s) {
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                switch (*p) {
                case '"': fputs("\\\"", f); break;
                case '\\': fputs("\\\\", f); break;
                case '\n': fputs("\\n", f); break;
                case '\t': fputs("\\t", f); break;
                default:
                        /* Control bytes only; sysfs strings are otherwise passed through as UTF-8. */
                        if (*p < 0x20)
                                fprintf(f, "\\u%04x", *p);
                        else
                                fputc(*p, f);
                }
        }
        fputc('"', f);
}

static void item(struct json *j, const char *key) {
        if (j->depth > 0) {
                if (j->need_comma[j->depth])
                        fputc(',', j->f);
                j->need_comma[j->depth] = true;
                fputc('\n', j->f);
                for (int i = 0; i < j->depth; i++)
                        fputs("  ", j->f);
        }
        if (key) {
                put_string(j->f, key);
                fputs(": ", j->f);
        }
}

void json_init(struct json *j, FILE *f) {
        *j = (struct json){.f = f};
}

static void begin(struct json *j, const char *key, char c) {
        item(j, key);
        fputc(c, j->f);
        if (j->depth + 1 < JSON_MAX_DEPTH)
                j->depth++;
        j->need_comma[j->depth] = false;
}

static void end(struct json *j, char c) {
        bool had = j->need_comma[j->depth];
        j->depth--;
        if (had) {
                fputc('\n', j->f);
                for (int i = 0; i < j->depth; i++)
                        fputs("  ", j->f);
        }
        fputc(c, j->f);
}

void json_begin_array(struct json *j, const char *key) { begin(j, key, '['); }
void json_end_array(struct json *j) { end(j, ']'); }
void json_begin_object(struct json *j, const char *key) { begin(j, key, '{'); }
void json_end_object(struct json *j) { end(j, '}'); }

void json_string(struct json *j, const char *key, const char *value) {
        item(j, key);
        if (value)
                put_string(j->f, value);
        else
                fputs("null", j->f);
}

void json_int(struct json *j, const char *key, long long value) {
        item(j, key);
        fprintf(j->f, "%lld", value);
}

void json_bool(struct json *j, const char *key, bool value) {
        item(j, key);
        fputs(value ? "true" : "false", j->f);
}

void json_null(struct json *j, const char *key) {
        item(j, key);
        fputs("null", j->f);
}

void json_hex(struct json *j, const char *key, unsigned value, int digits) {
        item(j, key);
        fprintf(j->f, "\"%0*x\"", digits, value);
}

void json_finish(struct json *j) {
        fputc('\n', j->f);
}
