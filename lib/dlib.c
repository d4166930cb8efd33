/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * System libraries loaded on first use: libkmod (and with it libcrypto, liblzma and libzstd) and
 * libpci (with libz). A hide or an unhide needs neither unless it loads a module or names a device,
 * and each library a process links costs it at every start (its relocations and pages, many times
 * over under emulation), so libqpci does not link them.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "qpci-internal.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void load(struct qpci_dlib *l) {
        /* RTLD_NODELETE: its functions stay valid for the whole process, as a linked library's do. */
        void *h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
        const char *e;

        l->result = -ENOPKG;
        if (!h) {
                e = dlerror();
                snprintf(l->why, sizeof(l->why), "%s", e ? e : l->soname);
                return;
        }
        for (size_t i = 0; i < l->n; i++)
                if (!(*l->syms[i].fn = dlsym(h, l->syms[i].name))) {
                        snprintf(l->why, sizeof(l->why), "%s has no %s", l->soname, l->syms[i].name);
                        return;
                }
        l->result = 0;
}

int qpci_dlib_open(struct qpci_dlib *l) {
        int r;

        pthread_mutex_lock(&lock);
        if (l->result > 0)
                load(l);
        r = l->result;
        pthread_mutex_unlock(&lock);
        return r;
}
