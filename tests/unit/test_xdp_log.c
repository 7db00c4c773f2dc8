/* SPDX-License-Identifier: BSD-2-Clause */
/* libbpf/libxdp messages (src/xdp_log.c): mqcap keeps the last warning for its own error
 * messages, and an application's print hook installed before mqcap's still gets every
 * message (it used to be replaced without a word). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "xdp_log_int.h"

static int app_calls;
static char app_last[256];

static int app_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	app_calls++;
	vsnprintf(app_last, sizeof(app_last), fmt, ap);
	return 0;
}

static void test_app_hook_still_called(void **state)
{
	struct bpf_object *obj;

	(void)state;
	libbpf_set_print(app_print);
	mqcap__xdp_log_init();
	mqcap__xdp_log_clear();
	obj = bpf_object__open_file("/nonexistent/mqcap-test.bpf.o", NULL);
	assert_true(libbpf_get_error(obj) != 0);
	/* mqcap kept the warning... */
	assert_non_null(strstr(mqcap__xdp_log_last(), "mqcap-test.bpf.o"));
	/* ...and the application saw it too, the same text */
	assert_true(app_calls > 0);
	assert_non_null(strstr(app_last, "mqcap-test.bpf.o"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_app_hook_still_called),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
