/* SPDX-License-Identifier: BSD-2-Clause */
/* The reader/poller arrangement of a direct worker (src/arrange_int.h): reader-first exactly
 * when the worker is pinned on the CPU of one of its queues' known pollers, the batching wait
 * with it, and the run's flags taking each part away. Applying reader-first in a thread that
 * may not raise itself falls back to wake-up and says why. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cmocka.h>

#include "mqcap/run.h"
#include "arrange_int.h"

/* Two queues: queue 0's poller on CPU 1 (known), queue 1's planned on CPU 2 but unknown. */
static struct mqcap_plan *two_queues(void)
{
	static struct mqcap_plan_queue q[2];
	static struct mqcap_plan pl;

	memset(q, 0, sizeof(q));
	q[0].poller_cpu = 1;
	q[0].planned_poller_cpu = 1;
	q[1].poller_cpu = -1;
	q[1].planned_poller_cpu = 2;
	pl.queues = q;
	pl.nqueues = 2;
	return &pl;
}

static void beside_is_reader_first(void **state)
{
	const unsigned q0[] = { 0 }, both[] = { 1, 0 };
	struct mqcap__arr a;

	(void)state;
	mqcap__arrange_pick(&a, 1, two_queues(), q0, 1, 0, 0);
	assert_int_equal(a.kind, MQCAP__ARR_READER_FIRST);
	assert_int_equal(a.poller_cpu, 1);
	assert_int_equal(a.batch_us, MQCAP_RUN_BATCH_AUTO_US);
	/* one of its queues beside is enough */
	mqcap__arrange_pick(&a, 1, two_queues(), both, 2, 0, 0);
	assert_int_equal(a.kind, MQCAP__ARR_READER_FIRST);
	/* the caller's batching wait wins over the automatic one */
	mqcap__arrange_pick(&a, 1, two_queues(), q0, 1, 250, 0);
	assert_int_equal(a.batch_us, 250);
	mqcap__arrange_pick(&a, 1, two_queues(), q0, 1, 250, MQCAP_RUN_F_NO_BATCH);
	assert_int_equal(a.batch_us, 0);
	assert_int_equal(a.kind, MQCAP__ARR_READER_FIRST);
}

static void apart_is_wake_up(void **state)
{
	const unsigned q0[] = { 0 }, q1[] = { 1 };
	struct mqcap__arr a;

	(void)state;
	mqcap__arrange_pick(&a, 0, two_queues(), q0, 1, 0, 0);
	assert_int_equal(a.kind, MQCAP__ARR_WAKE);
	assert_int_equal(a.batch_us, 0);
	assert_non_null(strstr(a.text, "wake-up: no poller"));
	/* a poller planned on our CPU but not known to run there is not "beside" */
	mqcap__arrange_pick(&a, 2, two_queues(), q1, 1, 0, 0);
	assert_int_equal(a.kind, MQCAP__ARR_WAKE);
	/* not pinned */
	mqcap__arrange_pick(&a, -1, two_queues(), q0, 1, 0, 0);
	assert_int_equal(a.kind, MQCAP__ARR_WAKE);
	assert_non_null(strstr(a.text, "not pinned"));
	/* no queues (split mode's threads) */
	mqcap__arrange_pick(&a, 1, two_queues(), q0, 0, 0, 0);
	assert_int_equal(a.kind, MQCAP__ARR_WAKE);
}

static void no_priority_keeps_wake_up(void **state)
{
	const unsigned q0[] = { 0 };
	struct mqcap__arr a;

	(void)state;
	mqcap__arrange_pick(&a, 1, two_queues(), q0, 1, 0, MQCAP_RUN_F_NO_PRIORITY);
	assert_int_equal(a.kind, MQCAP__ARR_WAKE);
	assert_int_equal(a.batch_us, MQCAP_RUN_BATCH_AUTO_US); /* still takes turns */
	assert_non_null(strstr(a.text, "at normal priority, as asked"));
	mqcap__arrange_apply(&a); /* nothing to apply */
	assert_int_equal(a.kind, MQCAP__ARR_WAKE);
}

/* In a thread of its own: capabilities are per thread, so dropping CAP_SYS_NICE here leaves
 * the rest of the test as it was. With RLIMIT_RTPRIO 0 as well, the kernel refuses SCHED_FIFO
 * with EPERM, root or not. */
static void *apply_refused(void *arg)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];
	struct mqcap__arr *a = arg;

	if (syscall(SYS_capget, &hdr, data) == 0) {
		data[CAP_SYS_NICE / 32].effective &= ~(1u << (CAP_SYS_NICE % 32));
		data[CAP_SYS_NICE / 32].permitted &= ~(1u << (CAP_SYS_NICE % 32));
		syscall(SYS_capset, &hdr, data);
	}
	mqcap__arrange_apply(a);
	return NULL;
}

static void refused_falls_back(void **state)
{
	const unsigned q0[] = { 0 };
	struct rlimit old, none = { 0, 0 };
	struct mqcap__arr a;
	pthread_t t;

	(void)state;
	assert_int_equal(getrlimit(RLIMIT_RTPRIO, &old), 0);
	assert_int_equal(setrlimit(RLIMIT_RTPRIO, &none), 0);
	mqcap__arrange_pick(&a, 1, two_queues(), q0, 1, 0, 0);
	assert_int_equal(pthread_create(&t, NULL, apply_refused, &a), 0);
	pthread_join(t, NULL);
	setrlimit(RLIMIT_RTPRIO, &old);
	assert_int_equal(a.kind, MQCAP__ARR_WAKE);
	assert_non_null(strstr(a.text, "SCHED_FIFO refused"));
	assert_non_null(strstr(a.text, "CAP_SYS_NICE"));
}

/* Allowed (root here, or a raised RLIMIT_RTPRIO): the thread runs SCHED_FIFO at the lowest
 * real-time priority, and says so. */
static void *apply_allowed(void *arg)
{
	struct mqcap__arr *a = arg;
	struct sched_param sp;
	int policy = -1;

	mqcap__arrange_apply(a);
	pthread_getschedparam(pthread_self(), &policy, &sp);
	return (void *)(long)(policy == SCHED_FIFO && sp.sched_priority == sched_get_priority_min(SCHED_FIFO));
}

static void allowed_runs_fifo(void **state)
{
	const unsigned q0[] = { 0 };
	struct mqcap__arr a;
	pthread_t t;
	void *fifo;

	(void)state;
	mqcap__arrange_pick(&a, 1, two_queues(), q0, 1, 0, 0);
	assert_int_equal(pthread_create(&t, NULL, apply_allowed, &a), 0);
	pthread_join(t, &fifo);
	if (a.kind == MQCAP__ARR_WAKE && strstr(a.text, "refused"))
		skip(); /* not root and no RLIMIT_RTPRIO: refused_falls_back covers it */
	assert_int_equal(a.kind, MQCAP__ARR_READER_FIRST);
	assert_true(fifo != NULL);
	assert_non_null(strstr(a.text, "reader-first: beside its poller on CPU 1, SCHED_FIFO 1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(beside_is_reader_first),
		cmocka_unit_test(apart_is_wake_up),
		cmocka_unit_test(no_priority_keeps_wake_up),
		cmocka_unit_test(refused_falls_back),
		cmocka_unit_test(allowed_runs_fifo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
