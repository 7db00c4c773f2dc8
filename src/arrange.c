/* SPDX-License-Identifier: BSD-2-Clause */
/* arrange.c - the reader/poller arrangement of a runtime worker or of a handle's receiving
 * thread (see arrange_int.h). */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqcap/queues.h"
#include "mqcap/run.h"
#include "arrange_int.h"
#include "run_int.h"
#include "source_int.h"

/* a->poller_cpu found (>= 0: beside) or not: reader-first, or wake-up with the reason. */
static void decide(struct mqcap__arr *a, const char *why_apart, bool no_priority)
{
	if (a->poller_cpu < 0)
		snprintf(a->text, sizeof(a->text), "wake-up: %s", why_apart);
	else if (no_priority)
		snprintf(a->text, sizeof(a->text), "wake-up: beside its poller on CPU %d at normal "
			 "priority, as asked (the poller can starve it)", a->poller_cpu);
	else
		a->kind = MQCAP__ARR_READER_FIRST;
}

void mqcap__arrange_pick(struct mqcap__arr *a, int worker_cpu, const struct mqcap_plan *pl,
			 const unsigned *qs, unsigned n, unsigned batch_usecs, uint32_t run_flags)
{
	memset(a, 0, sizeof(*a));
	a->kind = MQCAP__ARR_WAKE;
	a->poller_cpu = -1;
	for (unsigned i = 0; i < n && worker_cpu >= 0 && a->poller_cpu < 0; i++)
		if (pl->queues[qs[i]].planned_poller_cpu == worker_cpu &&
		    pl->queues[qs[i]].poller_cpu >= 0)
			a->poller_cpu = worker_cpu;
	/* A worker on the very CPU of one of its pollers takes turns with it: waking per packet
	 * would preempt the poller for every packet, so let it fill the ring for a while. */
	if (!(run_flags & MQCAP_RUN_F_NO_BATCH))
		a->batch_us = batch_usecs ? batch_usecs :
			      a->poller_cpu >= 0 ? MQCAP_RUN_BATCH_AUTO_US : 0;
	decide(a, worker_cpu < 0 ? "not pinned" : "no poller of its queues on its CPU",
	       run_flags & MQCAP_RUN_F_NO_PRIORITY);
}

/* The CPU the calling thread is pinned to, if exactly one; -1 otherwise. */
static int caller_cpu(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) || CPU_COUNT(&set) != 1)
		return -1;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set))
			return cpu;
	return -1;
}

void mqcap__arrange_handle(struct mqcap__handle_arr *h, const struct mqcap__reader *readers,
			   unsigned n, uint32_t flags)
{
	/* On the heap: a cpu_set_t each, too much for the stack of a small capture thread. */
	struct mqcap_queue_poller *p = calloc(1, sizeof(*p));
	struct mqcap__arr *a = &h->a;
	int cpu = caller_cpu();

	h->decided = true;
	h->thread = pthread_self();
	memset(a, 0, sizeof(*a));
	a->kind = MQCAP__ARR_WAKE;
	a->poller_cpu = -1;
	for (unsigned i = 0; i < n && p && cpu >= 0 && a->poller_cpu < 0; i++)
		if (mqcap_queue_poller(readers[i].dev_name, readers[i].queue, 0, p) == 0 &&
		    p->pid > 0 && CPU_COUNT(&p->allowed) == 1 && CPU_ISSET(cpu, &p->allowed))
			a->poller_cpu = cpu;
	free(p);
	decide(a, cpu < 0 ? "the receiving thread is not pinned to one CPU" :
	       "no pinned poller of its queues on its CPU", flags & MQCAP_F_NO_READER_FIRST);
	mqcap__arrange_apply(a);
}

void mqcap__arrange_apply(struct mqcap__arr *a)
{
	struct sched_param sp = { .sched_priority = sched_get_priority_min(SCHED_FIFO) };
	int rc;

	if (a->kind != MQCAP__ARR_READER_FIRST)
		return;
	rc = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
	if (rc) {
		a->kind = MQCAP__ARR_WAKE;
		snprintf(a->text, sizeof(a->text), "wake-up: beside its poller on CPU %d, which can "
			 "starve it: SCHED_FIFO refused (%s%s)", a->poller_cpu, strerror(rc),
			 rc == EPERM ? ": needs CAP_SYS_NICE or RLIMIT_RTPRIO" : "");
		return;
	}
	snprintf(a->text, sizeof(a->text), "reader-first: beside its poller on CPU %d, "
		 "SCHED_FIFO %d above it", a->poller_cpu, sp.sched_priority);
}

const char *mqcap_run_worker_arrangement(const mqcap_run_t *r, unsigned w)
{
	const struct mqcap__arr *a;

	if (!r || w >= r->nw)
		return NULL;
	a = &r->w[w].arr;
	if (a->kind == MQCAP__ARR_READER_FIRST && !r->started)
		return "reader-first (planned): beside its poller, SCHED_FIFO above it";
	return a->text;
}
