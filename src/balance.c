/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * balance.c - the software scheduler (include/mqcap/balance.h): pollers -> per-worker SPSC
 * rings, a bucket table per group, the adaptive controller, drain markers; and, at the end,
 * the runtime's poller/consumer threads of split mode (run.h MQCAP_RUN_F_SPLIT), the
 * user-space half of the paper's Setup C. The thread life cycle (pin, open, go, snapshot,
 * exit) is run.c's.
 *
 * Tables. The controller writes the table it wants (`want`, atomics) and bumps `gen`; each
 * poller keeps the table it applies (`cur`, private) and catches up at the start of a dispatch
 * call when it sees a new gen. Catching up is where order is kept: for every bucket that moves
 * from worker A to worker B, the poller first queues a drain marker on its ring to B naming A
 * and the number of slots it has ever queued to A; B's consume stops at the marker until A has
 * released that many slots of this poller's ring. The marker is queued before any packet of the
 * bucket goes to B, on the same ring, so B cannot see the bucket's new packets before A is done
 * with its old ones. No deadlock: a marker only waits for slots queued before it by the same
 * poller, so waits always point back in that poller's time, never in a circle. A marker that
 * does not fit (B's ring full) leaves the bucket on A until the next call.
 *
 * Counters are written by one thread each (poller or worker) as relaxed atomics, so the
 * controller and the stats readers may read them at any time without a lock.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mqcap/balance.h"
#include "mqcap/ring.h"
#include "balance_int.h"
#include "error_int.h"
#include "run_int.h"

#define MARKER_FLAG (1u << 31) /* mqcap_pkt.flags of a drain marker (never handed out) */
#define NO_ROOM     UINT32_MAX /* bal_out.room: not reserved in this dispatch call */
#define CACHELINE   64
#define DISPATCH_BATCH 64 /* packets hashed ahead of their delivery (hash_batch) */
#define DISPATCH_AHEAD 4  /* frames prefetched ahead of their parse */

#define RELAXED memory_order_relaxed
#define BUMP(ctr, n) atomic_store_explicit(&(ctr), atomic_load_explicit(&(ctr), RELAXED) + (n), RELAXED)

/* Per bucket, per poller: what the controller needs to see load and single flows. */
struct bal_bstat {
	_Atomic uint32_t pkts;  /* packets of this bucket (free-running) */
	_Atomic uint32_t chg;   /* times the flow hash differed from the previous packet's */
	uint32_t last;          /* hash of the previous packet (poller only) */
};

/* Poller p's side of its ring to one worker. */
struct bal_out {
	struct mqcap_ring_spsc *ring;
	uint8_t *slab;
	uint32_t idx;           /* first reserved index in this call */
	uint32_t room;          /* slots reserved in this call, NO_ROOM before the first */
	uint32_t pend;          /* slots written in this call */
	uint32_t seq;           /* slots ever committed (markers included) */
	bool full;              /* found full in this call: stop asking */
	_Atomic uint64_t drops;
};

/* One (poller, worker) link's consumer count, on its own line: the worker publishes it, other
 * workers read it when they meet a marker. */
struct bal_link {
	_Alignas(CACHELINE) _Atomic uint32_t cons_seq;
	struct mqcap_ring_spsc *ring;
	uint8_t *slab;
};

struct bal_poller {
	_Alignas(CACHELINE) struct bal_out *out; /* [nw] */
	uint16_t *cur;                           /* [ntables * nb] the tables this poller applies */
	uint32_t gen;
	unsigned *rr;                            /* [ngroups] round-robin position */
	struct bal_bstat *bst;                   /* [nb] */
	uint8_t *pair;                           /* [nw * nw] scratch for catching up */
	unsigned *touched;                       /* [nw] outs used in this call */
	unsigned ntouched;
	_Atomic uint64_t received, delivered, drops;
	_Alignas(CACHELINE) _Atomic int done;    /* pairs with the acquire in consume() */
};

struct bal_worker {
	_Alignas(CACHELINE) _Atomic uint64_t delivered, bytes, busy_ns;
	_Atomic uint64_t moved_in, moved_out;
	unsigned next;                           /* poller to look at first */
	bool blocked;                            /* the last consume stopped at a marker */
	unsigned group;
	/* controller only */
	uint64_t c_delivered, c_busy, c_drops;
	double cost;                             /* smoothed ns per packet */
	_Atomic uint64_t load_milli;             /* last interval's load * 1000 */
};

struct bal_group {
	unsigned base, n;
	int table;                               /* index into want/cur, -1: none */
};

struct mqcap_balance {
	struct mqcap_balance_opts o;
	unsigned np, nw, nb, ng, ntables;
	uint32_t fflags;
	bool need_hash, count_buckets;
	struct bal_group *g;
	struct bal_poller *p;
	struct bal_worker *w;
	struct bal_link *link;                   /* [np * nw] */
	_Atomic uint16_t *want;                  /* [ntables * nb] */
	_Atomic uint32_t gen;                    /* release after want writes; acquire in pollers */
	/* controller */
	pthread_mutex_t ctl;
	uint64_t last_ns;
	uint32_t *c_pkts, *c_chg;                /* [np * nb] last seen */
	double *bload;                           /* [nb] */
	uint8_t *single;                         /* [nb] one flow in the interval */
	uint64_t *barr;                          /* [nb] arrivals in the interval */
	uint8_t *eleph;                          /* [nb] elephant last interval */
	uint16_t *ttmp;                          /* [nb] */
	struct mqcap__bal_move *moves;
	_Atomic uint64_t migrations, elephants, intervals, rebalances;
	_Atomic uint32_t elephants_now;
	_Atomic uint64_t max_mean_milli;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const char *const mode_names[] = { "static", "adaptive", "rr", "fanout" };

int mqcap_balance_mode_parse(const char *s)
{
	for (unsigned i = 0; s && i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
		if (!strcmp(s, mode_names[i]))
			return (int)i;
	return -EINVAL;
}

const char *mqcap_balance_mode_name(int mode)
{
	return mode >= 0 && mode < (int)(sizeof(mode_names) / sizeof(mode_names[0])) ? mode_names[mode] : "?";
}

/* ---- create / destroy ---- */

static bool pow2(unsigned v)
{
	return v && !(v & (v - 1));
}

static int check_opts(struct mqcap_balance_opts *o, unsigned np, unsigned nw)
{
	unsigned sum = 0;

	if (!np || np > MQCAP_BALANCE_MAX_POLLERS)
		return mqcap__last_error_fmt(EINVAL, "balance: %u pollers is not in 1..%u", np,
					     MQCAP_BALANCE_MAX_POLLERS);
	if (!nw || nw > MQCAP_BALANCE_MAX_WORKERS)
		return mqcap__last_error_fmt(EINVAL, "balance: %u workers is not in 1..%u", nw,
					     MQCAP_BALANCE_MAX_WORKERS);
	if (o->mode < MQCAP_BALANCE_STATIC || o->mode > MQCAP_BALANCE_FANOUT)
		return mqcap__last_error_fmt(EINVAL, "balance: unknown mode %d", o->mode);
	if (o->flags & ~MQCAP_BALANCE_F_INNER)
		return mqcap__last_error_fmt(EINVAL, "balance: unknown flags 0x%x", o->flags);
	if (!o->buckets)
		o->buckets = MQCAP_BALANCE_BUCKETS_DEFAULT;
	if (!pow2(o->buckets) || o->buckets > 65536)
		return mqcap__last_error_fmt(EINVAL, "balance: %u buckets is not a power of two in 1..65536",
					     o->buckets);
	if (!o->ring_slots)
		o->ring_slots = 1024;
	if (!pow2(o->ring_slots) || o->ring_slots < 2 || o->ring_slots > (1u << 24))
		return mqcap__last_error_fmt(EINVAL, "balance: %u ring slots is not a power of two in 2..2^24",
					     o->ring_slots);
	if (!o->slot_bytes)
		o->slot_bytes = 2048;
	if (o->slot_bytes > 65536)
		return mqcap__last_error_fmt(EINVAL, "balance: %u slot bytes is more than 65536",
					     o->slot_bytes);
	if (!o->interval_ms)
		o->interval_ms = 100;
	if (!o->threshold_pct)
		o->threshold_pct = 10;
	if (!o->max_moves)
		o->max_moves = 64;
	if (!o->elephant_pct)
		o->elephant_pct = 90;
	if (o->mode == MQCAP_BALANCE_FANOUT || !o->groups || !o->ngroups)
		return 0;
	if (o->ngroups > nw)
		return mqcap__last_error_fmt(EINVAL, "balance: %u groups for %u workers", o->ngroups, nw);
	for (unsigned i = 0; i < o->ngroups; i++) {
		if (!o->groups[i])
			return mqcap__last_error_fmt(EINVAL, "balance: group %u has no worker", i);
		sum += o->groups[i];
	}
	if (sum != nw)
		return mqcap__last_error_fmt(EINVAL, "balance: groups add up to %u workers, not %u", sum, nw);
	return 0;
}

static void *zalloc(size_t n, size_t sz)
{
	return calloc(n ? n : 1, sz);
}

mqcap_balance_t *mqcap_balance_create(unsigned np, unsigned nw, const struct mqcap_balance_opts *opts)
{
	struct mqcap_balance_opts o = { .sz = sizeof(o) };
	mqcap_balance_t *b;
	int rc;

	if (opts) {
		if (opts->sz < offsetof(struct mqcap_balance_opts, mode) + sizeof(int)) {
			mqcap__last_error_fmt(EINVAL, "balance: opts.sz %zu is too small", opts->sz);
			return NULL;
		}
		memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));
		o.sz = sizeof(o);
	}
	rc = check_opts(&o, np, nw);
	if (rc)
		return NULL;
	b = aligned_alloc(CACHELINE, (sizeof(*b) + CACHELINE - 1) / CACHELINE * CACHELINE);
	if (!b)
		goto nomem;
	memset(b, 0, sizeof(*b));
	pthread_mutex_init(&b->ctl, NULL);
	b->o = o;
	b->np = np;
	b->nw = nw;
	b->nb = o.buckets;
	b->fflags = (o.flags & MQCAP_BALANCE_F_INNER) ? MQCAP_FLOW_F_INNER : 0;
	b->o.groups = NULL;
	b->ng = o.mode == MQCAP_BALANCE_FANOUT ? nw : (o.groups && o.ngroups ? o.ngroups : 1);
	b->g = zalloc(b->ng, sizeof(*b->g));
	b->w = aligned_alloc(CACHELINE, nw * sizeof(*b->w));
	b->p = aligned_alloc(CACHELINE, np * sizeof(*b->p));
	b->link = aligned_alloc(CACHELINE, (size_t)np * nw * sizeof(*b->link));
	if (!b->g || !b->w || !b->p || !b->link) {
		free(b->w);
		free(b->p);
		free(b->link);
		b->w = NULL;
		b->p = NULL;
		b->link = NULL;
		goto fail;
	}
	memset(b->w, 0, nw * sizeof(*b->w));
	memset(b->p, 0, np * sizeof(*b->p));
	memset(b->link, 0, (size_t)np * nw * sizeof(*b->link));
	for (unsigned i = 0, base = 0; i < b->ng; i++) {
		unsigned n = b->ng == 1 ? nw : (o.mode == MQCAP_BALANCE_FANOUT ? 1 : o.groups[i]);

		b->g[i].base = base;
		b->g[i].n = n;
		b->g[i].table = -1;
		if (n > 1 && (o.mode == MQCAP_BALANCE_STATIC || o.mode == MQCAP_BALANCE_ADAPTIVE)) {
			b->g[i].table = (int)b->ntables++;
			b->need_hash = true;
		}
		for (unsigned k = 0; k < n; k++)
			b->w[base + k].group = i;
		base += n;
	}
	b->count_buckets = b->need_hash;
	b->want = zalloc((size_t)b->ntables * b->nb, sizeof(*b->want));
	b->c_pkts = zalloc((size_t)np * b->nb, sizeof(uint32_t));
	b->c_chg = zalloc((size_t)np * b->nb, sizeof(uint32_t));
	b->bload = zalloc(b->nb, sizeof(double));
	b->single = zalloc(b->nb, 1);
	b->barr = zalloc(b->nb, sizeof(uint64_t));
	b->eleph = zalloc(b->nb, 1);
	b->ttmp = zalloc(b->nb, sizeof(uint16_t));
	b->moves = zalloc(o.max_moves, sizeof(*b->moves));
	if (!b->want || !b->c_pkts || !b->c_chg || !b->bload || !b->single || !b->barr || !b->eleph ||
	    !b->ttmp || !b->moves)
		goto fail;
	for (unsigned i = 0; i < b->ng; i++) {
		if (b->g[i].table < 0)
			continue;
		/* Start even: bucket k to the group's worker k mod n. */
		for (unsigned k = 0; k < b->nb; k++)
			atomic_init(&b->want[(size_t)b->g[i].table * b->nb + k],
				    (uint16_t)(b->g[i].base + k % b->g[i].n));
	}
	for (unsigned p = 0; p < np; p++) {
		struct bal_poller *pp = &b->p[p];

		pp->out = zalloc(nw, sizeof(*pp->out));
		pp->cur = zalloc((size_t)b->ntables * b->nb, sizeof(uint16_t));
		pp->rr = zalloc(b->ng, sizeof(unsigned));
		pp->bst = zalloc(b->nb, sizeof(*pp->bst));
		pp->pair = zalloc((size_t)nw * nw, 1);
		pp->touched = zalloc(nw, sizeof(unsigned));
		if (!pp->out || !pp->cur || !pp->rr || !pp->bst || !pp->pair || !pp->touched)
			goto fail;
		for (size_t k = 0; k < (size_t)b->ntables * b->nb; k++)
			pp->cur[k] = atomic_load_explicit(&b->want[k], RELAXED);
		for (unsigned w = 0; w < nw; w++) {
			struct bal_link *l = &b->link[(size_t)p * nw + w];
			MQCAP_RING_SPSC_OPTS(ro, .flags = MQCAP_RING_F_WAKE, .wake_items = 1);

			l->ring = mqcap_ring_spsc_create(o.ring_slots, sizeof(struct mqcap_pkt), &ro);
			if (!l->ring) {
				errno = errno ? errno : ENOMEM;
				rc = errno;
				mqcap_balance_destroy(b);
				errno = rc;
				return NULL; /* the ring's message stays in mqcap_last_error() */
			}
			l->slab = malloc((size_t)o.ring_slots * o.slot_bytes);
			if (!l->slab)
				goto fail;
			/* Touch it now: a page fault per new page in the poller's copy costs more
			 * than the whole dispatch of the packet. */
			memset(l->slab, 0, (size_t)o.ring_slots * o.slot_bytes);
			pp->out[w].ring = l->ring;
			pp->out[w].slab = l->slab;
			pp->out[w].room = NO_ROOM;
		}
	}
	return b;
fail:
	mqcap_balance_destroy(b);
nomem:
	mqcap__last_error_fmt(ENOMEM, "balance: out of memory");
	return NULL;
}

void mqcap_balance_destroy(mqcap_balance_t *b)
{
	if (!b)
		return;
	for (unsigned p = 0; b->p && p < b->np; p++) {
		free(b->p[p].out);
		free(b->p[p].cur);
		free(b->p[p].rr);
		free(b->p[p].bst);
		free(b->p[p].pair);
		free(b->p[p].touched);
	}
	for (size_t i = 0; b->link && i < (size_t)b->np * b->nw; i++) {
		mqcap_ring_spsc_destroy(b->link[i].ring);
		free(b->link[i].slab);
	}
	free(b->link);
	free(b->p);
	free(b->w);
	free(b->g);
	free(b->want);
	free(b->c_pkts);
	free(b->c_chg);
	free(b->bload);
	free(b->single);
	free(b->barr);
	free(b->eleph);
	free(b->ttmp);
	free(b->moves);
	pthread_mutex_destroy(&b->ctl);
	free(b);
}

/* ---- poller ---- */

/* A free slot on out o (reserving on first use in this call), or NULL when the ring is full. */
static inline struct mqcap_pkt *out_slot(struct bal_poller *pp, unsigned w, uint32_t want,
					 uint8_t **buf, unsigned slot_bytes)
{
	struct bal_out *o = &pp->out[w];
	uint32_t i;

	if (o->pend >= o->room || o->room == NO_ROOM) {
		if (o->full)
			return NULL;
		if (o->room == NO_ROOM) {
			pp->touched[pp->ntouched++] = w;
			o->pend = 0;
		}
		/* Ask for what the rest of the call may need; the ring refreshes its view of the
		 * consumer only when its cached room is short. */
		o->room = mqcap_ring_spsc_reserve(o->ring, o->pend + want, &o->idx);
		if (o->pend >= o->room) {
			o->full = true;
			return NULL;
		}
	}
	i = o->idx + o->pend++;
	*buf = o->slab + (size_t)(i & (mqcap_ring_spsc_size(o->ring) - 1)) * slot_bytes;
	return mqcap_ring_spsc_slot(o->ring, i);
}

/* Catch up with the controller's tables (see the top of the file). */
static void catch_up(mqcap_balance_t *b, struct bal_poller *pp)
{
	/* Acquire: pairs with the release in publish(): the want entries of this gen are seen. */
	uint32_t gen = atomic_load_explicit(&b->gen, memory_order_acquire);
	size_t n = (size_t)b->ntables * b->nb;
	bool all = true;

	if (gen == pp->gen)
		return;
	memset(pp->pair, 0, (size_t)b->nw * b->nw);
	for (size_t k = 0; k < n; k++) {
		uint16_t w = atomic_load_explicit(&b->want[k], RELAXED), c = pp->cur[k];

		if (w == c)
			continue;
		if (!pp->pair[(size_t)c * b->nw + w]) {
			/* One marker per (old, new) pair covers every bucket moving between them. */
			uint8_t *buf;
			struct mqcap_pkt *m = out_slot(pp, w, 1, &buf, b->o.slot_bytes);

			if (!m) {
				pp->pair[(size_t)c * b->nw + w] = 2; /* no room: this pair waits */
				all = false;
				continue;
			}
			memset(m, 0, sizeof(*m));
			m->flags = MARKER_FLAG;
			m->len = c;                    /* wait for the old worker ... */
			m->caplen = pp->out[c].seq;    /* ... to release this many of our slots */
			pp->pair[(size_t)c * b->nw + w] = 1;
		}
		if (pp->pair[(size_t)c * b->nw + w] == 1)
			pp->cur[k] = w;
	}
	if (all)
		pp->gen = gen;
}

static void commit_all(mqcap_balance_t *b, struct bal_poller *pp)
{
	uint64_t q = 0;

	(void)b;
	for (unsigned i = 0; i < pp->ntouched; i++) {
		struct bal_out *o = &pp->out[pp->touched[i]];

		mqcap_ring_spsc_commit(o->ring, o->pend);
		o->seq += o->pend;
		q += o->pend;
		o->room = NO_ROOM;
		o->pend = 0;
		o->full = false;
	}
	pp->ntouched = 0;
	(void)q;
}

static inline bool put(mqcap_balance_t *b, struct bal_poller *pp, unsigned w,
		       const struct mqcap_pkt *pk, uint32_t left)
{
	uint8_t *buf;
	struct mqcap_pkt *d = out_slot(pp, w, left, &buf, b->o.slot_bytes);
	uint32_t cl;

	struct mqcap_pkt t;

	if (!d) {
		BUMP(pp->out[w].drops, 1);
		return false;
	}
	/* Built here, stored once: the slot's line is usually still in the worker's cache, and
	 * reading it back after a partial store would wait for that line to come over. */
	t = *pk;
	cl = pk->caplen;
	if (cl > b->o.slot_bytes) {
		cl = b->o.slot_bytes;
		t.caplen = cl;
		t.flags |= MQCAP_PKT_TRUNCATED;
	}
	t.flags &= ~MARKER_FLAG;
	t.data = buf;
	memcpy(buf, pk->data, cl);
	*d = t;
	return true;
}

/* The hash pass of one batch: every packet's flow hash first, each bucket's counters
 * prefetched as soon as its hash is known, so that their cache misses (4096 buckets do not
 * fit in L1) overlap with the parsing of the next packets instead of stalling one by one; the
 * next frames' first bytes are prefetched too (in a live capture they are cold in the UMEM). */
static void hash_batch(const mqcap_balance_t *b, struct bal_poller *pp,
		       const struct mqcap_pkt *pkts, unsigned n, uint32_t *h)
{
	const unsigned mask = b->nb - 1;

	for (unsigned i = 0; i < n; i++) {
		if (i + DISPATCH_AHEAD < n)
			__builtin_prefetch(pkts[i + DISPATCH_AHEAD].data);
		h[i] = mqcap_flow_hash(pkts[i].data, pkts[i].caplen, b->fflags);
		__builtin_prefetch(&pp->bst[h[i] & mask], 1);
	}
}

unsigned mqcap_balance_dispatch(mqcap_balance_t *b, unsigned p, const struct mqcap_pkt *pkts,
				unsigned n)
{
	struct bal_poller *pp;
	unsigned ok = 0, copies = 0;
	const unsigned mask = b->nb - 1;
	uint32_t hash[DISPATCH_BATCH];

	if (p >= b->np || !n)
		return 0;
	pp = &b->p[p];
	catch_up(b, pp);
	for (unsigned i = 0; i < n; i++) {
		const struct mqcap_pkt *pk = &pkts[i];
		unsigned j = i % DISPATCH_BATCH;
		uint32_t bucket = 0;

		if (b->need_hash) {
			struct bal_bstat *s;
			uint32_t h;

			if (j == 0)
				hash_batch(b, pp, pk, n - i < DISPATCH_BATCH ? n - i : DISPATCH_BATCH,
					   hash);
			h = hash[j];
			bucket = h & mask;
			s = &pp->bst[bucket];
			BUMP(s->pkts, 1);
			if (s->last != h) {
				s->last = h;
				BUMP(s->chg, 1);
			}
		}
		for (unsigned g = 0; g < b->ng; g++) {
			const struct bal_group *gr = &b->g[g];
			unsigned w = gr->base;

			copies++;
			if (gr->n == 1) {
				w = gr->base;
			} else if (gr->table >= 0) {
				w = pp->cur[(size_t)gr->table * b->nb + bucket];
			} else {
				/* Round robin: the next worker with room, so one slow worker does not
				 * cost packets the others could take. */
				unsigned k;

				for (k = 0; k < gr->n; k++) {
					w = gr->base + pp->rr[g];
					pp->rr[g] = pp->rr[g] + 1 == gr->n ? 0 : pp->rr[g] + 1;
					if (!pp->out[w].full)
						break;
				}
			}
			ok += put(b, pp, w, pk, n - i);
		}
	}
	commit_all(b, pp);
	BUMP(pp->received, n);
	BUMP(pp->delivered, ok);
	BUMP(pp->drops, copies - ok);
	return ok;
}

unsigned mqcap_balance_room(const mqcap_balance_t *b, unsigned p)
{
	unsigned room = UINT32_MAX;

	if (p >= b->np)
		return 0;
	for (unsigned w = 0; w < b->nw; w++) {
		unsigned f = mqcap_ring_spsc_free_count(b->p[p].out[w].ring);

		if (f < room)
			room = f;
	}
	return room;
}

void mqcap_balance_flush(mqcap_balance_t *b, unsigned p)
{
	if (p >= b->np)
		return;
	for (unsigned w = 0; w < b->nw; w++)
		mqcap_ring_spsc_flush(b->p[p].out[w].ring);
}

void mqcap_balance_poller_done(mqcap_balance_t *b, unsigned p)
{
	if (p >= b->np)
		return;
	/* Release: pairs with the acquire in consume(): everything committed before is seen. */
	atomic_store_explicit(&b->p[p].done, 1, memory_order_release);
	mqcap_balance_flush(b, p);
}

/* ---- worker ---- */

int mqcap_balance_consume(mqcap_balance_t *b, unsigned w, unsigned max, mqcap_balance_fn fn,
			  void *user, int *fn_rc)
{
	struct bal_worker *ww;
	uint64_t delivered = 0, bytes = 0, busy = 0;
	bool all_done = true, stop = false;

	if (w >= b->nw || !fn)
		return -EINVAL;
	ww = &b->w[w];
	ww->blocked = false;
	if (!max)
		max = 64;
	for (unsigned k = 0; k < b->np && !stop && delivered < max; k++) {
		unsigned p = (ww->next + k) % b->np;
		struct bal_link *l = &b->link[(size_t)p * b->nw + w];
		/* Acquire, pairs with the release in poller_done(): read done before the ring. */
		int done = atomic_load_explicit(&b->p[p].done, memory_order_acquire);
		uint32_t idx, i = 0, size = mqcap_ring_spsc_size(l->ring);
		uint32_t avail = mqcap_ring_spsc_peek(l->ring, (uint32_t)(max - delivered), &idx);
		uint32_t to_wrap = size - (idx & (size - 1));
		const struct mqcap_pkt *pk;

		if (!avail) {
			all_done &= done != 0;
			continue;
		}
		all_done = false;
		/* The callback wants an array: stop at the ring's end, the rest comes next time. */
		if (avail > to_wrap)
			avail = to_wrap;
		pk = mqcap_ring_spsc_slot(l->ring, idx);
		while (i < avail && !stop) {
			uint32_t j = i;

			while (j < avail && !(pk[j].flags & MARKER_FLAG))
				j++;
			if (j > i) {
				uint64_t t0 = now_ns();
				int rc = fn(user, w, pk + i, j - i);

				busy += now_ns() - t0;
				delivered += j - i;
				for (uint32_t x = i; x < j; x++)
					bytes += pk[x].len;
				if (rc) {
					if (fn_rc)
						*fn_rc = rc;
					stop = true;
				}
				i = j;
			}
			if (i < avail && !stop) {
				/* A drain marker: go past it only once the old worker has released
				 * every slot this poller queued to it before the move. */
				const struct bal_link *old = &b->link[(size_t)p * b->nw + pk[i].len];
				/* Acquire: pairs with the release below in the old worker; its
				 * callback finished with those packets before it published. */
				uint32_t c = atomic_load_explicit(&old->cons_seq, memory_order_acquire);

				if ((int32_t)(c - pk[i].caplen) < 0) {
					ww->blocked = true;
					break;
				}
				i++;
			}
		}
		if (i) {
			mqcap_ring_spsc_release(l->ring, i);
			/* Release: pairs with the acquire above in a worker waiting at a marker. */
			atomic_store_explicit(&l->cons_seq,
					      atomic_load_explicit(&l->cons_seq, RELAXED) + i,
					      memory_order_release);
		}
	}
	ww->next = ww->next + 1 >= b->np ? 0 : ww->next + 1;
	if (delivered) {
		BUMP(ww->delivered, delivered);
		BUMP(ww->bytes, bytes);
		BUMP(ww->busy_ns, busy);
	}
	if (all_done && !delivered)
		return -ENODATA;
	return (int)delivered;
}

int mqcap_balance_wait(mqcap_balance_t *b, unsigned w, int timeout_ms)
{
	struct pollfd pfd[MQCAP_BALANCE_MAX_POLLERS];
	unsigned armed = 0;
	bool ready = false;
	int rc = 0;

	if (w >= b->nw)
		return -EINVAL;
	if (b->w[w].blocked) {
		/* Stopped at a marker: the old worker is finishing; look again shortly rather
		 * than spin, or sleep on a ring that already has items. */
		struct timespec ts = { 0, 20000 };

		nanosleep(&ts, NULL);
		return 0;
	}
	for (unsigned p = 0; p < b->np; p++) {
		struct mqcap_ring_spsc *r = b->link[(size_t)p * b->nw + w].ring;

		if (mqcap_ring_spsc_prepare_wait(r) != 0) {
			ready = true;
			break;
		}
		pfd[armed].fd = mqcap_ring_spsc_fd(r);
		pfd[armed].events = POLLIN;
		armed++;
	}
	if (!ready && poll(pfd, armed, timeout_ms) < 0 && errno != EINTR)
		rc = -errno;
	for (unsigned i = 0; i < armed; i++)
		mqcap_ring_spsc_finish_wait(b->link[(size_t)i * b->nw + w].ring);
	return rc;
}

/* ---- control ---- */

/* Make the want tables of this gen visible to the pollers. Under b->ctl. */
static void publish(mqcap_balance_t *b)
{
	/* Release: pairs with the acquire in catch_up(). */
	atomic_fetch_add_explicit(&b->gen, 1, memory_order_release);
}

static void note_move(mqcap_balance_t *b, unsigned from, unsigned to)
{
	BUMP(b->w[from].moved_out, 1);
	BUMP(b->w[to].moved_in, 1);
	BUMP(b->migrations, 1);
}

int mqcap_balance_move(mqcap_balance_t *b, unsigned bucket, unsigned w)
{
	const struct bal_group *g;
	_Atomic uint16_t *e;
	uint16_t old;

	if (bucket >= b->nb || w >= b->nw)
		return -EINVAL;
	g = &b->g[b->w[w].group];
	if (g->table < 0)
		return -EOPNOTSUPP;
	pthread_mutex_lock(&b->ctl);
	e = &b->want[(size_t)g->table * b->nb + bucket];
	old = atomic_load_explicit(e, RELAXED);
	if (old != w) {
		atomic_store_explicit(e, (uint16_t)w, RELAXED);
		note_move(b, old, w);
		publish(b);
	}
	pthread_mutex_unlock(&b->ctl);
	return 0;
}

/* One controller run over an interval of dt ns. Under b->ctl. */
static int control(mqcap_balance_t *b, uint64_t dt)
{
	double cost_sum, cost[MQCAP_BALANCE_MAX_WORKERS], offered[MQCAP_BALANCE_MAX_WORKERS];
	double worst = 0;
	uint64_t deliv_sum = 0, busy_sum = 0;
	unsigned moved = 0, elephants = 0;
	const double cap = (double)dt;

	/* Per worker: packets delivered and dropped, busy time -> cost per packet. */
	for (unsigned w = 0; w < b->nw; w++) {
		struct bal_worker *ww = &b->w[w];
		uint64_t d = atomic_load_explicit(&ww->delivered, RELAXED);
		uint64_t bz = atomic_load_explicit(&ww->busy_ns, RELAXED);
		uint64_t dr = 0;

		for (unsigned p = 0; p < b->np; p++)
			dr += atomic_load_explicit(&b->p[p].out[w].drops, RELAXED);
		cost[w] = d > ww->c_delivered ? (double)(bz - ww->c_busy) / (double)(d - ww->c_delivered) : -1;
		/* Smoothed over intervals, so that one interval's noise moves fewer buckets;
		 * wall-clock time on purpose: a worker preempted by others on its CPU really has
		 * less capacity. */
		if (cost[w] > 0)
			ww->cost = ww->cost > 0 ? (ww->cost + cost[w]) / 2 : cost[w];
		cost[w] = ww->cost > 0 ? ww->cost : -1;
		offered[w] = (double)(d - ww->c_delivered + dr - ww->c_drops);
		deliv_sum += d - ww->c_delivered;
		busy_sum += bz - ww->c_busy;
		ww->c_delivered = d;
		ww->c_busy = bz;
		ww->c_drops = dr;
	}
	/* A worker that delivered nothing is costed at the mean; with no busy time anywhere (a
	 * callback too cheap to time) every packet counts 1 ns: loads then compare packet
	 * counts, and no elephant can be told. */
	cost_sum = deliv_sum ? (double)busy_sum / (double)deliv_sum : 0;
	for (unsigned w = 0; w < b->nw; w++) {
		if (cost[w] <= 0)
			cost[w] = cost_sum > 0 ? cost_sum : 1.0;
		offered[w] *= cost[w];
		atomic_store_explicit(&b->w[w].load_milli, (uint64_t)(offered[w] / cap * 1000), RELAXED);
	}
	/* Per bucket: arrivals over every poller, and whether more than one flow was seen. */
	for (unsigned k = 0; b->count_buckets && k < b->nb; k++) {
		uint64_t a = 0, chg = 0;

		for (unsigned p = 0; p < b->np; p++) {
			struct bal_bstat *s = &b->p[p].bst[k];
			uint32_t pk = atomic_load_explicit(&s->pkts, RELAXED);
			uint32_t ch = atomic_load_explicit(&s->chg, RELAXED);
			size_t i = (size_t)p * b->nb + k;

			a += pk - b->c_pkts[i];
			chg += ch - b->c_chg[i];
			b->c_pkts[i] = pk;
			b->c_chg[i] = ch;
		}
		b->barr[k] = a;
		/* One flow: only a poller's first packet of the interval may differ from its
		 * previous one. */
		b->single[k] = a && chg <= b->np;
	}
	for (unsigned g = 0; g < b->ng; g++) {
		const struct bal_group *gr = &b->g[g];
		double sum = 0, max = 0;

		/* The measured spread: what each worker was offered in the interval. */
		for (unsigned k = 0; k < gr->n; k++) {
			sum += offered[gr->base + k];
			if (offered[gr->base + k] > max)
				max = offered[gr->base + k];
		}
		if (gr->n > 1 && sum > 0 && max * gr->n / sum > worst)
			worst = max * gr->n / sum;
		if (gr->table < 0)
			continue;
		for (unsigned k = 0; k < b->nb; k++) {
			uint16_t w = atomic_load_explicit(&b->want[(size_t)gr->table * b->nb + k], RELAXED);

			/* A bucket weighs its packets times its worker's cost per packet: a worker
			 * that shares its CPU (or runs heavier flows) takes longer per packet, and
			 * so gets fewer buckets. */
			b->ttmp[k] = w;
			b->bload[k] = (double)b->barr[k] * cost[w];
			if (cost_sum > 0 && b->single[k] && b->bload[k] > cap * b->o.elephant_pct / 100.0) {
				elephants++;
				if (!b->eleph[k])
					BUMP(b->elephants, 1);
				b->eleph[k] = 2; /* remembered one interval more: a flap is one elephant */
			}
		}
		if (b->o.mode == MQCAP_BALANCE_ADAPTIVE) {
			unsigned m = mqcap__bal_rebalance(b->ttmp, b->nb, b->bload, gr->base, gr->n,
							  b->o.threshold_pct / 100.0, b->o.max_moves,
							  b->moves, NULL, NULL, NULL);

			for (unsigned i = 0; i < m; i++) {
				atomic_store_explicit(&b->want[(size_t)gr->table * b->nb + b->moves[i].bucket],
						      b->moves[i].to, RELAXED);
				note_move(b, b->moves[i].from, b->moves[i].to);
			}
			moved += m;
		}
	}
	for (unsigned k = 0; k < b->nb; k++)
		if (b->eleph[k])
			b->eleph[k]--;
	if (moved)
		publish(b);
	BUMP(b->intervals, 1);
	if (moved)
		BUMP(b->rebalances, 1);
	atomic_store_explicit(&b->elephants_now, elephants, RELAXED);
	/* An idle interval says nothing about the spread: keep the last one that had traffic. */
	if (worst > 0)
		atomic_store_explicit(&b->max_mean_milli, (uint64_t)(worst * 1000), RELAXED);
	return (int)moved;
}

int mqcap_balance_tick(mqcap_balance_t *b, uint64_t now)
{
	int moved = 0;

	if (pthread_mutex_trylock(&b->ctl))
		return 0;
	/* The first call starts the clock: the first interval counts from it (plus whatever
	 * came before, which a runtime ticking from its start does not have). */
	if (!b->last_ns) {
		b->last_ns = now;
	} else if (now - b->last_ns >= (uint64_t)b->o.interval_ms * 1000000ull) {
		moved = control(b, now - b->last_ns);
		b->last_ns = now;
	}
	pthread_mutex_unlock(&b->ctl);
	return moved;
}

/* ---- queries ---- */

unsigned mqcap_balance_bucket(const mqcap_balance_t *b, uint32_t hash)
{
	return hash & (b->nb - 1);
}

int mqcap_balance_bucket_worker(const mqcap_balance_t *b, unsigned group, unsigned bucket)
{
	if (group >= b->ng || bucket >= b->nb)
		return -EINVAL;
	if (b->g[group].table < 0)
		return -EOPNOTSUPP;
	return atomic_load_explicit(&b->want[(size_t)b->g[group].table * b->nb + bucket], RELAXED);
}

unsigned mqcap_balance_pollers(const mqcap_balance_t *b)
{
	return b->np;
}

unsigned mqcap_balance_workers(const mqcap_balance_t *b)
{
	return b->nw;
}

unsigned mqcap_balance_groups(const mqcap_balance_t *b)
{
	return b->ng;
}

int mqcap_balance_worker_group(const mqcap_balance_t *b, unsigned w)
{
	return w < b->nw ? (int)b->w[w].group : -EINVAL;
}

int mqcap_balance_mode(const mqcap_balance_t *b)
{
	return b->o.mode;
}

int mqcap__balance_worker_stats(const mqcap_balance_t *b, unsigned w,
				struct mqcap_balance_worker_stats *st)
{
	const struct bal_worker *ww;
	const struct bal_group *g;

	if (w >= b->nw || !st)
		return -EINVAL;
	ww = &b->w[w];
	g = &b->g[ww->group];
	memset(st, 0, sizeof(*st));
	st->delivered = atomic_load_explicit(&ww->delivered, RELAXED);
	st->bytes = atomic_load_explicit(&ww->bytes, RELAXED);
	st->busy_ns = atomic_load_explicit(&ww->busy_ns, RELAXED);
	st->moved_in = atomic_load_explicit(&ww->moved_in, RELAXED);
	st->moved_out = atomic_load_explicit(&ww->moved_out, RELAXED);
	st->group = ww->group;
	st->load = (double)atomic_load_explicit(&ww->load_milli, RELAXED) / 1000.0;
	for (unsigned p = 0; p < b->np; p++) {
		st->drops += atomic_load_explicit(&b->p[p].out[w].drops, RELAXED);
		st->backlog += mqcap_ring_spsc_count(b->link[(size_t)p * b->nw + w].ring);
	}
	if (g->table >= 0)
		for (unsigned k = 0; k < b->nb; k++)
			st->buckets += atomic_load_explicit(&b->want[(size_t)g->table * b->nb + k], RELAXED) == w;
	return 0;
}

int mqcap__balance_poller_stats(const mqcap_balance_t *b, unsigned p,
				struct mqcap_balance_poller_stats *st)
{
	if (p >= b->np || !st)
		return -EINVAL;
	st->received = atomic_load_explicit(&b->p[p].received, RELAXED);
	st->delivered = atomic_load_explicit(&b->p[p].delivered, RELAXED);
	st->drops = atomic_load_explicit(&b->p[p].drops, RELAXED);
	return 0;
}

int mqcap__balance_stats(const mqcap_balance_t *b, struct mqcap_balance_stats *st)
{
	if (!st)
		return -EINVAL;
	st->migrations = atomic_load_explicit(&b->migrations, RELAXED);
	st->elephants = atomic_load_explicit(&b->elephants, RELAXED);
	st->elephants_now = atomic_load_explicit(&b->elephants_now, RELAXED);
	st->intervals = atomic_load_explicit(&b->intervals, RELAXED);
	st->rebalances = atomic_load_explicit(&b->rebalances, RELAXED);
	st->max_mean = (double)atomic_load_explicit(&b->max_mean_milli, RELAXED) / 1000.0;
	return 0;
}

/* ---- the runtime's split mode: a poller thread per queue, consumer threads ---- */

int mqcap__balance_plan(mqcap_run_t *r, struct mqcap_plan_queue *pq, uint32_t pflags)
{
	unsigned nusable = mqcap_topo_usable_count(r->topo);
	unsigned ncons = r->o.workers ? r->o.workers : r->nq;
	MQCAP_PLAN_OPTS(po, .flags = pflags, .cpus = r->o.poller_cpus, .ncpus = r->o.npoller_cpus);
	int *busy;

	if (!(pflags & (MQCAP_PLAN_OVERSUBSCRIBE | MQCAP_PLAN_NO_PIN)) && !r->o.cpus &&
	    !r->o.poller_cpus && r->nq + ncons > nusable) {
		return mqcap__err_set(&r->err, E2BIG,
				      "split mode needs %u poller + %u consumer threads but this process "
				      "may use %u CPU(s) (allow sharing with --oversubscribe)",
				      r->nq, ncons, nusable);
	}
	r->pplan = mqcap_plan_make(r->topo, pq, r->nq, &po);
	if (!r->pplan)
		return mqcap__err_set(&r->err, errno, "pollers: %s", mqcap_topo_errmsg(r->topo));
	/* Consumers plan around the pollers: each consumer is near the user poller of its
	 * queue, and the pollers' CPUs count as taken. */
	busy = calloc(r->nq, sizeof(*busy));
	if (!busy)
		return mqcap__err_set(&r->err, ENOMEM, "out of memory");
	for (unsigned i = 0; i < r->nq; i++) {
		busy[i] = r->pplan->queues[i].cpu;
		pq[i].poller_cpu = r->pplan->queues[i].cpu;
	}
	if (r->o.balance && ncons > r->nq) {
		/* The scheduler's workers outnumber the queues (that is what it is for): plan
		 * them as if each were beside queue i mod nq, so they spread over the CPUs near
		 * the queues' pollers. The plan's first nq entries stay the queues themselves. */
		struct mqcap_plan_queue *pq2 = calloc(ncons, sizeof(*pq2));
		MQCAP_PLAN_OPTS(co, .workers = ncons, .flags = pflags, .cpus = r->o.cpus,
				.ncpus = r->o.ncpus, .busy_cpus = busy, .nbusy = r->nq);

		if (!pq2) {
			free(busy);
			return mqcap__err_set(&r->err, ENOMEM, "out of memory");
		}
		for (unsigned i = 0; i < ncons; i++)
			pq2[i] = pq[i % r->nq];
		r->plan = mqcap_plan_make(r->topo, pq2, ncons, &co);
		free(pq2);
	} else {
		MQCAP_PLAN_OPTS(co, .workers = ncons, .flags = pflags, .cpus = r->o.cpus,
				.ncpus = r->o.ncpus, .busy_cpus = busy, .nbusy = r->nq);

		r->plan = mqcap_plan_make(r->topo, pq, r->nq, &co);
	}
	free(busy);
	return 0;
}

int mqcap__balance_rings(mqcap_run_t *r)
{
	int rc = 0;

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
	return rc;
}

uint64_t mqcap__balance_handoff_drops(const struct rthread *t)
{
	uint64_t d = 0;

	if (t->r->bal) {
		struct mqcap_balance_worker_stats ws;

		return mqcap_balance_worker_stats(t->r->bal, t->idx, &ws) ? 0 : ws.drops;
	}

	for (unsigned i = 0; i < t->nq; i++)
		d += atomic_load_explicit(&t->r->q[t->qs[i]].handoff_drops, memory_order_relaxed);
	return d;
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

/* ---- the runtime's balance mode: split mode's threads around the scheduler ---- */

int mqcap__balance_create(mqcap_run_t *r)
{
	struct mqcap_balance_opts o = r->balo;

	/* Rings per (poller, worker): together, a worker's rings hold what split mode's one
	 * ring per consumer holds (ring_slots), at least 256 per poller; and the runtime's
	 * bytes per packet (from the snap length). */
	if (!o.slot_bytes)
		o.slot_bytes = r->o.slot_bytes;
	if (!o.ring_slots) {
		o.ring_slots = 256;
		while (o.ring_slots < r->o.ring_slots / r->np)
			o.ring_slots *= 2;
	}
	r->bal = mqcap_balance_create(r->np, r->nw, &o);
	if (!r->bal)
		return mqcap__err_set(&r->err, errno, "%s", mqcap_last_error());
	return 0;
}

static void *bal_poller_main(struct rthread *t)
{
	mqcap_run_t *r = t->r;
	struct rqueue *q = &r->q[t->qs[0]];
	const unsigned copies = mqcap_balance_groups(r->bal);
	struct mqcap_pkt pkts[MAX_BURST];
	uint64_t next_snap;
	mqcap_t *h;

	if (mqcap__run_thread_setup(t))
		goto out;
	h = atomic_load_explicit(&t->h, memory_order_relaxed);
	next_snap = mqcap__run_now_ns() + SNAP_NS;
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		int n = mqcap_recv_burst(h, pkts, r->o.burst, r->o.poll_ms);

		if (n > 0) {
			unsigned ok;

			/* A file waits for the workers (it is read whole); a live queue cannot wait,
			 * or the kernel's ring overflows instead: it drops here and says so. Room
			 * for the burst and a drain marker per worker. */
			while (r->offline && mqcap_balance_room(r->bal, t->idx) < (unsigned)n + r->nw &&
			       !atomic_load_explicit(&r->stop, memory_order_relaxed)) {
				struct timespec ts = { 0, 20000 };

				mqcap_balance_flush(r->bal, t->idx);
				nanosleep(&ts, NULL);
			}
			ok = mqcap_balance_dispatch(r->bal, t->idx, pkts, (unsigned)n);
			t->packets += (unsigned)n;
			t->bursts++;
			for (int i = 0; i < n; i++)
				t->bytes += pkts[i].len;
			if (ok < (unsigned)n * copies)
				atomic_fetch_add_explicit(&q->handoff_drops, (unsigned)n * copies - ok,
							  memory_order_relaxed);
		} else if (n == 0) {
			mqcap_balance_flush(r->bal, t->idx);
		} else if (mqcap__run_recv_failed(t, h, n)) {
			break;
		}
		/* The controller runs on the first poller, between bursts: one thread, and its
		 * work (a pass over the bucket table ten times a second) fits there. */
		if (t->idx == 0)
			mqcap_balance_tick(r->bal, mqcap__run_now_ns());
		if (mqcap__run_now_ns() >= next_snap) {
			mqcap__run_snapshot(t, 0);
			next_snap += SNAP_NS;
		}
	}
	mqcap_release(h);
out:
	mqcap_balance_poller_done(r->bal, t->idx);
	mqcap__run_thread_exit(t);
	return NULL;
}

static void *bal_consumer_main(struct rthread *t)
{
	mqcap_run_t *r = t->r;
	uint64_t next_snap;

	if (mqcap__run_thread_setup(t))
		goto out;
	next_snap = mqcap__run_now_ns() + SNAP_NS;
	/* No exit on stop: the pollers stop, and we drain what they queued, so that every
	 * packet received is either delivered or counted as a hand-off drop. */
	for (;;) {
		struct mqcap_balance_worker_stats ws;
		int fn_rc = 0;
		int n = mqcap_balance_consume(r->bal, t->idx, r->o.burst, r->fn, r->user, &fn_rc);

		if (n == -ENODATA)
			break;
		if (n > 0) {
			t->packets += (unsigned)n;
			t->bursts++;
		}
		if (fn_rc)
			mqcap__run_stop(r);
		if (n == 0)
			mqcap_balance_wait(r->bal, t->idx, r->o.poll_ms);
		if (mqcap__run_now_ns() >= next_snap) {
			if (!mqcap_balance_worker_stats(r->bal, t->idx, &ws))
				t->bytes = ws.bytes;
			mqcap__run_snapshot(t, mqcap__balance_handoff_drops(t));
			next_snap += SNAP_NS;
		}
	}
	{
		struct mqcap_balance_worker_stats ws;

		if (!mqcap_balance_worker_stats(r->bal, t->idx, &ws))
			t->bytes = ws.bytes;
	}
out:
	mqcap__run_thread_exit(t);
	return NULL;
}

void *mqcap__balance_poller_main(void *arg)
{
	struct rthread *t = arg;
	mqcap_run_t *r = t->r;
	struct rqueue *q = &r->q[t->qs[0]];
	struct mqcap_pkt pkts[MAX_BURST];
	uint64_t next_snap;
	mqcap_t *h;

	if (r->bal)
		return bal_poller_main(t);

	if (mqcap__run_thread_setup(t))
		goto out;
	h = atomic_load_explicit(&t->h, memory_order_relaxed);
	next_snap = mqcap__run_now_ns() + SNAP_NS;
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
		} else if (mqcap__run_recv_failed(t, h, n)) {
			break;
		}
		if (mqcap__run_now_ns() >= next_snap) {
			mqcap__run_snapshot(t, 0);
			next_snap += SNAP_NS;
		}
	}
	mqcap_release(h);
out:
	/* Pairs with the acquire in mqcap__balance_consumer_main(): everything committed before is visible. */
	atomic_store_explicit(&q->poller_done, 1, memory_order_release);
	mqcap_ring_spsc_flush(q->ring);
	mqcap__run_thread_exit(t);
	return NULL;
}

/* Sleep until one of the consumer's rings has items, or timeout. pfd has room for every
 * ring of the consumer: a ring left unarmed could fill while we sleep. */
static void consumer_sleep(struct rthread *t, struct pollfd *pfd, int timeout_ms)
{
	unsigned armed = 0;

	/* A ring that has items refuses to arm: then there is no sleeping at all. */
	for (unsigned i = 0; i < t->nq; i++) {
		struct mqcap_ring_spsc *ring = t->r->q[t->qs[i]].ring;

		if (mqcap_ring_spsc_prepare_wait(ring) != 0)
			break;
		pfd[armed].fd = mqcap_ring_spsc_fd(ring);
		pfd[armed].events = POLLIN;
		armed++;
	}
	if (armed == t->nq)
		poll(pfd, armed, timeout_ms);
	for (unsigned i = 0; i < armed; i++)
		mqcap_ring_spsc_finish_wait(t->r->q[t->qs[i]].ring);
}

void *mqcap__balance_consumer_main(void *arg)
{
	struct rthread *t = arg;
	mqcap_run_t *r = t->r;
	struct pollfd *pfd;
	uint64_t next_snap;

	if (r->bal)
		return bal_consumer_main(t);
	pfd = calloc(t->nq ? t->nq : 1, sizeof(*pfd));

	if (mqcap__run_thread_setup(t))
		goto out;
	next_snap = mqcap__run_now_ns() + SNAP_NS;
	for (;;) {
		bool any = false, all_done = true;

		/* No exit on stop: the pollers stop, and we drain what they queued, so that
		 * every packet received is either delivered or counted as a hand-off drop. */
		for (unsigned i = 0; i < t->nq; i++) {
			struct rqueue *q = &r->q[t->qs[i]];
			/* Acquire, pairs with the release in mqcap__balance_poller_main(): read done before the ring. */
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
					mqcap__run_stop(r);
			}
			mqcap_ring_spsc_release(q->ring, n);
		}
		if (all_done)
			break;
		if (!any && pfd)
			consumer_sleep(t, pfd, r->o.poll_ms);
		else if (!any) /* no memory to sleep on the rings: poll them */
			poll(NULL, 0, 1);
		if (mqcap__run_now_ns() >= next_snap) {
			mqcap__run_snapshot(t, mqcap__balance_handoff_drops(t));
			next_snap += SNAP_NS;
		}
	}
out:
	free(pfd);
	mqcap__run_thread_exit(t);
	return NULL;
}
