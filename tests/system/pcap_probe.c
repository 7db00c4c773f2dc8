/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pcap_probe - a plain libpcap program (it links libpcap only, nothing of mqcap) that the
 * tests run under mqcap-pcap, to use the libpcap calls real programs use in the ways they
 * use them:
 *
 *   pcap_probe [options] NAME
 *     -m MODE      nextex: pcap_next_ex until done (default)
 *                  poll:   nonblocking mode, poll() on pcap_get_selectable_fd, pcap_dispatch
 *                          until it returns 0
 *                  pollblk, select: blocking mode, poll() / select() on the selectable fd
 *                          with a 100 ms timeout, one pcap_dispatch each time it is readable
 *                          (a flow probe's loop: between packets the program runs its timers)
 *                  pollnx: as pollblk, with one pcap_next_ex each time
 *                  alarm:  pcap_loop(-1), pcap_breakloop from a SIGALRM handler after -A ms
 *                  refilter: -c times pcap_compile + pcap_setfilter (alternating), while
 *                          four other threads call pcap_breakloop without pause
 *                  break:  pcap_loop(-1) in this thread, pcap_breakloop from another thread
 *                          once -c packets came (or after -i ms without any)
 *                  open:   pcap_open_live, report, close (bad-input tests)
 *                  ifreq:  look NAME up as programs do, without opening it: ioctl
 *                          SIOCGIFFLAGS, MTU, INDEX, HWADDR, ADDR, NETMASK, BRDADDR on an
 *                          AF_INET socket, if_nametoindex, pcap_lookupnet; prints "ifreq
 *                          flags=... lookupnet=..." (a failed call: its errno name)
 *                  inject: send -c frames (EtherType 0x88b5, broadcast, payload "mqcap-pcap
 *                          inject N"): the first with pcap_inject, the rest with
 *                          pcap_sendpacket; prints "inject sent=N"
 *     -c COUNT     stop after COUNT packets (0: only on idle)
 *     -i IDLE_MS   stop after IDLE_MS without a packet, once one came (default 1500)
 *     -W FIRST_MS  stop when nothing came in the first FIRST_MS (default 20000)
 *     -k CNT       cnt for pcap_dispatch in poll mode (default -1)
 *     -f EXPR      pcap_compile + pcap_setfilter
 *     -s SNAPLEN   -N (nanosecond time stamps)   -p (promiscuous)   -B BYTES (buffer)
 *     -A MS        alarm mode: when the signal comes (default 1000)
 *     -D DIR       pcap_setdirection(in|out|inout) after activation; prints "direction
 *                  rc=RC msg=TEXT" and goes on
 *     -l           print "latency n=N p50_us= p90_us= max_us=": each packet's delay from
 *                  the kernel's receive time stamp to the program
 *     -L           open with pcap_open_live (as older programs do) instead of pcap_create
 *     -t MS        pcap_set_timeout (default 100)   -I (pcap_set_immediate_mode: libpcap's
 *                  TPACKET_V3 starts the timeout only once a packet came, so without it a
 *                  plain libpcap pcap_next_ex waits for ever when the traffic stops)
 *     -w FILE      write the packets with pcap_dump_open / pcap_dump
 *     -R FILE      create FILE once the capture is open
 *
 * Output: "open fd=KIND datalink=D snaplen=S precision=P nonblock=B" (KIND: what the
 * selectable fd is, socket or anon_inode:[eventpoll]), then "stats recv=R drop=D ifdrop=I
 * got=N" and "end reason=count|idle|first|break rc=RC ms=MS" (break mode: how long
 * pcap_loop took to return after pcap_breakloop). The fd loops (poll, pollblk, select) also
 * print "loop ticks=T maxcall=MS": how often the wait timed out (the program's timers ran)
 * and the longest pcap_dispatch call; nextex prints it too (ticks: calls that returned 0). Errors: "error status=N msg=TEXT", exit 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
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

/* -l: each packet's delay from the kernel's receive stamp to the program (microseconds) */
#define LAT_MAX 4096
static bool lat_on;
static long lat_us[LAT_MAX];
static unsigned lat_n;

static void lat_record(const struct pcap_pkthdr *h)
{
	struct timespec t;
	long sub = h->ts.tv_usec;

	if (!lat_on || lat_n == LAT_MAX)
		return;
	if (pcap_get_tstamp_precision(pd) == PCAP_TSTAMP_PRECISION_NANO)
		sub /= 1000;
	clock_gettime(CLOCK_REALTIME, &t);
	lat_us[lat_n++] = (t.tv_sec - h->ts.tv_sec) * 1000000 + t.tv_nsec / 1000 - sub;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

static void lat_report(void)
{
	if (!lat_on || !lat_n)
		return;
	qsort(lat_us, lat_n, sizeof(lat_us[0]), cmp_long);
	printf("latency n=%u p50_us=%ld p90_us=%ld max_us=%ld\n", lat_n, lat_us[lat_n / 2],
	       lat_us[lat_n * 9 / 10], lat_us[lat_n - 1]);
}

static void on_pkt(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
	(void)user;
	lat_record(h);
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

static atomic_long break_ms = -1;   /* set by a thread or a signal handler */

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

/* ioctl(req) on name: the field's text, or the errno's name */
static const char *ifreq_field(int fd, unsigned long req, const char *name)
{
	static char out[8][64];
	static unsigned k;
	char *o = out[k++ % 8];
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);   /* as programs copy it */
	if (ioctl(fd, req, &ifr) < 0) {
		snprintf(o, 64, "E%s", strerrorname_np(errno));
		return o;
	}
	switch (req) {
	case SIOCGIFFLAGS: snprintf(o, 64, "0x%x", (unsigned)ifr.ifr_flags & 0xffff); break;
	case SIOCGIFMTU: snprintf(o, 64, "%d", ifr.ifr_mtu); break;
	case SIOCGIFINDEX: snprintf(o, 64, "%d", ifr.ifr_ifindex); break;
	case SIOCGIFHWADDR: {
		const unsigned char *a = (const unsigned char *)ifr.ifr_hwaddr.sa_data;

		snprintf(o, 64, "%02x:%02x:%02x:%02x:%02x:%02x", a[0], a[1], a[2], a[3], a[4], a[5]);
		break;
	}
	default: /* the addresses */
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr, o, 64);
	}
	return o;
}

static void ifreq_report(const char *name)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	char errbuf[PCAP_ERRBUF_SIZE], n[INET_ADDRSTRLEN] = "-", m[INET_ADDRSTRLEN] = "-";
	bpf_u_int32 net, mask;

	if (fd < 0)
		die(-1, "socket");
	if (pcap_lookupnet(name, &net, &mask, errbuf) == 0) {
		inet_ntop(AF_INET, &net, n, sizeof(n));
		inet_ntop(AF_INET, &mask, m, sizeof(m));
	}
	printf("ifreq flags=%s mtu=%s index=%s hwaddr=%s addr=%s netmask=%s brdaddr=%s "
	       "nametoindex=%u lookupnet=%s/%s\n", ifreq_field(fd, SIOCGIFFLAGS, name),
	       ifreq_field(fd, SIOCGIFMTU, name), ifreq_field(fd, SIOCGIFINDEX, name),
	       ifreq_field(fd, SIOCGIFHWADDR, name), ifreq_field(fd, SIOCGIFADDR, name),
	       ifreq_field(fd, SIOCGIFNETMASK, name), ifreq_field(fd, SIOCGIFBRDADDR, name),
	       if_nametoindex(name), n, m);
	close(fd);
}

static void on_alarm(int sig)
{
	(void)sig;
	break_ms = now_ms();
	pcap_breakloop(pd);
}

static atomic_bool stop_breaking;

static void *break_spinner(void *arg)
{
	unsigned long *n = arg;

	while (!atomic_load(&stop_breaking)) {
		pcap_breakloop(pd);
		(*n)++;
	}
	return NULL;
}

/* A program's event loop on the selectable fd: wait (poll or select, 100 ms), then
 * pcap_dispatch; nonblocking: dispatch until nothing is left. Returns the end reason. */
static const char *fd_loop(long start, int kcnt, bool nonblock, bool use_select, bool nx)
{
	int fd = pcap_get_selectable_fd(pd), rc, r;
	unsigned long ticks = 0;
	long maxcall = 0, t0;
	const char *reason;

	if (fd < 0)
		die(fd, "pcap_get_selectable_fd");
	while (!(reason = done(start))) {
		if (use_select) {
			struct timeval tv = { .tv_sec = 0, .tv_usec = 100000 };
			fd_set rd;

			FD_ZERO(&rd);
			FD_SET(fd, &rd);
			r = select(fd + 1, &rd, NULL, NULL, &tv);
		} else {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };

			r = poll(&pfd, 1, nonblock ? 50 : 100);
		}
		if (r < 0 && errno != EINTR)
			die(-1, use_select ? "select" : "poll");
		if (r == 0) {
			ticks++;   /* the program's own timers would run here */
			if (!nonblock)
				continue;
		}
		do {
			t0 = now_ms();
			if (nx) {
				struct pcap_pkthdr *h;
				const u_char *data;

				rc = pcap_next_ex(pd, &h, &data);
				if (rc == 1)
					on_pkt(NULL, h, data);
			} else {
				rc = pcap_dispatch(pd, kcnt, on_pkt, NULL);
			}
			if (now_ms() - t0 > maxcall)
				maxcall = now_ms() - t0;
		} while (nonblock && rc > 0 && !done(start));
		if (rc < 0)
			die(rc, "pcap_dispatch");
	}
	printf("loop ticks=%lu maxcall=%ld\n", ticks, maxcall);
	return reason;
}

int main(int argc, char **argv)
{
	const char *mode = "nextex", *filter = NULL, *wfile = NULL, *ready = NULL, *reason;
	int snaplen = 262144, nano = 0, promisc = 0, buffer = 0, kcnt = -1, opt, rc = 0, to = 100, imm = 0;
	int alarm_ms = 1000, live = 0;
	const char *dir = NULL;
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_stat ps;
	long start;

	while ((opt = getopt(argc, argv, "m:c:i:W:k:f:s:NpB:w:R:t:IA:LD:l")) != -1) {
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
		case 'A': alarm_ms = atoi(optarg); break;
		case 'L': live = 1; break;
		case 'D': dir = optarg; break;
		case 'l': lat_on = true; break;
		default:
			fprintf(stderr, "usage: pcap_probe [-m nextex|poll|pollblk|select|alarm|refilter|break|open|inject|ifreq] "
				"[-c N] [-i MS] [-A MS] [-L] [-l] [-D in|out|inout] "
				"[-W MS] [-k CNT] [-f EXPR] [-s LEN] [-N] [-p] [-B BYTES] [-t MS] [-I] "
				"[-w FILE] [-R FILE] NAME\n");
			return 2;
		}
	}
	if (optind != argc - 1)
		return 2;

	if (!strcmp(mode, "ifreq")) {
		ifreq_report(argv[optind]);
		return 0;
	}
	if (!strcmp(mode, "open") || live) {
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
	if (dir) {
		int d = !strcmp(dir, "in") ? PCAP_D_IN : !strcmp(dir, "out") ? PCAP_D_OUT : PCAP_D_INOUT;
		int drc = pcap_setdirection(pd, (pcap_direction_t)d);

		printf("direction rc=%d msg=%s\n", drc, drc ? pcap_geterr(pd) : "");
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
	printf("open fd=%s datalink=%d snaplen=%d precision=%d nonblock=%d activate=%d\n",
	       fd_kind(pcap_get_selectable_fd(pd)), pcap_datalink(pd), pcap_snapshot(pd),
	       pcap_get_tstamp_precision(pd), pcap_getnonblock(pd, errbuf), rc);
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
		unsigned long ticks = 0;
		long maxcall = 0, t0;

		while (!(reason = done(start))) {
			t0 = now_ms();
			rc = pcap_next_ex(pd, &h, &data);
			if (now_ms() - t0 > maxcall)
				maxcall = now_ms() - t0;
			if (rc < 0)
				die(rc, "pcap_next_ex");
			if (rc == 1)
				on_pkt(NULL, h, data);
			else
				ticks++;
		}
		printf("loop ticks=%lu maxcall=%ld\n", ticks, maxcall);
	} else if (!strcmp(mode, "poll") || !strcmp(mode, "pollblk") || !strcmp(mode, "select") ||
		   !strcmp(mode, "pollnx")) {
		reason = fd_loop(start, kcnt, !strcmp(mode, "poll"), !strcmp(mode, "select"),
				 !strcmp(mode, "pollnx"));
	} else if (!strcmp(mode, "alarm")) {
		struct sigaction sa = { .sa_handler = on_alarm };
		struct itimerval it = { .it_value = { .tv_sec = alarm_ms / 1000,
						      .tv_usec = alarm_ms % 1000 * 1000 } };

		sigemptyset(&sa.sa_mask);
		sa.sa_flags = SA_RESTART;   /* as most programs set it: the wake must not need EINTR */
		if (sigaction(SIGALRM, &sa, NULL) || setitimer(ITIMER_REAL, &it, NULL))
			die(-1, "setitimer");
		rc = pcap_loop(pd, -1, on_pkt, NULL);
		if (rc != PCAP_ERROR_BREAK)
			die(rc, "pcap_loop did not return PCAP_ERROR_BREAK");
		printf("end reason=break rc=%d ms=%ld\n", rc, now_ms() - break_ms);
		reason = NULL;
	} else if (!strcmp(mode, "refilter")) {
		/* more spinners than CPUs: one preempted inside pcap_breakloop is what a
		 * race with the reopen needs */
		unsigned long breaks[4] = { 0 }, i, nb = 0;
		pthread_t t[4];

		for (i = 0; i < 4; i++)
			if (pthread_create(&t[i], NULL, break_spinner, &breaks[i]))
				die(-1, "pthread_create");
		for (i = 0; i < want; i++) {
			struct bpf_program prog;

			if (pcap_compile(pd, &prog, i % 2 ? "tcp" : "udp", 1, PCAP_NETMASK_UNKNOWN))
				die(-1, "pcap_compile");
			if (pcap_setfilter(pd, &prog))
				die(-1, "pcap_setfilter");
			pcap_freecode(&prog);
		}
		atomic_store(&stop_breaking, true);
		for (unsigned k = 0; k < 4; k++) {
			pthread_join(t[k], NULL);
			nb += breaks[k];
		}
		printf("refilter filters=%lu breaks=%lu\n", i, nb);
		reason = "count";
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
	lat_report();
	printf("stats recv=%u drop=%u ifdrop=%u got=%lu\n", ps.ps_recv, ps.ps_drop, ps.ps_ifdrop,
	       atomic_load(&got));
	if (reason)
		printf("end reason=%s\n", reason);
	pcap_close(pd);
	return 0;
}
