/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "json.h"

/* One writer per process and no threads: the unlocked stdio calls save a lock per character. */
static void put_string(FILE *f, const char *s) {
        static const char hex[] = "0123456789abcdef";

        putc_unlocked('"', f);
        for (;;) {
                /* Copy the longest run that needs no escaping in one call. */
                size_t run = 0;
                while ((unsigned char)s[run] >= 0x20 && s[run] != '"' && s[run] != '\\')
                        run++;
                fwrite_unlocked(s, 1, run, f);
                s += run;
                if (!*s)
                        break;
                unsigned char c = *s++;
                putc_unlocked('\\', f);
                switch (c) {
                case '"': putc_unlocked('"', f); break;
                case '\\': putc_unlocked('\\', f); break;
                case '\n': putc_unlocked('n', f); break;
                case '\t': putc_unlocked('t', f); break;
                default:
                        /* Other control bytes; sysfs strings are otherwise passed through as UTF-8. */
                        fputs_unlocked("u00", f);
                        putc_unlocked(hex[c >> 4], f);
                        putc_unlocked(hex[c & 15], f);
                }
        }
        putc_unlocked('"', f);
}

static void indent(struct json *j) {
        static const char spaces[2 * JSON_MAX_DEPTH] = "                                ";
        putc_unlocked('\n', j->f);
        fwrite_unlocked(spaces, 1, 2 * j->depth, j->f);
}

static void item(struct json *j, const char *key) {
        if (j->depth > 0) {
                if (j->need_comma[j->depth])
                        putc_unlocked(',', j->f);
                j->need_comma[j->depth] = true;
                indent(j);
        }
        if (key) {
                put_string(j->f, key);
                fputs_unlocked(": ", j->f);
        }
}

void json_init(struct json *j, FILE *f) {
        *j = (struct json){.f = f};
}

static void begin(struct json *j, const char *key, char c) {
        item(j, key);
        putc_unlocked(c, j->f);
        if (j->depth + 1 < JSON_MAX_DEPTH)
                j->depth++;
        j->need_comma[j->depth] = false;
}

static void end(struct json *j, char c) {
        bool had = j->need_comma[j->depth];
        j->depth--;
        if (had)
                indent(j);
        putc_unlocked(c, j->f);
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
        fputs_unlocked(value ? "true" : "false", j->f);
}

void json_null(struct json *j, const char *key) {
        item(j, key);
        fputs_unlocked("null", j->f);
}

void json_hex(struct json *j, const char *key, unsigned value, int digits) {
        static const char hex[] = "0123456789abcdef";
        char buf[12];
        int n = 0;

        item(j, key);
        buf[n++] = '"';
        for (int i = digits - 1; i >= 0 && n < 10; i--)
                buf[n++] = hex[(value >> (4 * i)) & 15];
        buf[n++] = '"';
        fwrite_unlocked(buf, 1, n, j->f);
}

void json_finish(struct json *j) {
        fputc('\n', j->f);
}
