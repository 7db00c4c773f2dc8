/* SPDX-License-Identifier: BSD-2-Clause */
/* json.c - see json.h. */
#include <math.h>
#include <stdlib.h>

#include "json.h"

void json_begin(struct json *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->after_key = false;
	j->has_items[0] = false;
	j->in_object[0] = false;
}

void json_doc_begin(struct json *j, FILE *f, const char *tool, const char *type)
{
	json_begin(j, f);
	json_obj_open(j);
	json_kv_str(j, "tool", tool);
	json_kv_str(j, "type", type);
	json_kv_u64(j, "version", JSON_SCHEMA_VERSION);
}

void json_end(struct json *j)
{
	if (j->depth || j->after_key)
		abort();
	fputc('\n', j->f);
	fflush(j->f);
	j->has_items[0] = false;
}

/* Before any value: the comma, unless it follows its key or comes first. */
static void item(struct json *j, bool is_key)
{
	if (j->depth && j->in_object[j->depth] != is_key && !j->after_key)
		abort(); /* a value without its key in an object, or a key in an array */
	if (!j->after_key && j->has_items[j->depth])
		fputc(',', j->f);
	j->has_items[j->depth] = true;
	j->after_key = false;
}

static void container_open(struct json *j, bool object)
{
	item(j, false);
	if (j->depth + 1 >= JSON_MAX_DEPTH)
		abort();
	j->depth++;
	j->in_object[j->depth] = object;
	j->has_items[j->depth] = false;
	fputc(object ? '{' : '[', j->f);
}

static void container_close(struct json *j, bool object)
{
	if (!j->depth || j->in_object[j->depth] != object || j->after_key)
		abort();
	j->depth--;
	fputc(object ? '}' : ']', j->f);
}

void json_obj_open(struct json *j)
{
	container_open(j, true);
}

void json_obj_close(struct json *j)
{
	container_close(j, true);
}

void json_arr_open(struct json *j)
{
	container_open(j, false);
}

void json_arr_close(struct json *j)
{
	container_close(j, false);
}

/* Length of the valid UTF-8 sequence at s (1 to 4), or 0 when it is not one (overlong
 * forms, surrogates and code points above U+10FFFF included). */
static int utf8_len(const unsigned char *s)
{
	unsigned c = s[0], n, cp, min;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07, min = 0x10000;
	else
		return 0;
	for (unsigned i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return (int)n;
}

static void put_string(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', f);
	while (*s) {
		int n;

		switch (*s) {
		case '"': fputs("\\\"", f); s++; continue;
		case '\\': fputs("\\\\", f); s++; continue;
		case '\n': fputs("\\n", f); s++; continue;
		case '\r': fputs("\\r", f); s++; continue;
		case '\t': fputs("\\t", f); s++; continue;
		default: break;
		}
		if (*s < 0x20 || *s == 0x7f) {
			fprintf(f, "\\u%04x", *s);
			s++;
			continue;
		}
		n = utf8_len(s);
		if (!n) {
			fputs("\\ufffd", f);
			s++;
			continue;
		}
		fwrite(s, 1, (size_t)n, f);
		s += n;
	}
	fputc('"', f);
}

void json_key(struct json *j, const char *key)
{
	item(j, true);
	put_string(j->f, key);
	fputc(':', j->f);
	j->after_key = true;
}

void json_str(struct json *j, const char *s)
{
	item(j, false);
	if (s)
		put_string(j->f, s);
	else
		fputs("null", j->f);
}

void json_u64(struct json *j, uint64_t v)
{
	item(j, false);
	fprintf(j->f, "%llu", (unsigned long long)v);
}

void json_i64(struct json *j, int64_t v)
{
	item(j, false);
	fprintf(j->f, "%lld", (long long)v);
}

void json_double(struct json *j, double v, int decimals)
{
	static const double half_unit[10] = { 0.5, 0.05, 0.005, 5e-4, 5e-5, 5e-6, 5e-7, 5e-8,
					      5e-9, 5e-10 };

	item(j, false);
	if (!isfinite(v)) {
		fputs("null", j->f);
		return;
	}
	if (decimals < 0)
		decimals = 0;
	if (decimals > 9)
		decimals = 9;
	/* -0.000 is valid JSON, but it reads as a negative rate: print 0. */
	if (v < 0 && v > -half_unit[decimals])
		v = 0;
	fprintf(j->f, "%.*f", decimals, v);
}

void json_bool(struct json *j, bool v)
{
	item(j, false);
	fputs(v ? "true" : "false", j->f);
}

void json_null(struct json *j)
{
	item(j, false);
	fputs("null", j->f);
}

void json_kv_str(struct json *j, const char *key, const char *s)
{
	json_key(j, key);
	json_str(j, s);
}

void json_kv_u64(struct json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	json_u64(j, v);
}

void json_kv_i64(struct json *j, const char *key, int64_t v)
{
	json_key(j, key);
	json_i64(j, v);
}

void json_kv_double(struct json *j, const char *key, double v, int decimals)
{
	json_key(j, key);
	json_double(j, v, decimals);
}

void json_kv_bool(struct json *j, const char *key, bool v)
{
	json_key(j, key);
	json_bool(j, v);
}
