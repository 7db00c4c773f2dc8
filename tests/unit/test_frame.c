/* SPDX-License-Identifier: BSD-2-Clause */
/* The shared frame parser (include/mqcap/frame.h): offsets, ports and payload of well-formed
 * frames, and for every way a frame can lie (length fields larger than the bytes present,
 * cut at every byte), a parse that stays inside the bytes and says where it stopped. Each
 * frame is parsed from a heap buffer of exactly its length, so ASan sees any overread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mqcap/frame.h"

struct fb {
	uint8_t b[256];
	size_t n;
};

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void eth(struct fb *f, int vlans, unsigned type)
{
	memset(f, 0, sizeof(*f));
	f->n = 12;
	for (int i = 0; i < vlans; i++) {
		put16(f->b + f->n, i == 0 && vlans == 2 ? 0x88a8 : 0x8100);
		put16(f->b + f->n + 2, 100u + (unsigned)i);
		f->n += 4;
	}
	put16(f->b + f->n, type);
	f->n += 2;
}

/* IPv4 with opt bytes of options, protocol proto, l4len bytes after the header. */
static size_t ip4(struct fb *f, unsigned opt, uint8_t proto, unsigned l4len, unsigned frag)
{
	uint8_t *p = f->b + f->n;
	size_t l3 = f->n;

	p[0] = (uint8_t)(0x40 | (20 + opt) / 4);
	put16(p + 2, 20 + opt + l4len);
	put16(p + 6, frag);
	p[9] = proto;
	memcpy(p + 12, "\xc6\x12\x00\x01\xc6\x13\x00\x02", 8);
	f->n += 20 + opt;
	return l3;
}

static size_t ip6(struct fb *f, uint8_t nh, unsigned plen)
{
	uint8_t *p = f->b + f->n;
	size_t l3 = f->n;

	p[0] = 0x60;
	put16(p + 4, plen);
	p[6] = nh;
	p[8] = 0x20;
	p[24] = 0x20;
	p[39] = 2;
	f->n += 40;
	return l3;
}

/* An extension header of len bytes (a multiple of 8) whose next header is nh. */
static void ext6(struct fb *f, uint8_t nh, unsigned len)
{
	f->b[f->n] = nh;
	f->b[f->n + 1] = (uint8_t)(len / 8 - 1);
	f->n += len;
}

static void tcp(struct fb *f, unsigned doff, unsigned paylen)
{
	uint8_t *p = f->b + f->n;

	put16(p, 1024);
	put16(p + 2, 80);
	p[12] = (uint8_t)(doff / 4 << 4);
	f->n += doff;
	memset(f->b + f->n, 0xab, paylen);
	f->n += paylen;
}

static void udp(struct fb *f, unsigned paylen)
{
	put16(f->b + f->n, 5000);
	put16(f->b + f->n + 2, 53);
	f->n += 8 + paylen;
}

/* Parse the first n bytes of f from a buffer of exactly n bytes. */
static int parse(const struct fb *f, size_t n, struct mqcap_frame *out)
{
	uint8_t *copy = malloc(n ? n : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, f->b, n);
	r = mqcap_frame_parse(copy, copy + n, out);
	/* What the parser says is there must be there. */
	if (r == MQCAP_FRAME_L4)
		assert_true(out->payload_off + out->payload_len <= n);
	if (out->l4_off)
		assert_true(out->l4_off <= n);
	free(copy);
	return r;
}

static void test_ipv4_tcp_vlans(void **state)
{
	struct mqcap_frame fr;

	(void)state;
	for (int v = 0; v <= 2; v++) {
		struct fb f;
		size_t l3;

		eth(&f, v, 0x0800);
		l3 = ip4(&f, 8, 6, 24 + 10, 0x4000);
		tcp(&f, 24, 10);
		assert_int_equal(parse(&f, f.n, &fr), MQCAP_FRAME_L4);
		assert_int_equal(fr.vlans, v);
		if (v)
			assert_int_equal(fr.vlan_tci[v - 1], 100 + v - 1);
		assert_int_equal(fr.ethertype, 0x0800);
		assert_int_equal(fr.l3_off, l3);
		assert_int_equal(fr.ip_version, 4);
		assert_int_equal(fr.l4_off, l3 + 28);
		assert_int_equal(fr.payload_off, l3 + 28 + 24);
		assert_int_equal(fr.payload_len, 10);
		assert_int_equal(fr.sport, 1024);
		assert_int_equal(fr.dport, 80);
		assert_int_equal(fr.l4_proto, 6);
		assert_int_equal(fr.flags, MQCAP_FRAME_F_PORTS);
		assert_int_equal(fr.truncated, 0);
		assert_int_equal(fr.malformed, 0);
		assert_memory_equal(mqcap_frame_saddr(f.b, &fr), "\xc6\x12\x00\x01", 4);
		assert_memory_equal(mqcap_frame_daddr(f.b, &fr), "\xc6\x13\x00\x02", 4);

		/* Ethernet padding after a short IP packet is not payload. */
		eth(&f, v, 0x0800);
		ip4(&f, 0, 6, 20 + 2, 0);
		tcp(&f, 20, 2);
		f.n = 60 + 4u * (unsigned)v;
		assert_int_equal(parse(&f, f.n, &fr), MQCAP_FRAME_L4);
		assert_int_equal(fr.payload_len, 2);
		assert_int_equal(fr.flags & MQCAP_FRAME_F_CUT, 0);
	}
}

/* Cut a frame at every length: no overread (ASan), the layer that ran out is named, and a
 * cut inside the payload keeps the header and counts only the bytes present. */
static void cut_everywhere(const struct fb *f, const struct mqcap_frame *full)
{
	struct mqcap_frame fr;

	for (size_t n = 0; n < f->n; n++) {
		int r = parse(f, n, &fr);

		if (n < 14u + 4u * full->vlans) {
			assert_int_equal(r, MQCAP_FRAME_NONE);
			assert_int_equal(fr.truncated, MQCAP_FRAME_L2);
		} else if (n < full->l4_off) {
			assert_int_equal(r, MQCAP_FRAME_L2);
			assert_int_equal(fr.truncated, MQCAP_FRAME_L3);
		} else if (n < full->payload_off) {
			assert_int_equal(r, MQCAP_FRAME_L3);
			assert_int_equal(fr.truncated, MQCAP_FRAME_L4);
			assert_int_equal(!!(fr.flags & MQCAP_FRAME_F_PORTS), n >= full->l4_off + 4);
		} else {
			assert_int_equal(r, MQCAP_FRAME_L4);
			assert_int_equal(fr.truncated, 0);
			assert_true(fr.flags & MQCAP_FRAME_F_CUT);
			assert_int_equal(fr.payload_len, n - full->payload_off);
		}
	}
}

static void test_truncated_everywhere(void **state)
{
	struct mqcap_frame full;
	struct fb f;

	(void)state;
	eth(&f, 2, 0x0800);
	ip4(&f, 12, 6, 32 + 6, 0);
	tcp(&f, 32, 6);
	assert_int_equal(parse(&f, f.n, &full), MQCAP_FRAME_L4);
	cut_everywhere(&f, &full);

	eth(&f, 1, 0x86dd);
	ip6(&f, 0, 8 + 16 + 8 + 9);
	ext6(&f, 60, 8);
	ext6(&f, 17, 16);
	udp(&f, 9);
	assert_int_equal(parse(&f, f.n, &full), MQCAP_FRAME_L4);
	assert_int_equal(full.l4_off, 18 + 40 + 24);
	assert_int_equal(full.flags, MQCAP_FRAME_F_PORTS | MQCAP_FRAME_F_IP6_EXT);
	assert_int_equal(full.payload_len, 9);
	cut_everywhere(&f, &full);
}

/* The ASan reproducer of issue 11: a 60-byte frame whose IPv4 IHL is 15 (60 bytes of header
 * in a frame that has 46 after Ethernet), then "MQ\1". verify.c used to compute the payload
 * length as a wrapped (end - l4) and read 2^64 bytes. */
static void test_ihl_beyond_frame(void **state)
{
	struct mqcap_frame fr;
	struct fb f;

	(void)state;
	eth(&f, 0, 0x0800);
	ip4(&f, 0, 6, 80, 0); /* total length 100: the header fits the packet, not the frame */
	f.b[14] = 0x4f;
	memcpy(f.b + 34, "MQ\1", 3);
	f.n = 60;
	assert_int_equal(parse(&f, f.n, &fr), MQCAP_FRAME_L2);
	assert_int_equal(fr.truncated, MQCAP_FRAME_L3);
	assert_int_equal(fr.ip_version, 0);
	assert_int_equal(fr.payload_off, 0);
	assert_int_equal(fr.payload_len, 0);
}

static void test_malformed(void **state)
{
	struct mqcap_frame fr;
	struct fb f;

	(void)state;
	/* IHL below 20 */
	eth(&f, 0, 0x0800);
	ip4(&f, 0, 6, 20, 0);
	tcp(&f, 20, 0);
	f.b[14] = 0x44;
	assert_int_equal(parse(&f, f.n, &fr), MQCAP_FRAME_L2);
	assert_int_equal(fr.malformed, MQCAP_FRAME_L3);
	/* a version that is not 4 under ethertype 0x0800 */
	f.b[14] = 0x65;
	assert_int_equal(parse(&f, f.n, &fr), MQCAP_FRAME_L2);
	assert_int_equal(fr.malformed, MQCAP_FRAME_L3);
	/* total length shorter than the header */
	f.b[14] = 0x45;
	put16(f.b + 16, 19);
	assert_int_equal(parse(&f, f.n, &fr), MQCAP_FRAME_L2);
	assert_int_equal(fr.malformed, MQCAP_FRAME_L3);
	/* TCP data offset below 20, and above what the IP packet holds */
	put16(f.b + 16, 40);
	f.b[34 + 12] = 0x40;
	assert_int_equal(parse(&f, f.n, &fr), MQCAP_FRAME_L3);
	assert_int_equal(fr.malformed, MQCAP_FRAME_L4);
	assert_true(fr.flags & MQCAP_FRAME_F_PORTS);
	f.b[34 + 12] = 0xf0;
	assert_int_equal(parse(&f, f.n, &fr), MQCAP_FRAME_L3);
	assert_int_equal(fr.malformed, MQCAP_FRAME_L4);
	assert_int_equal(fr.payload_off, 0);
	/* an IPv6 extension header longer than the packet */
	eth(&f, 0, 0x86dd);
	ip6(&f, 43, 16);
	ext6(&f, 6, 8);
	f.b[f.n - 7] = 3; /* 32 bytes claimed */
	f.n += 40;
	assert_int_equal(parse(&f, f.n, &fr), MQCAP_FRAME_L2);
	assert_int_equal(fr.malformed, MQCAP_FRAME_L3);
	/* more extension headers than walked */
	eth(&f, 0, 0x86dd);
	ip6(&f, 60, 8 * (MQCAP_FRAME_IP6_EXT_MAX + 1) + 8);
	for (int i = 0; i < MQCAP_FRAME_IP6_EXT_MAX + 1; i++)
		ext6(&f, i == MQCAP_FRAME_IP6_EXT_MAX ? 17 : 60, 8);
	udp(&f, 0);
	assert_int_equal(parse(&f, f.n, &fr), MQCAP_FRAME_L3);
	assert_int_equal(fr.l4_proto, 60);
	assert_int_equal(fr.flags & MQCAP_FRAME_F_PORTS, 0);
}

static void test_fragments(void **state)
{
	struct mqcap_frame fr;
	struct fb f;

	(void)state;
	/* IPv4 first fragment: the header is there, flagged */
	eth(&f, 0, 0x0800);
	ip4(&f, 0, 17, 8 + 4, 0x2000);
	udp(&f, 4);
	assert_int_equal(parse(&f, f.n, &fr), MQCAP_FRAME_L4);
	assert_int_equal(fr.flags, MQCAP_FRAME_F_FRAG | MQCAP_FRAME_F_PORTS);
	assert_int_equal(fr.frag_off, 0);
	/* a later fragment: no transport header */
	put16(f.b + 20, 185);
	assert_int_equal(parse(&f, f.n, &fr), MQCAP_FRAME_L3);
	assert_int_equal(fr.flags, MQCAP_FRAME_F_FRAG);
	assert_int_equal(fr.frag_off, 1480);
	assert_int_equal(fr.l4_off, 0);
	/* IPv6: hop-by-hop, then a fragment header at offset 0, then TCP */
	eth(&f, 0, 0x86dd);
	ip6(&f, 0, 8 + 8 + 20);
	ext6(&f, 44, 8);
	f.b[f.n] = 6;
	f.n += 8;
	tcp(&f, 20, 0);
	assert_int_equal(parse(&f, f.n, &fr), MQCAP_FRAME_L4);
	assert_int_equal(fr.l4_off, 14 + 40 + 16);
	assert_int_equal(fr.flags & MQCAP_FRAME_F_FRAG, MQCAP_FRAME_F_FRAG);
	/* the same at offset 1480 */
	put16(f.b + 14 + 40 + 8 + 2, 1480);
	assert_int_equal(parse(&f, f.n, &fr), MQCAP_FRAME_L3);
	assert_int_equal(fr.frag_off, 1480);
	assert_int_equal(fr.l4_off, 0);
}

static void test_other_protocols(void **state)
{
	struct mqcap_frame fr;
	struct fb f;

	(void)state;
	/* SCTP: 12-byte common header */
	eth(&f, 0, 0x0800);
	ip4(&f, 0, 132, 12 + 4, 0);
	put16(f.b + f.n, 2905);
	put16(f.b + f.n + 2, 2906);
	f.n += 16;
	assert_int_equal(parse(&f, f.n, &fr), MQCAP_FRAME_L4);
	assert_int_equal(fr.sport, 2905);
	assert_int_equal(fr.payload_len, 4);
	/* ICMP: an IP frame without ports */
	f.b[14 + 9] = 1;
	assert_int_equal(parse(&f, f.n, &fr), MQCAP_FRAME_L3);
	assert_int_equal(fr.l4_off, 34);
	assert_int_equal(fr.flags & MQCAP_FRAME_F_PORTS, 0);
	/* ARP, and a third VLAN tag: not IP */
	eth(&f, 0, 0x0806);
	f.n = 60;
	assert_int_equal(parse(&f, f.n, &fr), MQCAP_FRAME_L2);
	assert_int_equal(fr.ethertype, 0x0806);
	assert_int_equal(fr.l3_off, 14);
	eth(&f, 2, 0x8100);
	f.n = 60;
	assert_int_equal(parse(&f, f.n, &fr), MQCAP_FRAME_L2);
	assert_int_equal(fr.vlans, 2);
	assert_int_equal(fr.ethertype, 0x8100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_tcp_vlans),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_ihl_beyond_frame),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_other_protocols),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
