/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * VMs are libvirt domains: qpci works with the VMs people already have (virsh, virt-manager), on
 * QEMU/KVM and on Xen through libvirt's libxl driver. This file is the connection, the list of
 * domains, their lifecycle and their preferences; assign.c gives them devices.
 */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/uri.h>
#include <libxml/xmlerror.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "qpci-internal.h"
#include "virt.h"

/* libvirt prints every error to stderr unless told otherwise; qpci reports them itself. */
static void quiet_errors(void *data, virErrorPtr err) {
        (void)data, (void)err;
}

/* libxml2 prints its own parser errors to stderr ("I/O warning : failed to load external entity")
 * when libvirt parses in this process (the test driver); libvirt's error then says it in one line. */
static void quiet_xml(void *data, const char *fmt, ...) {
        (void)data, (void)fmt;
}

const char *qpci_virt_error(void) {
        const char *m = virGetLastErrorMessage();
        return m ? m : "unknown libvirt error";
}

/* Whether name, as a libvirt daemon reports it (virGetHostname: the host name, or the canonical
 * name the resolver gives for it), is this host's. */
static bool is_this_host(const char *name, const char *ours) {
        struct addrinfo *ai = NULL, hints = {.ai_flags = AI_CANONNAME, .ai_family = AF_UNSPEC};
        size_t n = strlen(ours);
        bool same;

        if (streq(name, ours) || (!strchr(ours, '.') && strncmp(name, ours, n) == 0 && name[n] == '.'))
                return true;
        if (getaddrinfo(ours, NULL, &hints, &ai) != 0)
                return false;
        same = ai && ai->ai_canonname && streq(ai->ai_canonname, name);
        freeaddrinfo(ai);
        return same;
}

/*
 * Until qpci drives other hosts, a connection to one gets VM-only commands: its VMs can have only
 * that host's devices, which qpci neither sees nor moves, while the rules and the engine would
 * act on this host's devices at the same addresses. Another host is a URI with a host part (as
 * libvirt parses it, with libxml2), or a daemon whose host name is not this host's (a socket or
 * an alias may lead anywhere).
 */
static int find_remote(struct qpci_virt *v, const char *want) {
        const char *uris[] = {want, v->uri};
        _cleanup_free_ char *theirs = NULL;
        char ours[HOST_NAME_MAX + 1] = "";

        bool in_process = false;

        for (size_t i = 0; i < ELEMENTSOF(uris); i++) {
                xmlURIPtr u = uris[i] ? xmlParseURI(uris[i]) : NULL;
                if (u && u->server && *u->server && !v->remote_host)
                        v->remote_host = strdup(u->server);
                /* libvirt's test driver runs inside this process: it is this host, and asking it
                 * for its name only makes libvirt warn on stderr where the name does not resolve. */
                if (u && u->scheme && streq(u->scheme, "test") && i == ELEMENTSOF(uris) - 1)
                        in_process = true;
                xmlFreeURI(u);
                if (v->remote_host)
                        return 0;
        }
        if (in_process)
                return 0;
        theirs = virConnectGetHostname(v->conn);
        if (!theirs || gethostname(ours, sizeof(ours) - 1) < 0) {
                log_dbg(v->ctx, "cannot compare the host names of %s and this host: taken for this host's", v->uri);
                return 0;
        }
        if (is_this_host(theirs, ours))
                return 0;
        v->remote_host = TAKE_PTR(theirs);
        v->this_host = strdup(ours);
        return v->this_host ? 0 : -ENOMEM;
}

int qpci_virt_refuse_remote(struct qpci_virt *v, int priority, const char *fmt, ...) {
        _cleanup_free_ char *what = NULL;
        va_list ap;
        int r;

        if (!v->remote_host)
                return 0;
        va_start(ap, fmt);
        r = vasprintf(&what, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        if (v->this_host)
                qpci_log(v->ctx, priority, "%s reaches the libvirt of another host, %s (this one is %s): %s", v->uri,
                         v->remote_host, v->this_host, what);
        else
                qpci_log(v->ctx, priority, "%s is the libvirt of another host, %s: %s", v->uri, v->remote_host, what);
        return -EREMOTE;
}

int qpci_virt_open(struct qpci_ctx *ctx, const char *uri, unsigned flags, struct qpci_virt **ret) {
        struct qpci_virt *v;
        const char *want = uri ? uri : getenv("LIBVIRT_DEFAULT_URI");

        if (!want || !*want)
                want = qpci_host_is_xen_dom0(ctx) ? "xen:///system" : "qemu:///system";
        virSetErrorFunc(NULL, quiet_errors);
        xmlSetGenericErrorFunc(NULL, quiet_xml);
        v = calloc(1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        v->refcount = 1;
        v->ctx = qpci_ref(ctx);
        v->conn = virConnectOpen(want);
        if (!v->conn) {
                qpci_log(ctx, flags & QPCI_VIRT_OPTIONAL ? QPCI_LOG_INFO : QPCI_LOG_ERR,
                         "cannot reach libvirt at %s: %s; start its daemon (systemctl start libvirtd, or "
                         "virtqemud/virtxend), or choose another with -c URI", want, qpci_virt_error());
                qpci_virt_unref(v);
                return -ECONNREFUSED;
        }
        v->uri = virConnectGetURI(v->conn);
        if (!v->uri)
                v->uri = strdup(want);
        if (!v->uri || find_remote(v, want) < 0) {
                qpci_virt_unref(v);
                return -ENOMEM;
        }
        if ((flags & QPCI_VIRT_HOST_DEVICES) && v->remote_host) {
                int r = flags & QPCI_VIRT_OPTIONAL
                                ? qpci_virt_refuse_remote(v, QPCI_LOG_INFO, "its VMs have that host's devices, not "
                                                          "this host's: USED BY is left out")
                                : qpci_virt_refuse_remote(v, QPCI_LOG_ERR, "qpci gives VMs this host's devices only; "
                                                          "run the command on %s itself", v->remote_host);
                qpci_virt_unref(v);
                return r;
        }
        *ret = v;
        return 0;
}

static void vm_free(struct qpci_vm *vm) {
        if (!vm)
                return;
        if (vm->dom)
                virDomainFree(vm->dom);
        if (vm->live != vm->def)
                qpci_vmxml_free(vm->live);
        qpci_vmxml_free(vm->def);
        free(vm->name);
        free(vm);
}

static void drop_vms(struct qpci_virt *v) {
        for (size_t i = 0; i < v->n_vms; i++)
                vm_free(v->vms[i]);
        free(v->vms);
        v->vms = NULL;
        v->n_vms = 0;
        v->listed = false;
}

struct qpci_virt *qpci_virt_unref(struct qpci_virt *v) {
        if (!v || --v->refcount > 0)
                return NULL;
        drop_vms(v);
        if (v->conn)
                virConnectClose(v->conn);
        free(v->uri);
        free(v->remote_host);
        free(v->this_host);
        qpci_unref(v->ctx);
        free(v);
        return NULL;
}

const char *qpci_virt_get_uri(const struct qpci_virt *v) {
        return v->uri;
}

static enum qpci_vm_state state_of(virDomainPtr dom) {
        int state = VIR_DOMAIN_NOSTATE, reason;

        if (virDomainGetState(dom, &state, &reason, 0) < 0)
                return QPCI_VM_TRANSIENT;
        switch (state) {
        case VIR_DOMAIN_SHUTOFF:
                return QPCI_VM_HALTED;
        case VIR_DOMAIN_RUNNING:
        case VIR_DOMAIN_BLOCKED: /* Xen says blocked for an idle guest */
                return QPCI_VM_RUNNING;
        case VIR_DOMAIN_PAUSED:
        case VIR_DOMAIN_PMSUSPENDED:
                return QPCI_VM_PAUSED;
        default:
                return QPCI_VM_TRANSIENT;
        }
}

static int vm_new(struct qpci_virt *v, virDomainPtr dom, struct qpci_vm **ret) {
        struct qpci_vm *vm = calloc(1, sizeof(*vm));

        if (!vm || !(vm->name = strdup(virDomainGetName(dom)))) {
                free(vm);
                virDomainFree(dom);
                return -ENOMEM;
        }
        vm->virt = v;
        vm->dom = dom;
        vm->state = state_of(dom);
        *ret = vm;
        return 0;
}

/* A VM known from its XML alone (the libvirt hook may not call libvirt back), added to v, which
 * owns it, as the VM owns x. */
int qpci_vm_new_offline(struct qpci_virt *v, struct qpci_vmxml *x, enum qpci_vm_state state, struct qpci_vm **ret) {
        struct qpci_vm *vm = calloc(1, sizeof(*vm));
        struct qpci_vm **nv = reallocarray(v->vms, v->n_vms + 1, sizeof(*nv));

        if (nv)
                v->vms = nv;
        if (!vm || !nv || !(vm->name = strdup(qpci_vmxml_get_name(x)))) {
                free(vm);
                qpci_vmxml_free(x);
                return -ENOMEM;
        }
        vm->virt = v;
        vm->state = state;
        vm->def = x;
        if (state != QPCI_VM_HALTED)
                vm->live = x; /* a status file holds the running definition only */
        v->vms[v->n_vms++] = vm;
        if (ret)
                *ret = vm;
        return 0;
}

int qpci_virt_new_offline(struct qpci_ctx *ctx, struct qpci_virt **ret) {
        struct qpci_virt *v = calloc(1, sizeof(*v));

        if (!v || !(v->uri = strdup("(libvirt's status files)"))) {
                free(v);
                return -ENOMEM;
        }
        v->refcount = 1;
        v->ctx = qpci_ref(ctx);
        v->listed = true;
        *ret = v;
        return 0;
}

static int vm_cmp(const void *a, const void *b) {
        return strcmp((*(struct qpci_vm *const *)a)->name, (*(struct qpci_vm *const *)b)->name);
}

static int list_vms(struct qpci_virt *v) {
        virDomainPtr *doms = NULL;
        int n, r = 0;

        if (v->listed)
                return 0;
        n = virConnectListAllDomains(v->conn, &doms, 0);
        if (n < 0)
                return log_error_errno(v->ctx, -EIO, "cannot list the VMs of %s: %s", v->uri, qpci_virt_error());
        v->vms = calloc(n ? (size_t)n : 1, sizeof(*v->vms));
        for (int i = 0; i < n; i++) {
                if (!v->vms)
                        virDomainFree(doms[i]);
                else if (vm_new(v, doms[i], &v->vms[v->n_vms]) == 0) /* which frees the domain on failure */
                        v->n_vms++;
                else
                        r = -ENOMEM;
        }
        free(doms);
        if (r < 0 || !v->vms)
                return -ENOMEM;
        qsort(v->vms, v->n_vms, sizeof(*v->vms), vm_cmp);
        v->listed = true;
        return 0;
}

int qpci_virt_get_vms(struct qpci_virt *v, struct qpci_vm *const **vms, size_t *n) {
        int r = list_vms(v);
        if (r < 0)
                return r;
        *vms = v->vms;
        *n = v->n_vms;
        return 0;
}

int qpci_virt_find_vm(struct qpci_virt *v, const char *name, struct qpci_vm **ret) {
        int r = list_vms(v);

        if (r < 0)
                return r;
        for (size_t i = 0; i < v->n_vms; i++)
                if (streq(v->vms[i]->name, name)) {
                        *ret = v->vms[i];
                        return 0;
                }
        return log_refusal(v->ctx, -ENOENT, "not-found", ("no such VM: '%s' (qvm-ls lists them)", name), (NULL), (NULL));
}

/* What the host runs guests with: KVM when libvirt offers it, else plain QEMU (TCG). */
static const char *host_virt_type(struct qpci_virt *v) {
        _cleanup_free_ char *caps = NULL;

        if (strncmp(v->uri, "xen", 3) == 0)
                return "xen";
        caps = virConnectGetCapabilities(v->conn);
        return caps && strstr(caps, "<domain type='kvm'") ? "kvm" : "qemu";
}

static bool valid_name(const char *s) {
        /* Qubes' rule for VM names: a letter first, then letters, digits, '-', '_' and '.'. */
        if (!s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')) || strlen(s) > 31)
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
                      *s == '-' || *s == '_' || *s == '.'))
                        return false;
        return true;
}

/*
 * The folder where a session daemon of this machine (qemu:///session, which runs as this user) keeps
 * its domains' logs: ~/.cache/libvirt/qemu/log (XDG_CACHE_HOME), as libvirt chooses it. NULL for any
 * other connection. The URI is parsed by libxml2, as libvirt parses it.
 */
static char *session_log_dir(const char *uri) {
        xmlURIPtr u = xmlParseURI(uri);
        const char *cache = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
        bool session = u && u->scheme && (streq(u->scheme, "qemu") || streq(u->scheme, "qemu+unix")) &&
                       (!u->server || !*u->server) &&
                       streq(u->path ? u->path : "", "/session");
        struct passwd *pw;
        char *dir = NULL;

        xmlFreeURI(u);
        if (!session)
                return NULL;
        if (cache && *cache == '/')
                return asprintf(&dir, "%s/libvirt/qemu/log", cache) < 0 ? NULL : dir;
        if ((!home || *home != '/') && (pw = getpwuid(geteuid())))
                home = pw->pw_dir;
        if (!home || *home != '/' || asprintf(&dir, "%s/.cache/libvirt/qemu/log", home) < 0)
                return NULL;
        return dir;
}

/*
 * The file for a new VM's serial console, beside QEMU's own log (NAME.log) in the folder where the
 * connection's daemon keeps its domains' logs, which only that daemon may write: a system daemon's
 * /var/log/libvirt/qemu (on whichever host it runs), a local session's folder. NULL, and no log,
 * when qpci cannot know the folder (another host's session, another driver).
 */
static char *console_log_path(const char *uri, const char *name) {
        xmlURIPtr u = xmlParseURI(uri);
        const char *driver = u && u->scheme ? u->scheme : "";
        char *dir = NULL, *path = NULL;

        if (strncmp(driver, "qemu", 4) == 0 && (!driver[4] || driver[4] == '+') &&
            streq(u->path ? u->path : "", "/system"))
                dir = strdup("/var/log/libvirt/qemu");
        else
                dir = session_log_dir(uri);
        xmlFreeURI(u);
        if (dir && asprintf(&path, "%s/%s-console.log", dir, name) < 0)
                path = NULL;
        free(dir);
        return path;
}

/* libvirt makes a session's ~/.cache/libvirt/qemu but not the log folder in it, and then cannot
 * start a VM, whose QEMU log it opens there: qpci, running as the session's user, makes it. */
void qpci_virt_make_log_dir(struct qpci_virt *v) {
        _cleanup_free_ char *dir = v->uri ? session_log_dir(v->uri) : NULL;

        if (!dir)
                return;
        for (char *p = strchr(dir + 1, '/');; p = strchr(p + 1, '/')) {
                if (p)
                        *p = '\0';
                if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
                        log_dbg(v->ctx, "cannot create %s: %s", dir, strerror(errno));
                        return;
                }
                if (!p)
                        return;
                *p = '/';
        }
}

int qpci_virt_create_vm(struct qpci_virt *v, const struct qpci_vm_config *c, struct qpci_vm **ret) {
        struct qpci_vm *vm = NULL;
        _cleanup_free_ char *xml = NULL, *console_log = NULL;
        struct qpci_vm **nv;
        virDomainPtr dom;
        int r;

        if (!valid_name(c->name))
                return log_error_errno(v->ctx, -EINVAL, "invalid VM name '%s': a letter, then up to 30 letters, "
                                       "digits, '-', '_' or '.'", c->name ? c->name : "");
        if (list_vms(v) == 0)
                for (size_t i = 0; i < v->n_vms; i++)
                        if (streq(v->vms[i]->name, c->name))
                                return log_error_errno(v->ctx, -EEXIST, "a VM named '%s' exists already",
                                                       c->name);
        if (!c->kernel)
                return log_error_errno(v->ctx, -EINVAL, "a VM boots its kernel directly: give one with --kernel");
        /* The same checks as qvm-prefs's, before libvirt sees anything. Another host's daemon boots
         * files of that host, which this one may not have. */
        const char *const given[][2] = {{"kernel", c->kernel}, {"initrd", c->initrd}, {"kernelopts", c->kernelopts}};
        for (size_t i = 0; i < ELEMENTSOF(given); i++) {
                const char *why;
                if (given[i][1] && qpci_vmxml_check_pref_on(given[i][0], given[i][1], !v->remote_host, &why) < 0)
                        return log_error_errno(v->ctx, -EINVAL, "invalid --%s '%s': %s", given[i][0], given[i][1], why);
        }
        console_log = console_log_path(v->uri, c->name);
        qpci_virt_make_log_dir(v);
        xml = qpci_vmxml_new_domain(c, c->virt_type ? c->virt_type : host_virt_type(v), console_log);
        if (!xml)
                return -ENOMEM;
        dom = virDomainDefineXML(v->conn, xml);
        if (!dom)
                return log_error_errno(v->ctx, -EIO, "libvirt refused the VM '%s': %s", c->name, qpci_virt_error());
        r = vm_new(v, dom, &vm);
        if (r < 0)
                return r;
        nv = reallocarray(v->vms, v->n_vms + 1, sizeof(*nv));
        if (!nv) {
                vm_free(vm);
                return -ENOMEM;
        }
        v->vms = nv;
        v->vms[v->n_vms++] = vm;
        qsort(v->vms, v->n_vms, sizeof(*v->vms), vm_cmp);
        if (ret)
                *ret = vm;
        return 0;
}

const char *qpci_vm_get_name(const struct qpci_vm *vm) {
        return vm->name;
}

enum qpci_vm_state qpci_vm_get_state(const struct qpci_vm *vm) {
        return vm->state;
}

void qpci_vm_refresh(struct qpci_vm *vm) {
        if (!vm->dom)
                return; /* known from its XML only: nothing to read again */
        vm->state = state_of(vm->dom);
        qpci_vmxml_free(vm->def);
        qpci_vmxml_free(vm->live);
        vm->def = vm->live = NULL;
}

/* Saves a definition whose older records were converted, unless it changed since it was read (as
 * read): a command that only reads holds no lock, and must not undo what another one just did. */
static void save_migrated(struct qpci_vm *vm, const char *was, struct qpci_vmxml *x) {
        _cleanup_free_ char *now = virDomainGetXMLDesc(vm->dom, VIR_DOMAIN_XML_INACTIVE), *xml = NULL;
        virDomainPtr dom = NULL;

        if (now && streq(now, was) && (xml = qpci_vmxml_format(x)))
                dom = virDomainDefineXML(vm->virt->conn, xml);
        if (dom)
                virDomainFree(dom);
        else
                log_info(vm->virt->ctx, "the assignments of %s, recorded by an older qpci, are not saved in today's "
                         "form this time: %s", vm->name, now && !streq(now, was) ? "its definition changed meanwhile"
                         : xml || !now ? qpci_virt_error() : strerror(ENOMEM));
}

/* One of the domain's XMLs, fetched and parsed on first use into *slot. */
static int load_xml(struct qpci_vm *vm, unsigned flags, struct qpci_vmxml **slot, struct qpci_vmxml **ret) {
        _cleanup_free_ char *xml = NULL;
        int r;

        if (!*slot && vm->dom) {
                xml = virDomainGetXMLDesc(vm->dom, flags);
                if (!xml)
                        return log_error_errno(vm->virt->ctx, -EIO, "cannot read the %s of %s: %s",
                                               flags & VIR_DOMAIN_XML_INACTIVE ? "definition" : "state", vm->name,
                                               qpci_virt_error());
                r = qpci_vmxml_parse(xml, slot);
                if (r < 0)
                        return log_error_errno(vm->virt->ctx, r, "libvirt gave no domain XML for %s", vm->name);
                /* Once: the converted records are saved, so the next reader finds them converted. Not
                 * saving them changes nothing but that (each parse converts them again). */
                if ((flags & VIR_DOMAIN_XML_INACTIVE) && qpci_vmxml_migrated(*slot))
                        save_migrated(vm, xml, *slot);
        }
        *ret = *slot;
        return 0;
}

/* The definition (the persistent XML). */
int qpci_vm_def(struct qpci_vm *vm, struct qpci_vmxml **ret) {
        return load_xml(vm, VIR_DOMAIN_XML_INACTIVE, &vm->def, ret);
}

/* The running domain's XML; NULL (and 0) when it does not run. */
int qpci_vm_live(struct qpci_vm *vm, struct qpci_vmxml **ret) {
        *ret = NULL;
        return vm->state == QPCI_VM_HALTED ? 0 : load_xml(vm, 0, &vm->live, ret);
}

/* Saves an edited definition; the VM object then reads it again. */
int qpci_vm_define(struct qpci_vm *vm, struct qpci_vmxml *x) {
        _cleanup_free_ char *xml = qpci_vmxml_format(x);
        virDomainPtr dom;

        if (!xml)
                return -ENOMEM;
        dom = virDomainDefineXML(vm->virt->conn, xml);
        if (!dom)
                return log_error_errno(vm->virt->ctx, -EIO, "libvirt refused the new definition of %s: %s", vm->name,
                                       qpci_virt_error());
        virDomainFree(dom);
        qpci_vm_refresh(vm);
        return 0;
}

unsigned long qpci_vm_get_memory_mib(struct qpci_vm *vm) {
        _cleanup_free_ char *v = NULL;
        return qpci_vm_get_pref(vm, "memory", &v, NULL) == 0 ? strtoul(v, NULL, 10) : 0;
}

int qpci_vm_get_pref(struct qpci_vm *vm, const char *name, char **value, bool *is_default) {
        struct qpci_vmxml *x;
        int r = qpci_vm_def(vm, &x);

        if (r < 0)
                return r;
        r = qpci_vmxml_get_pref(x, name, value, is_default);
        if (r == -ENOENT)
                log_refusal(vm->virt->ctx, r, "not-found", ("no such property: '%s' (qvm-prefs %s lists them)", name,
                                                            vm->name), (NULL), (NULL));
        return r;
}

int qpci_vm_set_pref(struct qpci_vm *vm, const char *name, const char *value) {
        struct qpci_ctx *ctx = vm->virt->ctx;
        const char *why = NULL;
        struct qpci_vmxml *x;
        int r = qpci_vm_def(vm, &x);

        if (r < 0)
                return r;
        qpci_vmxml_set_files_elsewhere(x, vm->virt->remote_host);
        r = qpci_vmxml_set_pref(x, name, value, &why);
        if (r == -ENOENT)
                return log_refusal(ctx, r, "not-found", ("no such property: '%s' (qvm-prefs %s lists them)", name,
                                                         vm->name), (NULL), (NULL));
        if (r == -EINVAL)
                return log_refusal(ctx, r, "bad-argument", ("invalid value '%s' for %s", value ? value : "", name),
                                   ("%s", why), (NULL));
        if (r < 0)
                return r;
        return qpci_vm_define(vm, x);
}

/* Whether Xen still has backends (pci, vif, vbd) of domain domid: /sys/bus/xen-backend/devices/
 * holds TYPE-DOMID-N for each. libvirt's libxl driver calls a domain shut off before
 * libxl_domain_destroy() has torn them down (10 s for a PCI backend here), and until then the
 * devices are still the domain's: pciback warns "removing device ... while still in-use". */
static bool xen_backends_of(struct qpci_ctx *ctx, unsigned domid) {
        _cleanup_closedir_ DIR *dir = NULL;
        char mid[24];
        struct dirent *de;
        int fd = qpci_open_root(ctx, "/sys/bus/xen-backend/devices", O_RDONLY | O_DIRECTORY);

        if (fd < 0 || !(dir = fdopendir(fd))) {
                if (fd >= 0)
                        close(fd);
                return false;
        }
        snprintf(mid, sizeof(mid), "-%u-", domid);
        while ((de = readdir(dir)))
                if (strstr(de->d_name, mid))
                        return true;
        return false;
}

int qpci_vm_shutdown(struct qpci_vm *vm, bool wait, bool force, unsigned timeout_s) {
        struct qpci_ctx *ctx = vm->virt->ctx;
        unsigned domid = virDomainGetID(vm->dom); /* (unsigned)-1 when it does not run */
        bool xen = strncmp(vm->virt->uri, "xen", 3) == 0 && domid != (unsigned)-1 && domid > 0;

        vm->state = state_of(vm->dom);
        if (vm->state == QPCI_VM_HALTED)
                return log_refusal(ctx, -EALREADY, "vm-halted", ("%s is not running", vm->name), (NULL), (NULL));
        if (force) {
                if (virDomainDestroy(vm->dom) < 0)
                        return log_error_errno(ctx, -EIO, "cannot power %s off: %s", vm->name, qpci_virt_error());
        } else if (virDomainShutdown(vm->dom) < 0)
                return log_error_errno(ctx, -EIO, "cannot shut %s down: %s", vm->name, qpci_virt_error());
        for (unsigned ms = 0; (wait || force) && (state_of(vm->dom) != QPCI_VM_HALTED ||
                                                 (xen && xen_backends_of(ctx, domid)));
             ms += 100) {
                if (ms >= (timeout_s ? timeout_s : 60) * 1000)
                        return log_error_errno(ctx, -ETIMEDOUT, "%s did not shut down within %u s; "
                                               "qvm-shutdown --force powers it off", vm->name,
                                               timeout_s ? timeout_s : 60);
                nanosleep(&(struct timespec){.tv_nsec = 100 * 1000 * 1000}, NULL);
        }
        /* Devices stay hidden: a device a VM had is never handed back to the host by itself. */
        qpci_vm_refresh(vm);
        return 0;
}

int qpci_vm_remove(struct qpci_vm *vm) {
        struct qpci_ctx *ctx = vm->virt->ctx;

        if (state_of(vm->dom) != QPCI_VM_HALTED)
                return log_refusal(ctx, -EBUSY, "vm-running", ("%s is running", vm->name), (NULL),
                                   ("shut it down first (qvm-shutdown %s)", vm->name));
        if (virDomainUndefineFlags(vm->dom, VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
                                                    VIR_DOMAIN_UNDEFINE_NVRAM) < 0 &&
            virDomainUndefine(vm->dom) < 0)
                return log_error_errno(ctx, -EIO, "cannot remove %s: %s", vm->name, qpci_virt_error());
        vm->state = QPCI_VM_HALTED;
        return 0;
}
