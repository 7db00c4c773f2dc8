/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * plan.c - the placement planner (topo.h mqcap_plan_make): which worker reads which queues on
 * which CPU, near the queue's kernel poller and the NIC's NUMA node.
 *
 * It works on the flat CPU array topo.c built from hwloc, so it is plain arithmetic and plans
 * this machine or an XML file alike.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topo_int.h"

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
			cs.dist = anchor ? mqcap__cpu_distance(anchor, c) : 0;
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
			mqcap__appendf(buf, len, &off, "worker %-2u cpu %-3d (core %d, numa %d)  ", wi, w->cpu,
				c->core, c->numa);
		else
			mqcap__appendf(buf, len, &off, "worker %-2u cpu any                     ", wi);
		for (unsigned i = 0; i < p->nqueues; i++) {
			const struct mqcap_plan_queue *q = &p->queues[i];

			if (q->worker != (int)wi)
				continue;
			mqcap__appendf(buf, len, &off, "%s%s@%u", first ? "" : ",", q->dev, q->queue);
			first = false;
		}
		mqcap__appendf(buf, len, &off, "  %s\n", w->why);
		for (unsigned i = 0; i < p->nqueues; i++) {
			const struct mqcap_plan_queue *q = &p->queues[i];

			if (q->worker != (int)wi)
				continue;
			if (q->poller_cpu >= 0)
				mqcap__appendf(buf, len, &off, "    %s@%u: poller on cpu %d (%s)\n", q->dev,
					q->queue, q->poller_cpu, mqcap_topo_dist_name(q->dist));
			else if (q->planned_poller_cpu >= 0)
				mqcap__appendf(buf, len, &off, "    %s@%u: poller unpinned, plan: pin to cpu %d\n",
					q->dev, q->queue, q->planned_poller_cpu);
		}
	}
	return (int)off;
}
