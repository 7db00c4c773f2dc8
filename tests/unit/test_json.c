/* SPDX-License-Identifier: BSD-2-Clause */
/* The tools' one JSON writer (tools/common/json.h): nesting and commas, escaping of names
 * that came from the user or the kernel (a device may be called a"b\c), numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "json.h"

static char *buf;
static size_t len;

static FILE *mem(void)
{
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	return f;
}

static void done(FILE *f, const char *want)
{
	fclose(f);
	assert_string_equal(buf, want);
	free(buf);
	buf = NULL;
}

static void test_nesting_and_commas(void **state)
{
	struct json j;
	FILE *f = mem();

	(void)state;
	json_begin(&j, f);
	json_obj_open(&j);
	json_kv_str(&j, "type", "summary");
	json_key(&j, "queues");
	json_arr_open(&j);
	for (int i = 0; i < 2; i++) {
		json_obj_open(&j);
		json_kv_u64(&j, "q", (uint64_t)i);
		json_kv_i64(&j, "cpu", -1);
		json_obj_close(&j);
	}
	json_arr_close(&j);
	json_key(&j, "empty");
	json_arr_open(&j);
	json_arr_close(&j);
	json_kv_bool(&j, "ok", true);
	json_key(&j, "none");
	json_null(&j);
	json_obj_close(&j);
	json_end(&j);
	done(f, "{\"type\":\"summary\",\"queues\":[{\"q\":0,\"cpu\":-1},{\"q\":1,\"cpu\":-1}],"
		"\"empty\":[],\"ok\":true,\"none\":null}\n");
}

static void test_escaping(void **state)
{
	struct json j;
	FILE *f = mem();

	(void)state;
	json_begin(&j, f);
	json_arr_open(&j);
	json_str(&j, "a\"b\\c");                /* Linux allows both in a device name */
	json_str(&j, "tab\there\nnl\x01\x1f\x7f");
	json_str(&j, "caf\xc3\xa9 \xe2\x82\xac");  /* valid UTF-8 passes */
	json_str(&j, "bad\xff\xc3(\xed\xa0\x80"); /* invalid byte, cut sequence, surrogate */
	json_str(&j, NULL);
	json_arr_close(&j);
	json_end(&j);
	done(f, "[\"a\\\"b\\\\c\",\"tab\\there\\nnl\\u0001\\u001f\\u007f\","
		"\"caf\xc3\xa9 \xe2\x82\xac\",\"bad\\ufffd\\ufffd(\\ufffd\\ufffd\\ufffd\",null]\n");
}

static void test_numbers(void **state)
{
	struct json j;
	FILE *f = mem();

	(void)state;
	json_begin(&j, f);
	json_obj_open(&j);
	json_kv_u64(&j, "max", UINT64_MAX);
	json_kv_i64(&j, "min", INT64_MIN);
	json_kv_double(&j, "pps", 1234.5678, 1);
	json_kv_double(&j, "nan", 0.0 / 0.0, 3);
	json_kv_double(&j, "inf", 1.0 / 0.0, 3);
	json_kv_double(&j, "negzero", -0.0001, 3); /* would print -0.000 */
	json_kv_double(&j, "neg", -0.002, 3);
	json_obj_close(&j);
	json_end(&j);
	done(f, "{\"max\":18446744073709551615,\"min\":-9223372036854775808,\"pps\":1234.6,"
		"\"nan\":null,\"inf\":null,\"negzero\":0.000,\"neg\":-0.002}\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nesting_and_commas),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_numbers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
