/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mqtune - show where a machine's capture work runs and where it should: the topology, each
 * device's RX queues with their kernel poller (threaded NAPI thread or IRQ) and its CPU, and
 * the placement plan of topo.h; --apply turns threaded NAPI on and pins the pollers (and IRQs)
 * to the plan, which is the paper's "automatic affinity tuning" done once for a machine.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "range.h"
#include "mqcap/irq.h"
#include "mqcap/napi.h"
#include "mqcap/queues.h"
#include "mqcap/topo.h"

#define MAXQ MQCAP_QUEUES_MAX
#define MAXDEV 16

static const char usage[] =
"Usage: mqtune [options] [DEV...]\n"
"Show the CPU topology, each device's RX queues with the kernel thread or IRQ that polls them,\n"
"its CPU and where that fact came from (netlink, netlink-rank, proc), and where capture threads\n"
"should run. Devices are looked up in the current\n"
"network namespace (run it under `ip netns exec NS`); default: every device but lo.\n"
"\n"
"  -n, --threads N      plan N capture threads (default: one per queue)\n"
"  -g, --cpus LIST      plan on these CPUs only (thread i on the i-th)\n"
"      --oversubscribe  allow more threads than CPUs in the plan\n"
"      --apply          put each queue's interrupt and poller thread on the CPU the plan\n"
"                       gives it (and its capture thread); threaded NAPI is turned on only\n"
"                       where a device has no per-queue interrupt (veth), or with --threaded\n"
"      --threaded       with --apply: turn threaded NAPI on even where interrupts exist\n"
"      --save FILE      with --apply: write the affinities it changes, as they were, to FILE\n"
"      --restore FILE   put the affinities saved in FILE back, and exit\n"
"      --repin          plan pollers afresh, ignoring where they are pinned now (with --apply:\n"
"                       move them)\n"
"      --topology FILE  plan for the machine in this hwloc XML file (no --apply)\n"
"      --json           one JSON object instead of text\n"
"  -h, --help           this text\n"
"\n"
"Exit status: 0 ok, 1 a change failed, 2 bad usage. See mqtune(8).\n";

struct qinfo {
	int napi_pid, irq, cpu; /* cpu: where the poller is pinned, -1 floating/unknown */
	int last_cpu;
	char kind[8];           /* "napi", "irq", "softirq" */
	const char *source;     /* where the poller facts came from: queues.h mqcap_qsrc_name() */
	struct mqcap_queue_irq qirq; /* the queue's interrupt (irq.h); qirq.irq -1: none */
};

struct dev {
	char name[16];          /* IFNAMSIZ */
	unsigned nq;
	int threaded;           /* 1, 0, -errno */
	int numa;
	struct qinfo q[MAXQ];
};

/* Each queue's interrupt, with where the fact came from (irq.h). */
static void inspect_irqs(struct dev *d)
{
	struct mqcap_queue_irq *qi = calloc(d->nq, sizeof(*qi));
	int n;

	if (!qi)
		cli_die(1, "out of memory");
	n = mqcap_queue_irqs(d->name, qi, d->nq);
	for (unsigned q = 0; n > 0 && q < d->nq && q < (unsigned)n; q++)
		d->q[q].qirq = qi[q];
	free(qi);
}

static int inspect(struct dev *d, const mqcap_topo_t *t)
{
	struct mqcap_queue_poller *pp;
	int n = mqcap_queue_pollers(d->name, 0, NULL, 0);

	if (n <= 0) {
		cli_warn("%s: %s", d->name, n ? mqcap_last_error() : "the device has no RX queues");
		return -1;
	}
	pp = calloc((size_t)n, sizeof(*pp));
	if (!pp)
		cli_die(1, "out of memory");
	n = mqcap_queue_pollers(d->name, 0, pp, (unsigned)n);
	if (n <= 0) {
		cli_warn("%s: %s", d->name, n ? mqcap_last_error() : "the device has no RX queues");
		free(pp);
		return -1;
	}
	d->nq = (unsigned)n < MAXQ ? (unsigned)n : MAXQ;
	d->numa = mqcap_topo_dev_numa(t, d->name);
	d->threaded = mqcap_napi_threaded(d->name);
	for (unsigned q = 0; q < d->nq; q++) {
		struct qinfo *qi = &d->q[q];
		const struct mqcap_queue_poller *p = &pp[q];

		memset(qi, 0, sizeof(*qi));
		qi->qirq.irq = -1;
		qi->napi_pid = p->pid;
		qi->irq = p->irq;
		qi->cpu = p->cpu;
		qi->last_cpu = p->last_cpu;
		if (p->pid > 0) {
			snprintf(qi->kind, sizeof(qi->kind), "napi");
			qi->source = mqcap_qsrc_name(p->source);
		} else if (p->irq >= 0) {
			/* softirq on the CPU its interrupt is delivered to */
			snprintf(qi->kind, sizeof(qi->kind), "irq");
			qi->source = mqcap_qsrc_name(p->irq_source);
		} else {
			/* softirq on whichever CPU took the interrupt, or the sender's (veth) */
			snprintf(qi->kind, sizeof(qi->kind), "softirq");
			qi->source = mqcap_qsrc_name(p->source);
		}
	}
	free(pp);
	inspect_irqs(d);
	return 0;
}

/* --save: the affinities --apply changes, as they were, one line each:
 *   irq IRQ CPULIST      thread PID CPULIST
 * --restore reads the same lines back. */
static FILE *save_file;

static void save_thread(int pid)
{
	int cpus[CPU_SETSIZE], n;
	cpu_set_t set;

	if (!save_file || sched_getaffinity(pid, sizeof(set), &set))
		return;
	n = cli_cpus_of(&set, cpus, CPU_SETSIZE);
	fprintf(save_file, "thread %d ", pid);
	for (int i = 0; i < n; i++)
		fprintf(save_file, "%s%d", i ? "," : "", cpus[i]);
	fputc('\n', save_file);
}

static int restore(const char *path)
{
	FILE *f = fopen(path, "r");
	char kind[16], list[512];
	int id, bad = 0, done = 0;

	if (!f) {
		cli_warn("%s: %s", path, strerror(errno));
		return 2;
	}
	while (fscanf(f, "%15s %d %511s", kind, &id, list) == 3) {
		int rc = -EINVAL;

		if (!strcmp(kind, "irq")) {
			rc = mqcap_irq_set_affinity(id, list);
		} else if (!strcmp(kind, "thread")) {
			cpu_set_t set;

			rc = cli_parse_cpulist(list, "a saved thread affinity", &set) < 0 ? -EINVAL :
			     sched_setaffinity(id, sizeof(set), &set) ? -errno : 0;
		}
		if (rc) {
			cli_warn("%s: cannot restore %s %d to CPU(s) %s: %s", path, kind, id, list,
				 !strcmp(kind, "irq") ? mqcap_last_error() : strerror(-rc));
			bad++;
		} else {
			printf("restored %s %d to CPU(s) %s\n", kind, id, list);
			done++;
		}
	}
	fclose(f);
	if (!done && !bad)
		cli_warn("%s: nothing to restore (lines: irq IRQ CPULIST, thread PID CPULIST)", path);
	return bad ? 1 : 0;
}

static void list_devices(struct dev *devs, unsigned *nd)
{
	DIR *d = opendir("/sys/class/net");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) && *nd < MAXDEV) {
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "lo") || strlen(e->d_name) >= sizeof(devs[0].name))
			continue;
		if (mqcap_dev_rx_queues(e->d_name, 0) <= 0)
			continue;
		snprintf(devs[*nd].name, sizeof(devs[*nd].name), "%s", e->d_name);
		(*nd)++;
	}
	closedir(d);
}

/* Plan every queue of every device. repin: treat pollers as floating. */
static struct mqcap_plan *make_plan(mqcap_topo_t *t, struct dev *devs, unsigned nd,
				    const struct mqcap_plan_opts *po, bool repin)
{
	struct mqcap_plan_queue *pq;
	unsigned n = 0, total = 0;
	struct mqcap_plan *p;

	for (unsigned i = 0; i < nd; i++)
		total += devs[i].nq;
	pq = calloc(total ? total : 1, sizeof(*pq));
	if (!pq)
		cli_die(1, "out of memory");
	for (unsigned i = 0; i < nd; i++)
		for (unsigned q = 0; q < devs[i].nq; q++, n++) {
			/* both are IFNAMSIZ; memcpy because gcc cannot see that through devs[i] */
			memcpy(pq[n].dev, devs[i].name, strnlen(devs[i].name, sizeof(pq[n].dev) - 1));
			pq[n].queue = q;
			pq[n].poller_cpu = repin ? -1 : devs[i].q[q].cpu;
			if (pq[n].poller_cpu >= 0 && !mqcap_topo_cpu(t, pq[n].poller_cpu))
				pq[n].poller_cpu = -1;
			pq[n].nic_numa = devs[i].numa;
		}
	p = mqcap_plan_make(t, pq, total, po);
	free(pq);
	return p;
}

static void print_text(const mqcap_topo_t *t, const struct dev *devs, unsigned nd,
		       const struct mqcap_plan *p)
{
	char buf[16384];

	mqcap_topo_format(t, buf, sizeof(buf));
	printf("topology: %s", buf);
	for (unsigned i = 0; i < nd; i++) {
		const struct dev *d = &devs[i];

		const char *napi = d->threaded == 1 ? "threaded" : d->threaded == 0 ? "in softirq" : "unknown";

		if (d->numa >= 0)
			printf("\n%s: %u RX queue(s), local to NUMA node %d, NAPI %s\n", d->name, d->nq,
			       d->numa, napi);
		else
			printf("\n%s: %u RX queue(s), no NUMA locality (virtual or single-node), NAPI %s\n",
			       d->name, d->nq, napi);
		for (unsigned q = 0; q < d->nq; q++) {
			const struct qinfo *qi = &d->q[q];

			const struct mqcap_queue_irq *ir = &qi->qirq;

			if (!strcmp(qi->kind, "napi"))
				printf("  queue %-3u napi thread %-7d %s cpu %d (last ran on %d)  [%s%s]\n", q,
				       qi->napi_pid, qi->cpu >= 0 ? "pinned to" : "floating,", qi->cpu,
				       qi->last_cpu, qi->source,
				       strcmp(qi->source, "proc") ? "" : ": a guess, the q-th lowest NAPI id");
			else if (ir->irq >= 0)
				printf("  queue %-3u polled in softirq on its interrupt's CPU\n", q);
			else
				printf("  queue %-3u polled in softirq (no per-queue thread or IRQ)  [%s]\n", q,
				       qi->source);
			if (ir->irq >= 0)
				printf("            irq %-5d %s on cpu %d (affinity %s), %llu interrupts  "
				       "[%s: %s%s]\n", ir->irq, ir->name, ir->cpu, ir->affinity, ir->count,
				       mqcap_irq_src_name(ir->source), ir->rule,
				       ir->msi ? ", one of the PCI function's MSI vectors" : "");
		}
	}
	mqcap_plan_format(t, p, buf, sizeof(buf));
	printf("\nplan (capture threads, and where each queue's poller belongs):\n%s", buf);
}

static void print_json(const mqcap_topo_t *t, const struct dev *devs, unsigned nd,
		       const struct mqcap_plan *p, bool applied, unsigned pinned, unsigned failed)
{
	struct json j;

	json_doc_begin(&j, stdout, "mqtune", "report");
	json_key(&j, "topology");
	json_obj_open(&j);
	json_kv_u64(&j, "packages", mqcap_topo_package_count(t));
	json_kv_u64(&j, "numa_nodes", mqcap_topo_numa_count(t));
	json_kv_u64(&j, "cores", mqcap_topo_core_count(t));
	json_key(&j, "cpus");
	json_arr_open(&j);
	for (unsigned i = 0; i < mqcap_topo_cpu_count(t); i++) {
		const struct mqcap_topo_cpu *c = mqcap_topo_cpu_at(t, i);

		json_obj_open(&j);
		json_kv_i64(&j, "cpu", c->cpu);
		json_kv_i64(&j, "core", c->core);
		json_kv_i64(&j, "smt", c->smt);
		json_kv_i64(&j, "l2", c->l2);
		json_kv_i64(&j, "l3", c->l3);
		json_kv_i64(&j, "numa", c->numa);
		json_kv_i64(&j, "package", c->package);
		json_kv_bool(&j, "usable", c->usable);
		json_obj_close(&j);
	}
	json_arr_close(&j);
	json_obj_close(&j);
	json_key(&j, "devices");
	json_arr_open(&j);
	for (unsigned i = 0; i < nd; i++) {
		const struct dev *d = &devs[i];

		json_obj_open(&j);
		json_kv_str(&j, "name", d->name); /* Linux allows '"' and '\\' in device names */
		json_kv_i64(&j, "numa", d->numa);
		json_kv_i64(&j, "threaded", d->threaded);
		json_key(&j, "queues");
		json_arr_open(&j);
		for (unsigned q = 0; q < d->nq; q++) {
			json_obj_open(&j);
			json_kv_u64(&j, "queue", q);
			json_kv_str(&j, "poller", d->q[q].kind);
			json_kv_i64(&j, "pid", d->q[q].napi_pid);
			json_kv_i64(&j, "irq", d->q[q].irq);
			json_kv_i64(&j, "cpu", d->q[q].cpu);
			json_kv_i64(&j, "last_cpu", d->q[q].last_cpu);
			json_kv_str(&j, "source", d->q[q].source);
			json_key(&j, "interrupt");
			if (d->q[q].qirq.irq >= 0) {
				const struct mqcap_queue_irq *ir = &d->q[q].qirq;

				json_obj_open(&j);
				json_kv_i64(&j, "irq", ir->irq);
				json_kv_str(&j, "name", ir->name);
				json_kv_str(&j, "source", mqcap_irq_src_name(ir->source));
				json_kv_str(&j, "rule", ir->rule);
				json_kv_bool(&j, "msi", ir->msi);
				json_kv_i64(&j, "cpu", ir->cpu);
				json_kv_str(&j, "affinity", ir->affinity);
				json_kv_u64(&j, "count", ir->count);
				json_obj_close(&j);
			} else {
				json_null(&j);
			}
			json_obj_close(&j);
		}
		json_arr_close(&j);
		json_obj_close(&j);
	}
	json_arr_close(&j);
	json_key(&j, "plan");
	json_arr_open(&j);
	for (unsigned i = 0; i < p->nqueues; i++) {
		const struct mqcap_plan_queue *q = &p->queues[i];

		json_obj_open(&j);
		json_kv_str(&j, "dev", q->dev);
		json_kv_u64(&j, "queue", q->queue);
		json_kv_i64(&j, "worker", q->worker);
		json_kv_i64(&j, "cpu", q->cpu);
		json_kv_i64(&j, "poller_cpu", q->planned_poller_cpu);
		json_kv_str(&j, "distance", mqcap_topo_dist_name(q->dist));
		json_obj_close(&j);
	}
	json_arr_close(&j);
	json_key(&j, "applied");
	if (applied) {
		json_obj_open(&j);
		json_kv_u64(&j, "pinned", pinned);
		json_kv_u64(&j, "failed", failed);
		json_obj_close(&j);
	} else {
		json_null(&j);
	}
	json_obj_close(&j);
	json_end(&j);
}

/* Put queue q's poller thread and interrupt on cpu, saying what each was before. */
static void apply_queue(struct dev *d, unsigned q, int cpu, bool json, unsigned *pinned,
			unsigned *failed)
{
	struct qinfo *qi = &d->q[q];
	int rc;

	if (cpu < 0)
		return;
	if (qi->napi_pid > 0 && qi->cpu != cpu) {
		struct mqcap_napi_thread th = { .queue = q, .pid = qi->napi_pid };

		save_thread(qi->napi_pid);
		rc = mqcap_napi_pin(&th, cpu);
		if (rc) {
			cli_warn("%s queue %u: cannot pin its poller to CPU %d: %s", d->name, q, cpu,
				 mqcap_last_error());
			(*failed)++;
		} else {
			(*pinned)++;
		}
	}
	if (qi->qirq.irq >= 0 && qi->qirq.cpu != cpu) {
		char list[16];

		if (save_file)
			fprintf(save_file, "irq %d %s\n", qi->qirq.irq, qi->qirq.affinity);
		snprintf(list, sizeof(list), "%d", cpu);
		rc = mqcap_irq_set_affinity(qi->qirq.irq, list);
		if (rc) {
			cli_warn("%s queue %u: %s", d->name, q, mqcap_last_error());
			(*failed)++;
			return;
		}
		(*pinned)++;
		if (!json)
			printf("%s queue %u: irq %d moved to CPU %d (its affinity was %s)\n", d->name, q,
			       qi->qirq.irq, cpu, qi->qirq.affinity);
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "threads", required_argument, NULL, 'n' },
		{ "cpus", required_argument, NULL, 'g' },
		{ "oversubscribe", no_argument, NULL, 'O' },
		{ "apply", no_argument, NULL, 'A' },
		{ "repin", no_argument, NULL, 'R' },
		{ "threaded", no_argument, NULL, 'H' },
		{ "save", required_argument, NULL, 'S' },
		{ "restore", required_argument, NULL, 'E' },
		{ "topology", required_argument, NULL, 'T' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	MQCAP_PLAN_OPTS(po);
	static struct dev devs[MAXDEV];
	unsigned nd = 0;
	bool apply = false, repin = false, json = false, threaded = false;
	const char *save = NULL;
	const char *xml = NULL;
	int cpus[CPU_SETSIZE], opt, rc = 0;
	uint64_t v;
	mqcap_topo_t *t;
	struct mqcap_plan *p;
	unsigned pinned = 0, failed = 0;

	while ((opt = getopt_long(argc, argv, "n:g:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			if (cli_parse_u64_range(optarg, "-n", 1, 4096, "threads", &v))
				return 2;
			po.workers = (unsigned)v;
			break;
		case 'g': {
			int n = cli_parse_cpu_order(optarg, "-g", cpus, CPU_SETSIZE);

			if (n < 0)
				return 2;
			po.ncpus = (unsigned)n;
			po.cpus = cpus;
			break;
		}
		case 'O':
			po.flags |= MQCAP_PLAN_OVERSUBSCRIBE;
			break;
		case 'A':
			apply = true;
			break;
		case 'R':
			repin = true;
			break;
		case 'H':
			threaded = true;
			break;
		case 'S':
			save = optarg;
			break;
		case 'E':
			return restore(optarg);
		case 'T':
			xml = optarg;
			break;
		case 'J':
			json = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'mqtune --help'.\n");
			return 2;
		}
	}
	/* Like mqcount: by default one thread per queue, but no more than CPUs. */
	if (!(po.flags & MQCAP_PLAN_OVERSUBSCRIBE))
		po.flags |= MQCAP_PLAN_FIT;
	if ((save || threaded) && !apply) {
		cli_warn("--save and --threaded go with --apply");
		return 2;
	}
	if (apply && xml) {
		cli_warn("--apply changes this machine: it cannot be combined with --topology");
		return 2;
	}
	for (int i = optind; i < argc; i++) {
		if (nd == MAXDEV) {
			cli_warn("at most %d devices", MAXDEV);
			return 2;
		}
		if (strlen(argv[i]) >= sizeof(devs[0].name) || strchr(argv[i], '/')) {
			cli_warn("'%s' is not a device name", argv[i]);
			return 2;
		}
		snprintf(devs[nd++].name, sizeof(devs[0].name), "%s", argv[i]);
	}
	if (!nd)
		list_devices(devs, &nd);
	if (!nd) {
		cli_warn("no network devices with RX queues in this namespace (name one)");
		return 2;
	}
	t = mqcap_topo_open(xml);
	if (!t)
		cli_die(1, "%s", mqcap_last_error());
	for (unsigned i = 0; i < nd; i++)
		if (inspect(&devs[i], t)) {
			mqcap_topo_close(t);
			return 2;
		}

	if (apply) {
		if (save && !(save_file = fopen(save, "w")))
			cli_die(1, "--save %s: %s", save, strerror(errno));
		for (unsigned i = 0; i < nd; i++) {
			bool has_irq = false;

			for (unsigned q = 0; q < devs[i].nq; q++)
				has_irq |= devs[i].q[q].qirq.irq >= 0;
			/* where interrupts exist the poll runs in softirq on the interrupt's CPU:
			 * placing the interrupt places the poller; threads only when asked */
			if ((has_irq && !threaded) || devs[i].threaded == 1)
				continue;
			rc = mqcap_napi_set_threaded(devs[i].name, true);
			if (rc) {
				cli_warn("%s: cannot turn threaded NAPI on: %s", devs[i].name, mqcap_last_error());
				failed++;
			}
			inspect(&devs[i], t);
		}
		p = make_plan(t, devs, nd, &po, repin);
		if (!p) {
			cli_warn("%s", mqcap_topo_errmsg(t));
			mqcap_topo_close(t);
			return errno == ENOMEM ? 1 : 2;
		}
		for (unsigned i = 0, n = 0; i < nd; i++)
			for (unsigned q = 0; q < devs[i].nq; q++, n++)
				apply_queue(&devs[i], q, p->queues[n].planned_poller_cpu, json, &pinned,
					    &failed);
		mqcap_plan_free(p);
		for (unsigned i = 0; i < nd; i++)
			inspect(&devs[i], t);
		if (save_file && fclose(save_file))
			cli_warn("--save %s: %s", save, strerror(errno));
		if (!json)
			printf("applied: %u poller(s) and interrupt(s) moved, %u failure(s)%s%s\n\n",
			       pinned, failed, save ? "; the previous affinities are in " : "",
			       save ? save : "");
		rc = failed ? 1 : 0;
	}
	p = make_plan(t, devs, nd, &po, repin && !apply);
	if (!p) {
		cli_warn("%s", mqcap_topo_errmsg(t));
		mqcap_topo_close(t);
		return errno == ENOMEM ? 1 : 2;
	}
	if (json)
		print_json(t, devs, nd, p, apply, pinned, failed);
	else
		print_text(t, devs, nd, p);
	mqcap_plan_free(p);
	mqcap_topo_close(t);
	return rc;
}
