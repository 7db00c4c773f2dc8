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

#include "capname.h"
#include "cli.h"
#include "metrics_cli.h"
#include "privdrop.h"
#include "mqcount.h"
#include "range.h"
#include "run_reports.h"

static const char usage[] =
"Usage: mqcount -i NAME [-i NAME...] [options] [FILTER...]\n"
"Count packets per RX queue and per thread, with threads placed beside the kernel's pollers.\n"
"\n"
"  -i, --interface NAME   what to capture; repeatable. NAME: eth1 (all RX queues), eth1@2\n"
"                         (queue 2: a virtual capture device), eth1@0-3, eth1@1,5, eth1,eth2,\n"
"                         packet:eth1 / xdp:eth1 (backend), pcap:FILE (offline file)\n"
"  -n, --threads N        worker threads (default: one per queue, at most one per CPU;\n"
"                         fewer threads than queues: several queues per thread);\n"
"                         with --balance also groups, e.g. 2,1 (see --balance)\n"
"  -g, --cpus LIST|auto|none\n"
"                         where threads run: a CPU list (0-3,6; thread i on the i-th CPU),\n"
"                         auto (default: beside each queue's kernel poller, from the topology),\n"
"                         none (do not pin)\n"
"      --oversubscribe    allow more threads than CPUs\n"
"  -b, --backend auto|xdp|packet\n"
"                         kernel path. auto (default): AF_XDP only on a dedicated capture port\n"
"                         (no address, route, master or stacked device in use) where native\n"
"                         XDP works, else AF_PACKET, which leaves the host its traffic. xdp:\n"
"                         AF_XDP anyway: the captured queues' frames no longer reach the\n"
"                         network stack (a warning names the addresses cut off)\n"
"      --exclusive        take the captured queues' frames away from the network stack for\n"
"                         speed: AF_XDP even on a device the host uses (as -b xdp)\n"
"  -f, --filter EXPR      tcpdump filter; or give it as trailing arguments, like tcpdump\n"
"  -s, --snaplen N        bytes kept per packet (default 262144)\n"
"  -m, --mem SIZE         ring memory for all queues together (default 64M; K, M, G): each\n"
"                         queue gets an even share, at most 16M (xdp) or 4M (packet), at least\n"
"                         1M. Smaller rings hold shorter bursts: see mqcount(8)\n"
"  -c, --count N          stop after N packets (the last burst may add a few; all are counted)\n"
"  -d, --duration T       stop after T (10, 10s, 500ms, 2m)\n"
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
"      --pin-pollers      pin unpinned threaded-NAPI pollers where the plan puts them\n"
"      --no-numa          ignore the NIC's NUMA node when placing\n"
"      --batch-us N       when the ring is empty after a short burst, wait N microseconds\n"
"                         before receiving again, so a kernel poller on the same CPU fills the\n"
"                         ring instead of waking the thread for every packet (default: 1000 for\n"
"                         a thread placed on its poller's CPU, else 0; 0 turns it off)\n"
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
	OPT_OVERSUB = 256, OPT_JSON, OPT_VERIFY, OPT_SPLIT, OPT_PIN_POLLERS, OPT_NO_NUMA,
	OPT_TOPOLOGY, OPT_PLAN, OPT_BATCH, OPT_EXCLUSIVE, OPT_BALANCE, OPT_INNER, OPT_WORK_NS,
	OPT_METRICS_FILE, OPT_METRICS_LISTEN,
};

static const struct option longopts[] = {
	{ "interface", required_argument, NULL, 'i' },
	{ "threads", required_argument, NULL, 'n' },
	{ "cpus", required_argument, NULL, 'g' },
	{ "backend", required_argument, NULL, 'b' },
	{ "filter", required_argument, NULL, 'f' },
	{ "snaplen", required_argument, NULL, 's' },
	{ "mem", required_argument, NULL, 'm' },
	{ "count", required_argument, NULL, 'c' },
	{ "duration", required_argument, NULL, 'd' },
	{ "interval", required_argument, NULL, 'l' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "oversubscribe", no_argument, NULL, OPT_OVERSUB },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "verify", no_argument, NULL, OPT_VERIFY },
	{ "split", no_argument, NULL, OPT_SPLIT },
	{ "pin-pollers", no_argument, NULL, OPT_PIN_POLLERS },
	{ "no-numa", no_argument, NULL, OPT_NO_NUMA },
	{ "topology", required_argument, NULL, OPT_TOPOLOGY },
	{ "plan", no_argument, NULL, OPT_PLAN },
	{ "batch-us", required_argument, NULL, OPT_BATCH },
	{ "exclusive", no_argument, NULL, OPT_EXCLUSIVE },
	{ "relinquish-privileges", required_argument, NULL, 'Z' },
	{ "balance", required_argument, NULL, OPT_BALANCE },
	{ "inner", no_argument, NULL, OPT_INNER },
	{ "work-ns", required_argument, NULL, OPT_WORK_NS },
	{ "metrics-file", required_argument, NULL, OPT_METRICS_FILE },
	{ "metrics-listen", required_argument, NULL, OPT_METRICS_LISTEN },
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

int main(int argc, char **argv)
{
	MQCAP_OPTS(cap);
	MQCAP_RUN_OPTS(ro);
	static struct cli_capname cn;
	char name[8192];
	const char *filter = NULL, *backend = NULL, *topology = NULL, *drop_user = NULL;
	char *trailing = NULL;
	uint64_t v, duration_ms = 0, interval_ms = 1000, threads = 0;
	int cpus[CPU_SETSIZE], ncpus = 0, opt;
	bool oversub = false, json = false, verify = false, quiet = false, plan_only = false;
	bool no_pin = false, have_n = false, exclusive = false, inner = false;
	int balance = -1;
	unsigned groups[64], ngroups = 0;
	MQCAP_BALANCE_OPTS(bo);
	struct ctx ctx = { 0 };
	struct metrics_cli mc = { 0 };
	struct report rep;
	struct vresult vr;
	mqcap_run_t *run;
	int rc, exit_code = 0;
	struct run_reports reports = { 0 };
	char errbuf[512] = "";

	while ((opt = getopt_long(argc, argv, "+i:n:g:b:f:s:m:c:d:l:qhZ:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			if (cli_capname_add(&cn, optarg))
				return 2;
			break;
		case 'n':
			if (bal_parse_threads(optarg, groups, 64, &ngroups, &threads))
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
				/* thread i on the i-th CPU named, in the order written */
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
		case 'm':
			if (cli_parse_bytes(optarg, "-m", &v))
				return 2;
			if (v < MQCAP_RING_QUEUE_MIN) {
				cli_warn("-m: %s is less than the 1M one queue needs", optarg);
				return 2;
			}
			cap.mem_budget = v;
			break;
		case 'c':
			if (cli_parse_u64(optarg, "-c", &ctx.count))
				return 2;
			if (!ctx.count) {
				cli_warn("-c: expected a positive count");
				return 2;
			}
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
		case OPT_OVERSUB:
			oversub = true;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_VERIFY:
			verify = true;
			break;
		case OPT_SPLIT:
			ro.flags |= MQCAP_RUN_F_SPLIT;
			break;
		case OPT_PIN_POLLERS:
			ro.flags |= MQCAP_RUN_F_PIN_POLLERS;
			break;
		case OPT_NO_NUMA:
			ro.flags |= MQCAP_RUN_F_NO_NUMA;
			break;
		case OPT_TOPOLOGY:
			topology = optarg;
			break;
		case OPT_PLAN:
			plan_only = true;
			break;
		case OPT_BATCH:
			if (cli_parse_u64_range(optarg, "--batch-us", 0, 100000, "microseconds", &v))
				return 2;
			ro.batch_usecs = (unsigned)v;
			if (!v)
				ro.flags |= MQCAP_RUN_F_NO_BATCH;
			break;
		case OPT_EXCLUSIVE:
			exclusive = true;
			break;
		case 'Z':
			if (cli_privileges_user_check(optarg))
				return 2;
			drop_user = optarg;
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
			fprintf(stderr, "Try 'mqcount --help'.\n");
			return 2;
		}
	}

	/* A filter as trailing arguments, like tcpdump. */
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
			free(trailing);
			return 2;
		}
		filter = trailing;
	}
	if (!cn.ndevs && !*cn.pcap) {
		cli_warn("nothing to capture: give -i NAME (see --help)");
		return 2;
	}
	if (backend && *cn.prefix && strncmp(cn.prefix, backend, strlen(backend))) {
		cli_warn("-b %s conflicts with the backend prefix %s in -i", backend, cn.prefix);
		return 2;
	}
	if (exclusive && ((backend && strcmp(backend, "xdp")) || !strcmp(cn.prefix, "packet:") ||
			  *cn.pcap)) {
		cli_warn("--exclusive takes frames from the stack with AF_XDP: it conflicts with %s",
			 *cn.pcap ? "a pcap: file" : backend && strcmp(backend, "xdp") ? "-b auto/packet" :
			 "the packet: prefix");
		return 2;
	}
	if (exclusive)
		backend = "xdp";
	if (backend && *cn.pcap) {
		cli_warn("-b %s conflicts with a pcap: file", backend);
		return 2;
	}
	if (no_pin && ncpus) {
		cli_warn("-g none and a CPU list conflict");
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
	if (balance >= 0 && (ro.flags & MQCAP_RUN_F_SPLIT)) {
		cli_warn("--split and --balance conflict (--balance is split mode with a scheduler)");
		return 2;
	}
	if (json && quiet) {
		cli_warn("--json and -q conflict (--json prints only JSON lines already)");
		return 2;
	}
	if (have_n && !oversub && !topology && (int)threads > cli_online_cpus()) {
		cli_warn("-n %llu: more threads than the %d CPU(s) this process may use (threads would "
			 "share CPUs and drop packets); add --oversubscribe to do it anyway",
			 (unsigned long long)threads, cli_online_cpus());
		return 2;
	}

	cli_capname_build(&cn, name, sizeof(name));
	if (backend && !strcmp(backend, "xdp"))
		cap.backend = MQCAP_BACKEND_XDP;
	else if (backend && !strcmp(backend, "packet"))
		cap.backend = MQCAP_BACKEND_PACKET;
	cap.filter = filter;
	cap.flags |= MQCAP_F_PROMISC;

	ro.capture = &cap;
	ro.workers = (unsigned)threads;
	ro.cpus = ncpus ? cpus : NULL;
	ro.ncpus = (unsigned)ncpus;
	ro.topo_xml = topology;
	ro.flags |= MQCAP_RUN_F_FIT;
	if (balance >= 0) {
		bo.mode = balance;
		bo.groups = ngroups > 1 ? groups : NULL;
		bo.ngroups = ngroups > 1 ? ngroups : 0;
		bo.flags = inner ? MQCAP_BALANCE_F_INNER : 0;
		ro.balance = &bo;
	}
	if (oversub)
		ro.flags |= MQCAP_RUN_F_OVERSUBSCRIBE;
	if (no_pin)
		ro.flags |= MQCAP_RUN_F_NO_PIN;

	/* -Z: before any thread exists, so the capture's threads inherit it */
	if (drop_user && cli_privileges_prepare(drop_user))
		return 1;
	run = mqcap_run_open(name, &ro, on_burst, &ctx);
	if (!run) {
		cli_warn("%s", mqcap_last_error());
		if (errno == EINVAL && strstr(mqcap_last_error(), "mem_budget"))
			cli_warn("(mem_budget is -m/--mem)");
		free(trailing);
		return errno == EINVAL || errno == E2BIG || errno == ENODEV ? 2 : 1;
	}
	if (balance >= 0)
		ctx.run = run;
	if (report_init(&rep, run, json, quiet))
		cli_die(1, "out of memory");
	rep.offline = *cn.pcap;
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
	if (metrics_cli_start(&mc, run, (unsigned)interval_ms, NULL, NULL)) {
		exit_code = 2;
		goto out;
	}
	cli_stop_on_signals();
	rc = mqcap_run_start(run);
	if (rc) {
		cli_warn("%s", mqcap_run_errmsg(run));
		/* the library names its fields; the user needs the option */
		if (rc == -ENOMEM || rc == -ENOBUFS)
			cli_warn("the rings did not fit: lower -m/--mem (%llu MiB for all queues "
				 "now), capture fewer queues, or raise the limit that refused them",
				 (unsigned long long)((cap.mem_budget ? cap.mem_budget :
						       MQCAP_MEM_BUDGET_DEFAULT) >> 20));
		exit_code = 1;
		goto out;
	}
	metrics_cli_started(&mc);
	/* Every socket, program and map is open now: the rest needs no privilege. */
	if (drop_user && cli_drop_privileges(drop_user)) {
		mqcap_run_stop(run);
		mqcap_run_wait(run, -1);
		exit_code = 1;
		goto out;
	}
	if (!json && !quiet)
		printf("capturing from %s with %s (Ctrl-C to stop)\nbackend: %s\n", name,
		       mqcap_run_backend_name(run), mqcap_run_backend_reason(run));
	/* Whatever the output mode: the user may be about to lose the session they type in. */
	if (mqcap_run_stack_warning(run))
		cli_warn("warning: %s", mqcap_run_stack_warning(run));
	fflush(stdout);
	{
		uint64_t start = cli_now_ns(), next = start + interval_ms * 1000000ull;

		for (;;) {
			uint64_t now = cli_now_ns();

			if (cli_stop_requested())
				break;
			if (duration_ms && now - start >= duration_ms * 1000000ull)
				break;
			/* Short waits keep Ctrl-C and -d prompt; 0 means every thread has ended. */
			rc = mqcap_run_wait(run, 100);
			run_reports_print(run, &reports);
			if (rc != -ETIMEDOUT)
				break;
			if (cli_now_ns() >= next) {
				report_tick(&rep);
				next += interval_ms * 1000000ull;
			}
		}
	}
	mqcap_run_stop(run);
	rc = mqcap_run_wait(run, -1);
	run_reports_print(run, &reports);
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
	if (metrics_cli_finish(&mc) && !exit_code)
		exit_code = 1;
out:
	metrics_cli_finish(&mc);
	if (ctx.vt) {
		for (unsigned i = 0; i < mqcap_run_worker_count(run); i++)
			vtable_free(&ctx.vt[i]);
		free(ctx.vt);
	}
	report_free(&rep);
	mqcap_run_close(run);
	free(trailing);
	return exit_code;
}
