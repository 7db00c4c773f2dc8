/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dispatch: how many packets per second one poller core classifies and hands to workers, from
 * memory (no NIC), 64-byte frames of the paper's workload (TCP, one source, 4096 destinations).
 *
 * The poller thread (pinned to -p CPU) loops over the prebuilt frames in bursts and calls
 * mqcap_balance_dispatch(); a drain thread (pinned to -c CPU) plays every worker and releases
 * what arrives. The rate is packets queued per second spent inside the hand-off calls, which
 * are made only when every ring has room for the burst (mqcap_balance_room()): otherwise the
 * drain thread, which shares this VM with everything else, would set the pace, and a full
 * ring turns dispatching into dropping. "in calls" says what share of the wall time that was.
 *
 * The same work through the static split mode: run.h's split mode hands each queue's bursts to
 * its consumer by copying descriptor and bytes into one SPSC ring (balance.c, the split-mode
 * section); the "split" row re-enacts exactly those steps (reserve, copy, commit) here, since
 * that code is internal to the runtime's threads. It does no classification: the difference is
 * the scheduler's price.
 *
 * Usage: dispatch [-s SECONDS] [-p POLLER_CPU] [-c DRAIN_CPU] [-b BURST] [-o CASE (0-based: one case)]
 * Prints one line per case and `dispatch: balance=X Mpps/core split=Y Mpps/core ratio=Z`
 * (X: adaptive, 4 workers).
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mqcap/balance.h"
#include "mqcap/ring.h"

#define NFRAMES 4096
#define FRAME   64
#define RING_SLOTS 4096u

static uint8_t frames[NFRAMES][FRAME];
static struct mqcap_pkt pkts[NFRAMES];
static double secs = 2.0;
static int pcpu = 0, ccpu = 1;
static unsigned burst = 64;

struct run {
	const char *name;
	int mode;          /* -1: split baseline */
	unsigned workers;
	const unsigned *groups;
	unsigned ngroups;
	uint32_t flags;
	/* results */
	uint64_t queued, dropped, copies_offered, drain_bytes;
	double cpu_s, wall_s;
	/* shared */
	mqcap_balance_t *b;
	struct mqcap_ring_spsc *ring;
	uint8_t *slab;
	_Atomic int stop;
};

static double ts_s(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void build_frames(void)
{
	for (unsigned i = 0; i < NFRAMES; i++) {
		uint8_t *f = frames[i];

		memset(f, 0, FRAME);
		memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00", 14);
		f[14] = 0x45;
		f[17] = 50;                                       /* IP total length */
		f[22] = 64;
		f[23] = 6;
		memcpy(f + 26, "\xc6\x12\x00\x01", 4);           /* 198.18.0.1 */
		f[30] = 198;
		f[31] = 19;
		f[32] = (uint8_t)(i >> 8);
		f[33] = (uint8_t)i;                               /* 198.19.x.y: 4096 destinations */
		f[34] = 0x30;
		f[35] = 0x39;
		f[36] = 0;
		f[37] = 80;
		f[46] = 0x50;
		f[47] = 0x02;
		pkts[i].data = f;
		pkts[i].caplen = pkts[i].len = FRAME;
	}
}

static int nop(void *user, unsigned w, const struct mqcap_pkt *p, unsigned n)
{
	struct run *r = user;

	(void)w;
	for (unsigned k = 0; k < n; k++)
		r->drain_bytes += p[k].len;
	return 0;
}

static void *drain(void *arg)
{
	struct run *r = arg;

	pin(ccpu);
	while (!atomic_load_explicit(&r->stop, memory_order_acquire)) {
		if (r->b) {
			for (unsigned w = 0; w < r->workers; w++)
				mqcap_balance_consume(r->b, w, 256, nop, r, NULL);
		} else {
			/* As split mode's consumer does: read each descriptor (it counts bytes and
			 * hands the array to the callback), stopping at the ring's end. */
			uint32_t idx, n = mqcap_ring_spsc_peek(r->ring, 256, &idx);
			uint32_t to_wrap = RING_SLOTS - (idx & (RING_SLOTS - 1));
			const struct mqcap_pkt *pk = mqcap_ring_spsc_slot(r->ring, idx);

			if (n > to_wrap)
				n = to_wrap;
			for (uint32_t k = 0; k < n; k++)
				r->drain_bytes += pk[k].len;
			if (n)
				mqcap_ring_spsc_release(r->ring, n);
		}
	}
	return NULL;
}

/* The split mode's hand-off of one burst (balance.c, split-mode section: copy_in). */
static uint32_t split_copy(struct run *r, const struct mqcap_pkt *p, uint32_t n)
{
	uint32_t idx, room = mqcap_ring_spsc_reserve(r->ring, n, &idx);
	const uint32_t mask = mqcap_ring_spsc_size(r->ring) - 1, sb = 2048;

	for (uint32_t i = 0; i < room; i++) {
		struct mqcap_pkt *d = mqcap_ring_spsc_slot(r->ring, idx + i);
		uint8_t *buf = r->slab + (size_t)((idx + i) & mask) * sb;

		*d = p[i];
		if (d->caplen > sb) {
			d->caplen = sb;
			d->flags |= MQCAP_PKT_TRUNCATED;
		}
		memcpy(buf, p[i].data, d->caplen);
		d->data = buf;
	}
	mqcap_ring_spsc_commit(r->ring, room);
	return room;
}

static int run_case(struct run *r)
{
	pthread_t th;
	double c0, w0, end;
	uint64_t spins = 0;
	uint64_t offered = 0, ok = 0;
	unsigned off = 0;

	if (r->mode >= 0) {
		/* The default rings (1024 slots per worker): with 4 workers as many packet
		 * buffers as split mode's one ring of 4096, so the same memory to keep warm. */
		MQCAP_BALANCE_OPTS(o, .mode = r->mode, .groups = r->groups, .ngroups = r->ngroups,
				   .flags = r->flags);

		r->b = mqcap_balance_create(1, r->workers, &o);
		if (!r->b) {
			fprintf(stderr, "dispatch: %s\n", mqcap_last_error());
			return -1;
		}
	} else {
		r->ring = mqcap_ring_spsc_create(4096, sizeof(struct mqcap_pkt), NULL);
		r->slab = malloc((size_t)4096 * 2048);
		if (!r->ring || !r->slab)
			return -1;
	}
	pthread_create(&th, NULL, drain, r);
	pin(pcpu);
	w0 = ts_s(CLOCK_MONOTONIC);
	end = w0 + secs;
	/* Bursts are handed off only while every ring has room for them: otherwise the drain
	 * thread, which shares this VM with everything else, would set the pace, and a full ring
	 * turns dispatching into dropping. The poller's own CPU time is read around each run of
	 * bursts that fits (at least 4 bursts, so the two clock reads cost ~1 ns a packet);
	 * the waits in between, and other processes on its CPU, do not count. */
	r->cpu_s = 0;
	while (ts_s(CLOCK_MONOTONIC) < end) {
		unsigned room = r->b ? mqcap_balance_room(r->b, 0) : mqcap_ring_spsc_free_count(r->ring);
		unsigned nb = room > 64 ? (room - 64) / burst : 0;

		if (nb < 4) {
			struct timespec ts = { 0, 50000 };

			nanosleep(&ts, NULL);
			spins++;
			continue;
		}
		c0 = ts_s(CLOCK_THREAD_CPUTIME_ID);
		for (unsigned k = 0; k < nb; k++) {
			if (r->b)
				ok += mqcap_balance_dispatch(r->b, 0, pkts + off, burst);
			else
				ok += split_copy(r, pkts + off, burst);
			offered += burst;
			off = (off + burst) % NFRAMES;
		}
		r->cpu_s += ts_s(CLOCK_THREAD_CPUTIME_ID) - c0;
		if (r->b)
			mqcap_balance_tick(r->b, (uint64_t)(ts_s(CLOCK_MONOTONIC) * 1e9));
	}
	r->wall_s = ts_s(CLOCK_MONOTONIC) - w0;
	atomic_store_explicit(&r->stop, 1, memory_order_release);
	pthread_join(th, NULL);
	{
		unsigned copies = r->b ? mqcap_balance_groups(r->b) : 1;

		r->copies_offered = offered * copies;
		r->dropped = offered * copies - ok;
		(void)spins;
		/* Per packet the poller took, not per copy: fan-out and groups make several. */
		r->queued = ok / copies;
	}
	mqcap_balance_destroy(r->b);
	mqcap_ring_spsc_destroy(r->ring);
	free(r->slab);
	return 0;
}

int main(int argc, char **argv)
{
	static const unsigned g21[] = { 2, 1 };
	struct run cases[] = {
		{ .name = "split (run.h split mode's hand-off)", .mode = -1, .workers = 1 },
		{ .name = "balance static, 4 workers", .mode = MQCAP_BALANCE_STATIC, .workers = 4 },
		{ .name = "balance adaptive, 2 workers", .mode = MQCAP_BALANCE_ADAPTIVE, .workers = 2 },
		{ .name = "balance adaptive, 4 workers", .mode = MQCAP_BALANCE_ADAPTIVE, .workers = 4 },
		{ .name = "balance adaptive, 4 workers, inner hash", .mode = MQCAP_BALANCE_ADAPTIVE,
		  .workers = 4, .flags = MQCAP_BALANCE_F_INNER },
		{ .name = "balance rr, 4 workers", .mode = MQCAP_BALANCE_RR, .workers = 4 },
		{ .name = "balance groups 2,1 (2 copies)", .mode = MQCAP_BALANCE_ADAPTIVE, .workers = 3,
		  .groups = g21, .ngroups = 2 },
	};
	double split = 0, adaptive4 = 0;
	int opt, only = -1;

	while ((opt = getopt(argc, argv, "s:p:c:b:o:")) != -1) {
		switch (opt) {
		case 's': secs = atof(optarg); break;
		case 'p': pcpu = atoi(optarg); break;
		case 'c': ccpu = atoi(optarg); break;
		case 'b': burst = (unsigned)atoi(optarg); break;
		case 'o': only = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: dispatch [-s SECONDS] [-p POLLER_CPU] [-c DRAIN_CPU] [-b BURST] [-o CASE]\n");
			return 2;
		}
	}
	if (!burst || burst > NFRAMES || NFRAMES % burst) {
		fprintf(stderr, "dispatch: burst must divide %u\n", NFRAMES);
		return 2;
	}
	build_frames();
	printf("dispatch: 64-byte TCP frames, 4096 flows, bursts of %u, poller on cpu %d, drain on cpu %d, %.1f s per case\n",
	       burst, pcpu, ccpu, secs);
	printf("%-42s %12s %10s %10s\n", "case", "Mpps/core", "in calls", "ring full");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run *r = &cases[i];
		double mpps;

		if (only >= 0 && (size_t)only != i)
			continue;
		if (run_case(r))
			return 1;
		mpps = (double)r->queued / r->cpu_s / 1e6;
		printf("%-42s %12.2f %9.0f%% %9.2f%%\n", r->name, mpps, 100 * r->cpu_s / r->wall_s,
		       100.0 * (double)r->dropped / (double)r->copies_offered);
		if (r->mode < 0)
			split = mpps;
		if (r->mode == MQCAP_BALANCE_ADAPTIVE && r->workers == 4 && !r->flags)
			adaptive4 = mpps;
	}
	printf("dispatch: balance=%.2f Mpps/core split=%.2f Mpps/core ratio=%.2f\n", adaptive4, split,
	       split > 0 ? adaptive4 / split : 0);
	return 0;
}
