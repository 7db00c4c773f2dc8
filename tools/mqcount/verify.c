/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * verify.c - mqcount --verify: find the mqsend payload (include/mqcap/payload.h) in each frame
 * and keep, per flow, which sequence numbers arrived. Each worker owns a table (no locks);
 * the tables are merged at the end.
 *
 * A flow is (sender, flow id) for the full payload form, and (5-tuple, sender nibble) for the
 * compact form, which has no flow id. Sequence numbers are tracked in a 1024-wide window
 * behind the highest seen: inside it a repeat is a duplicate and a late one a reordering;
 * older stragglers count as reordered (they cannot be told from duplicates any more).
 * Loss = the span of sequence numbers seen (lowest..highest) minus the distinct ones seen,
 * so packets lost after a flow's last captured one are not counted.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "mqcap/frame.h"
#include "mqcap/payload.h"
#include "mqcount.h"

#define WIN 1024u

struct vkey {
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint8_t proto, form;
	uint16_t sender;
	uint32_t flow_id;
};

struct vflow {
	struct vkey key;
	bool used;
	uint64_t min, max, unique, dups, reorder;
	uint64_t win[WIN / 64]; /* bit (seq % WIN): seq seen, for seq in (max - WIN, max] */
};

int vtable_init(struct vtable *t)
{
	memset(t, 0, sizeof(*t));
	t->cap = 1024;
	t->flows = calloc(t->cap, sizeof(*t->flows));
	return t->flows ? 0 : -1;
}

void vtable_free(struct vtable *t)
{
	free(t->flows);
	t->flows = NULL;
}

static uint64_t key_hash(const struct vkey *k)
{
	const uint8_t *p = (const uint8_t *)k;
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

static struct vflow *lookup(struct vtable *t, const struct vkey *k);

static void grow(struct vtable *t)
{
	struct vflow *old = t->flows;
	unsigned ocap = t->cap;
	struct vflow *nf = calloc((size_t)ocap * 2, sizeof(*nf));

	if (!nf)
		return; /* keep going at a higher load factor */
	t->flows = nf;
	t->cap = ocap * 2;
	t->used = 0;
	for (unsigned i = 0; i < ocap; i++)
		if (old[i].used) {
			struct vflow *f = lookup(t, &old[i].key);

			if (f)
				*f = old[i];
		}
	free(old);
}

/* Find or create the flow of key k (NULL only when the table is completely full). */
static struct vflow *lookup(struct vtable *t, const struct vkey *k)
{
	uint64_t h;

	if (t->used * 2 >= t->cap)
		grow(t);
	h = key_hash(k);
	for (unsigned i = 0; i < t->cap; i++) {
		struct vflow *f = &t->flows[(h + i) & (t->cap - 1)];

		if (!f->used) {
			memset(f, 0, sizeof(*f));
			f->used = true;
			f->key = *k;
			t->used++;
			return f;
		}
		if (!memcmp(&f->key, k, sizeof(*k)))
			return f;
	}
	return NULL;
}

static inline bool win_test(const struct vflow *f, uint64_t s)
{
	return (f->win[(s % WIN) / 64] >> (s % 64)) & 1;
}

static inline void win_set(struct vflow *f, uint64_t s)
{
	f->win[(s % WIN) / 64] |= 1ull << (s % 64);
}

static void flow_seq(struct vflow *f, uint64_t s)
{
	if (!f->unique) {
		f->min = f->max = s;
		f->unique = 1;
		win_set(f, s);
		return;
	}
	if (s > f->max) {
		if (s - f->max >= WIN)
			memset(f->win, 0, sizeof(f->win));
		else
			for (uint64_t x = f->max + 1; x < s; x++)
				f->win[(x % WIN) / 64] &= ~(1ull << (x % 64));
		f->max = s;
		win_set(f, s);
		f->unique++;
		return;
	}
	if (f->max - s < WIN) {
		if (win_test(f, s) && s >= f->min) {
			f->dups++;
			return;
		}
		win_set(f, s);
	}
	f->reorder++;
	f->unique++;
	if (s < f->min)
		f->min = s;
}

/* Find the TCP/UDP payload of an Ethernet frame (frame.h checks every length field against
 * the bytes present); fills the 5-tuple part of k. Fragments carry no payload we can check. */
static const uint8_t *l4_payload(const uint8_t *p, uint32_t caplen, struct vkey *k, size_t *len)
{
	struct mqcap_frame f;
	unsigned alen;

	if (mqcap_frame_parse(p, p + caplen, &f) != MQCAP_FRAME_L4 ||
	    (f.l4_proto != 6 && f.l4_proto != 17) || (f.flags & MQCAP_FRAME_F_FRAG))
		return NULL;
	alen = mqcap_frame_addr_len(&f);
	memset(k->src, 0, 16);
	memset(k->dst, 0, 16);
	memcpy(k->src + 16 - alen, mqcap_frame_saddr(p, &f), alen);
	memcpy(k->dst + 16 - alen, mqcap_frame_daddr(p, &f), alen);
	k->proto = f.l4_proto;
	k->sport = f.sport;
	k->dport = f.dport;
	*len = f.payload_len;
	return p + f.payload_off;
}

void vtable_packet(struct vtable *t, const uint8_t *data, uint32_t caplen)
{
	struct vkey k;
	struct mqcap_payload pl;
	size_t len = 0;
	const uint8_t *pay;
	struct vflow *f;
	uint64_t seq;

	memset(&k, 0, sizeof(k));
	pay = l4_payload(data, caplen, &k, &len);
	if (!pay || mqcap_payload_decode(pay, len, &pl) == MQCAP_PAYLOAD_NONE) {
		t->foreign++;
		return;
	}
	if (!mqcap_payload_check_ok(pay, len)) {
		t->corrupt++;
		return;
	}
	k.form = pl.form;
	k.sender = pl.sender_id;
	if (pl.form == MQCAP_PAYLOAD_FULL) {
		/* The flow id names the flow: the 5-tuple is not part of the key. */
		memset(k.src, 0, sizeof(k.src));
		memset(k.dst, 0, sizeof(k.dst));
		k.sport = k.dport = 0;
		k.proto = 0;
		k.flow_id = pl.flow_id;
	}
	f = lookup(t, &k);
	if (!f)
		return;
	seq = pl.seq;
	if (pl.form == MQCAP_PAYLOAD_COMPACT && f->unique)
		seq = mqcap_payload_seq_extend(f->max, (uint32_t)pl.seq);
	t->payloads++;
	flow_seq(f, seq);
}

void vtable_merge(struct vtable *tabs, unsigned n, struct vresult *out)
{
	struct vtable all;

	memset(out, 0, sizeof(*out));
	if (vtable_init(&all))
		return;
	for (unsigned i = 0; i < n; i++) {
		out->payloads += tabs[i].payloads;
		out->corrupt += tabs[i].corrupt;
		out->foreign += tabs[i].foreign;
		for (unsigned j = 0; j < tabs[i].cap; j++) {
			const struct vflow *src = &tabs[i].flows[j];
			struct vflow *dst;

			if (!src->used)
				continue;
			dst = lookup(&all, &src->key);
			if (!dst)
				continue;
			/* A flow seen by two threads (RSS changed under us) merges its span; its
			 * duplicates across threads cannot be seen. */
			if (!dst->unique) {
				dst->min = src->min;
				dst->max = src->max;
			} else {
				if (src->min < dst->min)
					dst->min = src->min;
				if (src->max > dst->max)
					dst->max = src->max;
			}
			dst->unique += src->unique;
			dst->dups += src->dups;
			dst->reorder += src->reorder;
		}
	}
	for (unsigned j = 0; j < all.cap; j++) {
		const struct vflow *f = &all.flows[j];
		uint64_t span;

		if (!f->used)
			continue;
		out->flows++;
		span = f->max - f->min + 1;
		out->expected += span;
		if (span > f->unique) {
			out->lost += span - f->unique;
			out->flows_with_loss++;
		}
		out->duplicates += f->dups;
		out->reordered += f->reorder;
	}
	vtable_free(&all);
}
