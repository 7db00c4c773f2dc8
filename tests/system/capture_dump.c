/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * capture_dump - open a capture name with options and print one line per packet, then the
 * counters, so that shell tests can compare what arrived with what they predicted.
 *
 *   capture_dump [options] NAME
 *     -f EXPR       filter (tcpdump syntax)
 *     -b BACKEND    auto | packet | xdp | pcap
 *     -s SNAPLEN    -r RING_BYTES   -p (promiscuous)   -V (leave stripped VLAN tags out)
 *     -d DIR        in | out | inout
 *     -n COUNT      stop after COUNT packets
 *     -i IDLE_MS    stop after IDLE_MS without a packet, once one came (default 1000; 0: never)
 *     -W FIRST_MS   stop when no packet came in the first FIRST_MS (default 10000; 0: never)
 *     -T TOTAL_MS   stop after TOTAL_MS in all
 *     -R FILE       create FILE once the capture is open (tests wait for it before sending)
 *     -w FILE       also write the packets to FILE (pcap, nanosecond stamps)
 *     -q            no per-packet lines
 *     -B BURST      packets per mqcap_recv_burst (default 64)
 *     -S SLEEP_MS   sleep this long after opening before reading (lets the ring overflow)
 *     -P            predict each packet's RX queue with rss.h from $RSS_KEY (80 hex digits)
 *                   and $RSS_TABLE (128 comma-separated queues), as mqcap-testbed env prints
 *                   them, and add rssq=Q to the packet line
 *
 * Output, one line each:
 *   backend NAME queues N
 *   reason TEXT             (mqcap_backend_reason())
 *   stack-warning TEXT|-    (mqcap_stack_warning(), '-' when NULL)
 *   pkt dev=D queue=Q len=L caplen=C ts=NS hash=H16 flags=F vlan=ID[.ID]|- proto=P src=A
 *       sport=S dst=B dport=T [rssq=Q]  (one line; fields the frame lacks print as '-')
 *   queue i=I dev=NAME q=Q received=R bytes=B filtered=F kernel_seen=K drop_ring_full=D
 *   total received=R bytes=B filtered=F kernel_seen=K drop_ring_full=D
 *   end reason=count|idle|time|eof|signal
 * Errors: "error errno=NAME msg=TEXT fds_leaked=N" on stdout and exit 1 (open), or
 * "error errno=NAME msg=TEXT" and exit 2 (receive).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "mqcap/frame.h"
#include "mqcap/mqcap.h"
#include "mqcap/rss.h"

static uint8_t rss_key[MQCAP_RSS_KEY_LEN];
static uint16_t rss_table[MQCAP_RSS_TABLE_SIZE];

static int rss_load(void)
{
	if (mqcap_rss_key_parse(getenv("RSS_KEY"), rss_key) ||
	    mqcap_rss_table_parse(getenv("RSS_TABLE"), rss_table)) {
		fprintf(stderr, "capture_dump: -P needs RSS_KEY (80 hex digits) and RSS_TABLE "
			"(%d comma-separated queues)\n", MQCAP_RSS_TABLE_SIZE);
		return -1;
	}
	return 0;
}

static uint64_t fnv1a(const uint8_t *p, uint32_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (uint32_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own fd */
}

static uint64_t mono_ms(void)
{
	return cli_now_ns() / 1000000;
}

static const char *errno_name(int e)
{
	const char *n = strerrorname_np(e);

	return n ? n : "other";
}

/* Describe the frame: VLAN ids, protocol, addresses and ports (frame.h's parser). */
static void describe(const uint8_t *p, uint32_t n, char *out, size_t len)
{
	char vlan[32] = "-", src[INET6_ADDRSTRLEN] = "-", dst[INET6_ADDRSTRLEN] = "-";
	char sport[8] = "-", dport[8] = "-";
	const char *proto = "other";
	struct mqcap_frame f;

	if (mqcap_frame_parse(p, p + n, &f) == MQCAP_FRAME_NONE && !f.vlans) {
		snprintf(out, len, "vlan=- proto=short src=- sport=- dst=- dport=-");
		return;
	}
	if (f.vlans == 1)
		snprintf(vlan, sizeof(vlan), "%u", f.vlan_tci[0] & 0xfffu);
	else if (f.vlans == 2)
		snprintf(vlan, sizeof(vlan), "%u.%u", f.vlan_tci[0] & 0xfffu, f.vlan_tci[1] & 0xfffu);
	if (f.ip_version) {
		int af = f.ip_version == 4 ? AF_INET : AF_INET6;

		proto = f.ip_version == 4 ? "ipv4" : "ipv6";
		inet_ntop(af, mqcap_frame_saddr(p, &f), src, sizeof(src));
		inet_ntop(af, mqcap_frame_daddr(p, &f), dst, sizeof(dst));
		if (f.l4_proto == 6 || f.l4_proto == 17)
			proto = f.l4_proto == 6 ? "tcp" : "udp";
		else if (f.l4_proto == 1)
			proto = "icmp";
		else if (f.l4_proto == 58)
			proto = "icmp6";
		if (f.flags & MQCAP_FRAME_F_PORTS) {
			snprintf(sport, sizeof(sport), "%u", f.sport);
			snprintf(dport, sizeof(dport), "%u", f.dport);
		}
	} else if (f.ethertype == 0x0806) {
		proto = "arp";
	}
	snprintf(out, len, "vlan=%s proto=%s src=%s sport=%s dst=%s dport=%s", vlan, proto, src,
		 sport, dst, dport);
}

static void print_stats(const char *head, const struct mqcap_stats *s)
{
	printf("%s received=%" PRIu64 " bytes=%" PRIu64 " filtered=%" PRIu64 " kernel_seen=%"
	       PRIu64 " drop_ring_full=%" PRIu64 "\n", head, s->received, s->bytes, s->filtered,
	       s->kernel_seen, s->drop_ring_full);
}

int main(int argc, char **argv)
{
	MQCAP_OPTS(o);
	const char *ready = NULL, *wfile = NULL, *go = NULL, *reason = "signal";
	uint64_t sleep_ms = 0, count = 0, idle_ms = 1000, first_ms = 10000, total_ms = 0, got = 0, start, last;
	unsigned burst = 64;
	bool quiet = false, predict = false, went = false;
	struct mqcap_pkt *pkts;
	pcap_dumper_t *dumper = NULL;
	pcap_t *dead = NULL;
	mqcap_t *c;
	int opt, rc = 0, fds_before;

	while ((opt = getopt(argc, argv, "f:b:s:r:pVd:n:i:W:T:R:w:qB:PS:G:h")) != -1) {
		switch (opt) {
		case 'f': o.filter = optarg; break;
		case 'b':
			if (!strcmp(optarg, "auto")) o.backend = MQCAP_BACKEND_AUTO;
			else if (!strcmp(optarg, "packet")) o.backend = MQCAP_BACKEND_PACKET;
			else if (!strcmp(optarg, "xdp")) o.backend = MQCAP_BACKEND_XDP;
			else if (!strcmp(optarg, "pcap")) o.backend = MQCAP_BACKEND_PCAP;
			else { fprintf(stderr, "capture_dump: unknown backend %s\n", optarg); return 64; }
			break;
		case 's': o.snaplen = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'r': o.ring_bytes = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'p': o.flags |= MQCAP_F_PROMISC; break;
		case 'V': o.flags |= MQCAP_F_NO_VLAN_RESTORE; break;
		case 'd':
			if (!strcmp(optarg, "in")) o.direction = MQCAP_DIR_IN;
			else if (!strcmp(optarg, "out")) o.direction = MQCAP_DIR_OUT;
			else if (!strcmp(optarg, "inout")) o.direction = MQCAP_DIR_INOUT;
			else { fprintf(stderr, "capture_dump: direction in|out|inout\n"); return 64; }
			break;
		case 'n': count = strtoull(optarg, NULL, 0); break;
		case 'i': idle_ms = strtoull(optarg, NULL, 0); break;
		case 'W': first_ms = strtoull(optarg, NULL, 0); break;
		case 'T': total_ms = strtoull(optarg, NULL, 0); break;
		case 'R': ready = optarg; break;
		case 'w': wfile = optarg; break;
		case 'q': quiet = true; break;
		case 'B': burst = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'P': predict = true; break;
		case 'S': sleep_ms = strtoull(optarg, NULL, 0); break;
		case 'G': go = optarg; break;
		default:
			fprintf(stderr, "usage: capture_dump [-f EXPR] [-b BACKEND] [-s SNAPLEN] "
				"[-r RING] [-p] [-V] [-d in|out|inout] [-n COUNT] [-i IDLE_MS] [-W FIRST_MS] "
				"[-T TOTAL_MS] [-R READYFILE] [-w FILE] [-q] [-B BURST] [-P] [-S SLEEP_MS] [-G GOFILE] NAME\n");
			return opt == 'h' ? 0 : 64;
		}
	}
	if (optind != argc - 1 || !burst) {
		fprintf(stderr, "capture_dump: one capture name expected (-h for help)\n");
		return 64;
	}
	if (predict && rss_load())
		return 64;
	cli_stop_on_signals();

	fds_before = count_fds();
	c = mqcap_open(argv[optind], &o);
	if (!c) {
		int e = errno;

		/* a failed open must leave nothing open: the tests check fds_leaked=0 */
		printf("error errno=%s msg=%s fds_leaked=%d\n", errno_name(e), mqcap_last_error(),
		       count_fds() - fds_before);
		return 1;
	}
	printf("backend %s queues %u\n", mqcap_backend_name(c), mqcap_queue_count(c));
	printf("reason %s\nstack-warning %s\n", mqcap_backend_reason(c),
	       mqcap_stack_warning(c) ? mqcap_stack_warning(c) : "-");
	fflush(stdout);
	if (wfile) {
		dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 262144,
							    PCAP_TSTAMP_PRECISION_NANO);
		dumper = dead ? pcap_dump_open(dead, wfile) : NULL;
		if (!dumper) {
			fprintf(stderr, "capture_dump: cannot write %s\n", wfile);
			return 1;
		}
	}
	if (ready) {
		int fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd >= 0)
			close(fd);
	}
	pkts = calloc(burst, sizeof(*pkts));
	if (sleep_ms)
		usleep((useconds_t)(sleep_ms * 1000));
	start = last = mono_ms();
	while (!cli_stop_requested()) {
		uint64_t now = mono_ms();
		int n;

		if (total_ms && now - start >= total_ms) {
			reason = "time";
			break;
		}
		/* -G: the idle timer starts when GOFILE appears (the sender is done), so that a stray
		 * frame (an IPv6 router solicitation) arriving long before the traffic cannot end the
		 * capture while the test is still starting others. */
		if (go && !went && !access(go, F_OK)) {
			went = true;
			last = now;
		}
		if (got ? idle_ms && (!go || went) && now - last >= idle_ms :
			  first_ms && now - start >= first_ms) {
			reason = "idle";
			break;
		}
		n = mqcap_recv_burst(c, pkts, burst, 50);
		if (n == -ENODATA) {
			reason = "eof";
			break;
		}
		if (n < 0) {
			printf("error errno=%s msg=%s\n", errno_name(-n), mqcap_errmsg(c));
			rc = 2;
			reason = "error";
			break;
		}
		if (n > 0)
			last = mono_ms();
		for (int i = 0; i < n; i++) {
			const struct mqcap_pkt *p = &pkts[i];
			char d[200];

			if (!quiet) {
				describe(p->data, p->caplen, d, sizeof(d));
				printf("pkt dev=%u queue=%u len=%u caplen=%u ts=%" PRIu64 " hash=%016"
				       PRIx64 " flags=%u %s", p->dev, p->queue, p->len, p->caplen,
				       p->ts_ns, fnv1a(p->data, p->caplen), p->flags, d);
				if (predict)
					printf(" rssq=%u", mqcap_rss_frame_queue(
					       rss_key, rss_table, p->data, p->caplen, NULL));
				putchar('\n');
			}
			if (dumper) {
				struct pcap_pkthdr h = { .caplen = p->caplen, .len = p->len };

				h.ts.tv_sec = (time_t)(p->ts_ns / 1000000000ull);
				h.ts.tv_usec = (suseconds_t)(p->ts_ns % 1000000000ull);
				pcap_dump((u_char *)dumper, &h, p->data);
			}
			got++;
		}
		if (count && got >= count) {
			reason = "count";
			break;
		}
	}
	mqcap_release(c);
	for (unsigned i = 0; i < mqcap_queue_count(c); i++) {
		struct mqcap_queue_info qi;
		struct mqcap_stats s;
		char head[64];

		if (mqcap_queue_info(c, i, &qi) || mqcap_queue_stats(c, i, &s))
			continue;
		snprintf(head, sizeof(head), "queue i=%u dev=%s q=%u", i, qi.dev_name, qi.queue);
		print_stats(head, &s);
	}
	{
		struct mqcap_stats s;

		if (mqcap_stats(c, &s) == 0)
			print_stats("total", &s);
	}
	printf("end reason=%s\n", reason);
	if (dumper)
		pcap_dump_close(dumper);
	if (dead)
		pcap_close(dead);
	free(pkts);
	mqcap_close(c);
	return rc;
}
