/* SPDX-License-Identifier: BSD-2-Clause */
/* Giving UMEM frames back to an AF_XDP fill ring that is short of room (src/xsk_fill_int.h).
 * The ring here is a real xsk_ring_prod over memory the test owns, with the "kernel" side
 * played by the test: the consumer index lags, as it does between the kernel's RX submit
 * and its fill-ring release. Before the fix, the refill wrote into slots the kernel still
 * owned and moved the producer past the consumer; here every frame must reach the ring
 * exactly once, in order, and never into an occupied slot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "xsk_fill_int.h"

#define RING 8u

struct fake {
	struct xsk_ring_prod prod;
	uint32_t producer, consumer, flags;
	uint64_t slots[RING];
};

static void fake_init(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	f->prod.mask = RING - 1;
	f->prod.size = RING;
	f->prod.cached_cons = RING; /* libxdp keeps cached_cons one ring ahead */
	f->prod.producer = &f->producer;
	f->prod.consumer = &f->consumer;
	f->prod.ring = f->slots;
	f->prod.flags = &f->flags;
}

/* The kernel takes n addresses from the ring (in order) and releases their slots. */
static void kernel_consume(struct fake *f, uint32_t n, uint64_t *out)
{
	assert_true(f->producer - f->consumer >= n);
	for (uint32_t i = 0; i < n; i++)
		out[i] = f->slots[(f->consumer + i) & (RING - 1)];
	f->consumer += n;
}

static void test_short_ring_keeps_the_rest(void **state)
{
	struct mqcap__fill_stash s;
	struct fake f;
	uint64_t got[RING];

	(void)state;
	fake_init(&f);
	assert_int_equal(mqcap__fill_stash_init(&s, RING), 0);
	/* All 8 frames into the ring: full. */
	for (uint32_t i = 0; i < RING; i++)
		mqcap__fill_stash_put(&s, i * 4096u);
	assert_int_equal(mqcap__fill_flush(&f.prod, &s), RING);
	assert_int_equal(f.producer, RING);
	/* The kernel received 3 frames into RX but has not released the fill slots yet; the
	 * reader gives the 3 frames back: no room at all. */
	for (uint32_t i = 0; i < 3; i++)
		mqcap__fill_stash_put(&s, i * 4096u);
	assert_int_equal(mqcap__fill_flush(&f.prod, &s), 0);
	assert_int_equal(f.producer, RING); /* nothing written over the kernel's slots */
	assert_int_equal(mqcap__fill_stash_count(&s), 3);
	/* The kernel releases 2 slots: 2 of the 3 go in, the third waits. */
	kernel_consume(&f, 2, got);
	assert_int_equal(mqcap__fill_flush(&f.prod, &s), 2);
	assert_int_equal(f.producer, RING + 2);
	assert_int_equal(mqcap__fill_stash_count(&s), 1);
	/* The producer never passes the consumer by more than the ring. */
	assert_true(f.producer - f.consumer <= RING);
	kernel_consume(&f, 6, got);
	assert_int_equal(mqcap__fill_flush(&f.prod, &s), 1);
	kernel_consume(&f, 3, got);
	assert_int_equal(got[0], 0);
	assert_int_equal(got[1], 4096);
	assert_int_equal(got[2], 2 * 4096);
	mqcap__fill_stash_free(&s);
}

/* Many rounds with a random lag: every frame reaches the kernel exactly once per loan. */
static void test_random_lag_every_frame_once(void **state)
{
	struct mqcap__fill_stash s;
	struct fake f;
	uint64_t got[RING];
	unsigned seen[RING] = { 0 }, returned = 0, taken = 0;
	uint32_t inflight = 0; /* frames the kernel took and has not given back in RX yet */
	uint64_t pending[RING];
	uint32_t rng = 12345;

	(void)state;
	fake_init(&f);
	assert_int_equal(mqcap__fill_stash_init(&s, RING), 0);
	for (uint32_t i = 0; i < RING; i++)
		mqcap__fill_stash_put(&s, i * 4096u);
	mqcap__fill_flush(&f.prod, &s);
	for (unsigned round = 0; round < 100000; round++) {
		uint32_t avail = f.producer - f.consumer, n;

		rng = rng * 1103515245u + 12345u;
		n = avail ? (rng >> 16) % (avail + 1) : 0;
		/* The kernel takes n frames (publishes them in RX) but releases their fill slots
		 * only later: the consumer index moves after the reader already has the frames. */
		for (uint32_t i = 0; i < n; i++)
			pending[inflight + i] = f.slots[(f.consumer + i) & (RING - 1)];
		inflight += n;
		taken += n;
		/* The reader returns everything it got, before the kernel's release. */
		for (uint32_t i = 0; i < inflight; i++) {
			seen[pending[i] / 4096u]++;
			mqcap__fill_stash_put(&s, pending[i]);
		}
		returned += inflight;
		mqcap__fill_flush(&f.prod, &s);
		assert_true(f.producer - f.consumer <= RING);
		/* Now the kernel releases the slots. */
		if (inflight)
			kernel_consume(&f, inflight, got);
		inflight = 0;
		mqcap__fill_flush(&f.prod, &s);
		assert_true(f.producer - f.consumer <= RING);
		/* Every frame is in the ring or in the stash, none twice. */
		assert_int_equal((f.producer - f.consumer) + mqcap__fill_stash_count(&s), RING);
	}
	assert_int_equal(returned, taken);
	for (uint32_t i = 0; i < RING; i++) {
		unsigned in = 0;

		for (uint32_t k = f.consumer; k != f.producer; k++)
			in += f.slots[k & (RING - 1)] == i * 4096u;
		for (uint32_t k = s.head; k != s.tail; k++)
			in += s.addr[k & s.mask] == i * 4096u;
		assert_int_equal(in, 1);
	}
	mqcap__fill_stash_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_short_ring_keeps_the_rest),
		cmocka_unit_test(test_random_lag_every_frame_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
