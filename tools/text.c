/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Untrusted text on a terminal. USB strings, driver and module names, sysfs values, VM names and
 * preferences come from hardware, udev and other programs: an escape sequence among them would
 * drive the user's terminal (set its title, clear it, fake a line). Every text printer passes
 * such strings through here; JSON has its own escapes (json.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

/* Length of the UTF-8 character at s that may go to a terminal as it is, 0 when it must be escaped:
 * a control character (C0, DEL, or C1 such as the 8-bit CSI), or a byte that is not UTF-8. */
size_t tool_char_len(const char *str) {
        const unsigned char *s = (const unsigned char *)str;
        size_t len;

        if (*s < 0x20 || *s == 0x7f)
                return 0;
        if (*s < 0x80)
                return 1;
        len = (*s & 0xe0) == 0xc0 ? 2 : (*s & 0xf0) == 0xe0 ? 3 : (*s & 0xf8) == 0xf0 ? 4 : 0;
        if (!len || (len == 2 && *s < 0xc2) || (len == 4 && *s > 0xf4))
                return 0;
        for (size_t i = 1; i < len; i++)
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
        /* Overlong three- and four-byte forms and UTF-16 surrogates are not UTF-8 either. */
        if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) || (s[0] == 0xf0 && s[1] < 0x90) ||
            (s[0] == 0xf4 && s[1] >= 0x90))
                return 0;
        if (s[0] == 0xc2 && s[1] < 0xa0)
                return 0; /* U+0080 to U+009F: C1 controls */
        return len;
}

/* Writes s escaped into out (when not NULL); returns the length it takes. */
static size_t escape(const char *s, char *out) {
        static const char hex[] = "0123456789abcdef";
        const unsigned char *p = (const unsigned char *)s;
        size_t n = 0;

        while (*p) {
                size_t l = tool_char_len((const char *)p);
                if (l) {
                        if (out)
                                memcpy(out + n, p, l);
                        n += l, p += l;
                        continue;
                }
                char named = *p == '\n' ? 'n' : *p == '\t' ? 't' : *p == '\r' ? 'r' : *p == 0x1b ? 'e' : 0;
                if (out) {
                        out[n] = '\\';
                        if (named)
                                out[n + 1] = named;
                        else {
                                out[n + 1] = 'x';
                                out[n + 2] = hex[*p >> 4];
                                out[n + 3] = hex[*p & 15];
                        }
                }
                n += named ? 2 : 4;
                p++;
        }
        if (out)
                out[n] = '\0';
        return n;
}

static bool is_clean(const char *s) {
        for (const unsigned char *p = (const unsigned char *)s; *p;) {
                size_t l = tool_char_len((const char *)p);
                if (!l)
                        return false;
                p += l;
        }
        return true;
}

/* Escaped copies live until the process ends: printers hand them straight to printf. */
static char **kept;
static size_t n_kept;

static void free_kept(void) {
        for (size_t i = 0; i < n_kept; i++)
                free(kept[i]);
        free(kept);
        kept = NULL;
        n_kept = 0;
}

const char *tool_esc(const char *s) {
        static bool registered;
        char **nk, *copy;

        if (!s || is_clean(s))
                return s;
        if (!registered)
                registered = atexit(free_kept) == 0;
        copy = malloc(escape(s, NULL) + 1);
        nk = copy ? realloc(kept, (n_kept + 1) * sizeof(*kept)) : NULL;
        if (!nk) {
                free(copy);
                return "(unprintable)";
        }
        kept = nk;
        escape(s, copy);
        kept[n_kept++] = copy;
        return copy;
}

void tool_fputs_esc(const char *s, FILE *f) {
        char *copy;

        if (is_clean(s)) {
                fputs(s, f);
                return;
        }
        copy = malloc(escape(s, NULL) + 1);
        if (!copy) {
                fputs("(unprintable)", f);
                return;
        }
        escape(s, copy);
        fputs(copy, f);
        free(copy);
}
