/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ring_perf: mqcap's SPSC ring against DPDK's rte_ring (SP/SC) and Concurrency Kit's
 * ck_ring (SPSC), same workloads, same run, same pinned cores.
 *
 * Throughput: a producer thread and a consumer thread, pinned to different cores, move
 * sequence-numbered elements of 8 and 64 bytes in bursts of 1, 8, 32 and 256 (the consumer
 * checks every sequence number, for all three rings alike); million items per second,
 * median of the repetitions, which are interleaved across the rings so that noise from the
 * shared machine falls on all of them. ck_ring has no burst calls, so a burst there is a
 * loop of single calls: that is its best available form.
 * Latency: single 8-byte items stamped with the TSC by the producer, each sent 1 us after the
 * consumer took the previous one (an unloaded ring), read by the consumer spinning on it:
 * median and 99th percentile of the one-way time, median over the repetitions.
 *
 * rte_ring runs without the EAL: rte_ring_init() on our own cache-aligned memory needs no
 * hugepages or memzones, and the SP/SC calls are inline.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include <ck_ring.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "mqcap/mqcap.h"
#include "mqcap/ring.h"

#define SLOTS 1024u
#define MAX_BURST 256u

struct e8 {
	uint64_t seq;
};
struct e64 {
	uint64_t seq;
	uint64_t pad[7];
};
CK_RING_PROTOTYPE(e64, e64)

enum impl { MQCAP, RTE, CK, NIMPL };
static const char *const impl_name[NIMPL] = { "mqcap", "rte_ring", "ck_ring" };

struct run {
	enum impl impl;
	uint32_t esize;
	uint32_t burst;
	uint64_t items;
	/* the rings (one of them used) */
	struct mqcap_ring_spsc *mq;
	struct rte_ring *rte;
	struct ck_ring ck;
	void *ckbuf;
	/* latency mode: gap between items in TSC ticks, and the samples */
	uint64_t gap;
	uint32_t *lat;
	/* latency mode: items the consumer has taken, on a line of its own; the producer sends
	 * the next item only after that, so a preempted consumer spoils one sample, not the
	 * thousands that would queue behind it */
	_Alignas(128) atomic_uint_fast64_t taken;
	char pad_taken[120];
	/* start line and results */
	atomic_int ready;
	atomic_int go;
	atomic_int disturbed;
	struct timespec t_end;
	uint64_t errors;
};

static int cpu_prod = 1, cpu_cons = 0;

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set)) {
		fprintf(stderr, "ring_perf: cannot pin to CPU %d\n", cpu);
		exit(1);
	}
}

/* Involuntary context switches of the calling thread so far. */
static long preemptions(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_nivcsw;
}

/* Wait for the other thread, then go together. Returns preemptions() at the start. */
static long start_line(struct run *rn)
{
	atomic_fetch_add(&rn->ready, 1);
	while (!atomic_load_explicit(&rn->go, memory_order_acquire))
		_mm_pause();
	return preemptions();
}

/* A thread taken off its core during the run measured the machine's other load too. */
static void finish_line(struct run *rn, long iv)
{
	if (preemptions() != iv)
		atomic_fetch_add(&rn->disturbed, 1);
}

/*
 * One producer and one consumer per ring and element type. Macros rather than function
 * pointers so that each ring's inline fast path is compiled in place, as a user would.
 */
#define PRODUCER(NAME, T, ENQ)                                                               \
	static void *NAME(void *arg)                                                         \
	{                                                                                    \
		struct run *rn = arg;                                                        \
		T buf[MAX_BURST];                                                            \
		uint64_t seq = 0;                                                            \
		uint32_t n, k, done, got;                                                    \
		pin(cpu_prod);                                                               \
		memset(buf, 0, sizeof(buf));                                                 \
		long iv0 = start_line(rn);                                                   \
		while (seq < rn->items) {                                                    \
			n = rn->burst;                                                       \
			if (n > rn->items - seq)                                             \
				n = (uint32_t)(rn->items - seq);                             \
			for (k = 0; k < n; k++)                                              \
				buf[k].seq = seq + k;                                        \
			for (done = 0; done < n; done += got) {                              \
				ENQ;                                                         \
				if (!got)                                                    \
					_mm_pause();                                         \
			}                                                                    \
			seq += n;                                                            \
		}                                                                            \
		finish_line(rn, iv0);                                                        \
		return NULL;                                                                 \
	}

#define CONSUMER(NAME, T, DEQ)                                                               \
	static void *NAME(void *arg)                                                         \
	{                                                                                    \
		struct run *rn = arg;                                                        \
		T buf[MAX_BURST];                                                            \
		uint64_t seq = 0, errors = 0;                                                \
		uint32_t k, got;                                                             \
		pin(cpu_cons);                                                               \
		long iv0 = start_line(rn);                                                   \
		while (seq < rn->items) {                                                    \
			DEQ;                                                                 \
			for (k = 0; k < got; k++)                                            \
				errors += buf[k].seq != seq + k;                             \
			seq += got;                                                          \
			if (!got)                                                            \
				_mm_pause();                                                 \
		}                                                                            \
		clock_gettime(CLOCK_MONOTONIC, &rn->t_end);                                  \
		rn->errors = errors;                                                         \
		finish_line(rn, iv0);                                                        \
		return NULL;                                                                 \
	}

/* mqcap */
PRODUCER(mq_prod8, struct e8,
	 got = mqcap_ring_spsc_enqueue_burst_elem(rn->mq, buf + done, 8, n - done))
CONSUMER(mq_cons8, struct e8, got = mqcap_ring_spsc_dequeue_burst_elem(rn->mq, buf, 8, rn->burst))
PRODUCER(mq_prod64, struct e64,
	 got = mqcap_ring_spsc_enqueue_burst_elem(rn->mq, buf + done, 64, n - done))
CONSUMER(mq_cons64, struct e64,
	 got = mqcap_ring_spsc_dequeue_burst_elem(rn->mq, buf, 64, rn->burst))

/* DPDK rte_ring, single-producer/single-consumer calls */
PRODUCER(rte_prod8, struct e8,
	 got = rte_ring_sp_enqueue_burst_elem(rn->rte, buf + done, 8, n - done, NULL))
CONSUMER(rte_cons8, struct e8,
	 got = rte_ring_sc_dequeue_burst_elem(rn->rte, buf, 8, rn->burst, NULL))
PRODUCER(rte_prod64, struct e64,
	 got = rte_ring_sp_enqueue_burst_elem(rn->rte, buf + done, 64, n - done, NULL))
CONSUMER(rte_cons64, struct e64,
	 got = rte_ring_sc_dequeue_burst_elem(rn->rte, buf, 64, rn->burst, NULL))

/* Concurrency Kit ck_ring, SPSC: one element per call */
PRODUCER(ck_prod8, struct e8,
	 got = ck_ring_enqueue_spsc(&rn->ck, rn->ckbuf, (void *)(uintptr_t)buf[done].seq))
CONSUMER(ck_cons8, struct e8,
	 for (got = 0; got < rn->burst &&
		       ck_ring_dequeue_spsc(&rn->ck, rn->ckbuf, &buf[got].seq); got++))
PRODUCER(ck_prod64, struct e64,
	 got = ck_ring_enqueue_spsc_e64(&rn->ck, rn->ckbuf, &buf[done]))
CONSUMER(ck_cons64, struct e64,
	 for (got = 0; got < rn->burst &&
		       ck_ring_dequeue_spsc_e64(&rn->ck, rn->ckbuf, &buf[got]); got++))

/* Latency: one 8-byte item carrying its TSC send time, every rn->gap ticks. */
#define LAT_PRODUCER(NAME, ENQ)                                                              \
	static void *NAME(void *arg)                                                         \
	{                                                                                    \
		struct run *rn = arg;                                                        \
		uint64_t i, next, stamp = 0;                                                 \
		uint32_t got;                                                                \
		pin(cpu_prod);                                                               \
		long iv0 = start_line(rn);                                                   \
		for (i = 0; i < rn->items; i++) {                                            \
			while (atomic_load_explicit(&rn->taken, memory_order_acquire) < i)   \
				_mm_pause();                                                 \
			next = __rdtsc() + rn->gap;                                          \
			while (__rdtsc() < next)                                             \
				_mm_pause();                                                 \
			stamp = __rdtsc();                                                   \
			do {                                                                 \
				ENQ;                                                         \
			} while (!got);                                                      \
		}                                                                            \
		finish_line(rn, iv0);                                                        \
		return NULL;                                                                 \
	}

#define LAT_CONSUMER(NAME, DEQ)                                                              \
	static void *NAME(void *arg)                                                         \
	{                                                                                    \
		struct run *rn = arg;                                                        \
		uint64_t i, stamp = 0, now;                                                  \
		uint32_t got;                                                                \
		pin(cpu_cons);                                                               \
		long iv0 = start_line(rn);                                                   \
		for (i = 0; i < rn->items; i++) {                                            \
			do {                                                                 \
				DEQ;                                                         \
			} while (!got);                                                      \
			now = __rdtsc();                                                     \
			rn->lat[i] = now > stamp ? (uint32_t)(now - stamp) : 0;              \
			atomic_store_explicit(&rn->taken, i + 1, memory_order_release);      \
		}                                                                            \
		clock_gettime(CLOCK_MONOTONIC, &rn->t_end);                                  \
		finish_line(rn, iv0);                                                        \
		return NULL;                                                                 \
	}

LAT_PRODUCER(mq_lat_prod, got = mqcap_ring_spsc_enqueue_burst_elem(rn->mq, &stamp, 8, 1))
LAT_CONSUMER(mq_lat_cons, got = mqcap_ring_spsc_dequeue_burst_elem(rn->mq, &stamp, 8, 1))
LAT_PRODUCER(rte_lat_prod, got = rte_ring_sp_enqueue_burst_elem(rn->rte, &stamp, 8, 1, NULL))
LAT_CONSUMER(rte_lat_cons, got = rte_ring_sc_dequeue_burst_elem(rn->rte, &stamp, 8, 1, NULL))
LAT_PRODUCER(ck_lat_prod, got = ck_ring_enqueue_spsc(&rn->ck, rn->ckbuf, (void *)stamp))
LAT_CONSUMER(ck_lat_cons, got = ck_ring_dequeue_spsc(&rn->ck, rn->ckbuf, &stamp))

static void *xaligned(size_t bytes)
{
	void *p = aligned_alloc(128, (bytes + 127) & ~(size_t)127);

	if (!p) {
		fprintf(stderr, "ring_perf: out of memory\n");
		exit(1);
	}
	memset(p, 0, bytes);
	return p;
}

/* Build the ring, run both threads from one start line; returns seconds. */
static double run_once(struct run *rn, int latency)
{
	void *(*prod)(void *) = NULL, *(*cons)(void *) = NULL;
	struct timespec t0;
	pthread_t tp, tc;
	ssize_t sz;

	atomic_store(&rn->ready, 0);
	atomic_store(&rn->disturbed, 0);
	atomic_store(&rn->taken, 0);
	atomic_store(&rn->go, 0);
	rn->errors = 0;
	switch (rn->impl) {
	case MQCAP:
		rn->mq = mqcap_ring_spsc_create(SLOTS, rn->esize, NULL);
		if (!rn->mq) {
			fprintf(stderr, "ring_perf: %s\n", mqcap_last_error());
			exit(1);
		}
		prod = latency ? mq_lat_prod : rn->esize == 8 ? mq_prod8 : mq_prod64;
		cons = latency ? mq_lat_cons : rn->esize == 8 ? mq_cons8 : mq_cons64;
		break;
	case RTE:
		sz = rte_ring_get_memsize_elem(rn->esize, SLOTS);
		if (sz < 0) {
			fprintf(stderr, "ring_perf: rte_ring_get_memsize_elem failed\n");
			exit(1);
		}
		rn->rte = xaligned((size_t)sz);
		/* Like ck_ring, rte_ring keeps one slot empty (SLOTS - 1 usable); EXACT_SZ
		 * would double its memory instead. */
		if (rte_ring_init(rn->rte, "bench", SLOTS, RING_F_SP_ENQ | RING_F_SC_DEQ) != 0) {
			fprintf(stderr, "ring_perf: rte_ring_init failed\n");
			exit(1);
		}
		prod = latency ? rte_lat_prod : rn->esize == 8 ? rte_prod8 : rte_prod64;
		cons = latency ? rte_lat_cons : rn->esize == 8 ? rte_cons8 : rte_cons64;
		break;
	case CK:
		ck_ring_init(&rn->ck, SLOTS);
		rn->ckbuf = xaligned((size_t)SLOTS * rn->esize);
		prod = latency ? ck_lat_prod : rn->esize == 8 ? ck_prod8 : ck_prod64;
		cons = latency ? ck_lat_cons : rn->esize == 8 ? ck_cons8 : ck_cons64;
		break;
	default:
		abort();
	}
	if (pthread_create(&tc, NULL, cons, rn) || pthread_create(&tp, NULL, prod, rn)) {
		fprintf(stderr, "ring_perf: pthread_create: %s\n", strerror(errno));
		exit(1);
	}
	while (atomic_load(&rn->ready) < 2)
		sched_yield();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	atomic_store_explicit(&rn->go, 1, memory_order_release);
	pthread_join(tp, NULL);
	pthread_join(tc, NULL);
	mqcap_ring_spsc_destroy(rn->mq);
	rn->mq = NULL;
	free(rn->rte);
	rn->rte = NULL;
	free(rn->ckbuf);
	rn->ckbuf = NULL;
	if (rn->errors) {
		fprintf(stderr, "ring_perf: %s lost order on %" PRIu64 " items\n",
			impl_name[rn->impl], rn->errors);
		exit(1);
	}
	return (double)(rn->t_end.tv_sec - t0.tv_sec) + (double)(rn->t_end.tv_nsec - t0.tv_nsec) / 1e9;
}

static unsigned long preempted_runs, total_runs;

/*
 * run_once(), counting the runs in which a thread was preempted: on a machine shared with
 * other work that is most of them, which is why the table shows medians of ratios taken
 * within one repetition rather than single runs.
 */
static double run_measured(struct run *rn, int latency)
{
	double secs = run_once(rn, latency);

	total_runs++;
	if (atomic_load(&rn->disturbed))
		preempted_runs++;
	return secs;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* TSC ticks per nanosecond, measured against CLOCK_MONOTONIC. */
static double tsc_per_ns(void)
{
	struct timespec a, b;
	uint64_t ta, tb;

	clock_gettime(CLOCK_MONOTONIC, &a);
	ta = __rdtsc();
	usleep(100000);
	clock_gettime(CLOCK_MONOTONIC, &b);
	tb = __rdtsc();
	return (double)(tb - ta) /
	       ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec));
}

static void print_machine(void)
{
	char line[256], model[256] = "unknown";
	struct utsname u;
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
			snprintf(model, sizeof(model), "%s", strchr(line, ':') + 2);
			model[strcspn(model, "\n")] = 0;
			break;
		}
	if (f)
		fclose(f);
	uname(&u);
	printf("machine: %s, %ld online CPUs, kernel %s %s; producer on CPU %d, consumer on CPU %d\n",
	       model, sysconf(_SC_NPROCESSORS_ONLN), u.sysname, u.release, cpu_prod, cpu_cons);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ring_perf [-n ITEMS] [-r REPS] [-l SAMPLES] [-p CPU] [-c CPU]\n"
		"  -n ITEMS    items per throughput run, x4 for bursts >= 32 (default 2000000)\n"
		"  -r REPS     repetitions; medians are reported (default 7)\n"
		"  -l SAMPLES  latency samples per run (default 100000)\n"
		"  -p CPU      producer CPU (default 1);  -c CPU  consumer CPU (default 0)\n"
		"Prints million items/s per ring for bursts 1, 8, 32, 256 and elements of 8 and 64\n"
		"bytes, one-way latency (median, p99), and 'ring: worst ratio vs best peer = X.XX'\n"
		"(median over repetitions of mqcap / the faster of rte_ring and ck_ring in the\n"
		"same repetition; the worst throughput workload).\n");
}

int main(int argc, char **argv)
{
	static const uint32_t bursts[] = { 1, 8, 32, 256 };
	static const uint32_t esizes[] = { 8, 64 };
	uint64_t items = 2000000, samples = 100000;
	int reps = 7, opt, r, e, b, i, k;
	double mips[2][4][NIMPL][64], lat_med[NIMPL][64], lat_p99[NIMPL][64];
	double worst = 1e9, hz;
	struct run rn;

	while ((opt = getopt(argc, argv, "n:r:l:p:c:h")) != -1) {
		switch (opt) {
		case 'n': items = strtoull(optarg, NULL, 0); break;
		case 'r': reps = atoi(optarg); break;
		case 'l': samples = strtoull(optarg, NULL, 0); break;
		case 'p': cpu_prod = atoi(optarg); break;
		case 'c': cpu_cons = atoi(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (items == 0 || samples == 0 || reps < 1 || reps > 64 || cpu_prod == cpu_cons) {
		usage(stderr);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	print_machine();
	hz = tsc_per_ns();
	printf("ring of %u slots; %" PRIu64 " items per run, %d repetitions, medians; TSC %.3f GHz\n",
	       SLOTS, items, reps, hz);

	memset(&rn, 0, sizeof(rn));
	rn.lat = calloc(samples, sizeof(*rn.lat));
	if (!rn.lat)
		return 1;
	/*
	 * Workload by workload, the repetitions of the three rings back to back in rotating
	 * order, so that the rings compared in one repetition ran within a fraction of a
	 * second of each other; the ratio is taken per repetition, then the median.
	 */
	printf("\n%-22s %10s %10s %10s %8s\n", "Mitems/s (median)", "mqcap", "rte_ring", "ck_ring",
	       "ratio");
	for (e = 0; e < 2; e++)
		for (b = 0; b < 4; b++) {
			double m[NIMPL], ratios[64], best;
			char label[32];

			for (r = 0; r < reps; r++) {
				for (k = 0; k < NIMPL; k++) {
					i = (r + k) % NIMPL;
					rn.impl = (enum impl)i;
					rn.esize = esizes[e];
					rn.burst = bursts[b];
					/* Bigger bursts run faster: keep each run long enough. */
					rn.items = items * (bursts[b] >= 32 ? 4 : 1);
					mips[e][b][i][r] = (double)rn.items / run_measured(&rn, 0) / 1e6;
				}
				best = mips[e][b][RTE][r] > mips[e][b][CK][r] ? mips[e][b][RTE][r]
									       : mips[e][b][CK][r];
				ratios[r] = mips[e][b][MQCAP][r] / best;
			}
			for (i = 0; i < NIMPL; i++)
				m[i] = median(mips[e][b][i], reps);
			ratios[0] = median(ratios, reps);
			if (ratios[0] < worst)
				worst = ratios[0];
			snprintf(label, sizeof(label), "%uB elem, burst %u", esizes[e], bursts[b]);
			printf("%-22s %10.1f %10.1f %10.1f %7.2fx\n", label, m[MQCAP], m[RTE], m[CK],
			       ratios[0]);
		}
	/* The fastest repetition of each ring is the one the machine's other load disturbed
	 * least: shown as a cross-check of the medians, not used for the verdict. */
	printf("\n%-22s %10s %10s %10s %8s\n", "Mitems/s (best of reps)", "mqcap", "rte_ring",
	       "ck_ring", "ratio");
	for (e = 0; e < 2; e++)
		for (b = 0; b < 4; b++) {
			double m[NIMPL] = { 0 }, best;
			char label[32];

			for (i = 0; i < NIMPL; i++)
				for (r = 0; r < reps; r++)
					if (mips[e][b][i][r] > m[i])
						m[i] = mips[e][b][i][r];
			best = m[RTE] > m[CK] ? m[RTE] : m[CK];
			snprintf(label, sizeof(label), "%uB elem, burst %u", esizes[e], bursts[b]);
			printf("%-22s %10.1f %10.1f %10.1f %7.2fx\n", label, m[MQCAP], m[RTE], m[CK],
			       m[MQCAP] / best);
		}
	for (r = 0; r < reps; r++)
		for (k = 0; k < NIMPL; k++) {
			i = (r + k) % NIMPL;
			rn.impl = (enum impl)i;
			rn.esize = 8;
			rn.burst = 1;
			rn.items = samples;
			rn.gap = (uint64_t)(1000 * hz); /* 1 us after the previous one was taken */
			run_measured(&rn, 1);
			qsort(rn.lat, samples, sizeof(*rn.lat), cmp_u32);
			lat_med[i][r] = rn.lat[samples / 2] / hz;
			lat_p99[i][r] = rn.lat[samples * 99 / 100] / hz;
		}
	printf("\n%-22s %10s %10s %10s\n", "one-way latency (ns)", "mqcap", "rte_ring", "ck_ring");
	printf("%-22s %10.0f %10.0f %10.0f\n", "median", median(lat_med[MQCAP], reps),
	       median(lat_med[RTE], reps), median(lat_med[CK], reps));
	printf("%-22s %10.0f %10.0f %10.0f\n", "p99", median(lat_p99[MQCAP], reps),
	       median(lat_p99[RTE], reps), median(lat_p99[CK], reps));
	printf("\n%lu of %lu runs had a thread preempted (other load on the machine)\n",
	       preempted_runs, total_runs);
	printf("ring: worst ratio vs best peer = %.2f\n", worst);
	free(rn.lat);
	return 0;
}
