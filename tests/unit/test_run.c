/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The runtime (run.h) without a testbed, on the pcap seeds of the fuzz corpus:
 *  - mqcap_run_stop() from a signal handler and from another thread, racing mqcap_run_close()
 *    with a pointer that goes stale (the use run.h documents as safe): under ASan a stop that
 *    touched a freed run fails the test;
 *  - a stop from a signal handler ends a live run;
 *  - a timed wait returns -ETIMEDOUT, then 0 once the run ended;
 *  - queue info and queue reports: a file's one queue, present and not added, no report,
 *    and an index past the end refused (-EINVAL, "" for a report).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "mqcap/run.h"

#ifndef CORPUS_DIR
#error "CORPUS_DIR must point at tests/fuzz/corpus/pcap"
#endif
#define FILE_NAME "pcap:" CORPUS_DIR "/le_nsec.pcap"

static _Atomic(mqcap_run_t *) g_run;   /* never cleared: it goes stale at each close */
static atomic_int g_done, g_signals;

static void on_usr1(int sig)
{
	(void)sig;
	mqcap_run_stop(atomic_load(&g_run));
	atomic_fetch_add(&g_signals, 1);
}

static int count_cb(void *user, unsigned w, const struct mqcap_pkt *p, unsigned n)
{
	(void)user; (void)w; (void)p; (void)n;
	return 0;
}

struct pest { pthread_t main; };

/* Signals the main thread and stops the (possibly closed) run directly, as fast as it can. */
static void *pester(void *arg)
{
	struct pest *p = arg;

	while (!atomic_load(&g_done)) {
		pthread_kill(p->main, SIGUSR1);
		mqcap_run_stop(atomic_load(&g_run));
		sched_yield();
	}
	return NULL;
}

static void test_stop_races_close(void **state)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct pest p = { .main = pthread_self() };
	pthread_t th;

	(void)state;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
	atomic_store(&g_done, 0);
	assert_int_equal(pthread_create(&th, NULL, pester, &p), 0);
	for (int i = 0; i < 100; i++) {
		MQCAP_RUN_OPTS(ro, .flags = MQCAP_RUN_F_NO_PIN);
		mqcap_run_t *r = mqcap_run_open(FILE_NAME, &ro, count_cb, NULL);
		int rc;

		assert_non_null(r);
		atomic_store(&g_run, r);
		rc = mqcap_run_start(r);
		assert_true(rc == 0 || rc == -ECANCELED);
		mqcap_run_wait(r, -1);
		mqcap_run_close(r);
		/* g_run is stale now: the pester keeps stopping it */
	}
	atomic_store(&g_done, 1);
	pthread_join(th, NULL);
	assert_true(atomic_load(&g_signals) > 0);
	signal(SIGUSR1, SIG_DFL);
}

static atomic_int g_slow;

/* Slow enough that the run is still going when the signal comes. */
static int slow_cb(void *user, unsigned w, const struct mqcap_pkt *p, unsigned n)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	(void)user; (void)w; (void)p; (void)n;
	atomic_fetch_add(&g_slow, 1);
	nanosleep(&ts, NULL);
	return 0;
}

static void test_stop_from_handler_and_timed_wait(void **state)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	MQCAP_RUN_OPTS(ro, .flags = MQCAP_RUN_F_NO_PIN, .burst = 1);
	mqcap_run_t *r;

	(void)state;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
	r = mqcap_run_open(FILE_NAME, &ro, slow_cb, NULL);
	assert_non_null(r);
	atomic_store(&g_run, r);
	assert_int_equal(mqcap_run_start(r), 0);
	/* 4 frames at 50 ms each: still running after 20 ms */
	assert_int_equal(mqcap_run_wait(r, 20), -ETIMEDOUT);
	assert_false(mqcap_run_stopping(r));
	raise(SIGUSR1);
	assert_true(mqcap_run_stopping(r));
	assert_int_equal(mqcap_run_wait(r, 5000), 0);
	assert_true(atomic_load(&g_slow) < 4);
	assert_string_equal(mqcap_run_errmsg(r), "no error");
	assert_int_equal(mqcap_run_link_reports(r, NULL, 0), 0);
	mqcap_run_close(r);
	signal(SIGUSR1, SIG_DFL);
}

static void test_queue_info_and_reports(void **state)
{
	MQCAP_RUN_OPTS(ro, .flags = MQCAP_RUN_F_NO_PIN | MQCAP_RUN_F_NEW_QUEUES);
	struct mqcap_run_queue_info qi;
	char buf[64] = "x";
	mqcap_run_t *r;

	(void)state;
	r = mqcap_run_open(FILE_NAME, &ro, count_cb, NULL);
	assert_non_null(r);
	assert_int_equal(mqcap_run_start(r), 0);
	assert_int_equal(mqcap_run_wait(r, 5000), 0);
	assert_int_equal(mqcap_run_queue_count(r), 1);
	assert_int_equal(mqcap_run_queue_info(r, 0, &qi), 0);
	assert_string_equal(qi.dev_name, "le_nsec.pcap");
	assert_int_equal(qi.queue, 0);
	assert_true(qi.present);
	assert_false(qi.added);
	assert_int_equal(mqcap_run_queue_info(r, 1, &qi), -EINVAL);
	/* a file has no RX queue count to change: nothing to report, and report 0 is "" */
	assert_int_equal(mqcap_run_queue_reports(r, 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(mqcap_run_queue_reports(r, 7, NULL, 0), 0);
	mqcap_run_close(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stop_races_close),
		cmocka_unit_test(test_stop_from_handler_and_timed_wait),
		cmocka_unit_test(test_queue_info_and_reports),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
