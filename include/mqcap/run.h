/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * run.h - the worker runtime: capture threads placed by the topology, calling you with bursts.
 *
 * Give it a capture name ("eth1", "eth1@0-3", "eth1,eth2") and a callback. It finds the
 * queues, asks where each queue's kernel poller runs (threaded NAPI thread or IRQ), plans
 * the threads with topo.h (or takes your CPU list), and runs:
 *
 *   direct mode (default): one worker thread per virtual capture device (one handle per queue,
 *       the paper's hardware balancing), or several queues per worker when you ask for fewer
 *       workers; each worker pinned, each calls the callback with the bursts of its handle.
 *       The callback gets the backend's views: zero copy.
 *   split mode (MQCAP_RUN_F_SPLIT, the paper's Setup C in user space): a poller thread per
 *       queue receives bursts and hands them to consumer threads over SPSC rings (ring.h), so
 *       analysis too heavy for the polling thread does not hold up the queue. Packets are
 *       COPIED into the ring (up to slot_bytes each): a burst's views are only valid until
 *       the next receive on the same handle, and holding them for the consumer would stop the
 *       poller from receiving while the consumer works, which is the stall this mode exists to
 *       avoid. A full ring drops the packet and counts it (drop_handoff).
 *   balance mode (mqcap_run_opts.balance, the software scheduler of balance.h): the threads of
 *       split mode, but each poller hands each packet to a worker chosen by its flow (static
 *       or adaptive bucket table), round robin, or to every worker or group (fan-out, groups
 *       like "2,1"). workers == 0: the sum of balance->groups if given, else one per queue.
 *       Per-flow order is kept, also when the adaptive scheduler moves flows between workers.
 *       drop_handoff counts copies that found a worker's ring full; with several groups every
 *       packet is one copy per group, so workers together see received * groups - drops.
 *       A pcap: file is read whole (pollers wait for room instead of dropping).
 *
 * Stopping: mqcap_run_stop() from any thread or a signal handler; the callback returning
 * non-zero; the end of an offline file (all workers done); or an error in a worker. A link
 * that goes down is not an error: the run rides through (mqcap_run_link_reports()).
 *
 * Errors as in mqcap.h: int calls return 0 or -errno, mqcap_run_open() NULL + errno with the
 * message in mqcap_last_error(), later failures in mqcap_run_errmsg(). The library never prints.
 * Thread-safety: one controlling thread calls open/start/wait/close; stats may be read from
 * any thread at any time (they are snapshots, refreshed by each worker about every 50 ms and
 * exactly when it stops); mqcap_run_stop() from anywhere.
 */
#ifndef MQCAP_RUN_H
#define MQCAP_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "mqcap/balance.h"
#include "mqcap/mqcap.h"
#include "mqcap/topo.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mqcap_run mqcap_run_t;

/*
 * Called by worker `worker` (0..workers-1; in split mode a consumer) with n >= 1 packets.
 * The views are valid until the callback returns. Return 0 to go on; non-zero stops the whole
 * run (as mqcap_run_stop()). Runs concurrently in every worker: share state with care.
 */
typedef int (*mqcap_run_fn)(void *user, unsigned worker, const struct mqcap_pkt *pkts, unsigned n);

/* mqcap_run_opts.flags */
#define MQCAP_RUN_F_OVERSUBSCRIBE (1u << 0) /* allow more threads than CPUs */
#define MQCAP_RUN_F_NO_PIN        (1u << 1) /* run threads wherever the scheduler likes */
#define MQCAP_RUN_F_SPLIT         (1u << 2) /* poller thread per queue + consumer threads */
#define MQCAP_RUN_F_PIN_POLLERS   (1u << 3) /* pin unpinned threaded-NAPI pollers where the plan says */
#define MQCAP_RUN_F_NO_NUMA       (1u << 4) /* ignore NIC locality in the plan */
#define MQCAP_RUN_F_FIT           (1u << 5) /* workers == 0: one per queue, but no more than usable CPUs
					     * (then several queues per worker): MQCAP_PLAN_FIT; not in
					     * split mode, whose consumers stay one per queue */
#define MQCAP_RUN_F_NO_BATCH      (1u << 6) /* never sleep after short bursts (batch_usecs ignored) */
#define MQCAP_RUN_F_NEW_QUEUES    (1u << 7) /* capture the RX queues a device gains during the run
					     * when the name took all of its queues ("eth1", not
					     * "eth1@0-3"); direct mode only. Without it they are
					     * only reported (mqcap_run_queue_reports()). Ask for
					     * it only if you handle mqcap_run_queue_count()
					     * growing. */
#define MQCAP_RUN_F_NO_PRIORITY   (1u << 8) /* a worker pinned beside its queue's kernel poller
					     * stays at normal priority (wake-up) instead of
					     * running SCHED_FIFO above it (reader-first); see
					     * mqcap_run_worker_arrangement() */

/* The automatic batching wait: after finding the ring empty right after a short burst, a worker
 * that shares its CPU with one of its queues' kernel pollers waits this long before receiving
 * again, so the poller fills the ring instead of being preempted by a wake-up per packet. The
 * wait is taken only when the ring is empty, so it never caps a busy queue; it costs up to this
 * much delivery latency on a lightly loaded queue. Why 1000 us and not less: the measurements
 * are in docs/measurements.md. */
#define MQCAP_RUN_BATCH_AUTO_US 1000u

struct mqcap_run_opts {
	size_t sz;                        /* sizeof(struct mqcap_run_opts) of the caller */
	const struct mqcap_opts *capture; /* for every handle opened (backend, snaplen, filter...); NULL = defaults */
	unsigned workers;                 /* worker (split: consumer) threads; 0 = one per queue */
	const int *cpus;                  /* manual CPUs, worker i on cpus[i % ncpus]; NULL = automatic */
	unsigned ncpus;
	const int *poller_cpus;           /* split mode, manual: poller of queue i on poller_cpus[i % n] */
	unsigned npoller_cpus;
	uint32_t flags;                   /* MQCAP_RUN_F_* */
	unsigned burst;                   /* packets per receive; 0 = 64 */
	int poll_ms;                      /* longest wait inside a receive; 0 = 100 */
	unsigned ring_slots;              /* split: packets per poller->consumer ring (power of 2); 0 = 4096 */
	unsigned slot_bytes;              /* split: bytes kept per packet; 0 = min(snaplen, 2048) */
	const char *topo_xml;             /* plan from this hwloc XML instead of this machine */
	unsigned batch_usecs;             /* after a short burst, sleep this long before the next receive,
					   * so a kernel poller on the same CPU fills the ring instead of
					   * being preempted by a wake-up per packet. 0 = automatic:
					   * MQCAP_RUN_BATCH_AUTO_US for a worker that shares its CPU with
					   * one of its queues' pollers, none otherwise. See also
					   * MQCAP_RUN_F_NO_BATCH. */
	const struct mqcap_balance_opts *balance; /* non-NULL: balance mode (below); copied at open */
};

#define MQCAP_RUN_OPTS(name, ...) \
	struct mqcap_run_opts name = { .sz = sizeof(struct mqcap_run_opts), __VA_ARGS__ }

/*
 * Resolve the name into queues, find their pollers and plan the threads. Nothing is opened or
 * started yet: print mqcap_run_plan() first if you like. Returns NULL + errno (ENODEV unknown
 * device or queue, EINVAL malformed name or bad CPU, E2BIG more threads than CPUs without
 * MQCAP_RUN_F_OVERSUBSCRIBE, ...) with the message in mqcap_last_error().
 */
mqcap_run_t *mqcap_run_open(const char *name, const struct mqcap_run_opts *opts, mqcap_run_fn fn,
			    void *user);

/* The plan: workers (split mode: consumers), their CPUs and queues. Valid until close. In
 * balance mode with more workers than queues, the queue list goes on past the queues
 * (entry i is queue i mod mqcap_run_queue_count()): each extra worker sits beside one. */
const struct mqcap_plan *mqcap_run_plan(const mqcap_run_t *r);
/* Split mode: the pollers' plan (one worker per queue); NULL in direct mode. */
const struct mqcap_plan *mqcap_run_poller_plan(const mqcap_run_t *r);
/* The topology the plan was made from. */
const mqcap_topo_t *mqcap_run_topo(const mqcap_run_t *r);

/* How worker w shares CPU time with the kernel pollers of its queues, in words:
 * "reader-first: ..." (pinned beside a poller, SCHED_FIFO above it, so the poller cannot
 * starve it) or "wake-up: ..." (apart from its pollers, or where raising it was refused or
 * MQCAP_RUN_F_NO_PRIORITY asked not to, with the reason). Before mqcap_run_start() the
 * arrangement planned, after it the one applied. NULL when w is not a worker. The string
 * lives as long as r. */
const char *mqcap_run_worker_arrangement(const mqcap_run_t *r, unsigned w);

/*
 * Start the threads: each pins itself, then opens its handle (so rings are allocated on its
 * own NUMA node). Returns once every handle is open: 0, or the first -errno (the message in
 * mqcap_run_errmsg()), in which case nothing is left running.
 */
int mqcap_run_start(mqcap_run_t *r);

/*
 * Ask every thread to stop. Threads notice within poll_ms. Async-signal-safe (it stores a flag
 * and writes eventfds), and safe against a racing mqcap_run_close(): the library keeps a table
 * of open runs and looks r up there first, so a signal handler (or another thread) that still
 * holds the pointer while the run is being closed, or after it was closed, does nothing
 * harmful: close waits for a stop already under way, and a stop on a closed run does nothing.
 * The safe use from a signal handler is therefore: keep the run in a global, call
 * mqcap_run_stop(global) from the handler; no need to block the signal around close. (Should a
 * new run be opened at the very address of a closed one, a stale stop stops the new run.)
 */
void mqcap_run_stop(mqcap_run_t *r);

/* Has the run stopped, or been asked to (stop, callback, error, end of files)? */
int mqcap_run_stopping(const mqcap_run_t *r);

/*
 * Wait up to timeout_ms (-1: forever) for every thread to finish. Returns 0 when all are done
 * (then the first worker error, if any, is returned instead as -errno), -ETIMEDOUT otherwise.
 */
int mqcap_run_wait(mqcap_run_t *r, int timeout_ms);

/* Stop, join and free. Stats are gone afterwards. NULL is ignored. After it returns, a
 * mqcap_run_stop() on r does nothing. */
void mqcap_run_close(mqcap_run_t *r);

/* The message of the first failure after open (a thread's receive or open error, a failed
 * start), or "no error". The first failure wins and its message never changes, so the
 * pointer stays valid until close. Any thread. */
const char *mqcap_run_errmsg(const mqcap_run_t *r);

/*
 * Link reports: how many times a handle of the run said -ENETDOWN (a device went down) since
 * start. A link flap does not end the run: each handle delivers again once its link is back
 * up, and the counters keep adding up. Copies the last report's message into buf (len bytes,
 * "" when none; buf may be NULL). Any thread, any time.
 */
unsigned mqcap_run_link_reports(const mqcap_run_t *r, char *buf, size_t len);

/*
 * Queue reports: a device of the run changed its RX queue count (`ethtool -L`, a driver
 * reconfiguration), found by the run's queue watch at the link event that comes with it (veth
 * turns its carrier off and on around a channel change; drivers that reset their queues
 * usually do too) or otherwise within a second. One report per change, saying what the run did:
 *   - fewer queues: the captured queues that disappeared are named; their readers stay open
 *     (nothing more arrives there, their counters keep what was captured, so totals still add
 *     up) and capture again should the queue come back. Only the packet backend sees this:
 *     the kernel refuses to remove a queue with a bound AF_XDP socket.
 *   - more queues, the name took all of the device's queues and MQCAP_RUN_F_NEW_QUEUES:
 *     each new queue joins the worker with the fewest queues (the thread count stays as
 *     planned), appended to the run's queues (mqcap_run_queue_count() grows, the plan does
 *     not change), with a ring of the size the others got (the memory budget grows by
 *     their share). A second report says when the worker captures it, or why it could not.
 *   - more queues otherwise: named as not captured, with the reason (not in the name's
 *     queue list; no MQCAP_RUN_F_NEW_QUEUES; split and balance modes, whose pollers and
 *     rings are made for the queues of the start).
 * Returns the number of reports since start; copies report i (0 = the first) into buf (len
 * bytes; buf may be NULL): "" when i is not below that number, or when it is older than the
 * last 32 kept. Any thread, any time.
 */
unsigned mqcap_run_queue_reports(const mqcap_run_t *r, unsigned i, char *buf, size_t len);

/* Queue i of the run (0 <= i < mqcap_run_queue_count()). */
struct mqcap_run_queue_info {
	char dev_name[16];    /* device name (IFNAMSIZ) */
	unsigned queue;       /* RX queue id */
	int present;          /* the device has the queue now: 0 once a shrink removed it */
	int added;            /* joined during the run (MQCAP_RUN_F_NEW_QUEUES): not in the plan */
};
/* Describe queue i: 0, or -EINVAL when i is not below mqcap_run_queue_count(). Any thread. */
int mqcap_run_queue_info(const mqcap_run_t *r, unsigned i, struct mqcap_run_queue_info *qi);

/*
 * Warnings of the run's handles (mqcap_warnings() in mqcap.h: e.g. a selected RX queue that
 * receives nothing while its device's other queues do), passed on by each thread within
 * about 50 ms of being found. Returns how many since start and
 * copies the newest into buf (len bytes, "" when none; buf may be NULL). Any thread.
 */
unsigned mqcap_run_warnings(const mqcap_run_t *r, char *buf, size_t len);

/* Per-worker counters (a snapshot). */
struct mqcap_run_worker_stats {
	uint64_t ts_ns;         /* CLOCK_MONOTONIC time of the snapshot */
	uint64_t packets;       /* handed to the callback */
	uint64_t bytes;         /* wire bytes of those */
	uint64_t bursts;        /* callback calls */
	uint64_t drop_handoff;  /* split mode: packets the pollers of this consumer could not queue (ring full) */
	int cpu;                /* where the thread runs (sched_getcpu at the snapshot), -1 unknown */
	int done;               /* the thread has finished */
};

/* Number of worker threads (split mode: consumers), as planned: mqcap_run_plan()->nworkers. */
unsigned mqcap_run_worker_count(const mqcap_run_t *r);
/* Copy worker w's latest snapshot into *st (ts_ns is "now" before the worker's first one).
 * 0, or -EINVAL when w is not below mqcap_run_worker_count(). Any thread, any time until close. */
int mqcap_run_worker_stats(const mqcap_run_t *r, unsigned w, struct mqcap_run_worker_stats *st);

/* Queues, in plan order (mqcap_run_plan()->queues[i]), then those added during the run
 * (MQCAP_RUN_F_NEW_QUEUES; the count only grows, an index never changes); counters of queue i
 * from its handle. Any thread. */
unsigned mqcap_run_queue_count(const mqcap_run_t *r);
int mqcap_run_queue_stats(const mqcap_run_t *r, unsigned i, struct mqcap_stats *st);
/* Split mode: packets of queue i dropped between poller and consumer (ring full). */
uint64_t mqcap_run_queue_handoff_drops(const mqcap_run_t *r, unsigned i);

/* Balance mode: the scheduler, for its statistics (mqcap_balance_*_stats, migrations,
 * elephants), queries and forced moves (mqcap_balance_move); NULL in the other modes. Valid
 * until close. */
mqcap_balance_t *mqcap_run_balance(const mqcap_run_t *r);

/* The backend of the first handle, as mqcap_backend_name() says ("" before start). */
const char *mqcap_run_backend_name(const mqcap_run_t *r);

/* Why the handles use their backend: each distinct mqcap_backend_reason() of the run's
 * handles once, "; "-separated (handles of one device give the same line; "" before start). */
const char *mqcap_run_backend_reason(const mqcap_run_t *r);

/* The distinct mqcap_stack_warning() lines of the run's handles, "; "-separated: NULL when
 * the capture takes nothing from the host's network stack (and before start). */
const char *mqcap_run_stack_warning(const mqcap_run_t *r);

#ifdef __cplusplus
}
#endif
#endif /* MQCAP_RUN_H */
