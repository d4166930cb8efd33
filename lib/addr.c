/* SPDX-License-Identifier: GPL-2.0-or-later */
/* PCI addresses in every form users type, and the two forms qpci prints. */
#include <string.h>

#include "qpci-internal.h"

/* Reads 1..maxdigits hex digits; returns the count read, 0 on none or too many. */
static size_t hex_field(const char *s, size_t maxdigits, uint32_t *ret) {
        uint32_t v = 0;
        size_t i;

        for (i = 0; s[i]; i++) {
                int d = qpci_hex_digit(s[i]);
                if (d < 0)
                        break;
                if (i == maxdigits)
                        return 0;
                v = v * 16 + d;
        }
        *ret = v;
        return i;
}

/* "[SSSS<sep>]BB<sep>DD.F" with one separator kind throughout. */
static int parse_tail(const char *s, char sep, struct qpci_addr *ret, const char **why) {
        uint32_t f[3], dev, fn;
        size_t nf = 0, k;
        const char *p = s;

        for (;;) {
                if (nf == 3) {
                        *why = "too many fields";
                        return -EINVAL;
                }
                k = hex_field(p, 8, &f[nf]);
                if (k == 0) {
                        *why = "expected hexadecimal bus and device numbers";
                        return -EINVAL;
                }
                p += k;
                nf++;
                if (*p != sep)
                        break;
                p++;
        }
        if (nf < 2 || *p != '.') {
                *why = "expected a device and function like 1a.0";
                return -EINVAL;
        }
        p++;
        k = hex_field(p, 1, &fn);
        if (k == 0 || p[k] != '\0') {
                *why = "the function must be a single digit 0-7";
                return -EINVAL;
        }
        dev = f[nf - 1];
        if (dev > 0x1f) {
                *why = "the device number must be 00-1f";
                return -EINVAL;
        }
        if (fn > 7) {
                *why = "the function must be 0-7";
                return -EINVAL;
        }
        if (f[nf - 2] > 0xff) {
                *why = "the bus number must be 00-ff";
                return -EINVAL;
        }
        ret->segment = nf == 3 ? f[0] : 0;
        ret->bus = f[nf - 2];
        ret->dev = dev;
        ret->fn = fn;
        return 0;
}

QPCI_EXPORT int qpci_addr_parse(const char *s, struct qpci_addr *ret, const char **why) {
        const char *dummy, *colon;
        struct qpci_addr a;
        char sep;
        int r;

        if (!why)
                why = &dummy;
        if (!s || !*s) {
                *why = "the device id is empty";
                return -EINVAL;
        }
        /* A backend prefix is a VM name, which never is a plain hex number. */
        colon = strchr(s, ':');
        if (colon) {
                bool hex = colon > s;
                for (const char *p = s; p < colon; p++)
                        if (!strchr("0123456789abcdefABCDEF", *p))
                                hex = false;
                if (!hex) {
                        if ((size_t)(colon - s) != 4 || strncmp(s, "dom0", 4) != 0) {
                                *why = "only the backend dom0 (this host) has PCI devices";
                                return -EINVAL;
                        }
                        s = colon + 1;
                }
        }
        sep = strchr(s, '_') ? '_' : ':';
        if (strchr(s, sep == '_' ? ':' : '_')) {
                *why = "mixes ':' and '_' separators";
                return -EINVAL;
        }
        r = parse_tail(s, sep, &a, why);
        if (r < 0)
                return r;
        if (ret)
                *ret = a;
        return 0;
}

int qpci_addr_parse_sysfs(const char *s, struct qpci_addr *ret) {
        const char *why;
        return parse_tail(s, ':', ret, &why);
}

/* Lower-case hex, at least `digits` wide (a segment may need more): the inventory formats an
 * address per device, where snprintf's parsing showed in profiles. */
static char *put_hex(char *p, uint32_t v, int digits) {
        static const char hex[] = "0123456789abcdef";
        while (digits < 8 && (v >> (4 * digits)))
                digits++;
        for (int i = digits - 1; i >= 0; i--)
                *p++ = hex[(v >> (4 * i)) & 15];
        return p;
}

static char *format(const struct qpci_addr *a, char *buf, char sep, bool segment) {
        char *p = buf;
        if (segment) {
                p = put_hex(p, a->segment, 4);
                *p++ = sep;
        }
        p = put_hex(p, a->bus, 2);
        *p++ = sep;
        p = put_hex(p, a->dev, 2);
        *p++ = '.';
        p = put_hex(p, a->fn, 1);
        *p = '\0';
        return buf;
}

QPCI_EXPORT char *qpci_addr_format_bdf(const struct qpci_addr *a, char buf[static QPCI_BDF_MAX]) {
        return format(a, buf, ':', true);
}

QPCI_EXPORT char *qpci_addr_format_ident(const struct qpci_addr *a, char buf[static QPCI_IDENT_MAX]) {
        return format(a, buf, '_', a->segment != 0);
}

QPCI_EXPORT int qpci_addr_cmp(const struct qpci_addr *a, const struct qpci_addr *b) {
        if (a->segment != b->segment)
                return a->segment < b->segment ? -1 : 1;
        if (a->bus != b->bus)
                return a->bus < b->bus ? -1 : 1;
        if (a->dev != b->dev)
                return a->dev < b->dev ? -1 : 1;
        if (a->fn != b->fn)
                return a->fn < b->fn ? -1 : 1;
        return 0;
}
