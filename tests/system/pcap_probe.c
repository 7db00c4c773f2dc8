/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pcap_probe - a plain libpcap program (it links libpcap only, nothing of mqcap) that the
 * tests run under mqcap-pcap, to use the libpcap calls real programs use in the ways they
 * use them:
 *
 *   pcap_probe [options] NAME
 *     -m MODE      nextex: pcap_next_ex until done (default)
 *                  poll:   nonblocking mode, poll() on pcap_get_selectable_fd, pcap_dispatch
 *                  break:  pcap_loop(-1) in this thread, pcap_breakloop from another thread
 *                          once -c packets came (or after -i ms without any)
 *                  open:   pcap_open_live, report, close (bad-input tests)
 *                  inject: send -c frames (EtherType 0x88b5, broadcast, payload "mqcap-pcap
 *                          inject N"): the first with pcap_inject, the rest with
 *                          pcap_sendpacket; prints "inject sent=N"
 *     -c COUNT     stop after COUNT packets (0: only on idle)
 *     -i IDLE_MS   stop after IDLE_MS without a packet, once one came (default 1500)
 *     -W FIRST_MS  stop when nothing came in the first FIRST_MS (default 20000)
 *     -k CNT       cnt for pcap_dispatch in poll mode (default -1)
 *     -f EXPR      pcap_compile + pcap_setfilter
 *     -s SNAPLEN   -N (nanosecond time stamps)   -p (promiscuous)   -B BYTES (buffer)
 *     -t MS        pcap_set_timeout (default 100)   -I (pcap_set_immediate_mode: libpcap's
 *                  TPACKET_V3 starts the timeout only once a packet came, so without it a
 *                  plain libpcap pcap_next_ex waits for ever when the traffic stops)
 *     -w FILE      write the packets with pcap_dump_open / pcap_dump
 *     -R FILE      create FILE once the capture is open
 *
 * Output: "open fd=KIND datalink=D snaplen=S precision=P nonblock=B" (KIND: what the
 * selectable fd is, socket or anon_inode:[eventpoll]), then "stats recv=R drop=D ifdrop=I
 * got=N" and "end reason=count|idle|first|break rc=RC ms=MS" (break mode: how long
 * pcap_loop took to return after pcap_breakloop). Errors: "error status=N msg=TEXT", exit 1.
 */
#include <errno.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pcap_t *pd;
static pcap_dumper_t *dumper;
static atomic_ulong got;
static atomic_long last_ms;
static unsigned long want;
static int idle_ms = 1500, first_ms = 20000;

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void die(int status, const char *what)
{
	printf("error status=%d msg=%s%s%s\n", status, what ? what : "", what ? ": " : "",
	       pd ? pcap_geterr(pd) : "");
	exit(1);
}

static void on_pkt(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
	(void)user;
	if (dumper)
		pcap_dump((u_char *)dumper, h, data);
	atomic_fetch_add(&got, 1);
	atomic_store(&last_ms, now_ms());
}

/* "count", "idle", "first" or NULL to go on */
static const char *done(long start)
{
	unsigned long n = atomic_load(&got);
	long t = now_ms();

	if (want && n >= want)
		return "count";
	if (n && t - atomic_load(&last_ms) >= idle_ms)
		return "idle";
	if (!n && t - start >= first_ms)
		return "first";
	return NULL;
}

static const char *fd_kind(int fd)
{
	static char buf[64];
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n < 0)
		return "none";
	buf[n] = '\0';
	if (!strncmp(buf, "socket:", 7))
		return "socket";
	return buf;
}

static long break_ms = -1;

static void *breaker(void *arg)
{
	long start = *(long *)arg;

	/* with -c: that many packets first, then the idle time, so pcap_loop is blocked in
	 * its wait when the break comes */
	while (atomic_load(&got) < want || !done(start))
		usleep(1000);
	break_ms = now_ms();
	pcap_breakloop(pd);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *mode = "nextex", *filter = NULL, *wfile = NULL, *ready = NULL, *reason;
	int snaplen = 262144, nano = 0, promisc = 0, buffer = 0, kcnt = -1, opt, rc = 0, to = 100, imm = 0;
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_stat ps;
	long start;

	while ((opt = getopt(argc, argv, "m:c:i:W:k:f:s:NpB:w:R:t:I")) != -1) {
		switch (opt) {
		case 'm': mode = optarg; break;
		case 'c': want = strtoul(optarg, NULL, 10); break;
		case 'i': idle_ms = atoi(optarg); break;
		case 'W': first_ms = atoi(optarg); break;
		case 'k': kcnt = atoi(optarg); break;
		case 'f': filter = optarg; break;
		case 's': snaplen = atoi(optarg); break;
		case 'N': nano = 1; break;
		case 'p': promisc = 1; break;
		case 'B': buffer = atoi(optarg); break;
		case 'w': wfile = optarg; break;
		case 'R': ready = optarg; break;
		case 't': to = atoi(optarg); break;
		case 'I': imm = 1; break;
		default:
			fprintf(stderr, "usage: pcap_probe [-m nextex|poll|break|open|inject] [-c N] [-i MS] "
				"[-W MS] [-k CNT] [-f EXPR] [-s LEN] [-N] [-p] [-B BYTES] [-t MS] [-I] "
				"[-w FILE] [-R FILE] NAME\n");
			return 2;
		}
	}
	if (optind != argc - 1)
		return 2;

	if (!strcmp(mode, "open")) {
		pd = pcap_open_live(argv[optind], snaplen, promisc, to, errbuf);
		if (!pd) {
			printf("error status=-1 msg=%s\n", errbuf);
			return 1;
		}
	} else {
		pd = pcap_create(argv[optind], errbuf);
		if (!pd) {
			printf("error status=-1 msg=%s\n", errbuf);
			return 1;
		}
		pcap_set_snaplen(pd, snaplen);
		pcap_set_promisc(pd, promisc);
		pcap_set_timeout(pd, to);
		if (imm)
			pcap_set_immediate_mode(pd, 1);
		if (buffer)
			pcap_set_buffer_size(pd, buffer);
		if (nano && (rc = pcap_set_tstamp_precision(pd, PCAP_TSTAMP_PRECISION_NANO)))
			die(rc, "pcap_set_tstamp_precision");
		rc = pcap_activate(pd);
		if (rc < 0)
			die(rc, pcap_statustostr(rc));
	}
	if (filter) {
		struct bpf_program prog;

		if (pcap_compile(pd, &prog, filter, 1, PCAP_NETMASK_UNKNOWN))
			die(-1, "pcap_compile");
		if (pcap_setfilter(pd, &prog))
			die(-1, "pcap_setfilter");
		pcap_freecode(&prog);
	}
	if (wfile && !(dumper = pcap_dump_open(pd, wfile)))
		die(-1, "pcap_dump_open");
	if (!strcmp(mode, "poll") && pcap_setnonblock(pd, 1, errbuf))
		die(-1, errbuf);
	printf("open fd=%s datalink=%d snaplen=%d precision=%d nonblock=%d\n",
	       fd_kind(pcap_get_selectable_fd(pd)), pcap_datalink(pd), pcap_snapshot(pd),
	       pcap_get_tstamp_precision(pd), pcap_getnonblock(pd, errbuf));
	fflush(stdout);
	if (ready)
		fclose(fopen(ready, "w"));

	start = now_ms();
	if (!strcmp(mode, "open")) {
		reason = "open";
	} else if (!strcmp(mode, "inject")) {
		u_char fr[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x01,
				  0x88, 0xb5 };
		unsigned long i;

		for (i = 0; i < want; i++) {
			snprintf((char *)fr + 14, sizeof(fr) - 14, "mqcap-pcap inject %lu", i);
			if (i == 0 ? pcap_inject(pd, fr, sizeof(fr)) != (int)sizeof(fr)
				   : pcap_sendpacket(pd, fr, sizeof(fr)) != 0)
				die(-1, i == 0 ? "pcap_inject" : "pcap_sendpacket");
		}
		printf("inject sent=%lu\n", i);
		reason = "count";
	} else if (!strcmp(mode, "nextex")) {
		struct pcap_pkthdr *h;
		const u_char *data;

		while (!(reason = done(start))) {
			rc = pcap_next_ex(pd, &h, &data);
			if (rc < 0)
				die(rc, "pcap_next_ex");
			if (rc == 1)
				on_pkt(NULL, h, data);
		}
	} else if (!strcmp(mode, "poll")) {
		struct pollfd pfd = { .fd = pcap_get_selectable_fd(pd), .events = POLLIN };

		if (pfd.fd < 0)
			die(pfd.fd, "pcap_get_selectable_fd");
		while (!(reason = done(start))) {
			if (poll(&pfd, 1, 50) < 0 && errno != EINTR)
				die(-1, "poll");
			/* nonblocking: dispatch until it says nothing is left */
			while ((rc = pcap_dispatch(pd, kcnt, on_pkt, NULL)) > 0)
				if (done(start))
					break;
			if (rc < 0)
				die(rc, "pcap_dispatch");
		}
	} else if (!strcmp(mode, "break")) {
		pthread_t t;

		if (pthread_create(&t, NULL, breaker, &start))
			die(-1, "pthread_create");
		rc = pcap_loop(pd, -1, on_pkt, NULL);
		long ms = now_ms() - break_ms;
		pthread_join(t, NULL);
		if (rc != PCAP_ERROR_BREAK)
			die(rc, "pcap_loop did not return PCAP_ERROR_BREAK");
		printf("end reason=break rc=%d ms=%ld\n", rc, ms);
		reason = NULL;
	} else {
		fprintf(stderr, "pcap_probe: unknown mode %s\n", mode);
		return 2;
	}
	if (dumper)
		pcap_dump_close(dumper);
	if (pcap_stats(pd, &ps))
		die(-1, "pcap_stats");
	printf("stats recv=%u drop=%u ifdrop=%u got=%lu\n", ps.ps_recv, ps.ps_drop, ps.ps_ifdrop,
	       atomic_load(&got));
	if (reason)
		printf("end reason=%s\n", reason);
	pcap_close(pd);
	return 0;
}
