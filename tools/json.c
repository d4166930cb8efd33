/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "json.h"
#include "tool.h"

/* One writer per process and no threads: the unlocked stdio calls save a lock per character. */
/* Device strings are untrusted bytes: control characters (DEL and C1 included) are escaped, and a
 * byte that is not UTF-8 becomes U+FFFD, so that the output is valid JSON and drives no terminal. */
static void put_string(FILE *f, const char *s) {
        static const char hex[] = "0123456789abcdef";

        putc_unlocked('"', f);
        for (;;) {
                /* Copy the longest run of plain ASCII in one call. */
                size_t run = 0;
                while ((unsigned char)s[run] >= 0x20 && (unsigned char)s[run] < 0x7f && s[run] != '"' && s[run] != '\\')
                        run++;
                fwrite_unlocked(s, 1, run, f);
                s += run;
                if (!*s)
                        break;
                unsigned char c = *s;
                if (c >= 0x80) {
                        size_t l = tool_char_len(s);
                        if (l) {
                                fwrite_unlocked(s, 1, l, f);
                                s += l;
                        } else if (c == 0xc2 && (unsigned char)s[1] >= 0x80 && (unsigned char)s[1] < 0xa0) {
                                /* A C1 control, U+0080 to U+009F. */
                                fputs_unlocked("\\u00", f);
                                putc_unlocked(hex[(unsigned char)s[1] >> 4], f);
                                putc_unlocked(hex[(unsigned char)s[1] & 15], f);
                                s += 2;
                        } else {
                                fputs_unlocked("\\ufffd", f);
                                s++;
                        }
                        continue;
                }
                s++;
                putc_unlocked('\\', f);
                switch (c) {
                case '"': putc_unlocked('"', f); break;
                case '\\': putc_unlocked('\\', f); break;
                case '\n': putc_unlocked('n', f); break;
                case '\t': putc_unlocked('t', f); break;
                default:
                        fputs_unlocked("u00", f);
                        putc_unlocked(hex[c >> 4], f);
                        putc_unlocked(hex[c & 15], f);
                }
        }
        putc_unlocked('"', f);
}

static void indent(struct json *j) {
        static const char spaces[2 * JSON_MAX_DEPTH] = "                                ";
        if (j->compact)
                return;
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

void json_init_compact(struct json *j, FILE *f) {
        *j = (struct json){.f = f, .compact = true};
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
