/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * balance.c - mqcount's side of the software scheduler (--balance MODE): worker groups from
 * -n "2,1", the --work-ns stand-in for an analysis, and the scheduler's lines in the table,
 * the summary and the JSON (per worker: group, buckets, load, delivered, drops, migrations;
 * overall: migrations, elephants, max/mean load).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "json.h"
#include "mqcount.h"

int bal_parse_threads(const char *arg, unsigned *groups, unsigned max, unsigned *ngroups,
		      uint64_t *threads)
{
	const char *p = arg;
	uint64_t sum = 0;

	*ngroups = 0;
	while (*p) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(p, &end, 10);
		if (end == p || errno || !v || v > 4096 || (*end && *end != ',') || *p == '-' || *p == '+') {
			cli_warn("-n %s: expected a thread count or groups like 2,1 (each 1..4096)", arg);
			return -1;
		}
		if (*ngroups == max) {
			cli_warn("-n %s: more than %u groups", arg, max);
			return -1;
		}
		groups[(*ngroups)++] = (unsigned)v;
		sum += v;
		p = *end ? end + 1 : end;
		if (*end && !*p) {
			cli_warn("-n %s: a group is missing after the last ','", arg);
			return -1;
		}
	}
	if (!*ngroups) {
		cli_warn("-n: expected a thread count");
		return -1;
	}
	*threads = sum;
	return 0;
}

void bal_work(uint64_t ns)
{
	struct timespec t0, t;

	/* Busy, not asleep: an IDS burns its CPU per packet, and the scheduler measures that. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((uint64_t)((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec)) < ns);
}

unsigned bal_copies(const mqcap_run_t *run)
{
	const mqcap_balance_t *b = mqcap_run_balance(run);

	return b ? mqcap_balance_groups(b) : 1;
}

int bal_worker_group(const mqcap_run_t *run, unsigned w)
{
	const mqcap_balance_t *b = mqcap_run_balance(run);

	return b ? mqcap_balance_worker_group(b, w) : 0;
}

void bal_print(const mqcap_run_t *run)
{
	const mqcap_balance_t *b = mqcap_run_balance(run);
	struct mqcap_balance_stats st;

	if (!b || mqcap_balance_stats(b, &st))
		return;
	printf("  balance %s, %u group(s): migrations %llu, elephants %llu (%u now), max/mean load %.2f\n",
	       mqcap_balance_mode_name(mqcap_balance_mode(b)), mqcap_balance_groups(b),
	       (unsigned long long)st.migrations, (unsigned long long)st.elephants, st.elephants_now,
	       st.max_mean);
	printf("  %-8s %5s %7s %6s %12s %10s %10s %9s %9s\n", "worker", "group", "buckets", "load",
	       "delivered", "d:handoff", "backlog", "moved in", "moved out");
	for (unsigned w = 0; w < mqcap_balance_workers(b); w++) {
		struct mqcap_balance_worker_stats ws;

		if (mqcap_balance_worker_stats(b, w, &ws))
			continue;
		printf("  %-8u %5u %7u %5.0f%% %12llu %10llu %10llu %9llu %9llu\n", w, ws.group,
		       ws.buckets, 100 * ws.load, (unsigned long long)ws.delivered,
		       (unsigned long long)ws.drops, (unsigned long long)ws.backlog,
		       (unsigned long long)ws.moved_in, (unsigned long long)ws.moved_out);
	}
}

void bal_json(struct json *j, const mqcap_run_t *run)
{
	const mqcap_balance_t *b = mqcap_run_balance(run);
	struct mqcap_balance_stats st;

	if (!b || mqcap_balance_stats(b, &st))
		return;
	json_key(j, "balance");
	json_obj_open(j);
	json_kv_str(j, "mode", mqcap_balance_mode_name(mqcap_balance_mode(b)));
	json_kv_u64(j, "groups", mqcap_balance_groups(b));
	json_kv_u64(j, "migrations", st.migrations);
	json_kv_u64(j, "elephants", st.elephants);
	json_kv_u64(j, "elephants_now", st.elephants_now);
	json_kv_double(j, "max_mean", st.max_mean, 3);
	json_kv_u64(j, "intervals", st.intervals);
	json_key(j, "workers");
	json_arr_open(j);
	for (unsigned w = 0; w < mqcap_balance_workers(b); w++) {
		struct mqcap_balance_worker_stats ws;

		if (mqcap_balance_worker_stats(b, w, &ws))
			continue;
		json_obj_open(j);
		json_kv_u64(j, "worker", w);
		json_kv_u64(j, "group", ws.group);
		json_kv_u64(j, "buckets", ws.buckets);
		json_kv_double(j, "load", ws.load, 3);
		json_kv_u64(j, "delivered", ws.delivered);
		json_kv_u64(j, "drop_handoff", ws.drops);
		json_kv_u64(j, "backlog", ws.backlog);
		json_kv_u64(j, "busy_ns", ws.busy_ns);
		json_kv_u64(j, "moved_in", ws.moved_in);
		json_kv_u64(j, "moved_out", ws.moved_out);
		json_obj_close(j);
	}
	json_arr_close(j);
	json_obj_close(j);
}
