/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stress_run: the worker runtime (run.h) under concurrency, for ThreadSanitizer in build/tsan
 * (issue 17 part 4). Needs no NIC: it makes its own network namespace with a 4-queue veth pair
 * (removed at exit), enters it, and a sender thread writes UDP frames with varying ports into
 * one end, which the kernel spreads over the TX queues and so over the peer's RX queues. The
 * runtime captures the other end with AF_PACKET (packet:), while:
 *   1. busy:   4 workers under traffic, mqcap_run_stop() from another thread while they are
 *              busy, then wait and close;
 *   2. close:  a thread calls mqcap_run_stop() in a loop while the main thread closes the
 *              run without stopping it first (close while stopping; run.h says it is safe);
 *   3. start:  stop from another thread while mqcap_run_start() is still opening handles;
 *   4. cb:     a worker's callback returns non-zero (stops the run) while the others are busy;
 *   5. split:  pollers and consumers (MQCAP_RUN_F_SPLIT), stopped while busy.
 * Each phase runs several rounds. After each round the counters must add up: what the workers
 * handed to the callback equals what the queues received minus the hand-off drops, the
 * callback saw exactly that many packets, and something was received where traffic ran.
 * TSan reports any data race (halt_on_error in scripts/tsan-run); without TSan it still checks
 * the counters and that nothing hangs (meson's timeout).
 *
 * Usage: stress_run [ROUNDS]   (default 4 per phase). Needs root (namespaces, raw sockets).
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mqcap/mqcap.h"
#include "mqcap/run.h"

#define QUEUES 4

static char ns_name[64];
static const char *cap_dev = "sr1", *send_dev = "sr0";
static int failures;

#define CHECK(cond, ...)                                                 \
	do {                                                             \
		if (!(cond)) {                                           \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);                    \
			fputc('\n', stderr);                             \
			failures++;                                      \
		}                                                        \
	} while (0)

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static void ns_remove(void)
{
	if (ns_name[0])
		sh("ip netns del %s 2>/dev/null", ns_name);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* A namespace of our own with the veth pair, entered by this (still single) thread: every
 * thread created later lives there too. */
static int ns_setup(void)
{
	char path[128];
	int fd;

	snprintf(ns_name, sizeof(ns_name), "mqstress%d", (int)getpid());
	if (sh("ip netns add %s", ns_name)) {
		ns_name[0] = '\0';
		return -1;
	}
	atexit(ns_remove);
	if (sh("ip -n %s link add %s numtxqueues %d numrxqueues %d type veth peer name %s "
	       "numtxqueues %d numrxqueues %d && ip -n %s link set %s up && ip -n %s link set %s up",
	       ns_name, send_dev, QUEUES, QUEUES, cap_dev, QUEUES, QUEUES, ns_name, send_dev,
	       ns_name, cap_dev))
		return -1;
	snprintf(path, sizeof(path), "/var/run/netns/%s", ns_name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET)) {
		perror(path);
		return -1;
	}
	close(fd);
	return 0;
}

/* ---- sender ---------------------------------------------------------------------------- */

static _Atomic int send_stop;
static _Atomic uint64_t sent;

static uint16_t csum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)b[i] << 8 | b[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void *sender_main(void *arg)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_halen = ETH_ALEN };
	uint8_t f[128];
	uint16_t port = 0;
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);

	(void)arg;
	if (fd < 0) {
		perror("sender socket");
		return NULL;
	}
	sll.sll_ifindex = (int)if_nametoindex(send_dev);
	memset(f, 0, sizeof(f));
	memset(f, 0xff, 6);                                   /* broadcast: no MAC to know */
	f[6] = 0x02;                                          /* a local source MAC */
	f[12] = 0x08;                                         /* IPv4 */
	f[14] = 0x45;
	f[16] = 0;
	f[17] = sizeof(f) - 14;
	f[22] = 64;
	f[23] = 17;                                           /* UDP */
	memcpy(f + 26, (uint8_t[]){ 198, 18, 0, 1, 198, 18, 0, 2 }, 8);
	f[38] = 0;
	f[39] = sizeof(f) - 34;
	while (!atomic_load_explicit(&send_stop, memory_order_relaxed)) {
		/* a new source port per frame: the flow hash spreads them over the TX queues */
		port++;
		f[34] = (uint8_t)(port >> 8);
		f[35] = (uint8_t)port;
		f[36] = 0x13;
		f[37] = 0x88;
		f[24] = f[25] = 0;
		uint16_t c = csum(f + 14, 20);
		f[24] = (uint8_t)(c >> 8);
		f[25] = (uint8_t)c;
		if (sendto(fd, f, sizeof(f), 0, (struct sockaddr *)&sll, sizeof(sll)) == (ssize_t)sizeof(f))
			atomic_fetch_add_explicit(&sent, 1, memory_order_relaxed);
		else if (errno != ENOBUFS && errno != EAGAIN)
			break;
		if ((port & 255) == 0)
			sched_yield();
	}
	close(fd);
	return NULL;
}

/* ---- the runs -------------------------------------------------------------------------- */

struct ctx {
	_Atomic uint64_t packets;   /* what every callback saw */
	_Atomic uint64_t calls;
	uint64_t stop_after;        /* phase cb: worker 0 returns 1 once this many were seen */
};

static int on_burst(void *user, unsigned worker, const struct mqcap_pkt *pkts, unsigned n)
{
	struct ctx *c = user;
	uint64_t seen = atomic_fetch_add_explicit(&c->packets, n, memory_order_relaxed) + n;

	atomic_fetch_add_explicit(&c->calls, 1, memory_order_relaxed);
	/* touch the data: TSan sees the reads of ring memory the kernel and the worker share */
	for (unsigned i = 0; i < n; i++)
		if (pkts[i].caplen && pkts[i].data[0] == 0x01 && pkts[i].data[1] == 0x02)
			return 0;
	return c->stop_after && worker == 0 && seen >= c->stop_after;
}

enum phase { BUSY, CLOSE, START, CB, SPLIT };
static const char *const phase_name[] = { "busy", "close", "start", "cb", "split" };

struct stopper {
	mqcap_run_t *run;
	long delay_ms;
	_Atomic int quit;
	_Atomic uint64_t stops;
	bool loop;
};

static void *stopper_main(void *arg)
{
	struct stopper *s = arg;

	sleep_ms(s->delay_ms);
	do {
		mqcap_run_stop(s->run);
		atomic_fetch_add(&s->stops, 1);
	} while (s->loop && !atomic_load(&s->quit));
	return NULL;
}

/* Counters of a finished run: threads' packets = queues' received - hand-off drops. */
static void check_counters(mqcap_run_t *run, struct ctx *c, enum phase ph, unsigned round,
			   bool traffic)
{
	uint64_t wsum = 0, qsum = 0, handoff = 0;

	for (unsigned w = 0; w < mqcap_run_worker_count(run); w++) {
		struct mqcap_run_worker_stats ws;

		CHECK(!mqcap_run_worker_stats(run, w, &ws), "%s %u: worker %u stats", phase_name[ph],
		      round, w);
		CHECK(ws.done, "%s %u: worker %u not done after wait", phase_name[ph], round, w);
		wsum += ws.packets;
	}
	for (unsigned q = 0; q < mqcap_run_queue_count(run); q++) {
		struct mqcap_stats st;

		CHECK(!mqcap_run_queue_stats(run, q, &st), "%s %u: queue %u stats", phase_name[ph],
		      round, q);
		qsum += st.received;
		handoff += mqcap_run_queue_handoff_drops(run, q);
	}
	CHECK(wsum + handoff == qsum, "%s %u: workers %llu + hand-off drops %llu != queues %llu",
	      phase_name[ph], round, (unsigned long long)wsum, (unsigned long long)handoff,
	      (unsigned long long)qsum);
	CHECK(atomic_load(&c->packets) == wsum, "%s %u: callbacks saw %llu, workers say %llu",
	      phase_name[ph], round, (unsigned long long)atomic_load(&c->packets),
	      (unsigned long long)wsum);
	if (traffic)
		CHECK(qsum > 0, "%s %u: nothing received under traffic", phase_name[ph], round);
	printf("  %-5s round %u: %u workers, received %llu, callbacks %llu, hand-off drops %llu\n",
	       phase_name[ph], round, mqcap_run_worker_count(run), (unsigned long long)qsum,
	       (unsigned long long)atomic_load(&c->calls), (unsigned long long)handoff);
}

static void one_round(enum phase ph, unsigned round)
{
	char name[64];
	struct ctx c = { 0 };
	struct stopper s = { 0 };
	MQCAP_OPTS(cap, .backend = MQCAP_BACKEND_PACKET, .ring_bytes = 1u << 20);
	MQCAP_RUN_OPTS(ro, .capture = &cap,
		       .flags = MQCAP_RUN_F_OVERSUBSCRIBE | MQCAP_RUN_F_NO_PIN, .poll_ms = 20);
	mqcap_run_t *run;
	pthread_t st;
	int rc;

	snprintf(name, sizeof(name), "packet:%s", cap_dev);
	if (ph == SPLIT) {
		ro.flags |= MQCAP_RUN_F_SPLIT;
		ro.workers = 2;
		ro.ring_slots = 256;
	} else {
		ro.workers = QUEUES;
	}
	if (ph == CB)
		c.stop_after = 2000;
	run = mqcap_run_open(name, &ro, on_burst, &c);
	if (!run) {
		CHECK(0, "%s %u: open: %s", phase_name[ph], round, mqcap_last_error());
		return;
	}
	s.run = run;
	if (ph == START) {
		/* stop lands somewhere in start: before, during or after the handles open */
		s.delay_ms = round % 3;
		pthread_create(&st, NULL, stopper_main, &s);
		rc = mqcap_run_start(run);
		pthread_join(st, NULL);
		/* either start saw the stop (an error, nothing left running) or the run stops */
		CHECK(rc == 0 || rc == -ECANCELED || rc == -EINTR,
		      "start %u: start returned %d: %s", round, rc, mqcap_run_errmsg(run));
		CHECK(mqcap_run_wait(run, 5000) != -ETIMEDOUT, "start %u: threads still running",
		      round);
		if (rc == 0)
			check_counters(run, &c, ph, round, false);
		else
			printf("  start round %u: start gave up (%d), as a stop during start may\n",
			       round, rc);
		mqcap_run_close(run);
		return;
	}
	rc = mqcap_run_start(run);
	CHECK(rc == 0, "%s %u: start: %s", phase_name[ph], round, mqcap_run_errmsg(run));
	if (rc) {
		mqcap_run_close(run);
		return;
	}
	switch (ph) {
	case BUSY:
	case SPLIT:
		s.delay_ms = 150;
		pthread_create(&st, NULL, stopper_main, &s);
		pthread_join(st, NULL);
		CHECK(mqcap_run_wait(run, 5000) == 0, "%s %u: wait after stop: %s", phase_name[ph],
		      round, mqcap_run_errmsg(run));
		check_counters(run, &c, ph, round, true);
		mqcap_run_close(run);
		break;
	case CB:
		CHECK(mqcap_run_wait(run, 10000) == 0, "cb %u: the callback's stop did not end the "
		      "run: %s", round, mqcap_run_errmsg(run));
		CHECK(mqcap_run_stopping(run), "cb %u: not stopping", round);
		check_counters(run, &c, ph, round, true);
		mqcap_run_close(run);
		break;
	case CLOSE:
		/* stops keep coming from another thread while close stops, joins and frees; they
		 * begin after 50 ms, so that the workers have received before the first stop
		 * (from the first millisecond, whether any frame came in first was luck) */
		s.loop = true;
		s.delay_ms = 50;
		pthread_create(&st, NULL, stopper_main, &s);
		sleep_ms(100);
		mqcap_run_close(run);
		/* a stop on the closed run must do nothing harmful (run.h) */
		sleep_ms(5);
		atomic_store(&s.quit, 1);
		pthread_join(st, NULL);
		CHECK(atomic_load(&c.packets) > 0, "close %u: nothing received", round);
		printf("  close round %u: %llu packets, %llu stops raced the close\n", round,
		       (unsigned long long)atomic_load(&c.packets),
		       (unsigned long long)atomic_load(&s.stops));
		break;
	default:
		break;
	}
}

int main(int argc, char **argv)
{
	unsigned rounds = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 4;
	pthread_t snd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		fprintf(stderr, "FAIL: stress_run needs root (a network namespace and raw sockets)\n");
		return 1;
	}
	if (ns_setup()) {
		fprintf(stderr, "FAIL: cannot make the test's namespace and veth pair\n");
		return 1;
	}
	if (pthread_create(&snd, NULL, sender_main, NULL)) {
		fprintf(stderr, "FAIL: sender thread\n");
		return 1;
	}
	for (enum phase ph = BUSY; ph <= SPLIT; ph++)
		for (unsigned r = 0; r < rounds; r++)
			one_round(ph, r);
	atomic_store(&send_stop, 1);
	pthread_join(snd, NULL);
	printf("sent %llu frames; %d failure(s)\n", (unsigned long long)atomic_load(&sent),
	       failures);
	return failures ? 1 : 0;
}
