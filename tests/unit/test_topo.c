/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The topology reader and the placement planner on synthetic machines (the XML files in tests/unit/topo):
 * 2 packages x 4 cores x 2 threads, a NUMA node and an L3 per package, and the NIC "nic1" on
 * package 1. One file numbers SMT siblings next to each other (0,1 | 2,3 ...), the other the way
 * Linux usually does on big machines (0,8 | 1,9 ...), so a planner that guessed from CPU numbers
 * instead of reading the topology fails one of them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mqcap/topo.h"

#ifndef TOPO_DIR
#error "TOPO_DIR must name tests/unit/topo"
#endif

static const char *const files[] = { TOPO_DIR "/2x4x2-nic1.xml", TOPO_DIR "/2x4x2-interleaved-nic1.xml" };

static mqcap_topo_t *load(unsigned i)
{
	mqcap_topo_t *t = mqcap_topo_open(files[i]);

	if (!t)
		fail_msg("cannot load %s: %s", files[i], mqcap_last_error());
	return t;
}

/* n queues of nic1, each with its poller on pollers[i] (-1 = unknown). */
static void make_queues(mqcap_topo_t *t, struct mqcap_plan_queue *q, unsigned n, const int *pollers)
{
	memset(q, 0, n * sizeof(*q));
	for (unsigned i = 0; i < n; i++) {
		snprintf(q[i].dev, sizeof(q[i].dev), "nic1");
		q[i].queue = i;
		q[i].poller_cpu = pollers ? pollers[i] : -1;
		q[i].nic_numa = mqcap_topo_dev_numa(t, "nic1");
	}
}

static void print_plan(mqcap_topo_t *t, const struct mqcap_plan *p)
{
	char buf[4096];

	mqcap_plan_format(t, p, buf, sizeof(buf));
	print_message("%s", buf);
}

/* The OS number of the `nth` CPU of `core`. */
static int cpu_of_core(mqcap_topo_t *t, int core, int nth)
{
	for (unsigned i = 0; i < mqcap_topo_cpu_count(t); i++) {
		const struct mqcap_topo_cpu *c = mqcap_topo_cpu_at(t, i);

		if (c->core == core && c->smt == nth)
			return c->cpu;
	}
	return -1;
}

static void test_shape(void **state)
{
	(void)state;
	for (unsigned f = 0; f < 2; f++) {
		mqcap_topo_t *t = load(f);
		char buf[1024];

		assert_int_equal(mqcap_topo_cpu_count(t), 16);
		assert_int_equal(mqcap_topo_core_count(t), 8);
		assert_int_equal(mqcap_topo_package_count(t), 2);
		assert_int_equal(mqcap_topo_numa_count(t), 2);
		/* The NIC hangs off package 1, whose node is 1. */
		assert_int_equal(mqcap_topo_dev_numa(t, "nic1"), 1);
		assert_int_equal(mqcap_topo_dev_numa(t, "no-such-nic0"), -1);
		for (unsigned i = 0; i < 16; i++) {
			const struct mqcap_topo_cpu *c = mqcap_topo_cpu_at(t, i);

			assert_non_null(c);
			assert_int_equal(c->package, c->core / 4);
			assert_int_equal(c->numa, c->package);
			assert_int_equal(c->l3, c->package);
			assert_int_equal(c->l2, c->core);
			assert_true(c->usable);
			assert_ptr_equal(mqcap_topo_cpu(t, c->cpu), c);
		}
		assert_null(mqcap_topo_cpu(t, 16));
		assert_null(mqcap_topo_cpu_at(t, 16));
		/* Siblings: 0 and 1 in the first file, 0 and 8 in the interleaved one. */
		assert_int_equal(mqcap_topo_distance(t, 0, f ? 8 : 1), MQCAP_DIST_SAME_CORE);
		assert_int_equal(mqcap_topo_distance(t, 0, f ? 1 : 2), MQCAP_DIST_SHARED_L3);
		assert_int_equal(mqcap_topo_distance(t, 0, cpu_of_core(t, 5, 0)), MQCAP_DIST_REMOTE);
		assert_int_equal(mqcap_topo_distance(t, 3, 3), MQCAP_DIST_SAME_CPU);
		assert_int_equal(mqcap_topo_distance(t, 3, 99), -1);
		assert_true(mqcap_topo_format(t, buf, sizeof(buf)) > 0);
		assert_non_null(strstr(buf, "2 package(s), 2 NUMA node(s), 8 core(s), 16 cpu(s)"));
		mqcap_topo_close(t);
	}
}

static void test_bad_xml(void **state)
{
	(void)state;
	assert_null(mqcap_topo_open(TOPO_DIR "/does-not-exist.xml"));
	assert_non_null(strstr(mqcap_last_error(), "does-not-exist.xml"));
}

/* Each consumer lands on its poller's CPU when the pollers are spread over cores. */
static void test_beside_poller(void **state)
{
	(void)state;
	for (unsigned f = 0; f < 2; f++) {
		mqcap_topo_t *t = load(f);
		struct mqcap_plan_queue q[4];
		int pollers[4];
		struct mqcap_plan *p;

		for (int i = 0; i < 4; i++)
			pollers[i] = cpu_of_core(t, 4 + i, 0); /* package 1, first thread of each core */
		make_queues(t, q, 4, pollers);
		p = mqcap_plan_make(t, q, 4, NULL);
		assert_non_null(p);
		print_plan(t, p);
		assert_int_equal(p->nworkers, 4);
		for (unsigned i = 0; i < 4; i++) {
			assert_int_equal(p->queues[i].worker, (int)i);
			assert_int_equal(p->queues[i].cpu, pollers[i]);
			assert_int_equal(p->queues[i].dist, MQCAP_DIST_SAME_CPU);
			assert_int_equal(p->workers[i].cpu, pollers[i]);
		}
		mqcap_plan_free(p);
		mqcap_topo_close(t);
	}
}

/* Two pollers on one CPU: the second consumer goes to the nearest CPU that shares a cache,
 * and not onto the sibling while other cores of the package are free. */
static void test_shared_poller_cpu(void **state)
{
	(void)state;
	for (unsigned f = 0; f < 2; f++) {
		mqcap_topo_t *t = load(f);
		struct mqcap_plan_queue q[2];
		int c = cpu_of_core(t, 5, 0);
		int pollers[2] = { c, c };
		struct mqcap_plan *p;
		const struct mqcap_topo_cpu *other;

		make_queues(t, q, 2, pollers);
		p = mqcap_plan_make(t, q, 2, NULL);
		assert_non_null(p);
		print_plan(t, p);
		assert_int_equal(p->queues[0].cpu, c);
		other = mqcap_topo_cpu(t, p->queues[1].cpu);
		assert_non_null(other);
		assert_int_not_equal(other->core, 5);
		assert_int_equal(mqcap_topo_distance(t, c, other->cpu), MQCAP_DIST_SHARED_L3);
		mqcap_plan_free(p);
		mqcap_topo_close(t);
	}
}

/* Pollers unknown: queues spread over the NIC's package one per core first, then over the
 * other package's cores (no SMT sharing while free cores remain), then siblings near the NIC. */
static void test_spread_smt_numa(void **state)
{
	(void)state;
	for (unsigned f = 0; f < 2; f++) {
		mqcap_topo_t *t = load(f);
		struct mqcap_plan_queue q[16];

		for (unsigned n = 1; n <= 16; n++) {
			struct mqcap_plan *p;
			int cores_used[8] = { 0 }, cpus_used[16] = { 0 };
			unsigned local = 0;

			make_queues(t, q, n, NULL);
			p = mqcap_plan_make(t, q, n, NULL);
			assert_non_null(p);
			if (n == 6 || n == 12)
				print_plan(t, p);
			for (unsigned i = 0; i < n; i++) {
				const struct mqcap_topo_cpu *c = mqcap_topo_cpu(t, p->queues[i].cpu);

				assert_non_null(c);
				assert_int_equal(cpus_used[c->cpu]++, 0); /* spread: one worker per CPU */
				cores_used[c->core]++;
				local += c->numa == 1;
				/* an unpinned poller is planned beside its worker */
				assert_int_equal(p->queues[i].planned_poller_cpu, c->cpu);
			}
			for (unsigned k = 0; k < 8; k++) {
				/* never two workers on one core while a core is free */
				if (n <= 8)
					assert_true(cores_used[k] <= 1);
				else
					assert_true(cores_used[k] >= 1);
			}
			/* the NIC's node holds min(n, 4) workers up to 8 queues, then fills up */
			if (n <= 4)
				assert_int_equal(local, n);
			else if (n <= 8)
				assert_int_equal(local, 4);
			else if (n <= 12)
				assert_int_equal(local, n - 4);
			else
				assert_int_equal(local, 8);
			mqcap_plan_free(p);
		}
		mqcap_topo_close(t);
	}
}

/* Pollers pinned to both threads of two cores: the rule against SMT siblings beats "beside
 * the poller" while cores are free, and the NUMA rule keeps the moved workers near the NIC. */
static void test_smt_beats_poller(void **state)
{
	(void)state;
	for (unsigned f = 0; f < 2; f++) {
		mqcap_topo_t *t = load(f);
		struct mqcap_plan_queue q[4];
		int pollers[4] = { cpu_of_core(t, 4, 0), cpu_of_core(t, 4, 1), cpu_of_core(t, 5, 0),
				   cpu_of_core(t, 5, 1) };
		int cores[8] = { 0 };
		struct mqcap_plan *p;

		make_queues(t, q, 4, pollers);
		p = mqcap_plan_make(t, q, 4, NULL);
		assert_non_null(p);
		print_plan(t, p);
		for (unsigned i = 0; i < 4; i++) {
			const struct mqcap_topo_cpu *c = mqcap_topo_cpu(t, p->queues[i].cpu);

			assert_int_equal(c->numa, 1);
			assert_int_equal(cores[c->core]++, 0);
		}
		/* the first of each sibling pair keeps its poller's CPU */
		assert_int_equal(p->queues[0].cpu, pollers[0]);
		assert_int_equal(p->queues[2].cpu, pollers[2]);
		mqcap_plan_free(p);
		mqcap_topo_close(t);
	}
}

/* Fewer workers than queues: queues whose pollers are close share a worker. */
static void test_grouping(void **state)
{
	(void)state;
	mqcap_topo_t *t = load(1);
	struct mqcap_plan_queue q[4];
	int pollers[4] = { cpu_of_core(t, 4, 0), cpu_of_core(t, 6, 0), cpu_of_core(t, 4, 1),
			   cpu_of_core(t, 6, 1) };
	MQCAP_PLAN_OPTS(o, .workers = 2);
	struct mqcap_plan *p;

	make_queues(t, q, 4, pollers);
	p = mqcap_plan_make(t, q, 4, &o);
	assert_non_null(p);
	print_plan(t, p);
	assert_int_equal(p->nworkers, 2);
	assert_int_equal(p->queues[0].worker, p->queues[2].worker);
	assert_int_equal(p->queues[1].worker, p->queues[3].worker);
	assert_int_not_equal(p->queues[0].worker, p->queues[1].worker);
	assert_int_equal(p->workers[0].nqueues, 2);
	assert_int_equal(p->workers[1].nqueues, 2);
	assert_int_equal(p->queues[0].cpu, pollers[0]);
	assert_int_equal(p->queues[1].cpu, pollers[1]);
	mqcap_plan_free(p);
	mqcap_topo_close(t);
}

static void test_manual_and_errors(void **state)
{
	(void)state;
	mqcap_topo_t *t = load(0);
	struct mqcap_plan_queue q[17];
	int cpus[2] = { 3, 2 }, bad[1] = { 42 };
	struct mqcap_plan *p;

	make_queues(t, q, 17, NULL);
	{
		MQCAP_PLAN_OPTS(o, .cpus = cpus, .ncpus = 2);

		p = mqcap_plan_make(t, q, 2, &o);
		assert_non_null(p);
		assert_int_equal(p->queues[0].cpu, 3);
		assert_int_equal(p->queues[1].cpu, 2);
		assert_string_equal(p->workers[0].why, "manual");
		mqcap_plan_free(p);
	}
	{
		MQCAP_PLAN_OPTS(o, .cpus = cpus, .ncpus = 2);

		assert_null(mqcap_plan_make(t, q, 3, &o));
		assert_int_equal(errno, E2BIG);
		assert_non_null(strstr(mqcap_topo_errmsg(t), "--oversubscribe"));
		o.flags = MQCAP_PLAN_OVERSUBSCRIBE;
		p = mqcap_plan_make(t, q, 3, &o);
		assert_non_null(p);
		assert_int_equal(p->queues[2].cpu, 3);
		mqcap_plan_free(p);
	}
	{
		MQCAP_PLAN_OPTS(o, .cpus = bad, .ncpus = 1);

		assert_null(mqcap_plan_make(t, q, 1, &o));
		assert_int_equal(errno, EINVAL);
		assert_non_null(strstr(mqcap_topo_errmsg(t), "CPU 42 does not exist"));
	}
	/* 17 workers on 16 CPUs */
	assert_null(mqcap_plan_make(t, q, 17, NULL));
	assert_int_equal(errno, E2BIG);
	{
		MQCAP_PLAN_OPTS(o, .flags = MQCAP_PLAN_OVERSUBSCRIBE);
		int per_cpu[16] = { 0 };

		p = mqcap_plan_make(t, q, 17, &o);
		assert_non_null(p);
		for (unsigned i = 0; i < 17; i++)
			per_cpu[p->queues[i].cpu]++;
		for (unsigned i = 0; i < 16; i++)
			assert_true(per_cpu[i] >= 1 && per_cpu[i] <= 2);
		mqcap_plan_free(p);
	}
	{
		MQCAP_PLAN_OPTS(o, .workers = 3);

		assert_null(mqcap_plan_make(t, q, 2, &o));
		assert_int_equal(errno, EINVAL);
	}
	{
		MQCAP_PLAN_OPTS(o, .flags = MQCAP_PLAN_NO_PIN);

		p = mqcap_plan_make(t, q, 2, &o);
		assert_non_null(p);
		assert_int_equal(p->queues[0].cpu, -1);
		mqcap_plan_free(p);
	}
	mqcap_topo_close(t);
}

/* CPUs declared busy (a traffic generator) are avoided. */
static void test_busy(void **state)
{
	(void)state;
	mqcap_topo_t *t = load(0);
	struct mqcap_plan_queue q[1];
	int busy[1] = { 8 }, pollers[1] = { 8 };
	MQCAP_PLAN_OPTS(o, .busy_cpus = busy, .nbusy = 1);
	struct mqcap_plan *p;

	make_queues(t, q, 1, pollers);
	p = mqcap_plan_make(t, q, 1, &o);
	assert_non_null(p);
	assert_int_not_equal(p->queues[0].cpu, 8);
	assert_int_not_equal(p->queues[0].cpu, 9); /* 8's sibling */
	assert_int_equal(mqcap_topo_cpu(t, p->queues[0].cpu)->numa, 1);
	mqcap_plan_free(p);
	mqcap_topo_close(t);
}

/* MQCAP_PLAN_FIT: by default one worker per queue, but never more workers than CPUs (the
 * usable ones, or those listed); a worker count the caller gives is kept. */
static void test_fit(void **state)
{
	(void)state;
	mqcap_topo_t *t = load(1);
	struct mqcap_plan_queue q[20];
	int cpus[2] = { 3, 2 }, per_cpu[16] = { 0 };
	struct mqcap_plan *p;

	assert_int_equal(mqcap_topo_usable_count(t), 16);
	make_queues(t, q, 20, NULL);
	{
		MQCAP_PLAN_OPTS(o, .flags = MQCAP_PLAN_FIT);

		p = mqcap_plan_make(t, q, 20, &o);
		assert_non_null(p);
		assert_int_equal(p->nworkers, 16);
		for (unsigned i = 0; i < p->nworkers; i++)
			per_cpu[p->workers[i].cpu]++;
		for (unsigned i = 0; i < 16; i++)
			assert_int_equal(per_cpu[i], 1);
		mqcap_plan_free(p);
		p = mqcap_plan_make(t, q, 4, &o);
		assert_non_null(p);
		assert_int_equal(p->nworkers, 4);
		mqcap_plan_free(p);
	}
	{
		MQCAP_PLAN_OPTS(o, .flags = MQCAP_PLAN_FIT, .cpus = cpus, .ncpus = 2);

		p = mqcap_plan_make(t, q, 5, &o);
		assert_non_null(p);
		assert_int_equal(p->nworkers, 2);
		assert_int_equal(p->workers[0].cpu, 3);
		assert_int_equal(p->workers[1].cpu, 2);
		mqcap_plan_free(p);
	}
	{
		MQCAP_PLAN_OPTS(o, .flags = MQCAP_PLAN_FIT | MQCAP_PLAN_OVERSUBSCRIBE, .workers = 18);

		p = mqcap_plan_make(t, q, 20, &o);
		assert_non_null(p);
		assert_int_equal(p->nworkers, 18);
		mqcap_plan_free(p);
	}
	mqcap_topo_close(t);
}

/* This machine loads too, and every CPU it reports exists. */
static void test_this_machine(void **state)
{
	(void)state;
	mqcap_topo_t *t = mqcap_topo_open(NULL);

	assert_non_null(t);
	assert_true(mqcap_topo_cpu_count(t) >= 1);
	assert_non_null(mqcap_topo_cpu(t, 0));
	mqcap_topo_close(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shape),
		cmocka_unit_test(test_bad_xml),
		cmocka_unit_test(test_beside_poller),
		cmocka_unit_test(test_shared_poller_cpu),
		cmocka_unit_test(test_spread_smt_numa),
		cmocka_unit_test(test_smt_beats_poller),
		cmocka_unit_test(test_grouping),
		cmocka_unit_test(test_manual_and_errors),
		cmocka_unit_test(test_busy),
		cmocka_unit_test(test_fit),
		cmocka_unit_test(test_this_machine),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
