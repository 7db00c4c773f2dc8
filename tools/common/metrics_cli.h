/* SPDX-License-Identifier: BSD-2-Clause */
/* metrics_cli.h - --metrics-file and --metrics-listen for the tools on the worker runtime
 * (mqcount, mqdump): one set of options, help text and messages over mqcap/metrics.h. */
#ifndef MQCAP_TOOLS_METRICS_CLI_H
#define MQCAP_TOOLS_METRICS_CLI_H

#include <stdbool.h>

#include "mqcap/metrics.h"

#define METRICS_CLI_HELP \
"      --metrics-file PATH  write Prometheus metrics (per-queue packets, bytes, drops by\n" \
"                         stage, workers, poller placement) to PATH every interval (temporary\n" \
"                         file + rename, for node_exporter's textfile collector)\n" \
"      --metrics-listen [ADDR:]PORT\n" \
"                         serve the same metrics at http://ADDR:PORT/metrics (default address\n" \
"                         127.0.0.1; [ADDR6]:PORT for IPv6)\n"

struct metrics_cli {
	const char *file;    /* --metrics-file */
	const char *listen;  /* --metrics-listen */
	bool after_drop;     /* -Z: the file is written by USER only, so start after the drop */
	mqcap_metrics_t *m;
	/* metrics_cli_start()'s arguments while the start waits for the drop */
	mqcap_run_t *run;
	unsigned interval_ms;
	mqcap_metrics_drops_fn write_drops;
	void *user;
};

/* Start the exporter when an option asked for it, before mqcap_run_start() so that a bad
 * address or file is refused before anything is captured. With after_drop and a file, only
 * remember the arguments: metrics_cli_started() starts it once root is given up, so that the
 * file is never created or replaced as root (a run's files all belong to -Z's USER). Returns
 * 0, or -1 after printing why (the caller exits with status 2). */
int metrics_cli_start(struct metrics_cli *mc, mqcap_run_t *run, unsigned interval_ms,
		      mqcap_metrics_drops_fn write_drops, void *user);
/* After mqcap_run_start() and -Z's drop: the counters now have their backend; start the
 * exporter that waited for the drop, or refresh at once. Returns 0, or -1 after printing why
 * the waiting exporter could not start (the caller stops the run). */
int metrics_cli_started(struct metrics_cli *mc);
/* After the run stopped: write the final counters, warn about a file that could not be
 * written, stop the exporter. Returns 0, or -1 when the last write failed. */
int metrics_cli_finish(struct metrics_cli *mc);

#endif
