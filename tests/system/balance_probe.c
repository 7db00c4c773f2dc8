/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * balance_probe - the runtime's balance mode seen from the callback: which worker got which
 * flow, in which order, how many copies. For the system tests (test_balance_*.sh).
 *
 * Usage: balance_probe NAME MODE WORKERS [-g GROUPS] [-i] [-m MOVE_US] [-d MS] [-w WORK_NS] [-k]
 *   NAME     a capture name (pcap:FILE, xdp:dev@0-1, ...)
 *   MODE     static | adaptive | rr | fanout
 *   -g 2,1   worker groups;  -i  hash tunnels' inner headers
 *   -m US    every US microseconds move the bucket of a flow seen so far to another worker
 *            of its group (forced migrations)
 *   -d MS    stop after MS milliseconds (a file stops at its end)
 *   -w NS    busy-wait NS per packet in the callback (a worker with real work)
 *   -k       skewed start: every bucket of the first group on worker 0 (the adaptive mode
 *            must spread them)
 *
 * A packet's flow and sequence: an 8-byte trailer "BP" flow(2) seq(4) at the frame's end (the
 * tests' pcaps, tunnels included), else mqsend's full payload (sender, flow, sequence).
 * Output, one JSON line: packets per worker, flows, for each group the flows seen by more than
 * one of its workers ("split"), sequence numbers that went backwards within a flow in a group
 * ("reordered"), migrations, and the accounting (received * groups = delivered + dropped).
 */
#include <errno.h>
#include <getopt.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mqcap/balance.h"
#include "mqcap/frame.h"
#include "mqcap/payload.h"
#include "mqcap/run.h"

#define MAXF 65536
#define MAXG 8

struct flow {
	_Atomic uint64_t workers;            /* bit per worker (up to 64) */
	_Atomic int64_t last[MAXG];          /* last sequence per group, -1 none */
	_Atomic uint32_t bucket;
	_Atomic int seen;
};

static struct flow flows[MAXF];
static _Atomic uint64_t reordered[MAXG], per_worker[64], foreign;
static _Atomic uint32_t seen_list[MAXF]; /* flows in the order first seen, for the mover */
static _Atomic unsigned nseen;
static mqcap_run_t *run;
static uint32_t hflags;
static uint64_t work_ns;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool flow_of(const struct mqcap_pkt *p, uint32_t *flow, int64_t *seq)
{
	const uint8_t *d = p->data;
	struct mqcap_frame f;
	struct mqcap_payload pl;

	if (p->caplen >= 22 && d[p->caplen - 8] == 'B' && d[p->caplen - 7] == 'P') {
		const uint8_t *t = d + p->caplen - 6;

		*flow = (uint32_t)t[0] << 8 | t[1];
		*seq = (int64_t)((uint32_t)t[2] << 24 | (uint32_t)t[3] << 16 | (uint32_t)t[4] << 8 | t[5]);
		return true;
	}
	if (mqcap_frame_parse(d, d + p->caplen, &f) == MQCAP_FRAME_L4 &&
	    mqcap_payload_validate(d + f.payload_off, f.payload_len, &pl) == MQCAP_PAYLOAD_FULL) {
		*flow = (pl.sender_id * 4096u + pl.flow_id) % MAXF;
		*seq = (int64_t)pl.seq;
		return true;
	}
	return false;
}

static int on_burst(void *user, unsigned w, const struct mqcap_pkt *pkts, unsigned n)
{
	mqcap_balance_t *b = mqcap_run_balance(run);
	int g = mqcap_balance_worker_group(b, w);

	(void)user;
	if (work_ns) {
		uint64_t t0 = mono_ns();

		while (mono_ns() - t0 < work_ns * n)
			;
	}
	atomic_fetch_add_explicit(&per_worker[w % 64], n, memory_order_relaxed);
	for (unsigned i = 0; i < n; i++) {
		uint32_t fl;
		int64_t seq, prev;

		if (!flow_of(&pkts[i], &fl, &seq)) {
			atomic_fetch_add_explicit(&foreign, 1, memory_order_relaxed);
			continue;
		}
		atomic_fetch_or_explicit(&flows[fl].workers, 1ull << (w % 64), memory_order_relaxed);
		atomic_store_explicit(&flows[fl].bucket,
				      mqcap_balance_bucket(b, mqcap_flow_hash(pkts[i].data, pkts[i].caplen, hflags)),
				      memory_order_relaxed);
		if (!atomic_exchange_explicit(&flows[fl].seen, 1, memory_order_relaxed))
			atomic_store_explicit(&seen_list[atomic_fetch_add(&nseen, 1)], fl, memory_order_release);
		prev = atomic_exchange_explicit(&flows[fl].last[g % MAXG], seq, memory_order_relaxed);
		if (seq < prev)
			atomic_fetch_add_explicit(&reordered[g % MAXG], 1, memory_order_relaxed);
	}
	return 0;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ull + (uint64_t)ts.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
	unsigned groups[MAXG], ngroups = 0, nw;
	uint64_t move_us = 0, dur_ms = 0, moves = 0, rnd = 88172645463325252ull;
	MQCAP_BALANCE_OPTS(bo);
	MQCAP_RUN_OPTS(ro, .balance = &bo, .flags = MQCAP_RUN_F_OVERSUBSCRIBE | MQCAP_RUN_F_NO_PIN);
	struct mqcap_balance_stats st;
	uint64_t received = 0, delivered = 0, drops = 0, base_moves = 0;
	int opt, rc;

	bool skew = false;

	while ((opt = getopt(argc, argv, "g:im:d:w:k")) != -1) {
		switch (opt) {
		case 'g':
			for (char *s = optarg; *s && ngroups < MAXG;) {
				groups[ngroups++] = (unsigned)strtoul(s, &s, 10);
				if (*s == ',')
					s++;
			}
			break;
		case 'i': hflags = MQCAP_FLOW_F_INNER; break;
		case 'm': move_us = strtoull(optarg, NULL, 0); break;
		case 'd': dur_ms = strtoull(optarg, NULL, 0); break;
		case 'w': work_ns = strtoull(optarg, NULL, 0); break;
		case 'k': skew = true; break;
		default: return 2;
		}
	}
	if (argc - optind != 3) {
		fprintf(stderr, "usage: balance_probe NAME MODE WORKERS [-g GROUPS] [-i] [-m MOVE_US] [-d MS]\n");
		return 2;
	}
	for (unsigned i = 0; i < MAXF; i++)
		for (unsigned g = 0; g < MAXG; g++)
			flows[i].last[g] = -1;
	bo.mode = mqcap_balance_mode_parse(argv[optind + 1]);
	bo.groups = ngroups ? groups : NULL;
	bo.ngroups = ngroups;
	bo.flags = hflags ? MQCAP_BALANCE_F_INNER : 0;
	ro.workers = (unsigned)atoi(argv[optind + 2]);
	run = mqcap_run_open(argv[optind], &ro, on_burst, NULL);
	if (!run) {
		fprintf(stderr, "balance_probe: %s\n", mqcap_last_error());
		return 1;
	}
	nw = mqcap_run_worker_count(run);
	if (skew) /* a skewed start: every bucket of the first group on worker 0 */
		for (unsigned k = 0; k < MQCAP_BALANCE_BUCKETS_DEFAULT; k++)
			mqcap_balance_move(mqcap_run_balance(run), k, 0);
	mqcap_balance_stats(mqcap_run_balance(run), &st);
	base_moves = st.migrations;
	rc = mqcap_run_start(run);
	if (rc) {
		fprintf(stderr, "balance_probe: %s\n", mqcap_run_errmsg(run));
		return 1;
	}
	{
		uint64_t start = now_us(), next = start + move_us;

		while (mqcap_run_wait(run, 1) == -ETIMEDOUT) {
			uint64_t t = now_us();

			if (dur_ms && t - start >= dur_ms * 1000)
				break;
			if (move_us && t >= next) {
				uint32_t f;

				rnd ^= rnd << 13;
				rnd ^= rnd >> 7;
				rnd ^= rnd << 17;
				/* a random flow among those seen so far */
				f = atomic_load(&nseen) ? atomic_load_explicit(&seen_list[rnd % atomic_load(&nseen)],
									      memory_order_acquire) : 0;
				if (atomic_load(&flows[f].seen)) {
					mqcap_balance_t *b = mqcap_run_balance(run);
					unsigned bucket = atomic_load(&flows[f].bucket);
					int cur = mqcap_balance_bucket_worker(b, 0, bucket);
					int gsize = 0;

					for (unsigned w = 0; w < nw; w++)
						gsize += mqcap_balance_worker_group(b, w) == 0;
					if (cur >= 0 && gsize > 1 &&
					    mqcap_balance_move(b, bucket, (unsigned)(cur + 1) % (unsigned)gsize) == 0)
						moves++;
				}
				next += move_us;
			}
		}
	}
	mqcap_run_stop(run);
	mqcap_run_wait(run, -1);
	{
		mqcap_balance_t *b = mqcap_run_balance(run);
		unsigned ng = mqcap_balance_groups(b), nflows = 0, split[MAXG] = { 0 };

		for (unsigned p = 0; p < mqcap_balance_pollers(b); p++) {
			struct mqcap_balance_poller_stats ps;

			mqcap_balance_poller_stats(b, p, &ps);
			received += ps.received;
			delivered += ps.delivered;
			drops += ps.drops;
		}
		for (unsigned i = 0; i < MAXF; i++) {
			uint64_t m = atomic_load(&flows[i].workers);

			if (!m)
				continue;
			nflows++;
			for (unsigned g = 0; g < ng && g < MAXG; g++) {
				uint64_t gm = 0;

				for (unsigned w = 0; w < nw && w < 64; w++)
					if (mqcap_balance_worker_group(b, w) == (int)g)
						gm |= 1ull << w;
				if (__builtin_popcountll(m & gm) > 1)
					split[g]++;
			}
		}
		mqcap_balance_stats(b, &st);
		printf("{\"received\":%llu,\"delivered\":%llu,\"dropped\":%llu,\"groups\":%u,\"flows\":%u,"
		       "\"foreign\":%llu,\"migrations\":%llu,\"forced\":%llu,\"max_mean\":%.3f,"
		       "\"intervals\":%llu,\"controller_moves\":%llu,\"workers\":[",
		       (unsigned long long)received, (unsigned long long)delivered,
		       (unsigned long long)drops, ng, nflows, (unsigned long long)atomic_load(&foreign),
		       (unsigned long long)st.migrations, (unsigned long long)moves, st.max_mean,
		       (unsigned long long)st.intervals,
		       (unsigned long long)(st.migrations - base_moves - moves));
		for (unsigned w = 0; w < nw; w++)
			printf("%s%llu", w ? "," : "", (unsigned long long)atomic_load(&per_worker[w % 64]));
		printf("],\"split\":[");
		for (unsigned g = 0; g < ng && g < MAXG; g++)
			printf("%s%u", g ? "," : "", split[g]);
		printf("],\"reordered\":[");
		for (unsigned g = 0; g < ng && g < MAXG; g++)
			printf("%s%llu", g ? "," : "", (unsigned long long)atomic_load(&reordered[g]));
		printf("]}\n");
	}
	mqcap_run_close(run);
	return 0;
}
