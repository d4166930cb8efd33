/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Device ids, PCI paths, device strings (BACKEND:PORT[:DEVID]) and USB queries are typed or pasted
 * by users: any string must parse or be refused. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qpci-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);
        struct qpci_addr a, b;
        struct qpci_usb_query q;
        const char *why = NULL;
        char bdf[QPCI_BDF_MAX], ident[QPCI_IDENT_MAX];

        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        if (qpci_addr_parse(s, &a, &why) == 0) {
                /* Whatever parses prints in both forms, and both forms parse back to it. */
                if (a.dev > 0x1f || a.fn > 7)
                        __builtin_trap();
                qpci_addr_format_bdf(&a, bdf);
                qpci_addr_format_ident(&a, ident);
                if (qpci_addr_parse(bdf, &b, NULL) != 0 || qpci_addr_cmp(&a, &b) != 0)
                        __builtin_trap();
                if (qpci_addr_parse(ident, &b, NULL) != 0 || qpci_addr_cmp(&a, &b) != 0)
                        __builtin_trap();
        } else if (!why)
                __builtin_trap();
        why = NULL;
        char *path = NULL, *again = NULL;
        if (qpci_path_parse(s, &path, &why) == 0) {
                /* A path parses back to itself, and is a port of a device string too. */
                if (!path || qpci_path_parse(path, &again, NULL) != 0 || strcmp(path, again) != 0)
                        __builtin_trap();
                free(again);
                free(path);
        } else if (!why || path)
                __builtin_trap();
        why = NULL;
        struct qpci_device_spec spec = {0}, spec2 = {0};
        if (qpci_device_spec_parse(s, &spec, &why) == 0) {
                /* What parses has a backend and a port, a device id that checks, and its parts
                 * written out again parse to the same parts. */
                char *joined = NULL;
                if (!spec.backend || !spec.port || (spec.devid && qpci_devid_check(spec.devid, NULL) != 0))
                        __builtin_trap();
                if (streq(spec.port, "*") && (!spec.devid || streq(spec.devid, "*")))
                        __builtin_trap();
                if (asprintf(&joined, "%s:%s%s%s", spec.backend, spec.port, spec.devid ? ":" : "",
                             spec.devid ? spec.devid : "") < 0)
                        __builtin_trap();
                if (qpci_device_spec_parse(joined, &spec2, NULL) != 0 || !streq(spec.port, spec2.port) ||
                    !spec.devid != !spec2.devid || (spec.devid && !streq(spec.devid, spec2.devid)))
                        __builtin_trap();
                free(joined);
                qpci_device_spec_done(&spec2);
                qpci_device_spec_done(&spec);
        } else if (!why || spec.port)
                __builtin_trap();
        why = NULL;
        if (qpci_devid_check(s, &why) < 0 && !why)
                __builtin_trap();
        why = NULL;
        if (qpci_usb_query_parse(s, &q, &why) == 0) {
                /* Only numbers the kernel can give are matched: never a wrapped one. */
                if (q.busnum != -1 && (q.busnum < 1 || q.busnum > 64))
                        __builtin_trap();
                if (q.devnum != -1 && (q.devnum < 1 || q.devnum > 127))
                        __builtin_trap();
                qpci_usb_query_done(&q);
        }
        else if (!why)
                __builtin_trap();
        free(s);
        return 0;
}
