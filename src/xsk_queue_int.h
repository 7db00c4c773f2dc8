/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xsk_queue_int.h - one AF_XDP socket bound to one RX queue, with its own UMEM.
 *
 * Every UMEM frame is always in exactly one place: the fill ring (the kernel may write a
 * packet into it), the RX ring (a packet waits), held by the reader (peeked and handed to
 * the user as a view), or stashed on its way back to the fill ring when the kernel has not
 * released the fill ring's slots yet (xsk_fill_int.h says why that happens although the
 * fill ring is as large as the UMEM). One socket, one thread: nothing here takes a lock.
 *
 * The socket is opaque so that users of this header do not see libxdp's headers (whose
 * <linux/bpf.h> clashes with libpcap's <pcap/bpf.h> in the same file).
 */
#ifndef MQCAP_XSK_QUEUE_INT_H
#define MQCAP_XSK_QUEUE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/if_xdp.h>

#include "error_int.h"

struct mqcap__xsk;

struct mqcap__xsk_cfg {
	uint32_t frames;        /* UMEM frames, rounded up to a power of two; 0 = 4096 */
	bool zerocopy;          /* require zero-copy: -EOPNOTSUPP where the driver lacks it */
	bool busy_poll;         /* SO_PREFER_BUSY_POLL + SO_BUSY_POLL(_BUDGET) */
	uint32_t busy_budget;   /* packets per busy-poll round; 0 = 64 */
};

/* A received frame, in place in the UMEM. */
struct mqcap__xsk_frame {
	const uint8_t *data;
	uint32_t len;
};

/* Create the UMEM, fill it, create the socket and bind it to queue of dev (in the caller's
 * network namespace). Errors: -EBUSY (another socket is bound to the queue), -EOPNOTSUPP
 * (zero-copy required but unavailable), -ENOMEM, ... with a message; nothing left open. */
int mqcap__xsk_open(struct mqcap__xsk **out, const char *dev, unsigned queue,
		    const struct mqcap__xsk_cfg *cfg, struct mqcap__err *e);

/* Up to max further received frames, in order. They stay held (their memory untouched by
 * the kernel) until mqcap__xsk_release(). */
uint32_t mqcap__xsk_peek(struct mqcap__xsk *x, struct mqcap__xsk_frame *out, uint32_t max);

/* Free the RX slots of every held frame and give the frames back to the fill ring, now or,
 * for those the ring has no room for yet, on a later release or kick. */
void mqcap__xsk_release(struct mqcap__xsk *x);

/* Nothing to read: give the fill ring the frames still due to it, and let the kernel run the
 * queue's NAPI now when it asked for a wakeup, or on every call with busy polling (the
 * syscall is what busy-polls). */
void mqcap__xsk_kick(struct mqcap__xsk *x);

/* The socket's XDP_STATISTICS. Returns 0 or -errno. */
int mqcap__xsk_stats(const struct mqcap__xsk *x, struct xdp_statistics *st);

int mqcap__xsk_fd(const struct mqcap__xsk *x);

/* True when the kernel bound the socket in zero-copy mode. */
bool mqcap__xsk_zerocopy(const struct mqcap__xsk *x);

/* Close the socket and free the UMEM. NULL is ignored. */
void mqcap__xsk_close(struct mqcap__xsk *x);

#endif
