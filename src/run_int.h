/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * run_int.h - what the runtime (run.c) shares with its split mode (balance.c): the run's
 * structures and the thread life cycle both kinds of thread go through.
 */
#ifndef MQCAP_RUN_INT_H
#define MQCAP_RUN_INT_H

#include <net/if.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "mqcap/ring.h"
#include "mqcap/run.h"
#include "arrange_int.h"
#include "devname_int.h"
#include "error_int.h"

#define SNAP_NS 50000000ull /* snapshot period: 20 per second is plenty for a 1 s table */
#define MAX_BURST 1024u
#define WATCH_MS 1000       /* queue watch: look again this often without a link event */
#define QREPORTS_KEPT 32u   /* queue reports kept for mqcap_run_queue_reports() */

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
	bool added;                    /* joined during the run (the device grew) */
	_Atomic int gone;              /* the device no longer has this queue (it shrank) */
};

/* A device of a live run, as the queue watch knows it. */
struct rdev {
	struct mqcap__devspec spec;    /* what the name selects on it */
	unsigned ifindex;
	unsigned nrx;                  /* RX queues at the last look */
};

struct rthread {
	struct mqcap_run *r;
	enum rkind kind;
	unsigned idx;
	int cpu;
	pthread_t tid;
	bool started;
	char *label;                   /* what it reads, for messages: "xdp:dev@1,5,dev2@0", or the
					 * file name; never parsed (the handle opens from qs) */
	_Atomic(mqcap_t *) h;
	unsigned *qs;                  /* indexes into r->q (room for r->qcap) */
	unsigned nq;
	/* Queues the device gained, handed to this worker by the queue watch: the worker adds
	 * them to its handle itself (a handle is one thread's). */
	unsigned *pend;                /* guarded by mu; room for r->qcap */
	unsigned npend;
	_Atomic int grow;              /* pend has entries; pairs with the acquire in worker_main */
	struct mqcap__arr arr;         /* reader/poller arrangement; arr.batch_us: sleep after a
					* short burst (0: never) */
	/* thread-local counters */
	uint64_t packets, bytes, bursts;
	unsigned warnings_seen;        /* its handle's mqcap_warnings() count already passed on */
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
	enum mqcap_backend backend_sel; /* the name's prefix: AUTO (none), PACKET or XDP */
	char *file;                    /* pcap: the name, which each thread opens as it is */
	bool offline;
	mqcap_topo_t *topo;
	struct mqcap_plan *plan;       /* workers (split: consumers) */
	struct mqcap_plan *pplan;      /* split: pollers */
	struct rqueue *q;              /* never moves once started: room for qcap */
	_Atomic unsigned nq;           /* grows during the run (queue watch); release-published */
	unsigned qcap;
	struct rthread *w;             /* workers or consumers */
	unsigned nw;
	struct rthread *p;             /* split: pollers, one per queue */
	unsigned np;
	_Atomic int stop;              /* set by mqcap_run_stop(); read relaxed by every thread */
	pthread_mutex_t mu;            /* guards the fields below */
	pthread_cond_t cv;
	unsigned nopened, nexited;
	int first_err;                 /* with err: written once, by the first failure */
	bool go, started;
	unsigned nreports;             /* link reports (-ENETDOWN) the run rode through */
	char report[MQCAP__ERRLEN];    /* the last one's message */
	unsigned nwarnings;            /* the handles' mqcap_warnings(), all together */
	char warning[MQCAP__ERRLEN];   /* the newest */
	char backend[32];
	char backend_reason[1024];   /* the handles' distinct mqcap_backend_reason() lines */
	char stack_warning[1024];    /* their distinct mqcap_stack_warning() lines, "" if none */
	mqcap_balance_t *bal;          /* balance mode: the scheduler */
	/* Queue watch (live runs): a thread that re-reads each device's RX queue count on link
	 * events and every WATCH_MS, and reports (and, with MQCAP_RUN_F_NEW_QUEUES, captures)
	 * what changed. */
	struct rdev devs[MQCAP__MAX_DEVS];
	unsigned ndevs;
	int watch_efd;                 /* written by mqcap__run_stop(): the watch ends */
	pthread_t watch_tid;
	bool watching;
	unsigned nqreports;            /* under mu */
	char qreports[QREPORTS_KEPT][MQCAP__ERRLEN]; /* report i at [i % QREPORTS_KEPT] */
	struct mqcap_balance_opts balo; /* balance mode: the caller's options, groups copied */
	unsigned *bgroups;
	struct mqcap__err err;
};

/* run.c: the thread life cycle every runtime thread goes through. */
uint64_t mqcap__run_now_ns(void);
/* Pin, open the handle, report, wait for the go. Returns 0 when the thread should run. */
int mqcap__run_thread_setup(struct rthread *t);
/* Final snapshot (drop_handoff for a consumer), then count the thread as exited. */
void mqcap__run_thread_exit(struct rthread *t);
/* Publish t's counters (and its handle's queue counters) for the stats calls. */
void mqcap__run_snapshot(struct rthread *t, uint64_t drop_handoff);
/* Stop r, known to be open (mqcap_run_stop() checks that first). */
void mqcap__run_stop(mqcap_run_t *r);
/* A receive returned n < 0: record it; returns true when the thread must end. */
bool mqcap__run_recv_failed(struct rthread *t, mqcap_t *h, int n);

/* balance.c: split mode (pollers hand packets to consumers over SPSC rings). */
/* Plan pollers (r->pplan, one per queue) and the consumers around them (r->plan). */
int mqcap__balance_plan(mqcap_run_t *r, struct mqcap_plan_queue *pq, uint32_t pflags);
/* Create each queue's poller->consumer ring and slab; 0 or -errno with r->err set. */
int mqcap__balance_rings(mqcap_run_t *r);
void *mqcap__balance_poller_main(void *arg);
void *mqcap__balance_consumer_main(void *arg);
/* Balance mode: create the scheduler for r->np pollers and r->nw workers (at open). */
int mqcap__balance_create(mqcap_run_t *r);
/* Packets the pollers of consumer t's queues could not hand over (rings full). */
uint64_t mqcap__balance_handoff_drops(const struct rthread *t);

#endif
