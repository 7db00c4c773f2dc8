/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rss.h - Receive Side Scaling as a NIC computes it: the Toeplitz hash, its inputs, the
 * 40-byte key and the 128-entry indirection table that turns a hash into an RX queue.
 *
 * One implementation serves both sides of the testbed: the tc egress BPF program that
 * emulates an RSS NIC (bpf/rss_tc.bpf.c) and user space that predicts where a packet will
 * land (mqsend --rss, the capture tests). Everything up to the "user space only" marker is
 * static inline C with no libc, so BPF C can include this header; the functions below that
 * marker are in libmqcap (src/rss.c).
 *
 * Hash input, as the Microsoft RSS specification orders it (and as NICs do):
 *     IPv4 with ports:  saddr(4) daddr(4) sport(2) dport(2)    12 bytes
 *     IPv4:             saddr(4) daddr(4)                        8 bytes
 *     IPv6 with ports:  saddr(16) daddr(16) sport(2) dport(2)   36 bytes
 *     IPv6:             saddr(16) daddr(16)                     32 bytes
 * all in network byte order. Ports are used for TCP and UDP only, and only when the packet
 * is not an IP fragment (IPv4 MF or offset set; IPv6 with any extension header before the
 * transport header); other IP traffic hashes on the addresses; non-IP traffic is not
 * hashed and goes to queue 0.
 *
 * The queue is table[hash & 127] (MQCAP_RSS_TABLE_SIZE entries), as on ixgbe/i40e/mlx5.
 * Thread-safety: all functions are pure, or write only to caller-provided memory.
 */
#ifndef MQCAP_RSS_H
#define MQCAP_RSS_H

/* frame.h brings the integer types, also under __bpf__ where no libc header may be included
 * (tests/build/bpf_no_libc checks that). */
#include "mqcap/frame.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MQCAP_RSS_KEY_LEN    40  /* bytes of a Toeplitz key (enough for IPv6 + ports) */
#define MQCAP_RSS_TABLE_SIZE 128 /* entries of the indirection table */
#define MQCAP_RSS_INPUT_MAX  36  /* longest hash input: IPv6 addresses + ports */
#define MQCAP_RSS_MAX_QUEUES 256 /* queues the testbed's RSS program counts */

/* The key every Microsoft-compatible NIC documents as its default, and the key of the
 * published verification vectors. Use as an initialiser: uint8_t k[40] = MQCAP_RSS_KEY_MICROSOFT; */
#define MQCAP_RSS_KEY_MICROSOFT { \
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, \
	0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, \
	0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, \
	0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa }

/* 0x6d5a repeated: with a key whose 16-bit period matches the field layout, swapping source
 * and destination (addresses and ports together) leaves the hash unchanged, so both
 * directions of a flow land on one queue (Woo & Park, "Scalable TCP session monitoring with
 * symmetric receive-side scaling"). */
#define MQCAP_RSS_KEY_SYMMETRIC { \
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, \
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, \
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, \
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a }

/*
 * The Toeplitz hash of len input bytes (len <= MQCAP_RSS_INPUT_MAX; longer input is cut
 * there, because a 40-byte key covers 36 bytes). For every input bit set, from the most
 * significant bit of in[0] on, XOR in the 32-bit window of the key that starts at that bit.
 */
static inline uint32_t mqcap_rss_toeplitz(const uint8_t *key, const uint8_t *in, unsigned len)
{
	uint32_t hash = 0;
	uint32_t window = (uint32_t)key[0] << 24 | (uint32_t)key[1] << 16 |
			  (uint32_t)key[2] << 8 | key[3];
	unsigned i, b;

	/* Both bounds stated, so the BPF verifier sees a bounded loop and in-range key reads. */
	for (i = 0; i < MQCAP_RSS_INPUT_MAX && i < len; i++) {
		uint8_t byte = in[i];
		uint8_t next = key[i + 4];

		for (b = 0; b < 8; b++) {
			if (byte & (0x80u >> b))
				hash ^= window;
			window = window << 1 | ((next >> (7 - b)) & 1u);
		}
	}
	return hash;
}

/* Hash input builders. Addresses point at network-order bytes (as in the IP header, or
 * &sin_addr / &sin6_addr); ports are in host byte order. Each writes its input to out
 * (at least MQCAP_RSS_INPUT_MAX bytes) and returns its length. */
static inline unsigned mqcap_rss_input_ipv4(uint8_t *out, const void *saddr, const void *daddr)
{
	const uint8_t *s = (const uint8_t *)saddr, *d = (const uint8_t *)daddr;
	unsigned i;

	for (i = 0; i < 4; i++) {
		out[i] = s[i];
		out[4 + i] = d[i];
	}
	return 8;
}

static inline unsigned mqcap_rss_input_ipv4_ports(uint8_t *out, const void *saddr,
						  const void *daddr, uint16_t sport, uint16_t dport)
{
	mqcap_rss_input_ipv4(out, saddr, daddr);
	out[8] = (uint8_t)(sport >> 8);
	out[9] = (uint8_t)sport;
	out[10] = (uint8_t)(dport >> 8);
	out[11] = (uint8_t)dport;
	return 12;
}

static inline unsigned mqcap_rss_input_ipv6(uint8_t *out, const void *saddr, const void *daddr)
{
	const uint8_t *s = (const uint8_t *)saddr, *d = (const uint8_t *)daddr;
	unsigned i;

	for (i = 0; i < 16; i++) {
		out[i] = s[i];
		out[16 + i] = d[i];
	}
	return 32;
}

static inline unsigned mqcap_rss_input_ipv6_ports(uint8_t *out, const void *saddr,
						  const void *daddr, uint16_t sport, uint16_t dport)
{
	mqcap_rss_input_ipv6(out, saddr, daddr);
	out[32] = (uint8_t)(sport >> 8);
	out[33] = (uint8_t)sport;
	out[34] = (uint8_t)(dport >> 8);
	out[35] = (uint8_t)dport;
	return 36;
}

/* One-call hashes of a flow. with_ports: false gives the 2-tuple hash. */
static inline uint32_t mqcap_rss_hash_ipv4(const uint8_t *key, const void *saddr,
					   const void *daddr, uint16_t sport, uint16_t dport,
					   bool with_ports)
{
	uint8_t in[MQCAP_RSS_INPUT_MAX];
	unsigned n = with_ports ? mqcap_rss_input_ipv4_ports(in, saddr, daddr, sport, dport)
				: mqcap_rss_input_ipv4(in, saddr, daddr);

	return mqcap_rss_toeplitz(key, in, n);
}

static inline uint32_t mqcap_rss_hash_ipv6(const uint8_t *key, const void *saddr,
					   const void *daddr, uint16_t sport, uint16_t dport,
					   bool with_ports)
{
	uint8_t in[MQCAP_RSS_INPUT_MAX];
	unsigned n = with_ports ? mqcap_rss_input_ipv6_ports(in, saddr, daddr, sport, dport)
				: mqcap_rss_input_ipv6(in, saddr, daddr);

	return mqcap_rss_toeplitz(key, in, n);
}

/* The queue of a hash: the table entry its low 7 bits select. */
static inline uint16_t mqcap_rss_queue(const uint16_t *table, uint32_t hash)
{
	return table[hash & (MQCAP_RSS_TABLE_SIZE - 1)];
}

/*
 * Parse an Ethernet frame [data, end) with mqcap_frame_parse() (frame.h) and build its hash
 * input into in (MQCAP_RSS_INPUT_MAX bytes), exactly as the testbed's RSS program does: up
 * to two VLAN tags (0x8100, 0x88a8; QinQ) are skipped, IPv4 (with options) and IPv6 headers
 * are read, TCP/UDP ports are added when the packet is not a fragment and, for IPv6, no
 * extension header comes first. Tags the kernel keeps out of the frame (skb->vlan_tci) are
 * invisible here and need no skipping.
 * Returns the input length (8, 12, 32 or 36), 0 for a frame that is not hashed (not IP, or
 * an invalid IP header: queue 0), or -1 when the frame ends inside a header it needs (the
 * BPF program then pulls more of the packet into the linear area and retries; user space
 * treats it as not hashable: queue 0).
 */
static inline int mqcap_rss_input_frame(const uint8_t *data, const uint8_t *end, uint8_t *in)
{
	struct mqcap_frame f;
	const uint8_t *l3;
	int n;

	mqcap_frame_parse(data, end, &f);
	if (!f.ip_version)
		return f.truncated ? -1 : 0;
	/* The offsets come back as scalars: the pointer is checked against end again, so that
	 * the BPF verifier (and any reader) sees every read bounded. */
	l3 = data + f.l3_off;
	if (f.ip_version == 4) {
		if (l3 + 20 > end)
			return -1;
		n = (int)mqcap_rss_input_ipv4(in, l3 + 12, l3 + 16);
	} else {
		if (l3 + 40 > end)
			return -1;
		n = (int)mqcap_rss_input_ipv6(in, l3 + 8, l3 + 24);
	}
	/* Ports only where every packet of the flow has them at a fixed place. */
	if ((f.l4_proto != 6 && f.l4_proto != 17) ||
	    (f.flags & (MQCAP_FRAME_F_FRAG | MQCAP_FRAME_F_IP6_EXT)))
		return n;
	if (!(f.flags & MQCAP_FRAME_F_PORTS))
		return -1; /* the frame ends before the ports */
	in[n] = (uint8_t)(f.sport >> 8);
	in[n + 1] = (uint8_t)f.sport;
	in[n + 2] = (uint8_t)(f.dport >> 8);
	in[n + 3] = (uint8_t)f.dport;
	return n + 4;
}

#if !defined(__bpf__)
/* ---- user space only (libmqcap, src/rss.c) ---- */
#include <stddef.h>

/*
 * Fill table (MQCAP_RSS_TABLE_SIZE entries) for `queues` RX queues.
 * weights == NULL or nweights == 0: the kernel's default spread, entry i -> i % queues.
 * Otherwise queue q gets a share of the entries proportional to weights[q], in contiguous
 * runs (as `ethtool -X DEV weight W0 W1 ...` does); queues past nweights get weight 0.
 * Returns 0, or -EINVAL (queues 0 or above MQCAP_RSS_MAX_QUEUES, nweights > queues, all
 * weights zero).
 */
int mqcap_rss_table_fill(uint16_t *table, unsigned queues, const unsigned *weights,
			 unsigned nweights);

/* The queue a frame goes to (the user-space twin of the BPF program): hash the frame with
 * mqcap_rss_input_frame(), look it up in table. *hash (if not NULL) gets the hash, 0 for
 * frames that are not hashed. */
uint16_t mqcap_rss_frame_queue(const uint8_t *key, const uint16_t *table, const uint8_t *frame,
			       size_t len, uint32_t *hash);

/* Parse a key: 80 hex digits, optionally separated by ':' between bytes (ethtool's form).
 * Returns 0 or -EINVAL. */
int mqcap_rss_key_parse(const char *s, uint8_t *key);

/* Write a key as 80 lower-case hex digits plus NUL into buf (>= 81 bytes); returns buf. */
char *mqcap_rss_key_format(const uint8_t *key, char *buf, size_t len);

/* Parse a table written as MQCAP_RSS_TABLE_SIZE comma-separated queue numbers (the
 * testbed's RSS_TABLE). Returns 0 or -EINVAL. */
int mqcap_rss_table_parse(const char *s, uint16_t *table);

/* Write a table as comma-separated queue numbers into buf; returns 0, or -ENOSPC when len
 * is too small (6 * MQCAP_RSS_TABLE_SIZE bytes is always enough). */
int mqcap_rss_table_format(const uint16_t *table, char *buf, size_t len);
#endif /* !__bpf__ */

#ifdef __cplusplus
}
#endif

#endif
