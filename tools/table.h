/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Aligned columns, as Qubes prints them with `column -t`: two spaces between, no trailing blanks. */
#pragma once

#include <stddef.h>
#include <stdio.h>

struct table {
        size_t n_cols;
        size_t n_cells, cap;
        char **cells;  /* row-major, owned */
};

void table_init(struct table *t, size_t n_cols);
/* Adds one cell (copied); NULL adds an empty one. Returns -ENOMEM on failure. */
int table_add(struct table *t, const char *cell);
void table_print(const struct table *t, FILE *f);
void table_done(struct table *t);
