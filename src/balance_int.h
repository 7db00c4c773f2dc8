/* SPDX-License-Identifier: BSD-2-Clause */
/* balance_int.h - the scheduler's controller as a pure function (src/balance_ctl.c), shared by
 * mqcap_balance_tick() and the Zipf simulation in bench/balance, so the simulation drives the
 * very code the runtime runs. */
#ifndef MQCAP_BALANCE_INT_H
#define MQCAP_BALANCE_INT_H

#include <stdint.h>
#include "abi_int.h" /* the mqcap__ implementations of the sized output calls */

struct mqcap__bal_move {
	uint32_t bucket;
	uint16_t from, to;
};

/*
 * Rebalance one group: table[b] (global worker numbers in [base, base + nw)) for nbuckets
 * buckets, bload[b] the load bucket b put on its worker in the last interval (any unit).
 * When the busiest worker exceeds the mean by thr (0.10 = 10%), move buckets from the hottest
 * to the coldest worker, each the one whose load comes closest to half their gap (so every move
 * lowers the pair's maximum), until the busiest is within thr/2 of the mean, no move helps, or
 * max_moves moves were made. Moves are applied to table and, if moves != NULL, listed there.
 * wload (nw entries, may be NULL) receives each worker's load after the moves.
 * *mm_before / *mm_after (may be NULL): max/mean before and after (0 when the group had no load).
 * Returns the number of moves.
 */
unsigned mqcap__bal_rebalance(uint16_t *table, unsigned nbuckets, const double *bload,
			      unsigned base, unsigned nw, double thr, unsigned max_moves,
			      struct mqcap__bal_move *moves, double *wload, double *mm_before,
			      double *mm_after);

#endif
