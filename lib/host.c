/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Taking devices from the host and giving them back, all or nothing.
 *
 * Every operation runs under the state lock, first puts back whatever an interrupted command left
 * half-moved, then commits its intent to the journal before the first sysfs write. A failure
 * part-way moves every device back to exactly the driver (and driver_override) it had, so a device
 * that was already on a stub stays there.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "qpci-internal.h"


QPCI_EXPORT bool qpci_host_is_xen_dom0(struct qpci_ctx *ctx) {
        _cleanup_close_ int fd = qpci_open_root(ctx, "/proc/xen", O_PATH | O_DIRECTORY);
        char buf[128];

        return fd >= 0 && qpci_read_line(fd, "capabilities", buf, sizeof(buf)) > 0 && strstr(buf, "control_d");
}

QPCI_EXPORT const char *qpci_host_default_stub(struct qpci_ctx *ctx) {
        /* On a Xen dom0 the hypervisor assigns devices, through pciback; elsewhere VFIO does. */
        return qpci_host_is_xen_dom0(ctx) ? "pciback" : "vfio-pci";
}

QPCI_EXPORT int qpci_host_current_driver(struct qpci_ctx *ctx, const char *bdf, char *buf, size_t size) {
        _cleanup_close_ int devfd = qpci_dev_open_sysfs(ctx, bdf);

        if (devfd < 0)
                return devfd;
        return qpci_current_driver(devfd, buf, size);
}

/* The stub's driver directory, loading its module when it is missing. */
static int ensure_driver(struct qpci_ctx *ctx, const char *driver) {
        char path[PATH_MAX];
        const char *module = streq(driver, "pciback") ? "xen-pciback" : driver;
        int r;

        snprintf(path, sizeof(path), "sys/bus/pci/drivers/%s", driver);
        if (faccessat(ctx->root_fd, path, F_OK, 0) == 0)
                return 0;
        /* Loading a module changes the running kernel: never on behalf of a fixture tree. */
        if (!streq(ctx->root, "/"))
                return log_error_errno(ctx, -ENOENT, "driver %s is not loaded (no /%s under %s), and qpci loads "
                                       "modules only on the real host", driver, path, ctx->root);
        r = qpci_modules_load(ctx, module);
        if (r < 0)
                return log_error_errno(ctx, r, "cannot load the module %s for %s: %s", module, driver, strerror(-r));
        if (faccessat(ctx->root_fd, path, F_OK, 0) < 0)
                return log_error_errno(ctx, -ENOENT, "module %s loaded, but the driver %s did not appear", module,
                                       driver);
        return 0;
}

/*
 * USB 1.1/2.0 controllers of one slot (an EHCI and its UHCI/OHCI companions) are one device to the
 * kernel: drivers/usb/core/hcd-pci.c walks the other functions of the slot whenever an EHCI is
 * added or removed, or a companion added, and takes any function's driver data for a usb_hcd. With
 * vfio-pci or pciback bound to a sibling that data is theirs, and the kernel corrupts it (seen on
 * Debian's 6.1: list corruption and a BUG in vfio_unregister_group_dev). So these functions move
 * together, every unbind comes before any probe, and the EHCI goes first in both.
 */
static bool is_usb_companion(uint32_t class_code) {
        return class_code == 0x0c0300 || class_code == 0x0c0310 || class_code == 0x0c0320;
}

struct move {
        char bdf[QPCI_BDF_MAX];
        struct qpci_dev *dev;           /* NULL when recovering from the journal */
        uint32_t class_code;
        char from[NAME_MAX + 1];        /* the driver before, "" for none */
        char override[NAME_MAX + 1];    /* driver_override before, "" for none */
        bool moved;
        bool stuck;                     /* restore() could not put it back */
        bool gone;                      /* not in sysfs (unplugged) */
        bool forget;                    /* recovery leaves it as it is */
        char now[NAME_MAX + 1];         /* after restore(): the driver it is on, "" for none */
};

static int move_cmp(const void *a, const void *b) {
        const struct move *x = a, *y = b;
        bool ex = x->class_code == 0x0c0320, ey = y->class_code == 0x0c0320;

        if (ex != ey)
                return ex ? -1 : 1;
        return strcmp(x->bdf, y->bdf);
}

/* Phase 1 of a move: the override first, so nothing else can take the device, then off its driver
 * unless that is the driver it should end on (keep). */
static int detach(struct qpci_ctx *ctx, struct move *m, const char *override, const char *keep) {
        _cleanup_close_ int devfd = qpci_dev_open_sysfs(ctx, m->bdf);
        char cur[NAME_MAX + 1];
        int r;

        if (devfd < 0)
                return log_error_errno(ctx, devfd, "%s: gone from sysfs: %s", m->bdf, strerror(-devfd));
        m->moved = true;
        r = qpci_set_override(ctx, devfd, override);
        if (r < 0)
                return log_error_errno(ctx, r, "%s: cannot set driver_override: %s", m->bdf, strerror(-r));
        r = qpci_current_driver(devfd, cur, sizeof(cur));
        if (r >= 0 && cur[0] && !streq(cur, keep))
                r = qpci_unbind(ctx, m->bdf, cur);
        return r;
}

/* Puts the devices back as they were, unbinds before probes, the EHCI first. A device that could
 * not be put back is marked stuck, and said as an error unless quiet (recovery says it whole). */
static int restore(struct qpci_ctx *ctx, struct move *m, size_t n, bool quiet) {
        int ret = 0;

        for (size_t i = 0; i < n; i++)
                if (m[i].moved) {
                        int r = detach(ctx, &m[i], m[i].override, m[i].from);
                        if (r < 0 && ret == 0)
                                ret = r;
                        m[i].stuck = r < 0;
                }
        for (size_t i = 0; i < n; i++) {
                _cleanup_close_ int devfd = -1;
                char *cur = m[i].now;

                cur[0] = '\0';
                if (!m[i].moved)
                        continue;
                if ((devfd = qpci_dev_open_sysfs(ctx, m[i].bdf)) < 0) {
                        m[i].stuck = m[i].gone = true;
                        continue;
                }
                qpci_current_driver(devfd, cur, sizeof(m[i].now));
                if (!streq(cur, m[i].from) && m[i].from[0] && qpci_bind(ctx, m[i].bdf, m[i].from) < 0)
                        qpci_drivers_probe(ctx, m[i].bdf); /* the driver may want its own match */
                qpci_current_driver(devfd, cur, sizeof(m[i].now));
                if (!streq(cur, m[i].from)) {
                        qpci_log(ctx, quiet ? QPCI_LOG_INFO : QPCI_LOG_ERR, "%s: could not put it back on %s (it is on %s)",
                                 m[i].bdf, m[i].from[0] ? m[i].from : "no driver", cur[0] ? cur : "no driver");
                        m[i].stuck = true;
                        if (ret == 0)
                                ret = -EIO;
                } else
                        log_info(ctx, "%s: back on %s", m[i].bdf, m[i].from[0] ? m[i].from : "no driver");
        }
        return ret;
}

/* The journal read back for recovery. */
struct rows {
        struct move *m;
        size_t n;
};

static int add_row(struct qpci_ctx *ctx, const char *op, const char *bdf, const char *from_driver,
                   const char *from_override, void *data) {
        struct rows *rows = data;
        struct move *nm = reallocarray(rows->m, rows->n + 1, sizeof(*nm));
        _cleanup_close_ int devfd = qpci_dev_open_sysfs(ctx, bdf);
        unsigned long cls = 0;

        (void)op;
        if (!nm)
                return -ENOMEM;
        rows->m = nm;
        if (devfd >= 0)
                qpci_read_hex(devfd, "class", 0xffffff, &cls);
        nm[rows->n] = (struct move){.class_code = cls, .moved = true, .gone = devfd < 0};
        snprintf(nm[rows->n].bdf, sizeof(nm->bdf), "%s", bdf);
        snprintf(nm[rows->n].from, sizeof(nm->from), "%s", from_driver);
        snprintf(nm[rows->n].override, sizeof(nm->override), "%s", from_override);
        rows->n++;
        return 0;
}

/* The moves were undone, or never begun: the intent is void. */
static void abandon(struct qpci_ctx *ctx) {
        if (qpci_state_begin(ctx) >= 0 && qpci_journal_clear(ctx) >= 0)
                qpci_state_commit(ctx);
        else
                qpci_state_rollback(ctx);
}

/* "0000:0f:00.0 (gone from this host), 0000:03:00.0 (on vfio-pci, not nouveau)": what is stuck. */
static char *describe_stuck(const struct move *m, size_t n) {
        _cleanup_fclose_ FILE *f = NULL;
        char *text = NULL;
        size_t len = 0, k = 0;

        if (!(f = open_memstream(&text, &len)))
                return NULL;
        for (size_t i = 0; i < n; i++) {
                if (!m[i].stuck)
                        continue;
                fprintf(f, "%s%s (", k++ ? ", " : "", m[i].bdf);
                if (m[i].gone)
                        fputs("gone from this host", f);
                else
                        fprintf(f, "on %s, not back on %s", m[i].now[0] ? m[i].now : "no driver",
                                m[i].from[0] ? m[i].from : "no driver");
                fputc(')', f);
        }
        if (fclose(TAKE_PTR(f)) != 0) {
                free(text);
                return NULL;
        }
        return text;
}

/* Under the lock: puts back what an interrupted command left half-moved. 1 when it could not
 * (the journal kept, *stuck says which devices, unless NULL), 0 when done or nothing was pending. */
static int replay(struct qpci_ctx *ctx, char **stuck) {
        struct rows rows = {0};
        int r = qpci_journal_foreach(ctx, add_row, &rows);

        if (r >= 0 && rows.n > 0) {
                log_warn(ctx, "an earlier qpci command was interrupted: putting %zu device(s) back as they were",
                         rows.n);
                qsort(rows.m, rows.n, sizeof(*rows.m), move_cmp);
                bool any_stuck = false;
                for (size_t i = 0; i < rows.n; i++)
                        if (rows.m[i].gone) /* nothing to write to, and nothing that says it is over */
                                rows.m[i].moved = false, rows.m[i].stuck = true;
                restore(ctx, rows.m, rows.n, true);
                for (size_t i = 0; i < rows.n; i++)
                        any_stuck |= rows.m[i].stuck;
                if (any_stuck) {
                        if (stuck && !(*stuck = describe_stuck(rows.m, rows.n)))
                                r = -ENOMEM;
                        else
                                r = 1;
                } else
                        abandon(ctx);
        }
        free(rows.m);
        return r;
}

/* Opens the state (taking the lock) and undoes what an interrupted command left behind. */
static int begin_command(struct qpci_ctx *ctx) {
        _cleanup_free_ char *stuck = NULL;
        int r = qpci_state_open(ctx);

        if (r < 0)
                return r;
        r = replay(ctx, &stuck);
        /* Moving more devices over a half-finished move would bury it: the user ends it first. */
        if (r > 0)
                r = log_error_errno(ctx, -EBUSY, "an interrupted qpci command left %s half-moved, and qpci cannot "
                                    "put it back: run 'qpci recover' to see each device and end that move", stuck);
        return r;
}

QPCI_EXPORT int qpci_host_recover(struct qpci_ctx *ctx) {
        int r;

        /* Cheap when nothing is pending: no lock, no write. */
        if (!qpci_state_journal_pending(ctx))
                return 0;
        r = begin_command(ctx);
        qpci_state_close(ctx);
        return r;
}

QPCI_EXPORT int qpci_host_recover_reading(struct qpci_ctx *ctx) {
        _cleanup_free_ char *stuck = NULL;
        char holder[300];
        int r;

        if (!qpci_state_journal_pending(ctx))
                return 0;
        /* Never waits: the journal may be the live intent of a command moving devices right now. */
        r = qpci_state_try_open(ctx);
        if (r == -EWOULDBLOCK) {
                qpci_state_holder(ctx, holder, sizeof(holder));
                log_warn(ctx, "another qpci command (%s) is moving devices: what is shown may change", holder);
                return 0;
        }
        if (r < 0) {
                log_warn(ctx, "an interrupted qpci command left devices half-moved, and this one cannot put them "
                         "back (%s): what is shown is as sysfs has it; run 'qpci recover' as root", strerror(-r));
                return 0;
        }
        r = replay(ctx, &stuck);
        qpci_state_close(ctx);
        if (r > 0)
                log_warn(ctx, "an interrupted qpci command left %s half-moved, and qpci cannot put it back: what is "
                         "shown is as sysfs has it; run 'qpci recover' to end that move", stuck);
        return r == -ENOMEM ? r : 0;
}

/* The device a --forget names, in the journal's spelling. */
static struct move *find_row(struct rows *rows, const char *id, int *err) {
        struct qpci_addr a;
        char bdf[QPCI_BDF_MAX];
        const char *why;

        if (qpci_addr_parse(id, &a, &why) < 0) {
                *err = -EINVAL;
                return NULL;
        }
        qpci_addr_format_bdf(&a, bdf);
        for (size_t i = 0; i < rows->n; i++)
                if (streq(rows->m[i].bdf, bdf))
                        return &rows->m[i];
        *err = -ENOENT;
        return NULL;
}

QPCI_EXPORT int qpci_host_recover_by_hand(struct qpci_ctx *ctx, const char *const *forget, size_t n_forget,
                                          struct qpci_recovered **ret, size_t *n_ret) {
        _cleanup_free_ struct qpci_recovered *out = NULL;
        struct rows rows = {0};
        bool stuck = false;
        int r;

        *ret = NULL;
        *n_ret = 0;
        if ((r = qpci_state_open(ctx)) < 0)
                return r;
        if ((r = qpci_journal_foreach(ctx, add_row, &rows)) < 0)
                goto out;
        for (size_t i = 0; i < n_forget; i++) {
                int err = 0;
                struct move *m = find_row(&rows, forget[i], &err);
                if (!m) {
                        r = log_error_errno(ctx, err, err == -EINVAL ? "'%s' is not a device id, like dom0:00_1a.0"
                                            : rows.n ? "%s is not part of the interrupted move: leave out --forget, or "
                                                       "name one of the devices 'qpci recover' lists"
                                                     : "%s: no qpci command was interrupted, so there is nothing to "
                                                       "forget", forget[i]);
                        goto out;
                }
                m->forget = true;
        }
        if (rows.n == 0)
                goto out;
        /* A device that is gone has nothing to put back: when it comes back, it is a new device to the
         * kernel, with no override. So is a device the user chose to leave as it is. */
        for (size_t i = 0; i < rows.n; i++)
                rows.m[i].moved = !rows.m[i].forget && !rows.m[i].gone;
        qsort(rows.m, rows.n, sizeof(*rows.m), move_cmp);
        restore(ctx, rows.m, rows.n, true);
        if (!(out = calloc(rows.n, sizeof(*out)))) {
                r = -ENOMEM;
                goto out;
        }
        if ((r = qpci_state_begin(ctx)) < 0)
                goto out;
        for (size_t i = 0; r >= 0 && i < rows.n; i++) {
                struct move *m = &rows.m[i];
                struct qpci_recovered *o = &out[i];
                snprintf(o->bdf, sizeof(o->bdf), "%s", m->bdf);
                snprintf(o->was, sizeof(o->was), "%s", m->from);
                if (!m->moved && !m->gone)
                        qpci_host_current_driver(ctx, m->bdf, o->now, sizeof(o->now));
                else
                        snprintf(o->now, sizeof(o->now), "%s", m->now);
                o->state = m->gone      ? QPCI_RECOVERED_GONE
                           : m->forget  ? QPCI_RECOVERED_LEFT
                           : m->stuck   ? QPCI_RECOVERED_STUCK
                                        : QPCI_RECOVERED_BACK;
                stuck |= o->state == QPCI_RECOVERED_STUCK;
                /* What is ended leaves the journal; a stuck device stays for the next try. */
                if (o->state != QPCI_RECOVERED_STUCK)
                        r = qpci_journal_forget(ctx, m->bdf);
        }
        if (r >= 0)
                r = qpci_state_commit(ctx);
        else
                qpci_state_rollback(ctx);
        if (r >= 0) {
                *n_ret = rows.n;
                *ret = TAKE_PTR(out);
                r = stuck ? -EBUSY : 0;
        }
out:
        free(rows.m);
        qpci_state_close(ctx);
        return r;
}

/* Records where every device is before anything moves: the journal's intent. */
static int journal_intent(struct qpci_ctx *ctx, const char *op, struct move *m, size_t n) {
        int r = qpci_state_begin(ctx);

        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_close_ int devfd = qpci_dev_open_sysfs(ctx, m[i].bdf);
                if (devfd < 0)
                        r = log_error_errno(ctx, devfd, "%s: gone from sysfs: %s", m[i].bdf, strerror(-devfd));
                else if ((r = qpci_current_driver(devfd, m[i].from, sizeof(m[i].from))) < 0)
                        r = log_error_errno(ctx, r, "%s: cannot read its driver link: %s", m[i].bdf,
                                            qpci_attr_strerror(r));
                else if ((r = qpci_read_override(devfd, m[i].override, sizeof(m[i].override))) < 0)
                        r = log_error_errno(ctx, r, "%s: cannot read its driver_override: %s", m[i].bdf,
                                            qpci_attr_strerror(r));
                else
                        r = qpci_journal_add(ctx, op, m[i].bdf, m[i].from, m[i].override);
        }
        if (r < 0) {
                qpci_state_rollback(ctx);
                return r;
        }
        return qpci_state_commit(ctx);
}

/* Records the result and clears the journal in one transaction; *recorded when it committed. */
static int finish(struct qpci_ctx *ctx, bool hide, const char *stub, bool persistent, struct move *m, size_t n,
                  bool *recorded) {
        int r = qpci_state_begin(ctx);
        bool rules = persistent;

        *recorded = false;
        for (size_t i = 0; r >= 0 && i < n; i++) {
                struct qpci_dev *d = m[i].dev;
                bool ours = !qpci_driver_is_stub(m[i].from);
                if (!hide && (r = qpci_state_forget(ctx, d->bdf)) > 0)
                        rules = true;
                else if (hide && (ours || persistent))
                        r = qpci_state_record_hidden(ctx, d->bdf, d->vendor_id, d->device_id, ours ? m[i].from : "",
                                                     stub, ours, persistent);
        }
        if (r >= 0)
                r = qpci_journal_clear(ctx);
        if (r >= 0)
                r = qpci_state_commit(ctx);
        if (r < 0) {
                qpci_state_rollback(ctx);
                return r;
        }
        *recorded = true;
        /* The devices moved either way; a rule file that could not be written is reported. Only
         * when a rule came or went: rewriting it costs a write and an fsync and changes nothing. */
        if (rules)
                r = qpci_state_write_rules(ctx);
        return r < 0 ? r : 0;
}

/* After the moves: record the result, or, when one failed, put every device back. */
static int conclude(struct qpci_ctx *ctx, int r, bool hide, const char *stub, bool persistent, struct move *m,
                    size_t n) {
        bool any = false, recorded;

        if (r >= 0) {
                r = finish(ctx, hide, stub, persistent, m, n, &recorded);
                /* A result that could not be recorded (a full disk) would be undone by whichever
                 * command comes next, from the journal: undone now, by the command that can say why. */
                if (r >= 0 || recorded)
                        return r;
        }
        for (size_t i = 0; i < n; i++)
                any |= m[i].moved;
        if (any)
                log_err(ctx, "putting the devices back as they were");
        restore(ctx, m, n, false);
        abandon(ctx);
        return r;
}

static bool listed(const struct move *m, size_t n, const struct qpci_dev *d) {
        for (size_t i = 0; i < n; i++)
                if (m[i].dev == d)
                        return true;
        return false;
}

static int add_move(struct move **m, size_t *n, struct qpci_dev *d) {
        struct move *nm;

        if (listed(*m, *n, d))
                return 0;
        nm = reallocarray(*m, *n + 1, sizeof(**m));
        if (!nm)
                return -ENOMEM;
        *m = nm;
        nm[*n] = (struct move){.dev = d, .class_code = d->class_code};
        snprintf(nm[*n].bdf, sizeof(nm->bdf), "%s", d->bdf);
        (*n)++;
        return 0;
}

typedef struct qpci_dev *(*next_fn)(const struct qpci_dev *d, const struct qpci_dev *prev);

/* Takes along (add) the others of d's run (its IOMMU group or its slot) that must move with it, or
 * lists them in *others, which grows with the list: a refusal names every one. Returns how many
 * are missing. */
static int gather(struct move **m, size_t *n, struct qpci_dev *d, next_fn next, bool usb_only, bool add,
                  char **others) {
        _cleanup_fclose_ FILE *f = NULL;
        size_t len = 0;
        int missing = 0;

        for (struct qpci_dev *p = next(d, NULL); p; p = next(d, p)) {
                /* Bridges stay with the host: the kernel allows it. */
                if (listed(*m, *n, p) || qpci_dev_is_bridge(p) || (usb_only && !is_usb_companion(p->class_code)))
                        continue;
                if (add) {
                        if (add_move(m, n, p) < 0)
                                return -ENOMEM;
                        continue;
                }
                if (!f && !(f = open_memstream(others, &len)))
                        return -ENOMEM;
                fprintf(f, "%s%s (%s)", missing++ ? ", " : "", p->bdf, p->driver ? p->driver : "no driver");
        }
        if (f && (ferror(f) || fclose(TAKE_PTR(f)) != 0))
                return -ENOMEM;
        return missing;
}

/* Takes along (add) or asks for the others a device cannot be separated from: the rest of its
 * IOMMU group for VFIO, the other USB controllers of its slot always. What is taken along is
 * completed in turn, so the set is closed whatever the order. */
static int complete_set(struct qpci_ctx *ctx, struct move **m, size_t *n, bool vfio, bool add, bool hide) {
        for (size_t i = 0; i < *n; i++) {
                struct qpci_dev *d = (*m)[i].dev;
                _cleanup_free_ char *others = NULL;
                int r;

                if (vfio && d->iommu_group < 0)
                        return qpci_refuse(ctx, -ENODEV, "no-iommu", ": ", NULL,
                                           qpci_strf("%s has no IOMMU group", d->bdf),
                                           qpci_strf("the IOMMU is off or missing (boot with intel_iommu=on or "
                                                     "amd_iommu=on); vfio-pci cannot take it"),
                                           qpci_strf("boot with intel_iommu=on or amd_iommu=on"));
                if (vfio && (r = gather(m, n, d, qpci_dev_next_group_peer, false, add, &others)) != 0)
                        return r < 0 ? r
                                     : qpci_refuse(ctx, -EBUSY, "group-incomplete", ": ", ", so ",
                                                   qpci_strf("%s shares IOMMU group %d with %s", d->bdf,
                                                             d->iommu_group, others),
                                                   qpci_strf("VFIO takes a group whole"),
                                                   qpci_strf("name them too or add --with-group"));
                if (is_usb_companion(d->class_code) &&
                    (r = gather(m, n, d, qpci_dev_next_sibling, true, add, &others)) != 0)
                        return r < 0 ? r
                                     : qpci_refuse(ctx, -EBUSY, "functions-incomplete", ": ", ": ",
                                                   qpci_strf("%s is one USB controller with %s", d->bdf, others),
                                                   qpci_strf("the kernel's USB host drivers reach into each other's "
                                                             "data, so they move together"),
                                                   qpci_strf("name them too%s", hide ? " or add --with-group" : ""));
        }
        return 0;
}

QPCI_EXPORT int qpci_host_hide(struct qpci_inventory *inv, struct qpci_dev *const *devs, size_t n,
                               const struct qpci_hide_options *o) {
        struct qpci_ctx *ctx = inv->ctx;
        const char *stub = o && o->driver ? o->driver : qpci_host_default_stub(ctx);
        _cleanup_free_ struct move *m = NULL;
        size_t nm = 0;
        int r;

        if (!qpci_driver_is_stub(stub) || streq(stub, "pci-stub"))
                return log_error_errno(ctx, -EINVAL, "unknown driver '%s' to hide devices with: use vfio-pci or "
                                       "pciback", stub);
        for (size_t i = 0; i < n; i++) {
                if (qpci_dev_is_bridge(devs[i]))
                        return log_refusal(ctx, -EINVAL, "bridge", ("%s is a %s", devs[i]->bdf, qpci_dev_bridge_kind(devs[i])),
                                           ("bridges stay with the host"), (NULL));
                if (add_move(&m, &nm, devs[i]) < 0)
                        return -ENOMEM;
        }
        if ((r = complete_set(ctx, &m, &nm, streq(stub, "vfio-pci"), o && o->with_group, true)) < 0)
                return r;
        for (size_t i = 0; i < nm && !(o && o->force); i++) {
                _cleanup_free_ char *what = NULL;
                r = qpci_guard_dependents(ctx, m[i].bdf, &what);
                if (r > 0)
                        return log_refusal(ctx, -EBUSY, "guarded", ("%s backs %s", m[i].bdf, what),
                                           ("hiding it would take that from the host"),
                                           ("add --force if you mean it"));
                /* Not knowing what depends on it is not knowing that nothing does. */
                if (r < 0)
                        return log_refusal(ctx, r, "guarded", ("cannot tell what on the host depends on %s (%s)",
                                                               m[i].bdf, what ? what : strerror(-r)),
                                           ("nothing was hidden"), ("add --force to hide it unchecked"));
        }
        qsort(m, nm, sizeof(*m), move_cmp);
        if ((r = begin_command(ctx)) < 0 || (r = ensure_driver(ctx, stub)) < 0 ||
            (r = journal_intent(ctx, "hide", m, nm)) < 0)
                goto out;
        for (size_t i = 0; r >= 0 && i < nm; i++)
                if (!streq(m[i].from, stub))
                        r = detach(ctx, &m[i], stub, stub);
        for (size_t i = 0; r >= 0 && i < nm; i++) {
                char cur[NAME_MAX + 1] = "";
                _cleanup_close_ int devfd = qpci_dev_open_sysfs(ctx, m[i].bdf);
                if (!m[i].moved)
                        continue;
                /* drivers_probe says success even when nothing bound: the link is the proof. */
                qpci_drivers_probe(ctx, m[i].bdf);
                if (devfd < 0 || qpci_current_driver(devfd, cur, sizeof(cur)) < 0 || !streq(cur, stub))
                        r = log_error_errno(ctx, -EIO, "%s: %s did not take the device (%s); the kernel log (dmesg) "
                                            "says why", m[i].bdf, stub, cur[0] ? cur : "no driver bound");
                else
                        log_info(ctx, "%s: hidden on %s (was %s)", m[i].bdf, stub, m[i].from[0] ? m[i].from : "unbound");
        }
        r = conclude(ctx, r, true, stub, o && o->persistent, m, nm);
out:
        qpci_state_close(ctx);
        return r;
}

/*
 * pciback keeps a device's permissive mode for as long as it has the device and has no way to turn
 * it off, so the next VM would inherit it. Unbinding it (which forgets its slot) and probing it
 * again under driver_override=pciback gives pciback fresh state for it. Journaled like any move.
 */
QPCI_EXPORT int qpci_host_clear_permissive(struct qpci_dev *d, bool persistent) {
        struct qpci_ctx *ctx = d->inv->ctx;
        struct move m = {.dev = d, .class_code = d->class_code};
        _cleanup_close_ int devfd = -1;
        char cur[NAME_MAX + 1] = "";
        int r;

        snprintf(m.bdf, sizeof(m.bdf), "%s", d->bdf);
        /* Not at the next boot either: the rule that would write it again goes first. */
        if (persistent && (r = qpci_state_permissive_at_boot(ctx, m.bdf, d->vendor_id, d->device_id, false)) < 0)
                return r;
        if (!qpci_pciback_is_permissive(ctx, m.bdf))
                return 0;
        if ((r = begin_command(ctx)) < 0 || (r = journal_intent(ctx, "clear-permissive", &m, 1)) < 0)
                goto out;
        if (!streq(m.from, "pciback"))
                r = log_error_errno(ctx, -EINVAL, "%s is not on pciback (it is on %s): it has no permissive mode",
                                    m.bdf, m.from[0] ? m.from : "no driver");
        if (r >= 0)
                r = detach(ctx, &m, "pciback", "");
        if (r >= 0) {
                qpci_drivers_probe(ctx, m.bdf);
                devfd = qpci_dev_open_sysfs(ctx, m.bdf);
                if (devfd < 0 || qpci_current_driver(devfd, cur, sizeof(cur)) < 0 || !streq(cur, "pciback"))
                        r = log_error_errno(ctx, -EIO, "%s: pciback did not take it back (%s)", m.bdf,
                                            cur[0] ? cur : "no driver bound");
        }
        r = conclude(ctx, r, true, "pciback", false, &m, 1);
        if (r >= 0 && qpci_pciback_is_permissive(ctx, m.bdf))
                r = log_error_errno(ctx, -EIO, "%s: pciback still lists it as permissive", m.bdf);
out:
        qpci_state_close(ctx);
        return r;
}

/* Phase 2 of an unhide: the core's own match first, then the modalias's module, then the record. */
static int give_back(struct qpci_ctx *ctx, struct move *m) {
        struct qpci_dev *d = m->dev;
        _cleanup_close_ int devfd = qpci_dev_open_sysfs(ctx, d->bdf);
        char cur[NAME_MAX + 1], recorded[NAME_MAX + 1];
        const char *module = NULL;
        int r;

        if (devfd < 0)
                return devfd;
        qpci_drivers_probe(ctx, d->bdf);
        if ((r = qpci_current_driver(devfd, cur, sizeof(cur))) < 0)
                return r;
        /* Nothing bound: the driver's module may not be loaded. Resolve it from the modalias
         * (uhci_hcd is the module uhci-hcd: never guess from a driver's name). */
        if (!cur[0] && streq(ctx->root, "/") && qpci_dev_get_module(d, &module) == 0 && module &&
            qpci_modules_load(ctx, module) >= 0) {
                qpci_drivers_probe(ctx, d->bdf);
                qpci_current_driver(devfd, cur, sizeof(cur));
        }
        bool known = !cur[0] &&
                     qpci_state_host_driver(ctx, d->bdf, d->vendor_id, d->device_id, recorded, sizeof(recorded)) > 0;
        if (known && recorded[0]) {
                qpci_bind(ctx, d->bdf, recorded);
                qpci_current_driver(devfd, cur, sizeof(cur));
        }
        /* It had no driver when qpci took it (QEMU's edu, a card without a Linux driver): free is home. */
        if (known && !recorded[0] && !cur[0]) {
                log_info(ctx, "%s: back on the host with no driver, as before it was hidden", d->bdf);
                return 0;
        }
        /* A stub is no host driver: unhide did not happen, whatever drivers_probe said. */
        if (qpci_driver_is_stub(cur))
                return log_error_errno(ctx, -EBUSY, "%s: %s took it again instead of a host driver", d->bdf, cur);
        if (!cur[0])
                return log_error_errno(ctx, -ENODEV, "%s: no host driver takes it (modalias %s, module %s)", d->bdf,
                                       qpci_dev_get_modalias(d), module ? module : "none found");
        log_info(ctx, "%s: back on the host, driver %s", d->bdf, cur);
        return 0;
}

QPCI_EXPORT int qpci_host_unhide(struct qpci_inventory *inv, struct qpci_dev *const *devs, size_t n) {
        struct qpci_ctx *ctx = inv->ctx;
        _cleanup_free_ struct move *m = NULL;
        size_t nm = 0;
        int r;

        for (size_t i = 0; i < n; i++)
                if (add_move(&m, &nm, devs[i]) < 0)
                        return -ENOMEM;
        if ((r = complete_set(ctx, &m, &nm, false, false, false)) < 0)
                return r;
        qsort(m, nm, sizeof(*m), move_cmp);
        if ((r = begin_command(ctx)) < 0 || (r = journal_intent(ctx, "unhide", m, nm)) < 0)
                goto out;
        for (size_t i = 0; r >= 0 && i < nm; i++)
                if (!qpci_driver_is_stub(m[i].from))
                        r = log_refusal(ctx, -EINVAL, "not-hidden", ("%s is not hidden", m[i].bdf),
                                        ("it is on %s", m[i].from[0] ? m[i].from : "no driver"), (NULL));
        /* Out of Xen's quarantine first, or dom0's driver binds to a device it cannot use. */
        if (r >= 0 && nm > 0 && streq(ctx->root, "/")) {
                _cleanup_free_ struct qpci_addr *q = calloc(nm, sizeof(*q));
                size_t nq = 0;
                for (size_t i = 0; q && i < nm; i++)
                        if (streq(m[i].from, "pciback"))
                                q[nq++] = m[i].dev->addr;
                if (!q)
                        r = -ENOMEM;
                else if (nq > 0 && qpci_host_is_xen_dom0(ctx))
                        qpci_xen_dequarantine(ctx, q, nq);
        }
        for (size_t i = 0; r >= 0 && i < nm; i++)
                r = detach(ctx, &m[i], "", "");
        for (size_t i = 0; r >= 0 && i < nm; i++)
                r = give_back(ctx, &m[i]);
        r = conclude(ctx, r, false, NULL, false, m, nm);
out:
        qpci_state_close(ctx);
        return r;
}
