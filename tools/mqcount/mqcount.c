/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mqcount - count packets from devices, virtual capture devices (eth1@2) and queue sets with
 * one pinned thread per queue: the paper's pfcount, on mqcap's worker runtime.
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture_opts.h"
#include "cli.h"
#include "mqcount.h"
#include "range.h"

static const char usage[] =
"Usage: mqcount -i NAME [-i NAME...] [options] [FILTER...]\n"
"Count packets per RX queue and per thread, with threads placed beside the kernel's pollers.\n"
"\n"
CAPTURE_OPTS_HELP_INTERFACE
"  -n, --threads N        worker threads (default: one per queue, at most one per CPU;\n"
"                         fewer threads than queues: several queues per thread);\n"
"                         with --balance also groups, e.g. 2,1 (see --balance)\n"
CAPTURE_OPTS_HELP_PLACE
"  -c, --count N          stop after N packets (the last burst may add a few; all are counted)\n"
CAPTURE_OPTS_HELP_DURATION
"  -l, --interval T       live table period (default 1s)\n"
"  -q, --quiet            no live table, only the summary\n"
"      --json             JSON lines: plan, one per interval, summary\n"
METRICS_CLI_HELP"      --verify           check mqsend payloads: loss, duplicates, reordering per flow\n"
"      --split            poller/consumer mode: a poller thread per queue copies packets to\n"
"                         consumer threads (-n of them) over SPSC rings (the paper's Setup C)\n"
"      --balance MODE     software scheduler: a poller thread per queue hands each packet to\n"
"                         a worker (-n of them) by flow: static (fixed bucket table), adaptive\n"
"                         (buckets move from busy to idle workers, per-flow order kept), rr\n"
"                         (round robin, no order), fanout (every worker gets every packet);\n"
"                         -n 2,1: groups (two share by flow, a third gets a copy of everything)\n"
"      --inner            --balance: hash the inner headers of GRE, VXLAN, GTP-U, IP-in-IP\n"
"      --work-ns N        busy-wait N ns per packet in the worker (stands for an analysis)\n"
CAPTURE_OPTS_HELP_PLACEMENT
"      --topology FILE    plan from an hwloc XML topology instead of this machine (with --plan)\n"
"      --plan             print the plan and exit without capturing\n"
"  -Z, --relinquish-privileges USER\n"
"                         open everything as root, then capture as USER with no capability\n"
"                         left (as tcpdump -Z); stopping still detaches the XDP program\n"
"  -h, --help             this text\n"
"\n"
"Drops are split by where they happened: d:ring (the socket's ring was full), d:fill (xdp: no\n"
"free UMEM frame), d:nosock (xdp: no socket bound), d:invalid (xdp: invalid descriptors),\n"
"d:handoff (--split, --balance: the consumer's ring was full). The summary checks that the numbers add up\n"
"and exits 1 on a capture error, 2 on bad usage. See mqcount(8).\n";

enum {
	OPT_VERIFY = 256, OPT_SPLIT, OPT_TOPOLOGY, OPT_PLAN, OPT_BALANCE, OPT_INNER, OPT_WORK_NS,
};

static const struct option longopts[] = {
	CAPTURE_OPTS_LONG,
	{ "help", no_argument, NULL, 'h' },
	{ "verify", no_argument, NULL, OPT_VERIFY },
	{ "split", no_argument, NULL, OPT_SPLIT },
	{ "topology", required_argument, NULL, OPT_TOPOLOGY },
	{ "plan", no_argument, NULL, OPT_PLAN },
	{ "balance", required_argument, NULL, OPT_BALANCE },
	{ "inner", no_argument, NULL, OPT_INNER },
	{ "work-ns", required_argument, NULL, OPT_WORK_NS },
	{ 0 },
};

struct ctx {
	uint64_t count;             /* -c; 0 = no limit */
	_Atomic uint64_t total;     /* packets seen by callbacks, for -c */
	struct vtable *vt;          /* --verify: one per worker */
	uint64_t work_ns;           /* --work-ns */
	const mqcap_run_t *run;     /* --balance: for the workers' groups */
};

static int on_burst(void *user, unsigned worker, const struct mqcap_pkt *pkts, unsigned n)
{
	struct ctx *c = user;

	if (c->work_ns)
		bal_work(c->work_ns * n);
	/* With groups every packet comes once per group: the first group is verified, so a
	 * copy is never mistaken for a duplicate. */
	if (c->vt && (!c->run || bal_worker_group(c->run, worker) == 0))
		for (unsigned i = 0; i < n; i++)
			vtable_packet(&c->vt[worker], pkts[i].data, pkts[i].caplen);
	if (c->count) {
		uint64_t t = atomic_fetch_add_explicit(&c->total, n, memory_order_relaxed) + n;

		return t >= c->count;
	}
	return 0;
}

static void tick(void *user)
{
	report_tick(user);
}

int main(int argc, char **argv)
{
	static struct capture_opts o;
	const char *topology = NULL;
	bool verify = false, plan_only = false, inner = false;
	int balance = -1, opt, rc, exit_code = 0;
	unsigned groups[64], ngroups = 0;
	MQCAP_BALANCE_OPTS(bo);
	struct ctx ctx = { 0 };
	struct report rep;
	struct vresult vr;
	mqcap_run_t *run;
	char errbuf[512] = "";

	capture_opts_init(&o);
	while ((opt = getopt_long(argc, argv, "+" CAPTURE_OPTS_SHORT "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			if (bal_parse_threads(optarg, groups, 64, &ngroups, &o.threads))
				return 2;
			o.have_n = true;
			break;
		case OPT_VERIFY:
			verify = true;
			break;
		case OPT_SPLIT:
			o.ro.flags |= MQCAP_RUN_F_SPLIT;
			break;
		case OPT_TOPOLOGY:
			topology = optarg;
			break;
		case OPT_PLAN:
			plan_only = true;
			break;
		case OPT_BALANCE:
			balance = mqcap_balance_mode_parse(optarg);
			if (balance < 0) {
				cli_warn("--balance: expected static, adaptive, rr or fanout, got '%s'", optarg);
				return 2;
			}
			break;
		case OPT_INNER:
			inner = true;
			break;
		case OPT_WORK_NS:
			if (cli_parse_u64_range(optarg, "--work-ns", 1, 100000000, "nanoseconds", &ctx.work_ns))
				return 2;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			if (capture_opts_parse(&o, opt, optarg))
				return 2;
		}
	}

	/* --topology plans another machine: its CPUs, not this one's, bound -n */
	o.other_machine = topology != NULL;
	if (capture_opts_finish(&o, argc, argv, optind)) {
		capture_opts_free(&o);
		return 2;
	}
	if (topology && !plan_only) {
		cli_warn("--topology plans another machine: use it with --plan");
		return 2;
	}
	if (ngroups > 1 && balance < 0) {
		cli_warn("-n %u groups: worker groups need --balance", ngroups);
		return 2;
	}
	if (ngroups > 1 && balance == MQCAP_BALANCE_FANOUT) {
		cli_warn("-n: groups and --balance fanout conflict (fan-out makes every worker a group)");
		return 2;
	}
	if (inner && balance < 0) {
		cli_warn("--inner is a --balance option");
		return 2;
	}
	if (balance >= 0 && (o.ro.flags & MQCAP_RUN_F_SPLIT)) {
		cli_warn("--split and --balance conflict (--balance is split mode with a scheduler)");
		return 2;
	}
	ctx.count = o.count;
	o.ro.topo_xml = topology;
	/* the report grows with the run's queues (report.c): new queues are welcome */
	o.ro.flags |= MQCAP_RUN_F_NEW_QUEUES;
	if (balance >= 0) {
		bo.mode = balance;
		bo.groups = ngroups > 1 ? groups : NULL;
		bo.ngroups = ngroups > 1 ? ngroups : 0;
		bo.flags = inner ? MQCAP_BALANCE_F_INNER : 0;
		o.ro.balance = &bo;
	}

	run = capture_opts_open(&o, on_burst, &ctx, &exit_code);
	if (!run) {
		capture_opts_free(&o);
		return exit_code;
	}
	if (balance >= 0)
		ctx.run = run;
	if (report_init(&rep, run, o.json, o.quiet))
		cli_die(1, "out of memory");
	rep.offline = *o.cn.pcap;
	report_plan(&rep);
	if (plan_only)
		goto out;
	if (verify) {
		ctx.vt = calloc(mqcap_run_worker_count(run), sizeof(*ctx.vt));
		if (!ctx.vt)
			cli_die(1, "out of memory");
		for (unsigned i = 0; i < mqcap_run_worker_count(run); i++)
			if (vtable_init(&ctx.vt[i]))
				cli_die(1, "out of memory");
	}

	/* Before anything is captured: a bad address or file is refused with nothing changed. */
	if (metrics_cli_start(&o.mc, run, (unsigned)o.interval_ms, NULL, NULL)) {
		exit_code = 2;
		goto out;
	}
	if (capture_opts_start(&o, run)) {
		exit_code = 1;
		goto out;
	}
	if (!o.json && !o.quiet)
		printf("capturing from %s with %s (Ctrl-C to stop)\nbackend: %s\n", o.name,
		       mqcap_run_backend_name(run), mqcap_run_backend_reason(run));
	report_arrangement(&rep);
	/* Whatever the output mode: the user may be about to lose the session they type in. */
	if (mqcap_run_stack_warning(run))
		cli_warn("warning: %s", mqcap_run_stack_warning(run));
	fflush(stdout);
	capture_opts_wait(&o, run, NULL, tick, &rep);
	mqcap_run_stop(run);
	rc = mqcap_run_wait(run, -1);
	capture_opts_link_reports(&o, run);
	if (rc) {
		snprintf(errbuf, sizeof(errbuf), "%s", mqcap_run_errmsg(run));
		cli_warn("%s", errbuf);
		exit_code = 1;
	}
	if (verify)
		vtable_merge(ctx.vt, mqcap_run_worker_count(run), &vr);
	if (report_summary(&rep, verify ? &vr : NULL, *errbuf ? errbuf : NULL) && !exit_code) {
		cli_warn("the per-thread counts do not add up to the per-queue counts");
		exit_code = 1;
	}
	/* The final counters, the same the summary printed. */
	if (metrics_cli_finish(&o.mc) && !exit_code)
		exit_code = 1;
out:
	metrics_cli_finish(&o.mc);
	if (ctx.vt) {
		for (unsigned i = 0; i < mqcap_run_worker_count(run); i++)
			vtable_free(&ctx.vt[i]);
		free(ctx.vt);
	}
	report_free(&rep);
	mqcap_run_close(run);
	capture_opts_free(&o);
	return exit_code;
}
