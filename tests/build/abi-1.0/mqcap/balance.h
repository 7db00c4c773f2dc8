/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * balance.h - the software packet scheduler: pollers hand packets to workers, evenly even when
 * RSS is not (the paper's future work: "an adaptive software packet scheduler").
 *
 * P pollers (one per RX queue, each reading its own capture handle) classify every packet into
 * one of B buckets by a symmetric flow hash (mqcap_flow_hash()); a bucket table maps buckets to
 * W workers. Every (poller, worker) pair has its own SPSC ring (ring.h), so no ring ever has two
 * producers or two consumers and no lock is taken per packet. Packets are COPIED into the ring
 * (up to slot_bytes each): a capture burst's views die at the poller's next receive.
 *
 * Workers are arranged in groups (`mqcount -n 2,1`): every group gets one copy of every packet,
 * shared among its workers by the mode:
 *   MQCAP_BALANCE_STATIC    buckets spread evenly over the group's workers, never moved
 *   MQCAP_BALANCE_ADAPTIVE  the same start, then buckets move from hot to cold workers
 *   MQCAP_BALANCE_RR        round robin per packet: perfectly even, no per-flow order
 *                           (for consumers that do not care), an elephant flow is spread too
 *   MQCAP_BALANCE_FANOUT    every worker is a group of one: each gets every packet
 * A group of one worker simply gets a copy of everything (a recorder beside an IDS pair).
 *
 * Adaptive: mqcap_balance_tick(), called often by any one thread, runs the controller every
 * interval. It measures each worker's load as the packets its buckets received in the interval
 * (delivered or dropped) times the worker's measured cost per packet (busy time / packets
 * delivered); when the busiest worker of a group exceeds the group mean by threshold_pct it
 * moves buckets from the hottest to the coldest worker, each move picked to close half the gap,
 * until the spread is within half the threshold. Per-flow order survives a move: a poller that
 * takes a bucket from worker A to worker B first puts a drain marker into its ring to B that
 * says "wait until A has finished what I had queued to A"; B stops at the marker (its other
 * rings go on) until A's consumed count reaches the marker's. A bucket carrying one flow that
 * alone needs more than elephant_pct of a worker is reported as an elephant; it is never split
 * (that would reorder it) except by the round-robin mode, which splits everything.
 *
 * Accounting: every packet a poller dispatches becomes one copy per group, and every copy is
 * either delivered to a worker's callback or counted as a drop (the worker's ring was full),
 * per worker and per poller: received * groups = delivered + dropped, always.
 *
 * Thread-safety: create/destroy on one thread while no other uses the object. Poller p's
 * functions (dispatch, flush, poller_done) from one thread at a time per p; worker w's (consume,
 * wait) from one thread at a time per w; a thread may act for several. tick, move and every
 * *_stats / query function: from any thread at any time. Errors: int calls 0/-errno,
 * mqcap_balance_create() NULL + errno with the message in mqcap_last_error(). The library
 * never prints.
 */
#ifndef MQCAP_BALANCE_H
#define MQCAP_BALANCE_H

#include <stddef.h>
#include <stdint.h>

#include "mqcap/mqcap.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the flow hash ---- */

/* mqcap_flow_hash() flags */
#define MQCAP_FLOW_F_INNER (1u << 0) /* hash the inner headers of GRE, VXLAN (UDP 4789), GTP-U
				      * (UDP 2152) and IP-in-IP, so tunnelled flows spread */

/*
 * The symmetric flow hash of an Ethernet frame (data, caplen bytes): both directions of a flow
 * give the same value. Input: TCP/UDP/SCTP: addresses and ports (5-tuple with the protocol);
 * other IP, and IP fragments (IPv4 MF/offset, an IPv6 fragment header) so a flow's fragments
 * stay together: the addresses and protocol (2-tuple); IPv6 extension headers are walked; up to
 * two VLAN tags (802.1Q, 802.1ad/QinQ) are skipped; non-IP: the MAC addresses and EtherType.
 * Every length read from the frame is checked against caplen: a truncated header hashes what
 * was complete before it. Pure function, thread-safe.
 */
uint32_t mqcap_flow_hash(const uint8_t *data, uint32_t caplen, uint32_t flags);

/* ---- the scheduler ---- */

typedef struct mqcap_balance mqcap_balance_t;

enum mqcap_balance_mode {
	MQCAP_BALANCE_STATIC = 0,
	MQCAP_BALANCE_ADAPTIVE,
	MQCAP_BALANCE_RR,
	MQCAP_BALANCE_FANOUT,
};

/* "static", "adaptive", "rr", "fanout" -> the mode, or -EINVAL. */
int mqcap_balance_mode_parse(const char *s);
/* The mode's name, "?" for none. */
const char *mqcap_balance_mode_name(int mode);

#define MQCAP_BALANCE_BUCKETS_DEFAULT 4096u
#define MQCAP_BALANCE_MAX_WORKERS     256u
#define MQCAP_BALANCE_MAX_POLLERS     256u

/* mqcap_balance_opts.flags */
#define MQCAP_BALANCE_F_INNER (1u << 0) /* hash tunnels' inner headers (MQCAP_FLOW_F_INNER) */

struct mqcap_balance_opts {
	size_t sz;               /* sizeof(struct mqcap_balance_opts) of the caller */
	int mode;                /* enum mqcap_balance_mode */
	const unsigned *groups;  /* workers per group, summing to the worker count; NULL/0 = one
				  * group of all workers (FANOUT ignores it: groups of one) */
	unsigned ngroups;
	unsigned buckets;        /* power of two, 1..65536; 0 = MQCAP_BALANCE_BUCKETS_DEFAULT */
	unsigned ring_slots;     /* per (poller, worker) ring, power of two; 0 = 1024 */
	unsigned slot_bytes;     /* bytes kept per packet (longer ones are truncated and flagged
				  * MQCAP_PKT_TRUNCATED); 0 = 2048 */
	uint32_t flags;          /* MQCAP_BALANCE_F_* */
	unsigned interval_ms;    /* controller period; 0 = 100 */
	unsigned threshold_pct;  /* rebalance when max > mean * (1 + pct/100); 0 = 10 */
	unsigned max_moves;      /* bucket moves per interval at most; 0 = 64 */
	unsigned elephant_pct;   /* one flow needing more than this % of a worker: elephant; 0 = 90 */
};

#define MQCAP_BALANCE_OPTS(name, ...) \
	struct mqcap_balance_opts name = { .sz = sizeof(struct mqcap_balance_opts), __VA_ARGS__ }

/*
 * A scheduler for `pollers` producers and `workers` consumers (1..256 each). Owned by the caller
 * until mqcap_balance_destroy(). NULL + errno: EINVAL (bad counts, groups that do not add up to
 * workers, buckets or ring_slots not a power of two, unknown mode or flags), ENOMEM; message in
 * mqcap_last_error().
 */
mqcap_balance_t *mqcap_balance_create(unsigned pollers, unsigned workers,
				      const struct mqcap_balance_opts *opts);

/* Free everything; packets still queued are gone (count them first). NULL is ignored. */
void mqcap_balance_destroy(mqcap_balance_t *b);

/*
 * Poller p: classify and copy n packets into the workers' rings (one copy per group). Returns
 * how many copies were queued; the rest are counted as drops of their worker (ring full).
 * Workers see nothing until the end of the call (one publication per ring per call).
 */
unsigned mqcap_balance_dispatch(mqcap_balance_t *b, unsigned p, const struct mqcap_pkt *pkts,
				unsigned n);

/* Poller p: the fewest free slots over its rings to the workers now (a snapshot). A poller
 * that must not drop (reading a file) waits until this covers its next burst plus one drain
 * marker per worker. */
unsigned mqcap_balance_room(const mqcap_balance_t *b, unsigned p);

/* Poller p: wake workers sleeping on its rings (call before the poller itself goes idle). */
void mqcap_balance_flush(mqcap_balance_t *b, unsigned p);

/* Poller p will dispatch no more (end of file, stop): once every poller said so and its rings
 * are empty, mqcap_balance_consume() returns -ENODATA. */
void mqcap_balance_poller_done(mqcap_balance_t *b, unsigned p);

/* Worker callback: n >= 1 packets, valid until it returns. Non-zero return: see consume. */
typedef int (*mqcap_balance_fn)(void *user, unsigned worker, const struct mqcap_pkt *pkts,
				unsigned n);

/*
 * Worker w: hand up to max packets waiting in its rings to fn (one call per contiguous run),
 * measure the time spent in fn (its busy time), give the slots back. Returns the packets
 * delivered (0: nothing ready, or only packets behind a drain marker whose old worker is not
 * done yet), or -ENODATA when every poller is done and all of w's rings are empty. When fn
 * returns non-zero, consume stops after that call (those packets count as delivered) and sets
 * *fn_rc (if not NULL) to its value.
 */
int mqcap_balance_consume(mqcap_balance_t *b, unsigned w, unsigned max, mqcap_balance_fn fn,
			  void *user, int *fn_rc);

/* Worker w: sleep until a ring of w has items or timeout_ms passes (0 and -1 as in poll(2)).
 * Returns 0 or -errno. */
int mqcap_balance_wait(mqcap_balance_t *b, unsigned w, int timeout_ms);

/*
 * Run the adaptive controller if interval_ms passed since its last run (now_ns: CLOCK_MONOTONIC).
 * Any thread; concurrent calls are skipped, not queued. Returns the buckets moved (0 for the
 * other modes, or when nothing needed moving).
 */
int mqcap_balance_tick(mqcap_balance_t *b, uint64_t now_ns);

/* Move a bucket to worker w now (tests, operators), with the same order guarantee; w must be in
 * a group of several workers using STATIC or ADAPTIVE. 0, -EINVAL (bucket or worker out of
 * range), -EOPNOTSUPP (w's group has no bucket table). Counted as a migration. */
int mqcap_balance_move(mqcap_balance_t *b, unsigned bucket, unsigned w);

/* The bucket of a flow hash, and the worker that bucket goes to in w's group (the table the
 * controller wants; pollers follow within one dispatch call). -EINVAL out of range,
 * -EOPNOTSUPP for a group without a table. */
unsigned mqcap_balance_bucket(const mqcap_balance_t *b, uint32_t hash);
int mqcap_balance_bucket_worker(const mqcap_balance_t *b, unsigned group, unsigned bucket);

unsigned mqcap_balance_pollers(const mqcap_balance_t *b);
unsigned mqcap_balance_workers(const mqcap_balance_t *b);
unsigned mqcap_balance_groups(const mqcap_balance_t *b);
/* The group of worker w (or -EINVAL). */
int mqcap_balance_worker_group(const mqcap_balance_t *b, unsigned w);
int mqcap_balance_mode(const mqcap_balance_t *b);

struct mqcap_balance_worker_stats {
	uint64_t delivered;  /* packets handed to the callback */
	uint64_t bytes;      /* wire bytes of those */
	uint64_t drops;      /* copies for this worker that found its ring full */
	uint64_t busy_ns;    /* time spent in the callback */
	uint64_t backlog;    /* packets waiting in its rings now (a snapshot) */
	uint64_t moved_in;   /* buckets migrated to it */
	uint64_t moved_out;  /* buckets migrated away from it */
	unsigned buckets;    /* buckets it owns now (group of one or RR: 0) */
	unsigned group;
	double load;         /* last interval's measured load, 1.0 = one worker's full time
			      * (adaptive only, else 0) */
};

struct mqcap_balance_poller_stats {
	uint64_t received;   /* packets given to dispatch */
	uint64_t delivered;  /* copies queued (received * groups = delivered + drops) */
	uint64_t drops;      /* copies dropped: a worker's ring was full */
};

struct mqcap_balance_stats {
	uint64_t migrations;      /* bucket moves decided (controller and mqcap_balance_move) */
	uint64_t elephants;       /* elephant flows detected (each counted when it first shows) */
	unsigned elephants_now;   /* buckets holding an elephant in the last interval */
	uint64_t intervals;       /* controller runs */
	uint64_t rebalances;      /* runs that moved something */
	double max_mean;          /* last interval with traffic, worst group: busiest worker's
				   * load / mean (1.0 = even; 0 before the first such interval) */
};

/* Sized as mqcap.h's output structs (the macros pass sizeof(*(st))). */
int (mqcap_balance_worker_stats)(const mqcap_balance_t *b, unsigned w,
				 struct mqcap_balance_worker_stats *st, size_t sz);
#define mqcap_balance_worker_stats(b, w, st) \
	(mqcap_balance_worker_stats)((b), (w), (st), sizeof(*(st)))
int (mqcap_balance_poller_stats)(const mqcap_balance_t *b, unsigned p,
				 struct mqcap_balance_poller_stats *st, size_t sz);
#define mqcap_balance_poller_stats(b, p, st) \
	(mqcap_balance_poller_stats)((b), (p), (st), sizeof(*(st)))
int (mqcap_balance_stats)(const mqcap_balance_t *b, struct mqcap_balance_stats *st, size_t sz);
#define mqcap_balance_stats(b, st) (mqcap_balance_stats)((b), (st), sizeof(*(st)))

#ifdef __cplusplus
}
#endif
#endif /* MQCAP_BALANCE_H */
