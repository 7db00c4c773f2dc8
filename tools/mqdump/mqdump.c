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

#include "capture_opts.h"
#include "cli.h"
#include "mqdump.h"
#include "range.h"

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
"      --time-order       a file that several queues share gets their packets in timestamp\n"
"                         order (as mergecap merges), not burst by burst: each packet waits\n"
"                         until every queue of the file has shown a later one, or at most the\n"
"                         window. One that comes later than that is written at once, out of\n"
"                         order, and counted as late\n"
"      --time-window T    --time-order's window (default 100ms; implies --time-order)\n"
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
CAPTURE_OPTS_HELP_INTERFACE
"  -n, --threads N        capture threads (default: one per queue, at most one per CPU)\n"
CAPTURE_OPTS_HELP_PLACE
"  -c, --count N          stop after about N packets (a burst may add a few; all are written)\n"
CAPTURE_OPTS_HELP_DURATION
"  -l, --interval T       live line period (default 1s)\n"
"  -q, --quiet            no live line, only the summary\n"
"      --json             JSON lines: one per interval, the summary\n"
METRICS_CLI_HELP
CAPTURE_OPTS_HELP_PLACEMENT
"  -Z, --relinquish-privileges USER\n"
"                         open the capture as root, then go on as USER with no capability\n"
"                         left; every file is created by USER, after the drop (as tcpdump)\n"
"  -h, --help             this text\n"
"\n"
"A file is written as NAME.part and renamed to NAME once complete (after fsync). Per queue,\n"
"captured = written + write drops; the summary checks it. Exit status: 0, 1 on a capture or\n"
"write error (disk full, I/O error: files are closed valid), 2 on bad usage. See mqdump(8).\n";

enum {
	OPT_FORCE = 256, OPT_BUFFER, OPT_FLUSH, OPT_FILE_PACKETS, OPT_TIME_ORDER, OPT_TIME_WINDOW,
};

static const struct option longopts[] = {
	CAPTURE_OPTS_LONG,
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
	{ "time-order", no_argument, NULL, OPT_TIME_ORDER },
	{ "time-window", required_argument, NULL, OPT_TIME_WINDOW },
	{ "help", no_argument, NULL, 'h' },
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
	uint64_t cap, wr, wdrop, kdrop, kseen, late;
};

static void qline_read(struct dump *d, unsigned q, struct qline *l)
{
	struct mqcap_stats st = { 0 };

	mqcap_run_queue_stats(d->run, q, &st);
	l->cap = atomic_load_explicit(&d->cnt[q].captured, memory_order_relaxed);
	l->wr = atomic_load_explicit(&d->cnt[q].written, memory_order_relaxed);
	l->wdrop = atomic_load_explicit(&d->cnt[q].wdrop, memory_order_relaxed);
	l->late = atomic_load_explicit(&d->cnt[q].late, memory_order_relaxed);
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
		t.late += l.late;
		if (json) {
			printf("%s{\"name\":", q ? "," : "");
			json_str(name);
			printf(",\"captured\":%" PRIu64 ",\"written\":%" PRIu64 ",\"write_drops\":%" PRIu64
			       ",\"kernel_drops\":%" PRIu64 ",\"kernel_seen\":%" PRIu64 ",\"late\":%"
			       PRIu64 "}", l.cap, l.wr, l.wdrop, l.kdrop, l.kseen, l.late);
		} else {
			printf("  %-18s %12" PRIu64 " %12" PRIu64 " %10" PRIu64 " %10" PRIu64 " %14.0f\n",
			       name, l.cap, l.wr, l.wdrop, l.kdrop, secs > 0 ? (double)l.wr / secs : 0);
		}
	}
	if (json) {
		printf("],\"total\":{\"captured\":%" PRIu64 ",\"written\":%" PRIu64 ",\"write_drops\":%"
		       PRIu64 ",\"kernel_drops\":%" PRIu64 ",\"kernel_seen\":%" PRIu64 ",\"late\":%"
		       PRIu64 "},\"stray\":%" PRIu64 ",\"files\":%" PRIu64 ",\"bytes\":%" PRIu64
		       ",\"max_write_ms\":%.3f,\"time_order_window_ms\":%.1f,\"balanced\":%s,"
		       "\"error\":", t.cap, t.wr, t.wdrop, t.kdrop, t.kseen, t.late, stray, files,
		       bytes, maxw, (double)d->cfg.window_ns / 1e6, bad ? "false" : "true");
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
		if (d->cfg.time_order)
			printf("time order (window %.0f ms): %" PRIu64 " packets came later than the window "
			       "and were written out of order\n", (double)d->cfg.window_ns / 1e6, t.late);
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

/* What the main thread does while the run goes on (capture_opts_wait's callbacks). */
struct live {
	struct dump *d;
	bool json;
	uint64_t t0;
};

static void every_wait(void *user)
{
	dump_tick(((struct live *)user)->d);
}

static void live_line(void *user)
{
	struct live *l = user;

	print_tick(l->d, l->json, (double)(cli_now_ns() - l->t0) / 1e9);
}

int main(int argc, char **argv)
{
	static struct capture_opts o;
	static struct dump d;
	uint64_t v;
	int opt, rc, exit_code = 0;
	struct ctx ctx = { .d = &d };
	struct live live;
	uint64_t t0;
	double secs = 0;

	capture_opts_init(&o);
	d.cfg.format = DUMP_PCAPNG;
	d.cfg.buf_bytes = 1u << 20;
	d.cfg.flush_ms = 1000;
	pthread_mutex_init(&d.errmu, NULL);
	pthread_cond_init(&d.opened_cv, NULL);
	while ((opt = getopt_long(argc, argv, "+w:F:C:G:W:z:" CAPTURE_OPTS_SHORT "h", longopts,
				  NULL)) != -1) {
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
		case OPT_TIME_ORDER:
			d.cfg.time_order = true;
			break;
		case OPT_TIME_WINDOW:
			if (cli_parse_duration_ms(optarg, "--time-window", &v))
				return 2;
			if (v < 1 || v > 60000) {
				cli_warn("--time-window: expected 1ms to 60s, got '%s'", optarg);
				return 2;
			}
			d.cfg.time_order = true;
			d.cfg.window_ns = v * 1000000ull;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			if (capture_opts_parse(&o, opt, optarg))
				return 2;
		}
	}
	if (capture_opts_finish(&o, argc, argv, optind)) {
		capture_opts_free(&o);
		return 2;
	}
	if (!d.cfg.pattern) {
		cli_warn("no output: give -w PATTERN (see --help)");
		return 2;
	}
	if (d.cfg.ring && !d.cfg.file_bytes && !d.cfg.file_packets && !d.cfg.rotate_s) {
		cli_warn("-W needs a rotation (-C, -G or --file-packets)");
		return 2;
	}
	if (d.cfg.time_order && !d.cfg.window_ns)
		d.cfg.window_ns = DUMP_WINDOW_DEFAULT_NS;
	ctx.count = o.count;
	d.cfg.snaplen = o.cap.snaplen ? o.cap.snaplen : MQCAP_SNAPLEN_DEFAULT;

	d.run = capture_opts_open(&o, on_burst, &ctx, &exit_code);
	if (!d.run) {
		capture_opts_free(&o);
		return exit_code;
	}
	map_queues(&d, &o.cn);
	/* Before any file exists: a bad address or metrics file is refused with nothing made. */
	if (metrics_cli_start(&o.mc, d.run, (unsigned)o.interval_ms, write_drops, &d)) {
		mqcap_run_close(d.run);
		return 2;
	}
	if (dump_outputs_make(&d)) {
		metrics_cli_finish(&o.mc);
		mqcap_run_close(d.run);
		return 2;
	}
	/* Without -Z the files are made before the capture starts: one that cannot be is
	 * refused with nothing captured. With -Z they are made after root is given up, as
	 * tcpdump -Z does, so that every file of the run (rotated ones too) is USER's and
	 * nothing is created as root in a directory USER may not write. */
	if (!o.drop_user && dump_outputs_open(&d)) {
		metrics_cli_finish(&o.mc);
		dump_outputs_close(&d);
		mqcap_run_close(d.run);
		return 1;
	}
	if (capture_opts_start(&o, d.run)) {
		dump_fail(&d, "the capture did not start");
		dump_outputs_abandon(&d);
		exit_code = 1;
		goto out;
	}
	if (o.drop_user && dump_outputs_open(&d)) {
		mqcap_run_stop(d.run);
		mqcap_run_wait(d.run, -1);
		exit_code = 1;
		goto out;
	}
	if (!o.json && !o.quiet) {
		printf("capturing from %s with %s into %u file(s) (Ctrl-C to stop)\nbackend: %s\n",
		       o.name, mqcap_run_backend_name(d.run), d.nsinks, mqcap_run_backend_reason(d.run));
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
	live = (struct live){ .d = &d, .json = o.json, .t0 = t0 };
	/* 100 ms waits keep Ctrl-C, -d, flushes, -G boundaries and --time-order's window prompt. */
	capture_opts_wait(&o, d.run, every_wait, o.quiet ? NULL : live_line, &live);
	mqcap_run_stop(d.run);
	rc = mqcap_run_wait(d.run, -1);
	capture_opts_link_reports(&o, d.run);
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
		if (print_summary(&d, o.json, secs, d.cfg.format == DUMP_PCAPNG ? "pcapng" : "pcap")) {
			cli_warn("the counters do not add up: captured != written + write drops");
			exit_code = 1;
		}
		if (!o.json && d.errmsg[0])
			printf("error: %s\n", d.errmsg);
	}
	/* After the files are complete: the final write drops, as the summary counted them. */
	if (metrics_cli_finish(&o.mc) && !exit_code)
		exit_code = 1;
	mqcap_run_close(d.run);
	free(d.qdev);
	free(d.qid);
	free(d.cnt);
	free(d.lut);
	capture_opts_free(&o);
	return exit_code;
}
