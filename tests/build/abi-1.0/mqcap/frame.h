/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * frame.h - the one bounds-checked parser of Ethernet frame headers: VLAN tags, IPv4/IPv6
 * (with IPv6 extension headers), and the TCP/UDP/SCTP ports and payload. Every reader of
 * frame headers in mqcap uses it: mqcount --verify, the RSS hash input (rss.h, and through
 * it the testbed's tc BPF program), the capture tests' probes.
 *
 * Why one parser: length fields come from the wire (IHL, TCP data offset, IPv6 extension
 * header lengths, the IP total length) and each one must be checked against the bytes
 * present before it moves a pointer. Four hand-written walkers got that wrong in different
 * places (an IHL of 60 in a 60-byte frame made verify.c read 2^64 bytes); one parser gets it
 * right once and is fuzzed (tests/fuzz/fuzz_frame.c).
 *
 * What it reads:
 *   Ethernet II, then up to MQCAP_FRAME_VLAN_MAX tags (0x8100 802.1Q, 0x88a8 802.1ad: QinQ).
 *     Tags the kernel keeps out of the frame (skb->vlan_tci) are not in the bytes and are
 *     not seen. A third tag is left unparsed: ethertype is then the tag's TPID.
 *   IPv4: version, IHL >= 20 and present, total length >= IHL; fragments (MF or an offset)
 *     are flagged, and only a first fragment (offset 0) has its transport header read.
 *   IPv6: the fixed header, then up to MQCAP_FRAME_IP6_EXT_MAX extension headers
 *     (hop-by-hop 0, routing 43, fragment 44, destination options 60, AH 51), each checked
 *     against the bytes present; a fragment header with a non-zero offset ends the walk.
 *   TCP (data offset >= 20 and present), UDP (8 bytes), SCTP (12-byte common header):
 *     ports and the offset of the payload. Other transports: l4_off and l4_proto only.
 *   Tunnels (mqcap_frame_tunnel(), for the scheduler's inner-header hash): GRE, VXLAN,
 *     GTP-U and IP-in-IP say where their inner packet starts; an inner IP packet without
 *     an Ethernet header is parsed by mqcap_frame_parse_l3().
 *
 * The result says how far the parse got (the return value), and where and why it stopped:
 * `truncated` names the layer in which the bytes ran out, `malformed` the layer whose header
 * is invalid. A frame can be both cut short by the capture (snap length) and well formed:
 * then MQCAP_FRAME_F_CUT is set, payload_len counts only the bytes present.
 *
 * Usable from BPF C: everything here is static inline, uses no libc when __bpf__ is
 * defined, walks with pointers compared against `end` before every read (the verifier's
 * packet-access rule) and loops only with constant bounds. Offsets in the result are
 * scalars: BPF code re-derives a pointer (data + off) and compares it with data_end again
 * before reading through it.
 *
 * Thread-safety: pure; writes only *f.
 */
#ifndef MQCAP_FRAME_H
#define MQCAP_FRAME_H

#if defined(__bpf__)
/* BPF objects include no libc header (see tests/build/bpf_no_libc.sh): the kernel's uapi
 * types carry the same widths. rss.h relies on these definitions too. */
#include <linux/types.h>
#ifndef MQCAP_BPF_STDINT
#define MQCAP_BPF_STDINT
typedef __u8 uint8_t;
typedef __u16 uint16_t;
typedef __u32 uint32_t;
typedef __u64 uint64_t;
typedef _Bool bool;
#define true 1
#define false 0
#endif
#else
#include <stdbool.h>
#include <stdint.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define MQCAP_FRAME_VLAN_MAX    2 /* tags skipped: 802.1Q, or QinQ's outer 802.1ad + inner */
#define MQCAP_FRAME_IP6_EXT_MAX 6 /* IPv6 extension headers walked before giving up */

/* Layers, as return values and in `truncated` / `malformed` (0 there: none). */
enum mqcap_frame_layer {
	MQCAP_FRAME_NONE = 0, /* not even an Ethernet header */
	MQCAP_FRAME_L2 = 2,   /* Ethernet (and tags) */
	MQCAP_FRAME_L3 = 3,   /* IPv4 / IPv6 header (and IPv6 extension headers) */
	MQCAP_FRAME_L4 = 4,   /* TCP / UDP / SCTP header */
};

/* Flags in mqcap_frame.flags. */
#define MQCAP_FRAME_F_FRAG    0x01 /* an IP fragment (IPv4 MF/offset, IPv6 fragment header) */
#define MQCAP_FRAME_F_IP6_EXT 0x02 /* IPv6 extension headers precede the transport */
#define MQCAP_FRAME_F_PORTS   0x04 /* sport/dport are valid (TCP, UDP, SCTP) */
#define MQCAP_FRAME_F_CUT     0x08 /* the frame ends before the IP length says (snap length) */

struct mqcap_frame {
	uint32_t l3_off;      /* offset of the header after the tags (valid from MQCAP_FRAME_L2) */
	uint32_t l4_off;      /* transport header; 0 when not reached */
	uint32_t payload_off; /* L4 payload (after TCP/UDP/SCTP header); 0 when not reached */
	uint32_t payload_len; /* L4 payload bytes present: up to the IP length or the frame end */
	uint32_t ip_end;      /* offset where the IP packet ends by its length field; 0: not IP */
	uint16_t ethertype;   /* after the tags (host order) */
	uint16_t vlan_tci[MQCAP_FRAME_VLAN_MAX]; /* outer first (host order) */
	uint16_t sport, dport;                   /* host order; valid with MQCAP_FRAME_F_PORTS */
	uint16_t frag_off;    /* fragment offset in bytes (with MQCAP_FRAME_F_FRAG) */
	uint8_t vlans;        /* tags skipped (0..MQCAP_FRAME_VLAN_MAX) */
	uint8_t ip_version;   /* 4 or 6 once the fixed IP header is read, else 0 */
	uint8_t l4_proto;     /* transport protocol number (after IPv6 extension headers) */
	uint8_t flags;        /* MQCAP_FRAME_F_* */
	uint8_t truncated;    /* layer whose bytes ran out (enum mqcap_frame_layer), 0: none */
	uint8_t malformed;    /* layer whose header is invalid, 0: none */
};

static inline uint16_t mqcap_frame__be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The transport header at p (offset off, IP packet ending at ip_end): ports and payload. */
static inline int mqcap_frame__l4(const uint8_t *p, const uint8_t *end, uint32_t off,
				  struct mqcap_frame *f)
{
	uint32_t hl, stop;

	f->l4_off = off;
	if (f->l4_proto != 6 && f->l4_proto != 17 && f->l4_proto != 132)
		return MQCAP_FRAME_L3;
	if (p + 4 > end) {
		f->truncated = MQCAP_FRAME_L4;
		return MQCAP_FRAME_L3;
	}
	f->sport = mqcap_frame__be16(p);
	f->dport = mqcap_frame__be16(p + 2);
	f->flags |= MQCAP_FRAME_F_PORTS;
	if (f->l4_proto == 6) {
		if (p + 20 > end) {
			f->truncated = MQCAP_FRAME_L4;
			return MQCAP_FRAME_L3;
		}
		hl = (uint32_t)(p[12] >> 4) * 4u;
		if (hl < 20) {
			f->malformed = MQCAP_FRAME_L4;
			return MQCAP_FRAME_L3;
		}
	} else {
		hl = f->l4_proto == 17 ? 8 : 12;
	}
	if (off + hl > f->ip_end) {
		f->malformed = MQCAP_FRAME_L4; /* the header claims more than the IP packet holds */
		return MQCAP_FRAME_L3;
	}
	if (p + hl > end) {
		f->truncated = MQCAP_FRAME_L4;
		return MQCAP_FRAME_L3;
	}
	f->payload_off = off + hl;
	/* Bytes present: up to the IP packet's end, or the frame's end when the capture was cut
	 * (then F_CUT is set). Ethernet padding after the IP packet is not payload. */
	stop = f->ip_end;
	if (f->flags & MQCAP_FRAME_F_CUT)
		stop = (uint32_t)(end - p) + off;
	f->payload_len = stop - f->payload_off;
	return MQCAP_FRAME_L4;
}

/* The IP header at p (offset off in the frame, cap bytes captured), of EtherType proto: the part of
 * mqcap_frame_parse() after the Ethernet header, shared with mqcap_frame_parse_l3(). */
static inline int mqcap_frame__l3(const uint8_t *p, const uint8_t *end, uint32_t off, uint32_t cap,
				  uint16_t proto, struct mqcap_frame *f)
{
	uint32_t hl;
	int i;

	f->ethertype = proto;
	f->l3_off = off;

	if (proto == 0x0800) {
		uint32_t tot;

		if (p + 20 > end) {
			f->truncated = MQCAP_FRAME_L3;
			return MQCAP_FRAME_L2;
		}
		hl = (uint32_t)(p[0] & 0x0fu) * 4u;
		tot = mqcap_frame__be16(p + 2);
		if ((p[0] >> 4) != 4 || hl < 20 || tot < hl) {
			f->malformed = MQCAP_FRAME_L3;
			return MQCAP_FRAME_L2;
		}
		if (p + hl > end) {
			f->truncated = MQCAP_FRAME_L3;
			return MQCAP_FRAME_L2;
		}
		f->ip_version = 4;
		f->l4_proto = p[9];
		f->ip_end = off + tot;
		if (f->ip_end > cap)
			f->flags |= MQCAP_FRAME_F_CUT;
		f->frag_off = (uint16_t)((mqcap_frame__be16(p + 6) & 0x1fffu) * 8u);
		if ((p[6] & 0x20) || f->frag_off)
			f->flags |= MQCAP_FRAME_F_FRAG;
		if (f->frag_off) /* the transport header is in the first fragment only */
			return MQCAP_FRAME_L3;
		return mqcap_frame__l4(p + hl, end, off + hl, f);
	}
	if (proto != 0x86dd)
		return MQCAP_FRAME_L2;

	if (p + 40 > end) {
		f->truncated = MQCAP_FRAME_L3;
		return MQCAP_FRAME_L2;
	}
	if ((p[0] >> 4) != 6) {
		f->malformed = MQCAP_FRAME_L3;
		return MQCAP_FRAME_L2;
	}
	f->ip_version = 6;
	f->l4_proto = p[6];
	/* A payload length of 0 is a jumbogram (RFC 2675) or a malformed packet: either way the
	 * frame's end is the best end there is. */
	f->ip_end = off + 40 + mqcap_frame__be16(p + 4);
	if (f->ip_end == off + 40)
		f->ip_end = cap;
	if (f->ip_end > cap)
		f->flags |= MQCAP_FRAME_F_CUT;
	p += 40;
	off += 40;
	for (i = 0; i < MQCAP_FRAME_IP6_EXT_MAX; i++) {
		uint8_t nh = f->l4_proto;

		if (nh != 0 && nh != 43 && nh != 44 && nh != 60 && nh != 51)
			return mqcap_frame__l4(p, end, off, f);
		f->flags |= MQCAP_FRAME_F_IP6_EXT;
		if (p + 8 > end) {
			f->truncated = MQCAP_FRAME_L3;
			return MQCAP_FRAME_L2;
		}
		if (nh == 44) {
			hl = 8;
			f->frag_off = (uint16_t)(mqcap_frame__be16(p + 2) & 0xfff8u);
			f->flags |= MQCAP_FRAME_F_FRAG;
		} else if (nh == 51) {
			hl = ((uint32_t)p[1] + 2u) * 4u; /* AH counts 4-byte words, less 2 */
		} else {
			hl = ((uint32_t)p[1] + 1u) * 8u; /* 8-byte units, not counting the first 8 */
		}
		if (off + hl > f->ip_end) {
			f->malformed = MQCAP_FRAME_L3;
			return MQCAP_FRAME_L2;
		}
		if (p + hl > end) {
			f->truncated = MQCAP_FRAME_L3;
			return MQCAP_FRAME_L2;
		}
		f->l4_proto = p[0];
		p += hl;
		off += hl;
		if (nh == 44 && f->frag_off)
			return MQCAP_FRAME_L3; /* a later fragment: no transport header here */
	}
	/* More extension headers than walked: the transport is somewhere beyond. */
	return MQCAP_FRAME_L3;
}

/*
 * Parse the headers of the Ethernet frame [data, end) into *f (fully overwritten).
 * Returns the deepest layer parsed completely: MQCAP_FRAME_NONE (shorter than an Ethernet
 * header), MQCAP_FRAME_L2 (not IP, or the IP header is cut or invalid), MQCAP_FRAME_L3 (IP,
 * but no TCP/UDP/SCTP header readable: another transport, a non-first fragment, or a
 * cut/invalid transport header), MQCAP_FRAME_L4 (ports and payload_off/payload_len valid).
 * f->truncated / f->malformed say why a parse stopped short of L4.
 */
static inline int mqcap_frame_parse(const uint8_t *data, const uint8_t *end, struct mqcap_frame *f)
{
	const uint8_t *p = data;
	uint32_t off = 14, cap;
	uint16_t proto;
	int i;

	*f = (struct mqcap_frame){0};
	if (p + 14 > end) {
		f->truncated = MQCAP_FRAME_L2;
		return MQCAP_FRAME_NONE;
	}
	cap = (uint32_t)(end - data);
	proto = mqcap_frame__be16(p + 12);
	p += 14;
	for (i = 0; i < MQCAP_FRAME_VLAN_MAX; i++) {
		if (proto != 0x8100 && proto != 0x88a8)
			break;
		if (p + 4 > end) {
			f->ethertype = proto;
			f->l3_off = off;
			f->truncated = MQCAP_FRAME_L2;
			return MQCAP_FRAME_NONE;
		}
		f->vlan_tci[i] = mqcap_frame__be16(p);
		f->vlans = (uint8_t)(i + 1);
		proto = mqcap_frame__be16(p + 2);
		p += 4;
		off += 4;
	}
	return mqcap_frame__l3(p, end, off, cap, proto, f);
}

/*
 * Parse from an IP header at offset off of [data, end) whose EtherType is ethertype (0x0800,
 * 0x86dd; anything else is "not IP": MQCAP_FRAME_L2), as mqcap_frame_parse() does after the
 * Ethernet header. For packets without one: a tunnel's inner IP packet (GRE, GTP-U,
 * IP-in-IP). Offsets in *f stay relative to data.
 */
static inline int mqcap_frame_parse_l3(const uint8_t *data, const uint8_t *end, uint32_t off,
				       uint16_t ethertype, struct mqcap_frame *f)
{
	*f = (struct mqcap_frame){0};
	if (data + off > end) {
		f->truncated = MQCAP_FRAME_L3;
		return MQCAP_FRAME_NONE;
	}
	return mqcap_frame__l3(data + off, end, off, (uint32_t)(end - data), ethertype, f);
}

/* The source / destination address of a parsed IP frame (network order, 4 or 16 bytes;
 * mqcap_frame_addr_len()), as pointers into data. Only when f->ip_version is 4 or 6. */
static inline const uint8_t *mqcap_frame_saddr(const uint8_t *data, const struct mqcap_frame *f)
{
	return data + f->l3_off + (f->ip_version == 4 ? 12 : 8);
}

static inline const uint8_t *mqcap_frame_daddr(const uint8_t *data, const struct mqcap_frame *f)
{
	return data + f->l3_off + (f->ip_version == 4 ? 16 : 24);
}

static inline unsigned mqcap_frame_addr_len(const struct mqcap_frame *f)
{
	return f->ip_version == 4 ? 4u : 16u;
}

/* ---- tunnels: where the inner packet starts (mqcap_frame_tunnel()) ---- */

enum mqcap_frame_tunnel_kind {
	MQCAP_FRAME_TUN_NONE = 0,
	MQCAP_FRAME_TUN_GRE,   /* IP protocol 47, version 0 (RFC 2784/2890): inner IP or Ethernet */
	MQCAP_FRAME_TUN_VXLAN, /* UDP to port 4789, I flag set (RFC 7348): inner Ethernet */
	MQCAP_FRAME_TUN_GTPU,  /* UDP to port 2152, GTPv1 G-PDU (3GPP TS 29.281): inner IP */
	MQCAP_FRAME_TUN_IPIP,  /* IP protocol 4 or 41: inner IPv4 / IPv6 */
};

#define MQCAP_FRAME_VXLAN_PORT 4789
#define MQCAP_FRAME_GTPU_PORT  2152

/*
 * Is the frame f (parsed by mqcap_frame_parse() or _parse_l3() from data) a tunnel packet
 * whose inner packet is present? Then *inner_off is the offset of the inner header in data
 * and *inner_type its kind: 0 for an Ethernet header (parse it with mqcap_frame_parse() at
 * data + *inner_off), else the inner EtherType 0x0800 / 0x86dd (mqcap_frame_parse_l3()).
 * Returns the tunnel kind, MQCAP_FRAME_TUN_NONE when not a tunnel, a fragment, or when a
 * tunnel header is cut or invalid (every length is checked against the bytes present).
 */
static inline int mqcap_frame_tunnel(const uint8_t *data, const uint8_t *end,
				     const struct mqcap_frame *f, uint32_t *inner_off,
				     uint16_t *inner_type)
{
	const uint8_t *p;
	uint32_t len;
	int i;

	if (!f->ip_version || !f->l4_off || (f->flags & MQCAP_FRAME_F_FRAG))
		return MQCAP_FRAME_TUN_NONE;
	p = data + f->l4_off;
	if (f->l4_proto == 4 || f->l4_proto == 41) {
		*inner_off = f->l4_off;
		*inner_type = f->l4_proto == 4 ? 0x0800 : 0x86dd;
		return MQCAP_FRAME_TUN_IPIP;
	}
	if (f->l4_proto == 47) {
		uint16_t fl, type;

		if (p + 4 > end)
			return MQCAP_FRAME_TUN_NONE;
		fl = mqcap_frame__be16(p);
		type = mqcap_frame__be16(p + 2);
		if (fl & 0x07ffu) /* version 1 (PPTP's enhanced GRE) or reserved bits */
			return MQCAP_FRAME_TUN_NONE;
		/* optional checksum+reserved, key, sequence words */
		len = 4 + (fl & 0x8000u ? 4 : 0) + (fl & 0x2000u ? 4 : 0) + (fl & 0x1000u ? 4 : 0);
		if (p + len > end)
			return MQCAP_FRAME_TUN_NONE;
		if (type != 0x0800 && type != 0x86dd && type != 0x6558)
			return MQCAP_FRAME_TUN_NONE;
		*inner_off = f->l4_off + len;
		*inner_type = type == 0x6558 ? 0 : type; /* 0x6558: transparent Ethernet bridging */
		return MQCAP_FRAME_TUN_GRE;
	}
	if (f->l4_proto != 17 || !f->payload_off)
		return MQCAP_FRAME_TUN_NONE;
	p = data + f->payload_off;
	if (f->dport == MQCAP_FRAME_VXLAN_PORT) {
		if (p + 8 > end || !(p[0] & 0x08))
			return MQCAP_FRAME_TUN_NONE;
		*inner_off = f->payload_off + 8;
		*inner_type = 0;
		return MQCAP_FRAME_TUN_VXLAN;
	}
	if (f->dport != MQCAP_FRAME_GTPU_PORT)
		return MQCAP_FRAME_TUN_NONE;
	/* version 1, protocol type GTP, message type 255 (G-PDU: user data) */
	if (p + 8 > end || (p[0] >> 5) != 1 || !(p[0] & 0x10) || p[1] != 0xff)
		return MQCAP_FRAME_TUN_NONE;
	len = 8;
	if (p[0] & 0x07) {
		uint8_t next;

		/* E, S or PN: sequence, N-PDU and next-extension-type words follow */
		if (p + 12 > end)
			return MQCAP_FRAME_TUN_NONE;
		next = (p[0] & 0x04) ? p[11] : 0;
		len = 12;
		/* extension headers: a length in 4-byte units, the next type in the last byte */
		for (i = 0; i < 8 && next; i++) {
			uint32_t elen;

			if (p + len + 1 > end)
				return MQCAP_FRAME_TUN_NONE;
			elen = (uint32_t)p[len] * 4u;
			if (!elen || p + len + elen > end)
				return MQCAP_FRAME_TUN_NONE;
			next = p[len + elen - 1];
			len += elen;
		}
		if (next)
			return MQCAP_FRAME_TUN_NONE;
	}
	if (p + len + 1 > end)
		return MQCAP_FRAME_TUN_NONE;
	if ((p[len] >> 4) != 4 && (p[len] >> 4) != 6)
		return MQCAP_FRAME_TUN_NONE;
	*inner_off = f->payload_off + len;
	*inner_type = (p[len] >> 4) == 4 ? 0x0800 : 0x86dd;
	return MQCAP_FRAME_TUN_GTPU;
}

#ifdef __cplusplus
}
#endif

#endif
