/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A streaming JSON writer: output goes out as it is made, so memory stays flat however many devices. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
        FILE *f;
        int depth;
        bool need_comma[JSON_MAX_DEPTH];
        bool compact; /* all on one line: a stream of objects, one a line */
};

void json_init(struct json *j, FILE *f);
void json_init_compact(struct json *j, FILE *f);
void json_begin_array(struct json *j, const char *key);
void json_end_array(struct json *j);
void json_begin_object(struct json *j, const char *key);
void json_end_object(struct json *j);
/* key is NULL inside arrays. A NULL string value writes null. */
void json_string(struct json *j, const char *key, const char *value);
void json_int(struct json *j, const char *key, long long value);
void json_bool(struct json *j, const char *key, bool value);
void json_null(struct json *j, const char *key);
/* Four lower-case hex digits, as a string: "8086". */
void json_hex(struct json *j, const char *key, unsigned value, int digits);
void json_finish(struct json *j);
