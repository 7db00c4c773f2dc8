/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * payload.h - the verification payload that mqsend writes into every packet it generates,
 * so that a receiver (mqcount --verify, the capture tests) can prove per flow that nothing
 * was lost, duplicated or reordered, and that the bytes arrived intact.
 *
 * Where it lives: the payload is the first bytes of the L4 payload (after the TCP or UDP
 * header); any bytes after it up to the end of the IP packet are filler, covered by the
 * checksum. Header-only parsing is the receiver's job; these helpers take the L4 payload.
 *
 * Two forms, chosen by the room the frame leaves:
 *
 *   full form, MQCAP_PAYLOAD_FULL_LEN (20) bytes, used when the L4 payload has room for it:
 *     off len  field
 *       0   2  magic 'M','Q' (0x4d 0x51)
 *       2   1  version (MQCAP_PAYLOAD_VERSION)
 *       3   1  flags (MQCAP_PAYLOAD_F_*)
 *       4   2  sender id, big-endian (mqsend: the sending thread, or --sender-id + thread)
 *       6   2  check: Internet checksum (RFC 1071) over the whole L4 payload, this field
 *              taken as zero, so that the one's-complement sum of the whole payload is 0xffff
 *       8   4  flow id, big-endian (mqsend: index of the flow in its flow list)
 *      12   8  sequence number within the flow, big-endian, first packet 0
 *
 *   compact form, MQCAP_PAYLOAD_COMPACT_LEN (6) bytes, for the smallest frames: a 64-byte
 *   Ethernet frame (60 bytes without FCS) with IPv4 and TCP has 60 - 14 - 20 - 20 = 6 bytes
 *   of payload, which is the paper's workload, so 6 is what the compact form must fit in.
 *     off len  field
 *       0   1  high nibble 0xc (compact magic), low nibble: sender id & 0xf
 *       1   3  sequence number within the flow, low 24 bits, big-endian
 *       4   2  check, as in the full form
 *   The compact form drops the flow id (a receiver keys flows by the packet's 5-tuple) and
 *   keeps 24 bits of sequence: a receiver extends it with serial-number arithmetic, which
 *   holds as long as fewer than 2^23 packets of one flow are lost in a row.
 *
 * Why the Internet checksum: with the check chosen so the payload sums to 0xffff (= -0 in
 * one's complement), the payload adds nothing to the TCP/UDP checksum. A sender can prebuild
 * each flow's headers, checksum included, once, and change only the payload per packet.
 * It also catches what a receiver cares about (truncation, corrupted or zeroed bytes).
 *
 * All helpers are static inline, pure, allocation-free and thread-safe; they use byte
 * access only, so buffers need no alignment.
 */
#ifndef MQCAP_PAYLOAD_H
#define MQCAP_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MQCAP_PAYLOAD_MAGIC0 0x4d /* 'M' */
#define MQCAP_PAYLOAD_MAGIC1 0x51 /* 'Q' */
#define MQCAP_PAYLOAD_COMPACT_MAGIC 0xc0 /* high nibble of byte 0 */
#define MQCAP_PAYLOAD_VERSION 1
#define MQCAP_PAYLOAD_FULL_LEN 20
#define MQCAP_PAYLOAD_COMPACT_LEN 6
/* The smallest L4 payload that can carry a verification payload. */
#define MQCAP_PAYLOAD_MIN_LEN MQCAP_PAYLOAD_COMPACT_LEN
#define MQCAP_PAYLOAD_CHECK_OFF_FULL 6
#define MQCAP_PAYLOAD_CHECK_OFF_COMPACT 4

/* flags (full form only) */
#define MQCAP_PAYLOAD_F_LAST 0x01 /* the sender's last packet of this flow in this run */
#define MQCAP_PAYLOAD_F_REPLAY 0x02 /* reserved: never set by generated packets */

enum mqcap_payload_form {
	MQCAP_PAYLOAD_NONE = 0, /* not a verification payload */
	MQCAP_PAYLOAD_COMPACT = 1,
	MQCAP_PAYLOAD_FULL = 2,
};

/* What a payload says. For the compact form, flow_id is 0, flags 0, sender_id holds only
 * 4 bits and seq only 24 bits (see the top of this file). */
struct mqcap_payload {
	uint64_t seq;
	uint32_t flow_id;
	uint16_t sender_id;
	uint8_t flags;
	uint8_t form; /* enum mqcap_payload_form */
};

/* The form a payload of len bytes gets: full when it fits, compact when only that fits,
 * NONE when len is below MQCAP_PAYLOAD_MIN_LEN. */
static inline enum mqcap_payload_form mqcap_payload_form_for(size_t len)
{
	if (len >= MQCAP_PAYLOAD_FULL_LEN)
		return MQCAP_PAYLOAD_FULL;
	if (len >= MQCAP_PAYLOAD_COMPACT_LEN)
		return MQCAP_PAYLOAD_COMPACT;
	return MQCAP_PAYLOAD_NONE;
}

/* One's-complement sum (RFC 1071) of len bytes, not folded below 32 bits beyond what keeps
 * it from overflowing; start with 0 or a previous partial sum. Words are big-endian pairs
 * from the start of buf, so a partial sum is only reusable when the next part starts at an
 * even offset. */
static inline uint32_t mqcap_payload_sum(const void *buf, size_t len, uint32_t sum)
{
	const uint8_t *p = (const uint8_t *)buf;
	uint64_t s = sum;

	while (len >= 2) {
		s += (uint32_t)p[0] << 8 | p[1];
		p += 2;
		len -= 2;
	}
	if (len)
		s += (uint32_t)p[0] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

/* Fold a sum to 16 bits. */
static inline uint16_t mqcap_payload_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static inline void mqcap_payload__put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint16_t mqcap_payload__get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t mqcap_payload__get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * Write the header of a payload into buf[0 .. len) with the check left zero, and return
 * the one's-complement sum of the header bytes (unfolded, for mqcap_payload_finish()).
 * The form is mqcap_payload_form_for(len); bytes after the header (filler) are untouched.
 * Returns 0 and writes nothing when len < MQCAP_PAYLOAD_MIN_LEN.
 */
static inline uint32_t mqcap_payload_write_header(void *buf, size_t len, const struct mqcap_payload *pl)
{
	uint8_t *p = (uint8_t *)buf;
	uint64_t seq = pl->seq;

	switch (mqcap_payload_form_for(len)) {
	case MQCAP_PAYLOAD_FULL:
		p[0] = MQCAP_PAYLOAD_MAGIC0;
		p[1] = MQCAP_PAYLOAD_MAGIC1;
		p[2] = MQCAP_PAYLOAD_VERSION;
		p[3] = pl->flags;
		mqcap_payload__put16(p + 4, pl->sender_id);
		p[6] = 0;
		p[7] = 0;
		mqcap_payload__put16(p + 8, (uint16_t)(pl->flow_id >> 16));
		mqcap_payload__put16(p + 10, (uint16_t)pl->flow_id);
		for (int i = 7; i >= 0; i--) {
			p[12 + i] = (uint8_t)seq;
			seq >>= 8;
		}
		return mqcap_payload_sum(p, MQCAP_PAYLOAD_FULL_LEN, 0);
	case MQCAP_PAYLOAD_COMPACT:
		p[0] = (uint8_t)(MQCAP_PAYLOAD_COMPACT_MAGIC | (pl->sender_id & 0x0f));
		p[1] = (uint8_t)(seq >> 16);
		p[2] = (uint8_t)(seq >> 8);
		p[3] = (uint8_t)seq;
		p[4] = 0;
		p[5] = 0;
		return mqcap_payload_sum(p, MQCAP_PAYLOAD_COMPACT_LEN, 0);
	default:
		return 0;
	}
}

/* Length of the header of a payload of len bytes (20, 6 or 0). */
static inline size_t mqcap_payload_header_len(size_t len)
{
	switch (mqcap_payload_form_for(len)) {
	case MQCAP_PAYLOAD_FULL:
		return MQCAP_PAYLOAD_FULL_LEN;
	case MQCAP_PAYLOAD_COMPACT:
		return MQCAP_PAYLOAD_COMPACT_LEN;
	default:
		return 0;
	}
}

/* Store the check of a payload of len bytes whose header sum (from write_header) is hsum
 * and whose filler (the bytes after the header) sums to fsum (mqcap_payload_sum of the
 * filler, 0 when there is none). The header length is even, so the sums add directly;
 * this lets a sender precompute the filler's sum once per packet size. */
static inline void mqcap_payload_finish(void *buf, size_t len, uint32_t hsum, uint32_t fsum)
{
	uint8_t *p = (uint8_t *)buf;
	uint16_t check = (uint16_t)~mqcap_payload_fold(hsum + fsum);
	size_t off = mqcap_payload_form_for(len) == MQCAP_PAYLOAD_FULL ? MQCAP_PAYLOAD_CHECK_OFF_FULL
								    : MQCAP_PAYLOAD_CHECK_OFF_COMPACT;

	if (len < MQCAP_PAYLOAD_MIN_LEN)
		return;
	mqcap_payload__put16(p + off, check);
}

/*
 * Encode a complete payload into buf[0 .. len): header, then filler bytes up to len (each
 * filler byte is its offset in the payload, & 0xff, so truncation and shifts show), then the
 * check. Returns the form written, or MQCAP_PAYLOAD_NONE (nothing written) when len is
 * below MQCAP_PAYLOAD_MIN_LEN. Senders on a hot path use write_header + finish instead.
 */
static inline enum mqcap_payload_form mqcap_payload_encode(void *buf, size_t len, const struct mqcap_payload *pl)
{
	uint8_t *p = (uint8_t *)buf;
	size_t hl = mqcap_payload_header_len(len);
	uint32_t hsum;

	if (!hl)
		return MQCAP_PAYLOAD_NONE;
	for (size_t i = hl; i < len; i++)
		p[i] = (uint8_t)i;
	hsum = mqcap_payload_write_header(p, len, pl);
	mqcap_payload_finish(p, len, hsum, mqcap_payload_sum(p + hl, len - hl, 0));
	return mqcap_payload_form_for(len);
}

/*
 * Decode the L4 payload buf[0 .. len) into *out without checking the checksum. Returns the
 * form found, or MQCAP_PAYLOAD_NONE when the bytes do not start a verification payload of
 * either form (magic, version or length wrong); *out is then untouched.
 */
static inline enum mqcap_payload_form mqcap_payload_decode(const void *buf, size_t len, struct mqcap_payload *out)
{
	const uint8_t *p = (const uint8_t *)buf;

	if (len >= MQCAP_PAYLOAD_FULL_LEN && p[0] == MQCAP_PAYLOAD_MAGIC0 && p[1] == MQCAP_PAYLOAD_MAGIC1) {
		uint64_t seq = 0;

		if (p[2] != MQCAP_PAYLOAD_VERSION)
			return MQCAP_PAYLOAD_NONE;
		for (int i = 0; i < 8; i++)
			seq = seq << 8 | p[12 + i];
		out->seq = seq;
		out->flow_id = mqcap_payload__get32(p + 8);
		out->sender_id = mqcap_payload__get16(p + 4);
		out->flags = p[3];
		out->form = MQCAP_PAYLOAD_FULL;
		return MQCAP_PAYLOAD_FULL;
	}
	/* A payload with room for the full form always carries it, so a compact header in a
	 * long payload is not ours. */
	if (len >= MQCAP_PAYLOAD_COMPACT_LEN && len < MQCAP_PAYLOAD_FULL_LEN &&
	    (p[0] & 0xf0) == MQCAP_PAYLOAD_COMPACT_MAGIC) {
		out->seq = (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
		out->flow_id = 0;
		out->sender_id = p[0] & 0x0f;
		out->flags = 0;
		out->form = MQCAP_PAYLOAD_COMPACT;
		return MQCAP_PAYLOAD_COMPACT;
	}
	return MQCAP_PAYLOAD_NONE;
}

/* True when the L4 payload buf[0 .. len) passes its check (sums to 0xffff). Says nothing
 * about the magic: call mqcap_payload_decode() too. */
static inline bool mqcap_payload_check_ok(const void *buf, size_t len)
{
	return len >= MQCAP_PAYLOAD_MIN_LEN && mqcap_payload_fold(mqcap_payload_sum(buf, len, 0)) == 0xffff;
}

/* Decode and verify: returns the form when buf[0 .. len) is a verification payload whose
 * check is right, MQCAP_PAYLOAD_NONE otherwise (*out is filled only on success). */
static inline enum mqcap_payload_form mqcap_payload_validate(const void *buf, size_t len, struct mqcap_payload *out)
{
	struct mqcap_payload pl;
	enum mqcap_payload_form f = mqcap_payload_decode(buf, len, &pl);

	if (f == MQCAP_PAYLOAD_NONE || !mqcap_payload_check_ok(buf, len))
		return MQCAP_PAYLOAD_NONE;
	*out = pl;
	return f;
}

/* Extend a compact 24-bit sequence number to 64 bits next to the last full value seen in
 * the flow (serial-number arithmetic, RFC 1982 style): the result is the value closest to
 * last whose low 24 bits are seq24. */
static inline uint64_t mqcap_payload_seq_extend(uint64_t last, uint32_t seq24)
{
	uint64_t cand = (last & ~(uint64_t)0xffffff) | (seq24 & 0xffffff);

	if (cand + 0x800000 < last)
		cand += 0x1000000;
	else if (cand > last + 0x800000 && cand >= 0x1000000)
		cand -= 0x1000000;
	return cand;
}

#ifdef __cplusplus
}
#endif

#endif
