/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"

void table_init(struct table *t, size_t n_cols) {
        *t = (struct table){.n_cols = n_cols};
}

int table_add(struct table *t, const char *cell) {
        if (t->n_cells == t->cap) {
                size_t ncap = t->cap ? t->cap * 2 : 64;
                char **n = reallocarray(t->cells, ncap, sizeof(*n));
                if (!n)
                        return -ENOMEM;
                t->cells = n;
                t->cap = ncap;
        }
        t->cells[t->n_cells] = strdup(cell ? cell : "");
        if (!t->cells[t->n_cells])
                return -ENOMEM;
        t->n_cells++;
        return 0;
}

void table_print(const struct table *t, FILE *f) {
        size_t width[16] = {0};
        size_t nc = t->n_cols < 16 ? t->n_cols : 16;

        for (size_t i = 0; i < t->n_cells; i++) {
                size_t l = strlen(t->cells[i]);
                if (l > width[i % nc])
                        width[i % nc] = l;
        }
        for (size_t row = 0; row * nc < t->n_cells; row++) {
                char *const *r = &t->cells[row * nc];
                size_t last = nc;
                /* Empty trailing cells add no padding: a row ends with its last text. */
                while (last > 0 && (row * nc + last > t->n_cells || !*r[last - 1]))
                        last--;
                for (size_t c = 0; c < last; c++) {
                        if (c + 1 < last)
                                fprintf(f, "%-*s  ", (int)width[c], r[c]);
                        else
                                fputs(r[c], f);
                }
                fputc('\n', f);
        }
}

void table_done(struct table *t) {
        for (size_t i = 0; i < t->n_cells; i++)
                free(t->cells[i]);
        free(t->cells);
        t->cells = NULL;
        t->n_cells = t->cap = 0;
}
