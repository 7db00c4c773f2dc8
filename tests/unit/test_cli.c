/* SPDX-License-Identifier: BSD-2-Clause */
/* The shared command-line parsers: every tool's numbers, durations and CPU lists go here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <unistd.h>
#include <cmocka.h>

#include "capture_opts.h"
#include "cli.h"
#include "range.h"

static void test_u64_suffixes(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(cli_parse_u64("300k", "--rate", &v), 0);
	assert_int_equal(v, 300000);
	assert_int_equal(cli_parse_u64("2M", "--rate", &v), 0);
	assert_int_equal(v, 2000000);
	assert_int_equal(cli_parse_u64("17", "--count", &v), 0);
	assert_int_equal(v, 17);
	assert_int_equal(cli_parse_u64("-1", "--count", &v), -1);
	assert_int_equal(cli_parse_u64("12x", "--count", &v), -1);
	assert_int_equal(cli_parse_u64("", "--count", &v), -1);
	assert_int_equal(cli_parse_u64("99999999999999999999", "--count", &v), -1);
}

static void test_u64_range(void **state)
{
	uint64_t v = 99;

	(void)state;
	assert_int_equal(cli_parse_u64_range("4", "-n", 1, 64, "threads", &v), 0);
	assert_int_equal(v, 4);
	assert_int_equal(cli_parse_u64_range("1", "-n", 1, 64, NULL, &v), 0);   /* bounds included */
	assert_int_equal(cli_parse_u64_range("64", "-n", 1, 64, NULL, &v), 0);
	v = 7;
	assert_int_equal(cli_parse_u64_range("0", "-n", 1, 64, "threads", &v), -1);
	assert_int_equal(cli_parse_u64_range("65", "-n", 1, 64, "threads", &v), -1);
	assert_int_equal(cli_parse_u64_range("1k", "-n", 1, 64, "threads", &v), -1);
	assert_int_equal(cli_parse_u64_range("x", "-n", 1, 64, "threads", &v), -1);
	assert_int_equal(v, 7); /* a refused value leaves the output alone */
}

static void test_durations(void **state)
{
	uint64_t ms;

	(void)state;
	assert_int_equal(cli_parse_duration_ms("10", "-d", &ms), 0);
	assert_int_equal(ms, 10000);
	assert_int_equal(cli_parse_duration_ms("250ms", "-d", &ms), 0);
	assert_int_equal(ms, 250);
	assert_int_equal(cli_parse_duration_ms("2m", "-d", &ms), 0);
	assert_int_equal(ms, 120000);
	assert_int_equal(cli_parse_duration_ms("3h", "-d", &ms), -1);
	assert_int_equal(cli_parse_duration_ms("1.5s", "-d", &ms), 0);
	assert_int_equal(ms, 1500);
	/* Issue 11: 1e300 overflowed the conversion (UB, UBSan), nan and inf were accepted.
	 * Every rejection leaves the value as it was. */
	ms = 42;
	assert_int_equal(cli_parse_duration_ms("1e300", "-d", &ms), -1);
	assert_int_equal(cli_parse_duration_ms("1e300ms", "-d", &ms), -1);
	assert_int_equal(cli_parse_duration_ms("1e12m", "-d", &ms), -1);
	assert_int_equal(cli_parse_duration_ms("nan", "-d", &ms), -1);
	assert_int_equal(cli_parse_duration_ms("NAN", "-d", &ms), -1);
	assert_int_equal(cli_parse_duration_ms("inf", "-d", &ms), -1);
	assert_int_equal(cli_parse_duration_ms("infinity", "-d", &ms), -1);
	assert_int_equal(cli_parse_duration_ms("-1", "-d", &ms), -1);
	assert_int_equal(cli_parse_duration_ms(" 5", "-d", &ms), -1);
	assert_int_equal(cli_parse_duration_ms("+5", "-d", &ms), -1);
	assert_int_equal(cli_parse_duration_ms("0x10", "-d", &ms), -1);
	assert_int_equal(cli_parse_duration_ms("", "-d", &ms), -1);
	assert_int_equal(ms, 42);
	assert_int_equal(cli_parse_duration_ms("1e3ms", "-d", &ms), 0); /* decimal exponents stay */
	assert_int_equal(ms, 1000);
}

/* Blanks and signs that strtoull()/strtol() would silently take. */
static void test_no_blanks_or_signs(void **state)
{
	uint64_t v = 7;
	int cpus[4];

	(void)state;
	assert_int_equal(cli_parse_u64(" 5", "-c", &v), -1);
	assert_int_equal(cli_parse_u64("+5", "-c", &v), -1);
	assert_int_equal(v, 7);
	assert_int_equal(cli_parse_cpu_order("+0", "-g", cpus, 4), -1);
	assert_int_equal(cli_parse_cpu_order(" 0", "-g", cpus, 4), -1);
	assert_int_equal(cli_parse_cpu_order("0-+0", "-g", cpus, 4), -1);
	assert_int_equal(cli_parse_cpu_order("0- 0", "-g", cpus, 4), -1);
	assert_int_equal(cli_parse_cpu_order("0", "-g", cpus, 4), 1);
}

static void test_cpulist(void **state)
{
	cpu_set_t set;
	int cpus[8];
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);

	(void)state;
	assert_int_equal(cli_parse_cpulist("0", "-g", &set), 1);
	assert_true(CPU_ISSET(0, &set));
	if (ncpu >= 2) {
		assert_int_equal(cli_parse_cpulist("0-1", "-g", &set), 2);
		assert_int_equal(cli_cpus_of(&set, cpus, 8), 2);
		assert_int_equal(cpus[1], 1);
		assert_int_equal(cli_parse_cpulist("1,0", "-g", &set), 2);
	}
	assert_int_equal(cli_parse_cpulist("4096", "-g", &set), -1); /* does not exist */
	assert_int_equal(cli_parse_cpulist("1-0", "-g", &set), -1);  /* reversed range */
	assert_int_equal(cli_parse_cpulist("0,,1", "-g", &set), -1);
	assert_int_equal(cli_parse_cpulist("a", "-g", &set), -1);
	assert_int_equal(cli_parse_cpulist("", "-g", &set), -1);
}

/* The capture options mqcount and mqdump share: values, the checks between options, and
 * what reaches mqcap's open and run options. */
static int finish(struct capture_opts *o, int argc, char **argv)
{
	return capture_opts_finish(o, argc, argv, 0);
}

static void test_capture_opts(void **state)
{
	static struct capture_opts o;
	char *words[] = { "tcp", "port", "80" };

	(void)state;
	capture_opts_init(&o);
	assert_int_equal(capture_opts_parse(&o, 'i', "eth1@0"), 0);
	assert_int_equal(capture_opts_parse(&o, 'i', "eth1@2"), 0);
	assert_int_equal(capture_opts_parse(&o, 'm', "100k"), -1);  /* less than one queue */
	assert_int_equal(capture_opts_parse(&o, 'm', "8M"), 0);
	assert_int_equal(capture_opts_parse(&o, 'b', "dpdk"), -1);
	assert_int_equal(capture_opts_parse(&o, 'c', "0"), -1);
	assert_int_equal(capture_opts_parse(&o, 'c', "2k"), 0);
	assert_int_equal(capture_opts_parse(&o, 'l', "50ms"), -1);
	assert_int_equal(capture_opts_parse(&o, CAPTURE_OPT_EXCLUSIVE, NULL), 0);
	assert_int_equal(capture_opts_parse(&o, CAPTURE_OPT_BATCH, "0"), 0);
	assert_int_equal(capture_opts_parse(&o, '?', NULL), -1);    /* unknown: "Try --help" */
	assert_int_equal(finish(&o, 3, words), 0);
	assert_string_equal(o.name, "eth1@0,2");
	assert_string_equal(o.cap.filter, "tcp port 80");
	assert_int_equal(o.cap.mem_budget, 8u << 20);
	assert_int_equal(o.cap.backend, MQCAP_BACKEND_XDP);         /* --exclusive */
	assert_int_equal(o.count, 2000);
	assert_true(o.ro.capture == &o.cap);
	assert_true(o.ro.flags & MQCAP_RUN_F_NO_BATCH);
	assert_true(o.ro.flags & MQCAP_RUN_F_FIT);
	capture_opts_free(&o);

	/* conflicts are refused */
	capture_opts_init(&o);
	assert_int_equal(capture_opts_parse(&o, 'i', "packet:eth1"), 0);
	assert_int_equal(capture_opts_parse(&o, CAPTURE_OPT_EXCLUSIVE, NULL), 0);
	assert_int_equal(finish(&o, 0, NULL), -1);
	capture_opts_init(&o);
	assert_int_equal(capture_opts_parse(&o, 'i', "eth1"), 0);
	assert_int_equal(capture_opts_parse(&o, 'f', "udp"), 0);
	assert_int_equal(finish(&o, 1, words), -1);                 /* a filter given twice */
	capture_opts_free(&o);
	capture_opts_init(&o);
	assert_int_equal(finish(&o, 0, NULL), -1);                  /* nothing to capture */
	capture_opts_init(&o);
	assert_int_equal(capture_opts_parse(&o, 'i', "eth1"), 0);
	assert_int_equal(capture_opts_parse(&o, 'q', NULL), 0);
	assert_int_equal(capture_opts_parse(&o, CAPTURE_OPT_JSON, NULL), 0);
	assert_int_equal(finish(&o, 0, NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u64_suffixes),
		cmocka_unit_test(test_u64_range),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_no_blanks_or_signs),
		cmocka_unit_test(test_cpulist),
		cmocka_unit_test(test_capture_opts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
