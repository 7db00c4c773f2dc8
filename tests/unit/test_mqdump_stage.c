/* SPDX-License-Identifier: BSD-2-Clause */
/* mqdump --time-order's staging FIFO (tools/mqdump/order.c, compiled in here): packets of
 * every size come back whole and in order across many wraps of the buffer; a full stage
 * refuses a packet and changes nothing; an empty one says so. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

#include "../../tools/mqdump/order.c"

/* Fill a packet's bytes from its sequence number, so any mix-up shows. */
static void fill(uint8_t *b, uint32_t len, uint32_t seq)
{
	for (uint32_t i = 0; i < len; i++)
		b[i] = (uint8_t)(seq * 31 + i);
}

static void check_head(const struct stage *st, uint32_t seq, uint32_t caplen)
{
	struct mqcap_pkt p = { 0 };

	assert_true(stage_head(st, &p));
	assert_int_equal(p.ts_ns, 1000 + seq);
	assert_int_equal(stage_head_ts(st), 1000 + seq);
	assert_int_equal(p.caplen, caplen);
	assert_int_equal(p.len, caplen + 4);
	assert_int_equal(p.queue, seq % 7);
	assert_int_equal(p.dev, seq % 3);
	for (uint32_t i = 0; i < caplen; i++)
		assert_int_equal(p.data[i], (uint8_t)(seq * 31 + i));
}

static void test_fifo_wraps(void **state)
{
	enum { N = 20000, SNAP = 300 };
	static uint32_t lens[N];
	uint8_t buf[SNAP];
	struct stage st;
	uint32_t in = 0, out = 0, wraps = 0, refused = 0;

	(void)state;
	srand(7);
	assert_int_equal(stage_init(&st, 4096, SNAP), 0);
	while (out < N) {
		/* push a few, pop a few: the fill level wanders over the whole buffer */
		int pushes = rand() % 4, pops = rand() % 4;

		for (int k = 0; k < pushes && in < N; k++) {
			struct mqcap_pkt p = { .data = buf, .caplen = (uint32_t)(rand() % (SNAP + 1)),
					       .ts_ns = 1000 + in, .queue = (uint16_t)(in % 7),
					       .dev = (uint16_t)(in % 3) };
			size_t tail = st.tail;
			unsigned n = st.n;

			p.len = p.caplen + 4;
			fill(buf, p.caplen, in);
			if (!stage_push(&st, &p)) {
				/* refused: nothing changed, and it was really short of room */
				assert_int_equal(st.tail, tail);
				assert_int_equal(st.n, n);
				assert_true(n > 0);
				refused++;
				break;
			}
			if (st.tail < tail)
				wraps++;
			lens[in++] = p.caplen;
		}
		for (int k = 0; k < pops && out < in; k++) {
			check_head(&st, out, lens[out]);
			stage_pop(&st);
			out++;
		}
		if (in == N && out < in) {
			check_head(&st, out, lens[out]);
			stage_pop(&st);
			out++;
		}
	}
	assert_int_equal(st.n, 0);
	assert_false(stage_head(&st, &(struct mqcap_pkt){ 0 }));
	assert_true(stage_head_ts(&st) == UINT64_MAX);
	/* the test is worth something only if it went round the buffer often and filled it */
	assert_true(wraps > 100);
	assert_true(refused > 10);
	stage_free(&st);
}

static void test_full_and_empty(void **state)
{
	uint8_t buf[100] = { 0 };
	struct stage st;
	struct mqcap_pkt p = { .data = buf, .caplen = 100, .len = 104 };
	unsigned n = 0;

	(void)state;
	assert_int_equal(stage_init(&st, 1000, 100), 0);
	assert_false(stage_head(&st, &p));
	stage_pop(&st); /* popping nothing is harmless */
	while (stage_push(&st, &(struct mqcap_pkt){ .data = buf, .caplen = 100, .len = 104,
						     .ts_ns = n + 1 }))
		n++;
	assert_true(n >= 2);                 /* stage_init leaves room for two of the snaplen */
	assert_true(n * (32 + 104) <= 1000); /* and no record overlaps another */
	assert_int_equal(stage_head_ts(&st), 1);
	stage_pop(&st);
	/* one freed at the front: the next one wraps there only if it fits short of the head */
	for (unsigned i = 2; i <= n; i++) {
		assert_int_equal(stage_head_ts(&st), i);
		stage_pop(&st);
	}
	assert_int_equal(st.n, 0);
	assert_int_equal(st.head, 0);
	assert_int_equal(st.tail, 0);
	stage_free(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifo_wraps),
		cmocka_unit_test(test_full_and_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
