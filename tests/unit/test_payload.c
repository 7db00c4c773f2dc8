/* SPDX-License-Identifier: BSD-2-Clause */
/* The verification payload (include/mqcap/payload.h): both forms round-trip, the check makes
 * the payload sum to 0xffff, every corruption a receiver must notice is noticed, and 24-bit
 * sequence numbers extend correctly across wraps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include <mqcap/payload.h>

static void test_forms_by_length(void **state)
{
	(void)state;
	assert_int_equal(mqcap_payload_form_for(0), MQCAP_PAYLOAD_NONE);
	assert_int_equal(mqcap_payload_form_for(5), MQCAP_PAYLOAD_NONE);
	/* 64-byte IPv4/TCP frame: 60 - 14 - 20 - 20 = 6 bytes. */
	assert_int_equal(mqcap_payload_form_for(6), MQCAP_PAYLOAD_COMPACT);
	assert_int_equal(mqcap_payload_form_for(19), MQCAP_PAYLOAD_COMPACT);
	assert_int_equal(mqcap_payload_form_for(20), MQCAP_PAYLOAD_FULL);
	assert_int_equal(mqcap_payload_form_for(1472), MQCAP_PAYLOAD_FULL);
}

static void test_full_roundtrip(void **state)
{
	uint8_t buf[1500];
	struct mqcap_payload in = { .seq = 0x0102030405060708ull, .flow_id = 0xa0b0c0d0,
				    .sender_id = 0x1234, .flags = MQCAP_PAYLOAD_F_LAST };
	struct mqcap_payload out;

	(void)state;
	for (size_t len = 20; len <= sizeof(buf); len += 97) {
		memset(&out, 0, sizeof(out));
		assert_int_equal(mqcap_payload_encode(buf, len, &in), MQCAP_PAYLOAD_FULL);
		assert_int_equal(mqcap_payload_validate(buf, len, &out), MQCAP_PAYLOAD_FULL);
		assert_true(out.seq == in.seq);
		assert_int_equal(out.flow_id, in.flow_id);
		assert_int_equal(out.sender_id, in.sender_id);
		assert_int_equal(out.flags, in.flags);
		/* The documented layout, byte by byte. */
		assert_int_equal(buf[0], 'M');
		assert_int_equal(buf[1], 'Q');
		assert_int_equal(buf[2], MQCAP_PAYLOAD_VERSION);
		assert_int_equal(buf[4], 0x12);
		assert_int_equal(buf[8], 0xa0);
		assert_int_equal(buf[12], 0x01);
		assert_int_equal(buf[19], 0x08);
		if (len > 20)
			assert_int_equal(buf[20], 20); /* filler byte i is i & 0xff */
		/* The check makes the whole payload sum to 0xffff (adds nothing to TCP/UDP sums). */
		assert_int_equal(mqcap_payload_fold(mqcap_payload_sum(buf, len, 0)), 0xffff);
	}
}

static void test_compact_roundtrip(void **state)
{
	uint8_t buf[19];
	struct mqcap_payload in = { .seq = 0xabcdef12ull, .sender_id = 0x37 };
	struct mqcap_payload out;

	(void)state;
	for (size_t len = 6; len < 20; len++) {
		assert_int_equal(mqcap_payload_encode(buf, len, &in), MQCAP_PAYLOAD_COMPACT);
		assert_int_equal(mqcap_payload_validate(buf, len, &out), MQCAP_PAYLOAD_COMPACT);
		assert_true(out.seq == 0xcdef12); /* low 24 bits */
		assert_int_equal(out.sender_id, 0x7); /* low 4 bits */
		assert_int_equal(out.flow_id, 0);
		assert_int_equal(buf[0] & 0xf0, 0xc0);
	}
}

static void test_corruption_detected(void **state)
{
	uint8_t buf[64];
	struct mqcap_payload in = { .seq = 77, .flow_id = 3, .sender_id = 1 };
	struct mqcap_payload out;

	(void)state;
	/* Every single-bit flip anywhere in the payload fails validation. */
	for (size_t len = 6; len <= sizeof(buf); len += 29) {
		mqcap_payload_encode(buf, len, &in);
		for (size_t i = 0; i < len; i++) {
			for (int b = 0; b < 8; b++) {
				buf[i] ^= (uint8_t)(1u << b);
				assert_int_equal(mqcap_payload_validate(buf, len, &out), MQCAP_PAYLOAD_NONE);
				buf[i] ^= (uint8_t)(1u << b);
			}
		}
		assert_int_not_equal(mqcap_payload_validate(buf, len, &out), MQCAP_PAYLOAD_NONE);
	}
	/* Truncation by two bytes (a whole 16-bit word) is noticed too. */
	mqcap_payload_encode(buf, 64, &in);
	assert_int_equal(mqcap_payload_validate(buf, 62, &out), MQCAP_PAYLOAD_NONE);
	/* Not a payload at all; a wrong version; a compact header in a long payload. */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(mqcap_payload_decode(buf, 64, &out), MQCAP_PAYLOAD_NONE);
	mqcap_payload_encode(buf, 64, &in);
	buf[2] = 9;
	assert_int_equal(mqcap_payload_decode(buf, 64, &out), MQCAP_PAYLOAD_NONE);
	mqcap_payload_encode(buf, 6, &in);
	assert_int_equal(mqcap_payload_decode(buf, 64, &out), MQCAP_PAYLOAD_NONE);
	assert_int_equal(mqcap_payload_validate(buf, 5, &out), MQCAP_PAYLOAD_NONE);
}

static void test_hot_path_equals_encode(void **state)
{
	/* write_header + finish with a precomputed filler sum gives the same bytes as encode. */
	uint8_t a[300], b[300];
	struct mqcap_payload in = { .seq = 123456789, .flow_id = 42, .sender_id = 5 };

	(void)state;
	for (size_t len = 6; len <= sizeof(a); len++) {
		size_t hl = mqcap_payload_header_len(len);
		uint32_t hs;

		mqcap_payload_encode(a, len, &in);
		for (size_t i = 0; i < len; i++)
			b[i] = (uint8_t)i;
		hs = mqcap_payload_write_header(b, len, &in);
		mqcap_payload_finish(b, len, hs, mqcap_payload_sum(b + hl, len - hl, 0));
		assert_memory_equal(a, b, len);
	}
}

static void test_seq_extend(void **state)
{
	(void)state;
	assert_true(mqcap_payload_seq_extend(0, 5) == 5);
	assert_true(mqcap_payload_seq_extend(0xfffffe, 0x000001) == 0x1000001);
	assert_true(mqcap_payload_seq_extend(0x1000001, 0xffffff) == 0xffffff); /* late packet */
	assert_true(mqcap_payload_seq_extend(0x5123456, 0x123457) == 0x5123457);
	assert_true(mqcap_payload_seq_extend(10, 0xfffff0) == 0xfffff0); /* no wrap below zero */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms_by_length),
		cmocka_unit_test(test_full_roundtrip),
		cmocka_unit_test(test_compact_roundtrip),
		cmocka_unit_test(test_corruption_detected),
		cmocka_unit_test(test_hot_path_equals_encode),
		cmocka_unit_test(test_seq_extend),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
