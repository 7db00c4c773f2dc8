/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pace.c - even pacing by packets or bits per second.
 *
 * Packet k is due at start + k * interval (bps: each frame advances the clock by its own
 * length). Pacing against the start time, not the previous packet, keeps the long-run rate
 * exact however the sleeps jitter. A stall (the thread descheduled for some milliseconds on
 * a busy machine) is caught up, but at no more than twice the rate and in bursts of at most
 * MQS_BURST packets (a second clock running at half the interval, never more than a burst
 * behind, gates it), so a receiver's 256-slot ring never sees a flood at a rate the sender
 * can sustain. Debt older than a second is forgiven: after a long stop the rate falls short
 * rather than doubling for seconds.
 */
#include <errno.h>
#include <time.h>

#include "cli.h"
#include "mqsend.h"

#define MQS_BURST 32
#define MQS_SPIN_NS 60000	/* closer than this to the due time, spin instead of sleeping */

void mqs_pace_init(struct mqs_pace *p, const struct mqs_opts *o, unsigned threads, uint64_t start_ns)
{
	p->start_ns = start_ns;
	p->ns_per_pkt = o->rate_pps ? 1e9 * threads / (double)o->rate_pps : 0;
	p->ns_per_byte = o->rate_bps ? 8e9 * threads / (double)o->rate_bps : 0;
	p->due_ns = 0;
	p->catch_ns = 0;
	p->debt_max_ns = 1000000000ull;
}

void mqs_pace_wait_until(uint64_t abs_ns)
{
	for (;;) {
		uint64_t now = cli_now_ns();

		if (now >= abs_ns || cli_stop_requested())
			return;
		if (abs_ns - now > MQS_SPIN_NS) {
			uint64_t sl = abs_ns - now - MQS_SPIN_NS / 2;
			struct timespec ts;

			/* Short naps, so a stop request is seen within 100 ms at any rate. */
			if (sl > 100000000ull)
				sl = 100000000ull;
			ts.tv_sec = (time_t)(sl / 1000000000ull);
			ts.tv_nsec = (long)(sl % 1000000000ull);
			nanosleep(&ts, NULL);
		}
	}
}

unsigned mqs_pace_allow(struct mqs_pace *p, unsigned max, unsigned next_len, uint64_t now_ns)
{
	double rel, per, n1, n2;
	unsigned n;

	if (!p->ns_per_pkt && !p->ns_per_byte)
		return max;
	per = p->ns_per_pkt ? p->ns_per_pkt : p->ns_per_byte * (next_len + MQS_FCS);
	rel = (double)(now_ns - p->start_ns);
	if (rel < p->due_ns || rel < p->catch_ns) {
		double until = p->due_ns > p->catch_ns ? p->due_ns : p->catch_ns;

		mqs_pace_wait_until(p->start_ns + (uint64_t)until);
		rel = (double)(cli_now_ns() - p->start_ns);
		if (rel < until)
			return 0; /* stop requested */
	}
	if (rel - p->due_ns > (double)p->debt_max_ns)
		p->due_ns = rel - (double)p->debt_max_ns;
	/* The catch-up clock is never more than one burst behind. */
	if (rel - p->catch_ns > MQS_BURST * per / 2)
		p->catch_ns = rel - MQS_BURST * per / 2;
	n1 = (rel - p->due_ns) / per + 1;
	n2 = (rel - p->catch_ns) / (per / 2) + 1;
	n = (unsigned)(n1 < n2 ? n1 : n2);
	return n < max ? n : max;
}

void mqs_pace_sent(struct mqs_pace *p, unsigned len)
{
	double per = p->ns_per_pkt ? p->ns_per_pkt : p->ns_per_byte * (len + MQS_FCS);

	if (!per)
		return;
	p->due_ns += per;
	p->catch_ns += per / 2;
}
