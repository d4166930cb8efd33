/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Qubes R4.3's identities of a PCI device: its port, a PCI path ("00_1c.0-00_00.0") that stays
 * the same when buses are renumbered, and its device id ("0x8086:0x10d3::p020000"), which says
 * what is plugged in there; and the device strings users type, BACKEND:PORT[:DEVID].
 */
#include <stdio.h>
#include <string.h>

#include "qpci-internal.h"

/* One "[SSSS_]BB_DD.F" component of a path; a segment only in the first. */
static int parse_component(const char *s, size_t len, bool first, struct qpci_addr *ret, const char **why) {
        char buf[QPCI_IDENT_MAX + 1];
        size_t unders = 0;

        if (len == 0) {
                *why = "a PCI path has an empty part (expected BB_DD.F-BB_DD.F...)";
                return -EINVAL;
        }
        if (len >= sizeof(buf)) {
                *why = "a part of the PCI path is too long (expected BB_DD.F)";
                return -EINVAL;
        }
        memcpy(buf, s, len);
        buf[len] = '\0';
        for (size_t i = 0; i < len; i++)
                unders += buf[i] == '_';
        if (strchr(buf, ':') || (!first && unders != 1)) {
                *why = "each part of a PCI path after the first is BB_DD.F, the bus relative to the bridge above";
                return -EINVAL;
        }
        return qpci_addr_parse(buf, ret, why);
}

/* Lower case, a segment only when it is not 0000: the form qpci_dev_get_path() gives. */
QPCI_EXPORT int qpci_path_parse(const char *s, char **ret, const char **why) {
        _cleanup_free_ char *out = NULL;
        size_t len = 0, cap = 0;
        const char *dummy;

        if (!why)
                why = &dummy;
        if (!s || !*s) {
                *why = "the PCI path is empty";
                return -EINVAL;
        }
        for (const char *p = s;;) {
                const char *dash = strchr(p, '-');
                size_t n = dash ? (size_t)(dash - p) : strlen(p);
                char part[QPCI_IDENT_MAX + 1];
                struct qpci_addr a;
                int r = parse_component(p, n, p == s, &a, why);

                if (r < 0)
                        return r;
                if (p == s)
                        qpci_addr_format_ident(&a, part);
                else
                        snprintf(part, sizeof(part), "%02x_%02x.%x", a.bus, a.dev, a.fn);
                size_t plen = strlen(part);
                if (len + plen + 2 > cap) {
                        size_t ncap = (len + plen + 2) * 2;
                        char *nout = realloc(out, ncap);
                        if (!nout)
                                return -ENOMEM;
                        out = nout;
                        cap = ncap;
                }
                if (len)
                        out[len++] = '-';
                memcpy(out + len, part, plen + 1);
                len += plen;
                if (!dash)
                        break;
                p = dash + 1;
        }
        if (ret)
                *ret = TAKE_PTR(out);
        return 0;
}

static bool is_wild(const char *s, size_t n) {
        return n == 1 && (*s == '*' || *s == '_');
}

static bool all_of(const char *s, size_t n, const char *set) {
        for (size_t i = 0; i < n; i++)
                if (!s[i] || !strchr(set, s[i]))
                        return false;
        return true;
}

#define HEX "0123456789abcdefABCDEF"

/* "0x8086", or a wildcard. */
static bool id_field_ok(const char *s, size_t n) {
        return is_wild(s, n) || (n == 6 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && all_of(s + 2, 4, HEX));
}

/* Splits a device id into its four fields; false when it has not four. */
static bool split_devid(const char *s, const char *f[4], size_t n[4]) {
        const char *p = s;

        for (int i = 0; i < 4; i++) {
                const char *c = i < 3 ? strchr(p, ':') : NULL;
                if (i < 3 && !c)
                        return false;
                f[i] = p;
                n[i] = c ? (size_t)(c - p) : strlen(p);
                p = c ? c + 1 : p + n[i];
        }
        return true;
}

QPCI_EXPORT int qpci_devid_check(const char *s, const char **why) {
        const char *f[4], *dummy;
        size_t n[4];

        if (!why)
                why = &dummy;
        if (!s || !*s) {
                *why = "the device id is empty";
                return -EINVAL;
        }
        if (is_wild(s, strlen(s)))
                return 0;
        if (!split_devid(s, f, n)) {
                *why = "a device id is VENDOR:DEVICE:SERIAL:INTERFACES, such as 0x8086:0x10d3::p020000 (or * for any)";
                return -EINVAL;
        }
        if (!id_field_ok(f[0], n[0]) || !id_field_ok(f[1], n[1])) {
                *why = "the vendor and device of a device id are 0x and four hexadecimal digits, or *";
                return -EINVAL;
        }
        if (!all_of(f[2], n[2], "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_.*")) {
                *why = "the serial of a device id has only letters, digits and - _ . (PCI devices have none)";
                return -EINVAL;
        }
        if (is_wild(f[3], n[3]))
                return 0;
        if (n[3] == 0 || n[3] % 7 != 0) {
                *why = "the interfaces of a device id are 7 characters each: p and the class, subclass and "
                       "programming interface (p0c0320), * or _ for any digit";
                return -EINVAL;
        }
        for (size_t i = 0; i < n[3]; i += 7)
                if (!all_of(f[3] + i, 1, "abcdefghijklmnopqrstuvwxyz?*_") || !all_of(f[3] + i + 1, 6, HEX "?*_")) {
                        *why = "the interfaces of a device id are 7 characters each: p and the class, subclass and "
                               "programming interface (p0c0320), * or _ for any digit";
                        return -EINVAL;
                }
        return 0;
}

static bool field_matches(const char *pat, size_t np, const char *val, size_t nv) {
        if (is_wild(pat, np))
                return true;
        if (np != nv)
                return false;
        for (size_t i = 0; i < np; i++) {
                char a = pat[i], b = val[i];
                if (a == '*' || a == '_')
                        continue;
                if (a >= 'A' && a <= 'Z')
                        a += 'a' - 'A';
                if (b >= 'A' && b <= 'Z')
                        b += 'a' - 'A';
                if (a != b)
                        return false;
        }
        return true;
}

/* Field by field, '*' or '_' alone for any value and, in the vendor, device and interfaces,
 * for any one character: Qubes' exact match, and its interface patterns. */
QPCI_EXPORT bool qpci_devid_matches(const char *pattern, const struct qpci_dev *d) {
        const char *pf[4], *vf[4];
        size_t pn[4], vn[4];

        if (!pattern || qpci_devid_check(pattern, NULL) < 0)
                return false;
        if (is_wild(pattern, strlen(pattern)))
                return true;
        if (!split_devid(pattern, pf, pn) || !split_devid(qpci_dev_get_devid(d), vf, vn))
                return false;
        for (int i = 0; i < 4; i++) {
                /* A serial is matched whole: '_' stands for characters Qubes could not keep. */
                if (i == 2 && !is_wild(pf[i], pn[i]) && (pn[i] != vn[i] || strncmp(pf[i], vf[i], pn[i]) != 0))
                        return false;
                if (i != 2 && !field_matches(pf[i], pn[i], vf[i], vn[i]))
                        return false;
        }
        return true;
}

QPCI_EXPORT void qpci_device_spec_done(struct qpci_device_spec *spec) {
        if (!spec)
                return;
        free(spec->backend);
        free(spec->port);
        free(spec->devid);
        *spec = (struct qpci_device_spec){0};
}

/* A port as typed: a path, a BDF ident ("00_1a.0", "0001_00_1a.0"), or * for any. */
static int parse_port(const char *s, size_t n, char **ret, const char **why) {
        _cleanup_free_ char *port = strndup(s, n);
        char ident[QPCI_IDENT_MAX];
        struct qpci_addr a;
        int r;

        if (!port)
                return -ENOMEM;
        if (is_wild(port, n)) {
                free(port);
                port = strdup("*");
        } else if (strchr(port, '-')) {
                char *canon;
                r = qpci_path_parse(port, &canon, why);
                if (r < 0)
                        return r;
                free(port);
                port = canon;
        } else {
                r = qpci_addr_parse(port, &a, why);
                if (r < 0)
                        return r;
                free(port);
                port = strdup(qpci_addr_format_ident(&a, ident));
        }
        if (!port)
                return -ENOMEM;
        *ret = TAKE_PTR(port);
        return 0;
}

/* Whether the text before the first ':' is a port rather than a backend: a VM name has letters
 * beyond a-f, or no '.', which a port always has. */
static bool looks_like_port(const char *s, size_t n) {
        return is_wild(s, n) || (memchr(s, '.', n) && all_of(s, n, HEX "_.-"));
}

/*
 * The old forms first: a string that is a BDF in any form qpci took before ("00:1a.0",
 * "0000:00:1a.0", "dom0:00:1a.0") is that BDF, although R4.3 would split it at its colons into a
 * backend "0000" or a port "00": no VM is named so, and no port is a bare bus number, so no string
 * means both. Then R4.3's BACKEND:PORT[:DEVID], where only the backend dom0 has PCI devices, the
 * backend may be left out, and the device id runs to the end (it has colons of its own).
 */
QPCI_EXPORT int qpci_device_spec_parse(const char *s, struct qpci_device_spec *ret, const char **why) {
        _cleanup_(qpci_device_spec_done) struct qpci_device_spec spec = {0};
        const char *dummy, *colon, *rest = s, *bdf_why = NULL;
        char ident[QPCI_IDENT_MAX];
        struct qpci_addr a;
        int r;

        if (!why)
                why = &dummy;
        if (!s || !*s) {
                *why = "the device id is empty";
                return -EINVAL;
        }
        spec.backend = strdup("dom0");
        if (!spec.backend)
                return -ENOMEM;
        if (qpci_addr_parse(s, &a, &bdf_why) == 0) {
                spec.port = strdup(qpci_addr_format_ident(&a, ident));
                if (!spec.port)
                        return -ENOMEM;
                *ret = spec;
                spec = (struct qpci_device_spec){0};
                return 0;
        }
        colon = strchr(s, ':');
        /* Hexadecimal before the colon is a BDF's segment or bus, never a VM's name. */
        if (colon && colon > s && all_of(s, colon - s, HEX)) {
                *why = bdf_why;
                return -EINVAL;
        }
        if (colon && !looks_like_port(s, colon - s)) {
                if ((size_t)(colon - s) != 4 || strncmp(s, "dom0", 4) != 0) {
                        *why = "only the backend dom0 (this host) has PCI devices";
                        return -EINVAL;
                }
                rest = colon + 1;
                colon = strchr(rest, ':');
        }
        /* Neither a path nor a device id: what the BDF parser said is the better reason. */
        if (!colon && !strchr(rest, '-') && !looks_like_port(rest, strlen(rest))) {
                *why = bdf_why;
                return -EINVAL;
        }
        r = parse_port(rest, colon ? (size_t)(colon - rest) : strlen(rest), &spec.port, why);
        if (r < 0)
                return r;
        if (colon) {
                r = qpci_devid_check(colon + 1, why);
                if (r < 0)
                        return r;
                spec.devid = strdup(is_wild(colon + 1, strlen(colon + 1)) ? "*" : colon + 1);
                if (!spec.devid)
                        return -ENOMEM;
        }
        if (streq(spec.port, "*") && (!spec.devid || streq(spec.devid, "*"))) {
                *why = "any port (*) needs a device id that says which device";
                return -EINVAL;
        }
        *ret = spec;
        spec = (struct qpci_device_spec){0};
        return 0;
}

QPCI_EXPORT int qpci_inventory_lookup(const struct qpci_inventory *inv, const char *id, struct qpci_dev **ret,
                                      const char **why) {
        _cleanup_(qpci_device_spec_done) struct qpci_device_spec spec = {0};
        struct qpci_dev *d = NULL;
        const char *dummy;
        struct qpci_addr a;
        int r;

        if (!why)
                why = &dummy;
        r = qpci_device_spec_parse(id, &spec, why);
        if (r < 0)
                return r;
        if (streq(spec.port, "*")) {
                *why = "a device id alone can name several devices: give its port (its PCI path or BDF)";
                return -EINVAL;
        }
        if (strchr(spec.port, '-')) {
                for (size_t i = 0; i < qpci_inventory_count(inv) && !d; i++)
                        if (streq(qpci_dev_get_path(qpci_inventory_get(inv, i)), spec.port))
                                d = qpci_inventory_get(inv, i);
        } else if (qpci_addr_parse(spec.port, &a, why) == 0)
                d = qpci_inventory_find(inv, &a);
        if (!d) {
                *why = "no such PCI device on this host";
                return -ENODEV;
        }
        if (spec.devid && !qpci_devid_matches(spec.devid, d)) {
                *why = "the device at that port is not the one the device id names";
                return -ENODEV;
        }
        *ret = d;
        return 0;
}
