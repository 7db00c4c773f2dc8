/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * flows.c - packet templates and the per-thread generator.
 *
 * Every flow's Ethernet/VLAN/IP/L4 headers are built once, with the sums of everything that
 * does not change per packet kept aside. Per packet the generator copies the headers, writes
 * the verification payload (whose checksum makes the payload sum to 0xffff, so it adds
 * nothing to the L4 checksum), and fills the lengths and both checksums from the partial
 * sums: a few adds, no pass over the packet. That is what makes one core outrun a generator
 * that recomputes checksums over each packet.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mqcap/payload.h>

#include "mqsend.h"

/* Filler: byte i of the payload is i & 0xff (as mqcap_payload_encode() writes it). */
static uint8_t filler[MQS_FRAME_MAX];
/* filler_sum[n]: one's-complement sum of the filler behind the payload header in an L4
 * payload of n bytes. */
static uint32_t filler_sum[MQS_FRAME_MAX];

void mqs_filler_init(void)
{
	for (unsigned i = 0; i < MQS_FRAME_MAX; i++)
		filler[i] = (uint8_t)i;
	for (unsigned n = 0; n < MQS_FRAME_MAX; n++) {
		size_t hl = mqcap_payload_header_len(n);

		filler_sum[n] = hl && n > hl ? mqcap_payload_sum(filler + hl, n - hl, 0) : 0;
	}
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

unsigned mqs_hdr_len(const struct mqs_opts *o)
{
	return 14 + 4 * o->nvlan + (o->dst.v6 ? 40 : 20) + (o->proto == IPPROTO_TCP ? 20 : 8);
}

/* The i-th address of a range (IPv4: the 32-bit address; IPv6: the low 32 bits vary). */
static void range_addr(const struct mqs_range *r, uint32_t i, uint8_t *out)
{
	unsigned off = r->v6 ? 12 : 0;
	uint32_t base = (uint32_t)r->lo[off] << 24 | (uint32_t)r->lo[off + 1] << 16 |
			(uint32_t)r->lo[off + 2] << 8 | r->lo[off + 3];
	uint32_t a = base + i;

	memcpy(out, r->lo, 16);
	out[off] = (uint8_t)(a >> 24);
	out[off + 1] = (uint8_t)(a >> 16);
	out[off + 2] = (uint8_t)(a >> 8);
	out[off + 3] = (uint8_t)a;
}

static uint64_t range_count(const struct mqs_range *r)
{
	unsigned off = r->v6 ? 12 : 0;
	uint32_t lo = (uint32_t)r->lo[off] << 24 | (uint32_t)r->lo[off + 1] << 16 |
		      (uint32_t)r->lo[off + 2] << 8 | r->lo[off + 3];
	uint32_t hi = (uint32_t)r->hi[off] << 24 | (uint32_t)r->hi[off + 1] << 16 |
		      (uint32_t)r->hi[off + 2] << 8 | r->hi[off + 3];

	return (uint64_t)hi - lo + 1;
}

static void tmpl_build(const struct mqs_opts *o, struct mqs_tmpl *t, const uint8_t *saddr,
		       const uint8_t *daddr, unsigned sport, unsigned dport, uint32_t flow)
{
	uint8_t *h = t->hdr, *ip, *l4;
	unsigned off = 12, alen = o->dst.v6 ? 16 : 4;
	uint32_t sum = 0;

	memset(t, 0, sizeof(*t));
	memcpy(h, o->dst_mac, 6);
	memcpy(h + 6, o->src_mac, 6);
	if (o->nvlan == 2) {
		put16(h + off, 0x88a8);
		put16(h + off + 2, (uint16_t)o->vlan[0]);
		put16(h + off + 4, 0x8100);
		put16(h + off + 6, (uint16_t)o->vlan[1]);
		off += 8;
	} else if (o->nvlan == 1) {
		put16(h + off, 0x8100);
		put16(h + off + 2, (uint16_t)o->vlan[0]);
		off += 4;
	}
	put16(h + off, o->dst.v6 ? 0x86dd : 0x0800);
	off += 2;
	t->l3_off = (uint8_t)off;
	ip = h + off;
	if (o->dst.v6) {
		ip[0] = 0x60;
		ip[6] = o->proto;
		ip[7] = 64;
		memcpy(ip + 8, saddr, 16);
		memcpy(ip + 24, daddr, 16);
		off += 40;
		t->v6 = 1;
	} else {
		ip[0] = 0x45;
		ip[6] = 0x40; /* DF */
		ip[8] = 64;
		ip[9] = o->proto;
		memcpy(ip + 12, saddr, 4);
		memcpy(ip + 16, daddr, 4);
		t->ip_part = mqcap_payload_sum(ip, 20, 0);
		off += 20;
	}
	t->l4_off = (uint8_t)off;
	l4 = h + off;
	put16(l4, (uint16_t)sport);
	put16(l4 + 2, (uint16_t)dport);
	if (o->proto == IPPROTO_TCP) {
		/* A data segment of an established connection: ACK set, sequence number unique
		 * per flow so the flows stay told apart even by tools that ignore the payload. */
		l4[4] = (uint8_t)(flow >> 24);
		l4[5] = (uint8_t)(flow >> 16);
		l4[6] = (uint8_t)(flow >> 8);
		l4[7] = (uint8_t)flow;
		l4[12] = 5 << 4;
		l4[13] = 0x10;
		put16(l4 + 14, 65535);
		off += 20;
	} else {
		off += 8;
	}
	t->proto = o->proto;
	t->hdr_len = (uint8_t)off;
	/* Pseudo header without its length, then the L4 header with zero length/checksum. */
	sum = mqcap_payload_sum(saddr, alen, 0);
	sum = mqcap_payload_sum(daddr, alen, sum);
	sum += o->proto;
	sum = mqcap_payload_sum(l4, (unsigned)(h + off - l4), sum);
	t->l4_part = sum;
}

int mqs_flows_build(const struct mqs_opts *o, struct mqs_tmpl **tmpl, uint32_t *nflows)
{
	uint64_t ns = range_count(&o->src), nd = range_count(&o->dst);
	uint64_t nsp = o->sport_hi - o->sport_lo + 1, ndp = o->dport_hi - o->dport_lo + 1;
	uint64_t n = ns * nd;
	struct mqs_tmpl *t;
	uint8_t sa[16], da[16];

	/* Each factor first: two full IPv4 ranges make 2^32 * 2^32, which wraps to 0. */
	if (ns > MQS_MAX_FLOWS || nd > MQS_MAX_FLOWS || n > MQS_MAX_FLOWS ||
	    n * nsp > MQS_MAX_FLOWS || n * nsp * ndp > MQS_MAX_FLOWS)
		return -E2BIG;
	n = n * nsp * ndp;
	t = calloc(n, sizeof(*t));
	if (!t)
		return -ENOMEM;
	/* Destination address varies fastest: consecutive packets go to rotating destinations,
	 * as in the paper's workload; then destination port, source port, source address. */
	for (uint64_t i = 0; i < n; i++) {
		uint64_t r = i;
		uint32_t di = (uint32_t)(r % nd);
		unsigned dp, sp;
		uint32_t si;

		r /= nd;
		dp = o->dport_lo + (unsigned)(r % ndp);
		r /= ndp;
		sp = o->sport_lo + (unsigned)(r % nsp);
		r /= nsp;
		si = (uint32_t)r;
		range_addr(&o->src, si, sa);
		range_addr(&o->dst, di, da);
		tmpl_build(o, &t[i], sa, da, sp, dp, (uint32_t)i);
		if (o->rss) {
			uint32_t h = o->dst.v6 ? mqcap_rss_hash_ipv6(o->rss_key, sa, da, (uint16_t)sp,
								     (uint16_t)dp, true)
					       : mqcap_rss_hash_ipv4(o->rss_key, sa, da, (uint16_t)sp,
								     (uint16_t)dp, true);

			t[i].queue = mqcap_rss_queue(o->rss_table, h);
		}
	}
	*tmpl = t;
	*nflows = (uint32_t)n;
	return 0;
}

/* A small, fast generator for size ranges; deterministic so runs repeat. */
static uint32_t xorshift32(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

void mqs_sizes_build(const struct mqs_opts *o, uint16_t *sizes)
{
	/* Simple IMIX: 7 x 64, 4 x 594, 1 x 1518 bytes (with FCS), interleaved so no size
	 * comes in long runs. */
	static const unsigned imix[12] = { 64, 594, 64, 64, 1518, 64, 594, 64, 64, 594, 64, 594 };
	unsigned lo = mqs_hdr_len(o) + MQCAP_PAYLOAD_MIN_LEN;
	unsigned hi = o->mtu + 14 + (o->nvlan ? 4 : 0);
	uint32_t seed = 0x9e3779b9u;

	for (unsigned i = 0; i < MQS_SIZES; i++) {
		unsigned s;

		if (o->imix)
			s = imix[i % 12] - MQS_FCS;
		else if (o->size_hi > o->size_lo)
			s = o->size_lo + xorshift32(&seed) % (o->size_hi - o->size_lo + 1) - MQS_FCS;
		else
			s = o->size_lo - MQS_FCS;
		/* IMIX sizes are a mix, not a promise: keep them inside what the headers and the
		 * MTU allow (the fixed and range sizes were checked when parsed). */
		if (s < lo)
			s = lo;
		if (s > hi)
			s = hi;
		sizes[i] = (uint16_t)s;
	}
}

void mqs_frame_finish(const struct mqs_tmpl *t, uint8_t *frame, unsigned len)
{
	uint8_t *ip = frame + t->l3_off, *l4 = frame + t->l4_off;
	unsigned l4len = len - t->l4_off;
	/* The payload sums to 0xffff by construction of its check. */
	uint32_t sum = t->l4_part + l4len + 0xffff;
	uint16_t cs;

	if (t->v6) {
		put16(ip + 4, (uint16_t)l4len);
	} else {
		unsigned tot = len - t->l3_off;

		put16(ip + 2, (uint16_t)tot);
		put16(ip + 10, (uint16_t)~mqcap_payload_fold(t->ip_part + tot));
	}
	if (t->proto == IPPROTO_UDP) {
		put16(l4 + 4, (uint16_t)l4len);
		sum += l4len;
		cs = (uint16_t)~mqcap_payload_fold(sum);
		put16(l4 + 6, cs ? cs : 0xffff);
	} else {
		put16(l4 + 16, (uint16_t)~mqcap_payload_fold(sum));
	}
}

unsigned mqs_gen_peek_len(const struct mqs_gen *g)
{
	if (g->file) {
		if (g->rec_pos >= g->file->n)
			return 0;
		return g->file->recs[g->rec_pos].len;
	}
	return g->sizes[g->size_pos];
}

uint64_t mqs_gen_replay_due(struct mqs_gen *g)
{
	const struct mqs_file *f = g->file;

	if (g->rec_pos >= f->n)
		return 0;
	return g->loop_base_ns + (f->recs[g->rec_pos].ts_ns - f->recs[0].ts_ns);
}

unsigned mqs_gen_next(struct mqs_gen *g, uint8_t *dst, unsigned *sock)
{
	const struct mqs_tmpl *t;
	struct mqcap_payload pl;
	unsigned len, plen;
	size_t hl;
	uint8_t *p;
	uint32_t hsum;

	if (g->file) {
		const struct mqs_file *f = g->file;
		const struct mqs_rec *r;

		if (g->rec_pos >= f->n)
			return 0;
		r = &f->recs[g->rec_pos];
		memcpy(dst, f->data + r->off, r->len);
		*sock = 0;
		if (++g->rec_pos == f->n) {
			g->loops_done++;
			if (!g->o->loops || g->loops_done < g->o->loops) {
				/* The next loop starts one mean gap after this one ends. */
				uint64_t span = f->recs[f->n - 1].ts_ns - f->recs[0].ts_ns;

				g->loop_base_ns += span + (f->n > 1 ? span / (f->n - 1) : 0);
				g->rec_pos = 0;
			}
		}
		return r->len;
	}
	t = &g->tmpl[g->flows[g->pos]];
	len = g->sizes[g->size_pos];
	g->size_pos = (g->size_pos + 1) & (MQS_SIZES - 1);
	memcpy(dst, t->hdr, t->hdr_len);
	p = dst + t->hdr_len;
	plen = len - t->hdr_len;
	hl = mqcap_payload_header_len(plen);
	if (plen > hl)
		memcpy(p + hl, filler + hl, plen - hl);
	pl.seq = g->seq[g->pos]++;
	pl.flow_id = g->flows[g->pos];
	pl.sender_id = g->sender_id;
	pl.flags = 0;
	pl.form = 0;
	hsum = mqcap_payload_write_header(p, plen, &pl);
	mqcap_payload_finish(p, plen, hsum, filler_sum[plen]);
	mqs_frame_finish(t, dst, len);
	*sock = g->flow_sock ? g->flow_sock[g->pos] : 0;
	if (++g->pos == g->nflows)
		g->pos = 0;
	return len;
}
