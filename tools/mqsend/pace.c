/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pace.c - even pacing by packets or bits per second.
 *
 * Packet k is due at start + k * interval (bps: each frame advances the clock by its own
 * length). Pacing against the start time, not the previous packet, keeps the long-run rate
 * exact however the sleeps jitter. A stall (the thread descheduled) is caught up, but never
 * by more than MQS_DEBT_PKTS packets back to back, so a receiver's 256-slot ring is never
 * hit by a burst larger than that at a rate the sender can sustain.
 */
#include <errno.h>
#include <time.h>

#include "cli.h"
#include "mqsend.h"

#define MQS_DEBT_PKTS 32
#define MQS_SPIN_NS 60000	/* closer than this to the due time, spin instead of sleeping */

void mqs_pace_init(struct mqs_pace *p, const struct mqs_opts *o, unsigned threads, uint64_t start_ns)
{
	p->start_ns = start_ns;
	p->ns_per_pkt = o->rate_pps ? 1e9 * threads / (double)o->rate_pps : 0;
	p->ns_per_byte = o->rate_bps ? 8e9 * threads / (double)o->rate_bps : 0;
	p->due_ns = 0;
	if (p->ns_per_pkt)
		p->debt_max_ns = (uint64_t)(p->ns_per_pkt * MQS_DEBT_PKTS);
	else
		p->debt_max_ns = (uint64_t)(p->ns_per_byte * 64 * MQS_DEBT_PKTS);
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
	double rel, per;
	unsigned n;

	if (!p->ns_per_pkt && !p->ns_per_byte)
		return max;
	rel = (double)(now_ns - p->start_ns);
	if (rel < p->due_ns) {
		mqs_pace_wait_until(p->start_ns + (uint64_t)p->due_ns);
		rel = (double)(cli_now_ns() - p->start_ns);
		if (rel < p->due_ns)
			return 0; /* stop requested */
	}
	if (rel - p->due_ns > (double)p->debt_max_ns)
		p->due_ns = rel - (double)p->debt_max_ns;
	per = p->ns_per_pkt ? p->ns_per_pkt : p->ns_per_byte * (next_len + MQS_FCS);
	n = (unsigned)((rel - p->due_ns) / per) + 1;
	return n < max ? n : max;
}

void mqs_pace_sent(struct mqs_pace *p, unsigned len)
{
	if (p->ns_per_pkt)
		p->due_ns += p->ns_per_pkt;
	else if (p->ns_per_byte)
		p->due_ns += p->ns_per_byte * (len + MQS_FCS);
}
