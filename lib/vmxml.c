/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A VM's libvirt domain XML as qpci reads and edits it: the preferences (qvm-prefs) and the PCI
 * assignments. libvirt's own elements stay the truth, so virsh and virt-manager see what qpci
 * does; what libvirt has no element for (options, the identity of an assigned device, which
 * preferences are at their default) lives in a metadata element of qpci's namespace:
 *
 *   <metadata>
 *     <qpci:vm xmlns:qpci="https://qpci.dev/xmlns/vm/1" base-cmdline="console=ttyS0">
 *       <qpci:pref name="maxmem" value="4096"/>
 *       <qpci:device addr="0000:01:00.0" port="00_1c.0-00_00.0" devid="0x8086:0x10d3::p020000"
 *                    no-strict-reset="True"/>
 *     </qpci:vm>
 *   </metadata>
 *
 * A device's addr is its <hostdev>'s, where libvirt gives it; port and devid are Qubes R4.3's
 * identity of the assignment (either may be "*": whatever is at the port, or the device wherever
 * it is). Records of older qpci (path="0000:00:1c.0/0000:01:00.0" vendor="0x8086"
 * device="0x10d3") are converted once, when the XML is parsed (migrate_device()).
 *
 * Pure: strings in, strings out, so the unit tests need no daemon.
 */
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qpci-internal.h"

struct qpci_vmxml {
        xmlDoc *doc;
        xmlNode *domain;
        bool files_elsewhere; /* the domain's files are another host's: not checked here */
        bool migrated;        /* older records were converted: the definition is worth saving */
};

static void migrate(struct qpci_vmxml *x);

static bool is(const xmlNode *n, const char *name) {
        return n && n->type == XML_ELEMENT_NODE && streq((const char *)n->name, name);
}

static xmlNode *child(xmlNode *parent, const char *name) {
        for (xmlNode *n = parent ? parent->children : NULL; n; n = n->next)
                if (is(n, name) && (!n->ns || !streq((const char *)n->ns->href, QPCI_XMLNS)))
                        return n;
        return NULL;
}

static xmlNode *child_or_new(xmlNode *parent, const char *name) {
        xmlNode *n = child(parent, name);
        return n ? n : xmlNewChild(parent, NULL, BAD_CAST name, NULL);
}

/* An attribute's value, or NULL; owned by the document. */
static const char *prop(xmlNode *n, const char *name) {
        xmlAttr *a = n ? xmlHasProp(n, BAD_CAST name) : NULL;
        return a && a->children && a->children->type == XML_TEXT_NODE ? (const char *)a->children->content : NULL;
}

static const char *text(xmlNode *n) {
        return n && n->children && n->children->type == XML_TEXT_NODE ? (const char *)n->children->content : NULL;
}

static void set_text(xmlNode *n, const char *value) {
        xmlNodeSetContent(n, NULL);
        xmlNodeAddContent(n, BAD_CAST value);
}

int qpci_vmxml_parse(const char *xml, struct qpci_vmxml **ret) {
        struct qpci_vmxml *x = calloc(1, sizeof(*x));

        if (!x)
                return -ENOMEM;
        /* No network, no entities: the XML comes from libvirt, but parsing stays boring anyway. */
        x->doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
                               XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        x->domain = x->doc ? xmlDocGetRootElement(x->doc) : NULL;
        /* A running domain's status file (/run/libvirt/DRIVER/NAME.xml) wraps it. */
        if (is(x->domain, "domstatus"))
                x->domain = child(x->domain, "domain");
        if (!is(x->domain, "domain")) {
                qpci_vmxml_free(x);
                return -EBADMSG;
        }
        migrate(x);
        *ret = x;
        return 0;
}

void qpci_vmxml_free(struct qpci_vmxml *x) {
        if (!x)
                return;
        xmlFreeDoc(x->doc);
        free(x);
}

char *qpci_vmxml_format(struct qpci_vmxml *x) {
        xmlChar *buf = NULL;
        char *s;
        int len = 0;

        xmlDocDumpFormatMemory(x->doc, &buf, &len, 1);
        s = buf ? strndup((const char *)buf, (size_t)len) : NULL;
        xmlFree(buf);
        return s;
}

const char *qpci_vmxml_get_name(struct qpci_vmxml *x) {
        const char *t = text(child(x->domain, "name"));
        return t ? t : "";
}

const char *qpci_vmxml_get_type(struct qpci_vmxml *x) {
        const char *t = prop(x->domain, "type");
        return t ? t : "";
}

/* ---- qpci's metadata ---- */

static xmlNode *meta(struct qpci_vmxml *x, bool create) {
        xmlNode *md = child(x->domain, "metadata");
        xmlNode *vm = NULL;

        for (xmlNode *n = md ? md->children : NULL; n && !vm; n = n->next)
                if (is(n, "vm") && n->ns && streq((const char *)n->ns->href, QPCI_XMLNS))
                        vm = n;
        if (vm || !create)
                return vm;
        if (!md)
                md = xmlNewChild(x->domain, NULL, BAD_CAST "metadata", NULL);
        vm = xmlNewChild(md, NULL, BAD_CAST "vm", NULL);
        xmlSetNs(vm, xmlNewNs(vm, BAD_CAST QPCI_XMLNS, BAD_CAST "qpci"));
        return vm;
}

bool qpci_vmxml_is_qpci(struct qpci_vmxml *x) {
        return meta(x, false) != NULL;
}

static xmlNode *meta_child(struct qpci_vmxml *x, const char *elem, const char *key, const char *value, bool create) {
        xmlNode *vm = meta(x, create), *n;

        for (n = vm ? vm->children : NULL; n; n = n->next)
                if (is(n, elem) && prop(n, key) && streq(prop(n, key), value))
                        return n;
        if (!create)
                return NULL;
        n = xmlNewChild(vm, vm->ns, BAD_CAST elem, NULL);
        xmlSetProp(n, BAD_CAST key, BAD_CAST value);
        return n;
}

static void unlink_free(xmlNode *n) {
        if (n) {
                xmlUnlinkNode(n);
                xmlFreeNode(n);
        }
}

/* ---- preferences ---- */

static int parse_mib(xmlNode *n, unsigned long *ret) {
        const char *unit = prop(n, "unit"), *t = text(n);
        char *end;
        unsigned long v;

        if (!t)
                return -ENOENT;
        errno = 0;
        v = strtoul(t, &end, 10);
        if (errno || end == t)
                return -EBADMSG;
        /* libvirt writes KiB; a hand-written definition may say otherwise. */
        if (!unit || !strcasecmp(unit, "KiB") || !strcasecmp(unit, "k"))
                v /= 1024;
        else if (!strcasecmp(unit, "GiB") || !strcasecmp(unit, "G"))
                v *= 1024;
        else if (!strcasecmp(unit, "b") || !strcasecmp(unit, "bytes"))
                v /= 1024 * 1024;
        else if (strcasecmp(unit, "MiB") && strcasecmp(unit, "M"))
                return -EBADMSG;
        *ret = v;
        return 0;
}

static void set_mib(xmlNode *n, unsigned long mib) {
        char buf[32];
        snprintf(buf, sizeof(buf), "%lu", mib * 1024);
        set_text(n, buf);
        xmlSetProp(n, BAD_CAST "unit", BAD_CAST "KiB");
}

static const char *stored_pref(struct qpci_vmxml *x, const char *name) {
        return prop(meta_child(x, "pref", "name", name, false), "value");
}

static void store_pref(struct qpci_vmxml *x, const char *name, const char *value) {
        if (value)
                xmlSetProp(meta_child(x, "pref", "name", name, true), BAD_CAST "value", BAD_CAST value);
        else
                unlink_free(meta_child(x, "pref", "name", name, false));
}

bool qpci_vmxml_has_pci(struct qpci_vmxml *x) {
        xmlNode *devices = child(x->domain, "devices");
        for (xmlNode *n = devices ? devices->children : NULL; n; n = n->next)
                if (is(n, "hostdev") && prop(n, "type") && streq(prop(n, "type"), "pci"))
                        return true;
        return false;
}

/* Qubes' default for a VM with PCI devices, with the buffer size of Qubes OS's Assigning Devices
 * page: the guest bounces DMA through a software IOTLB, which some devices need larger (qvm-prefs
 * VM kernelopts ...). */
#define KERNELOPTS_PCI "iommu=soft swiotlb=2048"

static const char *default_kernelopts(struct qpci_vmxml *x) {
        return qpci_vmxml_has_pci(x) ? KERNELOPTS_PCI : "";
}

/* What the cmdline is made of: qpci's VMs keep a base (the console) apart from kernelopts. */
static void render_cmdline(struct qpci_vmxml *x) {
        xmlNode *vm = meta(x, false), *os = child_or_new(x->domain, "os");
        const char *base = prop(vm, "base-cmdline"), *opts = stored_pref(x, "kernelopts");
        char *line = NULL;

        if (!vm)
                return; /* not qpci's: the cmdline is set as a whole */
        if (!opts)
                opts = default_kernelopts(x);
        if (asprintf(&line, "%s%s%s", base ? base : "", base && *base && *opts ? " " : "", opts) < 0)
                return;
        if (*line)
                set_text(child_or_new(os, "cmdline"), line);
        else
                unlink_free(child(os, "cmdline"));
        free(line);
}

/* Without ballooning a VM with PCI devices must own all its memory from the start: the devices
 * DMA into pages the hypervisor would otherwise take away (Qubes turns balancing off too). */
static void render_memory(struct qpci_vmxml *x) {
        xmlNode *cur = child(x->domain, "currentMemory"), *max = child_or_new(x->domain, "memory");
        const char *maxmem = stored_pref(x, "maxmem");
        unsigned long mem = 0, top = 0;

        if (!cur || parse_mib(cur, &mem) < 0)
                return;
        if (maxmem && !qpci_vmxml_has_pci(x))
                top = strtoul(maxmem, NULL, 10);
        set_mib(max, top > mem ? top : mem);
}

/* The names are libqpci's (virt-load.c), so a tool can list them without loading this module. */
static bool known_pref(const char *name) {
        for (const char *const *p = qpci_vm_pref_names(); *p; p++)
                if (streq(*p, name))
                        return true;
        return false;
}

static int parse_bool(const char *s, bool *ret) {
        static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no", "off", "0"};
        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (!strcasecmp(s, yes[i]))
                        return *ret = true, 0;
                if (!strcasecmp(s, no[i]))
                        return *ret = false, 0;
        }
        return -EINVAL;
}

bool qpci_vmxml_strict_reset(struct qpci_vmxml *x) {
        const char *v = stored_pref(x, "pci_strictreset");
        bool b = true;
        return !v || parse_bool(v, &b) < 0 || b;
}

int qpci_vmxml_get_pref(struct qpci_vmxml *x, const char *name, char **value, bool *is_default) {
        xmlNode *os = child(x->domain, "os"), *n;
        const char *v = NULL;
        unsigned long mib;
        bool dflt = false;

        if (!known_pref(name))
                return -ENOENT;
        if (streq(name, "kernel") || streq(name, "initrd"))
                v = text(child(os, name));
        else if (streq(name, "kernelopts")) {
                if (meta(x, false)) {
                        v = stored_pref(x, "kernelopts");
                        if (!v)
                                v = default_kernelopts(x), dflt = true;
                } else
                        v = text(child(os, "cmdline"));
        } else if (streq(name, "memory") || streq(name, "maxmem")) {
                n = child(x->domain, streq(name, "memory") ? "currentMemory" : "memory");
                if (!n && streq(name, "memory"))
                        n = child(x->domain, "memory");
                if (streq(name, "maxmem"))
                        dflt = !stored_pref(x, "maxmem");
                if (n && parse_mib(n, &mib) == 0) {
                        if (is_default)
                                *is_default = dflt;
                        return asprintf(value, "%lu", mib) < 0 ? -ENOMEM : 0;
                }
        } else if (streq(name, "vcpus"))
                v = text(child(x->domain, "vcpu"));
        else if (streq(name, "pci_strictreset")) {
                dflt = !stored_pref(x, name);
                v = qpci_vmxml_strict_reset(x) ? "True" : "False";
        }
        if (is_default)
                *is_default = dflt;
        *value = strdup(v ? v : "");
        return *value ? 0 : -ENOMEM;
}

/* A file the hypervisor boots from: a directory, a FIFO or a device would only fail at the VM's
 * start, in libvirt's words, far from the command that named it. */
static const char *boot_file_problem(const char *path) {
        struct stat st;

        if (*path != '/')
                return "an absolute path is expected";
        if (stat(path, &st) < 0)
                return errno == ENOENT ? "there is no such file" : "it cannot be read";
        if (S_ISDIR(st.st_mode))
                return "it is a directory: name the file in it";
        if (!S_ISREG(st.st_mode))
                return "it is not a regular file (a device, a FIFO or a socket)";
        if (st.st_size == 0)
                return "the file is empty";
        if (access(path, R_OK) < 0)
                return "it cannot be read";
        return NULL;
}

/* Text that goes into the domain's XML: libxml2 takes UTF-8 without control characters, and its own
 * refusal ("char out of range") would surface with a parser excerpt. */
static const char *text_problem(const char *s) {
        const unsigned char *p = (const unsigned char *)s;

        while (*p) {
                unsigned len = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;
                if (*p < 0x20 || *p == 0x7f)
                        return "control characters (a tab, a newline, an escape) cannot be in it";
                if (!len || (len == 2 && *p < 0xc2) || (len == 4 && *p > 0xf4))
                        return "it is not valid UTF-8 text";
                for (unsigned i = 1; i < len; i++)
                        if ((p[i] & 0xc0) != 0x80)
                                return "it is not valid UTF-8 text";
                p += len;
        }
        return NULL;
}

int qpci_vmxml_check_pref(const char *name, const char *value, const char **why) {
        return qpci_vmxml_check_pref_on(name, value, true, why);
}

void qpci_vmxml_set_files_elsewhere(struct qpci_vmxml *x, bool elsewhere) {
        x->files_elsewhere = elsewhere;
}

int qpci_vmxml_check_pref_on(const char *name, const char *value, bool files_here, const char **why) {
        unsigned long n;
        char *end = NULL;
        bool b;

        if (!known_pref(name))
                return -ENOENT;
        if (!value)
                *why = streq(name, "kernel")   ? "the kernel has no default: give a file"
                       : streq(name, "memory") ? "memory has no default: give a size in MiB"
                                               : NULL;
        else if (streq(name, "memory") || streq(name, "maxmem") || streq(name, "vcpus")) {
                errno = 0;
                n = strtoul(value, &end, 10);
                *why = errno || !*value || *end || n == 0 || n > (streq(name, "vcpus") ? 4096UL : 1UL << 30)
                               ? streq(name, "vcpus") ? "a number of virtual CPUs from 1 to 4096 is expected"
                                                      : "a size in MiB (a whole number, at least 1) is expected"
                               : NULL;
        } else if (streq(name, "kernel") || streq(name, "initrd"))
                *why = text_problem(value) ?: files_here ? boot_file_problem(value) : NULL;
        else if (streq(name, "kernelopts"))
                *why = text_problem(value);
        else if (streq(name, "pci_strictreset"))
                *why = parse_bool(value, &b) < 0 ? "True or False is expected" : NULL;
        return *why ? -EINVAL : 0;
}

/* Sets a preference, or with value NULL puts it back to its default. -EINVAL with *why set when
 * the value is not one the preference takes. */
int qpci_vmxml_set_pref(struct qpci_vmxml *x, const char *name, const char *value, const char **why) {
        xmlNode *os = child_or_new(x->domain, "os");
        unsigned long n = 0;
        bool b = false;
        int r = qpci_vmxml_check_pref_on(name, value, !x->files_elsewhere, why);

        if (r < 0)
                return r;
        if (value && (streq(name, "memory") || streq(name, "maxmem") || streq(name, "vcpus")))
                n = strtoul(value, NULL, 10);
        if (streq(name, "kernel") || streq(name, "initrd")) {
                if (value)
                        set_text(child_or_new(os, name), value);
                else
                        unlink_free(child(os, name));
        } else if (streq(name, "kernelopts")) {
                if (!meta(x, false)) {
                        /* A domain of virsh's: the cmdline is the preference, with no default of qpci's. */
                        if (value && *value)
                                set_text(child_or_new(os, "cmdline"), value);
                        else
                                unlink_free(child(os, "cmdline"));
                        return 0;
                }
                store_pref(x, name, value);
                render_cmdline(x);
        } else if (streq(name, "memory")) {
                set_mib(child_or_new(x->domain, "currentMemory"), n);
                render_memory(x);
        } else if (streq(name, "maxmem")) {
                meta(x, true);
                store_pref(x, name, value);
                render_memory(x);
        } else if (streq(name, "vcpus")) {
                set_text(child_or_new(x->domain, "vcpu"), value ? value : "1");
        } else if (streq(name, "pci_strictreset")) {
                if (value)
                        parse_bool(value, &b); /* checked above */
                meta(x, true);
                store_pref(x, name, value ? (b ? "True" : "False") : NULL);
        }
        return 0;
}

/* libxl turns passthrough on for a domain only when it is created with PCI devices; a device
 * hot-plugged into one started without any then fails ("xc_assign_device failed: Operation not
 * supported"). Asked for, it is on from the start. */
static void xen_passthrough(struct qpci_vmxml *x) {
        xmlNode *xen = child_or_new(child_or_new(x->domain, "features"), "xen");
        xmlNode *pt = child_or_new(xen, "passthrough");
        xmlSetProp(pt, BAD_CAST "state", BAD_CAST "on");
}

/* ---- a new VM ---- */

char *qpci_vmxml_new_domain(const struct qpci_vm_config *c, const char *virt_type, const char *console_log) {
        bool xen = streq(virt_type, "xen");
        struct qpci_vmxml x = {0};
        xmlNode *os, *devices, *n;
        char num[32];
        const char *why;
        char *s;

        x.doc = xmlNewDoc(BAD_CAST "1.0");
        x.domain = xmlNewNode(NULL, BAD_CAST "domain");
        xmlDocSetRootElement(x.doc, x.domain);
        xmlSetProp(x.domain, BAD_CAST "type", BAD_CAST virt_type);
        xmlNewTextChild(x.domain, NULL, BAD_CAST "name", BAD_CAST c->name);
        snprintf(num, sizeof(num), "%u", c->vcpus ? c->vcpus : 1);
        xmlNewTextChild(x.domain, NULL, BAD_CAST "vcpu", BAD_CAST num);
        set_mib(xmlNewChild(x.domain, NULL, BAD_CAST "memory", NULL), c->memory_mib ? c->memory_mib : 400);
        set_mib(xmlNewChild(x.domain, NULL, BAD_CAST "currentMemory", NULL), c->memory_mib ? c->memory_mib : 400);
        os = xmlNewChild(x.domain, NULL, BAD_CAST "os", NULL);
        /* A Xen VM boots paravirtualized, as the VMs of Qubes OS's Assigning Devices page did:
         * pcifront takes the devices. Elsewhere a q35 machine, whose PCI Express root ports take
         * hot-plugged devices. */
        n = xmlNewTextChild(os, NULL, BAD_CAST "type", BAD_CAST(xen ? "linux" : "hvm"));
        if (!xen) {
                xmlSetProp(n, BAD_CAST "arch", BAD_CAST "x86_64");
                xmlSetProp(n, BAD_CAST "machine", BAD_CAST "q35");
        }
        if (c->kernel)
                xmlNewTextChild(os, NULL, BAD_CAST "kernel", BAD_CAST c->kernel);
        if (c->initrd)
                xmlNewTextChild(os, NULL, BAD_CAST "initrd", BAD_CAST c->initrd);
        if (!xen) {
                n = xmlNewChild(x.domain, NULL, BAD_CAST "features", NULL);
                xmlNewChild(n, NULL, BAD_CAST "acpi", NULL);
                xmlNewChild(n, NULL, BAD_CAST "apic", NULL);
        } else
                xen_passthrough(&x);
        xmlNewTextChild(x.domain, NULL, BAD_CAST "on_poweroff", BAD_CAST "destroy");
        xmlNewTextChild(x.domain, NULL, BAD_CAST "on_reboot", BAD_CAST "restart");
        xmlNewTextChild(x.domain, NULL, BAD_CAST "on_crash", BAD_CAST "destroy");
        devices = xmlNewChild(x.domain, NULL, BAD_CAST "devices", NULL);
        if (!xen) {
                /* Room to hot-plug: q35's root complex takes no hot-plugged endpoints itself. */
                n = xmlNewChild(devices, NULL, BAD_CAST "controller", NULL);
                xmlSetProp(n, BAD_CAST "type", BAD_CAST "pci");
                xmlSetProp(n, BAD_CAST "index", BAD_CAST "0");
                xmlSetProp(n, BAD_CAST "model", BAD_CAST "pcie-root");
                for (int i = 0; i < 4; i++) {
                        n = xmlNewChild(devices, NULL, BAD_CAST "controller", NULL);
                        xmlSetProp(n, BAD_CAST "type", BAD_CAST "pci");
                        xmlSetProp(n, BAD_CAST "model", BAD_CAST "pcie-root-port");
                }
                /* USB comes to these VMs only as a whole controller given to them (sys-usb): libvirt
                 * would otherwise add an emulated xHCI, one more USB controller beside the real one
                 * in the VM, for a headless VM that has no input devices to put on it. */
                n = xmlNewChild(devices, NULL, BAD_CAST "controller", NULL);
                xmlSetProp(n, BAD_CAST "type", BAD_CAST "usb");
                xmlSetProp(n, BAD_CAST "model", BAD_CAST "none");
                n = xmlNewChild(devices, NULL, BAD_CAST "serial", NULL);
                xmlSetProp(n, BAD_CAST "type", BAD_CAST "pty");
                /* What the guest printed stays readable after it stopped, as Qubes keeps
                 * /var/log/xen/console/guest-NAME.log. */
                if (console_log) {
                        n = xmlNewChild(n, NULL, BAD_CAST "log", NULL);
                        xmlSetProp(n, BAD_CAST "file", BAD_CAST console_log);
                        xmlSetProp(n, BAD_CAST "append", BAD_CAST "on");
                }
        }
        n = xmlNewChild(devices, NULL, BAD_CAST "console", NULL);
        xmlSetProp(n, BAD_CAST "type", BAD_CAST "pty");
        xmlNewChild(devices, NULL, BAD_CAST "memballoon", NULL);
        xmlSetProp(child(devices, "memballoon"), BAD_CAST "model", BAD_CAST(xen ? "xen" : "none"));
        xmlSetProp(meta(&x, true), BAD_CAST "base-cmdline", BAD_CAST(xen ? "console=hvc0" : "console=ttyS0"));
        render_cmdline(&x);
        /* The caller checked it (qpci_vmxml_check_pref): a refusal here leaves no domain at all. */
        if (c->kernelopts && qpci_vmxml_set_pref(&x, "kernelopts", c->kernelopts, &why) < 0) {
                xmlFreeDoc(x.doc);
                return NULL;
        }
        s = qpci_vmxml_format(&x);
        xmlFreeDoc(x.doc);
        return s;
}

/* ---- PCI assignments ---- */

static bool hostdev_addr(xmlNode *hd, struct qpci_addr *a) {
        xmlNode *addr = child(child(hd, "source"), "address");
        const char *f[4] = {prop(addr, "domain"), prop(addr, "bus"), prop(addr, "slot"), prop(addr, "function")};
        unsigned long v[4] = {0};

        if (!is(hd, "hostdev") || !prop(hd, "type") || !streq(prop(hd, "type"), "pci") || !addr)
                return false;
        for (size_t i = 0; i < 4; i++)
                if (f[i] && qpci_parse_hex(f[i], i == 0 ? UINT32_MAX : i == 1 ? 0xff : i == 2 ? 0x1f : 7, &v[i]) < 0)
                        return false;
        *a = (struct qpci_addr){.segment = (uint32_t)v[0], .bus = (uint8_t)v[1], .dev = (uint8_t)v[2],
                                .fn = (uint8_t)v[3]};
        return true;
}

static bool is_true(const char *s) {
        bool b = false;
        return s && parse_bool(s, &b) == 0 && b;
}

/* The vendor and device a device id names, 0 when it names none ("*", or a pattern there). */
static void devid_ids(const char *devid, struct qpci_assignment *a) {
        char field[7];
        unsigned long v, d;

        a->vendor_id = a->device_id = 0;
        if (strlen(devid) < 14 || devid[6] != ':' || devid[13] != ':')
                return;
        snprintf(field, sizeof(field), "%.6s", devid);
        if (qpci_parse_hex(field, 0xffff, &v) < 0)
                return;
        snprintf(field, sizeof(field), "%.6s", devid + 7);
        if (qpci_parse_hex(field, 0xffff, &d) < 0)
                return;
        a->vendor_id = (uint16_t)v;
        a->device_id = (uint16_t)d;
}

/* What qpci's metadata says of a device: its identity and options. Without a record (a <hostdev>
 * virsh added) the device at its address, whatever it is. A value that does not fit is not cut:
 * an unreadable device id matches no device, so the start is refused rather than guessed. */
static void meta_assignment(xmlNode *md, struct qpci_assignment *a) {
        const char *port = prop(md, "port"), *devid = md ? prop(md, "devid") : "*";

        if (!port || snprintf(a->path, sizeof(a->path), "%s", port) >= (int)sizeof(a->path))
                a->path[0] = '\0';
        if (!devid || qpci_devid_check(devid, NULL) < 0 ||
            snprintf(a->devid, sizeof(a->devid), "%s", devid) >= (int)sizeof(a->devid))
                a->devid[0] = '\0';
        devid_ids(a->devid, a);
        a->no_strict_reset = is_true(prop(md, "no-strict-reset"));
        a->permissive = is_true(prop(md, "permissive"));
}

/*
 * Before Qubes R4.3's identities qpci recorded a device's place as its chain of BDFs from the root
 * bus ("0000:00:1c.0/0000:01:00.0", one BDF on a root bus), and later as a PCI path, in path=, and
 * what was there as vendor= and device=. The same place as a port: a bridge's secondary bus is the
 * bus of the next BDF in the chain, so each bus after the first is 00 relative to it. The class was
 * not recorded: any class matches. A place that is neither form is left unrecorded (the device at
 * addr) and its device id unreadable, so the start is refused, not guessed.
 */
static bool port_from_old(const char *old, char **ret) {
        _cleanup_free_ char *out = NULL;
        size_t len = 0;
        FILE *f;

        if (!strchr(old, ':'))
                return qpci_path_parse(old, ret, NULL) == 0;
        f = open_memstream(&out, &len);
        if (!f)
                return false;
        for (const char *p = old; *p;) {
                size_t n = strcspn(p, "/");
                char part[QPCI_BDF_MAX], ident[QPCI_IDENT_MAX];
                struct qpci_addr a;

                if (n == 0 || n >= sizeof(part) || snprintf(part, sizeof(part), "%.*s", (int)n, p) < 0 ||
                    qpci_addr_parse_sysfs(part, &a) < 0) {
                        fclose(f);
                        return false;
                }
                if (p == old)
                        fputs(qpci_addr_format_ident(&a, ident), f);
                else
                        fprintf(f, "-00_%02x.%x", a.dev, a.fn);
                p += n + (p[n] == '/');
        }
        if (ferror(f) | fclose(f))
                return false;
        *ret = TAKE_PTR(out);
        return true;
}

static bool migrate_device(xmlNode *md) {
        const char *path = prop(md, "path"), *vendor = prop(md, "vendor"), *device = prop(md, "device");
        _cleanup_free_ char *port = NULL;
        unsigned long v = 0, d = 0;
        char devid[32] = "*";
        bool readable = true;

        if (prop(md, "devid") || (!path && !vendor && !device))
                return false;
        if (path && *path && !port_from_old(path, &port))
                readable = false;
        if (vendor && device && (qpci_parse_hex(vendor, 0xffff, &v) < 0 || qpci_parse_hex(device, 0xffff, &d) < 0))
                readable = false;
        else if (v)
                snprintf(devid, sizeof(devid), "0x%04lx:0x%04lx::*", v, d);
        xmlSetProp(md, BAD_CAST "port", BAD_CAST(port ? port : ""));
        xmlSetProp(md, BAD_CAST "devid", BAD_CAST(readable ? devid : ""));
        xmlUnsetProp(md, BAD_CAST "path");
        xmlUnsetProp(md, BAD_CAST "vendor");
        xmlUnsetProp(md, BAD_CAST "device");
        return true;
}

static void migrate(struct qpci_vmxml *x) {
        xmlNode *vm = meta(x, false);
        for (xmlNode *n = vm ? vm->children : NULL; n; n = n->next)
                if (is(n, "device") && migrate_device(n))
                        x->migrated = true;
}

bool qpci_vmxml_migrated(struct qpci_vmxml *x) {
        return x->migrated;
}

/* Room for one more in *a (k long); on failure *a is freed. */
static int grow(struct qpci_assignment **a, size_t k) {
        struct qpci_assignment *na = reallocarray(*a, k + 1, sizeof(**a));
        if (!na) {
                free(*a);
                *a = NULL;
                return -ENOMEM;
        }
        *a = na;
        return 0;
}

int qpci_vmxml_get_assignments(struct qpci_vmxml *x, bool live, struct qpci_assignment **ret, size_t *n) {
        xmlNode *devices = child(x->domain, "devices");
        struct qpci_assignment *a = NULL;
        size_t k = 0;

        for (xmlNode *hd = devices ? devices->children : NULL; hd; hd = hd->next) {
                struct qpci_addr addr;
                const char *wf;

                if (!hostdev_addr(hd, &addr))
                        continue;
                if (grow(&a, k) < 0)
                        return -ENOMEM;
                a[k] = (struct qpci_assignment){.addr = addr, .persistent = !live, .live = live};
                qpci_addr_format_bdf(&addr, a[k].bdf);
                meta_assignment(meta_child(x, "device", "addr", a[k].bdf, false), &a[k]);
                wf = prop(child(hd, "source"), "writeFiltering");
                a[k].permissive |= wf && streq(wf, "no");
                k++;
        }
        /* A running Xen domain's devices that qpci gave through libxl, which libvirt does not know:
         * only qpci's metadata has them. */
        for (xmlNode *md = live && meta(x, false) ? meta(x, false)->children : NULL; md; md = md->next) {
                if (!is(md, "device") || !is_true(prop(md, "via-libxl")) || !prop(md, "addr"))
                        continue;
                if (grow(&a, k) < 0)
                        return -ENOMEM;
                a[k] = (struct qpci_assignment){.live = true, .via_libxl = true};
                if (qpci_addr_parse_sysfs(prop(md, "addr"), &a[k].addr) < 0)
                        continue;
                qpci_addr_format_bdf(&a[k].addr, a[k].bdf);
                meta_assignment(md, &a[k]);
                k++;
        }
        *ret = a;
        *n = k;
        return 0;
}

/* The <hostdev> of one assignment, alone: what virDomainAttachDeviceFlags() takes. */
char *qpci_vmxml_hostdev(const struct qpci_assignment *a, const char *virt_type) {
        char *s = NULL;
        /* managed='no': qpci's engine hides the device (all or nothing, with its journal) before the
         * VM gets it, and never gives it back by itself; libvirt must not do either. */
        if (asprintf(&s,
                     "<hostdev mode='subsystem' type='pci' managed='no'>"
                     "<source%s><address domain='0x%04x' bus='0x%02x' slot='0x%02x' function='0x%x'/></source>"
                     "%s</hostdev>",
                     a->permissive && streq(virt_type, "xen") ? " writeFiltering='no'" : "", a->addr.segment,
                     a->addr.bus, a->addr.dev, a->addr.fn,
                     streq(virt_type, "xen") ? "" : "<driver name='vfio'/>") < 0)
                return NULL;
        return s;
}

static xmlNode *find_hostdev(struct qpci_vmxml *x, const struct qpci_addr *want) {
        xmlNode *devices = child(x->domain, "devices");
        struct qpci_addr a;

        for (xmlNode *hd = devices ? devices->children : NULL; hd; hd = hd->next)
                if (hostdev_addr(hd, &a) && qpci_addr_cmp(&a, want) == 0)
                        return hd;
        return NULL;
}

static void write_device_meta(struct qpci_vmxml *x, const struct qpci_assignment *a) {
        xmlNode *md = meta_child(x, "device", "addr", a->bdf, true);

        xmlSetProp(md, BAD_CAST "port", BAD_CAST a->path);
        xmlSetProp(md, BAD_CAST "devid", BAD_CAST a->devid);
        if (a->no_strict_reset)
                xmlSetProp(md, BAD_CAST "no-strict-reset", BAD_CAST "True");
        else
                xmlUnsetProp(md, BAD_CAST "no-strict-reset");
        if (a->permissive)
                xmlSetProp(md, BAD_CAST "permissive", BAD_CAST "True");
        else
                xmlUnsetProp(md, BAD_CAST "permissive");
}

/* Adds the assignment to the definition (or updates its options): -EEXIST when it is there with
 * the same options. */
int qpci_vmxml_add_assignment(struct qpci_vmxml *x, const struct qpci_assignment *a) {
        _cleanup_free_ char *hd_xml = qpci_vmxml_hostdev(a, qpci_vmxml_get_type(x));
        xmlNode *old = find_hostdev(x, &a->addr), *hd = NULL, *devices;
        xmlDoc *frag;

        if (!hd_xml)
                return -ENOMEM;
        if (old) {
                struct qpci_assignment *cur = NULL;
                size_t n = 0;
                bool same = false;
                if (qpci_vmxml_get_assignments(x, false, &cur, &n) < 0)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++)
                        if (qpci_addr_cmp(&cur[i].addr, &a->addr) == 0)
                                same = cur[i].no_strict_reset == a->no_strict_reset &&
                                       cur[i].permissive == a->permissive && streq(cur[i].path, a->path) &&
                                       streq(cur[i].devid, a->devid);
                free(cur);
                if (same)
                        return -EEXIST;
                unlink_free(old);
        }
        frag = xmlReadMemory(hd_xml, (int)strlen(hd_xml), "hostdev.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS);
        if (!frag)
                return -ENOMEM;
        hd = xmlDocCopyNode(xmlDocGetRootElement(frag), x->doc, 1);
        xmlFreeDoc(frag);
        devices = child_or_new(x->domain, "devices");
        if (!hd || !xmlAddChild(devices, hd))
                return -ENOMEM;
        write_device_meta(x, a);
        if (streq(qpci_vmxml_get_type(x), "xen"))
                xen_passthrough(x);
        /* Defaults that depend on having PCI devices follow. */
        render_cmdline(x);
        render_memory(x);
        return 0;
}

/* In a running Xen domain's XML: the device is the domain's through libxl, not a <hostdev> (which
 * libvirt would insist on resetting), so only qpci's metadata has it (on), or no longer (off). The
 * preferences that depend on having devices stay as the definition rendered them. */
void qpci_vmxml_set_via_libxl(struct qpci_vmxml *x, const struct qpci_assignment *a, bool on) {
        if (!on) {
                unlink_free(meta_child(x, "device", "addr", a->bdf, false));
                return;
        }
        unlink_free(find_hostdev(x, &a->addr));
        write_device_meta(x, a);
        xmlSetProp(meta_child(x, "device", "addr", a->bdf, true), BAD_CAST "via-libxl", BAD_CAST "True");
}

static void strip_ns(xmlNode *n) {
        for (; n; n = n->next) {
                n->ns = NULL;
                xmlFreeNsList(n->nsDef);
                n->nsDef = NULL;
                strip_ns(n->children);
        }
}

/* qpci's metadata element alone, as virDomainSetMetadata() takes it: without its namespace, which
 * libvirt declares itself (it fails when the element already has it: "failed to create a new XML
 * namespace"). */
char *qpci_vmxml_format_meta(struct qpci_vmxml *x) {
        xmlNode *copy = xmlDocCopyNode(meta(x, true), x->doc, 1);
        xmlBuffer *buf = xmlBufferCreate();
        char *s = NULL;

        if (copy && buf) {
                copy->next = NULL;
                strip_ns(copy);
                if (xmlNodeDump(buf, x->doc, copy, 0, 0) >= 0)
                        s = strdup((const char *)xmlBufferContent(buf));
        }
        xmlFreeNode(copy);
        xmlBufferFree(buf);
        return s;
}

int qpci_vmxml_remove_assignment(struct qpci_vmxml *x, const struct qpci_addr *addr) {
        xmlNode *hd = find_hostdev(x, addr);
        char bdf[QPCI_BDF_MAX];

        if (!hd)
                return -ENOENT;
        unlink_free(hd);
        unlink_free(meta_child(x, "device", "addr", qpci_addr_format_bdf(addr, bdf), false));
        render_cmdline(x);
        render_memory(x);
        return 0;
}

