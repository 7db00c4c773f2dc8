/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mqdump - write what mqcap captures to files, queue by queue, as fast as it captures: one
 * pinned capture thread per virtual device (the worker runtime), pcapng with the RX queue of
 * every packet, per-queue or merged files, rotation and atomic file completion (sink.c).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capname.h"
#include "cli.h"
#include "metrics_cli.h"
#include "privdrop.h"
#include "mqdump.h"
#include "range.h"
#include "run_reports.h"

static const char usage[] =
"Usage: mqdump -i NAME [-i NAME...] -w PATTERN [options] [FILTER...]\n"
"Write captured packets to pcapng (or pcap) files, one capture thread per RX queue.\n"
"\n"
"  -w, --write PATTERN    file names: %d device, %q RX queue, %n file number (00000, 00001...),\n"
"                         %% a '%', any other conversion goes to strftime (%Y%m%d-%H%M%S).\n"
"                         Queues whose names expand the same share one file (merged, each\n"
"                         queue's packets in their order): 'dir/%d@%q.pcapng' one file per\n"
"                         queue, 'dir/all.pcapng' one file for everything\n"
"  -F, --format pcapng|pcap\n"
"                         pcapng (default: RX queue per packet in epb_queue, drop counters at\n"
"                         close) or classic pcap with nanosecond timestamps (libpcap's writer)\n"
"  -C, --file-size SIZE   start a new file before one would grow past SIZE: a plain number is\n"
"                         millions of bytes (as tcpdump's -C), or bytes with k, M, G\n"
"  -G, --rotate-seconds N start a new file at every multiple of N seconds of the wall clock\n"
"                         (-G 60 rotates at :00 of every minute)\n"
"      --file-packets N   start a new file after N packets\n"
"  -W, --file-count N     keep at most N files per output, the one being written included\n"
"                         (the oldest is removed)\n"
"  -z, --postrotate CMD   run 'CMD FILE' (by /bin/sh) on every finished file\n"
"      --force            overwrite files that exist (default: refuse)\n"
"      --buffer SIZE      write buffer per output file (default 1 MiB)\n"
"      --flush-ms N       write buffered packets at least every N ms (default 1000)\n"
"  -i, --interface NAME   what to capture; repeatable. NAME: eth1 (all RX queues), eth1@2\n"
"                         (queue 2), eth1@0-3, eth1@1,5, eth1,eth2, packet:eth1 / xdp:eth1,\n"
"                         pcap:FILE (offline file)\n"
"  -n, --threads N        capture threads (default: one per queue, at most one per CPU)\n"
"  -g, --cpus LIST|auto|none\n"
"                         where threads run (as mqcount: default auto, beside the pollers)\n"
"      --oversubscribe    allow more threads than CPUs\n"
"  -b, --backend auto|xdp|packet\n"
"  -f, --filter EXPR      tcpdump filter; or give it as trailing arguments\n"
"  -s, --snaplen N        bytes kept per packet (default 262144)\n"
"  -c, --count N          stop after about N packets (a burst may add a few; all are written)\n"
"  -d, --duration T       stop after T (10, 10s, 500ms, 2m)\n"
"  -l, --interval T       live line period (default 1s)\n"
"  -q, --quiet            no live line, only the summary\n"
"      --json             JSON lines: one per interval, the summary\n"
METRICS_CLI_HELP"      --pin-pollers      pin unpinned threaded-NAPI pollers where the plan puts them\n"
"      --no-numa          ignore the NIC's NUMA node when placing\n"
"      --batch-us N       wait after a short burst (as mqcount)\n"
"  -Z, --relinquish-privileges USER\n"
"                         open the capture and the first files as root, then go on as USER\n"
"                         with no capability left; later files (rotation) are created by USER\n"
"  -h, --help             this text\n"
"\n"
"A file is written as NAME.part and renamed to NAME once complete (after fsync). Per queue,\n"
"captured = written + write drops; the summary checks it. Exit status: 0, 1 on a capture or\n"
"write error (disk full: files are closed valid), 2 on bad usage. See mqdump(8).\n";

enum {
	OPT_OVERSUB = 256, OPT_JSON, OPT_PIN_POLLERS, OPT_NO_NUMA, OPT_BATCH, OPT_FORCE, OPT_BUFFER,
	OPT_FLUSH, OPT_FILE_PACKETS, OPT_METRICS_FILE, OPT_METRICS_LISTEN,
};

static const struct option longopts[] = {
	{ "write", required_argument, NULL, 'w' },
	{ "format", required_argument, NULL, 'F' },
	{ "file-size", required_argument, NULL, 'C' },
	{ "rotate-seconds", required_argument, NULL, 'G' },
	{ "file-count", required_argument, NULL, 'W' },
	{ "postrotate", required_argument, NULL, 'z' },
	{ "file-packets", required_argument, NULL, OPT_FILE_PACKETS },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "buffer", required_argument, NULL, OPT_BUFFER },
	{ "flush-ms", required_argument, NULL, OPT_FLUSH },
	{ "interface", required_argument, NULL, 'i' },
	{ "threads", required_argument, NULL, 'n' },
	{ "cpus", required_argument, NULL, 'g' },
	{ "backend", required_argument, NULL, 'b' },
	{ "filter", required_argument, NULL, 'f' },
	{ "snaplen", required_argument, NULL, 's' },
	{ "count", required_argument, NULL, 'c' },
	{ "duration", required_argument, NULL, 'd' },
	{ "interval", required_argument, NULL, 'l' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "relinquish-privileges", required_argument, NULL, 'Z' },
	{ "oversubscribe", no_argument, NULL, OPT_OVERSUB },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "pin-pollers", no_argument, NULL, OPT_PIN_POLLERS },
	{ "no-numa", no_argument, NULL, OPT_NO_NUMA },
	{ "batch-us", required_argument, NULL, OPT_BATCH },
	{ "metrics-file", required_argument, NULL, OPT_METRICS_FILE },
	{ "metrics-listen", required_argument, NULL, OPT_METRICS_LISTEN },
	{ 0 },
};

struct ctx {
	struct dump *d;
	uint64_t count;
	_Atomic uint64_t total;
};

static int on_burst(void *user, unsigned worker, const struct mqcap_pkt *pkts, unsigned n)
{
	struct ctx *c = user;

	(void)worker;
	dump_burst(c->d, pkts, n);
	if (atomic_load_explicit(&c->d->failed, memory_order_relaxed))
		return 1;
	if (c->count) {
		uint64_t t = atomic_fetch_add_explicit(&c->total, n, memory_order_relaxed) + n;

		return t >= c->count;
	}
	return 0;
}

/* ---- output: live line, summary, JSON ---- */

struct qline {
	uint64_t cap, wr, wdrop, kdrop, kseen;
};

static void qline_read(struct dump *d, unsigned q, struct qline *l)
{
	struct mqcap_stats st = { 0 };

	mqcap_run_queue_stats(d->run, q, &st);
	l->cap = atomic_load_explicit(&d->cnt[q].captured, memory_order_relaxed);
	l->wr = atomic_load_explicit(&d->cnt[q].written, memory_order_relaxed);
	l->wdrop = atomic_load_explicit(&d->cnt[q].wdrop, memory_order_relaxed);
	l->kdrop = st.drop_ring_full + st.drop_fill_empty + st.drop_no_socket + st.drop_invalid;
	l->kseen = st.kernel_seen;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* stage="write" of the metrics: packets captured but not written (a failed write). */
static uint64_t write_drops(void *user, unsigned q)
{
	struct dump *d = user;

	return q < d->nq ? atomic_load_explicit(&d->cnt[q].wdrop, memory_order_relaxed) : 0;
}

static void print_tick(struct dump *d, bool json, double secs)
{
	if (json)
		printf("{\"tool\":\"mqdump\",\"type\":\"interval\",\"version\":1,\"elapsed_s\":%.3f,"
		       "\"queues\":[", secs);
	else
		printf("%7.1fs", secs);
	for (unsigned q = 0; q < d->nq; q++) {
		struct qline l;

		qline_read(d, q, &l);
		if (json)
			printf("%s{\"name\":\"%s@%u\",\"captured\":%" PRIu64 ",\"written\":%" PRIu64
			       ",\"write_drops\":%" PRIu64 ",\"kernel_drops\":%" PRIu64 "}", q ? "," : "",
			       d->devname[d->qdev[q]], d->qid[q], l.cap, l.wr, l.wdrop, l.kdrop);
		else
			printf("  %s@%u cap %" PRIu64 " wr %" PRIu64 " d:write %" PRIu64 " d:kernel %" PRIu64,
			       d->devname[d->qdev[q]], d->qid[q], l.cap, l.wr, l.wdrop, l.kdrop);
	}
	printf(json ? "]}\n" : "\n");
	fflush(stdout);
}

/* Returns 0 when captured = written + write drops for every queue. */
static int print_summary(struct dump *d, bool json, double secs, const char *fmt)
{
	struct qline t = { 0 };
	uint64_t stray = atomic_load_explicit(&d->stray, memory_order_relaxed);
	uint64_t files = atomic_load_explicit(&d->files_done, memory_order_relaxed);
	uint64_t bytes = atomic_load_explicit(&d->bytes_done, memory_order_relaxed);
	double maxw = (double)dump_max_write_ns() / 1e6;
	int bad = 0;

	if (json)
		printf("{\"tool\":\"mqdump\",\"type\":\"summary\",\"version\":1,\"elapsed_s\":%.3f,"
		       "\"backend\":\"%s\",\"format\":\"%s\",\"queues\":[", secs,
		       mqcap_run_backend_name(d->run), fmt);
	else
		printf("\n== mqdump summary: %.2f s, backend %s, %s\n"
		       "  %-18s %12s %12s %10s %10s %14s\n", secs, mqcap_run_backend_name(d->run), fmt,
		       "queue", "captured", "written", "d:write", "d:kernel", "written/s");
	for (unsigned q = 0; q < d->nq; q++) {
		struct qline l;
		char name[48];

		qline_read(d, q, &l);
		snprintf(name, sizeof(name), "%s@%u", d->devname[d->qdev[q]], d->qid[q]);
		if (l.cap != l.wr + l.wdrop)
			bad = 1;
		t.cap += l.cap;
		t.wr += l.wr;
		t.wdrop += l.wdrop;
		t.kdrop += l.kdrop;
		t.kseen += l.kseen;
		if (json) {
			printf("%s{\"name\":", q ? "," : "");
			json_str(name);
			printf(",\"captured\":%" PRIu64 ",\"written\":%" PRIu64 ",\"write_drops\":%" PRIu64
			       ",\"kernel_drops\":%" PRIu64 ",\"kernel_seen\":%" PRIu64 "}", l.cap, l.wr,
			       l.wdrop, l.kdrop, l.kseen);
		} else {
			printf("  %-18s %12" PRIu64 " %12" PRIu64 " %10" PRIu64 " %10" PRIu64 " %14.0f\n",
			       name, l.cap, l.wr, l.wdrop, l.kdrop, secs > 0 ? (double)l.wr / secs : 0);
		}
	}
	if (json) {
		printf("],\"total\":{\"captured\":%" PRIu64 ",\"written\":%" PRIu64 ",\"write_drops\":%"
		       PRIu64 ",\"kernel_drops\":%" PRIu64 ",\"kernel_seen\":%" PRIu64 "},\"stray\":%"
		       PRIu64 ",\"files\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"max_write_ms\":%.3f,"
		       "\"balanced\":%s,\"error\":", t.cap, t.wr, t.wdrop, t.kdrop, t.kseen, stray, files,
		       bytes, maxw, bad ? "false" : "true");
		if (d->errmsg[0])
			json_str(d->errmsg);
		else
			printf("null");
		printf("}\n");
	} else {
		printf("  %-18s %12" PRIu64 " %12" PRIu64 " %10" PRIu64 " %10" PRIu64 " %14.0f\n",
		       "total", t.cap, t.wr, t.wdrop, t.kdrop, secs > 0 ? (double)t.wr / secs : 0);
		printf("captured %" PRIu64 " = written %" PRIu64 " + write drops %" PRIu64 "%s\n", t.cap,
		       t.wr, t.wdrop, bad ? ": DOES NOT ADD UP for some queue" : ", for every queue");
		printf("%" PRIu64 " file(s) completed, %" PRIu64 " bytes; longest write() %.3f ms\n",
		       files, bytes, maxw);
		if (stray)
			printf("%" PRIu64 " packets came from a queue outside the plan and were not written\n",
			       stray);
	}
	fflush(stdout);
	return bad;
}

/* Fill the dump's queue tables from the plan: device index = order in the capture name. */
static void map_queues(struct dump *d, const struct cli_capname *cn)
{
	const struct mqcap_plan *pl = mqcap_run_plan(d->run);

	d->nq = pl->nqueues;
	d->qdev = calloc(d->nq, sizeof(*d->qdev));
	d->qid = calloc(d->nq, sizeof(*d->qid));
	d->cnt = aligned_alloc(64, sizeof(*d->cnt) * (d->nq ? d->nq : 1));
	d->lut = malloc(sizeof(*d->lut) * DUMP_MAX_DEVS * DUMP_MAX_QID);
	if (!d->qdev || !d->qid || !d->cnt || !d->lut)
		cli_die(1, "out of memory");
	memset(d->cnt, 0, sizeof(*d->cnt) * (d->nq ? d->nq : 1));
	memset(d->lut, 0xff, sizeof(*d->lut) * DUMP_MAX_DEVS * DUMP_MAX_QID);
	d->ndev = 0;
	for (unsigned k = 0; k < cn->ndevs; k++)
		snprintf(d->devname[d->ndev++], sizeof(d->devname[0]), "%s", cn->devs[k].dev);
	for (unsigned q = 0; q < d->nq; q++) {
		unsigned dev = d->ndev;

		for (unsigned k = 0; k < d->ndev; k++)
			if (!strcmp(d->devname[k], pl->queues[q].dev))
				dev = k;
		if (dev == d->ndev) { /* pcap:FILE, or a name the library spelled differently */
			if (d->ndev == DUMP_MAX_DEVS)
				cli_die(1, "too many devices");
			snprintf(d->devname[d->ndev++], sizeof(d->devname[0]), "%s", pl->queues[q].dev);
		}
		d->qdev[q] = dev;
		d->qid[q] = pl->queues[q].queue;
		if (pl->queues[q].queue < DUMP_MAX_QID)
			d->lut[dev * DUMP_MAX_QID + pl->queues[q].queue] = (int16_t)q;
	}
}

int main(int argc, char **argv)
{
	MQCAP_OPTS(cap);
	MQCAP_RUN_OPTS(ro);
	static struct cli_capname cn;
	static struct dump d;
	struct metrics_cli mc = { 0 };
	struct run_reports reports = { 0 };
	char name[8192];
	const char *filter = NULL, *backend = NULL, *drop_user = NULL;
	char *trailing = NULL;
	uint64_t v, duration_ms = 0, interval_ms = 1000, threads = 0;
	int cpus[CPU_SETSIZE], ncpus = 0, opt, rc, exit_code = 0;
	bool oversub = false, json = false, quiet = false, no_pin = false, have_n = false;
	struct ctx ctx = { .d = &d };
	uint64_t t0;
	double secs;

	d.cfg.format = DUMP_PCAPNG;
	d.cfg.buf_bytes = 1u << 20;
	d.cfg.flush_ms = 1000;
	pthread_mutex_init(&d.errmu, NULL);
	while ((opt = getopt_long(argc, argv, "+w:F:C:G:W:z:i:n:g:b:f:s:c:d:l:qhZ:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'w':
			if (!*optarg) {
				cli_warn("-w: empty file name pattern");
				return 2;
			}
			d.cfg.pattern = optarg;
			break;
		case 'F':
			if (!strcmp(optarg, "pcapng"))
				d.cfg.format = DUMP_PCAPNG;
			else if (!strcmp(optarg, "pcap"))
				d.cfg.format = DUMP_PCAP;
			else {
				cli_warn("-F: expected pcapng or pcap, got '%s'", optarg);
				return 2;
			}
			break;
		case 'C': {
			size_t l = strlen(optarg);
			bool suffix = l && strchr("kMG", optarg[l - 1]);

			if (cli_parse_u64_range(optarg, "-C", 1, UINT64_MAX / 1000000, "bytes", &v))
				return 2;
			d.cfg.file_bytes = suffix ? v : v * 1000000ull;
			if (d.cfg.file_bytes < 4096) {
				cli_warn("-C %s: a file must be allowed at least 4096 bytes", optarg);
				return 2;
			}
			break;
		}
		case 'G':
			if (cli_parse_u64_range(optarg, "-G", 1, 86400 * 366, "seconds", &d.cfg.rotate_s))
				return 2;
			break;
		case 'W':
			if (cli_parse_u64_range(optarg, "-W", 1, 1000000, "files", &v))
				return 2;
			d.cfg.ring = (unsigned)v;
			break;
		case 'z':
			d.cfg.postcmd = optarg;
			break;
		case OPT_FILE_PACKETS:
			if (cli_parse_u64_range(optarg, "--file-packets", 1, UINT64_MAX, "packets",
						&d.cfg.file_packets))
				return 2;
			break;
		case OPT_FORCE:
			d.cfg.force = true;
			break;
		case OPT_BUFFER:
			if (cli_parse_u64_range(optarg, "--buffer", 4096, 1ull << 30, "bytes", &v))
				return 2;
			d.cfg.buf_bytes = (size_t)v;
			break;
		case OPT_FLUSH:
			if (cli_parse_u64_range(optarg, "--flush-ms", 1, 3600000, "ms", &d.cfg.flush_ms))
				return 2;
			break;
		case 'i':
			if (cli_capname_add(&cn, optarg))
				return 2;
			break;
		case 'n':
			if (cli_parse_u64_range(optarg, "-n", 1, 4096, "threads", &threads))
				return 2;
			have_n = true;
			break;
		case 'g':
			if (!strcmp(optarg, "auto")) {
				ncpus = 0;
				no_pin = false;
			} else if (!strcmp(optarg, "none")) {
				no_pin = true;
			} else {
				ncpus = cli_parse_cpu_order(optarg, "-g", cpus, CPU_SETSIZE);
				if (ncpus < 0)
					return 2;
			}
			break;
		case 'b':
			if (strcmp(optarg, "auto") && strcmp(optarg, "xdp") && strcmp(optarg, "packet")) {
				cli_warn("-b: expected auto, xdp or packet, got '%s'", optarg);
				return 2;
			}
			backend = optarg;
			break;
		case 'f':
			filter = optarg;
			break;
		case 's':
			if (cli_parse_u64_range(optarg, "-s", 1, MQCAP_SNAPLEN_DEFAULT, "bytes of snaplen", &v))
				return 2;
			cap.snaplen = (uint32_t)v;
			break;
		case 'c':
			if (cli_parse_u64_range(optarg, "-c", 1, UINT64_MAX, "packets", &ctx.count))
				return 2;
			break;
		case 'd':
			if (cli_parse_duration_ms(optarg, "-d", &duration_ms))
				return 2;
			if (!duration_ms) {
				cli_warn("-d: expected a positive duration");
				return 2;
			}
			break;
		case 'l':
			if (cli_parse_duration_ms(optarg, "-l", &interval_ms))
				return 2;
			if (interval_ms < 100) {
				cli_warn("-l: the interval must be at least 100ms");
				return 2;
			}
			break;
		case 'q':
			quiet = true;
			break;
		case 'Z':
			if (cli_privileges_user_check(optarg))
				return 2;
			drop_user = optarg;
			break;
		case OPT_OVERSUB:
			oversub = true;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_PIN_POLLERS:
			ro.flags |= MQCAP_RUN_F_PIN_POLLERS;
			break;
		case OPT_NO_NUMA:
			ro.flags |= MQCAP_RUN_F_NO_NUMA;
			break;
		case OPT_BATCH:
			if (cli_parse_u64_range(optarg, "--batch-us", 0, 100000, "microseconds", &v))
				return 2;
			ro.batch_usecs = (unsigned)v;
			if (!v)
				ro.flags |= MQCAP_RUN_F_NO_BATCH;
			break;
		case OPT_METRICS_FILE:
			mc.file = optarg;
			break;
		case OPT_METRICS_LISTEN:
			mc.listen = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'mqdump --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		size_t len = 0;

		for (int i = optind; i < argc; i++)
			len += strlen(argv[i]) + 1;
		trailing = calloc(1, len + 1);
		if (!trailing)
			cli_die(1, "out of memory");
		for (int i = optind; i < argc; i++) {
			if (i > optind)
				strcat(trailing, " ");
			strcat(trailing, argv[i]);
		}
		if (filter) {
			cli_warn("a filter is given twice: -f '%s' and '%s' (use one)", filter, trailing);
			return 2;
		}
		filter = trailing;
	}
	if (!cn.ndevs && !*cn.pcap) {
		cli_warn("nothing to capture: give -i NAME (see --help)");
		return 2;
	}
	if (!d.cfg.pattern) {
		cli_warn("no output: give -w PATTERN (see --help)");
		return 2;
	}
	if (backend && *cn.prefix && strncmp(cn.prefix, backend, strlen(backend))) {
		cli_warn("-b %s conflicts with the backend prefix %s in -i", backend, cn.prefix);
		return 2;
	}
	if (backend && *cn.pcap) {
		cli_warn("-b %s conflicts with a pcap: file", backend);
		return 2;
	}
	if (no_pin && ncpus) {
		cli_warn("-g none and a CPU list conflict");
		return 2;
	}
	if (json && quiet) {
		cli_warn("--json and -q conflict (--json prints only JSON lines already)");
		return 2;
	}
	if (d.cfg.ring && !d.cfg.file_bytes && !d.cfg.file_packets && !d.cfg.rotate_s) {
		cli_warn("-W needs a rotation (-C, -G or --file-packets)");
		return 2;
	}
	if (have_n && !oversub && (int)threads > cli_online_cpus()) {
		cli_warn("-n %llu: more threads than the %d CPU(s) this process may use; add "
			 "--oversubscribe to do it anyway", (unsigned long long)threads, cli_online_cpus());
		return 2;
	}

	cli_capname_build(&cn, name, sizeof(name));
	if (backend && !strcmp(backend, "xdp"))
		cap.backend = MQCAP_BACKEND_XDP;
	else if (backend && !strcmp(backend, "packet"))
		cap.backend = MQCAP_BACKEND_PACKET;
	cap.filter = filter;
	cap.flags |= MQCAP_F_PROMISC;
	d.cfg.snaplen = cap.snaplen ? cap.snaplen : MQCAP_SNAPLEN_DEFAULT;
	ro.capture = &cap;
	ro.workers = (unsigned)threads;
	ro.cpus = ncpus ? cpus : NULL;
	ro.ncpus = (unsigned)ncpus;
	ro.flags |= MQCAP_RUN_F_FIT;
	if (oversub)
		ro.flags |= MQCAP_RUN_F_OVERSUBSCRIBE;
	if (no_pin)
		ro.flags |= MQCAP_RUN_F_NO_PIN;

	/* -Z: before any thread exists, so the capture's threads inherit it */
	if (drop_user && cli_privileges_prepare(drop_user))
		return 1;
	d.run = mqcap_run_open(name, &ro, on_burst, &ctx);
	if (!d.run) {
		cli_warn("%s", mqcap_last_error());
		free(trailing);
		return errno == EINVAL || errno == E2BIG || errno == ENODEV ? 2 : 1;
	}
	map_queues(&d, &cn);
	/* Before any file exists: a bad address or metrics file is refused with nothing made. */
	if (metrics_cli_start(&mc, d.run, (unsigned)interval_ms, write_drops, &d)) {
		mqcap_run_close(d.run);
		return 2;
	}
	if (dump_outputs_make(&d)) {
		metrics_cli_finish(&mc);
		mqcap_run_close(d.run);
		return 2;
	}
	if (dump_outputs_open(&d)) {
		metrics_cli_finish(&mc);
		dump_outputs_close(&d);
		mqcap_run_close(d.run);
		return 1;
	}
	cli_stop_on_signals();
	rc = mqcap_run_start(d.run);
	if (rc) {
		dump_fail(&d, "%s", mqcap_run_errmsg(d.run));
		cli_warn("%s", mqcap_run_errmsg(d.run));
		exit_code = 1;
		goto out;
	}
	metrics_cli_started(&mc);
	/* Every socket, program and map is open now: the rest needs no privilege. */
	if (drop_user && cli_drop_privileges(drop_user)) {
		dump_fail(&d, "-Z %s: cannot give up privileges", drop_user);
		mqcap_run_stop(d.run);
		mqcap_run_wait(d.run, -1);
		exit_code = 1;
		goto out;
	}
	if (!json && !quiet) {
		printf("capturing from %s with %s into %u file(s) (Ctrl-C to stop)\nbackend: %s\n",
		       name, mqcap_run_backend_name(d.run), d.nsinks, mqcap_run_backend_reason(d.run));
		for (unsigned q = 0; q < d.nq; q++) {
			char f[PATH_MAX];

			dump_output_name(&d, q, f, sizeof(f));
			printf("  %s@%u -> %s\n", d.devname[d.qdev[q]], d.qid[q], f);
		}
	}
	/* xdp: on a device that carries the host's traffic takes its frames from the stack. */
	if (mqcap_run_stack_warning(d.run))
		cli_warn("warning: %s", mqcap_run_stack_warning(d.run));
	fflush(stdout);
	t0 = cli_now_ns();
	{
		uint64_t next = t0 + interval_ms * 1000000ull;

		for (;;) {
			uint64_t now = cli_now_ns();

			if (cli_stop_requested())
				break;
			if (duration_ms && now - t0 >= duration_ms * 1000000ull)
				break;
			/* 100 ms waits keep Ctrl-C, -d, flushes and -G boundaries prompt. */
			rc = mqcap_run_wait(d.run, 100);
			run_reports_print(d.run, &reports);
			if (rc != -ETIMEDOUT)
				break;
			dump_tick(&d);
			if (!quiet && cli_now_ns() >= next) {
				print_tick(&d, json, (double)(cli_now_ns() - t0) / 1e9);
				next += interval_ms * 1000000ull;
			}
		}
	}
	mqcap_run_stop(d.run);
	rc = mqcap_run_wait(d.run, -1);
	run_reports_print(d.run, &reports);
	if (rc && !atomic_load(&d.failed))
		dump_fail(&d, "%s", mqcap_run_errmsg(d.run));
	secs = (double)(cli_now_ns() - t0) / 1e9;
out:
	/* Workers are done: flush, close, complete every file, before the summary counts them. */
	dump_outputs_close(&d);
	if (exit_code == 0) {
		if (atomic_load(&d.failed)) {
			cli_warn("%s", d.errmsg);
			exit_code = 1;
		}
		if (print_summary(&d, json, secs, d.cfg.format == DUMP_PCAPNG ? "pcapng" : "pcap")) {
			cli_warn("the counters do not add up: captured != written + write drops");
			exit_code = 1;
		}
		if (!json && d.errmsg[0])
			printf("error: %s\n", d.errmsg);
	}
	/* After the files are complete: the final write drops, as the summary counted them. */
	if (metrics_cli_finish(&mc) && !exit_code)
		exit_code = 1;
	mqcap_run_close(d.run);
	free(d.qdev);
	free(d.qid);
	free(d.cnt);
	free(d.lut);
	free(trailing);
	return exit_code;
}
