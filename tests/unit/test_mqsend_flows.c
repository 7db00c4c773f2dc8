/* SPDX-License-Identifier: BSD-2-Clause */
/* mqsend's packet building (tools/mqsend/flows.c, compiled in here): every generated frame
 * has the right lengths, a correct IPv4 header checksum and TCP/UDP checksum (recomputed
 * here over the whole frame, the slow way), a valid verification payload with per-flow
 * sequence numbers, and, with --rss, the queue the library's RSS twin predicts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include <mqcap/payload.h>
#include <mqcap/rss.h>

#include "../../tools/mqsend/flows.c"

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void opts_init(struct mqs_opts *o, int v6, uint8_t proto, unsigned nvlan)
{
	static const uint8_t key[MQCAP_RSS_KEY_LEN] = MQCAP_RSS_KEY_MICROSOFT;

	memset(o, 0, sizeof(*o));
	o->proto = proto;
	o->mtu = 1500;
	o->nvlan = nvlan;
	o->vlan[0] = 100;
	o->vlan[1] = 200;
	o->sport_lo = 1000;
	o->sport_hi = 1001;
	o->dport_lo = o->dport_hi = 80;
	o->size_lo = 64;
	o->size_hi = 1518;
	memset(o->dst_mac, 0xff, 6);
	o->src_mac[0] = 2;
	if (v6) {
		inet_pton(AF_INET6, "fd00:198::1", o->src.lo);
		inet_pton(AF_INET6, "fd00:198::10", o->dst.lo);
		inet_pton(AF_INET6, "fd00:198::1", o->src.hi);
		inet_pton(AF_INET6, "fd00:198::17", o->dst.hi);
	} else {
		inet_pton(AF_INET, "198.18.0.1", o->src.lo);
		inet_pton(AF_INET, "198.19.0.0", o->dst.lo);
		inet_pton(AF_INET, "198.18.0.1", o->src.hi);
		inet_pton(AF_INET, "198.19.0.7", o->dst.hi);
	}
	o->src.v6 = o->dst.v6 = v6;
	memcpy(o->rss_key, key, sizeof(key));
	o->rss = true;
	mqcap_rss_table_fill(o->rss_table, 4, NULL, 0);
}

/* Check one frame; returns the flow's sequence number. */
static uint64_t check_frame(const struct mqs_opts *o, const uint8_t *f, unsigned len,
			    const struct mqs_tmpl *t)
{
	unsigned l3 = 14 + 4 * o->nvlan, l4, alen = o->dst.v6 ? 16 : 4, l4len;
	const uint8_t *ip = f + l3;
	uint32_t sum;
	struct mqcap_payload pl = { 0 };

	if (o->nvlan == 2) {
		assert_int_equal(get16(f + 12), 0x88a8);
		assert_int_equal(get16(f + 14), 100);
		assert_int_equal(get16(f + 16), 0x8100);
		assert_int_equal(get16(f + 18), 200);
	} else if (o->nvlan == 1) {
		assert_int_equal(get16(f + 12), 0x8100);
	}
	if (o->dst.v6) {
		l4 = l3 + 40;
		assert_int_equal(get16(ip + 4), len - l4);
		assert_int_equal(ip[6], o->proto);
	} else {
		l4 = l3 + 20;
		assert_int_equal(get16(ip + 2), len - l3);
		/* IPv4 header checksum: the header sums to 0xffff. */
		assert_int_equal(mqcap_payload_fold(mqcap_payload_sum(ip, 20, 0)), 0xffff);
	}
	l4len = len - l4;
	/* TCP/UDP checksum over the pseudo header and the whole segment. */
	sum = mqcap_payload_sum(ip + (o->dst.v6 ? 8 : 12), 2 * alen, 0);
	sum += o->proto + l4len;
	sum = mqcap_payload_sum(f + l4, l4len, sum);
	assert_int_equal(mqcap_payload_fold(sum), 0xffff);
	if (o->proto == IPPROTO_UDP)
		assert_int_equal(get16(f + l4 + 4), l4len);
	l4 += o->proto == IPPROTO_TCP ? 20 : 8;
	assert_int_not_equal(mqcap_payload_validate(f + l4, len - l4, &pl), MQCAP_PAYLOAD_NONE);
	/* With --rss, the template's queue is the one the library computes from the frame. */
	assert_int_equal(t->queue, mqcap_rss_frame_queue(o->rss_key, o->rss_table, f, len, NULL));
	return pl.seq;
}

static void run_case(int v6, uint8_t proto, unsigned nvlan, int imix)
{
	struct mqs_opts o;
	struct mqs_tmpl *tmpl;
	uint32_t n, flows[64];
	uint64_t seq[64] = { 0 };
	uint16_t sizes[MQS_SIZES];
	struct mqs_gen g = { 0 };
	uint8_t frame[MQS_FRAME_MAX];

	opts_init(&o, v6, proto, nvlan);
	o.imix = imix;
	mqs_filler_init();
	assert_int_equal(mqs_flows_build(&o, &tmpl, &n), 0);
	assert_int_equal(n, 16); /* 8 destinations x 2 source ports */
	mqs_sizes_build(&o, sizes);
	for (uint32_t i = 0; i < n; i++)
		flows[i] = i;
	g.o = &o;
	g.tmpl = tmpl;
	g.flows = flows;
	g.nflows = n;
	g.seq = seq;
	g.sizes = sizes;
	for (unsigned k = 0; k < 3 * MQS_SIZES; k++) {
		unsigned sock, fi = g.pos, len = mqs_gen_next(&g, frame, &sock);

		assert_true(len >= mqs_hdr_len(&o) + MQCAP_PAYLOAD_MIN_LEN);
		assert_true(len <= 1500 + 14 + (nvlan ? 4 : 0));
		/* Flows rotate, destination first; each flow counts its own sequence (the
		 * compact form's 24 bits hold these small numbers whole, so it is checked too). */
		assert_int_equal(check_frame(&o, frame, len, &tmpl[fi]), k / n);
	}
	free(tmpl);
}

static void test_ipv4_tcp(void **s)
{
	(void)s;
	run_case(0, IPPROTO_TCP, 0, 0);
}

static void test_ipv4_udp_vlan_imix(void **s)
{
	(void)s;
	run_case(0, IPPROTO_UDP, 1, 1);
}

static void test_ipv6_tcp_qinq(void **s)
{
	(void)s;
	run_case(1, IPPROTO_TCP, 2, 0);
}

static void test_ipv6_udp(void **s)
{
	(void)s;
	run_case(1, IPPROTO_UDP, 0, 1);
}

static void test_paper_frame(void **s)
{
	/* The paper's frame: 60 bytes, compact payload, destinations rotating. */
	struct mqs_opts o;
	struct mqs_tmpl *tmpl;
	uint32_t n;

	(void)s;
	opts_init(&o, 0, IPPROTO_TCP, 0);
	o.sport_hi = 1000;
	inet_pton(AF_INET, "198.19.15.255", o.dst.hi);
	assert_int_equal(mqs_flows_build(&o, &tmpl, &n), 0);
	assert_int_equal(n, 4096);
	assert_int_equal(tmpl[0].hdr_len, 54);
	assert_int_equal(tmpl[4095].hdr[14 + 18], 15); /* 198.19.15.255 */
	assert_int_equal(tmpl[4095].hdr[14 + 19], 255);
	free(tmpl);
}

/* Two full IPv4 ranges are 2^32 x 2^32 flows: the count wrapped to 0 and was accepted
 * (found by fuzz_mqsend). */
static void test_flow_count_overflow(void **s)
{
	struct mqs_opts o;
	struct mqs_tmpl *tmpl = NULL;
	uint32_t n = 7;

	(void)s;
	opts_init(&o, 0, IPPROTO_UDP, 0);
	inet_pton(AF_INET, "0.0.0.0", o.src.lo);
	inet_pton(AF_INET, "255.255.255.255", o.src.hi);
	memcpy(o.dst.lo, o.src.lo, 16);
	memcpy(o.dst.hi, o.src.hi, 16);
	o.sport_hi = o.sport_lo;
	assert_int_equal(mqs_flows_build(&o, &tmpl, &n), -E2BIG);
	assert_null(tmpl);
	assert_int_equal(n, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_tcp),
		cmocka_unit_test(test_flow_count_overflow),
		cmocka_unit_test(test_ipv4_udp_vlan_imix),
		cmocka_unit_test(test_ipv6_tcp_qinq),
		cmocka_unit_test(test_ipv6_udp),
		cmocka_unit_test(test_paper_frame),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
