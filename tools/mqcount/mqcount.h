/* SPDX-License-Identifier: BSD-2-Clause */
/* mqcount.h - what mqcount's files share: options, the per-thread verifier, the report. */
#ifndef MQCOUNT_H
#define MQCOUNT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "mqcap/run.h"

/* ---- verify.c: mqsend payloads, per flow: loss, duplicates, reordering ---- */

struct vflow;

/* One thread's flows (no locking: each worker owns one). */
struct vtable {
	struct vflow *flows;
	unsigned cap, used;
	uint64_t payloads;    /* packets with a valid mqsend payload */
	uint64_t corrupt;     /* an mqsend payload whose check failed */
	uint64_t foreign;     /* packets without an mqsend payload (other traffic, truncated) */
};

struct vresult {
	uint64_t flows, payloads, lost, duplicates, reordered, corrupt, foreign, expected;
	uint64_t flows_with_loss;
};

int vtable_init(struct vtable *t);
void vtable_free(struct vtable *t);
/* Account one captured frame (Ethernet, caplen bytes at data; len on the wire). */
void vtable_packet(struct vtable *t, const uint8_t *data, uint32_t caplen);
/* Merge the tables of all threads into one result. */
void vtable_merge(struct vtable *tabs, unsigned n, struct vresult *out);

/* ---- report.c: the live table, the summary, JSON lines ---- */

struct qsample {
	struct mqcap_stats st;
	uint64_t handoff;
};

struct report {
	mqcap_run_t *run;
	bool json;
	bool quiet;
	bool offline;   /* a pcap: file: no kernel poller, nothing to place but the workers */
	unsigned nq, nw;
	char (*qname)[40];
	struct qsample *qprev, *qcur;
	struct mqcap_run_worker_stats *wprev, *wcur;
	uint64_t t0_ns, tprev_ns;
};

int report_init(struct report *rep, mqcap_run_t *run, bool json, bool quiet);
void report_free(struct report *rep);
void report_plan(struct report *rep);
void report_arrangement(struct report *rep);
/* Print one interval (live table or JSON line). */
void report_tick(struct report *rep);
/* Print the final summary; returns 0 when its numbers add up. */
int report_summary(struct report *rep, const struct vresult *vr, const char *error);

/* ---- balance.c: --balance (the software scheduler), -n groups, --work-ns ---- */

/* -n: a thread count ("4") or groups ("2,1"): groups[] (up to max), their number, the sum. */
int bal_parse_threads(const char *arg, unsigned *groups, unsigned max, unsigned *ngroups,
		      uint64_t *threads);
/* Busy-wait ns nanoseconds (--work-ns: the cost of an analysis per packet). */
void bal_work(uint64_t ns);
/* Copies of each packet (groups; 1 without --balance). */
unsigned bal_copies(const mqcap_run_t *run);
/* The group of worker w (0 without --balance). */
int bal_worker_group(const mqcap_run_t *run, unsigned w);
/* The scheduler's lines for the table/summary, and its JSON member (",\"balance\":{...}"). */
void bal_print(const mqcap_run_t *run);
struct json;
void bal_json(struct json *j, const mqcap_run_t *run);

#endif
