/* SPDX-License-Identifier: BSD-2-Clause */
/* The Toeplitz RSS hash shared with the testbed's BPF program, its inputs, keys and tables.
 * The vectors are the published Microsoft "Verifying the RSS Hash Calculation" suite (also
 * in Intel's 82599 datasheet, 7.1.2.8.3): if one fails, every queue prediction is wrong. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "mqcap/rss.h"

static const uint8_t ms_key[MQCAP_RSS_KEY_LEN] = MQCAP_RSS_KEY_MICROSOFT;
static const uint8_t sym_key[MQCAP_RSS_KEY_LEN] = MQCAP_RSS_KEY_SYMMETRIC;

struct vector {
	const char *src, *dst;
	uint16_t sport, dport;
	uint32_t hash_addr, hash_ports;
};

static const struct vector v4[] = {
	{ "66.9.149.187", "161.142.100.80", 2794, 1766, 0x323e8fc2, 0x51ccc178 },
	{ "199.92.111.2", "65.69.140.83", 14230, 4739, 0xd718262a, 0xc626b0ea },
	{ "24.19.198.95", "12.22.207.184", 12898, 38024, 0xd2d0a5de, 0x5c2b394a },
	{ "38.27.205.30", "209.142.163.6", 48228, 2217, 0x82989176, 0xafc7327f },
	{ "153.39.163.191", "202.188.127.2", 44251, 1303, 0x5d1809c5, 0x10e828a2 },
};

static const struct vector v6[] = {
	{ "3ffe:2501:200:1fff::7", "3ffe:2501:200:3::1", 2794, 1766, 0x2cc18cd5, 0x40207d3d },
	{ "3ffe:501:8::260:97ff:fe40:efab", "ff02::1", 14230, 4739, 0x0f0c461c, 0xdde51bbf },
	{ "3ffe:1900:4545:3:200:f8ff:fe21:67cf", "fe80::200:f8ff:fe21:67cf", 44251, 38024,
	  0x4b61e985, 0x02d1feef },
};

static void test_microsoft_ipv4(void **state)
{
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(v4) / sizeof(v4[0]); i++) {
		struct in_addr s, d;

		assert_int_equal(inet_pton(AF_INET, v4[i].src, &s), 1);
		assert_int_equal(inet_pton(AF_INET, v4[i].dst, &d), 1);
		assert_int_equal(mqcap_rss_hash_ipv4(ms_key, &s, &d, 0, 0, false), v4[i].hash_addr);
		assert_int_equal(mqcap_rss_hash_ipv4(ms_key, &s, &d, v4[i].sport, v4[i].dport, true),
				 v4[i].hash_ports);
	}
}

static void test_microsoft_ipv6(void **state)
{
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(v6) / sizeof(v6[0]); i++) {
		struct in6_addr s, d;

		assert_int_equal(inet_pton(AF_INET6, v6[i].src, &s), 1);
		assert_int_equal(inet_pton(AF_INET6, v6[i].dst, &d), 1);
		assert_int_equal(mqcap_rss_hash_ipv6(ms_key, &s, &d, 0, 0, false), v6[i].hash_addr);
		assert_int_equal(mqcap_rss_hash_ipv6(ms_key, &s, &d, v6[i].sport, v6[i].dport, true),
				 v6[i].hash_ports);
	}
}

/* A frame parsed the way the BPF program parses it must hash like the flow it carries. */
static size_t build_frame(uint8_t *f, int vlans, int family, uint8_t l4, const void *s,
			  const void *d, uint16_t sport, uint16_t dport, int fragment)
{
	size_t off = 12;
	int i;

	memset(f, 0, 128);
	for (i = 0; i < vlans; i++) {
		f[off] = i == 0 && vlans == 2 ? 0x88 : 0x81;
		f[off + 1] = i == 0 && vlans == 2 ? 0xa8 : 0x00;
		f[off + 3] = 7;
		off += 4;
	}
	if (family == AF_INET) {
		f[off] = 0x08;
		f[off + 1] = 0x00;
		off += 2;
		f[off] = 0x46; /* 4 bytes of options, so the parser must use IHL */
		f[off + 3] = 24 + 8; /* total length: the header and 8 bytes of transport */
		f[off + 6] = fragment ? 0x20 : 0x40; /* MF, or DF */
		f[off + 9] = l4;
		memcpy(f + off + 12, s, 4);
		memcpy(f + off + 16, d, 4);
		off += 24;
	} else {
		f[off] = 0x86;
		f[off + 1] = 0xdd;
		off += 2;
		f[off] = 0x60;
		f[off + 5] = 8; /* payload length */
		f[off + 6] = l4;
		memcpy(f + off + 8, s, 16);
		memcpy(f + off + 24, d, 16);
		off += 40;
	}
	f[off] = (uint8_t)(sport >> 8);
	f[off + 1] = (uint8_t)sport;
	f[off + 2] = (uint8_t)(dport >> 8);
	f[off + 3] = (uint8_t)dport;
	return off + 8;
}

static void test_frame_parser(void **state)
{
	uint8_t f[128], in[MQCAP_RSS_INPUT_MAX];
	uint16_t table[MQCAP_RSS_TABLE_SIZE];
	struct in_addr s, d;
	struct in6_addr s6, d6;
	uint32_t h;
	size_t n;
	int vlans;

	(void)state;
	assert_int_equal(mqcap_rss_table_fill(table, 4, NULL, 0), 0);
	inet_pton(AF_INET, v4[0].src, &s);
	inet_pton(AF_INET, v4[0].dst, &d);
	inet_pton(AF_INET6, v6[0].src, &s6);
	inet_pton(AF_INET6, v6[0].dst, &d6);
	for (vlans = 0; vlans <= 2; vlans++) {
		n = build_frame(f, vlans, AF_INET, 6, &s, &d, v4[0].sport, v4[0].dport, 0);
		mqcap_rss_frame_queue(ms_key, table, f, n, &h);
		assert_int_equal(h, v4[0].hash_ports);
		n = build_frame(f, vlans, AF_INET, 17, &s, &d, v4[0].sport, v4[0].dport, 0);
		assert_int_equal(mqcap_rss_frame_queue(ms_key, table, f, n, &h),
				 table[v4[0].hash_ports & 127]);
		assert_int_equal(h, v4[0].hash_ports);
		/* ICMP and fragments hash on the addresses only */
		n = build_frame(f, vlans, AF_INET, 1, &s, &d, v4[0].sport, v4[0].dport, 0);
		mqcap_rss_frame_queue(ms_key, table, f, n, &h);
		assert_int_equal(h, v4[0].hash_addr);
		n = build_frame(f, vlans, AF_INET, 6, &s, &d, v4[0].sport, v4[0].dport, 1);
		mqcap_rss_frame_queue(ms_key, table, f, n, &h);
		assert_int_equal(h, v4[0].hash_addr);
		n = build_frame(f, vlans, AF_INET6, 6, &s6, &d6, v6[0].sport, v6[0].dport, 0);
		mqcap_rss_frame_queue(ms_key, table, f, n, &h);
		assert_int_equal(h, v6[0].hash_ports);
		n = build_frame(f, vlans, AF_INET6, 58, &s6, &d6, 0, 0, 0);
		mqcap_rss_frame_queue(ms_key, table, f, n, &h);
		assert_int_equal(h, v6[0].hash_addr);
		/* A frame cut inside the TCP header cannot be hashed: -1, queue 0 in user space */
		n = build_frame(f, vlans, AF_INET, 6, &s, &d, v4[0].sport, v4[0].dport, 0);
		assert_int_equal(mqcap_rss_input_frame(f, f + n - 6, in), -1);
	}
	/* ARP is not IP: not hashed, queue 0 */
	memset(f, 0, sizeof(f));
	f[12] = 0x08;
	f[13] = 0x06;
	assert_int_equal(mqcap_rss_input_frame(f, f + 60, in), 0);
	assert_int_equal(mqcap_rss_frame_queue(ms_key, table, f, 60, &h), 0);
	assert_int_equal(h, 0);
	assert_int_equal(mqcap_rss_input_frame(f, f + 10, in), -1);
}

static void test_symmetric_key(void **state)
{
	unsigned i;

	(void)state;
	for (i = 0; i < 4096; i++) {
		uint8_t a[16], b[16];
		uint16_t pa = (uint16_t)(1024 + i * 7), pb = (uint16_t)(80 + i);
		unsigned k;

		for (k = 0; k < 16; k++) {
			a[k] = (uint8_t)(i * 31 + k * 17);
			b[k] = (uint8_t)(i * 13 + k * 101 + 5);
		}
		assert_int_equal(mqcap_rss_hash_ipv4(sym_key, a, b, pa, pb, true),
				 mqcap_rss_hash_ipv4(sym_key, b, a, pb, pa, true));
		assert_int_equal(mqcap_rss_hash_ipv4(sym_key, a, b, 0, 0, false),
				 mqcap_rss_hash_ipv4(sym_key, b, a, 0, 0, false));
		assert_int_equal(mqcap_rss_hash_ipv6(sym_key, a, b, pa, pb, true),
				 mqcap_rss_hash_ipv6(sym_key, b, a, pb, pa, true));
	}
	/* ... and the Microsoft key is not symmetric (else the test above proves nothing). */
	assert_int_not_equal(mqcap_rss_hash_ipv4(ms_key, "\x0a\0\0\1", "\x0a\0\0\2", 1, 2, true),
			     mqcap_rss_hash_ipv4(ms_key, "\x0a\0\0\2", "\x0a\0\0\1", 2, 1, true));
}

static void count(const uint16_t *table, unsigned *per_queue, unsigned queues)
{
	unsigned i;

	memset(per_queue, 0, queues * sizeof(*per_queue));
	for (i = 0; i < MQCAP_RSS_TABLE_SIZE; i++) {
		assert_true(table[i] < queues);
		per_queue[table[i]]++;
	}
}

static void test_table_fill(void **state)
{
	uint16_t t[MQCAP_RSS_TABLE_SIZE];
	unsigned c[8], i;
	const unsigned skew[] = { 4, 1, 1, 1 };
	const unsigned with_zero[] = { 0, 1, 0, 1 };
	const unsigned zeros[] = { 0, 0 };

	(void)state;
	/* default: round robin, the kernel's ethtool_rxfh_indir_default() */
	assert_int_equal(mqcap_rss_table_fill(t, 4, NULL, 0), 0);
	for (i = 0; i < MQCAP_RSS_TABLE_SIZE; i++)
		assert_int_equal(t[i], i % 4);
	assert_int_equal(mqcap_rss_table_fill(t, 3, NULL, 0), 0);
	count(t, c, 3);
	assert_int_equal(c[0], 43);
	assert_int_equal(c[1], 43);
	assert_int_equal(c[2], 42);
	/* 4,1,1,1: queue 0 gets 4/7 of 128 entries, each share within one entry */
	assert_int_equal(mqcap_rss_table_fill(t, 4, skew, 4), 0);
	count(t, c, 4);
	for (i = 0; i < 4; i++) {
		double want = 128.0 * skew[i] / 7.0;

		assert_true(c[i] >= want - 1 && c[i] <= want + 1);
	}
	assert_int_equal(c[0] + c[1] + c[2] + c[3], 128);
	for (i = 1; i < MQCAP_RSS_TABLE_SIZE; i++) /* contiguous runs, ascending */
		assert_true(t[i] >= t[i - 1]);
	/* zero weights exclude a queue; missing weights count as zero */
	assert_int_equal(mqcap_rss_table_fill(t, 4, with_zero, 4), 0);
	count(t, c, 4);
	assert_int_equal(c[0], 0);
	assert_int_equal(c[1], 64);
	assert_int_equal(c[2], 0);
	assert_int_equal(c[3], 64);
	assert_int_equal(mqcap_rss_table_fill(t, 8, skew, 4), 0);
	count(t, c, 8);
	for (i = 4; i < 8; i++)
		assert_int_equal(c[i], 0);
	/* errors */
	assert_int_equal(mqcap_rss_table_fill(t, 0, NULL, 0), -EINVAL);
	assert_int_equal(mqcap_rss_table_fill(t, MQCAP_RSS_MAX_QUEUES + 1, NULL, 0), -EINVAL);
	assert_int_equal(mqcap_rss_table_fill(t, 2, zeros, 2), -EINVAL);
	assert_int_equal(mqcap_rss_table_fill(t, 3, skew, 4), -EINVAL);
}

static void test_text_forms(void **state)
{
	uint8_t k[MQCAP_RSS_KEY_LEN];
	uint16_t t[MQCAP_RSS_TABLE_SIZE], t2[MQCAP_RSS_TABLE_SIZE];
	char buf[6 * MQCAP_RSS_TABLE_SIZE];

	(void)state;
	mqcap_rss_key_format(ms_key, buf, sizeof(buf));
	assert_string_equal(buf, "6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c6a42b73bbeac01fa");
	assert_int_equal(mqcap_rss_key_parse(buf, k), 0);
	assert_memory_equal(k, ms_key, sizeof(k));
	assert_int_equal(mqcap_rss_key_parse("6d:5a:6d:5a:6d:5a:6d:5a:6d:5a:6d:5a:6d:5a:6d:5a:6d:5a:6d:5a:"
					     "6d:5a:6d:5a:6d:5a:6d:5a:6d:5a:6d:5a:6d:5a:6d:5a:6d:5a:6d:5a", k), 0);
	assert_memory_equal(k, sym_key, sizeof(k));
	assert_int_equal(mqcap_rss_key_parse("6d5a", k), -EINVAL);
	buf[79] = 'g';
	assert_int_equal(mqcap_rss_key_parse(buf, k), -EINVAL);
	assert_int_equal(mqcap_rss_key_parse(
		"6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c6a42b73bbeac01fa00", k), -EINVAL);

	assert_int_equal(mqcap_rss_table_fill(t, 5, (const unsigned[]){ 1, 2, 3 }, 3), 0);
	assert_int_equal(mqcap_rss_table_format(t, buf, sizeof(buf)), 0);
	assert_int_equal(mqcap_rss_table_parse(buf, t2), 0);
	assert_memory_equal(t, t2, sizeof(t));
	assert_int_equal(mqcap_rss_table_format(t, buf, 20), -ENOSPC);
	assert_int_equal(mqcap_rss_table_parse("0,1,2", t2), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_microsoft_ipv4),
		cmocka_unit_test(test_microsoft_ipv6),
		cmocka_unit_test(test_frame_parser),
		cmocka_unit_test(test_symmetric_key),
		cmocka_unit_test(test_table_fill),
		cmocka_unit_test(test_text_forms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
