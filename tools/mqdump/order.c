/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "order.h"

/* What a staged packet keeps beside its bytes. */
struct rec {
	uint64_t ts_ns;
	uint32_t caplen, len;
	uint32_t queue;
	uint16_t dev;
	uint16_t flags;
	uint32_t size;       /* of the record: header + bytes, a multiple of 8 */
	uint32_t pad;
};

static inline size_t rec_size(uint32_t caplen)
{
	return sizeof(struct rec) + (((size_t)caplen + 7) & ~(size_t)7);
}

int stage_init(struct stage *st, size_t bytes, uint32_t snaplen)
{
	memset(st, 0, sizeof(*st));
	if (bytes < 2 * rec_size(snaplen) + 8)
		bytes = 2 * rec_size(snaplen) + 8;
	st->buf = malloc(bytes);
	if (!st->buf)
		return -ENOMEM;
	st->cap = bytes;
	return 0;
}

void stage_free(struct stage *st)
{
	free(st->buf);
	st->buf = NULL;
}

bool stage_push(struct stage *st, const struct mqcap_pkt *p)
{
	size_t sz = rec_size(p->caplen);
	struct rec *r;

	if (!st->wrapped) {
		if (st->tail + sz > st->cap) {
			/* Wrap: the new record starts at 0 and must stay short of the head, so that
			 * tail == head can only mean "empty". */
			if (sz >= st->head)
				return false;
			st->end = st->tail;
			st->tail = 0;
			st->wrapped = true;
		}
	} else if (st->tail + sz >= st->head) {
		return false;
	}
	r = (struct rec *)(st->buf + st->tail);
	*r = (struct rec){ .ts_ns = p->ts_ns, .caplen = p->caplen, .len = p->len,
			   .queue = p->queue, .dev = p->dev, .flags = (uint16_t)p->flags,
			   .size = (uint32_t)sz };
	memcpy(r + 1, p->data, p->caplen);
	st->tail += sz;
	st->n++;
	return true;
}

bool stage_head(const struct stage *st, struct mqcap_pkt *out)
{
	const struct rec *r;

	if (!st->n)
		return false;
	r = (const struct rec *)(st->buf + st->head);
	memset(out, 0, sizeof(*out));
	out->data = (const uint8_t *)(r + 1);
	out->caplen = r->caplen;
	out->len = r->len;
	out->ts_ns = r->ts_ns;
	out->queue = (uint16_t)r->queue;
	out->dev = r->dev;
	out->flags = r->flags;
	return true;
}

uint64_t stage_head_ts(const struct stage *st)
{
	return st->n ? ((const struct rec *)(st->buf + st->head))->ts_ns : UINT64_MAX;
}

void stage_pop(struct stage *st)
{
	if (!st->n)
		return;
	st->head += ((const struct rec *)(st->buf + st->head))->size;
	st->n--;
	if (!st->n) {
		st->head = st->tail = 0;
		st->wrapped = false;
	} else if (st->wrapped && st->head == st->end) {
		st->head = 0;
		st->wrapped = false;
	}
}
