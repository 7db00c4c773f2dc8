/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * json.h - the one JSON writer of the tools (mqcount, mqsend, mqtune): objects and arrays
 * nested to JSON_MAX_DEPTH, keys, strings escaped (quote, backslash, control characters;
 * bytes that are not UTF-8 become U+FFFD, so a device or file name never breaks the output),
 * integers, and doubles (NaN and infinities, which JSON lacks, become null).
 *
 * Commas are the writer's business: each value or key in a container is preceded by one
 * when it is not the first. A document is written straight to its FILE; json_end() ends the
 * line (the tools write one JSON object per line) and flushes. Misuse (a key outside an
 * object, nesting deeper than JSON_MAX_DEPTH, ending what is not open) is a programming
 * error: it aborts, so a test finds it.
 */
#ifndef MQCAP_TOOLS_JSON_H
#define MQCAP_TOOLS_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
	FILE *f;
	unsigned depth;
	bool after_key;                  /* a key was written: its value needs no comma */
	bool in_object[JSON_MAX_DEPTH];  /* per level: object (keys) or array */
	bool has_items[JSON_MAX_DEPTH];  /* per level: a comma before the next item */
};

/* The version of docs/json/mqcap.schema.json that every tool's --json lines follow. Bump it
 * when a field is removed, renamed or changes meaning (and the schema with it); new fields
 * need no new version. */
#define JSON_SCHEMA_VERSION 1

void json_begin(struct json *j, FILE *f);
/* Begin one --json line of the schema: json_begin(), open the object, and write its "tool",
 * "type" and "version" members. The caller adds the rest, closes it and calls json_end(). */
void json_doc_begin(struct json *j, FILE *f, const char *tool, const char *type);
/* End the document: newline and fflush. All containers must be closed. */
void json_end(struct json *j);

void json_obj_open(struct json *j);
void json_obj_close(struct json *j);
void json_arr_open(struct json *j);
void json_arr_close(struct json *j);
void json_key(struct json *j, const char *key);

void json_str(struct json *j, const char *s);
void json_u64(struct json *j, uint64_t v);
void json_i64(struct json *j, int64_t v);
/* A double with `decimals` digits after the point (0 to 9); NaN/inf: null. */
void json_double(struct json *j, double v, int decimals);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);

/* key + value in one call, the common case. */
void json_kv_str(struct json *j, const char *key, const char *s);
void json_kv_u64(struct json *j, const char *key, uint64_t v);
void json_kv_i64(struct json *j, const char *key, int64_t v);
void json_kv_double(struct json *j, const char *key, double v, int decimals);
void json_kv_bool(struct json *j, const char *key, bool v);

#endif
