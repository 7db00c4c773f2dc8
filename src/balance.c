/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * balance.c - split mode of the runtime (run.h MQCAP_RUN_F_SPLIT): a poller thread per queue
 * copies bursts into an SPSC ring, consumer threads drain the rings and call the callback.
 *
 * It is the user-space half of the paper's Setup C, and where the scheduling between pollers
 * and consumers lives. The thread life cycle (pin, open, go, snapshot, exit) is run.c's.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "run_int.h"

int mqcap__balance_plan(mqcap_run_t *r, struct mqcap_plan_queue *pq, uint32_t pflags)
{
	unsigned nusable = mqcap_topo_usable_count(r->topo);
	unsigned ncons = r->o.workers ? r->o.workers : r->nq;
	MQCAP_PLAN_OPTS(po, .flags = pflags, .cpus = r->o.poller_cpus, .ncpus = r->o.npoller_cpus);
	int *busy;

	if (!(pflags & (MQCAP_PLAN_OVERSUBSCRIBE | MQCAP_PLAN_NO_PIN)) && !r->o.cpus &&
	    !r->o.poller_cpus && r->nq + ncons > nusable) {
		return mqcap__err_set(&r->err, E2BIG,
				      "split mode needs %u poller + %u consumer threads but this process "
				      "may use %u CPU(s) (allow sharing with --oversubscribe)",
				      r->nq, ncons, nusable);
	}
	r->pplan = mqcap_plan_make(r->topo, pq, r->nq, &po);
	if (!r->pplan)
		return mqcap__err_set(&r->err, errno, "pollers: %s", mqcap_topo_errmsg(r->topo));
	/* Consumers plan around the pollers: each consumer is near the user poller of its
	 * queue, and the pollers' CPUs count as taken. */
	busy = calloc(r->nq, sizeof(*busy));
	if (!busy)
		return mqcap__err_set(&r->err, ENOMEM, "out of memory");
	for (unsigned i = 0; i < r->nq; i++) {
		busy[i] = r->pplan->queues[i].cpu;
		pq[i].poller_cpu = r->pplan->queues[i].cpu;
	}
	{
		MQCAP_PLAN_OPTS(co, .workers = ncons, .flags = pflags, .cpus = r->o.cpus,
				.ncpus = r->o.ncpus, .busy_cpus = busy, .nbusy = r->nq);

		r->plan = mqcap_plan_make(r->topo, pq, r->nq, &co);
	}
	free(busy);
	return 0;
}

int mqcap__balance_rings(mqcap_run_t *r)
{
	int rc = 0;

	for (unsigned i = 0; i < r->np && !rc; i++) {
		struct rqueue *q = &r->q[r->p[i].qs[0]];
		MQCAP_RING_SPSC_OPTS(ro, .flags = MQCAP_RING_F_WAKE, .wake_items = 1);

		q->ring = mqcap_ring_spsc_create(r->o.ring_slots, sizeof(struct mqcap_pkt), &ro);
		q->slab = malloc((size_t)r->o.ring_slots * r->o.slot_bytes);
		if (!q->ring || !q->slab)
			rc = mqcap__err_set(&r->err, q->ring ? ENOMEM : errno,
					    "cannot create the poller->consumer ring: %s",
					    q->ring ? "out of memory" : mqcap_last_error());
	}
	return rc;
}

uint64_t mqcap__balance_handoff_drops(const struct rthread *t)
{
	uint64_t d = 0;

	for (unsigned i = 0; i < t->nq; i++)
		d += atomic_load_explicit(&t->r->q[t->qs[i]].handoff_drops, memory_order_relaxed);
	return d;
}

/* Copy up to n packets into the queue's ring: the one copy of split mode, because the views
 * die at our next receive. Returns how many fitted. */
static uint32_t copy_in(struct rthread *t, struct rqueue *q, const struct mqcap_pkt *pkts, uint32_t n)
{
	mqcap_run_t *r = t->r;
	uint32_t idx, room = mqcap_ring_spsc_reserve(q->ring, n, &idx);

	for (uint32_t i = 0; i < room; i++) {
		struct mqcap_pkt *dst = mqcap_ring_spsc_slot(q->ring, idx + i);
		uint8_t *buf = q->slab + (size_t)((idx + i) & (r->o.ring_slots - 1)) * r->o.slot_bytes;

		*dst = pkts[i];
		if (dst->caplen > r->o.slot_bytes) {
			dst->caplen = r->o.slot_bytes;
			dst->flags |= MQCAP_PKT_TRUNCATED;
		}
		memcpy(buf, pkts[i].data, dst->caplen);
		dst->data = buf;
		t->bytes += pkts[i].len;
	}
	mqcap_ring_spsc_commit(q->ring, room);
	t->packets += room;
	return room;
}

void *mqcap__balance_poller_main(void *arg)
{
	struct rthread *t = arg;
	mqcap_run_t *r = t->r;
	struct rqueue *q = &r->q[t->qs[0]];
	struct mqcap_pkt pkts[MAX_BURST];
	uint64_t next_snap;
	mqcap_t *h;

	if (mqcap__run_thread_setup(t))
		goto out;
	h = atomic_load_explicit(&t->h, memory_order_relaxed);
	next_snap = mqcap__run_now_ns() + SNAP_NS;
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		int n = mqcap_recv_burst(h, pkts, r->o.burst, r->o.poll_ms);

		if (n > 0) {
			uint32_t done = copy_in(t, q, pkts, (uint32_t)n);

			/* A file waits for the consumer (it should be read whole); a live queue
			 * cannot wait, or the kernel's ring overflows instead: it drops here and
			 * says so. */
			while (done < (uint32_t)n && r->offline &&
			       !atomic_load_explicit(&r->stop, memory_order_relaxed)) {
				struct timespec ts = { 0, 20000 };

				mqcap_ring_spsc_flush(q->ring);
				nanosleep(&ts, NULL);
				done += copy_in(t, q, pkts + done, (uint32_t)n - done);
			}
			t->bursts++;
			if (done < (uint32_t)n)
				atomic_fetch_add_explicit(&q->handoff_drops, (uint32_t)n - done,
							  memory_order_relaxed);
		} else if (n == 0) {
			mqcap_ring_spsc_flush(q->ring);
		} else if (mqcap__run_recv_failed(t, h, n)) {
			break;
		}
		if (mqcap__run_now_ns() >= next_snap) {
			mqcap__run_snapshot(t, 0);
			next_snap += SNAP_NS;
		}
	}
	mqcap_release(h);
out:
	/* Pairs with the acquire in mqcap__balance_consumer_main(): everything committed before is visible. */
	atomic_store_explicit(&q->poller_done, 1, memory_order_release);
	mqcap_ring_spsc_flush(q->ring);
	mqcap__run_thread_exit(t);
	return NULL;
}

/* Sleep until one of the consumer's rings has items, or timeout. pfd has room for every
 * ring of the consumer: a ring left unarmed could fill while we sleep. */
static void consumer_sleep(struct rthread *t, struct pollfd *pfd, int timeout_ms)
{
	unsigned armed = 0;

	/* A ring that has items refuses to arm: then there is no sleeping at all. */
	for (unsigned i = 0; i < t->nq; i++) {
		struct mqcap_ring_spsc *ring = t->r->q[t->qs[i]].ring;

		if (mqcap_ring_spsc_prepare_wait(ring) != 0)
			break;
		pfd[armed].fd = mqcap_ring_spsc_fd(ring);
		pfd[armed].events = POLLIN;
		armed++;
	}
	if (armed == t->nq)
		poll(pfd, armed, timeout_ms);
	for (unsigned i = 0; i < armed; i++)
		mqcap_ring_spsc_finish_wait(t->r->q[t->qs[i]].ring);
}

void *mqcap__balance_consumer_main(void *arg)
{
	struct rthread *t = arg;
	mqcap_run_t *r = t->r;
	struct pollfd *pfd = calloc(t->nq ? t->nq : 1, sizeof(*pfd));
	uint64_t next_snap;

	if (mqcap__run_thread_setup(t))
		goto out;
	next_snap = mqcap__run_now_ns() + SNAP_NS;
	for (;;) {
		bool any = false, all_done = true;

		/* No exit on stop: the pollers stop, and we drain what they queued, so that
		 * every packet received is either delivered or counted as a hand-off drop. */
		for (unsigned i = 0; i < t->nq; i++) {
			struct rqueue *q = &r->q[t->qs[i]];
			/* Acquire, pairs with the release in mqcap__balance_poller_main(): read done before the ring. */
			int done = atomic_load_explicit(&q->poller_done, memory_order_acquire);
			uint32_t idx, n = mqcap_ring_spsc_peek(q->ring, r->o.burst, &idx);
			uint32_t to_wrap = r->o.ring_slots - (idx & (r->o.ring_slots - 1));

			if (!n) {
				all_done &= done != 0;
				continue;
			}
			all_done = false;
			any = true;
			/* The callback wants an array: stop at the ring's end, the rest comes next. */
			if (n > to_wrap)
				n = to_wrap;
			{
				const struct mqcap_pkt *pk = mqcap_ring_spsc_slot(q->ring, idx);

				t->packets += n;
				t->bursts++;
				for (uint32_t k = 0; k < n; k++)
					t->bytes += pk[k].len;
				if (r->fn(r->user, t->idx, pk, n))
					mqcap__run_stop(r);
			}
			mqcap_ring_spsc_release(q->ring, n);
		}
		if (all_done)
			break;
		if (!any && pfd)
			consumer_sleep(t, pfd, r->o.poll_ms);
		else if (!any) /* no memory to sleep on the rings: poll them */
			poll(NULL, 0, 1);
		if (mqcap__run_now_ns() >= next_snap) {
			mqcap__run_snapshot(t, mqcap__balance_handoff_drops(t));
			next_snap += SNAP_NS;
		}
	}
out:
	free(pfd);
	mqcap__run_thread_exit(t);
	return NULL;
}
