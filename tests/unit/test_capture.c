/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The capture handle through the public API, without a testbed: the offline backend on the
 * fuzz seeds (tests/fuzz/corpus/pcap), option checking, errors of failed opens, and
 * mqcap_wake() releasing a blocked receive (on loopback in a private network namespace, when
 * run as root).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "mqcap/mqcap.h"

#ifndef CORPUS_DIR
#error "CORPUS_DIR must point at tests/fuzz/corpus/pcap"
#endif

/* cases that called skip(): main() then exits 77 */
static int skipped_parts;

static void test_pcap_replay(void **state)
{
	MQCAP_OPTS(o);
	struct mqcap_pkt p[2];
	struct mqcap_stats st;
	struct mqcap_queue_info qi;
	unsigned total = 0;
	uint64_t last_ts = 0;
	mqcap_t *c;
	int n;

	(void)state;
	c = mqcap_open("pcap:" CORPUS_DIR "/le_nsec.pcap", &o);
	assert_non_null(c);
	assert_string_equal(mqcap_backend_name(c), "pcap");
	assert_int_equal(mqcap_queue_count(c), 1);
	assert_int_equal(mqcap_queue_info(c, 0, &qi), 0);
	assert_string_equal(qi.dev_name, "le_nsec.pcap");
	assert_int_equal(mqcap_queue_info(c, 1, &qi), -EINVAL);
	assert_true(mqcap_fd(c) >= 0);
	/* bursts of 2 over 4 frames: the views of one burst are distinct and stay valid */
	while ((n = mqcap_recv_burst(c, p, 2, 0)) > 0) {
		assert_true(n <= 2);
		if (n == 2)
			assert_ptr_not_equal(p[0].data, p[1].data);
		for (int i = 0; i < n; i++) {
			assert_int_equal(p[i].caplen, p[i].len);
			assert_true(p[i].ts_ns > last_ts);
			last_ts = p[i].ts_ns;
		}
		total += (unsigned)n;
	}
	assert_int_equal(n, -ENODATA);
	assert_non_null(strstr(mqcap_errmsg(c), "end of file after 4 packets"));
	assert_int_equal(total, 4);
	assert_int_equal(mqcap_recv_burst(c, p, 2, 0), -ENODATA); /* stays at the end */
	assert_int_equal(mqcap_stats(c, &st), 0);
	assert_int_equal(st.received, 4);
	assert_int_equal(mqcap_queue_stats(c, 0, &st), 0);
	assert_int_equal(st.received, 4);
	assert_int_equal(mqcap_queue_stats(c, 3, &st), -EINVAL);
	mqcap_close(c);
	/* nanosecond file: the last stamp keeps its nanoseconds */
	assert_int_equal(last_ts, 1700000003000003000ull);
}

static void test_pcap_filter_and_snaplen(void **state)
{
	MQCAP_OPTS(o, .filter = "vlan and tcp", .snaplen = 64);
	struct mqcap_pkt p[8];
	struct mqcap_stats st;
	mqcap_t *c;

	(void)state;
	c = mqcap_open("pcap:" CORPUS_DIR "/basic.pcapng", &o);
	assert_non_null(c);
	assert_int_equal(mqcap_recv_burst(c, p, 8, 0), 1);
	assert_int_equal(p[0].data[12], 0x81);
	assert_int_equal(mqcap_recv_burst(c, p, 8, 0), -ENODATA);
	assert_int_equal(mqcap_stats(c, &st), 0);
	assert_int_equal(st.received, 1);
	assert_int_equal(st.filtered, 3);
	mqcap_close(c);

	/* backend pcap in the options: the name is the file */
	o.filter = NULL;
	o.backend = MQCAP_BACKEND_PCAP;
	c = mqcap_open(CORPUS_DIR "/be_usec.pcap", &o);
	assert_non_null(c);
	assert_int_equal(mqcap_recv_burst(c, p, 8, 0), 4);
	mqcap_close(c);
}

static void test_truncated(void **state)
{
	struct mqcap_pkt p[8];
	mqcap_t *c = mqcap_open("pcap:" CORPUS_DIR "/truncated.pcap", NULL);

	(void)state;
	assert_non_null(c);
	assert_int_equal(mqcap_recv_burst(c, p, 8, 0), 3);   /* the good ones first */
	assert_int_equal(mqcap_recv_burst(c, p, 8, 0), -EBADMSG);
	assert_non_null(strstr(mqcap_errmsg(c), "at byte offset 252, after 3 good packets"));
	mqcap_close(c);
}

static void test_open_errors(void **state)
{
	struct mqcap_opts bad = { 0 };
	MQCAP_OPTS(o, .filter = "tcp and");

	(void)state;
	errno = 0;
	assert_null(mqcap_open("eth1@3-1", NULL));
	assert_int_equal(errno, EINVAL);
	assert_string_equal(mqcap_last_error(), "eth1@3-1: range end 1 below start 3");
	assert_null(mqcap_open("pcap:" CORPUS_DIR "/le_usec.pcap", &bad));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(mqcap_last_error(), "MQCAP_OPTS()"));
	assert_null(mqcap_open("pcap:" CORPUS_DIR "/le_usec.pcap", &o));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(mqcap_last_error(), "filter 'tcp and': "));
	assert_null(mqcap_open("pcap:" CORPUS_DIR "/no-such-file.pcap", NULL));
	assert_int_equal(errno, ENOENT);
	/* The errno comes from the system, not from matching libpcap's words: a file used as
	 * a directory is ENOTDIR (it was EINVAL, as only two messages were recognised). */
	assert_null(mqcap_open("pcap:" CORPUS_DIR "/le_usec.pcap/x.pcap", NULL));
	assert_int_equal(errno, ENOTDIR);
	assert_non_null(strstr(mqcap_last_error(), "le_usec.pcap/x.pcap"));
	assert_null(mqcap_open("packet:nosuchdev0", NULL));
	assert_int_equal(errno, ENODEV);
	/* backend pcap in the options: a name too long for a path is refused, not cut short */
	{
		MQCAP_OPTS(po, .backend = MQCAP_BACKEND_PCAP);
		static char longname[PATH_MAX + 8];

		memset(longname, 'a', sizeof(longname) - 1);
		assert_null(mqcap_open(longname, &po));
		assert_int_equal(errno, ENAMETOOLONG);
		assert_string_equal(mqcap_last_error(), "pcap: file name too long");
	}
	mqcap_close(NULL);
}

static void *waker(void *arg)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	mqcap_wake(arg);
	return NULL;
}

static void test_wake(void **state)
{
	MQCAP_OPTS(o, .backend = MQCAP_BACKEND_PACKET);
	struct mqcap_pkt p[4];
	pthread_t t;
	mqcap_t *c;

	(void)state;
	if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0) {
		printf("skipping the wake test: needs root for a private network namespace\n");
		skipped_parts++;
		skip();
	}
	c = mqcap_open("lo", &o);   /* a fresh namespace's lo: down, silent */
	assert_non_null(c);
	assert_string_equal(mqcap_backend_name(c), "packet");
	assert_int_equal(mqcap_recv_burst(c, p, 4, 20), 0); /* timeout */
	assert_int_equal(pthread_create(&t, NULL, waker, c), 0);
	assert_int_equal(mqcap_recv_burst(c, p, 4, -1), 0); /* returns only through the wake */
	pthread_join(t, NULL);
	mqcap_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pcap_replay),
		cmocka_unit_test(test_pcap_filter_and_snaplen),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_wake),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);

	/* A skipped case makes the program a skip (77), not a pass: meson shows it. */
	return failed ? failed : skipped_parts ? 77 : 0;
}
