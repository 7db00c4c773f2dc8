/* SPDX-License-Identifier: BSD-2-Clause */
/* Filters: libpcap's compiler behind filter.c, the user-space match, and the AF_PACKET socket
 * program that puts the queue and direction checks in front of the user's filter. */
#include <errno.h>
#include <linux/if_packet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "filter_int.h"

/* Ethernet + IPv4 + UDP 1111 -> 2222, optionally with one VLAN tag */
static unsigned udp_frame(uint8_t *f, int vlan)
{
	static const uint8_t hdr[] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1 };
	static const uint8_t ip[] = { 0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0,
				      198, 18, 0, 1, 198, 18, 0, 2 };
	static const uint8_t udp[] = { 0x04, 0x57, 0x08, 0xae, 0, 8, 0, 0 };
	unsigned n = 0;

	memcpy(f, hdr, sizeof(hdr));
	n = sizeof(hdr);
	if (vlan) {
		f[n++] = 0x81; f[n++] = 0; f[n++] = 0; f[n++] = (uint8_t)vlan;
	}
	f[n++] = 8; f[n++] = 0;
	memcpy(f + n, ip, sizeof(ip));
	n += sizeof(ip);
	memcpy(f + n, udp, sizeof(udp));
	return n + sizeof(udp);
}

static void test_compile_and_match(void **state)
{
	struct mqcap__filter f;
	struct mqcap__err e = { "" };
	uint8_t fr[128];
	unsigned n = udp_frame(fr, 0), nv;

	(void)state;
	assert_int_equal(mqcap__filter_compile(&f, NULL, DLT_EN10MB, 262144, &e), 0);
	assert_false(mqcap__filter_active(&f));
	assert_true(mqcap__filter_match(&f, fr, n, n));
	assert_int_equal(mqcap__filter_compile(&f, "udp dst port 2222", DLT_EN10MB, 262144, &e), 0);
	assert_true(mqcap__filter_active(&f));
	assert_true(mqcap__filter_match(&f, fr, n, n));
	nv = udp_frame(fr, 7);
	assert_false(mqcap__filter_match(&f, fr, nv, nv)); /* libpcap: a tag hides the UDP */
	mqcap__filter_free(&f);
	assert_int_equal(mqcap__filter_compile(&f, "vlan 7 and udp port 2222", DLT_EN10MB, 262144, &e), 0);
	assert_true(mqcap__filter_match(&f, fr, nv, nv));
	mqcap__filter_free(&f);
	mqcap__filter_free(&f); /* twice is harmless */
}

static void test_compile_errors(void **state)
{
	struct mqcap__filter f;
	struct mqcap__err e = { "" };

	(void)state;
	assert_int_equal(mqcap__filter_compile(&f, "tcp port", DLT_EN10MB, 65535, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "filter 'tcp port': "));
	assert_false(mqcap__filter_active(&f));
	assert_int_equal(mqcap__filter_compile(&f, "udp port 99999", DLT_EN10MB, 65535, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "99999")); /* libpcap's own words name the bad port */
}

static void test_kernel_program(void **state)
{
	struct mqcap__kprog_opts o = { .queue_mapping = 3, .direction = MQCAP_DIR_IN,
				       .defer_vlan = true, .snaplen = 1500 };
	struct mqcap__filter f;
	struct mqcap__err e = { "" };
	struct sock_fprog p;

	(void)state;
	/* no filter: pkttype check, queue check, accept */
	assert_int_equal(mqcap__filter_build_kernel(NULL, &o, &p, &e), 0);
	assert_int_equal(p.len, 7);
	assert_int_equal(p.filter[0].k, (uint32_t)(SKF_AD_OFF + SKF_AD_PKTTYPE));
	assert_int_equal(p.filter[2].code, BPF_RET | BPF_K);         /* outgoing: drop */
	assert_int_equal(p.filter[2].k, 0);
	assert_int_equal(p.filter[3].k, (uint32_t)(SKF_AD_OFF + SKF_AD_QUEUE));
	assert_int_equal(p.filter[4].k, 3);
	assert_int_equal(p.filter[4].jt, 1);                          /* ours: skip the drop */
	assert_int_equal(p.filter[6].code, BPF_RET | BPF_K);
	assert_int_equal(p.filter[6].k, 1500);
	free(p.filter);

	/* with a filter: the VLAN deferral, then the user's program unchanged */
	assert_int_equal(mqcap__filter_compile(&f, "tcp", DLT_EN10MB, 1500, &e), 0);
	assert_int_equal(mqcap__filter_build_kernel(&f, &o, &p, &e), 0);
	assert_int_equal(p.len, 9 + f.prog.bf_len);
	assert_int_equal(p.filter[6].k, (uint32_t)(SKF_AD_OFF + SKF_AD_VLAN_TAG_PRESENT));
	assert_memory_equal(p.filter + 9, f.prog.bf_insns, f.prog.bf_len * sizeof(*p.filter));
	free(p.filter);

	/* OUT on the device's first socket: outgoing jumps past the incoming checks */
	o.direction = MQCAP_DIR_OUT;
	o.take_outgoing = true;
	o.queue_mapping = -1;
	assert_int_equal(mqcap__filter_build_kernel(&f, &o, &p, &e), 0);
	assert_int_equal(p.filter[2].code, BPF_JMP | BPF_JA);
	assert_int_equal(p.filter[2].k, 1);
	assert_int_equal(p.filter[3].code, BPF_RET | BPF_K);          /* incoming: drop */
	assert_int_equal(p.filter[3].k, 0);
	free(p.filter);
	mqcap__filter_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compile_and_match),
		cmocka_unit_test(test_compile_errors),
		cmocka_unit_test(test_kernel_program),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
