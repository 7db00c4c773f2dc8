/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * topo.c - the machine's layout from hwloc, NIC locality, queue IRQs, and the placement planner.
 *
 * hwloc is asked once, at open; everything afterwards works on a flat array of CPUs with the ids
 * of their core, caches, node and package, so the planner is plain arithmetic and the same code
 * plans this machine or an XML file.
 */
#include <ctype.h>
#include <errno.h>
#include <hwloc.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqcap/topo.h"
#include "error_int.h"

struct mqcap_topo {
	hwloc_topology_t h;
	unsigned ncpus, ncores, npackages, nnuma;
	struct mqcap_topo_cpu *cpus; /* hwloc (logical) order */
	struct mqcap__err err;
};

static int ancestor_index(hwloc_obj_t pu, hwloc_obj_type_t type)
{
	hwloc_obj_t o = hwloc_get_ancestor_obj_by_type(NULL, type, pu);

	/* hwloc_get_ancestor_obj_by_type() only walks parents; the topology argument is unused. */
	return o ? (int)o->logical_index : -1;
}

static int fill_cpus(mqcap_topo_t *t, bool this_machine)
{
	int npu = hwloc_get_nbobjs_by_type(t->h, HWLOC_OBJ_PU);
	hwloc_const_bitmap_t allowed = hwloc_topology_get_allowed_cpuset(t->h);
	cpu_set_t mine;
	bool have_mine = false;
	int ncore_objs = hwloc_get_nbobjs_by_type(t->h, HWLOC_OBJ_CORE);

	if (npu <= 0)
		return mqcap__err_set(&t->err, EINVAL, "the topology has no CPUs");
	/* Our own affinity mask narrows what is usable (taskset, a cgroup cpuset). Only for this
	 * machine: an XML file describes somewhere else. */
	if (this_machine && sched_getaffinity(0, sizeof(mine), &mine) == 0)
		have_mine = true;
	t->cpus = calloc((size_t)npu, sizeof(*t->cpus));
	if (!t->cpus)
		return mqcap__err_set(&t->err, ENOMEM, "out of memory");
	t->ncpus = (unsigned)npu;
	for (int i = 0; i < npu; i++) {
		hwloc_obj_t pu = hwloc_get_obj_by_type(t->h, HWLOC_OBJ_PU, (unsigned)i);
		hwloc_obj_t core = hwloc_get_ancestor_obj_by_type(t->h, HWLOC_OBJ_CORE, pu);
		struct mqcap_topo_cpu *c = &t->cpus[i];

		c->cpu = (int)pu->os_index;
		/* A machine without Core objects: every CPU is its own core. */
		c->core = core ? (int)core->logical_index : ncore_objs + i;
		c->smt = 0;
		if (core) {
			hwloc_obj_t s = NULL;

			while ((s = hwloc_get_next_obj_inside_cpuset_by_type(t->h, core->cpuset,
									      HWLOC_OBJ_PU, s)) &&
			       s != pu)
				c->smt++;
		}
		c->l2 = ancestor_index(pu, HWLOC_OBJ_L2CACHE);
		c->l3 = ancestor_index(pu, HWLOC_OBJ_L3CACHE);
		c->package = ancestor_index(pu, HWLOC_OBJ_PACKAGE);
		if (c->package < 0)
			c->package = 0;
		c->numa = pu->nodeset ? hwloc_bitmap_first(pu->nodeset) : -1;
		c->usable = hwloc_bitmap_isset(allowed, pu->os_index) &&
			    (!have_mine || (pu->os_index < CPU_SETSIZE && CPU_ISSET(pu->os_index, &mine)));
	}
	t->ncores = ncore_objs > 0 ? (unsigned)ncore_objs : t->ncpus;
	t->npackages = (unsigned)hwloc_get_nbobjs_by_type(t->h, HWLOC_OBJ_PACKAGE);
	if (!t->npackages)
		t->npackages = 1;
	t->nnuma = (unsigned)hwloc_get_nbobjs_by_type(t->h, HWLOC_OBJ_NUMANODE);
	return 0;
}

mqcap_topo_t *mqcap_topo_open(const char *xml_path)
{
	mqcap_topo_t *t = calloc(1, sizeof(*t));
	int err;

	if (!t) {
		mqcap__last_error_fmt(ENOMEM, "topology: out of memory");
		return NULL;
	}
	if (hwloc_topology_init(&t->h) < 0) {
		err = errno ? errno : ENOMEM;
		mqcap__err_set(&t->err, err, "hwloc: cannot initialise a topology");
		goto fail_noh;
	}
	/* Keep the NICs an XML file describes, so that a device's locality can be found. On this
	 * machine sysfs says the same (mqcap_topo_dev_numa() falls back to it) without hwloc's PCI
	 * and GPU discovery, which take time and leak (libpciaccess, OpenCL) under ASan. */
	hwloc_topology_set_io_types_filter(t->h, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
	hwloc_topology_set_components(t->h, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, "pci");
	hwloc_topology_set_components(t->h, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, "opencl");
	hwloc_topology_set_components(t->h, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, "gl");
	if (xml_path && hwloc_topology_set_xml(t->h, xml_path) < 0) {
		err = errno ? errno : EINVAL;
		mqcap__err_set(&t->err, err, "%s: not a readable hwloc XML topology", xml_path);
		goto fail;
	}
	if (hwloc_topology_load(t->h) < 0) {
		err = errno ? errno : EINVAL;
		mqcap__err_set(&t->err, err, "hwloc: cannot load the topology%s%s",
			       xml_path ? " from " : "", xml_path ? xml_path : "");
		goto fail;
	}
	err = -fill_cpus(t, xml_path == NULL);
	if (err)
		goto fail;
	return t;
fail:
	hwloc_topology_destroy(t->h);
fail_noh:
	mqcap__last_error_set(&t->err);
	free(t->cpus);
	free(t);
	errno = err;
	return NULL;
}

void mqcap_topo_close(mqcap_topo_t *t)
{
	if (!t)
		return;
	hwloc_topology_destroy(t->h);
	free(t->cpus);
	free(t);
}

const char *mqcap_topo_errmsg(const mqcap_topo_t *t)
{
	return t && t->err.msg[0] ? t->err.msg : "no error";
}

unsigned mqcap_topo_cpu_count(const mqcap_topo_t *t)
{
	return t->ncpus;
}

const struct mqcap_topo_cpu *mqcap_topo_cpu_at(const mqcap_topo_t *t, unsigned i)
{
	return i < t->ncpus ? &t->cpus[i] : NULL;
}

const struct mqcap_topo_cpu *mqcap_topo_cpu(const mqcap_topo_t *t, int cpu)
{
	for (unsigned i = 0; i < t->ncpus; i++)
		if (t->cpus[i].cpu == cpu)
			return &t->cpus[i];
	return NULL;
}

unsigned mqcap_topo_usable_count(const mqcap_topo_t *t)
{
	unsigned n = 0;

	for (unsigned i = 0; i < t->ncpus; i++)
		n += t->cpus[i].usable != 0;
	return n;
}

unsigned mqcap_topo_core_count(const mqcap_topo_t *t)
{
	return t->ncores;
}

unsigned mqcap_topo_package_count(const mqcap_topo_t *t)
{
	return t->npackages;
}

unsigned mqcap_topo_numa_count(const mqcap_topo_t *t)
{
	return t->nnuma;
}

static int cpu_distance(const struct mqcap_topo_cpu *a, const struct mqcap_topo_cpu *b)
{
	if (a->cpu == b->cpu)
		return MQCAP_DIST_SAME_CPU;
	if (a->core == b->core)
		return MQCAP_DIST_SAME_CORE;
	if (a->l2 >= 0 && a->l2 == b->l2)
		return MQCAP_DIST_SHARED_L2;
	if (a->l3 >= 0 && a->l3 == b->l3)
		return MQCAP_DIST_SHARED_L3;
	if (a->numa >= 0 && a->numa == b->numa)
		return MQCAP_DIST_SAME_NUMA;
	if (a->package == b->package)
		return MQCAP_DIST_SAME_PACKAGE;
	return MQCAP_DIST_REMOTE;
}

int mqcap_topo_distance(const mqcap_topo_t *t, int cpu_a, int cpu_b)
{
	const struct mqcap_topo_cpu *a = mqcap_topo_cpu(t, cpu_a), *b = mqcap_topo_cpu(t, cpu_b);

	return a && b ? cpu_distance(a, b) : -1;
}

const char *mqcap_topo_dist_name(int dist)
{
	static const char *const names[] = {
		[MQCAP_DIST_SAME_CPU] = "same cpu",
		[MQCAP_DIST_SAME_CORE] = "same core",
		[MQCAP_DIST_SHARED_L2] = "shared L2",
		[MQCAP_DIST_SHARED_L3] = "shared L3",
		[MQCAP_DIST_SAME_NUMA] = "same NUMA node",
		[MQCAP_DIST_SAME_PACKAGE] = "same package",
		[MQCAP_DIST_REMOTE] = "remote",
	};

	if (dist < 0 || dist > MQCAP_DIST_REMOTE)
		return "unknown";
	return names[dist];
}

static int read_int_file(const char *path, long *v)
{
	FILE *f = fopen(path, "r");
	int ok;

	if (!f)
		return -errno;
	ok = fscanf(f, "%ld", v) == 1;
	fclose(f);
	return ok ? 0 : -EINVAL;
}

int mqcap_topo_dev_numa(const mqcap_topo_t *t, const char *dev)
{
	char path[128];
	long v;

	if (t) {
		hwloc_obj_t os = NULL;

		while ((os = hwloc_get_next_osdev(t->h, os))) {
			hwloc_obj_t anc;

			if (!os->name || strcmp(os->name, dev))
				continue;
			anc = hwloc_get_non_io_ancestor_obj(t->h, os);
			/* Attached to the whole machine means "no locality" unless there is one node. */
			if (anc && anc->nodeset && hwloc_bitmap_weight(anc->nodeset) == 1)
				return hwloc_bitmap_first(anc->nodeset);
			return -1;
		}
	}
	if (!dev || !*dev || strchr(dev, '/'))
		return -1;
	snprintf(path, sizeof(path), "/sys/class/net/%s/device/numa_node", dev);
	if (read_int_file(path, &v) < 0 || v < 0)
		return -1;
	return (int)v;
}

/* Does an IRQ named `name` serve RX queue q of dev? Drivers name them "DEV-TxRx-Q" (Intel),
 * "DEV-rx-Q", "DEV-Q" and the like; a "tx"-only vector does not poll RX. */
static bool irq_name_matches(const char *name, const char *dev, unsigned q)
{
	size_t dl = strlen(dev);
	const char *rest, *num;
	char qs[16];
	bool has_rx = false;

	if (strncmp(name, dev, dl) || name[dl] != '-')
		return false;
	rest = name + dl + 1;
	snprintf(qs, sizeof(qs), "%u", q);
	num = strrchr(rest, '-');
	num = num ? num + 1 : rest;
	if (strcmp(num, qs))
		return false;
	if (num == rest)
		return true;
	for (const char *p = rest; p < num; p++)
		if (tolower((unsigned char)p[0]) == 'r' && tolower((unsigned char)p[1]) == 'x')
			has_rx = true;
	return has_rx;
}

int mqcap_queue_irq_cpu(const char *dev, unsigned queue, int *irq_out)
{
	FILE *f = fopen("/proc/interrupts", "r");
	char line[4096], path[96];
	int irq = -1;

	if (!f)
		return -errno;
	while (irq < 0 && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':'), *last, *end;
		long n;

		if (!colon)
			continue;
		n = strtol(line, &end, 10);
		if (end != colon || n < 0)
			continue; /* NMI, LOC, ... have no number */
		end = line + strlen(line);
		while (end > line && isspace((unsigned char)end[-1]))
			*--end = '\0';
		last = strrchr(line, ' ');
		if (last && irq_name_matches(last + 1, dev, queue))
			irq = (int)n;
	}
	fclose(f);
	if (irq < 0)
		return -ENOENT;
	if (irq_out)
		*irq_out = irq;
	snprintf(path, sizeof(path), "/proc/irq/%d/effective_affinity_list", irq);
	f = fopen(path, "r");
	if (!f) {
		snprintf(path, sizeof(path), "/proc/irq/%d/smp_affinity_list", irq);
		f = fopen(path, "r");
	}
	if (!f)
		return -errno;
	{
		long cpu = -1;
		int ok = fscanf(f, "%ld", &cpu) == 1;

		fclose(f);
		return ok && cpu >= 0 ? (int)cpu : -ENOENT;
	}
}

/* snprintf into buf at *off, tracking the total length even past the end. */
static void appendf(char *buf, size_t len, size_t *off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void appendf(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(*off < len ? buf + *off : NULL, *off < len ? len - *off : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off += (size_t)n;
}

int mqcap_topo_format(const mqcap_topo_t *t, char *buf, size_t len)
{
	size_t off = 0;

	if (buf && len)
		buf[0] = '\0';
	appendf(buf, len, &off, "%u package(s), %u NUMA node(s), %u core(s), %u cpu(s)\n",
		t->npackages, t->nnuma, t->ncores, t->ncpus);
	for (unsigned p = 0; p < t->npackages; p++) {
		int last_core = INT_MIN, last_numa = INT_MIN;

		appendf(buf, len, &off, "  package %u:", p);
		for (unsigned i = 0; i < t->ncpus; i++) {
			const struct mqcap_topo_cpu *c = &t->cpus[i];

			if (c->package != (int)p)
				continue;
			if (c->numa != last_numa) {
				appendf(buf, len, &off, " [numa %d]", c->numa);
				last_numa = c->numa;
			}
			appendf(buf, len, &off, "%s%d%s", c->core == last_core ? "," : " ", c->cpu,
				c->usable ? "" : "(x)");
			last_core = c->core;
		}
		appendf(buf, len, &off, "\n");
	}
	appendf(buf, len, &off, "  (cpus of one core are joined by ',': SMT siblings; (x): not usable here)\n");
	return (int)off;
}

/* ---- the planner ---- */

struct pworker {
	int anchor;   /* the poller CPU this worker should be near, -1 if none known */
	int numa;     /* NIC node, -1 if none */
	int cpu;
	int dist;
	unsigned nqueues;
};

static int topo_pos(const mqcap_topo_t *t, int cpu)
{
	for (unsigned i = 0; i < t->ncpus; i++)
		if (t->cpus[i].cpu == cpu)
			return (int)i;
	return INT_MAX;
}

/* Lexicographic cost of putting a worker on CPU index ci: lower is better. */
struct cost {
	int load, smt, numa, foreign, dist, pos;
};

static int cost_cmp(const struct cost *a, const struct cost *b)
{
	/* Field by field, in declaration order (indexing past &a->load would be undefined). */
	const int x[] = { a->load, a->smt, a->numa, a->foreign, a->dist, a->pos };
	const int y[] = { b->load, b->smt, b->numa, b->foreign, b->dist, b->pos };

	_Static_assert(sizeof(x) == sizeof(struct cost), "cost_cmp must compare every field");
	for (unsigned i = 0; i < sizeof(x) / sizeof(x[0]); i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

static void plan_auto(const mqcap_topo_t *t, struct pworker *w, unsigned nw,
		      const struct mqcap_plan_queue *q, unsigned nq, const int *load0, uint32_t flags)
{
	int *load = calloc(t->ncpus, sizeof(int));
	unsigned *order = calloc(nw, sizeof(unsigned)), no = 0;

	if (!load || !order)
		goto out; /* caller checked allocation with the same sizes; unreachable in practice */
	memcpy(load, load0, t->ncpus * sizeof(int));
	/* Workers whose poller is known choose first, so they get their poller's CPU before a
	 * worker that could go anywhere takes it. */
	for (unsigned i = 0; i < nw; i++)
		if (w[i].anchor >= 0)
			order[no++] = i;
	for (unsigned i = 0; i < nw; i++)
		if (w[i].anchor < 0)
			order[no++] = i;

	for (unsigned k = 0; k < nw; k++) {
		struct pworker *pw = &w[order[k]];
		const struct mqcap_topo_cpu *anchor = pw->anchor >= 0 ? mqcap_topo_cpu(t, pw->anchor) : NULL;
		bool free_core = false;
		struct cost best = { .load = INT_MAX };
		int best_i = -1;

		/* Is there a usable core with no worker on any of its CPUs? */
		for (unsigned i = 0; i < t->ncpus && !free_core; i++) {
			bool idle = t->cpus[i].usable;

			for (unsigned j = 0; j < t->ncpus && idle; j++)
				if (t->cpus[j].core == t->cpus[i].core && load[j])
					idle = false;
			free_core = idle;
		}
		for (unsigned i = 0; i < t->ncpus; i++) {
			const struct mqcap_topo_cpu *c = &t->cpus[i];
			struct cost cs = { .load = load[i], .pos = (int)i };

			if (!c->usable)
				continue;
			if (free_core)
				for (unsigned j = 0; j < t->ncpus; j++)
					if (j != i && t->cpus[j].core == c->core && load[j])
						cs.smt = 1;
			if (!(flags & MQCAP_PLAN_NO_NUMA) && pw->numa >= 0 && c->numa != pw->numa)
				cs.numa = 1;
			for (unsigned j = 0; j < nq; j++)
				if (q[j].poller_cpu == c->cpu && q[j].poller_cpu != pw->anchor)
					cs.foreign = 1;
			cs.dist = anchor ? cpu_distance(anchor, c) : 0;
			if (best_i < 0 || cost_cmp(&cs, &best) < 0) {
				best = cs;
				best_i = (int)i;
			}
		}
		/* best_i >= 0: the caller made sure some CPU is usable. */
		pw->cpu = t->cpus[best_i].cpu;
		pw->dist = anchor ? best.dist : -1;
		load[best_i]++;
	}
out:
	free(load);
	free(order);
}

/* Group queues onto nw workers: queues whose pollers are near each other share a worker.
 * Sort by the poller's place in the topology (unknown pollers last, in the caller's order)
 * and cut into nw runs of near-equal length. */
static void group_queues(const mqcap_topo_t *t, const struct mqcap_plan_queue *q, unsigned nq,
			 unsigned nw, int *qworker)
{
	unsigned *idx = malloc(nq * sizeof(*idx));

	if (!idx)
		return;
	for (unsigned i = 0; i < nq; i++)
		idx[i] = i;
	/* insertion sort: stable, and nq is small */
	for (unsigned i = 1; i < nq; i++) {
		unsigned v = idx[i], j = i;
		int pv = q[v].poller_cpu >= 0 ? topo_pos(t, q[v].poller_cpu) : INT_MAX;

		while (j > 0) {
			unsigned u = idx[j - 1];
			int pu = q[u].poller_cpu >= 0 ? topo_pos(t, q[u].poller_cpu) : INT_MAX;

			if (pu <= pv)
				break;
			idx[j] = u;
			j--;
		}
		idx[j] = v;
	}
	for (unsigned k = 0; k < nq; k++)
		qworker[idx[k]] = (int)((unsigned long)k * nw / nq);
	free(idx);
}

struct mqcap_plan *mqcap_plan_make(mqcap_topo_t *t, const struct mqcap_plan_queue *q, unsigned nq,
				   const struct mqcap_plan_opts *opts)
{
	MQCAP_PLAN_OPTS(o);
	struct mqcap_plan *p;
	struct pworker *w = NULL;
	int *qworker = NULL, *load = NULL;
	unsigned nusable;
	int err = 0;

	if (opts)
		memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));
	o.sz = sizeof(o);
	if (!nq) {
		mqcap__err_set(&t->err, EINVAL, "no queues to place");
		errno = EINVAL;
		return NULL;
	}
	nusable = mqcap_topo_usable_count(t);
	if (!o.workers) {
		unsigned fit = o.cpus && o.ncpus ? o.ncpus : nusable;

		o.workers = (o.flags & MQCAP_PLAN_FIT) && fit && nq > fit ? fit : nq;
	}
	if (o.workers > nq) {
		mqcap__err_set(&t->err, EINVAL,
			       "%u worker threads for %u queue(s): a queue is read by one thread only "
			       "(use fewer threads, or more queues)", o.workers, nq);
		errno = EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		mqcap__err_set(&t->err, ENOMEM, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	p->nqueues = nq;
	p->nworkers = o.workers;
	p->queues = calloc(nq, sizeof(*p->queues));
	p->workers = calloc(o.workers, sizeof(*p->workers));
	w = calloc(o.workers, sizeof(*w));
	qworker = calloc(nq, sizeof(*qworker));
	load = calloc(t->ncpus, sizeof(*load));
	if (!p->queues || !p->workers || !w || !qworker || !load) {
		err = -mqcap__err_set(&t->err, ENOMEM, "out of memory");
		goto out;
	}
	memcpy(p->queues, q, nq * sizeof(*q));

	if (o.workers == nq)
		for (unsigned i = 0; i < nq; i++)
			qworker[i] = (int)i;
	else
		group_queues(t, q, nq, o.workers, qworker);
	for (unsigned i = 0; i < o.workers; i++)
		w[i].anchor = w[i].numa = -1;
	for (unsigned i = 0; i < nq; i++) {
		struct pworker *pw = &w[qworker[i]];

		pw->nqueues++;
		if (pw->anchor < 0 && q[i].poller_cpu >= 0 && mqcap_topo_cpu(t, q[i].poller_cpu))
			pw->anchor = q[i].poller_cpu;
		if (pw->numa < 0)
			pw->numa = q[i].nic_numa;
	}

	if (o.flags & MQCAP_PLAN_NO_PIN) {
		for (unsigned i = 0; i < o.workers; i++) {
			w[i].cpu = -1;
			w[i].dist = -1;
		}
	} else if (o.cpus && o.ncpus) {
		for (unsigned i = 0; i < o.ncpus; i++) {
			const struct mqcap_topo_cpu *c = mqcap_topo_cpu(t, o.cpus[i]);

			if (!c || !c->usable) {
				err = -mqcap__err_set(&t->err, EINVAL, "CPU %d %s", o.cpus[i],
						      c ? "is not usable by this process (affinity or cpuset)"
							: "does not exist on this machine");
				goto out;
			}
		}
		if (o.workers > o.ncpus && !(o.flags & MQCAP_PLAN_OVERSUBSCRIBE)) {
			err = -mqcap__err_set(&t->err, E2BIG,
					      "%u worker threads for %u CPU(s) in the list: two threads would "
					      "share a CPU (allow it with --oversubscribe)", o.workers, o.ncpus);
			goto out;
		}
		for (unsigned i = 0; i < o.workers; i++) {
			w[i].cpu = o.cpus[i % o.ncpus];
			w[i].dist = w[i].anchor >= 0 ? mqcap_topo_distance(t, w[i].anchor, w[i].cpu) : -1;
		}
	} else {
		if (!nusable) {
			err = -mqcap__err_set(&t->err, EINVAL, "no usable CPU in the topology");
			goto out;
		}
		if (o.workers > nusable && !(o.flags & MQCAP_PLAN_OVERSUBSCRIBE)) {
			err = -mqcap__err_set(&t->err, E2BIG,
					      "%u worker threads for %u usable CPU(s): two threads would "
					      "share a CPU (allow it with --oversubscribe)", o.workers, nusable);
			goto out;
		}
		for (unsigned i = 0; i < o.nbusy && o.busy_cpus; i++) {
			int pos = topo_pos(t, o.busy_cpus[i]);

			if (pos != INT_MAX)
				load[pos]++;
		}
		plan_auto(t, w, o.workers, q, nq, load, o.flags);
	}

	for (unsigned i = 0; i < o.workers; i++) {
		struct mqcap_plan_worker *pw = &p->workers[i];

		pw->cpu = w[i].cpu;
		pw->nqueues = w[i].nqueues;
		if (o.flags & MQCAP_PLAN_NO_PIN)
			snprintf(pw->why, sizeof(pw->why), "not pinned");
		else if (o.cpus && o.ncpus)
			snprintf(pw->why, sizeof(pw->why), "manual");
		else if (w[i].anchor < 0)
			snprintf(pw->why, sizeof(pw->why), "poller not pinned: pin it here");
		else if (w[i].dist == MQCAP_DIST_SAME_CPU)
			snprintf(pw->why, sizeof(pw->why), "on its poller's cpu");
		else
			snprintf(pw->why, sizeof(pw->why), "%s with poller cpu %d",
				 mqcap_topo_dist_name(w[i].dist), w[i].anchor);
	}
	for (unsigned i = 0; i < nq; i++) {
		struct mqcap_plan_queue *pq = &p->queues[i];

		pq->worker = qworker[i];
		pq->cpu = w[qworker[i]].cpu;
		pq->planned_poller_cpu = pq->poller_cpu >= 0 ? pq->poller_cpu : pq->cpu;
		pq->dist = pq->planned_poller_cpu >= 0 && pq->cpu >= 0
				   ? mqcap_topo_distance(t, pq->planned_poller_cpu, pq->cpu) : -1;
	}
out:
	free(w);
	free(qworker);
	free(load);
	if (err) {
		mqcap_plan_free(p);
		errno = err;
		return NULL;
	}
	return p;
}

void mqcap_plan_free(struct mqcap_plan *p)
{
	if (!p)
		return;
	free(p->queues);
	free(p->workers);
	free(p);
}

int mqcap_plan_format(const mqcap_topo_t *t, const struct mqcap_plan *p, char *buf, size_t len)
{
	size_t off = 0;

	if (buf && len)
		buf[0] = '\0';
	for (unsigned wi = 0; wi < p->nworkers; wi++) {
		const struct mqcap_plan_worker *w = &p->workers[wi];
		const struct mqcap_topo_cpu *c = w->cpu >= 0 ? mqcap_topo_cpu(t, w->cpu) : NULL;
		bool first = true;

		if (c)
			appendf(buf, len, &off, "worker %-2u cpu %-3d (core %d, numa %d)  ", wi, w->cpu,
				c->core, c->numa);
		else
			appendf(buf, len, &off, "worker %-2u cpu any                     ", wi);
		for (unsigned i = 0; i < p->nqueues; i++) {
			const struct mqcap_plan_queue *q = &p->queues[i];

			if (q->worker != (int)wi)
				continue;
			appendf(buf, len, &off, "%s%s@%u", first ? "" : ",", q->dev, q->queue);
			first = false;
		}
		appendf(buf, len, &off, "  %s\n", w->why);
		for (unsigned i = 0; i < p->nqueues; i++) {
			const struct mqcap_plan_queue *q = &p->queues[i];

			if (q->worker != (int)wi)
				continue;
			if (q->poller_cpu >= 0)
				appendf(buf, len, &off, "    %s@%u: poller on cpu %d (%s)\n", q->dev,
					q->queue, q->poller_cpu, mqcap_topo_dist_name(q->dist));
			else if (q->planned_poller_cpu >= 0)
				appendf(buf, len, &off, "    %s@%u: poller unpinned, plan: pin to cpu %d\n",
					q->dev, q->queue, q->planned_poller_cpu);
		}
	}
	return (int)off;
}
