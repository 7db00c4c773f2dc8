/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * options.c - mqsend's command line. Every check that can fail is made here or in main()
 * before a socket is opened, so bad input is an error that sends nothing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mqcap/payload.h>

#include "cli.h"
#include "mqsend.h"

static const char usage[] =
"Usage: mqsend -i DEV [options]\n"
"Send generated traffic (or replay a capture) on DEV as fast as possible, or at a rate.\n"
"Every generated packet carries a verification payload (include/mqcap/payload.h):\n"
"sender id, flow id, per-flow sequence number and a checksum, so a receiver can count\n"
"loss, duplicates and reordering per flow.\n"
"\n"
"Device and path:\n"
"  -i, --dev DEV          device to send on (required; also -o/--out as in trafgen)\n"
"  -m, --mode MODE        bypass: AF_PACKET TX ring, qdisc bypassed (default, fastest;\n"
"                           the kernel picks the TX queue by CPU, tc egress is skipped)\n"
"                         qdisc:  AF_PACKET TX ring through the qdisc (tc programs run,\n"
"                           e.g. the testbed's RSS emulation)\n"
"                         xdp:    AF_XDP, one TX-only socket per TX queue (copy mode)\n"
"      --rss              xdp: send each flow on the TX queue RSS picks for it (Toeplitz\n"
"                         hash of the flow + indirection table), so it lands on that RX\n"
"                         queue of a veth peer\n"
"      --rss-key HEX      40-byte key, 80 hex digits (default: the Microsoft key)\n"
"      --rss-table LIST   128 comma-separated queues (default: entry i -> i %% queues)\n"
"      --queue Q          xdp without --rss: thread t sends on TX queue Q+t (default 0)\n"
"\n"
"How much and how fast:\n"
"  -c, --count N          send N packets in all, then stop (k/M/G suffixes; also -n)\n"
"  -d, --duration T       stop after T (10, 10s, 500ms, 2m)\n"
"  -r, --rate PPS         packets per second in all, paced evenly (k/M/G; also --pps)\n"
"  -b, --bps BPS          bits per second in all (frame bytes with FCS), paced evenly\n"
"  -t, --threads N        sender threads (default 1); each sends its own share of the flows\n"
"  -g, --cpus LIST        pin thread i to the i-th CPU of LIST (e.g. 1 or 0-3,6)\n"
"\n"
"What (generated traffic):\n"
"      --paper            the paper's workload: 64-byte TCP frames from one source to 4096\n"
"                         rotating destinations (198.18.0.1 -> 198.19.0.0-198.19.15.255)\n"
"  -s, --size S           frame size with FCS: N, a range LO-HI (uniform), or imix\n"
"                         (7:4:1 of 64, 594, 1518 bytes). Default 64. A 64-byte frame is\n"
"                         60 bytes handed to the device.\n"
"  -P, --proto P          tcp (default) or udp\n"
"      --src A[-B]        source address or range (IPv4 or IPv6; default 198.18.0.1)\n"
"      --dst A[-B]        destination address or range (default 198.18.0.2)\n"
"      --sport P[-Q]      source port or range (default 1024)\n"
"      --dport P[-Q]      destination port or range (default 80)\n"
"      --src-mac MAC      default: DEV's address\n"
"      --dst-mac MAC      default: ff:ff:ff:ff:ff:ff\n"
"      --vlan ID[,ID2]    one 802.1Q tag, or QinQ (outer 802.1ad ID, inner 802.1Q ID2)\n"
"      --sender-id N      sender id in the payload (thread t writes N+t; default 0)\n"
"  Flows are every combination of the ranges; the destination address varies fastest.\n"
"  Thread t sends flows t, t+T, t+2T, ... round robin, each with its own sequence.\n"
"\n"
"Replay:\n"
"  -f, --file FILE        send the packets of a pcap or pcapng file (Ethernet), unchanged\n"
"  -l, --loop N           send the file N times (default 1; 0: until stopped)\n"
"      --topspeed         as fast as possible (default: the file's own timing, or -r/-b)\n"
"\n"
"Output:\n"
"      --json             final summary as one JSON object on stdout; no live line\n"
"  -q, --quiet            no live line (the summary still prints)\n"
"  -h, --help             this text;  -V, --version\n"
"\n"
"Counting: packets and bytes are what the kernel accepted; errors are frames it refused\n"
"or dropped; 'device tx drops' are frames the device lost: its tx_dropped counter over the\n"
"run, less the frames it refused that came back to mqsend and were sent again (retried:\n"
"bypass mode, or a device whose root qdisc is noqueue, such as veth).\n";

enum {
	OPT_PAPER = 256, OPT_SRC, OPT_DST, OPT_SPORT, OPT_DPORT, OPT_SRC_MAC, OPT_DST_MAC,
	OPT_VLAN, OPT_SENDER, OPT_TOPSPEED, OPT_RSS, OPT_RSS_KEY, OPT_RSS_TABLE, OPT_QUEUE,
	OPT_JSON,
};

static const struct option longopts[] = {
	{ "dev", required_argument, NULL, 'i' },
	{ "interface", required_argument, NULL, 'i' },	/* tcpreplay */
	{ "out", required_argument, NULL, 'i' },		/* trafgen */
	{ "mode", required_argument, NULL, 'm' },
	{ "count", required_argument, NULL, 'c' },
	{ "duration", required_argument, NULL, 'd' },
	{ "rate", required_argument, NULL, 'r' },
	{ "pps", required_argument, NULL, 'r' },		/* tcpreplay */
	{ "num", required_argument, NULL, 'c' },		/* trafgen */
	{ "bps", required_argument, NULL, 'b' },
	{ "threads", required_argument, NULL, 't' },
	{ "cpus", required_argument, NULL, 'g' },
	{ "size", required_argument, NULL, 's' },
	{ "proto", required_argument, NULL, 'P' },
	{ "file", required_argument, NULL, 'f' },
	{ "loop", required_argument, NULL, 'l' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "paper", no_argument, NULL, OPT_PAPER },
	{ "src", required_argument, NULL, OPT_SRC },
	{ "dst", required_argument, NULL, OPT_DST },
	{ "sport", required_argument, NULL, OPT_SPORT },
	{ "dport", required_argument, NULL, OPT_DPORT },
	{ "src-mac", required_argument, NULL, OPT_SRC_MAC },
	{ "dst-mac", required_argument, NULL, OPT_DST_MAC },
	{ "vlan", required_argument, NULL, OPT_VLAN },
	{ "sender-id", required_argument, NULL, OPT_SENDER },
	{ "topspeed", no_argument, NULL, OPT_TOPSPEED },
	{ "rss", no_argument, NULL, OPT_RSS },
	{ "rss-key", required_argument, NULL, OPT_RSS_KEY },
	{ "rss-table", required_argument, NULL, OPT_RSS_TABLE },
	{ "queue", required_argument, NULL, OPT_QUEUE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ NULL, 0, NULL, 0 },
};

__attribute__((format(printf, 1, 2)))
static _Noreturn void bad(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", program_invocation_short_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", program_invocation_short_name);
	exit(2);
}

/* A number > 0 (with cli_parse_u64's k/M/G suffixes) for option opt, or exit 2. */
static uint64_t parse_positive(const char *opt, const char *what, const char *arg)
{
	uint64_t v;

	if (cli_parse_u64(arg, opt, &v) || !v)
		bad("%s: expected a positive %s, got '%s'", opt, what, arg);
	return v;
}

static int parse_addr(const char *s, uint8_t *out, bool *v6)
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out) == 1) {
		*v6 = false;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out) == 1) {
		*v6 = true;
		return 0;
	}
	return -1;
}

static void parse_range(const char *opt, const char *s, struct mqs_range *r)
{
	char buf[128];
	char *dash;
	bool v6b;
	unsigned off;

	if (strlen(s) >= sizeof(buf))
		bad("address range too long: '%s'", s);
	strcpy(buf, s);
	/* IPv6 addresses contain no '-', so the first '-' splits the range. */
	dash = strchr(buf, '-');
	if (dash)
		*dash++ = 0;
	if (parse_addr(buf, r->lo, &r->v6))
		bad("not an IPv4 or IPv6 address: '%s'", buf);
	if (!dash) {
		memcpy(r->hi, r->lo, 16);
	} else {
		if (parse_addr(dash, r->hi, &v6b) || v6b != r->v6)
			bad("range end is not an address of the same family: '%s'", dash);
		if (r->v6 && memcmp(r->lo, r->hi, 12))
			bad("an IPv6 range may vary only in the last 32 bits: '%s'", s);
	}
	off = r->v6 ? 12 : 0;
	if (memcmp(r->lo + off, r->hi + off, 4) > 0)
		bad("range runs backwards: '%s'", s);
	r->set = true;
	(void)opt;
}

static void parse_ports(const char *s, unsigned *lo, unsigned *hi)
{
	char *end;
	unsigned long a, b;

	errno = 0;
	a = strtoul(s, &end, 10);
	b = a;
	if (*end == '-')
		b = strtoul(end + 1, &end, 10);
	if (errno || *end || end == s || a > 65535 || b > 65535 || b < a)
		bad("expected a port or a range like 1024-2047, got '%s'", s);
	*lo = (unsigned)a;
	*hi = (unsigned)b;
}

static void parse_mac(const char *s, uint8_t *mac)
{
	unsigned v[6];
	char c;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &c) != 6)
		bad("expected a MAC address like 02:00:00:00:00:01, got '%s'", s);
	for (int i = 0; i < 6; i++) {
		if (v[i] > 255)
			bad("expected a MAC address like 02:00:00:00:00:01, got '%s'", s);
		mac[i] = (uint8_t)v[i];
	}
}

static void parse_size(const char *s, struct mqs_opts *o)
{
	char *end;
	unsigned long a, b;

	if (!strcmp(s, "imix")) {
		o->imix = true;
		o->size_lo = 64;
		o->size_hi = 1518;
		return;
	}
	errno = 0;
	a = strtoul(s, &end, 10);
	b = a;
	if (*end == '-')
		b = strtoul(end + 1, &end, 10);
	if (errno || *end || end == s || b < a || b > MQS_FRAME_MAX + MQS_FCS)
		bad("expected a frame size N, a range LO-HI or 'imix', got '%s'", s);
	o->size_lo = (unsigned)a;
	o->size_hi = (unsigned)b;
}

void mqs_opts_parse(int argc, char **argv, struct mqs_opts *o)
{
	uint64_t v;
	int c;
	bool size_set = false, proto_set = false, loop_set = false, rss_key_set = false;
	static const uint8_t mskey[MQCAP_RSS_KEY_LEN] = MQCAP_RSS_KEY_MICROSOFT;

	memset(o, 0, sizeof(*o));
	o->threads = 1;
	o->proto = IPPROTO_TCP;
	o->sport_lo = o->sport_hi = 1024;
	o->dport_lo = o->dport_hi = 80;
	o->size_lo = o->size_hi = 64;
	o->loops = 1;
	memset(o->dst_mac, 0xff, 6);

	while ((c = getopt_long(argc, argv, "i:o:m:c:n:d:r:b:t:g:s:P:f:l:qhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
		case 'o':
			o->dev = optarg;
			break;
		case 'm':
			if (!strcmp(optarg, "bypass") || !strcmp(optarg, "ring"))
				o->mode = MQS_MODE_BYPASS;
			else if (!strcmp(optarg, "qdisc"))
				o->mode = MQS_MODE_QDISC;
			else if (!strcmp(optarg, "xdp"))
				o->mode = MQS_MODE_XDP;
			else
				bad("unknown mode '%s' (bypass, qdisc or xdp)", optarg);
			break;
		case 'c':
		case 'n':
			o->count = parse_positive("--count", "number", optarg);
			break;
		case 'd':
			if (cli_parse_duration_ms(optarg, "--duration", &o->duration_ms) || !o->duration_ms)
				bad("--duration: expected a positive duration, got '%s'", optarg);
			break;
		case 'r':
			o->rate_pps = parse_positive("--rate", "packets/s rate", optarg);
			break;
		case 'b':
			o->rate_bps = parse_positive("--bps", "bits/s rate", optarg);
			break;
		case 't':
			if (cli_parse_u64(optarg, "--threads", &v) || !v || v > MQS_MAX_THREADS)
				bad("--threads: expected 1 to 64, got '%s'", optarg);
			o->threads = (unsigned)v;
			break;
		case 'g':
			o->ncpus = cli_parse_cpulist(optarg, "--cpus", &o->cpus);
			if (o->ncpus <= 0)
				exit(2);
			cli_cpus_of(&o->cpus, o->cpu_list, CPU_SETSIZE);
			break;
		case 's':
			parse_size(optarg, o);
			size_set = true;
			break;
		case 'P':
			if (!strcmp(optarg, "tcp"))
				o->proto = IPPROTO_TCP;
			else if (!strcmp(optarg, "udp"))
				o->proto = IPPROTO_UDP;
			else
				bad("--proto: expected tcp or udp, got '%s'", optarg);
			proto_set = true;
			break;
		case 'f':
			o->file = optarg;
			break;
		case 'l':
			if (cli_parse_u64(optarg, "--loop", &o->loops))
				exit(2);
			loop_set = true;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		case 'V':
			printf("mqsend (mqcap) %s\n", MQCAP_VERSION);
			exit(0);
		case OPT_PAPER:
			o->paper = true;
			break;
		case OPT_SRC:
			parse_range("--src", optarg, &o->src);
			break;
		case OPT_DST:
			parse_range("--dst", optarg, &o->dst);
			break;
		case OPT_SPORT:
			parse_ports(optarg, &o->sport_lo, &o->sport_hi);
			break;
		case OPT_DPORT:
			parse_ports(optarg, &o->dport_lo, &o->dport_hi);
			break;
		case OPT_SRC_MAC:
			parse_mac(optarg, o->src_mac);
			o->src_mac_set = true;
			break;
		case OPT_DST_MAC:
			parse_mac(optarg, o->dst_mac);
			break;
		case OPT_VLAN: {
			char *end;
			unsigned long a = strtoul(optarg, &end, 10), b = 0;

			o->nvlan = 1;
			if (*end == ',') {
				b = strtoul(end + 1, &end, 10);
				o->nvlan = 2;
			}
			if (*end || a > 4095 || b > 4095)
				bad("--vlan: expected ID or OUTER,INNER (0-4095), got '%s'", optarg);
			o->vlan[0] = (unsigned)a;
			o->vlan[1] = (unsigned)b;
			break;
		}
		case OPT_SENDER:
			if (cli_parse_u64(optarg, "--sender-id", &v) || v > 65535)
				bad("--sender-id: expected 0 to 65535, got '%s'", optarg);
			o->sender_id = (unsigned)v;
			break;
		case OPT_TOPSPEED:
			o->topspeed = true;
			break;
		case OPT_RSS:
			o->rss = true;
			break;
		case OPT_RSS_KEY:
			if (mqcap_rss_key_parse(optarg, o->rss_key))
				bad("--rss-key: expected 80 hex digits (40 bytes), got '%s'", optarg);
			rss_key_set = true;
			break;
		case OPT_RSS_TABLE:
			if (mqcap_rss_table_parse(optarg, o->rss_table))
				bad("--rss-table: expected 128 comma-separated queue numbers, got '%s'", optarg);
			o->rss_table_set = true;
			break;
		case OPT_QUEUE:
			if (cli_parse_u64(optarg, "--queue", &v) || v >= MQS_MAX_QUEUES)
				bad("--queue: expected a TX queue number, got '%s'", optarg);
			o->queue = (unsigned)v;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		default:
			fprintf(stderr, "Try '%s --help'.\n", program_invocation_short_name);
			exit(2);
		}
	}
	if (optind < argc)
		bad("unexpected argument '%s'", argv[optind]);
	if (!o->dev)
		bad("%s", "no device: give one with -i DEV");
	if (!rss_key_set)
		memcpy(o->rss_key, mskey, sizeof(mskey));
	if ((o->rss || rss_key_set || o->rss_table_set) && o->mode != MQS_MODE_XDP)
		bad("%s", "--rss, --rss-key and --rss-table choose AF_XDP TX queues: use them with -m xdp "
			  "(-m qdisc lets the device's own tc/RSS place flows)");
	if (o->rate_pps && o->rate_bps)
		bad("%s", "give --rate or --bps, not both");
	if (o->file) {
		if (o->paper || size_set || proto_set || o->src.set || o->dst.set || o->nvlan || o->rss)
			bad("%s", "-f replays the file unchanged: generator options (--paper, -s, -P, "
				  "--src/--dst, --vlan, --rss) do not apply");
		if (o->threads > 1)
			bad("%s", "-f replays with one thread, to keep the file's order");
		if (o->mode == MQS_MODE_XDP && !o->topspeed && !o->rate_pps && !o->rate_bps)
			bad("%s", "-m xdp replays at --topspeed or at -r/-b; original timing needs an "
				  "AF_PACKET mode");
	} else if (loop_set || o->topspeed) {
		bad("%s", "--loop and --topspeed apply to replay (-f FILE)");
	}
	if (o->paper) {
		uint8_t a[16];
		bool v6;

		if (!o->src.set) {
			parse_addr("198.18.0.1", a, &v6);
			memcpy(o->src.lo, a, 16);
			memcpy(o->src.hi, a, 16);
			o->src.set = true;
		}
		if (!o->dst.set) {
			parse_addr("198.19.0.0", o->dst.lo, &v6);
			parse_addr("198.19.15.255", o->dst.hi, &v6);
			o->dst.set = true;
		}
		if (!proto_set)
			o->proto = IPPROTO_TCP;
	}
	if (!o->src.set) {
		parse_addr(o->dst.set && o->dst.v6 ? "fd00:198::1" : "198.18.0.1", o->src.lo, &o->src.v6);
		memcpy(o->src.hi, o->src.lo, 16);
	}
	if (!o->dst.set) {
		parse_addr(o->src.v6 ? "fd00:198::2" : "198.18.0.2", o->dst.lo, &o->dst.v6);
		memcpy(o->dst.hi, o->dst.lo, 16);
	}
	if (o->src.v6 != o->dst.v6)
		bad("%s", "--src and --dst must both be IPv4 or both IPv6");
	if (o->ncpus && o->ncpus < (int)o->threads && o->ncpus != 1)
		cli_warn("%d CPUs for %u threads: threads share CPUs round robin", o->ncpus, o->threads);
}
