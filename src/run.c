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
 */
#include <errno.h>
#include <poll.h>
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

#include "mqcap/napi.h"
#include "mqcap/ring.h"
#include "mqcap/run.h"
#include "devname_int.h"
#include "error_int.h"
#include "iface_int.h"

#define SNAP_NS 50000000ull /* snapshot period: 20 per second is plenty for a 1 s table */
#define MAX_BURST 1024u

enum rkind { RK_WORKER, RK_POLLER, RK_CONSUMER };

struct rqueue {
	char dev[IF_NAMESIZE];
	unsigned queue;
	/* split mode: poller -> consumer */
	struct mqcap_ring_spsc *ring;
	uint8_t *slab;                 /* ring_slots * slot_bytes: packet bytes of ring slot i */
	_Atomic uint64_t handoff_drops;
	_Atomic int poller_done;       /* pairs with the acquire in consume(): ring final */
	pthread_mutex_t mu;            /* guards st */
	struct mqcap_stats st;
};

struct rthread {
	struct mqcap_run *r;
	enum rkind kind;
	unsigned idx;
	int cpu;
	pthread_t tid;
	bool started;
	char name[512];                /* capture name of its handle (workers, pollers) */
	_Atomic(mqcap_t *) h;
	unsigned *qs;                  /* indexes into r->q */
	unsigned nq;
	unsigned *hq;                  /* hq[i]: r->q index of the handle's queue i */
	unsigned batch_us;             /* sleep after a short burst (0: never) */
	/* thread-local counters */
	uint64_t packets, bytes, bursts;
	pthread_mutex_t mu;            /* guards snap */
	struct mqcap_run_worker_stats snap;
	int err;
};

struct mqcap_run {
	struct mqcap_run_opts o;
	struct mqcap_opts cap;
	char *filter;
	mqcap_run_fn fn;
	void *user;
	char prefix[16];               /* "packet:", "xdp:" or "" */
	bool offline;
	mqcap_topo_t *topo;
	struct mqcap_plan *plan;       /* workers (split: consumers) */
	struct mqcap_plan *pplan;      /* split: pollers */
	struct rqueue *q;
	unsigned nq;
	struct rthread *w;             /* workers or consumers */
	unsigned nw;
	struct rthread *p;             /* split: pollers, one per queue */
	unsigned np;
	_Atomic int stop;              /* set by mqcap_run_stop(); read relaxed by every thread */
	pthread_mutex_t mu;            /* guards the fields below */
	pthread_cond_t cv;
	unsigned nopened, nexited;
	int first_err;
	bool go, started;
	char backend[32];
	char backend_reason[1024];   /* the handles' distinct mqcap_backend_reason() lines */
	char stack_warning[1024];    /* their distinct mqcap_stack_warning() lines, "" if none */
	struct mqcap__err err;
};

static uint64_t now_ns(void)
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
	if (cn->backend == MQCAP_BACKEND_PACKET)
		strcpy(r->prefix, "packet:");
	else if (cn->backend == MQCAP_BACKEND_XDP)
		strcpy(r->prefix, "xdp:");
	for (unsigned d = 0; d < cn->ndevs && !rc; d++) {
		const struct mqcap__devspec *ds = &cn->devs[d];
		struct mqcap__iface ifc;

		rc = mqcap__iface_get(ds->name, &ifc, &r->err);
		if (rc)
			break;
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
	return rc;
}

/* Where the kernel polls queue q: a threaded-NAPI thread pinned to one CPU, else the CPU of
 * the queue's IRQ; -1 when neither is fixed. *th receives the NAPI thread, if any (*have_th). */
static int poller_cpu(const char *dev, unsigned q, struct mqcap_napi_thread *th, bool *have_th)
{
	struct mqcap_napi_thread ts[64];
	int n = mqcap_napi_list(dev, ts, 64);

	*have_th = false;
	if (n > 0 && q < (unsigned)n && q < 64) {
		*th = ts[q];
		*have_th = true;
		if (CPU_COUNT(&ts[q].allowed) == 1)
			for (int c = 0; c < CPU_SETSIZE; c++)
				if (CPU_ISSET(c, &ts[q].allowed))
					return c;
		return -1;
	}
	n = mqcap_queue_irq_cpu(dev, q, NULL);
	return n >= 0 ? n : -1;
}

/* ---- planning ---- */

static int plan(mqcap_run_t *r)
{
	struct mqcap_plan_queue *pq = calloc(r->nq, sizeof(*pq));
	struct mqcap_napi_thread *th = calloc(r->nq, sizeof(*th));
	bool *have = calloc(r->nq, sizeof(*have));
	uint32_t pflags = 0;
	unsigned nusable = mqcap_topo_usable_count(r->topo);
	int rc = 0;

	if (!pq || !th || !have) {
		rc = mqcap__err_set(&r->err, ENOMEM, "out of memory");
		goto out;
	}
	if (r->o.flags & MQCAP_RUN_F_OVERSUBSCRIBE)
		pflags |= MQCAP_PLAN_OVERSUBSCRIBE;
	if (r->o.flags & MQCAP_RUN_F_NO_PIN)
		pflags |= MQCAP_PLAN_NO_PIN;
	if (r->o.flags & MQCAP_RUN_F_NO_NUMA)
		pflags |= MQCAP_PLAN_NO_NUMA;
	for (unsigned i = 0; i < r->nq; i++) {
		snprintf(pq[i].dev, sizeof(pq[i].dev), "%s", r->q[i].dev);
		pq[i].queue = r->q[i].queue;
		pq[i].poller_cpu = r->offline ? -1 : poller_cpu(r->q[i].dev, r->q[i].queue, &th[i], &have[i]);
		/* A pinned poller outside this topology (an XML plan) is as good as unknown. */
		if (pq[i].poller_cpu >= 0 && !mqcap_topo_cpu(r->topo, pq[i].poller_cpu))
			pq[i].poller_cpu = -1;
		pq[i].nic_numa = r->offline ? -1 : mqcap_topo_dev_numa(r->topo, r->q[i].dev);
	}

	if (r->o.flags & MQCAP_RUN_F_SPLIT) {
		unsigned ncons = r->o.workers ? r->o.workers : r->nq;
		MQCAP_PLAN_OPTS(po, .flags = pflags, .cpus = r->o.poller_cpus, .ncpus = r->o.npoller_cpus);
		int *busy;

		if (!(pflags & (MQCAP_PLAN_OVERSUBSCRIBE | MQCAP_PLAN_NO_PIN)) && !r->o.cpus &&
		    !r->o.poller_cpus && r->nq + ncons > nusable) {
			rc = mqcap__err_set(&r->err, E2BIG,
					    "split mode needs %u poller + %u consumer threads but this process "
					    "may use %u CPU(s) (allow sharing with --oversubscribe)",
					    r->nq, ncons, nusable);
			goto out;
		}
		r->pplan = mqcap_plan_make(r->topo, pq, r->nq, &po);
		if (!r->pplan) {
			rc = mqcap__err_set(&r->err, errno, "pollers: %s", mqcap_topo_errmsg(r->topo));
			goto out;
		}
		/* Consumers plan around the pollers: each consumer is near the user poller of its
		 * queue, and the pollers' CPUs count as taken. */
		busy = calloc(r->nq, sizeof(*busy));
		if (!busy) {
			rc = mqcap__err_set(&r->err, ENOMEM, "out of memory");
			goto out;
		}
		for (unsigned i = 0; i < r->nq; i++) {
			busy[i] = r->pplan->queues[i].cpu;
			pq[i].poller_cpu = r->pplan->queues[i].cpu;
		}
		{
			MQCAP_PLAN_OPTS(co, .workers = ncons, .flags = pflags, .cpus = r->o.cpus,
					.ncpus = r->o.ncpus, .busy_cpus = busy, .nbusy = r->nq);

			r->plan = mqcap_plan_make(r->topo, pq, r->nq, &co);
		}
		free(busy);
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
	return rc;
}

/* The capture name of a set of queues: "prefix:dev@1,5,dev2@0". */
static int queues_name(mqcap_run_t *r, const unsigned *qs, unsigned n, char *buf, size_t len)
{
	size_t off = 0;
	const char *last_dev = NULL;
	int k;

	k = snprintf(buf, len, "%s", r->prefix);
	off = (size_t)k;
	for (unsigned i = 0; i < n; i++) {
		const struct rqueue *q = &r->q[qs[i]];

		if (last_dev && !strcmp(last_dev, q->dev))
			k = snprintf(buf + off, len - off, ",%u", q->queue);
		else
			k = snprintf(buf + off, len - off, "%s%s@%u", last_dev ? "," : "", q->dev, q->queue);
		if (k < 0 || (size_t)k >= len - off)
			return mqcap__err_set(&r->err, ENAMETOOLONG, "too many queues for one worker");
		off += (size_t)k;
		last_dev = q->dev;
	}
	return 0;
}

/* Give thread t the queues of plan worker `wi`, sorted by device so names group. */
static int assign(mqcap_run_t *r, struct rthread *t, const struct mqcap_plan *pl, unsigned wi)
{
	t->qs = calloc(r->nq, sizeof(*t->qs));
	if (!t->qs)
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
	/* A worker on the very CPU of one of its pollers takes turns with it: waking per packet
	 * would preempt the poller for every packet, so let it fill the ring for a while. */
	if (!(r->o.flags & MQCAP_RUN_F_NO_BATCH)) {
		t->batch_us = r->o.batch_usecs;
		for (unsigned i = 0; i < t->nq && !t->batch_us && t->cpu >= 0; i++)
			if (pl->queues[t->qs[i]].planned_poller_cpu == t->cpu &&
			    pl->queues[t->qs[i]].poller_cpu >= 0)
				t->batch_us = MQCAP_RUN_BATCH_AUTO_US;
	}
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
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	r->o.sz = sizeof(r->o);
	if (opts)
		memcpy(&r->o, opts, opts->sz < sizeof(r->o) ? opts->sz : sizeof(r->o));
	r->o.sz = sizeof(r->o);
	r->cap.sz = sizeof(r->cap);
	if (r->o.capture)
		memcpy(&r->cap, r->o.capture,
		       r->o.capture->sz < sizeof(r->cap) ? r->o.capture->sz : sizeof(r->cap));
	r->cap.sz = sizeof(r->cap);
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
	r->topo = mqcap_topo_open(r->o.topo_xml);
	if (!r->topo) {
		rc = -errno;
		mqcap__err_set(&r->err, errno, "%s", mqcap_last_error());
		goto fail;
	}
	if (r->offline && r->o.workers > 1) {
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
	for (unsigned i = 0; i < r->nw && !rc && !r->pplan; i++)
		rc = r->offline ? (snprintf(r->w[i].name, sizeof(r->w[i].name), "%s", name), 0)
				: queues_name(r, r->w[i].qs, r->w[i].nq, r->w[i].name, sizeof(r->w[i].name));
	for (unsigned i = 0; i < r->np && !rc; i++)
		rc = r->offline ? (snprintf(r->p[i].name, sizeof(r->p[i].name), "%s", name), 0)
				: queues_name(r, r->p[i].qs, r->p[i].nq, r->p[i].name, sizeof(r->p[i].name));
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

static void snapshot(struct rthread *t, uint64_t drop_handoff)
{
	mqcap_t *h = atomic_load_explicit(&t->h, memory_order_relaxed);

	if (h && t->hq)
		for (unsigned i = 0; i < mqcap_queue_count(h); i++) {
			struct mqcap_stats st;
			struct rqueue *q = &t->r->q[t->hq[i]];

			if (mqcap_queue_stats(h, i, &st) == 0) {
				pthread_mutex_lock(&q->mu);
				q->st = st;
				pthread_mutex_unlock(&q->mu);
			}
		}
	pthread_mutex_lock(&t->mu);
	t->snap.ts_ns = now_ns();
	t->snap.packets = t->packets;
	t->snap.bytes = t->bytes;
	t->snap.bursts = t->bursts;
	t->snap.drop_handoff = drop_handoff;
	t->snap.cpu = sched_getcpu();
	pthread_mutex_unlock(&t->mu);
}

static uint64_t consumer_handoff_drops(const struct rthread *t)
{
	uint64_t d = 0;

	for (unsigned i = 0; i < t->nq; i++)
		d += atomic_load_explicit(&t->r->q[t->qs[i]].handoff_drops, memory_order_relaxed);
	return d;
}

/* Append line to buf ("; "-separated) unless it is NULL, empty or already there. */
static void text_add_once(char *buf, size_t len, const char *line)
{
	size_t off = strlen(buf);

	if (!line || !*line || strstr(buf, line))
		return;
	snprintf(buf + off, len - off, "%s%s", off ? "; " : "", line);
}

/* Pin, open the handle, report, wait for the go. Returns 0 when the thread should run. */
static int thread_setup(struct rthread *t)
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
	if (!rc && t->kind != RK_CONSUMER) {
		mqcap_t *h = mqcap_open(t->name, &r->cap);

		if (!h) {
			rc = -errno;
			set_err(r, errno, "%s", mqcap_last_error());
		} else {
			unsigned n = mqcap_queue_count(h);

			t->hq = calloc(n ? n : 1, sizeof(*t->hq));
			for (unsigned i = 0; i < n && t->hq; i++) {
				struct mqcap_queue_info qi;

				t->hq[i] = t->qs[i < t->nq ? i : 0];
				if (mqcap_queue_info(h, i, &qi))
					continue;
				for (unsigned k = 0; k < t->nq; k++)
					if (!strcmp(r->q[t->qs[k]].dev, qi.dev_name) &&
					    r->q[t->qs[k]].queue == qi.queue)
						t->hq[i] = t->qs[k];
			}
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

static void thread_exit(struct rthread *t)
{
	mqcap_run_t *r = t->r;

	snapshot(t, t->kind == RK_CONSUMER ? consumer_handoff_drops(t) : 0);
	pthread_mutex_lock(&t->mu);
	t->snap.done = 1;
	pthread_mutex_unlock(&t->mu);
	pthread_mutex_lock(&r->mu);
	r->nexited++;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

/* A receive error ends the run, except -ENODATA (end of a file), which ends this thread. */
static bool recv_failed(struct rthread *t, mqcap_t *h, int n)
{
	if (n == -ENODATA)
		return true;
	set_err(t->r, -n, "%s: %s", t->name, mqcap_errmsg(h));
	mqcap_run_stop(t->r);
	return true;
}

static void *worker_main(void *arg)
{
	struct rthread *t = arg;
	mqcap_run_t *r = t->r;
	struct mqcap_pkt pkts[MAX_BURST];
	uint64_t next_snap;
	mqcap_t *h;

	if (thread_setup(t))
		goto out;
	h = atomic_load_explicit(&t->h, memory_order_relaxed);
	next_snap = now_ns() + SNAP_NS;
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		/* drained: the last receive was a short burst, so look once more without waiting */
		bool drained = false;
		int tmo = r->o.poll_ms, n;

		do {
			n = mqcap_recv_burst(h, pkts, r->o.burst, tmo);
			if (n <= 0)
				break;
			t->packets += (unsigned)n;
			t->bursts++;
			for (int i = 0; i < n; i++)
				t->bytes += pkts[i].len;
			if (r->fn(r->user, t->idx, pkts, (unsigned)n))
				mqcap_run_stop(r);
			drained = t->batch_us && (unsigned)n < r->o.burst;
			tmo = 0;
		} while (drained && !atomic_load_explicit(&r->stop, memory_order_relaxed));
		if (n < 0 && recv_failed(t, h, n))
			break;
		/* Batching: the ring was found empty right after a short burst. Instead of
		 * sleeping in the kernel until the next packet (a wake-up per packet, each one
		 * preempting the poller that shares our CPU), give the poller batch_us to fill
		 * the ring. Only an empty ring makes us sleep, so a busy queue is never capped. */
		if (n == 0 && drained) {
			struct timespec ts = { 0, (long)t->batch_us * 1000L };

			mqcap_release(h);
			nanosleep(&ts, NULL);
		}
		if (now_ns() >= next_snap) {
			snapshot(t, 0);
			next_snap += SNAP_NS;
		}
	}
	mqcap_release(h);
out:
	thread_exit(t);
	return NULL;
}

/* Copy up to n packets into the queue's ring: the one copy of split mode, because the views
 * die at our next receive. Returns how many fitted. */
static uint32_t copy_in(struct rthread *t, struct rqueue *q, const struct mqcap_pkt *pkts, uint32_t n)
{
	mqcap_run_t *r = t->r;
	uint32_t idx, room = mqcap_ring_spsc_reserve(q->ring, n, &idx);

	for (uint32_t i = 0; i < room; i++) {
		struct mqcap_pkt *dst = mqcap_ring_spsc_slot(q->ring, idx + i);
		uint8_t *buf = q->slab + (size_t)((idx + i) & (r->o.ring_slots - 1)) * r->o.slot_bytes;

		*dst = pkts[i];
		if (dst->caplen > r->o.slot_bytes) {
			dst->caplen = r->o.slot_bytes;
			dst->flags |= MQCAP_PKT_TRUNCATED;
		}
		memcpy(buf, pkts[i].data, dst->caplen);
		dst->data = buf;
		t->bytes += pkts[i].len;
	}
	mqcap_ring_spsc_commit(q->ring, room);
	t->packets += room;
	return room;
}

static void *poller_main(void *arg)
{
	struct rthread *t = arg;
	mqcap_run_t *r = t->r;
	struct rqueue *q = &r->q[t->qs[0]];
	struct mqcap_pkt pkts[MAX_BURST];
	uint64_t next_snap;
	mqcap_t *h;

	if (thread_setup(t))
		goto out;
	h = atomic_load_explicit(&t->h, memory_order_relaxed);
	next_snap = now_ns() + SNAP_NS;
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		int n = mqcap_recv_burst(h, pkts, r->o.burst, r->o.poll_ms);

		if (n > 0) {
			uint32_t done = copy_in(t, q, pkts, (uint32_t)n);

			/* A file waits for the consumer (it should be read whole); a live queue
			 * cannot wait, or the kernel's ring overflows instead: it drops here and
			 * says so. */
			while (done < (uint32_t)n && r->offline &&
			       !atomic_load_explicit(&r->stop, memory_order_relaxed)) {
				struct timespec ts = { 0, 20000 };

				mqcap_ring_spsc_flush(q->ring);
				nanosleep(&ts, NULL);
				done += copy_in(t, q, pkts + done, (uint32_t)n - done);
			}
			t->bursts++;
			if (done < (uint32_t)n)
				atomic_fetch_add_explicit(&q->handoff_drops, (uint32_t)n - done,
							  memory_order_relaxed);
		} else if (n == 0) {
			mqcap_ring_spsc_flush(q->ring);
		} else if (recv_failed(t, h, n)) {
			break;
		}
		if (now_ns() >= next_snap) {
			snapshot(t, 0);
			next_snap += SNAP_NS;
		}
	}
	mqcap_release(h);
out:
	/* Pairs with the acquire in consumer_main(): everything committed before is visible. */
	atomic_store_explicit(&q->poller_done, 1, memory_order_release);
	mqcap_ring_spsc_flush(q->ring);
	thread_exit(t);
	return NULL;
}

/* Sleep until one of the consumer's rings has items, or timeout. */
static void consumer_sleep(struct rthread *t, int timeout_ms)
{
	struct pollfd pfd[64];
	unsigned armed = 0;

	/* A ring that has items refuses to arm: then there is no sleeping at all. */
	for (unsigned i = 0; i < t->nq && armed < 64; i++) {
		struct mqcap_ring_spsc *ring = t->r->q[t->qs[i]].ring;

		if (mqcap_ring_spsc_prepare_wait(ring) != 0)
			break;
		pfd[armed].fd = mqcap_ring_spsc_fd(ring);
		pfd[armed].events = POLLIN;
		armed++;
	}
	if (armed == t->nq || armed == 64)
		poll(pfd, armed, timeout_ms);
	for (unsigned i = 0; i < armed; i++)
		mqcap_ring_spsc_finish_wait(t->r->q[t->qs[i]].ring);
}

static void *consumer_main(void *arg)
{
	struct rthread *t = arg;
	mqcap_run_t *r = t->r;
	uint64_t next_snap;

	if (thread_setup(t))
		goto out;
	next_snap = now_ns() + SNAP_NS;
	for (;;) {
		bool any = false, all_done = true;

		/* No exit on stop: the pollers stop, and we drain what they queued, so that
		 * every packet received is either delivered or counted as a hand-off drop. */
		for (unsigned i = 0; i < t->nq; i++) {
			struct rqueue *q = &r->q[t->qs[i]];
			/* Acquire, pairs with the release in poller_main(): read done before the ring. */
			int done = atomic_load_explicit(&q->poller_done, memory_order_acquire);
			uint32_t idx, n = mqcap_ring_spsc_peek(q->ring, r->o.burst, &idx);
			uint32_t to_wrap = r->o.ring_slots - (idx & (r->o.ring_slots - 1));

			if (!n) {
				all_done &= done != 0;
				continue;
			}
			all_done = false;
			any = true;
			/* The callback wants an array: stop at the ring's end, the rest comes next. */
			if (n > to_wrap)
				n = to_wrap;
			{
				const struct mqcap_pkt *pk = mqcap_ring_spsc_slot(q->ring, idx);

				t->packets += n;
				t->bursts++;
				for (uint32_t k = 0; k < n; k++)
					t->bytes += pk[k].len;
				if (r->fn(r->user, t->idx, pk, n))
					mqcap_run_stop(r);
			}
			mqcap_ring_spsc_release(q->ring, n);
		}
		if (all_done)
			break;
		if (!any)
			consumer_sleep(t, r->o.poll_ms);
		if (now_ns() >= next_snap) {
			snapshot(t, consumer_handoff_drops(t));
			next_snap += SNAP_NS;
		}
	}
out:
	thread_exit(t);
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

int mqcap_run_start(mqcap_run_t *r)
{
	unsigned nthreads = r->nw + r->np;
	int rc = 0;

	if (r->started)
		return mqcap__err_set(&r->err, EALREADY, "already started");
	r->started = true;
	for (unsigned i = 0; i < r->np && !rc; i++) {
		struct rqueue *q = &r->q[r->p[i].qs[0]];
		MQCAP_RING_SPSC_OPTS(ro, .flags = MQCAP_RING_F_WAKE, .wake_items = 1);

		q->ring = mqcap_ring_spsc_create(r->o.ring_slots, sizeof(struct mqcap_pkt), &ro);
		q->slab = malloc((size_t)r->o.ring_slots * r->o.slot_bytes);
		if (!q->ring || !q->slab)
			rc = mqcap__err_set(&r->err, q->ring ? ENOMEM : errno,
					    "cannot create the poller->consumer ring: %s",
					    q->ring ? "out of memory" : mqcap_last_error());
	}
	for (unsigned i = 0; i < r->np && !rc; i++)
		rc = spawn(&r->p[i], poller_main);
	for (unsigned i = 0; i < r->nw && !rc; i++)
		rc = spawn(&r->w[i], r->pplan ? consumer_main : worker_main);
	if (rc && !r->first_err) {
		r->first_err = -rc;
		if (!r->err.msg[0])
			mqcap__err_set(&r->err, -rc, "cannot start a thread: %s", strerror(-rc));
	}
	pthread_mutex_lock(&r->mu);
	if (!rc) {
		while (r->nopened < nthreads && !r->first_err)
			pthread_cond_wait(&r->cv, &r->mu);
	}
	rc = r->first_err ? -r->first_err : 0;
	r->go = rc == 0;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	if (rc) {
		mqcap_run_stop(r);
		mqcap_run_wait(r, -1);
		return rc;
	}
	return 0;
}

void mqcap_run_stop(mqcap_run_t *r)
{
	/* Relaxed: a flag that nothing is read through; threads poll it between bursts. */
	atomic_store_explicit(&r->stop, 1, memory_order_relaxed);
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
	clock_gettime(CLOCK_REALTIME, &dl);
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
	return r->first_err ? -r->first_err : 0;
}

static void free_threads(struct rthread *ts, unsigned n)
{
	for (unsigned i = 0; ts && i < n; i++) {
		mqcap_close(atomic_load(&ts[i].h));
		free(ts[i].qs);
		free(ts[i].hq);
		pthread_mutex_destroy(&ts[i].mu);
	}
	free(ts);
}

void mqcap_run_close(mqcap_run_t *r)
{
	if (!r)
		return;
	if (r->w || r->p) {
		mqcap_run_stop(r);
		mqcap_run_wait(r, -1);
	}
	free_threads(r->w, r->nw);
	free_threads(r->p, r->np);
	for (unsigned i = 0; i < r->nq; i++) {
		mqcap_ring_spsc_destroy(r->q[i].ring);
		free(r->q[i].slab);
		pthread_mutex_destroy(&r->q[i].mu);
	}
	free(r->q);
	mqcap_plan_free(r->plan);
	mqcap_plan_free(r->pplan);
	mqcap_topo_close(r->topo);
	free(r->filter);
	free((void *)r->o.cpus);
	free((void *)r->o.poller_cpus);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	free(r);
}

const char *mqcap_run_errmsg(const mqcap_run_t *r)
{
	return r->err.msg[0] ? r->err.msg : "no error";
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
		st->ts_ns = now_ns();
	return 0;
}

unsigned mqcap_run_queue_count(const mqcap_run_t *r)
{
	return r->nq;
}

int mqcap_run_queue_stats(const mqcap_run_t *r, unsigned i, struct mqcap_stats *st)
{
	struct rqueue *q;

	if (i >= r->nq)
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
