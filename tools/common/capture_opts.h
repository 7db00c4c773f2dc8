/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * capture_opts.h - the capture options of the tools on the worker runtime (mqcount, mqdump),
 * parsed, checked and turned into mqcap's open and run options in one place: -i, -n, -g,
 * --oversubscribe, -b, --exclusive, -f and trailing filter words, -s, -m, -c, -d, -l, -q,
 * --json, --metrics-*, --pin-pollers, --no-numa, --batch-us, -Z. Also the steps every such
 * tool takes with them: open the run, start it (then give up root for -Z), wait for its end.
 *
 * Use: capture_opts_init(); in the getopt loop, handle the tool's own options first and hand
 * every other one to capture_opts_parse(); then capture_opts_finish().
 */
#ifndef MQCAP_TOOLS_CAPTURE_OPTS_H
#define MQCAP_TOOLS_CAPTURE_OPTS_H

#include <getopt.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>

#include "capname.h"
#include "metrics_cli.h"
#include "mqcap/run.h"

/* The short options (no leading '+', no 'h': the tool's string adds those). */
#define CAPTURE_OPTS_SHORT "i:n:g:b:f:s:m:c:d:l:qZ:"

/* Long option values of the shared options that have no short letter: above any tool's own. */
enum {
	CAPTURE_OPT_OVERSUB = 0x1000, CAPTURE_OPT_JSON, CAPTURE_OPT_PIN_POLLERS, CAPTURE_OPT_NO_NUMA,
	CAPTURE_OPT_BATCH, CAPTURE_OPT_EXCLUSIVE, CAPTURE_OPT_METRICS_FILE, CAPTURE_OPT_METRICS_LISTEN,
	CAPTURE_OPT_NO_READER_FIRST,
};

/* The shared entries of a tool's struct option array (put the tool's own after them). */
#define CAPTURE_OPTS_LONG \
	{ "interface", required_argument, NULL, 'i' }, \
	{ "threads", required_argument, NULL, 'n' }, \
	{ "cpus", required_argument, NULL, 'g' }, \
	{ "backend", required_argument, NULL, 'b' }, \
	{ "filter", required_argument, NULL, 'f' }, \
	{ "snaplen", required_argument, NULL, 's' }, \
	{ "mem", required_argument, NULL, 'm' }, \
	{ "count", required_argument, NULL, 'c' }, \
	{ "duration", required_argument, NULL, 'd' }, \
	{ "interval", required_argument, NULL, 'l' }, \
	{ "quiet", no_argument, NULL, 'q' }, \
	{ "relinquish-privileges", required_argument, NULL, 'Z' }, \
	{ "oversubscribe", no_argument, NULL, CAPTURE_OPT_OVERSUB }, \
	{ "json", no_argument, NULL, CAPTURE_OPT_JSON }, \
	{ "pin-pollers", no_argument, NULL, CAPTURE_OPT_PIN_POLLERS }, \
	{ "no-numa", no_argument, NULL, CAPTURE_OPT_NO_NUMA }, \
	{ "batch-us", required_argument, NULL, CAPTURE_OPT_BATCH }, \
	{ "no-reader-first", no_argument, NULL, CAPTURE_OPT_NO_READER_FIRST }, \
	{ "exclusive", no_argument, NULL, CAPTURE_OPT_EXCLUSIVE }, \
	{ "metrics-file", required_argument, NULL, CAPTURE_OPT_METRICS_FILE }, \
	{ "metrics-listen", required_argument, NULL, CAPTURE_OPT_METRICS_LISTEN }

/* --help text of the shared options, in pieces: the tool puts its own lines (-n, -c, -l, -q,
 * --json, -Z, which say what the tool does with them) between them. */
#define CAPTURE_OPTS_HELP_INTERFACE \
"  -i, --interface NAME   what to capture; repeatable. NAME: eth1 (all RX queues), eth1@2\n" \
"                         (queue 2: a virtual capture device), eth1@0-3, eth1@1,5, eth1,eth2,\n" \
"                         packet:eth1 / xdp:eth1 (backend), pcap:FILE (offline file)\n"
#define CAPTURE_OPTS_HELP_PLACE \
"  -g, --cpus LIST|auto|none\n" \
"                         where threads run: a CPU list (0-3,6; thread i on the i-th CPU),\n" \
"                         auto (default: beside each queue's kernel poller, from the topology),\n" \
"                         none (do not pin)\n" \
"      --oversubscribe    allow more threads than CPUs\n" \
"  -b, --backend auto|xdp|packet\n" \
"                         kernel path. auto (default): AF_XDP only on a dedicated capture port\n" \
"                         (no address, route, master or stacked device in use) where native\n" \
"                         XDP works, else AF_PACKET, which leaves the host its traffic. xdp:\n" \
"                         AF_XDP anyway: the captured queues' frames no longer reach the\n" \
"                         network stack (a warning names the addresses cut off)\n" \
"      --exclusive        take the captured queues' frames away from the network stack for\n" \
"                         speed: AF_XDP even on a device the host uses (as -b xdp)\n" \
"  -f, --filter EXPR      tcpdump filter; or give it as trailing arguments, like tcpdump\n" \
"  -s, --snaplen N        bytes kept per packet (default 262144)\n" \
"  -m, --mem SIZE         ring memory for all queues together (default 64M; K, M, G): each\n" \
"                         queue gets an even share, at most 16M (xdp) or 4M (packet), at least\n" \
"                         1M. Smaller rings hold shorter bursts: see mqcount(8)\n"
#define CAPTURE_OPTS_HELP_DURATION \
"  -d, --duration T       stop after T (10, 10s, 500ms, 2m)\n"
#define CAPTURE_OPTS_HELP_PLACEMENT \
"      --pin-pollers      pin unpinned threaded-NAPI pollers where the plan puts them\n" \
"      --no-numa          ignore the NIC's NUMA node when placing\n" \
"      --batch-us N       when the ring is empty after a short burst, wait N microseconds\n" \
"                         before receiving again, so a kernel poller on the same CPU fills the\n" \
"                         ring instead of waking the thread for every packet (default: 1000 for\n" \
"                         a thread placed on its poller's CPU, else 0; 0 turns it off)\n" \
"      --no-reader-first  keep a thread placed on its poller's CPU at normal priority\n" \
"                         (default: SCHED_FIFO above the poller, which otherwise can starve it\n" \
"                         and drop packets; the output's arrangement line says which)\n"

struct capture_opts {
	/* Filled by capture_opts_finish() from what was parsed; the tool may add its own flags
	 * (ro.flags, ro.balance, ...) before capture_opts_open(). */
	struct mqcap_opts cap;
	struct mqcap_run_opts ro;
	char name[8192];            /* the combined capture name of every -i */

	struct cli_capname cn;      /* -i */
	const char *filter;         /* -f or the trailing words */
	const char *backend;        /* -b: "auto", "xdp", "packet"; NULL = not given */
	const char *drop_user;      /* -Z */
	char *trailing;             /* the trailing filter words, joined (owned) */
	uint64_t count;             /* -c; 0 = no limit */
	uint64_t duration_ms;       /* -d; 0 = until stopped */
	uint64_t interval_ms;       /* -l */
	uint64_t threads;           /* -n; the tool may parse -n itself and set threads, have_n */
	int cpus[CPU_SETSIZE], ncpus; /* -g LIST */
	bool oversub, json, quiet, no_pin, have_n, exclusive;
	bool other_machine;         /* planning another machine's topology: no threads-vs-CPUs check */
	struct metrics_cli mc;      /* --metrics-file, --metrics-listen */
	unsigned link_reports;      /* link reports said so far */
	unsigned queue_reports;     /* RX queue count reports said so far */
	unsigned warnings;          /* warnings (mqcap_run_warnings()) said so far */
};

/* Defaults: everything off, -l 1s. */
void capture_opts_init(struct capture_opts *o);

/* An option from getopt_long() that is not the tool's own. Returns 0 when it is a shared
 * option and taken, -1 after printing why not (a bad value; or an unknown option, which
 * getopt_long() has reported: "Try 'PROG --help'."), for exit status 2. */
int capture_opts_parse(struct capture_opts *o, int opt, const char *arg);

/* After the getopt loop: the trailing words argv[optind..] as the filter, the checks between
 * options (nothing to capture, -b against a prefix, --exclusive, -g none with a list, --json
 * with -q, more threads than CPUs), then cap and ro filled. Returns 0, or -1 after printing
 * why (exit status 2). */
int capture_opts_finish(struct capture_opts *o, int argc, char **argv, int optind);

/* -Z's first half, then mqcap_run_open(). NULL after printing why, with *status the exit
 * status (2 for a bad name, queue or CPU; 1 otherwise). */
mqcap_run_t *capture_opts_open(struct capture_opts *o, mqcap_run_fn fn, void *user, int *status);

/* Stop on SIGINT/SIGTERM/SIGHUP, mqcap_run_start() (a ring that does not fit is explained in
 * terms of -m), tell the metrics exporter (started by the tool with metrics_cli_start()), then
 * -Z's second half. Returns 0, or -1 after printing why (the run is stopped and waited for). */
int capture_opts_start(struct capture_opts *o, mqcap_run_t *run);

/* Wait until every worker has ended, a stop signal, or -d: every = the tool's work of every
 * ~100 ms wait (also the last), interval = once per -l while the run goes on (either may be
 * NULL). Say each link report (a device went down), each warning (mqcap_warnings()) and
 * each RX queue count report (mqcap_run_queue_reports()) once; the capture goes on. Returns when
 * the run is to stop; the caller then stops it. */
void capture_opts_wait(struct capture_opts *o, mqcap_run_t *run, void (*every)(void *user),
		       void (*interval)(void *user), void *user);
/* Say the link reports, warnings and queue reports that came since the last call (after the
 * run's last wait too). */
void capture_opts_link_reports(struct capture_opts *o, const mqcap_run_t *run);

/* Free what parsing allocated. */
void capture_opts_free(struct capture_opts *o);

#endif
