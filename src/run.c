/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * run.c - the worker runtime (include/mqcap/run.h): queues -> plan -> pinned threads.
 *
 * Threads never share a capture handle (mqcap.h: one handle, one thread). Each opens its own
 * after pinning itself, so the kernel allocates its rings on the thread's NUMA node, and keeps
 * it open until mqcap_run_close(): mqcap_run_stop() may then wake a handle at any moment
 * without racing its close. Counters flow out through snapshots under a per-object mutex,
 * taken by the owning thread every SNAP_NS and when it stops; the hot path touches only
 * thread-local counters.
 *
 * Split mode (pollers handing packets to consumers) lives in balance.c.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include "mqcap/napi.h"
#include "mqcap/queues.h"
#include "mqcap/ring.h"
#include "mqcap/run.h"
#include "capture_int.h"
#include "devname_int.h"
#include "error_int.h"
#include "iface_int.h"
#include "run_int.h"

static int runs_add(mqcap_run_t *r);
static void runs_remove(mqcap_run_t *r);

uint64_t mqcap__run_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- resolving the name ---- */

static int add_queue(mqcap_run_t *r, const char *dev, unsigned q, unsigned *cap)
{
	if (r->nq == *cap) {
		unsigned ncap = *cap ? *cap * 2 : 16;
		struct rqueue *nq = realloc(r->q, ncap * sizeof(*nq));

		if (!nq)
			return mqcap__err_set(&r->err, ENOMEM, "out of memory");
		r->q = nq;
		*cap = ncap;
	}
	memset(&r->q[r->nq], 0, sizeof(r->q[0]));
	snprintf(r->q[r->nq].dev, sizeof(r->q[0].dev), "%s", dev);
	r->q[r->nq].queue = q;
	pthread_mutex_init(&r->q[r->nq].mu, NULL);
	r->nq++;
	return 0;
}

static int resolve(mqcap_run_t *r, const char *name)
{
	struct mqcap__capname *cn = calloc(1, sizeof(*cn));
	unsigned cap = 0;
	int rc;

	if (!cn)
		return mqcap__err_set(&r->err, ENOMEM, "out of memory");
	rc = mqcap__capname_parse(name, cn, &r->err);
	if (rc)
		goto out;
	if (cn->backend == MQCAP_BACKEND_PCAP) {
		const char *base = strrchr(cn->path, '/');

		r->offline = true;
		rc = add_queue(r, base ? base + 1 : cn->path, 0, &cap);
		goto out;
	}
	r->backend_sel = cn->backend;
	for (unsigned d = 0; d < cn->ndevs && !rc; d++) {
		const struct mqcap__devspec *ds = &cn->devs[d];
		struct mqcap__iface ifc;

		rc = mqcap__iface_get(ds->name, &ifc, &r->err);
		if (rc)
			break;
		/* what the queue watch compares with, and the room a growing device may need */
		r->devs[r->ndevs].spec = *ds;
		r->devs[r->ndevs].ifindex = ifc.ifindex;
		r->devs[r->ndevs++].nrx = ifc.rx_queues;
		if (ds->all_queues && ifc.max_rx_queues > ifc.rx_queues)
			r->qcap += (ifc.max_rx_queues < MQCAP__MAX_QUEUE + 1 ?
				    ifc.max_rx_queues : MQCAP__MAX_QUEUE + 1) - ifc.rx_queues;
		for (unsigned q = 0; q < (ds->all_queues ? ifc.rx_queues : MQCAP__MAX_QUEUE + 1) && !rc; q++) {
			if (!mqcap__devspec_has(ds, q))
				continue;
			rc = mqcap__iface_check_queue(ds->name, &ifc, q, &r->err);
			if (!rc)
				rc = add_queue(r, ds->name, q, &cap);
		}
	}
out:
	free(cn);
	/* r->q never moves once threads run (stats are read from any thread): room now for
	 * every queue the devices may gain */
	if (!rc && r->qcap) {
		struct rqueue *nq = realloc(r->q, (r->nq + r->qcap) * sizeof(*nq));

		if (!nq)
			return mqcap__err_set(&r->err, ENOMEM, "out of memory");
		r->q = nq;
	}
	r->qcap += r->nq;
	return rc;
}

/* Where the kernel polls each queue (queues.h), one query per device: th[i] and have[i] get
 * queue i's NAPI thread, if it has one; returns the CPU its poller is bound to in cpu[i]
 * (the thread's single CPU, else its IRQ's), -1 when it floats or nothing is known. */
static void pollers_find(const mqcap_run_t *r, int *cpu, struct mqcap_napi_thread *th, bool *have)
{
	bool *done = calloc(r->nq, sizeof(*done));

	for (unsigned i = 0; i < r->nq; i++)
		cpu[i] = -1;
	for (unsigned i = 0; done && i < r->nq; i++) {
		struct mqcap_queue_poller *pp;
		int n;

		if (done[i])
			continue;
		n = mqcap_queue_pollers(r->q[i].dev, 0, NULL, 0);
		pp = n > 0 ? calloc((size_t)n, sizeof(*pp)) : NULL;
		if (pp)
			n = mqcap_queue_pollers(r->q[i].dev, 0, pp, (unsigned)n);
		for (unsigned j = i; j < r->nq; j++) {
			unsigned q = r->q[j].queue;

			if (done[j] || strcmp(r->q[j].dev, r->q[i].dev))
				continue;
			done[j] = true;
			if (!pp || n <= 0 || q >= (unsigned)n)
				continue;
			cpu[j] = pp[q].cpu;
			have[j] = pp[q].pid > 0;
			th[j] = (struct mqcap_napi_thread){ .queue = q, .napi_id = pp[q].napi_id,
							    .pid = pp[q].pid, .last_cpu = pp[q].last_cpu,
							    .allowed = pp[q].allowed };
		}
		free(pp);
	}
	free(done);
}

/* ---- planning ---- */

static int plan(mqcap_run_t *r)
{
	struct mqcap_plan_queue *pq = calloc(r->nq, sizeof(*pq));
	struct mqcap_napi_thread *th = calloc(r->nq, sizeof(*th));
	bool *have = calloc(r->nq, sizeof(*have));
	int *cpu = calloc(r->nq, sizeof(*cpu));
	uint32_t pflags = 0;
	int rc = 0;

	if (!pq || !th || !have || !cpu) {
		rc = mqcap__err_set(&r->err, ENOMEM, "out of memory");
		goto out;
	}
	if (r->o.flags & MQCAP_RUN_F_OVERSUBSCRIBE)
		pflags |= MQCAP_PLAN_OVERSUBSCRIBE;
	if (r->o.flags & MQCAP_RUN_F_NO_PIN)
		pflags |= MQCAP_PLAN_NO_PIN;
	if (r->o.flags & MQCAP_RUN_F_NO_NUMA)
		pflags |= MQCAP_PLAN_NO_NUMA;
	if (!r->offline)
		pollers_find(r, cpu, th, have);
	for (unsigned i = 0; i < r->nq; i++) {
		snprintf(pq[i].dev, sizeof(pq[i].dev), "%s", r->q[i].dev);
		pq[i].queue = r->q[i].queue;
		pq[i].poller_cpu = r->offline ? -1 : cpu[i];
		/* A pinned poller outside this topology (an XML plan) is as good as unknown. */
		if (pq[i].poller_cpu >= 0 && !mqcap_topo_cpu(r->topo, pq[i].poller_cpu))
			pq[i].poller_cpu = -1;
		pq[i].nic_numa = r->offline ? -1 : mqcap_topo_dev_numa(r->topo, r->q[i].dev);
	}

	if ((r->o.flags & MQCAP_RUN_F_SPLIT) || r->o.balance) {
		rc = mqcap__balance_plan(r, pq, pflags);
		if (rc)
			goto out;
	} else {
		/* FIT is for direct workers only: split-mode consumers stay one per queue. */
		MQCAP_PLAN_OPTS(wo, .workers = r->o.workers,
				.flags = pflags | (r->o.flags & MQCAP_RUN_F_FIT ? MQCAP_PLAN_FIT : 0),
				.cpus = r->o.cpus, .ncpus = r->o.ncpus);

		r->plan = mqcap_plan_make(r->topo, pq, r->nq, &wo);
	}
	if (!r->plan) {
		rc = mqcap__err_set(&r->err, errno, "%s", mqcap_topo_errmsg(r->topo));
		goto out;
	}
	/* Pollers that float get pinned where the plan put their reader (or user poller). */
	if (r->o.flags & MQCAP_RUN_F_PIN_POLLERS) {
		const struct mqcap_plan *kp = r->pplan ? r->pplan : r->plan;

		for (unsigned i = 0; i < r->nq; i++) {
			int cpu = kp->queues[i].planned_poller_cpu;

			if (have[i] && kp->queues[i].poller_cpu < 0 && cpu >= 0) {
				rc = mqcap_napi_pin(&th[i], cpu);
				if (rc) {
					mqcap__err_set(&r->err, -rc, "pinning the poller of %s@%u to CPU %d: %s",
						       r->q[i].dev, r->q[i].queue, cpu, mqcap_last_error());
					goto out;
				}
			}
		}
	}
out:
	free(pq);
	free(th);
	free(have);
	free(cpu);
	return rc;
}

/* The label of a set of queues for messages, in capture-name form ("xdp:dev@1,5,dev2@0"): a
 * new string, or NULL without memory. Only people read it; the handle opens from the set. */
static char *queues_label(const mqcap_run_t *r, const unsigned *qs, unsigned n)
{
	const char *last_dev = NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fputs(r->backend_sel == MQCAP_BACKEND_PACKET ? "packet:" :
	      r->backend_sel == MQCAP_BACKEND_XDP ? "xdp:" : "", f);
	for (unsigned i = 0; i < n; i++) {
		const struct rqueue *q = &r->q[qs[i]];

		if (last_dev && !strcmp(last_dev, q->dev))
			fprintf(f, ",%u", q->queue);
		else
			fprintf(f, "%s%s@%u", last_dev ? "," : "", q->dev, q->queue);
		last_dev = q->dev;
	}
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Give thread t the queues of plan worker `wi`, sorted by device: the handle's readers of a
 * device are then adjacent, as a capture name would list them. */
static int assign(mqcap_run_t *r, struct rthread *t, const struct mqcap_plan *pl, unsigned wi)
{
	t->qs = calloc(r->qcap ? r->qcap : 1, sizeof(*t->qs));
	t->pend = calloc(r->qcap ? r->qcap : 1, sizeof(*t->pend));
	if (!t->qs || !t->pend)
		return mqcap__err_set(&r->err, ENOMEM, "out of memory");
	for (unsigned i = 0; i < r->nq; i++)
		if (pl->queues[i].worker == (int)wi)
			t->qs[t->nq++] = i;
	/* stable sort by device name: a device's queues must be adjacent in a capture name */
	for (unsigned i = 1; i < t->nq; i++) {
		unsigned v = t->qs[i], j = i;

		while (j > 0 && strcmp(r->q[t->qs[j - 1]].dev, r->q[v].dev) > 0) {
			t->qs[j] = t->qs[j - 1];
			j--;
		}
		t->qs[j] = v;
	}
	t->cpu = pl->workers[wi].cpu;
	/* split mode's threads read no queue beside a poller: they keep the plain wake-up */
	mqcap__arrange_pick(&t->arr, t->cpu, pl, t->qs, t->kind == RK_WORKER ? t->nq : 0,
			    r->o.batch_usecs, r->o.flags);
	pthread_mutex_init(&t->mu, NULL);
	t->snap.cpu = -1;
	return 0;
}

static int *dup_cpus(const int *cpus, unsigned n)
{
	int *c;

	if (!cpus || !n)
		return NULL;
	c = malloc(n * sizeof(*c));
	if (c)
		memcpy(c, cpus, n * sizeof(*c));
	return c;
}

mqcap_run_t *mqcap_run_open(const char *name, const struct mqcap_run_opts *opts, mqcap_run_fn fn,
			    void *user)
{
	mqcap_run_t *r = calloc(1, sizeof(*r));
	bool want_cpus, want_pcpus;
	int rc;

	if (!r) {
		mqcap__last_error_fmt(ENOMEM, "run: out of memory");
		return NULL;
	}
	r->watch_efd = -1;
	pthread_mutex_init(&r->mu, NULL);
	{
		/* Monotonic: a timed wait must not stretch or shrink when the wall clock is set. */
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&r->cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	r->o.sz = sizeof(r->o);
	if (opts)
		memcpy(&r->o, opts, opts->sz < sizeof(r->o) ? opts->sz : sizeof(r->o));
	r->o.sz = sizeof(r->o);
	if (r->o.capture)
		memcpy(&r->cap, r->o.capture,
		       r->o.capture->sz < sizeof(r->cap) ? r->o.capture->sz : sizeof(r->cap));
	r->cap.sz = sizeof(r->cap);
	r->cap.flags |= MQCAP_F_NO_READER_FIRST; /* the runtime arranges its threads (arrange.c) */
	r->o.capture = NULL;
	if (r->cap.filter)
		r->filter = strdup(r->cap.filter);
	/* Do not keep the caller's arrays: copy them (close frees the copies). An empty list is
	 * no list: never keep, nor later free, the caller's pointer. */
	want_cpus = r->o.cpus && r->o.ncpus;
	want_pcpus = r->o.poller_cpus && r->o.npoller_cpus;
	r->o.cpus = dup_cpus(r->o.cpus, r->o.ncpus);
	r->o.poller_cpus = dup_cpus(r->o.poller_cpus, r->o.npoller_cpus);
	if ((want_cpus && !r->o.cpus) || (want_pcpus && !r->o.poller_cpus) ||
	    (r->cap.filter && !r->filter)) {
		rc = mqcap__err_set(&r->err, ENOMEM, "out of memory");
		goto fail;
	}
	r->cap.filter = r->filter;
	if (!r->o.burst)
		r->o.burst = 64;
	if (r->o.burst > MAX_BURST)
		r->o.burst = MAX_BURST;
	if (!r->o.poll_ms)
		r->o.poll_ms = 100;
	if (!r->o.ring_slots)
		r->o.ring_slots = 4096;
	if (!r->o.slot_bytes) {
		uint32_t snap = r->cap.snaplen ? r->cap.snaplen : MQCAP_SNAPLEN_DEFAULT;

		r->o.slot_bytes = snap < 2048 ? snap : 2048;
	}
	r->fn = fn;
	r->user = user;
	if (!fn) {
		rc = mqcap__err_set(&r->err, EINVAL, "no callback");
		goto fail;
	}
	if (r->o.ring_slots & (r->o.ring_slots - 1)) {
		rc = mqcap__err_set(&r->err, EINVAL, "ring_slots %u is not a power of two",
				    r->o.ring_slots);
		goto fail;
	}
	rc = resolve(r, name);
	if (rc)
		goto fail;
	if (!r->offline) {
		r->watch_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (r->watch_efd < 0) {
			rc = mqcap__err_set(&r->err, errno, "eventfd: %s", strerror(errno));
			goto fail;
		}
	}
	/* Checked here, before any thread opens anything, for the whole run's queues. */
	if (!r->offline && r->cap.mem_budget && r->nq &&
	    r->cap.mem_budget / r->nq < MQCAP_RING_QUEUE_MIN &&
	    !(r->cap.ring_frames && r->cap.ring_bytes)) {
		rc = mqcap__err_set(&r->err, EINVAL, "mem_budget of %llu KiB gives each of %u "
				    "queues less than the %u KiB minimum: raise it, or capture "
				    "fewer queues", (unsigned long long)(r->cap.mem_budget >> 10),
				    r->nq, MQCAP_RING_QUEUE_MIN >> 10);
		goto fail;
	}
	r->topo = mqcap_topo_open(r->o.topo_xml);
	if (!r->topo) {
		rc = -errno;
		mqcap__err_set(&r->err, errno, "%s", mqcap_last_error());
		goto fail;
	}
	if (r->o.balance) {
		/* Keep the options, not the caller's pointers: groups are copied. */
		memcpy(&r->balo, r->o.balance,
		       r->o.balance->sz < sizeof(r->balo) ? r->o.balance->sz : sizeof(r->balo));
		r->balo.sz = sizeof(r->balo);
		r->o.balance = &r->balo;
		if (r->balo.groups && r->balo.ngroups) {
			unsigned sum = 0;

			r->bgroups = calloc(r->balo.ngroups, sizeof(*r->bgroups));
			if (!r->bgroups) {
				rc = mqcap__err_set(&r->err, ENOMEM, "out of memory");
				goto fail;
			}
			for (unsigned i = 0; i < r->balo.ngroups; i++)
				sum += r->bgroups[i] = r->balo.groups[i];
			r->balo.groups = r->bgroups;
			if (!r->o.workers)
				r->o.workers = sum;
		} else {
			r->balo.groups = NULL;
			r->balo.ngroups = 0;
		}
	}
	if (r->offline && r->o.workers > 1 && !r->o.balance) {
		rc = mqcap__err_set(&r->err, EINVAL, "%s is one file: it is read by one thread", name);
		goto fail;
	}
	rc = plan(r);
	if (rc)
		goto fail;
	r->nw = r->plan->nworkers;
	r->w = calloc(r->nw, sizeof(*r->w));
	if (r->pplan) {
		r->np = r->nq;
		r->p = calloc(r->np, sizeof(*r->p));
	}
	if (!r->w || (r->pplan && !r->p)) {
		rc = mqcap__err_set(&r->err, ENOMEM, "out of memory");
		goto fail;
	}
	for (unsigned i = 0; i < r->nw && !rc; i++) {
		r->w[i].r = r;
		r->w[i].idx = i;
		r->w[i].kind = r->pplan ? RK_CONSUMER : RK_WORKER;
		rc = assign(r, &r->w[i], r->plan, i);
	}
	for (unsigned i = 0; i < r->np && !rc; i++) {
		r->p[i].r = r;
		r->p[i].idx = i;
		r->p[i].kind = RK_POLLER;
		rc = assign(r, &r->p[i], r->pplan, i);
	}
	if (rc)
		goto fail;
	if (r->offline && !(r->file = strdup(name)))
		rc = mqcap__err_set(&r->err, ENOMEM, "out of memory");
	for (unsigned i = 0; i < r->nw + r->np && !rc; i++) {
		struct rthread *t = i < r->nw ? &r->w[i] : &r->p[i - r->nw];

		t->label = r->offline ? strdup(name) : queues_label(r, t->qs, t->nq);
		if (!t->label)
			rc = mqcap__err_set(&r->err, ENOMEM, "out of memory");
	}
	if (!rc)
		rc = runs_add(r);
	if (!rc && r->o.balance)
		rc = mqcap__balance_create(r);
	if (rc)
		goto fail;
	return r;
fail:
	mqcap__last_error_set(&r->err);
	mqcap_run_close(r);
	errno = -rc;
	return NULL;
}

const struct mqcap_plan *mqcap_run_plan(const mqcap_run_t *r)
{
	return r->plan;
}

const struct mqcap_plan *mqcap_run_poller_plan(const mqcap_run_t *r)
{
	return r->pplan;
}

const mqcap_topo_t *mqcap_run_topo(const mqcap_run_t *r)
{
	return r->topo;
}

/* ---- threads ---- */

/* The first error of any thread wins: it is the cause, later ones are consequences. */
static void set_err(mqcap_run_t *r, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(mqcap_run_t *r, int err, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&r->mu);
	if (!r->first_err) {
		r->first_err = err;
		va_start(ap, fmt);
		vsnprintf(r->err.msg, sizeof(r->err.msg), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&r->mu);
}

void mqcap__run_snapshot(struct rthread *t, uint64_t drop_handoff)
{
	mqcap_t *h = atomic_load_explicit(&t->h, memory_order_relaxed);

	/* The handle's warnings, each passed on once (mqcap_run_warnings()). */
	if (h) {
		char msg[MQCAP__ERRLEN];
		unsigned n = mqcap_warnings(h, msg, sizeof(msg));

		if (n != t->warnings_seen) {
			pthread_mutex_lock(&t->r->mu);
			t->r->nwarnings += n - t->warnings_seen;
			snprintf(t->r->warning, sizeof(t->r->warning), "%s", msg);
			pthread_mutex_unlock(&t->r->mu);
			t->warnings_seen = n;
		}
	}
	/* The handle reads t's queues in t's order: its queue i is r->q[t->qs[i]]. */
	if (h)
		for (unsigned i = 0; i < mqcap_queue_count(h); i++) {
			struct mqcap_stats st;
			struct rqueue *q = &t->r->q[t->qs[i]];

			if (mqcap_queue_stats(h, i, &st) == 0) {
				pthread_mutex_lock(&q->mu);
				q->st = st;
				pthread_mutex_unlock(&q->mu);
			}
		}
	pthread_mutex_lock(&t->mu);
	t->snap.ts_ns = mqcap__run_now_ns();
	t->snap.packets = t->packets;
	t->snap.bytes = t->bytes;
	t->snap.bursts = t->bursts;
	t->snap.drop_handoff = drop_handoff;
	t->snap.cpu = sched_getcpu();
	pthread_mutex_unlock(&t->mu);
}


/* Append line to buf ("; "-separated) unless it is NULL, empty or already there. */
static void text_add_once(char *buf, size_t len, const char *line)
{
	size_t off = strlen(buf);

	if (!line || !*line || strstr(buf, line))
		return;
	snprintf(buf + off, len - off, "%s%s", off ? "; " : "", line);
}

/* Open a handle on exactly t's queues, in t's order. */
static mqcap_t *open_queues(const struct rthread *t)
{
	const mqcap_run_t *r = t->r;
	struct mqcap__qsel *qs = calloc(t->nq ? t->nq : 1, sizeof(*qs));
	mqcap_t *h;

	if (!qs) {
		errno = ENOMEM;
		mqcap__last_error_fmt(ENOMEM, "out of memory");
		return NULL;
	}
	for (unsigned i = 0; i < t->nq; i++) {
		memcpy(qs[i].dev, r->q[t->qs[i]].dev, sizeof(qs[i].dev));
		qs[i].queue = r->q[t->qs[i]].queue;
	}
	/* The budget is for the whole run: each handle gets its queues' share of it, so that
	 * one worker per queue and one worker for all queues size the rings alike. */
	struct mqcap_opts cap = r->cap;
	uint64_t budget = cap.mem_budget ? cap.mem_budget : MQCAP_MEM_BUDGET_DEFAULT;

	if (r->nq)
		budget = budget / r->nq * t->nq;
	if (!cap.mem_budget && budget < (uint64_t)MQCAP_RING_QUEUE_MIN * t->nq)
		budget = (uint64_t)MQCAP_RING_QUEUE_MIN * t->nq; /* the default grows, as in mqcap.h */
	/* an explicit budget too small for the share: mqcap_open's error names it */
	cap.mem_budget = budget ? budget : 1;
	h = mqcap__open_queues(qs, t->nq, r->backend_sel, &cap);
	free(qs);
	return h;
}

/* Pin, open the handle, report, wait for the go. Returns 0 when the thread should run. */
int mqcap__run_thread_setup(struct rthread *t)
{
	mqcap_run_t *r = t->r;
	int rc = 0;

	if (t->cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(t->cpu, &set);
		rc = -pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
		if (rc)
			set_err(r, -rc, "cannot pin a thread to CPU %d: %s", t->cpu, strerror(-rc));
	}
	if (!rc)
		mqcap__arrange_apply(&t->arr);
	if (!rc && t->kind != RK_CONSUMER) {
		mqcap_t *h = r->offline ? mqcap_open(r->file, &r->cap) : open_queues(t);

		if (!h) {
			rc = -errno;
			set_err(r, errno, "%s", mqcap_last_error());
		} else {
			/* Release: pairs with the acquire in mqcap_run_stop(), which may wake the
			 * handle from another thread (or a signal handler) from now on. */
			atomic_store_explicit(&t->h, h, memory_order_release);
			pthread_mutex_lock(&r->mu);
			if (!r->backend[0])
				snprintf(r->backend, sizeof(r->backend), "%s", mqcap_backend_name(h));
			/* handles on different devices may decide differently: keep each
			 * distinct line once (handles of one device say the same) */
			text_add_once(r->backend_reason, sizeof(r->backend_reason),
				      mqcap_backend_reason(h));
			text_add_once(r->stack_warning, sizeof(r->stack_warning),
				      mqcap_stack_warning(h));
			pthread_mutex_unlock(&r->mu);
		}
	}
	pthread_mutex_lock(&r->mu);
	r->nopened++;
	pthread_cond_broadcast(&r->cv);
	while (!r->go && !r->first_err && !atomic_load(&r->stop))
		pthread_cond_wait(&r->cv, &r->mu);
	if (!rc && (r->first_err || !r->go))
		rc = -ECANCELED;
	pthread_mutex_unlock(&r->mu);
	return rc;
}

void mqcap__run_thread_exit(struct rthread *t)
{
	mqcap_run_t *r = t->r;

	mqcap__run_snapshot(t, t->kind == RK_CONSUMER ? mqcap__balance_handoff_drops(t) : 0);
	pthread_mutex_lock(&t->mu);
	t->snap.done = 1;
	pthread_mutex_unlock(&t->mu);
	pthread_mutex_lock(&r->mu);
	r->nexited++;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

/* A receive error ends the run, except -ENODATA (end of a file), which ends this thread, and
 * -ENETDOWN, a report (mqcap.h): the handle delivers again once the link is back up, so the
 * run rides through and keeps the report for mqcap_run_link_reports(). */
bool mqcap__run_recv_failed(struct rthread *t, mqcap_t *h, int n)
{
	const char *msg;

	if (n == -ENODATA)
		return true;
	if (n == -ENETDOWN) {
		pthread_mutex_lock(&t->r->mu);
		t->r->nreports++;
		snprintf(t->r->report, sizeof(t->r->report), "%s", mqcap_errmsg(h));
		pthread_mutex_unlock(&t->r->mu);
		return false;
	}
	/* The library's messages usually name the queue or file already ("pcap:F: corrupt...");
	 * the worker's label is added only where they do not, so nothing is said twice. */
	msg = mqcap_errmsg(h);
	if (!strncmp(msg, t->label, strlen(t->label)))
		set_err(t->r, -n, "%s", msg);
	else
		set_err(t->r, -n, "%s: %s", t->label, msg);
	mqcap__run_stop(t->r);
	return true;
}

/* ---- the queue watch: RX queue count changes during the run ---- */

static void qreport(mqcap_run_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void qreport(mqcap_run_t *r, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&r->mu);
	va_start(ap, fmt);
	vsnprintf(r->qreports[r->nqreports % QREPORTS_KEPT], MQCAP__ERRLEN, fmt, ap);
	va_end(ap);
	r->nqreports++;
	pthread_mutex_unlock(&r->mu);
}

/* Worker side: add the queues the watch handed to t to its handle. Only t's own thread
 * touches its handle's readers and t->qs, so the snapshot never sees half of it. */
static void take_new_queues(struct rthread *t, mqcap_t *h)
{
	mqcap_run_t *r = t->r;
	struct mqcap__qsel *qs = NULL;
	unsigned idx[64], n = 0;
	char *label;
	int rc;

	pthread_mutex_lock(&t->mu);
	/* a few at a time; the flag stays up while more wait */
	while (n < t->npend && n < 64) {
		idx[n] = t->pend[n];
		n++;
	}
	memmove(t->pend, t->pend + n, (t->npend - n) * sizeof(*t->pend));
	t->npend -= n;
	atomic_store_explicit(&t->grow, t->npend > 0, memory_order_relaxed);
	pthread_mutex_unlock(&t->mu);
	if (n)
		qs = calloc(n, sizeof(*qs));
	if (!qs) {
		if (n)
			qreport(r, "%s@%u and %u more: cannot capture the new queues: out of memory",
				r->q[idx[0]].dev, r->q[idx[0]].queue, n - 1);
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		memcpy(qs[i].dev, r->q[idx[i]].dev, sizeof(qs[i].dev));
		qs[i].queue = r->q[idx[i]].queue;
	}
	rc = mqcap__add_queues(h, qs, n);
	free(qs);
	if (rc) {
		qreport(r, "%s@%u%s: cannot capture the new queue%s: %s", r->q[idx[0]].dev,
			r->q[idx[0]].queue, n > 1 ? " and the others given to that worker" : "",
			n > 1 ? "s" : "", mqcap_errmsg(h));
		return;
	}
	pthread_mutex_lock(&t->mu); /* least_loaded() reads nq from the watch */
	for (unsigned i = 0; i < n; i++)
		t->qs[t->nq++] = idx[i];
	pthread_mutex_unlock(&t->mu);
	label = queues_label(r, t->qs, t->nq);
	if (label) {
		free(t->label);
		t->label = label;
	}
	/* counted from now on: publish the new queues' zeros at once */
	mqcap__run_snapshot(t, 0);
	for (unsigned i = 0; i < n; i++)
		qreport(r, "%s@%u: captured from now on (worker %u)", r->q[idx[i]].dev,
			r->q[idx[i]].queue, t->idx);
}

static void *worker_main(void *arg)
{
	struct rthread *t = arg;
	mqcap_run_t *r = t->r;
	struct mqcap_pkt pkts[MAX_BURST];
	uint64_t next_snap;
	mqcap_t *h;

	if (mqcap__run_thread_setup(t))
		goto out;
	h = atomic_load_explicit(&t->h, memory_order_relaxed);
	next_snap = mqcap__run_now_ns() + SNAP_NS;
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		/* drained: the last receive was a short burst, so look once more without waiting */
		bool drained = false;
		int tmo = r->o.poll_ms, n;

		/* Acquire: pairs with the release in watch_grow(). */
		if (atomic_load_explicit(&t->grow, memory_order_acquire))
			take_new_queues(t, h);

		do {
			n = mqcap_recv_burst(h, pkts, r->o.burst, tmo);
			if (n <= 0)
				break;
			t->packets += (unsigned)n;
			t->bursts++;
			for (int i = 0; i < n; i++)
				t->bytes += pkts[i].len;
			if (r->fn(r->user, t->idx, pkts, (unsigned)n))
				mqcap__run_stop(r);
			drained = t->arr.batch_us && (unsigned)n < r->o.burst;
			tmo = 0;
		} while (drained && !atomic_load_explicit(&r->stop, memory_order_relaxed));
		if (n < 0 && mqcap__run_recv_failed(t, h, n))
			break;
		/* Batching: the ring was found empty right after a short burst. Instead of
		 * sleeping in the kernel until the next packet (a wake-up per packet, each one
		 * preempting the poller that shares our CPU), give the poller batch_us to fill
		 * the ring. Only an empty ring makes us sleep, so a busy queue is never capped. */
		if (n == 0 && drained) {
			struct timespec ts = { 0, (long)t->arr.batch_us * 1000L };

			mqcap_release(h);
			nanosleep(&ts, NULL);
		}
		if (mqcap__run_now_ns() >= next_snap) {
			mqcap__run_snapshot(t, 0);
			next_snap += SNAP_NS;
		}
	}
	mqcap_release(h);
out:
	mqcap__run_thread_exit(t);
	return NULL;
}

static int spawn(struct rthread *t, void *(*fn)(void *))
{
	sigset_t all, old;
	int rc;

	/* Signals go to the controlling thread, never into a worker's receive (EINTR there
	 * would read as a capture error). The workers inherit the blocked mask. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&t->tid, NULL, fn, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	if (rc)
		return -rc;
	t->started = true;
	return 0;
}

/* "dev@1,2,5" of the queues listed in qs (queue numbers), for reports. */
static void qlist(char *buf, size_t len, const char *dev, const unsigned *qs, unsigned n)
{
	size_t off = (size_t)snprintf(buf, len, "%s@", dev);

	for (unsigned i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%u", i ? "," : "", qs[i]);
}

/* The direct worker with the fewest queues (and queues waiting for it): where a new one goes. */
static struct rthread *least_loaded(mqcap_run_t *r)
{
	struct rthread *best = NULL;
	unsigned best_n = 0;

	for (unsigned i = 0; i < r->nw; i++) {
		struct rthread *t = &r->w[i];
		unsigned n;

		pthread_mutex_lock(&t->mu);
		n = t->nq + t->npend; /* t->nq changes under mu once the run has started */
		pthread_mutex_unlock(&t->mu);
		if (!best || n < best_n) {
			best = t;
			best_n = n;
		}
	}
	return best;
}

/* Device d gained queues [was, now): capture them (given to workers), or say why not. */
static void watch_grow(mqcap_run_t *r, struct rdev *d, unsigned was, unsigned now)
{
	unsigned back[64], nback = 0, skip[64], nskip = 0, nnew = 0;
	char given[MQCAP__ERRLEN] = "", lb[96] = "", ls[96] = "";
	const char *why = NULL;
	size_t off = 0;

	if (!d->spec.all_queues)
		why = "not in the capture name's queue list";
	else if (!(r->o.flags & MQCAP_RUN_F_NEW_QUEUES))
		why = "this program keeps the queues it started with";
	else if (r->pplan)
		why = "split and balance modes keep the pollers and rings of the start";
	for (unsigned q = was; q < now; q++) {
		unsigned nq = atomic_load_explicit(&r->nq, memory_order_relaxed), i;
		struct rthread *t;

		for (i = 0; i < nq; i++)
			if (!strcmp(r->q[i].dev, d->spec.name) && r->q[i].queue == q)
				break;
		if (i < nq) { /* shrunk earlier under packet: its reader is still there */
			atomic_store_explicit(&r->q[i].gone, 0, memory_order_relaxed);
			if (nback < 64)
				back[nback++] = q;
			continue;
		}
		if (why || nq == r->qcap || !(t = least_loaded(r)) || !atomic_load(&t->h)) {
			if (nskip < 64)
				skip[nskip++] = q;
			continue;
		}
		memset(&r->q[nq], 0, sizeof(r->q[0]));
		snprintf(r->q[nq].dev, sizeof(r->q[0].dev), "%s", d->spec.name);
		r->q[nq].queue = q;
		r->q[nq].added = true;
		pthread_mutex_init(&r->q[nq].mu, NULL);
		/* Release: the entry is whole before anyone reads it through the count. */
		atomic_store_explicit(&r->nq, nq + 1, memory_order_release);
		pthread_mutex_lock(&t->mu);
		t->pend[t->npend++] = nq;
		/* Release: pairs with the acquire in worker_main. */
		atomic_store_explicit(&t->grow, 1, memory_order_release);
		pthread_mutex_unlock(&t->mu);
		mqcap_wake(atomic_load_explicit(&t->h, memory_order_acquire));
		if (off < sizeof(given))
			off += (size_t)snprintf(given + off, sizeof(given) - off, "%s%s@%u to worker %u",
						nnew ? ", " : "", d->spec.name, q, t->idx);
		nnew++;
	}
	if (nback)
		qlist(lb, sizeof(lb), d->spec.name, back, nback);
	if (nskip)
		qlist(ls, sizeof(ls), d->spec.name, skip, nskip);
	if (!why)
		why = "more queues than the device's maximum at the start";
	qreport(r, "%s grew from %u to %u RX queues%s%s%s%s%s%s%s%s%s", d->spec.name, was, now,
		nnew ? ": new queues " : "", given,
		nback ? (nnew ? "; " : ": ") : "", lb, nback ? " back in the capture" : "",
		nskip ? (nnew || nback ? "; " : ": ") : "", ls, nskip ? " not captured: " : "",
		nskip ? why : "");
}

/* Device d lost queues [now, was): name the captured ones that went away. */
static void watch_shrink(mqcap_run_t *r, struct rdev *d, unsigned was, unsigned now)
{
	unsigned nq = atomic_load_explicit(&r->nq, memory_order_relaxed), gone[64], ngone = 0;
	char lg[96] = "";

	for (unsigned i = 0; i < nq; i++)
		if (!strcmp(r->q[i].dev, d->spec.name) && r->q[i].queue >= now &&
		    !atomic_load_explicit(&r->q[i].gone, memory_order_relaxed)) {
			atomic_store_explicit(&r->q[i].gone, 1, memory_order_relaxed);
			if (ngone < 64)
				gone[ngone++] = r->q[i].queue;
		}
	if (ngone)
		qlist(lg, sizeof(lg), d->spec.name, gone, ngone);
	qreport(r, "%s has %u RX queue%s now, was %u: %s%s", d->spec.name, now, now == 1 ? "" : "s",
		was, ngone ? lg : "no captured queue went away",
		ngone ? " went away: nothing more arrives there, their counts stay as they were" : "");
}

/* Look at each device's RX queue count once. A device that is gone, or whose name now
 * belongs to another device, is left to the handles: they end the capture of its queues. */
static void watch_check(mqcap_run_t *r)
{
	for (unsigned i = 0; i < r->ndevs; i++) {
		struct rdev *d = &r->devs[i];
		struct mqcap__err e;
		struct mqcap__iface ifc;
		unsigned was = d->nrx;

		if (mqcap__iface_get(d->spec.name, &ifc, &e) || ifc.ifindex != d->ifindex ||
		    ifc.rx_queues == was)
			continue;
		d->nrx = ifc.rx_queues;
		if (ifc.rx_queues < was)
			watch_shrink(r, d, was, ifc.rx_queues);
		else
			watch_grow(r, d, was, ifc.rx_queues);
	}
}

/* Link events of every device. RTM_NEWLINK does not carry the real RX queue count
 * (IFLA_NUM_RX_QUEUES is the allocated maximum), but veth turns its carrier off and on around
 * a channel change, so one arrives with it; the count is then read with the ethtool ioctl
 * (iface.c). A look every WATCH_MS covers drivers that send nothing. -1 without the socket:
 * the periodic look is then all there is. */
static int watch_nl_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);

	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void *watch_main(void *arg)
{
	mqcap_run_t *r = arg;
	int nl = watch_nl_open();
	struct pollfd pf[2] = { { .fd = r->watch_efd, .events = POLLIN },
				{ .fd = nl, .events = POLLIN } };
	char buf[8192];

	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		if (poll(pf, nl >= 0 ? 2 : 1, WATCH_MS) < 0 && errno != EINTR)
			break;
		if (atomic_load_explicit(&r->stop, memory_order_relaxed))
			break;
		/* which device does not matter: looking costs two ioctls per device */
		while (nl >= 0 && recv(nl, buf, sizeof(buf), 0) > 0) {
		}
		watch_check(r);
	}
	if (nl >= 0)
		close(nl);
	return NULL;
}

static void watch_join(mqcap_run_t *r)
{
	uint64_t one = 1;

	if (!r->watching)
		return;
	if (write(r->watch_efd, &one, sizeof(one)) < 0) {
		/* EAGAIN: a wake is pending anyway */
	}
	pthread_join(r->watch_tid, NULL);
	r->watching = false;
}

int mqcap_run_start(mqcap_run_t *r)
{
	unsigned nthreads = r->nw + r->np;
	int rc = 0;

	if (r->started)
		return mqcap__err_set(&r->err, EALREADY, "already started");
	r->started = true;
	if (r->np && !r->bal)
		rc = mqcap__balance_rings(r);
	for (unsigned i = 0; i < r->np && !rc; i++)
		rc = spawn(&r->p[i], mqcap__balance_poller_main);
	for (unsigned i = 0; i < r->nw && !rc; i++)
		rc = spawn(&r->w[i], r->pplan ? mqcap__balance_consumer_main : worker_main);
	pthread_mutex_lock(&r->mu);
	/* Threads already started read first_err and may set err: both only under r->mu. */
	if (rc && !r->first_err) {
		r->first_err = -rc;
		if (!r->err.msg[0])
			mqcap__err_set(&r->err, -rc, "cannot start a thread: %s", strerror(-rc));
	}
	if (!rc) {
		while (r->nopened < nthreads && !r->first_err)
			pthread_cond_wait(&r->cv, &r->mu);
	}
	rc = r->first_err ? -r->first_err : 0;
	r->go = rc == 0;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	if (rc) {
		mqcap__run_stop(r);
		mqcap_run_wait(r, -1);
		return rc;
	}
	if (r->watch_efd >= 0) {
		/* Without the watch the capture still works: changes then go unreported. */
		sigset_t all, old;

		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		r->watching = pthread_create(&r->watch_tid, NULL, watch_main, r) == 0;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	return 0;
}

/*
 * The open runs, so that mqcap_run_stop() can tell a live run from a closed one without
 * touching it: a signal handler may hold the pointer while the main thread closes the run.
 * mqcap_run_stop() counts itself in stops_in_flight before it looks r up; close takes r out
 * of the table before it waits for stops_in_flight to drain. Both sides are sequentially
 * consistent (a store, then a load of the other variable: Dekker), so a stop either saw r
 * gone, or close waits until that stop has finished with r.
 */
#define MAX_RUNS 256
static _Atomic(mqcap_run_t *) open_runs[MAX_RUNS];
static _Atomic unsigned stops_in_flight;

static int runs_add(mqcap_run_t *r)
{
	for (unsigned i = 0; i < MAX_RUNS; i++) {
		mqcap_run_t *none = NULL;

		if (atomic_compare_exchange_strong(&open_runs[i], &none, r))
			return 0;
	}
	return mqcap__err_set(&r->err, EMFILE, "more than %d runs open in this process", MAX_RUNS);
}

static void runs_remove(mqcap_run_t *r)
{
	bool found = false;

	for (unsigned i = 0; i < MAX_RUNS; i++)
		if (atomic_load(&open_runs[i]) == r) {
			atomic_store(&open_runs[i], NULL);
			found = true;
		}
	/* A stop that found r before the store above may still be waking its handles. */
	while (found && atomic_load(&stops_in_flight))
		sched_yield();
}

void mqcap_run_stop(mqcap_run_t *r)
{
	atomic_fetch_add(&stops_in_flight, 1);
	for (unsigned i = 0; r && i < MAX_RUNS; i++)
		if (atomic_load(&open_runs[i]) == r) {
			mqcap__run_stop(r);
			break;
		}
	atomic_fetch_sub(&stops_in_flight, 1);
}

void mqcap__run_stop(mqcap_run_t *r)
{
	uint64_t one = 1;

	/* Relaxed: a flag that nothing is read through; threads poll it between bursts. */
	atomic_store_explicit(&r->stop, 1, memory_order_relaxed);
	if (r->watch_efd >= 0 && write(r->watch_efd, &one, sizeof(one)) < 0) {
		/* EAGAIN: a wake is pending anyway */
	}
	/* Handles stay open until close, so waking one here never races its close. */
	for (unsigned i = 0; r->w && i < r->nw; i++) {
		mqcap_t *h = atomic_load_explicit(&r->w[i].h, memory_order_acquire);

		if (h)
			mqcap_wake(h);
	}
	for (unsigned i = 0; r->p && i < r->np; i++) {
		mqcap_t *h = atomic_load_explicit(&r->p[i].h, memory_order_acquire);

		if (h)
			mqcap_wake(h);
	}
}

int mqcap_run_stopping(const mqcap_run_t *r)
{
	return atomic_load_explicit(&r->stop, memory_order_relaxed);
}

int mqcap_run_wait(mqcap_run_t *r, int timeout_ms)
{
	unsigned started = 0;
	struct timespec dl;
	int rc = 0;

	for (unsigned i = 0; r->w && i < r->nw; i++)
		started += r->w[i].started;
	for (unsigned i = 0; r->p && i < r->np; i++)
		started += r->p[i].started;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	if (timeout_ms >= 0) {
		dl.tv_sec += timeout_ms / 1000;
		dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (dl.tv_nsec >= 1000000000L) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&r->mu);
	/* Pollers feeding consumers end on their own only at end of file; once every direct
	 * worker or poller has ended, consumers drain and follow. */
	while (r->nexited < started && rc == 0) {
		if (timeout_ms < 0)
			pthread_cond_wait(&r->cv, &r->mu);
		else
			rc = pthread_cond_timedwait(&r->cv, &r->mu, &dl);
	}
	pthread_mutex_unlock(&r->mu);
	if (rc)
		return -ETIMEDOUT;
	for (unsigned i = 0; r->w && i < r->nw; i++)
		if (r->w[i].started) {
			pthread_join(r->w[i].tid, NULL);
			r->w[i].started = false;
		}
	for (unsigned i = 0; r->p && i < r->np; i++)
		if (r->p[i].started) {
			pthread_join(r->p[i].tid, NULL);
			r->p[i].started = false;
		}
	atomic_store_explicit(&r->stop, 1, memory_order_relaxed);
	watch_join(r);
	pthread_mutex_lock(&r->mu);
	rc = r->first_err ? -r->first_err : 0;
	pthread_mutex_unlock(&r->mu);
	return rc;
}

static void free_threads(struct rthread *ts, unsigned n)
{
	for (unsigned i = 0; ts && i < n; i++) {
		mqcap_close(atomic_load(&ts[i].h));
		free(ts[i].qs);
		free(ts[i].pend);
		free(ts[i].label);
		pthread_mutex_destroy(&ts[i].mu);
	}
	free(ts);
}

void mqcap_run_close(mqcap_run_t *r)
{
	if (!r)
		return;
	runs_remove(r);
	if (r->w || r->p) {
		mqcap__run_stop(r);
		mqcap_run_wait(r, -1);
	}
	watch_join(r);
	free_threads(r->w, r->nw);
	free_threads(r->p, r->np);
	if (r->watch_efd >= 0)
		close(r->watch_efd);
	for (unsigned i = 0; i < r->nq; i++) {
		mqcap_ring_spsc_destroy(r->q[i].ring);
		free(r->q[i].slab);
		pthread_mutex_destroy(&r->q[i].mu);
	}
	free(r->q);
	mqcap_plan_free(r->plan);
	mqcap_plan_free(r->pplan);
	mqcap_balance_destroy(r->bal);
	free(r->bgroups);
	mqcap_topo_close(r->topo);
	free(r->filter);
	free(r->file);
	free((void *)r->o.cpus);
	free((void *)r->o.poller_cpus);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	free(r);
}

const char *mqcap_run_errmsg(const mqcap_run_t *r)
{
	mqcap_run_t *rw = (mqcap_run_t *)r; /* the lock, not the run, changes */
	const char *msg;

	/* Once set, the message never changes (the first failure wins), so the pointer may be
	 * read after the unlock. */
	pthread_mutex_lock(&rw->mu);
	msg = r->err.msg[0] ? r->err.msg : "no error";
	pthread_mutex_unlock(&rw->mu);
	return msg;
}

/* How many messages of one kind the run has had, and (into buf) the latest: link reports and
 * warnings are kept alike, a count and the last text, both under r->mu. */
static unsigned latest_message(const mqcap_run_t *r, const unsigned *count, const char *text,
			       char *buf, size_t len)
{
	mqcap_run_t *rw = (mqcap_run_t *)r;
	unsigned n;

	pthread_mutex_lock(&rw->mu);
	n = *count;
	if (buf && len)
		snprintf(buf, len, "%s", text);
	pthread_mutex_unlock(&rw->mu);
	return n;
}

unsigned mqcap_run_link_reports(const mqcap_run_t *r, char *buf, size_t len)
{
	return latest_message(r, &r->nreports, r->report, buf, len);
}

unsigned mqcap_run_queue_reports(const mqcap_run_t *r, unsigned i, char *buf, size_t len)
{
	mqcap_run_t *rw = (mqcap_run_t *)r;
	unsigned n;

	pthread_mutex_lock(&rw->mu);
	n = r->nqreports;
	if (buf && len)
		snprintf(buf, len, "%s", i < n && n - i <= QREPORTS_KEPT ?
			 r->qreports[i % QREPORTS_KEPT] : "");
	pthread_mutex_unlock(&rw->mu);
	return n;
}

int mqcap_run_queue_info(const mqcap_run_t *r, unsigned i, struct mqcap_run_queue_info *qi)
{
	const struct rqueue *q;

	/* Acquire: pairs with the release in watch_grow(), so entry i is whole. */
	if (i >= atomic_load_explicit(&r->nq, memory_order_acquire))
		return -EINVAL;
	q = &r->q[i];
	memset(qi, 0, sizeof(*qi));
	snprintf(qi->dev_name, sizeof(qi->dev_name), "%s", q->dev);
	qi->queue = q->queue;
	qi->present = !atomic_load_explicit(&q->gone, memory_order_relaxed);
	qi->added = q->added;
	return 0;
}

unsigned mqcap_run_warnings(const mqcap_run_t *r, char *buf, size_t len)
{
	return latest_message(r, &r->nwarnings, r->warning, buf, len);
}

unsigned mqcap_run_worker_count(const mqcap_run_t *r)
{
	return r->nw;
}

int mqcap_run_worker_stats(const mqcap_run_t *r, unsigned w, struct mqcap_run_worker_stats *st)
{
	struct rthread *t;

	if (w >= r->nw)
		return -EINVAL;
	t = &r->w[w];
	pthread_mutex_lock(&t->mu);
	*st = t->snap;
	pthread_mutex_unlock(&t->mu);
	if (!st->ts_ns)
		st->ts_ns = mqcap__run_now_ns();
	return 0;
}

unsigned mqcap_run_queue_count(const mqcap_run_t *r)
{
	/* Acquire: pairs with the release in watch_grow(). */
	return atomic_load_explicit(&r->nq, memory_order_acquire);
}

int mqcap_run_queue_stats(const mqcap_run_t *r, unsigned i, struct mqcap_stats *st)
{
	struct rqueue *q;

	if (i >= atomic_load_explicit(&r->nq, memory_order_acquire))
		return -EINVAL;
	q = &r->q[i];
	pthread_mutex_lock(&q->mu);
	*st = q->st;
	pthread_mutex_unlock(&q->mu);
	return 0;
}

uint64_t mqcap_run_queue_handoff_drops(const mqcap_run_t *r, unsigned i)
{
	return i < r->nq ? atomic_load_explicit(&r->q[i].handoff_drops, memory_order_relaxed) : 0;
}

mqcap_balance_t *mqcap_run_balance(const mqcap_run_t *r)
{
	return r->bal;
}

const char *mqcap_run_backend_name(const mqcap_run_t *r)
{
	return r->backend;
}

const char *mqcap_run_backend_reason(const mqcap_run_t *r)
{
	return r->backend_reason;
}

const char *mqcap_run_stack_warning(const mqcap_run_t *r)
{
	return r->stack_warning[0] ? r->stack_warning : NULL;
}
