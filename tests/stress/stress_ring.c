/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stress_ring: one producer thread and one consumer thread push sequence-numbered items
 * through the SPSC ring; the consumer checks order, content, no loss and no duplicate.
 * Phases: single items, random bursts of every API form (copying and zero-copy, bulk and
 * burst) with 64-byte items, the same across the 2^32 index wrap, and the sleep/wake path
 * with a consumer that really sleeps. Runs under ThreadSanitizer in build/tsan.
 *
 * Usage: stress_ring [ITEMS]   (default 2000000 for the first phase; the others scale)
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mqcap/mqcap.h"
#include "mqcap/ring.h"
#include "ring_int.h"

/* A 64-byte item: the sequence number, and words derived from it to catch torn copies. */
struct item {
	uint64_t seq;
	uint64_t check[7];
};

enum mode { SINGLE, MIXED, WAKE };

struct phase {
	const char *name;
	enum mode mode;
	uint32_t esize;
	uint64_t items;
	int fence; /* test the fallback for kernels without membarrier */
	struct mqcap_ring_spsc *r;
	/* results, written by the consumer */
	uint64_t received;
	uint64_t sleeps;
	uint64_t lost_wakeups;
	char error[160];
};

static int failed;

/* xorshift: each thread its own cheap random burst sizes. */
static uint32_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)*s;
}

static void fill(struct item *it, uint64_t seq, uint32_t esize)
{
	uint32_t k;

	it->seq = seq;
	if (esize > 8)
		for (k = 0; k < 7; k++)
			it->check[k] = seq * 0x9E3779B97F4A7C15ull + k;
}

static int check(const struct item *it, uint64_t seq, uint32_t esize, struct phase *ph)
{
	uint32_t k;

	if (it->seq != seq) {
		snprintf(ph->error, sizeof(ph->error), "item %" PRIu64 " arrived as %" PRIu64
			 " (%s)", seq, it->seq, it->seq < seq ? "duplicate" : "loss or reorder");
		return -1;
	}
	if (esize > 8)
		for (k = 0; k < 7; k++)
			if (it->check[k] != seq * 0x9E3779B97F4A7C15ull + k) {
				snprintf(ph->error, sizeof(ph->error),
					 "item %" PRIu64 " torn in word %u", seq, k + 1);
				return -1;
			}
	return 0;
}

static void *producer(void *arg)
{
	struct phase *ph = arg;
	struct item buf[64];
	uint64_t seq = 0, s = 0x2545F4914F6CDD1Dull;
	uint32_t n, k, got, idx;

	while (seq < ph->items) {
		if (ph->mode == SINGLE) {
			fill(&buf[0], seq, ph->esize);
			got = mqcap_ring_spsc_enqueue_burst_elem(ph->r, buf, 8, 1);
		} else {
			n = rnd(&s) % 64 + 1;
			if (n > ph->items - seq)
				n = (uint32_t)(ph->items - seq);
			switch (rnd(&s) % 3) {
			case 0:
				for (k = 0; k < n; k++)
					fill(&buf[k], seq + k, ph->esize);
				got = mqcap_ring_spsc_enqueue_burst_elem(ph->r, buf, 64, n);
				break;
			case 1:
				for (k = 0; k < n; k++)
					fill(&buf[k], seq + k, ph->esize);
				got = mqcap_ring_spsc_enqueue_bulk_elem(ph->r, buf, 64, n);
				break;
			default:
				got = mqcap_ring_spsc_reserve(ph->r, n, &idx);
				for (k = 0; k < got; k++)
					fill(mqcap_ring_spsc_slot(ph->r, idx + k), seq + k,
					     ph->esize);
				mqcap_ring_spsc_commit(ph->r, got);
				break;
			}
		}
		seq += got;
		if (ph->mode == WAKE && (rnd(&s) % 64) == 0) {
			/* Go idle now and then so the consumer falls asleep; flush first so
			 * items below the watermark do not wait for the next burst. */
			mqcap_ring_spsc_flush(ph->r);
			usleep(rnd(&s) % 300);
		}
		if (!got)
			sched_yield(); /* full: two cores are shared with everything else */
	}
	mqcap_ring_spsc_flush(ph->r);
	return NULL;
}

static void *consumer(void *arg)
{
	struct phase *ph = arg;
	struct item buf[64];
	uint64_t seq = 0, s = 0x9E3779B97F4A7C15ull;
	uint32_t n, k, got, idx;
	struct timespec t0, t1;
	int w;

	while (seq < ph->items) {
		if (ph->mode == SINGLE) {
			got = mqcap_ring_spsc_dequeue_burst_elem(ph->r, buf, 8, 1);
			if (got && check(&buf[0], seq, 8, ph))
				return NULL;
		} else {
			n = rnd(&s) % 64 + 1;
			switch (rnd(&s) % 3) {
			case 0:
				got = mqcap_ring_spsc_dequeue_burst_elem(ph->r, buf, 64, n);
				for (k = 0; k < got; k++)
					if (check(&buf[k], seq + k, ph->esize, ph))
						return NULL;
				break;
			case 1:
				got = mqcap_ring_spsc_dequeue_bulk_elem(ph->r, buf, 64, n);
				for (k = 0; k < got; k++)
					if (check(&buf[k], seq + k, ph->esize, ph))
						return NULL;
				break;
			default:
				got = mqcap_ring_spsc_peek(ph->r, n, &idx);
				for (k = 0; k < got; k++)
					if (check(mqcap_ring_spsc_slot(ph->r, idx + k), seq + k,
						  ph->esize, ph))
						return NULL;
				/* Sometimes keep the last one for the next peek. */
				if (got > 1 && rnd(&s) % 4 == 0)
					got--;
				mqcap_ring_spsc_release(ph->r, got);
				break;
			}
		}
		seq += got;
		if (got)
			continue;
		if (ph->mode == WAKE) {
			/* Empty: sleep. A full 2 s timeout with items waiting would be a
			 * lost wake-up (the producer flushes before every pause). */
			clock_gettime(CLOCK_MONOTONIC, &t0);
			w = mqcap_ring_spsc_wait(ph->r, 2000);
			clock_gettime(CLOCK_MONOTONIC, &t1);
			ph->sleeps++;
			if (w < 0) {
				snprintf(ph->error, sizeof(ph->error), "wait: %s", strerror(-w));
				return NULL;
			}
			if (w == 0 && t1.tv_sec - t0.tv_sec >= 2 &&
			    mqcap_ring_spsc_count(ph->r) > 0)
				ph->lost_wakeups++;
		} else {
			sched_yield();
		}
	}
	ph->received = seq;
	/* Nothing beyond the last item: no duplicate at the tail. */
	if (mqcap_ring_spsc_count(ph->r) != 0)
		snprintf(ph->error, sizeof(ph->error), "%u items left after the last one",
			 mqcap_ring_spsc_count(ph->r));
	return NULL;
}

static void run(struct phase *ph, uint32_t count, int wrap,
		const struct mqcap_ring_spsc_opts *opts)
{
	pthread_t p, c;
	struct timespec t0, t1;
	double secs;

	ph->r = mqcap_ring_spsc_create(count, ph->esize, opts);
	if (!ph->r) {
		printf("FAIL %s: create: %s\n", ph->name, mqcap_last_error());
		failed = 1;
		return;
	}
	if (ph->fence)
		ph->r->flags |= MQCAP__RING_F_FENCE;
	if (wrap)
		mqcap__ring_spsc_set_index(ph->r, UINT32_MAX - (uint32_t)(ph->items / 2));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (pthread_create(&c, NULL, consumer, ph) || pthread_create(&p, NULL, producer, ph)) {
		printf("FAIL %s: pthread_create\n", ph->name);
		exit(1);
	}
	pthread_join(p, NULL);
	pthread_join(c, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (!ph->error[0] && ph->received != ph->items)
		snprintf(ph->error, sizeof(ph->error), "received %" PRIu64 " of %" PRIu64,
			 ph->received, ph->items);
	if (!ph->error[0] && ph->lost_wakeups)
		snprintf(ph->error, sizeof(ph->error), "%" PRIu64 " lost wake-ups",
			 ph->lost_wakeups);
	if (ph->error[0]) {
		printf("FAIL %s: %s\n", ph->name, ph->error);
		failed = 1;
	} else {
		printf("ok   %-34s %9" PRIu64 " items in order, %.2f s", ph->name, ph->items,
		       secs);
		if (ph->mode == WAKE)
			printf(", %" PRIu64 " sleeps", ph->sleeps);
		printf("\n");
	}
	mqcap_ring_spsc_destroy(ph->r);
}

int main(int argc, char **argv)
{
	uint64_t items = argc > 1 ? strtoull(argv[1], NULL, 0) : 2000000;
	MQCAP_RING_SPSC_OPTS(wake1, .flags = MQCAP_RING_F_WAKE);
	MQCAP_RING_SPSC_OPTS(wake8, .flags = MQCAP_RING_F_WAKE, .wake_items = 8,
			     .wake_usecs = 200);
	struct phase single = { .name = "single items, 8 bytes", .mode = SINGLE, .esize = 8,
				.items = items };
	struct phase mixed = { .name = "random bursts, all forms, 64 bytes", .mode = MIXED,
			       .esize = 64, .items = items / 2 };
	struct phase wrap = { .name = "same, across the 2^32 wrap", .mode = MIXED, .esize = 64,
			      .items = items / 4 };
	struct phase wake = { .name = "sleep/wake, wake at 1 item", .mode = WAKE, .esize = 64,
			      .items = items / 10 };
	struct phase wakef = { .name = "sleep/wake, no-membarrier fallback", .mode = WAKE,
			       .esize = 64, .items = items / 10, .fence = 1 };
	struct phase wakew = { .name = "sleep/wake, 8 items or 200 us", .mode = WAKE,
			       .esize = 64, .items = items / 10 };

	if (!items) {
		fprintf(stderr, "usage: stress_ring [ITEMS]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	run(&single, 1024, 0, NULL);
	run(&mixed, 256, 0, NULL);
	run(&wrap, 128, 1, NULL);
	run(&wake, 256, 0, &wake1);
	run(&wakew, 256, 0, &wake8);
	run(&wakef, 256, 0, &wake1);
	return failed;
}
