/* SPDX-License-Identifier: BSD-2-Clause */
/* The error convention (src/error.c, mqcap.h): an error path never returns success, and a
 * constructor that fails for lack of memory says so in mqcap_last_error() like any other
 * failure. calloc is wrapped (-Wl,--wrap=calloc) so a test can make the next one fail. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "error_int.h"
#include "mqcap/mqcap.h"
#include "mqcap/run.h"
#include "mqcap/topo.h"

void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);

static int fail_calloc; /* the next calloc returns NULL */

void *__wrap_calloc(size_t n, size_t size)
{
	if (fail_calloc) {
		fail_calloc = 0;
		errno = ENOMEM;
		return NULL;
	}
	return __real_calloc(n, size);
}

static void test_errno_zero_is_still_an_error(void **state)
{
	struct mqcap__err e = { "" };

	(void)state;
	/* errno 0: a call that failed without saying why. Before: returned 0 = success. */
	assert_int_equal(mqcap__err_set(&e, 0, "read failed"), -EIO);
	assert_string_equal(e.msg, "read failed");
	assert_int_equal(mqcap__err_set(&e, EINVAL, "bad"), -EINVAL);
	assert_int_equal(mqcap__err_set(&e, -ENOENT, "negative codes too"), -ENOENT);
	errno = 0;
	assert_int_equal(mqcap__last_error_fmt(0, "no errno"), -EIO);
	assert_int_equal(errno, EIO);
}

/* A failure first, so that a stale message cannot pass for the right one. */
static void stale_error(void)
{
	assert_null(mqcap_topo_open("/nonexistent/topology.xml"));
	assert_null(strstr(mqcap_last_error(), "memory"));
}

static void test_topo_open_out_of_memory(void **state)
{
	mqcap_topo_t *t;

	(void)state;
	stale_error();
	fail_calloc = 1;
	errno = 0;
	t = mqcap_topo_open(NULL);
	assert_null(t);
	assert_int_equal(errno, ENOMEM);
	assert_non_null(strstr(mqcap_last_error(), "out of memory"));
}

static int count_fn(void *user, unsigned worker, const struct mqcap_pkt *pkts, unsigned n)
{
	(void)user;
	(void)worker;
	(void)pkts;
	(void)n;
	return 0;
}

static void test_run_open_out_of_memory(void **state)
{
	mqcap_run_t *r;

	(void)state;
	stale_error();
	fail_calloc = 1;
	errno = 0;
	r = mqcap_run_open("pcap:/nonexistent.pcap", NULL, count_fn, NULL);
	assert_null(r);
	assert_int_equal(errno, ENOMEM);
	assert_non_null(strstr(mqcap_last_error(), "out of memory"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errno_zero_is_still_an_error),
		cmocka_unit_test(test_topo_open_out_of_memory),
		cmocka_unit_test(test_run_open_out_of_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
