/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * flow.c - the symmetric flow hash of the software scheduler (include/mqcap/balance.h).
 *
 * Why not Toeplitz (rss.h): the scheduler hashes every packet on the poller's core, and the
 * bitwise Toeplitz loop costs ~100 ns for an IPv6 5-tuple; the scheduler needs < 50 ns for the
 * whole dispatch. Symmetry comes from ordering, not from a special key: each endpoint
 * (address, port) is folded to 64 bits, the two are sorted, then mixed with the protocol. So
 * swapping source and destination cannot change the result, for any input.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "mqcap/balance.h"
#include "flow_int.h"

#define K1 0x9e3779b97f4a7c15ull
#define K2 0xc2b2ae3d27d4eb4full

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

static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

enum { ETH_P_IPV4 = 0x0800, ETH_P_IPV6 = 0x86dd, ETH_P_8021Q = 0x8100, ETH_P_8021AD = 0x88a8,
       ETH_P_TEB = 0x6558 };
enum { PROTO_IPIP = 4, PROTO_TCP = 6, PROTO_UDP = 17, PROTO_IPV6 = 41, PROTO_GRE = 47,
       PROTO_SCTP = 132 };
#define VXLAN_PORT 4789
#define GTPU_PORT  2152
#define MAX_DEPTH  2 /* tunnels inside tunnels: deep enough for real traffic, bounded */

static int parse_ip(const uint8_t *p, const uint8_t *end, int version, uint32_t flags,
		    unsigned depth, struct mqcap__flow_key *k);

/* Ethernet at p: skip up to two VLAN tags, then IP, else the MAC pair. */
static int parse_eth(const uint8_t *p, const uint8_t *end, uint32_t flags, unsigned depth,
		     struct mqcap__flow_key *k)
{
	const uint8_t *mac = p;
	uint16_t type;

	if (end - p < 14)
		return -1;
	type = be16(p + 12);
	p += 14;
	for (int i = 0; i < 2 && (type == ETH_P_8021Q || type == ETH_P_8021AD); i++) {
		if (end - p < 4)
			return -1;
		type = be16(p + 2);
		p += 4;
	}
	if (type == ETH_P_IPV4 || type == ETH_P_IPV6) {
		/* A malformed IP header falls back to the MAC pair, so it still hashes stably. */
		if (parse_ip(p, end, type == ETH_P_IPV4 ? 4 : 6, flags, depth, k) == 0)
			return 0;
	}
	memset(k, 0, sizeof(*k));
	memcpy(k->saddr, mac + 6, 6);
	memcpy(k->daddr, mac, 6);
	k->alen = 6;
	k->proto = type;
	return 0;
}

/* A tunnel payload: replace k by the inner flow when the inner headers parse. */
static void inner(const uint8_t *p, const uint8_t *end, int what, uint32_t flags, unsigned depth,
		  struct mqcap__flow_key *k)
{
	struct mqcap__flow_key in;
	int rc;

	if (depth >= MAX_DEPTH || p > end)
		return;
	memset(&in, 0, sizeof(in));
	if (what == 0)
		rc = parse_eth(p, end, flags, depth + 1, &in);
	else
		rc = parse_ip(p, end, what, flags, depth + 1, &in);
	if (rc == 0)
		*k = in;
}

/* GRE (RFC 2784/2890): optional checksum, key and sequence words, then the protocol. */
static void gre(const uint8_t *p, const uint8_t *end, uint32_t flags, unsigned depth,
		struct mqcap__flow_key *k)
{
	unsigned len = 4;
	uint16_t f, type;

	if (end - p < 4)
		return;
	f = be16(p);
	type = be16(p + 2);
	if (f & 0x07ff) /* version != 0 (PPTP's enhanced GRE) or reserved bits: not ours */
		return;
	len += (f & 0x8000 ? 4 : 0) + (f & 0x2000 ? 4 : 0) + (f & 0x1000 ? 4 : 0);
	if ((size_t)(end - p) < len)
		return;
	if (type == ETH_P_IPV4 || type == ETH_P_IPV6)
		inner(p + len, end, type == ETH_P_IPV4 ? 4 : 6, flags, depth, k);
	else if (type == ETH_P_TEB)
		inner(p + len, end, 0, flags, depth, k);
}

/* GTP-U (3GPP TS 29.281): G-PDU messages carry an IP packet after the header and its
 * optional sequence/N-PDU/extension words and extension headers. */
static void gtpu(const uint8_t *p, const uint8_t *end, uint32_t flags, unsigned depth,
		 struct mqcap__flow_key *k)
{
	size_t len = 8;
	uint8_t next;

	if (end - p < 8 || (p[0] >> 5) != 1 || p[1] != 0xff)
		return;
	if (p[0] & 0x07) {
		if ((size_t)(end - p) < 12)
			return;
		next = (p[0] & 0x04) ? p[11] : 0;
		len = 12;
		for (int i = 0; next && i < 8; i++) {
			size_t elen;

			if ((size_t)(end - p) < len + 1)
				return;
			elen = (size_t)p[len] * 4;
			if (!elen || (size_t)(end - p) < len + elen)
				return;
			next = p[len + elen - 1];
			len += elen;
		}
		if (next)
			return;
	}
	if ((size_t)(end - p) <= len)
		return;
	if ((p[len] >> 4) == 4 || (p[len] >> 4) == 6)
		inner(p + len, end, p[len] >> 4, flags, depth, k);
}

/* The transport header at p of protocol proto: ports for TCP/UDP/SCTP, tunnels if asked. */
static void transport(const uint8_t *p, const uint8_t *end, uint32_t flags, unsigned depth,
		      struct mqcap__flow_key *k)
{
	if (k->proto == PROTO_TCP || k->proto == PROTO_UDP || k->proto == PROTO_SCTP) {
		if (end - p < 4)
			return;
		k->sport = be16(p);
		k->dport = be16(p + 2);
		if (!(flags & MQCAP_FLOW_F_INNER) || k->proto != PROTO_UDP || end - p < 8)
			return;
		if (k->dport == VXLAN_PORT && end - p >= 16 && (p[8] & 0x08))
			inner(p + 16, end, 0, flags, depth, k);
		else if (k->dport == GTPU_PORT)
			gtpu(p + 8, end, flags, depth, k);
		return;
	}
	if (!(flags & MQCAP_FLOW_F_INNER))
		return;
	if (k->proto == PROTO_GRE)
		gre(p, end, flags, depth, k);
	else if (k->proto == PROTO_IPIP || k->proto == PROTO_IPV6)
		inner(p, end, k->proto == PROTO_IPIP ? 4 : 6, flags, depth, k);
}

static int parse_ip(const uint8_t *p, const uint8_t *end, int version, uint32_t flags,
		    unsigned depth, struct mqcap__flow_key *k)
{
	if (version == 4) {
		unsigned ihl;

		if (end - p < 20 || (p[0] >> 4) != 4)
			return -1;
		ihl = (p[0] & 0x0fu) * 4u;
		if (ihl < 20 || (size_t)(end - p) < ihl)
			return -1;
		memcpy(k->saddr, p + 12, 4);
		memcpy(k->daddr, p + 16, 4);
		k->alen = 4;
		k->proto = p[9];
		/* MF or an offset: only the first fragment has the ports, so none use them. */
		if ((p[6] & 0x3f) || p[7])
			return 0;
		transport(p + ihl, end, flags, depth, k);
		return 0;
	}
	if (end - p < 40 || (p[0] >> 4) != 6)
		return -1;
	memcpy(k->saddr, p + 8, 16);
	memcpy(k->daddr, p + 24, 16);
	k->alen = 16;
	{
		uint8_t nh = p[6];
		const uint8_t *q = p + 40;

		/* Extension headers (RFC 8200 4.1): hop-by-hop, routing, destination options and
		 * mobility are 8-octet units after the first 8; AH counts 4-octet units; a fragment
		 * header means 2-tuple; ESP hides the rest. Bounded, every length checked. */
		for (int i = 0; i < 8; i++) {
			size_t len;

			if (nh == 0 || nh == 43 || nh == 60 || nh == 135) {
				if (end - q < 8)
					break;
				len = ((size_t)q[1] + 1) * 8;
			} else if (nh == 51) {
				if (end - q < 8)
					break;
				len = ((size_t)q[1] + 2) * 4;
			} else if (nh == 44) {
				if (end - q < 8)
					break;
				k->proto = q[0];
				return 0;
			} else {
				break;
			}
			if ((size_t)(end - q) < len) {
				nh = 59; /* truncated inside the chain: addresses only */
				break;
			}
			nh = q[0];
			q += len;
		}
		k->proto = nh;
		if (nh == 0 || nh == 43 || nh == 60 || nh == 135 || nh == 51 || nh == 59)
			return 0;
		transport(q, end, flags, depth, k);
	}
	return 0;
}

int mqcap__flow_key(const uint8_t *data, uint32_t caplen, uint32_t flags,
		    struct mqcap__flow_key *k)
{
	memset(k, 0, sizeof(*k));
	if (!data || caplen < 14)
		return -1;
	return parse_eth(data, data + caplen, flags, 0, k);
}

uint32_t mqcap_flow_hash(const uint8_t *data, uint32_t caplen, uint32_t flags)
{
	struct mqcap__flow_key k;

	if (mqcap__flow_key(data, caplen, flags, &k))
		return 0;
	return mqcap__flow_key_hash(&k);
}
