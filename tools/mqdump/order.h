/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * order.h - --time-order's staging: per queue of a shared output, a FIFO of copied packets
 * (the capture's views are valid only during the callback) from which the output takes the
 * oldest head of all its queues (a k-way merge by timestamp, sink.c). One contiguous buffer
 * per queue, records back to back, wrapping at the end; no allocation per packet.
 */
#ifndef MQDUMP_ORDER_H
#define MQDUMP_ORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqcap/mqcap.h"

struct stage {
	uint8_t *buf;
	size_t cap;
	size_t head, tail;   /* next record to read, where the next one is written */
	size_t end;          /* wrapped: where the records of the upper part end */
	bool wrapped;        /* records run head..end, then 0..tail */
	unsigned n;          /* records staged */
};

/* A stage of bytes bytes (at least room for two records of snaplen bytes). 0 or -ENOMEM. */
int stage_init(struct stage *st, size_t bytes, uint32_t snaplen);
void stage_free(struct stage *st);
/* Copy a packet in; false when there is no room (nothing changed). */
bool stage_push(struct stage *st, const struct mqcap_pkt *p);
/* The oldest staged packet as a view into the stage (valid until stage_pop()); false if empty. */
bool stage_head(const struct stage *st, struct mqcap_pkt *out);
/* Its timestamp without building the view; UINT64_MAX if empty. */
uint64_t stage_head_ts(const struct stage *st);
/* Drop the oldest staged packet. */
void stage_pop(struct stage *st);

#endif
