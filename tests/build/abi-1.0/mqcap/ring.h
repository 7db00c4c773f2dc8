/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ring.h - the lock-free single-producer/single-consumer ring (the paper's SRSW buffer).
 *
 * A power-of-two array of fixed-size elements (pointer-sized by default, any size from 1 to
 * MQCAP_RING_ESIZE_MAX bytes) handed from exactly one producer thread to exactly one consumer
 * thread. Used for every hand-off between mqcap's user threads: poller to worker, the
 * software scheduler, the pcap writer.
 *
 * Thread-safety, for every function below: one producer thread, one consumer thread. The
 * producer calls only the enqueue/reserve/commit/flush functions, the consumer only the
 * dequeue/peek/release/wait functions; the "either" functions (count, free_count, fd) may be
 * called from either side and give a snapshot. Using one side from two threads at once is a
 * data race (the ck_ring_*_spsc contract). The side may move between threads only through a
 * synchronising hand-over (thread join, a mutex).
 *
 * Vocabulary (DPDK's): *bulk* moves all n items or none, *burst* moves as many as fit; both
 * return the count moved and never block. reserve/commit (producer) and peek/release
 * (consumer) are the zero-copy forms: the caller reads or writes the slots in place.
 *
 * Indices are free-running 32-bit counters (never masked when stored), so full and empty
 * differ (tail - head == size vs 0), every slot is usable, and wrap-around at 2^32 is plain
 * unsigned arithmetic; this needs size <= 2^31, which create enforces.
 *
 * Sleep and wake: a ring created with MQCAP_RING_F_WAKE has an eventfd. A consumer that finds
 * the ring empty may sleep in mqcap_ring_spsc_wait() (or poll() the fd of several rings); the
 * producer writes the eventfd only when the consumer is actually asleep, and only once per
 * sleep, after wake_items items are pending or the oldest is wake_usecs old (the paper's
 * watermarks). A busy pair never makes a system call. Why eventfd and not a futex: an eventfd
 * is a file descriptor, so one consumer can sleep on several rings and its capture sockets in
 * one poll()/epoll_wait(); a futex can only be waited on by itself. The cost of eventfd (a
 * syscall per wake instead of a futex wake) only arises when the consumer really sleeps.
 *
 * C11 (<stdatomic.h>); C++ code should wrap it in a C file.
 */
#ifndef MQCAP_RING_H
#define MQCAP_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest element, in bytes: four cache lines (a packet descriptor with room to spare). */
#define MQCAP_RING_ESIZE_MAX 256u
/* Largest number of slots: free-running 32-bit indices need size <= 2^31. */
#define MQCAP_RING_COUNT_MAX (1u << 31)

/*
 * Distance between the producer, consumer and wait blocks. 128 rather than 64: x86 cores
 * fetch cache lines in adjacent pairs (the "spatial prefetcher"), so two blocks on
 * neighbouring lines still disturb each other (DPDK pads with RTE_CACHE_GUARD for the same
 * reason).
 */
#define MQCAP_RING_ALIGN 128

/*
 * The hot path is always inlined (DPDK's __rte_always_inline): the element size is then a
 * constant at each call site and every copy becomes a few moves.
 */
#define MQCAP_RING_INLINE static inline __attribute__((always_inline))

/* mqcap_ring_spsc_opts.flags */
#define MQCAP_RING_F_WAKE (1u << 0) /* consumer may sleep: eventfd + watermarks */

/* Private flags (in the ring's flags word, not for callers). */
#define MQCAP__RING_F_FENCE (1u << 16) /* no membarrier: the producer fences instead */

/*
 * Options for mqcap_ring_spsc_create(). Initialise with MQCAP_RING_SPSC_OPTS() so .sz is set;
 * a NULL opts means no flags (no sleep/wake).
 */
struct mqcap_ring_spsc_opts {
	size_t sz;           /* sizeof(struct mqcap_ring_spsc_opts) of the caller */
	uint32_t flags;      /* MQCAP_RING_F_* */
	uint32_t wake_items; /* F_WAKE: wake a sleeping consumer once this many items wait; 0 = 1 */
	uint32_t wake_usecs; /* F_WAKE: ...or once the oldest waiting item is this old; 0 = no age
	                      * limit (then wake_items > 1 relies on mqcap_ring_spsc_flush()) */
};

#define MQCAP_RING_SPSC_OPTS(name, ...) \
	struct mqcap_ring_spsc_opts name = { .sz = sizeof(struct mqcap_ring_spsc_opts), __VA_ARGS__ }

/*
 * The ring. Exposed only so the hot path can be inline: do not touch these members.
 * Layout: a read-only block, the published tail, the published head, the producer's own
 * block, the consumer's own block and the sleep/wake block, each on its own
 * MQCAP_RING_ALIGN bytes, then the slots.
 */
struct mqcap_ring_spsc {
	/* Read-only after create: shared by both sides without cache-line traffic. */
	unsigned char *slots; /* size * esize bytes, MQCAP_RING_ALIGN-aligned */
	uint32_t mask;        /* size - 1 */
	uint32_t size;        /* slots, a power of two */
	uint32_t esize;       /* bytes per element */
	uint32_t flags;       /* MQCAP_RING_F_*, MQCAP__RING_F_* */
	uint32_t wake_items;
	uint32_t wake_usecs;
	int efd;              /* eventfd with F_WAKE, else -1 */

	/*
	 * The published indices, each alone: the other side polls it, so its line moves on
	 * every publication. Each side's own state lives on a separate line (prod_own,
	 * cons_own) that never leaves its core, as xsk.h keeps cached_prod apart from the
	 * shared producer word: the owner's reads never wait for a line the other side pulled.
	 */
	_Alignas(MQCAP_RING_ALIGN) struct {
		_Atomic uint32_t tail; /* slots [head, tail) are filled; written by the producer */
	} prod;
	_Alignas(MQCAP_RING_ALIGN) struct {
		_Atomic uint32_t head; /* slots before head are free again; written by the consumer */
	} cons;

	/* Producer only. */
	_Alignas(MQCAP_RING_ALIGN) struct {
		uint32_t tail;         /* = prod.tail, without touching the shared line */
		uint32_t limit;        /* cached consumer head + size: the producer may fill up to here */
		uint32_t wake_epoch;   /* the consumer sleep it saw last (for the wake_usecs clock) */
		uint64_t wake_since_ns; /* when it first saw items waiting during that sleep */
	} prod_own;

	/* Consumer only. */
	_Alignas(MQCAP_RING_ALIGN) struct {
		uint32_t head;         /* = cons.head */
		uint32_t limit;        /* cached producer tail: the consumer may read up to here */
		uint32_t epoch;        /* odd numbers, one per sleep (see wait.state) */
	} cons_own;

	/*
	 * Sleep/wake block: written by the consumer when it goes to sleep or wakes up, and by
	 * the producer when it wakes it, so in a busy ring this line stays shared and free.
	 */
	_Alignas(MQCAP_RING_ALIGN) struct {
		_Atomic uint32_t state;      /* 0: consumer awake; else the epoch of its sleep */
		_Atomic uint32_t sleep_head; /* the consumer's head when it fell asleep */
	} wait;
};

/* ---- setup (src/ring.c) ---- */

/*
 * Create a ring of count slots (a power of two, 2..MQCAP_RING_COUNT_MAX) of esize bytes each
 * (1..MQCAP_RING_ESIZE_MAX; sizeof(void *) for a ring of pointers). All count slots are
 * usable. opts may be NULL.
 * Returns the ring, owned by the caller until mqcap_ring_spsc_destroy(); NULL with errno
 * EINVAL (bad count/esize/opts), ENOMEM, or the errno of eventfd(2), and a message in
 * mqcap_last_error(). Thread-safe (touches nothing shared).
 */
struct mqcap_ring_spsc *mqcap_ring_spsc_create(uint32_t count, uint32_t esize,
					       const struct mqcap_ring_spsc_opts *opts);

/*
 * Free the ring and close its eventfd. Items still inside are dropped (they are bytes to the
 * ring: free what they point to first). NULL is a no-op. Neither side may use it any more:
 * call it after both threads are done (e.g. joined).
 */
void mqcap_ring_spsc_destroy(struct mqcap_ring_spsc *r);

/* ---- either side ---- */

/* Slots in the ring (the usable capacity). */
MQCAP_RING_INLINE uint32_t mqcap_ring_spsc_size(const struct mqcap_ring_spsc *r)
{
	return r->size;
}

/* Bytes per element. */
MQCAP_RING_INLINE uint32_t mqcap_ring_spsc_esize(const struct mqcap_ring_spsc *r)
{
	return r->esize;
}

/*
 * Items in the ring now: exact when called by a side that the other side is not moving,
 * otherwise a snapshot that may already be stale (never more than size).
 */
MQCAP_RING_INLINE uint32_t mqcap_ring_spsc_count(const struct mqcap_ring_spsc *r)
{
	/* Relaxed: a snapshot for statistics, nothing is read through it. Head first: the tail
	 * only grows, so head <= tail holds for the pair we see. */
	uint32_t head = atomic_load_explicit(&r->cons.head, memory_order_relaxed);
	uint32_t tail = atomic_load_explicit(&r->prod.tail, memory_order_relaxed);
	uint32_t n = tail - head;

	return n > r->size ? r->size : n;
}

/* Free slots now (same caveat as mqcap_ring_spsc_count()). */
MQCAP_RING_INLINE uint32_t mqcap_ring_spsc_free_count(const struct mqcap_ring_spsc *r)
{
	return r->size - mqcap_ring_spsc_count(r);
}

/*
 * The eventfd a consumer may poll() for POLLIN (together with other rings and sockets) after
 * mqcap_ring_spsc_prepare_wait(); -1 without MQCAP_RING_F_WAKE. Owned by the ring: do not
 * close it, and read it only through mqcap_ring_spsc_finish_wait().
 */
MQCAP_RING_INLINE int mqcap_ring_spsc_fd(const struct mqcap_ring_spsc *r)
{
	return r->efd;
}

/* Address of the slot for free-running index idx (from reserve or peek). */
MQCAP_RING_INLINE void *mqcap_ring_spsc_slot(const struct mqcap_ring_spsc *r, uint32_t idx)
{
	return r->slots + (size_t)(idx & r->mask) * r->esize;
}

/* ---- producer ---- */

/* Out of line (src/ring.c): the producer found the consumer asleep. */
void mqcap__ring_spsc_wake_slow(struct mqcap_ring_spsc *r, uint32_t tail, int force);

/*
 * Slots the producer may fill from index tail: refreshes the cached consumer index only when
 * the cache says fewer than n are free, so a ring that is not nearly full costs the producer
 * no read of the consumer's cache line.
 */
MQCAP_RING_INLINE uint32_t mqcap__ring_spsc_prod_room(struct mqcap_ring_spsc *r, uint32_t tail,
						  uint32_t n)
{
	uint32_t room = r->prod_own.limit - tail;

	if (room < n) {
		/* A1: pairs with R2 (the consumer's head store after it finished reading its
		 * slots), so our writes into those slots cannot overtake its reads. */
		r->prod_own.limit = atomic_load_explicit(&r->cons.head, memory_order_acquire) + r->size;
		room = r->prod_own.limit - tail;
	}
	return room;
}

/*
 * Producer's half of the Dekker pair (consumer's: mqcap_ring_spsc_prepare_wait): after the
 * tail store, is the consumer asleep? With membarrier a compiler barrier suffices. Without
 * it (seccomp, old kernel: create sets F_FENCE) the tail is stored again seq_cst (a locked
 * instruction on x86, the full barrier) and the state loaded seq_cst, which is Dekker in the
 * C11 model. (No atomic_thread_fence: ThreadSanitizer does not support it.)
 */
MQCAP_RING_INLINE int mqcap__ring_spsc_wait_armed(struct mqcap_ring_spsc *r)
{
	if (r->flags & MQCAP__RING_F_FENCE) {
		atomic_store_explicit(&r->prod.tail, r->prod_own.tail, memory_order_seq_cst);
		return atomic_load_explicit(&r->wait.state, memory_order_seq_cst) != 0;
	}
	atomic_signal_fence(memory_order_seq_cst);
	/* Relaxed: only a hint; the slow path re-reads it with acquire. */
	return atomic_load_explicit(&r->wait.state, memory_order_relaxed) != 0;
}

/* After publishing: wake a sleeping consumer if the watermarks say so. */
MQCAP_RING_INLINE void mqcap__ring_spsc_prod_notify(struct mqcap_ring_spsc *r, uint32_t tail)
{
	if (!(r->flags & MQCAP_RING_F_WAKE))
		return;
	/*
	 * Dekker's pattern: we store tail then load wait.state, the consumer stores wait.state
	 * then loads tail (mqcap_ring_spsc_prepare_wait); at least one must see the other's
	 * store, which needs a store-load barrier on both sides. The consumer's side issues
	 * membarrier(2), which imposes that barrier on this thread too, so here a compiler
	 * barrier suffices and the busy producer pays nothing.
	 */
	if (mqcap__ring_spsc_wait_armed(r))
		mqcap__ring_spsc_wake_slow(r, tail, 0);
}

/*
 * Copy n elements of esize bytes. Small copies (the bursts of 1-32 pointers a ring mostly
 * sees) are inlined: the empty asm hides the loop counter from the optimiser, otherwise GCC
 * turns the loop into a libc memcpy call (loop distribution) that costs more than the copy.
 * Unrolled by 4, as DPDK's copy loops are; each memcpy has a constant size and becomes a
 * few moves. Large copies go to libc memcpy, whose wide vector moves win there.
 */
#ifndef MQCAP__RING_MEMCPY_MIN
#define MQCAP__RING_MEMCPY_MIN 512u
#endif
/*
 * GCC's bounds warnings see the caller's small array and a copy length it cannot bound
 * (n is hidden from it on purpose) and warn about paths the ring's count rules out.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#pragma GCC diagnostic ignored "-Wstringop-overread"
#endif
MQCAP_RING_INLINE void mqcap__ring_copy(unsigned char *dst, const unsigned char *src,
					uint32_t esize, uint32_t n)
{
	uint32_t i = 0;

	if ((size_t)n * esize >= MQCAP__RING_MEMCPY_MIN) {
		memcpy(dst, src, (size_t)n * esize);
		return;
	}
	for (; i + 4 <= n; i += 4) {
		memcpy(dst + (size_t)i * esize, src + (size_t)i * esize, esize);
		memcpy(dst + (size_t)(i + 1) * esize, src + (size_t)(i + 1) * esize, esize);
		memcpy(dst + (size_t)(i + 2) * esize, src + (size_t)(i + 2) * esize, esize);
		memcpy(dst + (size_t)(i + 3) * esize, src + (size_t)(i + 3) * esize, esize);
		__asm__("" : "+r"(i));
	}
	for (; i < n; i++) {
		memcpy(dst + (size_t)i * esize, src + (size_t)i * esize, esize);
		__asm__("" : "+r"(i));
	}
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

MQCAP_RING_INLINE void mqcap__ring_spsc_copy_in(struct mqcap_ring_spsc *r, uint32_t tail,
						const void *objs, uint32_t esize, uint32_t n)
{
	uint32_t idx = tail & r->mask;
	uint32_t first = r->size - idx;
	const unsigned char *src = (const unsigned char *)objs;

	if (first >= n) {
		mqcap__ring_copy(r->slots + (size_t)idx * esize, src, esize, n);
	} else {
		/* wraps past the end of the array */
		mqcap__ring_copy(r->slots + (size_t)idx * esize, src, esize, first);
		mqcap__ring_copy(r->slots, src + (size_t)first * esize, esize, n - first);
	}
}

/*
 * Zero-copy enqueue, step 1: find up to n free slots (as many as fit). Stores the index of the
 * first in *idx; slot i of the reservation is mqcap_ring_spsc_slot(r, *idx + i). Returns how
 * many (0 when full). The slots stay invisible to the consumer until commit; calling reserve
 * again before commit returns the same slots (a reservation is a view, not a claim), and
 * enqueue before commit would overwrite them. Producer only.
 */
MQCAP_RING_INLINE uint32_t mqcap_ring_spsc_reserve(struct mqcap_ring_spsc *r, uint32_t n,
					       uint32_t *idx)
{
	uint32_t tail = r->prod_own.tail;
	uint32_t room = mqcap__ring_spsc_prod_room(r, tail, n);

	*idx = tail;
	return room < n ? room : n;
}

/*
 * Zero-copy enqueue, step 2: publish the first n slots of the last reservation (n <= what
 * reserve returned; the rest are given back). Producer only.
 */
MQCAP_RING_INLINE void mqcap_ring_spsc_commit(struct mqcap_ring_spsc *r, uint32_t n)
{
	uint32_t tail = r->prod_own.tail + n;

	r->prod_own.tail = tail;
	/* R1: pairs with A2 in the consumer's refresh, which then sees the slots filled
	 * (copied in by enqueue or written in place). */
	atomic_store_explicit(&r->prod.tail, tail, memory_order_release);
	mqcap__ring_spsc_prod_notify(r, tail);
}

/*
 * Enqueue up to n elements of esize bytes each from the array objs (copied into the ring).
 * esize must equal the ring's element size; pass it as a constant so the copy is inlined.
 * bulk != 0: all n or none. Returns the number enqueued (0 when full). Producer only.
 * The copying form of reserve + commit.
 */
MQCAP_RING_INLINE uint32_t mqcap__ring_spsc_enqueue(struct mqcap_ring_spsc *r, const void *objs,
						uint32_t esize, uint32_t n, int bulk)
{
	uint32_t tail;
	uint32_t room = mqcap_ring_spsc_reserve(r, n, &tail);

	if (room < n && (bulk || room == 0))
		return 0;
	mqcap__ring_spsc_copy_in(r, tail, objs, esize, room);
	mqcap_ring_spsc_commit(r, room);
	return room;
}

/* Burst enqueue of n elements of esize (== the ring's) bytes from objs. Producer only. */
MQCAP_RING_INLINE uint32_t mqcap_ring_spsc_enqueue_burst_elem(struct mqcap_ring_spsc *r,
							  const void *objs, uint32_t esize,
							  uint32_t n)
{
	return mqcap__ring_spsc_enqueue(r, objs, esize, n, 0);
}

/* Bulk (all or nothing) enqueue of n elements of esize bytes. Producer only. */
MQCAP_RING_INLINE uint32_t mqcap_ring_spsc_enqueue_bulk_elem(struct mqcap_ring_spsc *r,
							 const void *objs, uint32_t esize,
							 uint32_t n)
{
	return mqcap__ring_spsc_enqueue(r, objs, esize, n, 1);
}

/* Burst enqueue of n pointers (ring created with esize sizeof(void *)). Producer only. */
MQCAP_RING_INLINE uint32_t mqcap_ring_spsc_enqueue_burst(struct mqcap_ring_spsc *r,
						     void *const *objs, uint32_t n)
{
	return mqcap__ring_spsc_enqueue(r, objs, sizeof(void *), n, 0);
}

/* Bulk enqueue of n pointers. Producer only. */
MQCAP_RING_INLINE uint32_t mqcap_ring_spsc_enqueue_bulk(struct mqcap_ring_spsc *r,
						    void *const *objs, uint32_t n)
{
	return mqcap__ring_spsc_enqueue(r, objs, sizeof(void *), n, 1);
}

/* Enqueue one pointer: 1, or 0 when full. Producer only. */
MQCAP_RING_INLINE uint32_t mqcap_ring_spsc_enqueue(struct mqcap_ring_spsc *r, void *obj)
{
	return mqcap__ring_spsc_enqueue(r, &obj, sizeof(void *), 1, 1);
}

/*
 * Wake a sleeping consumer now if anything waits, regardless of the watermarks. A producer
 * that uses wake_items > 1 calls this before it goes idle itself, so the last items never
 * wait for a watermark that will not come. Cheap when the consumer is awake. Producer only.
 */
MQCAP_RING_INLINE void mqcap_ring_spsc_flush(struct mqcap_ring_spsc *r)
{
	if (!(r->flags & MQCAP_RING_F_WAKE))
		return;
	if (mqcap__ring_spsc_wait_armed(r))
		mqcap__ring_spsc_wake_slow(r, r->prod_own.tail, 1);
}

/* ---- consumer ---- */

/* Items the consumer may read from index head; refreshes the cached tail only when short. */
MQCAP_RING_INLINE uint32_t mqcap__ring_spsc_cons_avail(struct mqcap_ring_spsc *r, uint32_t head,
						   uint32_t n)
{
	uint32_t avail = r->cons_own.limit - head;

	if (avail < n) {
		/* A2: pairs with R1, the producer's tail store after it filled the slots. */
		r->cons_own.limit = atomic_load_explicit(&r->prod.tail, memory_order_acquire);
		avail = r->cons_own.limit - head;
	}
	return avail;
}

MQCAP_RING_INLINE void mqcap__ring_spsc_copy_out(const struct mqcap_ring_spsc *r,
						 uint32_t head, void *objs, uint32_t esize,
						 uint32_t n)
{
	uint32_t idx = head & r->mask;
	uint32_t first = r->size - idx;
	unsigned char *dst = (unsigned char *)objs;

	if (first >= n) {
		mqcap__ring_copy(dst, r->slots + (size_t)idx * esize, esize, n);
	} else {
		mqcap__ring_copy(dst, r->slots + (size_t)idx * esize, esize, first);
		mqcap__ring_copy(dst + (size_t)first * esize, r->slots, esize, n - first);
	}
}

/*
 * Zero-copy dequeue, step 1: find up to n filled slots. Stores the first index in *idx
 * (slot i is mqcap_ring_spsc_slot(r, *idx + i)) and returns how many (0 when empty). The
 * slots stay owned by the consumer, unchanged, until release; peeking again before release
 * returns the same slots first. Consumer only.
 */
MQCAP_RING_INLINE uint32_t mqcap_ring_spsc_peek(struct mqcap_ring_spsc *r, uint32_t n,
					    uint32_t *idx)
{
	uint32_t head = r->cons_own.head;
	uint32_t avail = mqcap__ring_spsc_cons_avail(r, head, n);

	*idx = head;
	return avail < n ? avail : n;
}

/*
 * Zero-copy dequeue, step 2: give the first n peeked slots back to the producer (n <= what
 * peek returned; the rest stay in the ring for the next peek). Do not touch them afterwards.
 * Consumer only.
 */
MQCAP_RING_INLINE void mqcap_ring_spsc_release(struct mqcap_ring_spsc *r, uint32_t n)
{
	uint32_t head = r->cons_own.head + n;

	r->cons_own.head = head;
	/* R2: pairs with A1; release orders our slot reads before the producer may reuse
	 * the slots (the consumer must finish reading before it publishes, as ck_ring says). */
	atomic_store_explicit(&r->cons.head, head, memory_order_release);
}

/* The copying form of peek + release (bulk != 0: all n or none). Consumer only. */
MQCAP_RING_INLINE uint32_t mqcap__ring_spsc_dequeue(struct mqcap_ring_spsc *r, void *objs,
						uint32_t esize, uint32_t n, int bulk)
{
	uint32_t head;
	uint32_t avail = mqcap_ring_spsc_peek(r, n, &head);

	if (avail < n && (bulk || avail == 0))
		return 0;
	mqcap__ring_spsc_copy_out(r, head, objs, esize, avail);
	mqcap_ring_spsc_release(r, avail);
	return avail;
}

/* Burst dequeue of up to n elements of esize (== the ring's) bytes into objs. Consumer only. */
MQCAP_RING_INLINE uint32_t mqcap_ring_spsc_dequeue_burst_elem(struct mqcap_ring_spsc *r,
							  void *objs, uint32_t esize, uint32_t n)
{
	return mqcap__ring_spsc_dequeue(r, objs, esize, n, 0);
}

/* Bulk (all n or none) dequeue of elements of esize bytes. Consumer only. */
MQCAP_RING_INLINE uint32_t mqcap_ring_spsc_dequeue_bulk_elem(struct mqcap_ring_spsc *r,
							 void *objs, uint32_t esize, uint32_t n)
{
	return mqcap__ring_spsc_dequeue(r, objs, esize, n, 1);
}

/* Burst dequeue of up to n pointers. Consumer only. */
MQCAP_RING_INLINE uint32_t mqcap_ring_spsc_dequeue_burst(struct mqcap_ring_spsc *r, void **objs,
						     uint32_t n)
{
	return mqcap__ring_spsc_dequeue(r, objs, sizeof(void *), n, 0);
}

/* Bulk dequeue of n pointers. Consumer only. */
MQCAP_RING_INLINE uint32_t mqcap_ring_spsc_dequeue_bulk(struct mqcap_ring_spsc *r, void **objs,
						    uint32_t n)
{
	return mqcap__ring_spsc_dequeue(r, objs, sizeof(void *), n, 1);
}

/* Dequeue one pointer into *obj: 1, or 0 when empty. Consumer only. */
MQCAP_RING_INLINE uint32_t mqcap_ring_spsc_dequeue(struct mqcap_ring_spsc *r, void **obj)
{
	return mqcap__ring_spsc_dequeue(r, obj, sizeof(void *), 1, 1);
}

/*
 * Sleeping (rings with MQCAP_RING_F_WAKE; consumer only). Several rings and other fds:
 *
 *     for each ring: rc = mqcap_ring_spsc_prepare_wait(r)   -- 0: armed; -EAGAIN: items, don't sleep
 *     if all armed:  poll() every mqcap_ring_spsc_fd(r) for POLLIN, plus sockets
 *     for each armed ring: mqcap_ring_spsc_finish_wait(r)
 *
 * mqcap_ring_spsc_wait() does all three for one ring.
 */

/*
 * Arm the wake-up: from now the producer will write the fd when the watermarks are reached.
 * Returns 0 when armed (the ring was empty after arming), -EAGAIN when items are already
 * waiting, or when the membarrier(2) call failed so that a wake-up could be missed (then
 * nothing stays armed: do not sleep, and do not call finish_wait), -EINVAL without
 * MQCAP_RING_F_WAKE. Costs a membarrier(2) system call. Consumer only.
 */
int mqcap_ring_spsc_prepare_wait(struct mqcap_ring_spsc *r);

/* Disarm after a prepare_wait() that returned 0, and consume the fd's wake-up. Consumer only. */
void mqcap_ring_spsc_finish_wait(struct mqcap_ring_spsc *r);

/*
 * Sleep until items arrive (under the watermarks) or timeout_ms pass (-1: no limit, 0: just
 * check). Returns the number of items ready (may be 0 on timeout, on a signal, or rarely on a
 * stale wake-up: callers loop), or -EINVAL without MQCAP_RING_F_WAKE, or -errno from poll(2).
 * No system call when items are already waiting. Consumer only.
 */
int mqcap_ring_spsc_wait(struct mqcap_ring_spsc *r, int timeout_ms);

#ifdef __cplusplus
}
#endif

#endif
