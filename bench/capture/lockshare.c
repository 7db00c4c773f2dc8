/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * lockshare - the paper's Table 2 row "single queue, two threads, with a lock": N threads read
 * one capture handle, taking turns under a mutex (receive, count, release), the way legacy
 * capture libraries let several threads share one socket. Everything else in mqcap avoids
 * this; the benchmark shows what it costs.
 *
 *   lockshare NAME THREADS SECONDS [CPU...]
 *
 * Prints one JSON line: received, dropped (all drop causes), seconds, per-thread packets.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mqcap/mqcap.h"

#define MAXT 16

static mqcap_t *h;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int stop;
static uint64_t counts[MAXT];
static int cpus[MAXT];

static void *reader(void *arg)
{
	long id = (long)arg;
	struct mqcap_pkt pkts[64];
	uint64_t n = 0;

	if (cpus[id] >= 0) {
		cpu_set_t s;

		CPU_ZERO(&s);
		CPU_SET(cpus[id], &s);
		pthread_setaffinity_np(pthread_self(), sizeof(s), &s);
	}
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		int r;

		pthread_mutex_lock(&lock);
		/* The views live until the next receive on the handle: count them under the lock. */
		r = mqcap_recv_burst(h, pkts, 64, 10);
		if (r > 0) {
			for (int i = 0; i < r; i++)
				n += pkts[i].len > 0;
			mqcap_release(h);
		}
		pthread_mutex_unlock(&lock);
		if (r < 0 && r != -EINTR)
			break;
	}
	counts[id] = n;
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[MAXT];
	struct mqcap_stats st;
	int nt, secs;
	MQCAP_OPTS(o, .flags = MQCAP_F_PROMISC);

	if (argc < 4) {
		fprintf(stderr, "usage: lockshare NAME THREADS SECONDS [CPU...]\n");
		return 2;
	}
	nt = atoi(argv[2]);
	secs = atoi(argv[3]);
	if (nt < 1 || nt > MAXT || secs < 1) {
		fprintf(stderr, "lockshare: 1..%d threads, >= 1 second\n", MAXT);
		return 2;
	}
	for (int i = 0; i < nt; i++)
		cpus[i] = 4 + i < argc ? atoi(argv[4 + i]) : -1;
	h = mqcap_open(argv[1], &o);
	if (!h) {
		fprintf(stderr, "lockshare: %s\n", mqcap_last_error());
		return 1;
	}
	for (long i = 0; i < nt; i++)
		pthread_create(&t[i], NULL, reader, (void *)i);
	sleep((unsigned)secs);
	atomic_store(&stop, 1);
	mqcap_wake(h);
	for (int i = 0; i < nt; i++)
		pthread_join(t[i], NULL);
	mqcap_stats(h, &st);
	printf("{\"backend\":\"%s\",\"received\":%llu,\"dropped\":%llu,\"seconds\":%d,\"threads\":[",
	       mqcap_backend_name(h), (unsigned long long)st.received,
	       (unsigned long long)(st.drop_ring_full + st.drop_fill_empty + st.drop_no_socket +
				    st.drop_invalid), secs);
	for (int i = 0; i < nt; i++)
		printf("%s%llu", i ? "," : "", (unsigned long long)counts[i]);
	printf("]}\n");
	mqcap_close(h);
	return 0;
}
