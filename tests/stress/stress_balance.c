/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stress_balance: the software scheduler with real threads. Two pollers send sequence-numbered
 * packets of 64 flows each (a flow belongs to one poller, as a flow belongs to one RX queue);
 * three workers consume, sleeping when idle; a controller thread moves random buckets between
 * workers all the time. Checks: per flow, sequence numbers only go up (order kept across every
 * migration); every packet delivered or counted as a drop; no packet twice. Runs under
 * ThreadSanitizer in build/tsan.
 *
 * Usage: stress_balance [PACKETS_PER_POLLER]   (default 400000)
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mqcap/balance.h"

enum { POLLERS = 2, WORKERS = 3, FLOWS = 64, BURST = 32 };

static mqcap_balance_t *bal;
static uint64_t per_poller = 400000;
static _Atomic int pollers_left = POLLERS;
static _Atomic int failed;
/* last[p][f]: highest sequence seen of poller p's flow f; a flow is only ever delivered by
 * one worker at a time (that is the property under test), so the counters are atomics only
 * to let TSan see a handed-over flow's history. */
static _Atomic uint32_t last[POLLERS][FLOWS];
static _Atomic uint64_t seen[WORKERS];

static void build(uint8_t *f, unsigned p, unsigned flow, uint32_t seq)
{
	memset(f, 0, 64);
	memset(f, 0x02, 12);
	f[12] = 0x08;
	f[14] = 0x45;
	f[17] = 50; /* IP total length: 64 - 14 */
	f[23] = 17;
	f[26] = 198;
	f[27] = 18;
	f[28] = (uint8_t)p;
	f[29] = (uint8_t)flow;
	f[30] = 198;
	f[31] = 19;
	f[34] = 0x10;
	f[35] = (uint8_t)flow;
	f[37] = 80;
	f[42] = (uint8_t)(seq >> 24);
	f[43] = (uint8_t)(seq >> 16);
	f[44] = (uint8_t)(seq >> 8);
	f[45] = (uint8_t)seq;
}

static void *poller(void *arg)
{
	unsigned p = (unsigned)(uintptr_t)arg;
	static _Thread_local uint8_t frames[BURST][64];
	struct mqcap_pkt pk[BURST];
	uint32_t seq[FLOWS] = { 0 };
	uint64_t x = 88172645463325252ull + p;

	for (uint64_t sent = 0; sent < per_poller;) {
		unsigned n = BURST;

		for (unsigned i = 0; i < n; i++) {
			unsigned f;

			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			f = (unsigned)(x % FLOWS);
			build(frames[i], p, f, ++seq[f]);
			memset(&pk[i], 0, sizeof(pk[i]));
			pk[i].data = frames[i];
			pk[i].caplen = pk[i].len = 64;
		}
		/* Mostly delivered, so order is checked on most packets: a full ring makes the
		 * poller wait a little (a live poller would drop, which is tested elsewhere). */
		if (mqcap_balance_dispatch(bal, p, pk, n) < n) {
			struct timespec ts = { 0, 20000 };

			mqcap_balance_flush(bal, p);
			nanosleep(&ts, NULL);
		}
		sent += n;
		if ((sent / BURST) % 64 == 0)
			mqcap_balance_flush(bal, p);
	}
	mqcap_balance_poller_done(bal, p);
	atomic_fetch_sub(&pollers_left, 1);
	return NULL;
}

static int check(void *user, unsigned w, const struct mqcap_pkt *pkts, unsigned n)
{
	(void)user;
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *f = pkts[i].data;
		unsigned p = f[28], flow = f[29];
		uint32_t s = (uint32_t)f[42] << 24 | (uint32_t)f[43] << 16 | (uint32_t)f[44] << 8 | f[45];
		uint32_t prev;

		if (p >= POLLERS || flow >= FLOWS) {
			fprintf(stderr, "worker %u: a packet from nowhere (poller %u flow %u)\n", w, p, flow);
			atomic_store(&failed, 1);
			continue;
		}
		prev = atomic_load_explicit(&last[p][flow], memory_order_relaxed);
		if (s <= prev) {
			fprintf(stderr, "worker %u: poller %u flow %u: sequence %u after %u (reordered or twice)\n",
				w, p, flow, s, prev);
			atomic_store(&failed, 1);
		}
		atomic_store_explicit(&last[p][flow], s, memory_order_relaxed);
	}
	atomic_fetch_add_explicit(&seen[w], n, memory_order_relaxed);
	return 0;
}

static void *worker(void *arg)
{
	unsigned w = (unsigned)(uintptr_t)arg;

	for (;;) {
		int n = mqcap_balance_consume(bal, w, 64, check, NULL, NULL);

		if (n == -ENODATA)
			break;
		if (n == 0)
			mqcap_balance_wait(bal, w, 10);
	}
	return NULL;
}

static void *mover(void *arg)
{
	uint64_t x = 2463534242ull, moves = 0;

	(void)arg;
	while (atomic_load(&pollers_left) > 0) {
		struct timespec ts = { 0, 50000 };

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* Only 64 buckets, so nearly every move hits a live flow. */
		if (mqcap_balance_move(bal, (unsigned)(x % 64), (unsigned)((x >> 8) % WORKERS)) == 0)
			moves++;
		nanosleep(&ts, NULL);
	}
	*(uint64_t *)arg = moves;
	return NULL;
}

int main(int argc, char **argv)
{
	MQCAP_BALANCE_OPTS(o, .mode = MQCAP_BALANCE_STATIC, .buckets = 64, .ring_slots = 256);
	pthread_t tp[POLLERS], tw[WORKERS], tm;
	uint64_t moves = 0, delivered = 0, drops = 0, received = 0, wdel = 0;
	struct mqcap_balance_stats st;

	if (argc > 1)
		per_poller = strtoull(argv[1], NULL, 0);
	bal = mqcap_balance_create(POLLERS, WORKERS, &o);
	if (!bal) {
		fprintf(stderr, "stress_balance: %s\n", mqcap_last_error());
		return 1;
	}
	for (unsigned w = 0; w < WORKERS; w++)
		pthread_create(&tw[w], NULL, worker, (void *)(uintptr_t)w);
	pthread_create(&tm, NULL, mover, &moves);
	for (unsigned p = 0; p < POLLERS; p++)
		pthread_create(&tp[p], NULL, poller, (void *)(uintptr_t)p);
	for (unsigned p = 0; p < POLLERS; p++)
		pthread_join(tp[p], NULL);
	pthread_join(tm, NULL);
	for (unsigned w = 0; w < WORKERS; w++)
		pthread_join(tw[w], NULL);
	for (unsigned p = 0; p < POLLERS; p++) {
		struct mqcap_balance_poller_stats ps;

		mqcap_balance_poller_stats(bal, p, &ps);
		received += ps.received;
		delivered += ps.delivered;
		drops += ps.drops;
	}
	for (unsigned w = 0; w < WORKERS; w++) {
		struct mqcap_balance_worker_stats ws;

		mqcap_balance_worker_stats(bal, w, &ws);
		wdel += ws.delivered;
		if (ws.delivered != atomic_load(&seen[w])) {
			fprintf(stderr, "worker %u: stats say %" PRIu64 " delivered, the callback saw %" PRIu64 "\n",
				w, ws.delivered, atomic_load(&seen[w]));
			failed = 1;
		}
	}
	mqcap_balance_stats(bal, &st);
	printf("stress_balance: %" PRIu64 " packets, %" PRIu64 " delivered, %" PRIu64 " dropped (ring full), "
	       "%" PRIu64 " migrations\n", received, delivered, drops, st.migrations);
	if (received != POLLERS * per_poller || delivered + drops != received || wdel != delivered) {
		fprintf(stderr, "accounting: received %" PRIu64 " (sent %" PRIu64 "), delivered %" PRIu64
			" + dropped %" PRIu64 ", workers delivered %" PRIu64 "\n",
			received, POLLERS * per_poller, delivered, drops, wdel);
		failed = 1;
	}
	if (st.migrations < 10) {
		fprintf(stderr, "only %" PRIu64 " migrations: the test did not test migration\n", st.migrations);
		failed = 1;
	}
	mqcap_balance_destroy(bal);
	return failed ? 1 : 0;
}
