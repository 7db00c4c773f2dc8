/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * balance_ctl.c - which buckets to move (balance_int.h). Greedy hottest-to-coldest: with a few
 * thousand buckets per group, one pass over the table per move is cheaper than keeping sorted
 * per-worker lists up to date, and the controller runs ten times a second, not per packet.
 */
#include <stdbool.h>
#include <stdlib.h>

#include "balance_int.h"

static double max_mean(const double *wl, unsigned nw, double *sum_out)
{
	double sum = 0, max = 0;

	for (unsigned i = 0; i < nw; i++) {
		sum += wl[i];
		if (wl[i] > max)
			max = wl[i];
	}
	*sum_out = sum;
	return sum > 0 ? max * nw / sum : 0;
}

unsigned mqcap__bal_rebalance(uint16_t *table, unsigned nbuckets, const double *bload,
			      unsigned base, unsigned nw, double thr, unsigned max_moves,
			      struct mqcap__bal_move *moves, double *wload, double *mm_before,
			      double *mm_after)
{
	double stack_wl[64], *wl = nw <= 64 ? stack_wl : calloc(nw, sizeof(double));
	bool stack_stuck[64], *stuck = nw <= 64 ? stack_stuck : calloc(nw, sizeof(bool));
	double sum, mean, mm;
	unsigned nmoves = 0;

	if (!wl || !stuck) {
		/* Out of memory: move nothing this interval rather than fail the capture. */
		if (wl != stack_wl)
			free(wl);
		if (stuck != stack_stuck)
			free(stuck);
		if (mm_before)
			*mm_before = 0;
		if (mm_after)
			*mm_after = 0;
		return 0;
	}
	for (unsigned i = 0; i < nw; i++) {
		wl[i] = 0;
		stuck[i] = false;
	}
	for (unsigned b = 0; b < nbuckets; b++)
		if (table[b] >= base && table[b] - base < nw)
			wl[table[b] - base] += bload[b];
	mm = max_mean(wl, nw, &sum);
	if (mm_before)
		*mm_before = mm;
	mean = nw ? sum / nw : 0;
	/* Hysteresis: start above thr, stop below thr/2, so noise around the threshold does not
	 * move buckets back and forth every interval. */
	if (sum > 0 && mm > 1.0 + thr) {
		while (nmoves < max_moves) {
			unsigned h = nw, c = nw, best = nbuckets;
			double gap, best_score = -1;

			for (unsigned i = 0; i < nw; i++) {
				if (!stuck[i] && (h == nw || wl[i] > wl[h]))
					h = i;
				if (c == nw || wl[i] < wl[c])
					c = i;
			}
			if (h == nw || wl[h] <= mean * (1.0 + thr / 2) || h == c)
				break;
			gap = wl[h] - wl[c];
			for (unsigned b = 0; b < nbuckets; b++) {
				double l = bload[b], score;

				if (table[b] != base + h || l <= 0 || l >= gap)
					continue;
				/* min(l, gap - l): the larger, the lower max(wl[h] - l, wl[c] + l). */
				score = l < gap - l ? l : gap - l;
				if (score > best_score) {
					best_score = score;
					best = b;
				}
			}
			if (best == nbuckets) {
				/* Only buckets at least as heavy as the gap are left on h (an
				 * elephant): moving one would just make c the hottest. */
				stuck[h] = true;
				continue;
			}
			table[best] = (uint16_t)(base + c);
			wl[h] -= bload[best];
			wl[c] += bload[best];
			if (moves) {
				moves[nmoves].bucket = best;
				moves[nmoves].from = (uint16_t)(base + h);
				moves[nmoves].to = (uint16_t)(base + c);
			}
			nmoves++;
		}
	}
	if (mm_after)
		*mm_after = max_mean(wl, nw, &sum);
	if (wload)
		for (unsigned i = 0; i < nw; i++)
			wload[i] = wl[i];
	if (wl != stack_wl)
		free(wl);
	if (stuck != stack_stuck)
		free(stuck);
	return nmoves;
}
