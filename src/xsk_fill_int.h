/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xsk_fill_int.h - giving UMEM frames back to an AF_XDP fill ring when the ring may be short
 * of room.
 *
 * Why the fill ring can be full although it has a slot for every UMEM frame: the kernel
 * publishes the RX producer (xskq_prod_submit(rx) in xsk_flush()) before it releases the
 * fill ring's consumer (__xskq_cons_release(fq)). A reader that peeks the new RX descriptors
 * and gives their frames back in between finds the fill ring still holding the slots of the
 * very frames it returns: xsk_ring_prod__reserve() then answers 0. Writing the addresses
 * anyway overwrote slots the kernel still owned and pushed the producer past the consumer:
 * frames lost, or handed to the kernel twice (two packets in one frame: corrupt payloads).
 * The kernel's AF_XDP selftests and xdpsock retry instead; so does this.
 *
 * A stash holds the frames that are due back to the fill ring and did not fit yet, in order.
 * Its capacity is the UMEM's frame count (a power of two): a frame is in exactly one place
 * (fill ring, RX ring, held by the reader, or in the stash), so it can never overflow.
 * One socket, one thread: no locks, no atomics beyond the ring's own.
 */
#ifndef MQCAP_XSK_FILL_INT_H
#define MQCAP_XSK_FILL_INT_H

#include <stdint.h>

#include <xdp/xsk.h>

struct mqcap__fill_stash {
	uint64_t *addr; /* capacity mask + 1 entries */
	uint32_t mask;
	uint32_t head;  /* next to give to the fill ring */
	uint32_t tail;  /* next free entry; tail - head frames wait */
};

/* Allocate a stash for frames (a power of two) frames. Returns 0 or -ENOMEM. */
int mqcap__fill_stash_init(struct mqcap__fill_stash *s, uint32_t frames);
void mqcap__fill_stash_free(struct mqcap__fill_stash *s);

/* Queue a frame (its base address in the UMEM) for the fill ring. */
static inline void mqcap__fill_stash_put(struct mqcap__fill_stash *s, uint64_t addr)
{
	s->addr[s->tail++ & s->mask] = addr;
}

static inline uint32_t mqcap__fill_stash_count(const struct mqcap__fill_stash *s)
{
	return s->tail - s->head;
}

/* Give as many stashed frames to the fill ring as it has room for now, oldest first, and
 * submit them. The rest stay stashed for the next call. Returns the number given. */
uint32_t mqcap__fill_flush(struct xsk_ring_prod *fill, struct mqcap__fill_stash *s);

#endif
