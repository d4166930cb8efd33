/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qpci hook install | uninstall: libvirt's hook scripts, so that VMs started from virsh or
 * virt-manager pass qpci's rules. qpci hook qemu|libxl DOMAIN OP SUBOP EXTRA: what libvirt runs
 * (the domain's XML on stdin); a refusal is one line on stderr, which libvirt shows the user.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "tool.h"

static const char *const drivers[] = {"qemu", "libxl"};
#define MARK "# Written by 'qpci hook install'"

static void usage(const char *prog, FILE *f) {
        fprintf(f,
                "Usage: %s install     write libvirt's hooks /etc/libvirt/hooks/qemu and libxl\n"
                "       %s uninstall   remove them\n"
                "       %s qemu|libxl DOMAIN OP SUBOP EXTRA   (what libvirt runs; the XML on stdin)\n"
                "\n"
                "With the hooks, a VM started by any libvirt client passes qpci's rules for its PCI\n"
                "devices and gets them hidden from the host first, as with qvm-start. libvirtd reads\n"
                "hooks when it starts: restart it after installing.\n\n"
                "  -h, --help   this text\n",
                prog, prog, prog);
}

static char *slurp(FILE *f) {
        size_t len = 0, cap = 0;
        char *buf = NULL, *nb;

        for (;;) {
                if (len + 4096 + 1 > cap) {
                        cap = cap ? cap * 2 : 65536;
                        if (!(nb = realloc(buf, cap))) {
                                free(buf);
                                return NULL;
                        }
                        buf = nb;
                }
                size_t k = fread(buf + len, 1, cap - len - 1, f);
                len += k;
                if (k == 0)
                        break;
        }
        /* A domain's XML cut short by a read error would be checked as if it were whole. */
        if (ferror(f)) {
                free(buf);
                return NULL;
        }
        buf[len] = '\0';
        return buf;
}

/* Whether the file at path (under root) is one of ours: only those are replaced or removed. */
static int ours(const char *path) {
        _cleanup_fclose_ FILE *f = fopen(path, "r");
        _cleanup_free_ char *line = NULL;
        size_t size = 0;

        if (!f)
                return errno == ENOENT ? 1 : -errno;
        /* The mark is the second line, after the #! line: whole lines, so the end of another
         * program's long first line is never taken for our mark. */
        if (getline(&line, &size, f) < 0 || getline(&line, &size, f) < 0)
                return 0;
        return strncmp(line, MARK, strlen(MARK)) == 0;
}

static int install(struct qpci_ctx *ctx, bool remove) {
        const char *root = qpci_get_root(ctx);
        /* A fixture root (QPCI_ROOT) gets the hooks below it, and keeps them pointing at it. */
        const char *prefix = root && !streq(root, "/") ? root : "";
        char dir[PATH_MAX], exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        int ret = 0;

        if (n <= 0) {
                tool_error("cannot tell where this qpci is: %s", strerror(errno));
                return EXIT_FAIL;
        }
        exe[n] = '\0';
        snprintf(dir, sizeof(dir), "%s/etc/libvirt/hooks", prefix);
        /* /etc, /etc/libvirt and its hooks, each as needed (a fixture root may have none). */
        for (char *p = dir + strlen(prefix) + 1; !remove; p++) {
                char c = *p;
                if (c != '/' && c != '\0')
                        continue;
                *p = '\0';
                int k = mkdir(dir, 0755) < 0 && errno != EEXIST ? -errno : 0;
                *p = c;
                if (k < 0) {
                        tool_error("cannot create %s: %s", dir, strerror(-k));
                        return EXIT_FAIL;
                }
                if (!c)
                        break;
        }
        for (size_t i = 0; i < ELEMENTSOF(drivers); i++) {
                char path[PATH_MAX + 16], tmp[PATH_MAX + 32];
                _cleanup_fclose_ FILE *f = NULL;
                int o;

                snprintf(path, sizeof(path), "%s/%s", dir, drivers[i]);
                if ((o = ours(path)) <= 0) {
                        tool_error("%s is %s: leave it, or call '%s hook %s \"$@\"' from it (with the domain XML on "
                                   "its standard input)", path, o < 0 ? strerror(-o) : "another program's hook", exe,
                                   drivers[i]);
                        ret = EXIT_FAIL;
                        continue;
                }
                if (remove) {
                        if (unlink(path) == 0)
                                printf("removed %s\n", path);
                        else if (errno != ENOENT) {
                                tool_error("cannot remove %s: %s", path, strerror(errno));
                                ret = EXIT_FAIL;
                        }
                        continue;
                }
                snprintf(tmp, sizeof(tmp), "%s.qpci-tmp", path);
                f = fopen(tmp, "w");
                if (!f || fprintf(f, "#!/bin/sh\n" MARK ": libvirt runs it for every domain of its %s\n"
                                     "# driver; before a start, qpci checks the rules for the domain's PCI devices and "
                                     "hides them.\n%s%s%sexec '%s' hook %s \"$@\"\n",
                                  drivers[i],
                                  /* A fixture root stays one: the hook then never touches the host's devices. */
                                  *prefix ? "export QPCI_ROOT='" : "", prefix, *prefix ? "'\n" : "", exe,
                                  drivers[i]) < 0 ||
                    fchmod(fileno(f), 0755) < 0 || fflush(f) != 0 || rename(tmp, path) < 0) {
                        tool_error("cannot write %s: %s", path, strerror(errno));
                        unlink(tmp);
                        ret = EXIT_FAIL;
                        continue;
                }
                printf("wrote %s\n", path);
        }
        if (!remove && ret == 0)
                printf("restart libvirtd (or virtqemud/virtxend) so that it runs them\n");
        return ret;
}

int cmd_qpci_hook(const char *prog, int argc, char **argv) {
        _cleanup_(qpci_unrefp) struct qpci_ctx *ctx = NULL;
        const char *sub = argc > 1 ? argv[1] : NULL;

        if (!sub || streq(sub, "--help") || streq(sub, "-h")) {
                usage(prog, sub ? stdout : stderr);
                return sub ? 0 : EXIT_USAGE;
        }
        bool is_driver = streq(sub, "qemu") || streq(sub, "libxl");
        if (!is_driver && !streq(sub, "install") && !streq(sub, "uninstall")) {
                tool_error("unknown command '%s': use install, uninstall, qemu or libxl; see '%s --help'", sub, prog);
                return EXIT_USAGE;
        }
        if (!is_driver && argc > 2) {
                tool_error("%s %s takes nothing more; see '%s --help'", prog, sub, prog);
                return EXIT_USAGE;
        }
        if (is_driver && argc < 5) {
                tool_error("%s %s takes what libvirt gives a hook: DOMAIN OP SUBOP [EXTRA]", prog, sub);
                return EXIT_USAGE;
        }
        if (tool_ctx_new(&ctx, false) < 0)
                return EXIT_FAIL;
        if (!is_driver)
                return install(ctx, streq(sub, "uninstall"));
        _cleanup_free_ char *xml = slurp(stdin);
        if (!xml) {
                tool_error("cannot read the domain's XML from standard input: %s", strerror(errno));
                return EXIT_FAIL;
        }
        /* Every domain and operation passes through here: only a start before the devices are
         * opened does any work. */
        return qpci_virt_hook(ctx, sub, argv[3], argv[4], xml) == 0 ? 0 : EXIT_FAIL;
}
