/* SPDX-License-Identifier: BSD-2-Clause */
/* The capture-name grammar: what users type on every tool's command line. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "devname_int.h"

static struct mqcap__capname cn;
static struct mqcap__err err;

static void parse_ok(const char *name)
{
	int rc = mqcap__capname_parse(name, &cn, &err);

	if (rc)
		fail_msg("'%s' rejected: %s", name, err.msg);
}

static void parse_fails(const char *name, const char *msg)
{
	int rc = mqcap__capname_parse(name, &cn, &err);

	if (rc != -EINVAL)
		fail_msg("'%s' accepted (rc %d)", name, rc);
	if (strcmp(err.msg, msg))
		fail_msg("'%s': message '%s', expected '%s'", name, err.msg, msg);
	assert_int_equal(cn.ndevs, 0); /* nothing half-parsed is left behind */
}

static void test_whole_device(void **state)
{
	(void)state;
	parse_ok("eth1");
	assert_int_equal(cn.backend, MQCAP_BACKEND_AUTO);
	assert_int_equal(cn.ndevs, 1);
	assert_string_equal(cn.devs[0].name, "eth1");
	assert_true(cn.devs[0].all_queues);
	assert_true(mqcap__devspec_has(&cn.devs[0], 77));
}

static void test_queues(void **state)
{
	(void)state;
	parse_ok("eth1@2");
	assert_false(cn.devs[0].all_queues);
	assert_int_equal(cn.devs[0].nqueues, 1);
	assert_true(mqcap__devspec_has(&cn.devs[0], 2));
	assert_false(mqcap__devspec_has(&cn.devs[0], 0));

	parse_ok("eth1@0-3");
	assert_int_equal(cn.devs[0].nqueues, 4);
	assert_int_equal(mqcap__devspec_max_queue(&cn.devs[0]), 3);

	parse_ok("eth1@1,5");
	assert_int_equal(cn.ndevs, 1);
	assert_int_equal(cn.devs[0].nqueues, 2);
	assert_true(mqcap__devspec_has(&cn.devs[0], 5));
	assert_false(mqcap__devspec_has(&cn.devs[0], 3));

	parse_ok("eth1@0-1,6,8-9");
	assert_int_equal(cn.devs[0].nqueues, 5);
	assert_int_equal(mqcap__devspec_max_queue(&cn.devs[0]), 9);

	parse_ok("eth1@1023");
	assert_int_equal(mqcap__devspec_max_queue(&cn.devs[0]), 1023);
}

static void test_device_lists(void **state)
{
	(void)state;
	parse_ok("eth1,eth2@1");
	assert_int_equal(cn.ndevs, 2);
	assert_true(cn.devs[0].all_queues);
	assert_string_equal(cn.devs[1].name, "eth2");
	assert_true(mqcap__devspec_has(&cn.devs[1], 1));

	/* ',' after a queue list: digit = more queues, letter = next device */
	parse_ok("eth1@0,3,eth2@1-2,eth3");
	assert_int_equal(cn.ndevs, 3);
	assert_int_equal(cn.devs[0].nqueues, 2);
	assert_true(mqcap__devspec_has(&cn.devs[0], 3));
	assert_int_equal(cn.devs[1].nqueues, 2);
	assert_true(cn.devs[2].all_queues);

	/* a name starting with a digit is fine first or after a whole device */
	parse_ok("4g,eth0");
	assert_string_equal(cn.devs[0].name, "4g");
	parse_ok("eth0,4g@1");
	assert_string_equal(cn.devs[1].name, "4g");
}

static void test_prefixes(void **state)
{
	(void)state;
	parse_ok("packet:eth1@2");
	assert_int_equal(cn.backend, MQCAP_BACKEND_PACKET);
	assert_string_equal(cn.devs[0].name, "eth1");
	parse_ok("xdp:veth-cap0");
	assert_int_equal(cn.backend, MQCAP_BACKEND_XDP);
	parse_ok("pcap:/tmp/a,b@c.pcap");
	assert_int_equal(cn.backend, MQCAP_BACKEND_PCAP);
	assert_int_equal(cn.ndevs, 0);
	assert_string_equal(cn.path, "/tmp/a,b@c.pcap");
}

static void test_errors(void **state)
{
	(void)state;
	parse_fails("", "empty capture name");
	parse_fails("eth1@", "eth1@: missing queue number after '@'");
	parse_fails("eth1@3-1", "eth1@3-1: range end 1 below start 3");
	parse_fails("eth1@1-", "eth1@1-: missing queue number after '1-'");
	parse_fails("eth1@x", "eth1@x: expected a queue number after '@', found 'x'");
	parse_fails("eth1@1,", "eth1@1,: missing device name after ','");
	parse_fails("eth1@1x", "eth1@1x: unexpected 'x' in the queue list of eth1");
	parse_fails("eth1@1@2", "eth1@1@2: a second '@' after the queues of eth1");
	parse_fails("eth1@2,2", "eth1@2,2: queue 2 of eth1 selected twice");
	parse_fails("eth1@0-3,2", "eth1@0-3,2: queue 2 of eth1 selected twice");
	parse_fails("eth1@1024", "eth1@1024: queue number too large (at most 1023)");
	parse_fails("eth1@99999999999999999999",
		    "eth1@99999999999999999999: queue number too large (at most 1023)");
	parse_fails("@1", "@1: missing device name before '@'");
	parse_fails(",eth1", ",eth1: empty device name at offset 0");
	parse_fails("eth1,,eth2", "eth1,,eth2: empty device name at offset 5");
	parse_fails("eth1,", "eth1,: missing device name after ','");
	parse_fails("eth1,eth1@2", "eth1,eth1@2: device eth1 named twice (list its queues once: eth1@0,1)");
	parse_fails("averyveryverylongname", "averyveryverylongname: device name 'averyveryverylongname' "
		    "is longer than 15 characters");
	parse_fails("eth 1", "eth 1: character 0x20 is not allowed in a device name");
	parse_fails("..", "..: '..' is not a device name");
	parse_fails("foo:eth1", "foo:eth1: unknown backend prefix 'foo:' (known: packet:, xdp:, pcap:FILE)");
	parse_fails("eth0:1", "eth0:1: unknown backend prefix 'eth0:' (known: packet:, xdp:, pcap:FILE)");
	parse_fails("pcap:", "pcap:: missing file name after 'pcap:'");
	parse_fails("packet:", "packet:: missing device name after 'packet:'");
	parse_fails("xdp:packet:eth1", "xdp:packet:eth1: ':' after the backend prefix");
	parse_fails("eth1@0,2eth", "eth1@0,2eth: unexpected 'e' in the queue list of eth1");
}

static void test_many_devices(void **state)
{
	char name[512] = "";

	(void)state;
	for (int i = 0; i < MQCAP__MAX_DEVS; i++)
		snprintf(name + strlen(name), sizeof(name) - strlen(name), "%sd%d", i ? "," : "", i);
	parse_ok(name);
	assert_int_equal(cn.ndevs, MQCAP__MAX_DEVS);
	strcat(name, ",extra");
	assert_int_equal(mqcap__capname_parse(name, &cn, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "more than 16 devices"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_device),
		cmocka_unit_test(test_queues),
		cmocka_unit_test(test_device_lists),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_many_devices),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
