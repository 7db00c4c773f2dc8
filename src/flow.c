/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * flow.c - the symmetric flow hash of the software scheduler (include/mqcap/balance.h), on top
 * of the one frame parser (include/mqcap/frame.h, tunnels included).
 *
 * Why not Toeplitz (rss.h): the scheduler hashes every packet on the poller's core, and the
 * bitwise Toeplitz loop costs ~100 ns for an IPv6 5-tuple; the whole dispatch must stay under
 * 50 ns. Symmetry comes from ordering, not from a special key: each endpoint (address, port)
 * is folded to 64 bits, the two are sorted, then mixed with the protocol, so swapping source
 * and destination cannot change the result, for any input.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "mqcap/balance.h"
#include "mqcap/frame.h"
#include "flow_int.h"

#define K1 0x9e3779b97f4a7c15ull
#define K2 0xc2b2ae3d27d4eb4full
#define TUNNEL_DEPTH 2 /* tunnels inside tunnels: deep enough for real traffic, bounded */

static inline uint64_t mix64(uint64_t x)
{
	/* The murmur3 finaliser: every input bit reaches every output bit. */
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static inline uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static inline uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static inline uint64_t endpoint(const uint8_t *addr, unsigned alen, uint16_t port)
{
	uint64_t e;

	if (alen == 16)
		e = mix64(rd64(addr) * K1 ^ rd64(addr + 8));
	else if (alen == 6)
		e = (uint64_t)rd32(addr) << 16 | (uint64_t)(addr[4] << 8 | addr[5]);
	else
		e = rd32(addr);
	return e * K2 + port;
}

uint32_t mqcap__flow_key_hash(const struct mqcap__flow_key *k)
{
	uint64_t a = endpoint(k->saddr, k->alen, k->sport);
	uint64_t b = endpoint(k->daddr, k->alen, k->dport);
	uint64_t lo = a < b ? a : b, hi = a < b ? b : a;

	return (uint32_t)mix64(lo * K1 + (hi ^ (hi >> 29)) + k->proto);
}

/* The key of a parsed frame at base; false when it is not IP (no addresses read). */
static bool ip_key(const uint8_t *base, const struct mqcap_frame *f, struct mqcap__flow_key *k)
{
	unsigned alen;

	if (!f->ip_version)
		return false;
	alen = mqcap_frame_addr_len(f);
	memset(k, 0, sizeof(*k));
	memcpy(k->saddr, mqcap_frame_saddr(base, f), alen);
	memcpy(k->daddr, mqcap_frame_daddr(base, f), alen);
	k->alen = (uint8_t)alen;
	k->proto = f->l4_proto;
	/* Ports only outside fragments: a flow's later fragments have none, and its fragments
	 * must stay together (the first one too). */
	if ((f->flags & MQCAP_FRAME_F_PORTS) && !(f->flags & MQCAP_FRAME_F_FRAG)) {
		/* From the packet (F_PORTS: its 4 bytes are present), not from f: the parser
		 * stored the two ports separately a moment ago, and one wide load of both
		 * defeats store forwarding (it was a sixth of the dispatch time). */
		const uint8_t *l4 = base + f->l4_off;

		k->sport = mqcap_frame__be16(l4);
		k->dport = mqcap_frame__be16(l4 + 2);
	}
	return true;
}

int mqcap__flow_key(const uint8_t *data, uint32_t caplen, uint32_t flags,
		    struct mqcap__flow_key *k)
{
	const uint8_t *end = data + caplen;
	struct mqcap_frame f;

	memset(k, 0, sizeof(*k));
	if (!data || caplen < 14)
		return -1;
	mqcap_frame_parse(data, end, &f);
	if (!ip_key(data, &f, k)) {
		/* Not IP (or an IP header cut or invalid): the MAC pair and EtherType, so the frame
		 * still hashes stably and symmetrically. */
		memcpy(k->saddr, data + 6, 6);
		memcpy(k->daddr, data, 6);
		k->alen = 6;
		k->proto = mqcap_frame__be16(data + 12);
		return 0;
	}
	if (!(flags & MQCAP_FLOW_F_INNER))
		return 0;
	/* Tunnels: the inner flow replaces the outer one whenever its IP header parses. */
	for (int depth = 0; depth < TUNNEL_DEPTH; depth++) {
		struct mqcap_frame in;
		uint32_t off;
		uint16_t type;

		if (!mqcap_frame_tunnel(data, end, &f, &off, &type))
			break;
		if (type == 0) {
			data += off; /* an inner Ethernet frame: offsets now count from it */
			mqcap_frame_parse(data, end, &in);
		} else {
			mqcap_frame_parse_l3(data, end, off, type, &in);
		}
		if (!ip_key(data, &in, k))
			break;
		f = in;
	}
	return 0;
}

uint32_t mqcap_flow_hash(const uint8_t *data, uint32_t caplen, uint32_t flags)
{
	struct mqcap__flow_key k;

	if (mqcap__flow_key(data, caplen, flags, &k))
		return 0;
	return mqcap__flow_key_hash(&k);
}
