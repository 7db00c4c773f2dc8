/* SPDX-License-Identifier: BSD-2-Clause */
/* arrange.c - the reader/poller arrangement of a direct worker (see arrange_int.h). */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "mqcap/run.h"
#include "arrange_int.h"
#include "run_int.h"

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
	if (a->poller_cpu < 0)
		snprintf(a->text, sizeof(a->text), "wake-up: %s", worker_cpu < 0 ?
			 "not pinned" : "no poller of its queues on its CPU");
	else if (run_flags & MQCAP_RUN_F_NO_PRIORITY)
		snprintf(a->text, sizeof(a->text), "wake-up: beside its poller on CPU %d at normal "
			 "priority, as asked (the poller can starve it)", worker_cpu);
	else
		a->kind = MQCAP__ARR_READER_FIRST;
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
