/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture_opts.h"
#include "cli.h"
#include "privdrop.h"
#include "range.h"

void capture_opts_init(struct capture_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->cap.sz = sizeof(o->cap);
	o->ro.sz = sizeof(o->ro);
	o->interval_ms = 1000;
}

static int parse_cpus(struct capture_opts *o, const char *arg)
{
	if (!strcmp(arg, "auto")) {
		o->ncpus = 0;
		o->no_pin = false;
	} else if (!strcmp(arg, "none")) {
		o->no_pin = true;
	} else {
		/* thread i on the i-th CPU named, in the order written */
		o->ncpus = cli_parse_cpu_order(arg, "-g", o->cpus, CPU_SETSIZE);
		if (o->ncpus < 0)
			return -1;
	}
	return 0;
}

int capture_opts_parse(struct capture_opts *o, int opt, const char *arg)
{
	uint64_t v;

	switch (opt) {
	case 'i':
		return cli_capname_add(&o->cn, arg) ? -1 : 0;
	case 'n':
		if (cli_parse_u64_range(arg, "-n", 1, 4096, "threads", &o->threads))
			return -1;
		o->have_n = true;
		return 0;
	case 'g':
		return parse_cpus(o, arg) ? -1 : 0;
	case 'b':
		if (strcmp(arg, "auto") && strcmp(arg, "xdp") && strcmp(arg, "packet")) {
			cli_warn("-b: expected auto, xdp or packet, got '%s'", arg);
			return -1;
		}
		o->backend = arg;
		return 0;
	case 'f':
		o->filter = arg;
		return 0;
	case 's':
		if (cli_parse_u64_range(arg, "-s", 1, MQCAP_SNAPLEN_DEFAULT, "bytes of snaplen", &v))
			return -1;
		o->cap.snaplen = (uint32_t)v;
		return 0;
	case 'm':
		if (cli_parse_bytes(arg, "-m", &v))
			return -1;
		if (v < MQCAP_RING_QUEUE_MIN) {
			cli_warn("-m: %s is less than the 1M one queue needs", arg);
			return -1;
		}
		o->cap.mem_budget = v;
		return 0;
	case 'c':
		if (cli_parse_u64(arg, "-c", &o->count))
			return -1;
		if (!o->count) {
			cli_warn("-c: expected a positive count");
			return -1;
		}
		return 0;
	case 'd':
		if (cli_parse_duration_ms(arg, "-d", &o->duration_ms))
			return -1;
		if (!o->duration_ms) {
			cli_warn("-d: expected a positive duration");
			return -1;
		}
		return 0;
	case 'l':
		if (cli_parse_duration_ms(arg, "-l", &o->interval_ms))
			return -1;
		if (o->interval_ms < 100) {
			cli_warn("-l: the interval must be at least 100ms");
			return -1;
		}
		return 0;
	case 'q':
		o->quiet = true;
		return 0;
	case 'Z':
		if (cli_privileges_user_check(arg))
			return -1;
		o->drop_user = arg;
		return 0;
	case CAPTURE_OPT_OVERSUB:
		o->oversub = true;
		return 0;
	case CAPTURE_OPT_JSON:
		o->json = true;
		return 0;
	case CAPTURE_OPT_PIN_POLLERS:
		o->ro.flags |= MQCAP_RUN_F_PIN_POLLERS;
		return 0;
	case CAPTURE_OPT_NO_NUMA:
		o->ro.flags |= MQCAP_RUN_F_NO_NUMA;
		return 0;
	case CAPTURE_OPT_BATCH:
		if (cli_parse_u64_range(arg, "--batch-us", 0, 100000, "microseconds", &v))
			return -1;
		o->ro.batch_usecs = (unsigned)v;
		if (!v)
			o->ro.flags |= MQCAP_RUN_F_NO_BATCH;
		return 0;
	case CAPTURE_OPT_NO_READER_FIRST:
		o->ro.flags |= MQCAP_RUN_F_NO_PRIORITY;
		return 0;
	case CAPTURE_OPT_EXCLUSIVE:
		o->exclusive = true;
		return 0;
	case CAPTURE_OPT_METRICS_FILE:
		o->mc.file = arg;
		return 0;
	case CAPTURE_OPT_METRICS_LISTEN:
		o->mc.listen = arg;
		return 0;
	default: /* getopt_long() has said what it did not know */
		fprintf(stderr, "Try '%s --help'.\n", program_invocation_short_name);
		return -1;
	}
}

/* A filter as trailing arguments, like tcpdump. */
static int trailing_filter(struct capture_opts *o, int argc, char **argv, int optind)
{
	size_t len = 0;

	if (optind >= argc)
		return 0;
	for (int i = optind; i < argc; i++)
		len += strlen(argv[i]) + 1;
	o->trailing = calloc(1, len + 1);
	if (!o->trailing)
		cli_die(1, "out of memory");
	for (int i = optind; i < argc; i++) {
		if (i > optind)
			strcat(o->trailing, " ");
		strcat(o->trailing, argv[i]);
	}
	if (o->filter) {
		cli_warn("a filter is given twice: -f '%s' and '%s' (use one)", o->filter, o->trailing);
		return -1;
	}
	o->filter = o->trailing;
	return 0;
}

int capture_opts_finish(struct capture_opts *o, int argc, char **argv, int optind)
{
	const char *prefix = o->cn.prefix;
	bool pcap = *o->cn.pcap;

	if (trailing_filter(o, argc, argv, optind))
		return -1;
	if (!o->cn.ndevs && !pcap) {
		cli_warn("nothing to capture: give -i NAME (see --help)");
		return -1;
	}
	if (o->backend && *prefix && strncmp(prefix, o->backend, strlen(o->backend))) {
		cli_warn("-b %s conflicts with the backend prefix %s in -i", o->backend, prefix);
		return -1;
	}
	if (o->exclusive && ((o->backend && strcmp(o->backend, "xdp")) ||
			     !strcmp(prefix, "packet:") || pcap)) {
		cli_warn("--exclusive takes frames from the stack with AF_XDP: it conflicts with %s",
			 pcap ? "a pcap: file" : o->backend && strcmp(o->backend, "xdp") ?
			 "-b auto/packet" : "the packet: prefix");
		return -1;
	}
	if (o->exclusive)
		o->backend = "xdp";
	if (o->backend && pcap) {
		cli_warn("-b %s conflicts with a pcap: file", o->backend);
		return -1;
	}
	if (o->no_pin && o->ncpus) {
		cli_warn("-g none and a CPU list conflict");
		return -1;
	}
	if (o->json && o->quiet) {
		cli_warn("--json and -q conflict (--json prints only JSON lines already)");
		return -1;
	}
	if (o->have_n && !o->oversub && !o->other_machine && (int)o->threads > cli_online_cpus()) {
		cli_warn("-n %llu: more threads than the %d CPU(s) this process may use (threads would "
			 "share CPUs and drop packets); add --oversubscribe to do it anyway",
			 (unsigned long long)o->threads, cli_online_cpus());
		return -1;
	}

	cli_capname_build(&o->cn, o->name, sizeof(o->name));
	if (o->backend && !strcmp(o->backend, "xdp"))
		o->cap.backend = MQCAP_BACKEND_XDP;
	else if (o->backend && !strcmp(o->backend, "packet"))
		o->cap.backend = MQCAP_BACKEND_PACKET;
	o->cap.filter = o->filter;
	o->cap.flags |= MQCAP_F_PROMISC;
	o->ro.capture = &o->cap;
	o->ro.workers = (unsigned)o->threads;
	o->ro.cpus = o->ncpus ? o->cpus : NULL;
	o->ro.ncpus = (unsigned)o->ncpus;
	o->ro.flags |= MQCAP_RUN_F_FIT;
	if (o->oversub)
		o->ro.flags |= MQCAP_RUN_F_OVERSUBSCRIBE;
	if (o->no_pin)
		o->ro.flags |= MQCAP_RUN_F_NO_PIN;
	return 0;
}

mqcap_run_t *capture_opts_open(struct capture_opts *o, mqcap_run_fn fn, void *user, int *status)
{
	mqcap_run_t *run;

	/* -Z: before any thread exists, so the capture's threads inherit it */
	if (o->drop_user && cli_privileges_prepare(o->drop_user)) {
		*status = 1;
		return NULL;
	}
	run = mqcap_run_open(o->name, &o->ro, fn, user);
	if (!run) {
		int e = errno;

		cli_warn("%s", mqcap_last_error());
		if (e == EINVAL && strstr(mqcap_last_error(), "mem_budget"))
			cli_warn("(mem_budget is -m/--mem)");
		*status = e == EINVAL || e == E2BIG || e == ENODEV ? 2 : 1;
	}
	return run;
}

int capture_opts_start(struct capture_opts *o, mqcap_run_t *run)
{
	int rc;

	cli_stop_on_signals();
	rc = mqcap_run_start(run);
	if (rc) {
		cli_warn("%s", mqcap_run_errmsg(run));
		/* the library names its fields; the user needs the option */
		if (rc == -ENOMEM || rc == -ENOBUFS)
			cli_warn("the rings did not fit: lower -m/--mem (%llu MiB for all queues "
				 "now), capture fewer queues, or raise the limit that refused them",
				 (unsigned long long)((o->cap.mem_budget ? o->cap.mem_budget :
						       MQCAP_MEM_BUDGET_DEFAULT) >> 20));
		return -1;
	}
	metrics_cli_started(&o->mc);
	/* Every socket, program and map is open now: the rest needs no privilege. */
	if (o->drop_user && cli_drop_privileges(o->drop_user)) {
		mqcap_run_stop(run);
		mqcap_run_wait(run, -1);
		return -1;
	}
	return 0;
}

/* Each RX queue count change (queues gone, new queues captured or not), as it comes: every
 * one, since each names other queues. */
static void queue_reports(struct capture_opts *o, const mqcap_run_t *run)
{
	unsigned n = mqcap_run_queue_reports(run, o->queue_reports, NULL, 0);
	char msg[256];

	for (; o->queue_reports < n; o->queue_reports++) {
		mqcap_run_queue_reports(run, o->queue_reports, msg, sizeof(msg));
		if (*msg)
			cli_warn("%s", msg);
	}
}

void capture_opts_link_reports(struct capture_opts *o, const mqcap_run_t *run)
{
	char msg[512];
	unsigned n = mqcap_run_link_reports(run, msg, sizeof(msg));

	queue_reports(o, run);
	if (n == o->link_reports + 1)
		cli_warn("%s; the capture goes on", msg);
	else if (n != o->link_reports)
		cli_warn("%u link reports, the last: %s; the capture goes on", n - o->link_reports, msg);
	o->link_reports = n;

	/* the handles' warnings (mqcap_warnings(): e.g. a selected queue that receives nothing
	 * while the device's others do): said once each, as they come */
	n = mqcap_run_warnings(run, msg, sizeof(msg));
	if (n == o->warnings + 1)
		cli_warn("warning: %s", msg);
	else if (n != o->warnings)
		cli_warn("%u warnings, the last: %s", n - o->warnings, msg);
	o->warnings = n;
}


void capture_opts_wait(struct capture_opts *o, mqcap_run_t *run, void (*every)(void *user),
		       void (*interval)(void *user), void *user)
{
	uint64_t start = cli_now_ns(), next = start + o->interval_ms * 1000000ull;

	for (;;) {
		uint64_t now = cli_now_ns();
		int rc;

		if (cli_stop_requested())
			break;
		if (o->duration_ms && now - start >= o->duration_ms * 1000000ull)
			break;
		/* Short waits keep Ctrl-C and -d prompt; 0 means every thread has ended. */
		rc = mqcap_run_wait(run, 100);
		capture_opts_link_reports(o, run);
		if (every)
			every(user);
		if (rc != -ETIMEDOUT)
			break;
		if (cli_now_ns() >= next) {
			if (interval)
				interval(user);
			next += o->interval_ms * 1000000ull;
		}
	}
}

void capture_opts_free(struct capture_opts *o)
{
	free(o->trailing);
	o->trailing = NULL;
}
