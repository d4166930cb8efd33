/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The public VM API, forwarded to the module qpci-virt.so (see virt-module.h), which is loaded by
 * the first qpci_virt_open(). Every other function takes an object only an open connection made,
 * so by then the module is there. Built without VM support (-Dvirt=disabled), no connection opens.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qpci-internal.h"
#include "virt-module.h"

static const struct qpci_virt_module *mod;

#if QPCI_HAVE_VIRT
/* Tries one place. 0 when loaded, -ENOENT when nothing is there, another -errno (with *err set)
 * when something is there but is not this build's module: then no other place is tried. */
static int try_load(const char *path, const char **err) {
        void *h;

        if (access(path, F_OK) < 0)
                return -ENOENT;
        /* RTLD_NODELETE: the table stays valid for the life of the process. */
        h = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
        if (!h) {
                *err = dlerror();
                return -ENOPKG;
        }
        mod = dlsym(h, QPCI_VIRT_MODULE_SYMBOL);
        if (mod && mod->abi == QPCI_VIRT_MODULE_ABI)
                return 0;
        *err = mod ? "it comes from another build of qpci" : "it is not qpci's VM module";
        mod = NULL;
        dlclose(h);
        return -ENOPKG;
}

/* Tries dir/name (name alone without dir). *shown keeps the path to name in an error: the first
 * place tried, or the one where something else than this build's module was found. */
static int try_place(const char *dir, const char *name, char **shown, const char **err) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (asprintf(&path, "%s%s%s", dir ? dir : "", dir ? "/" : "", name) < 0)
                return -ENOMEM;
        r = try_load(path, err);
        if (r != 0 && (!*shown || r != -ENOENT)) {
                free(*shown);
                *shown = TAKE_PTR(path);
        }
        return r;
}

/* Where the module may be: named by QPCI_VIRT_MODULE, else beside this library (the build tree's
 * lib/), in its qpci/ folder (an installed prefix, wherever it was copied to), then the configured
 * module folder. */
static int load(struct qpci_ctx *ctx, int priority) {
        const char *env = getenv("QPCI_VIRT_MODULE");
        const char *err = "not there";
        _cleanup_free_ char *shown = NULL, *libdir = NULL;
        Dl_info info;
        int r;

        if (mod)
                return 0;
        if (env && *env)
                r = try_place(NULL, env, &shown, &err);
        else {
                r = -ENOENT;
                if (dladdr((void *)load, &info) && info.dli_fname && strchr(info.dli_fname, '/')) {
                        libdir = strdup(info.dli_fname);
                        if (!libdir)
                                return -ENOMEM;
                        *strrchr(libdir, '/') = '\0';
                        r = try_place(libdir, "qpci-virt.so", &shown, &err);
                        if (r == -ENOENT)
                                r = try_place(libdir, "qpci/qpci-virt.so", &shown, &err);
                }
                if (r == -ENOENT)
                        r = try_place(QPCI_MODULE_DIR, "qpci-virt.so", &shown, &err);
        }
        if (r == 0)
                return 0;
        if (r == -ENOMEM)
                return r;
        qpci_log(ctx, priority, "VM support is not available: cannot load qpci-virt.so (%s: %s); it needs libvirt0 and "
                 "libxml2 installed", shown ? shown : "", err);
        return -ENOPKG;
}
#else
static int load(struct qpci_ctx *ctx, int priority) {
        /* Built so on purpose: a listing that only wanted USED BY has nothing to report at -v. */
        qpci_log(ctx, priority == QPCI_LOG_INFO ? QPCI_LOG_DEBUG : priority,
                 "VM support is not available: this qpci was built without it (-Dvirt=disabled); rebuild it with "
                 "libvirt and libxml2 (Debian: libvirt-dev libxml2-dev) for the VM commands");
        return -ENOPKG;
}
#endif

/*
 * libvirt's system daemons (libvirtd, virtqemud, virtxend, virtproxyd) listen, or systemd listens
 * for them, on sockets in this folder; where none is, a client of a system URI only learns that it
 * cannot connect. True for a system URI (or none: qpci's default is one) when no -sock is there.
 */
static bool no_system_daemon(const char *uri) {
        _cleanup_closedir_ DIR *dir = NULL;
        struct dirent *de;

        if (!uri)
                uri = getenv("LIBVIRT_DEFAULT_URI");
        if (uri && *uri && !streq(uri, "qemu:///system") && !streq(uri, "xen:///system"))
                return false;
        dir = opendir("/var/run/libvirt");
        if (!dir)
                return errno == ENOENT;
        while ((de = readdir(dir))) {
                size_t n = strlen(de->d_name);
                if (n >= 5 && streq(de->d_name + n - 5, "-sock"))
                        return false;
        }
        return true;
}

QPCI_EXPORT int qpci_virt_open(struct qpci_ctx *ctx, const char *uri, unsigned flags, struct qpci_virt **ret) {
        /* A listing only asks which VM holds what: with no daemon to answer, libvirt and the forty
         * libraries it brings (15 MiB, the most of a listing's start-up) are not loaded to hear so. */
        if ((flags & QPCI_VIRT_OPTIONAL) && no_system_daemon(uri)) {
                log_info(ctx, "no libvirt daemon on this host (no socket in /var/run/libvirt): no VM is asked "
                         "what it holds");
                return -ECONNREFUSED;
        }
        int r = load(ctx, flags & QPCI_VIRT_OPTIONAL ? QPCI_LOG_INFO : QPCI_LOG_ERR);
        return r < 0 ? r : mod->virt_open(ctx, uri, flags, ret);
}

QPCI_EXPORT int qpci_virt_hook(struct qpci_ctx *ctx, const char *driver, const char *op, const char *subop,
                               const char *xml) {
        int r = load(ctx, QPCI_LOG_ERR);
        return r < 0 ? r : mod->virt_hook(ctx, driver, op, subop, xml);
}

int qpci_virt_watch(struct qpci_ctx *ctx, const char *uri, qpci_change_fn fn, void *data, int stop_fd) {
        int r = load(ctx, QPCI_LOG_WARNING);
        return r < 0 ? r : mod->virt_watch(ctx, uri, fn, data, stop_fd);
}

QPCI_EXPORT struct qpci_virt *qpci_virt_unref(struct qpci_virt *v) {
        return v ? mod->virt_unref(v) : NULL;
}

QPCI_EXPORT const char *qpci_vm_state_name(enum qpci_vm_state s) {
        static const char *const names[] = {"Halted", "Running", "Paused", "Transient"};
        return (size_t)s < ELEMENTSOF(names) ? names[s] : "Transient";
}

/* Here, not in the module: qvm-prefs lists them, and the module checks names against them. */
QPCI_EXPORT const char *const *qpci_vm_pref_names(void) {
        static const char *const prefs[] = {"kernel", "initrd", "kernelopts", "memory", "maxmem", "vcpus",
                                            "pci_strictreset", NULL};
        return prefs;
}

/* The rest forward as they are. */
#define FORWARD(type, name, params, args) \
        QPCI_EXPORT type qpci_##name params { return mod->name args; }

FORWARD(const char *, virt_get_uri, (const struct qpci_virt *v), (v))
FORWARD(int, virt_get_vms, (struct qpci_virt *v, struct qpci_vm *const **vms, size_t *n), (v, vms, n))
FORWARD(int, virt_find_vm, (struct qpci_virt *v, const char *name, struct qpci_vm **ret), (v, name, ret))
FORWARD(int, virt_create_vm, (struct qpci_virt *v, const struct qpci_vm_config *c, struct qpci_vm **ret), (v, c, ret))
FORWARD(const char *, vm_get_name, (const struct qpci_vm *vm), (vm))
FORWARD(enum qpci_vm_state, vm_get_state, (const struct qpci_vm *vm), (vm))
FORWARD(unsigned long, vm_get_memory_mib, (struct qpci_vm *vm), (vm))
FORWARD(int, vm_get_pref, (struct qpci_vm *vm, const char *name, char **value, bool *is_default),
        (vm, name, value, is_default))
FORWARD(int, vm_set_pref, (struct qpci_vm *vm, const char *name, const char *value), (vm, name, value))
FORWARD(int, vm_get_assignments, (struct qpci_vm *vm, struct qpci_assignment **ret, size_t *n), (vm, ret, n))
FORWARD(int, vm_attach,
        (struct qpci_vm *vm, struct qpci_inventory *inv, struct qpci_dev *d, const struct qpci_attach_options *o),
        (vm, inv, d, o))
FORWARD(int, vm_detach, (struct qpci_vm *vm, struct qpci_inventory *inv, const struct qpci_addr *addr),
        (vm, inv, addr))
FORWARD(int, vm_unassign, (struct qpci_vm *vm, struct qpci_inventory *inv, const struct qpci_addr *addr),
        (vm, inv, addr))
FORWARD(int, vm_start, (struct qpci_vm *vm, struct qpci_inventory *inv), (vm, inv))
FORWARD(int, vm_check, (struct qpci_vm *vm, struct qpci_inventory *inv), (vm, inv))
FORWARD(int, vm_verdict,
        (struct qpci_vm *vm, struct qpci_inventory *inv, struct qpci_dev *const *devs, size_t n,
         const struct qpci_attach_options *o, struct qpci_finding **ret, size_t *n_ret),
        (vm, inv, devs, n, o, ret, n_ret))
FORWARD(int, vm_shutdown, (struct qpci_vm *vm, bool wait, bool force, unsigned timeout_s),
        (vm, wait, force, timeout_s))
FORWARD(int, vm_remove, (struct qpci_vm *vm), (vm))
