/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xdp_probe - capture helper of the xdp system tests (tests/system/test_xdp*.sh).
 *
 *   xdp_probe [options] NAME [NAME...]
 *
 * Opens each NAME as its own handle and reads it in its own thread (the runtime's model:
 * one handle per queue, one thread each, one process), checks every packet and prints
 * what the tests compare:
 *   - the RX queue each packet reports against the queue the testbed's RSS gives its flow
 *     (-K/-Q: Toeplitz key and indirection table, as `mqcap-testbed env` prints them);
 *   - mqsend's verification payload: intact, and no packet twice over all handles;
 *   - timestamps within the run;
 *   - every counter of every queue, and link events (-ENETDOWN) without stopping.
 *
 * Options:
 *   -K HEX80      RSS key;  -Q LIST  the 128 table entries, comma-separated
 *   -f EXPR       filter;   -F N  UMEM frames per queue;  -z  require zero-copy
 *   -P            busy polling;  -g  allow generic XDP;  -p  promiscuous mode
 *   -H MS         wait MS after opening before the first read (lets rings overflow)
 *   -T MS         stop after MS in all;  -i MS  stop after MS without a packet (default 2000)
 *   -R FILE       create FILE once every handle is open
 * Output lines (key=value):
 *   open name= mode= queues=            error name= errno= msg=    (then exit 1)
 *   event name= errno= msg=             (a receive error that does not end the capture)
 *   queue name= q= received= bytes= filtered= kernel_seen= drop_ring_full=
 *         drop_fill_empty= drop_no_socket= drop_invalid= passed_stack=
 *   qcheck q= payload_ok=               (mqsend frames with an intact payload, per queue)
 *   check received= mispredicted= payload_ok= payload_bad= other= dup= ts_bad=
 * SIGTERM/SIGINT end the capture normally (counters still print).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mqcap/frame.h"
#include "mqcap/mqcap.h"
#include "mqcap/payload.h"
#include "mqcap/rss.h"

#define MAX_HANDLES 64

static atomic_bool stop;
static uint8_t rss_key[MQCAP_RSS_KEY_LEN];
static uint16_t rss_table[MQCAP_RSS_TABLE_SIZE];
static bool predict;
static MQCAP_OPTS(opts);
static int hold_ms, total_ms, idle_ms = 2000;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

struct worker {
	const char *name;
	mqcap_t *c;
	pthread_t tid;
	uint64_t received, mispredicted, payload_ok, payload_bad, other, ts_bad;
	uint64_t ok_on_queue[MQCAP_RSS_MAX_QUEUES]; /* payload_ok per RX queue */
	uint64_t *keys;          /* one per verified packet, for the duplicate check */
	size_t nkeys, capkeys;
};

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop, true);
}

static uint64_t now_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}


/* The L4 payload of an Ethernet frame (VLAN/QinQ, IPv4/IPv6, TCP/UDP; frame.h's parser);
 * NULL and len 0 if none, or if the capture cut the packet short. */
static const uint8_t *l4_payload(const uint8_t *p, uint32_t caplen, uint32_t *len)
{
	struct mqcap_frame f;

	*len = 0;
	if (mqcap_frame_parse(p, p + caplen, &f) != MQCAP_FRAME_L4 ||
	    (f.l4_proto != 6 && f.l4_proto != 17) || (f.flags & MQCAP_FRAME_F_CUT) ||
	    !f.payload_len)
		return NULL;
	*len = f.payload_len;
	return p + f.payload_off;
}

static void add_key(struct worker *w, uint64_t k)
{
	if (w->nkeys == w->capkeys) {
		size_t cap = w->capkeys ? w->capkeys * 2 : 65536;
		uint64_t *n = realloc(w->keys, cap * sizeof(*n));

		if (!n)
			return;
		w->keys = n;
		w->capkeys = cap;
	}
	w->keys[w->nkeys++] = k;
}

static void check(struct worker *w, const struct mqcap_pkt *pk, uint64_t t0, uint64_t t1)
{
	uint8_t in[MQCAP_RSS_INPUT_MAX];
	struct mqcap_payload pl;
	const uint8_t *l4;
	uint32_t l4len;
	int n;

	w->received++;
	n = mqcap_rss_input_frame(pk->data, pk->data + pk->caplen, in);
	if (predict) {
		uint16_t q = n > 0 ? mqcap_rss_queue(rss_table, mqcap_rss_toeplitz(rss_key, in,
										    (unsigned)n)) : 0;

		if (q != pk->queue)
			w->mispredicted++;
	}
	if (pk->ts_ns < t0 || pk->ts_ns > t1)
		w->ts_bad++;
	l4 = l4_payload(pk->data, pk->caplen, &l4len);
	if (!l4 || mqcap_payload_decode(l4, l4len, &pl) == MQCAP_PAYLOAD_NONE) {
		w->other++;
		return;
	}
	if (!mqcap_payload_check_ok(l4, l4len)) {
		w->payload_bad++;
		return;
	}
	w->payload_ok++;
	if (pk->queue < MQCAP_RSS_MAX_QUEUES)
		w->ok_on_queue[pk->queue]++;
	if (n > 0) {
		/* Flow: its 5-tuple (the hash input) and sender; then the sequence number. */
		uint64_t h = 0xcbf29ce484222325ull ^ pl.sender_id;

		for (int i = 0; i < n; i++)
			h = (h ^ in[i]) * 0x100000001b3ull;
		add_key(w, (h ^ pl.flow_id) * 0x9e3779b97f4a7c15ull + pl.seq);
	}
}

static const char *errname(int e)
{
	switch (e) {
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case EPERM: return "EPERM";
	case EBUSY: return "EBUSY";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ENETDOWN: return "ENETDOWN";
	case ENOMEM: return "ENOMEM";
	default: return "other";
	}
}

static void *run(void *arg)
{
	struct worker *w = arg;
	struct mqcap_pkt pk[64];
	uint64_t start = now_ns(CLOCK_MONOTONIC), last = start;
	uint64_t t0 = now_ns(CLOCK_REALTIME) - 1000000000ull;

	if (hold_ms)
		usleep((useconds_t)hold_ms * 1000);
	while (!atomic_load(&stop)) {
		int n = mqcap_recv_burst(w->c, pk, 64, 100);
		uint64_t now = now_ns(CLOCK_MONOTONIC);

		if (n < 0) {
			pthread_mutex_lock(&out_lock);
			printf("event name=%s errno=%s msg=%s\n", w->name, errname(-n),
			       mqcap_errmsg(w->c));
			fflush(stdout);
			pthread_mutex_unlock(&out_lock);
			if (n != -ENETDOWN)
				break;
			continue;
		}
		if (n > 0) {
			uint64_t t1 = now_ns(CLOCK_REALTIME) + 1000000000ull;

			for (int i = 0; i < n; i++)
				check(w, &pk[i], t0, t1);
			last = now;
		}
		if (total_ms && now - start >= (uint64_t)total_ms * 1000000ull)
			break;
		if (idle_ms && now - last >= (uint64_t)idle_ms * 1000000ull)
			break;
	}
	mqcap_release(w->c);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static struct worker w[MAX_HANDLES];
	const char *ready = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	uint64_t received = 0, mis = 0, ok = 0, bad = 0, other = 0, tsb = 0, dup = 0;
	size_t nkeys = 0;
	uint64_t *keys;
	int nw, opt;

	while ((opt = getopt(argc, argv, "K:Q:f:F:zPpgH:T:i:R:")) != -1) {
		switch (opt) {
		case 'K': if (mqcap_rss_key_parse(optarg, rss_key)) { fprintf(stderr, "bad -K\n"); return 2; }
			predict = true; break;
		case 'Q': if (mqcap_rss_table_parse(optarg, rss_table)) { fprintf(stderr, "bad -Q\n"); return 2; }
			break;
		case 'f': opts.filter = optarg; break;
		case 'F': opts.ring_frames = (uint32_t)atoi(optarg); break;
		case 'z': opts.flags |= MQCAP_F_ZEROCOPY; break;
		case 'P': opts.flags |= MQCAP_F_BUSY_POLL; break;
		case 'g': opts.flags |= MQCAP_F_XDP_GENERIC; break;
		case 'p': opts.flags |= MQCAP_F_PROMISC; break;
		case 'H': hold_ms = atoi(optarg); break;
		case 'T': total_ms = atoi(optarg); break;
		case 'i': idle_ms = atoi(optarg); break;
		case 'R': ready = optarg; break;
		default: fprintf(stderr, "usage: see the top of xdp_probe.c\n"); return 2;
		}
	}
	nw = argc - optind;
	if (nw < 1 || nw > MAX_HANDLES) {
		fprintf(stderr, "usage: xdp_probe [options] NAME [NAME...]\n");
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < nw; i++) {
		w[i].name = argv[optind + i];
		w[i].c = mqcap_open(w[i].name, &opts);
		if (!w[i].c) {
			printf("error name=%s errno=%s msg=%s\n", w[i].name, errname(errno),
			       mqcap_last_error());
			while (i--)
				mqcap_close(w[i].c);
			return 1;
		}
		printf("open name=%s mode=%s queues=%u\n", w[i].name, mqcap_backend_name(w[i].c),
		       mqcap_queue_count(w[i].c));
		printf("reason %s\n", mqcap_backend_reason(w[i].c));
	}
	if (ready)
		close(open(ready, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
	for (int i = 0; i < nw; i++)
		pthread_create(&w[i].tid, NULL, run, &w[i]);
	for (int i = 0; i < nw; i++)
		pthread_join(w[i].tid, NULL);

	for (int i = 0; i < nw; i++) {
		for (unsigned q = 0; q < mqcap_queue_count(w[i].c); q++) {
			struct mqcap_queue_info qi;
			struct mqcap_stats s;

			if (mqcap_queue_info(w[i].c, q, &qi) || mqcap_queue_stats(w[i].c, q, &s)) {
				printf("event name=%s errno=other msg=%s\n", w[i].name,
				       mqcap_errmsg(w[i].c));
				continue;
			}
			printf("queue name=%s q=%u received=%llu bytes=%llu filtered=%llu "
			       "kernel_seen=%llu drop_ring_full=%llu drop_fill_empty=%llu "
			       "drop_no_socket=%llu drop_invalid=%llu passed_stack=%llu\n",
			       w[i].name, qi.queue, (unsigned long long)s.received,
			       (unsigned long long)s.bytes, (unsigned long long)s.filtered,
			       (unsigned long long)s.kernel_seen,
			       (unsigned long long)s.drop_ring_full,
			       (unsigned long long)s.drop_fill_empty,
			       (unsigned long long)s.drop_no_socket,
			       (unsigned long long)s.drop_invalid,
			       (unsigned long long)s.passed_stack);
		}
		mqcap_close(w[i].c);
		received += w[i].received;
		mis += w[i].mispredicted;
		ok += w[i].payload_ok;
		bad += w[i].payload_bad;
		other += w[i].other;
		tsb += w[i].ts_bad;
		nkeys += w[i].nkeys;
	}
	keys = malloc((nkeys ? nkeys : 1) * sizeof(*keys));
	if (keys) {
		size_t k = 0;

		for (int i = 0; i < nw; i++) {
			if (w[i].nkeys)
				memcpy(keys + k, w[i].keys, w[i].nkeys * sizeof(*keys));
			k += w[i].nkeys;
		}
		qsort(keys, nkeys, sizeof(*keys), cmp_u64);
		for (size_t i = 1; i < nkeys; i++)
			dup += keys[i] == keys[i - 1];
		free(keys);
	}
	for (int i = 0; i < nw; i++)
		free(w[i].keys);
	for (unsigned q = 0; q < MQCAP_RSS_MAX_QUEUES; q++) {
		uint64_t n = 0;

		for (int i = 0; i < nw; i++)
			n += w[i].ok_on_queue[q];
		if (n)
			printf("qcheck q=%u payload_ok=%llu\n", q, (unsigned long long)n);
	}
	printf("check received=%llu mispredicted=%llu payload_ok=%llu payload_bad=%llu "
	       "other=%llu dup=%llu ts_bad=%llu\n", (unsigned long long)received,
	       (unsigned long long)mis, (unsigned long long)ok, (unsigned long long)bad,
	       (unsigned long long)other, (unsigned long long)dup, (unsigned long long)tsb);
	return 0;
}
