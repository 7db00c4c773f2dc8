/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * zipf_sim: the scheduler's controller past this machine's two cores, by deterministic replay.
 *
 * FLOWS flows with Zipf(1.1) sizes (flow of rank k carries a share proportional to k^-1.1) are
 * hashed with the scheduler's own flow hash into 4096 buckets; each 100 ms interval the bucket
 * loads go through the very function mqcap_balance_tick() uses (mqcap__bal_rebalance, 10%
 * threshold, at most 64 moves), and the moves apply to the next interval, as in the runtime.
 * Churn: every interval 1% of the flows end and new flows of the same sizes start (new
 * addresses, so new buckets). Everything comes from fixed seeds: every run prints the same.
 *
 * Per worker count: max/mean load with the static table (even bucket split, no moves) and
 * with the adaptive controller (mean over the intervals after the first second), the bound no
 * scheduler that keeps flows whole can beat (the heaviest bucket / mean, when above 1), the
 * adaptive figure without the workers that hold an elephant (a single flow above 90% of a
 * worker at 80% average utilisation), and migrations per second.
 *
 * Usage: zipf_sim [-f FLOWS] [-i INTERVALS]
 * Last line: `zipf: workers=4..64 max/mean static=A..B adaptive=C..D`.
 */
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqcap/balance.h"
#include "balance_int.h"
#include "flow_int.h"

#define NB 4096u
#define INTERVAL_S 0.1
#define UTIL 0.8

static uint64_t rng = 0x853c49e6748fea9bull;

static uint32_t rnd(void)
{
	rng = rng * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(rng >> 33);
}

static uint32_t new_flow_bucket(void)
{
	struct mqcap__flow_key k;
	uint32_t a = rnd(), d = rnd();

	memset(&k, 0, sizeof(k));
	k.alen = 4;
	k.proto = 6;
	memcpy(k.saddr, &a, 4);
	memcpy(k.daddr, &d, 4);
	k.sport = (uint16_t)rnd();
	k.dport = (uint16_t)(rnd() % 1024);
	return mqcap__flow_key_hash(&k) & (NB - 1);
}

static double max_mean(const double *wl, unsigned nw, const int *skip)
{
	double sum = 0, max = 0;
	unsigned n = 0;

	for (unsigned i = 0; i < nw; i++) {
		if (skip && skip[i])
			continue;
		sum += wl[i];
		n++;
		if (wl[i] > max)
			max = wl[i];
	}
	return sum > 0 ? max * n / sum : 1;
}

int main(int argc, char **argv)
{
	static const unsigned workers[] = { 4, 8, 16, 32, 64 };
	unsigned flows = 100000, intervals = 100, warm = 10;
	double *size, st_lo = 1e9, st_hi = 0, ad_lo = 1e9, ad_hi = 0;
	uint32_t *bucket;
	int opt;

	while ((opt = getopt(argc, argv, "f:i:")) != -1) {
		if (opt == 'f')
			flows = (unsigned)atoi(optarg);
		else if (opt == 'i')
			intervals = (unsigned)atoi(optarg);
		else {
			fprintf(stderr, "usage: zipf_sim [-f FLOWS] [-i INTERVALS]\n");
			return 2;
		}
	}
	if (flows < 100 || intervals <= warm) {
		fprintf(stderr, "zipf_sim: at least 100 flows and %u intervals\n", warm + 1);
		return 2;
	}
	size = calloc(flows, sizeof(*size));
	bucket = calloc(flows, sizeof(*bucket));
	if (!size || !bucket)
		return 1;
	{
		double h = 0;

		for (unsigned k = 0; k < flows; k++)
			h += pow(k + 1, -1.1);
		for (unsigned k = 0; k < flows; k++)
			size[k] = pow(k + 1, -1.1) / h; /* share of all traffic */
	}
	printf("zipf_sim: %u flows, Zipf(1.1) sizes (largest %.1f%% of traffic), %u buckets, %u intervals of %.0f ms, "
	       "1%% churn per interval, %.0f%% utilisation\n",
	       flows, 100 * size[0], NB, intervals, INTERVAL_S * 1000, UTIL * 100);
	printf("%8s %14s %14s %10s %18s %14s %10s\n", "workers", "static max/mean", "adaptive", "bound",
	       "adaptive w/o eleph", "migrations/s", "elephants");
	for (size_t wi = 0; wi < sizeof(workers) / sizeof(workers[0]); wi++) {
		unsigned nw = workers[wi];
		uint16_t st_table[NB], ad_table[NB];
		double bload[NB], wl_st[64], wl_ad[64];
		double sum_st = 0, sum_ad = 0, sum_bound = 0, sum_noel = 0;
		uint64_t moves = 0;
		unsigned eleph_max = 0, nmeas = 0;
		const double cap = 1.0 / (UTIL * nw); /* one worker's capacity, in shares of traffic */

		rng = 0x853c49e6748fea9bull; /* the same flows for every worker count */
		for (unsigned k = 0; k < flows; k++)
			bucket[k] = new_flow_bucket();
		for (unsigned b = 0; b < NB; b++)
			st_table[b] = ad_table[b] = (uint16_t)(b % nw);
		for (unsigned t = 0; t < intervals; t++) {
			int eleph_w[64] = { 0 };
			unsigned el = 0, nb_flows[NB] = { 0 };
			double maxb = 0, mean;

			/* churn: 1% of the flows are replaced by new ones of the same size */
			for (unsigned c = 0; c < flows / 100; c++)
				bucket[rnd() % flows] = new_flow_bucket();
			memset(bload, 0, sizeof(bload));
			for (unsigned k = 0; k < flows; k++) {
				bload[bucket[k]] += size[k];
				nb_flows[bucket[k]]++;
			}
			memset(wl_st, 0, sizeof(wl_st));
			memset(wl_ad, 0, sizeof(wl_ad));
			for (unsigned b = 0; b < NB; b++) {
				wl_st[st_table[b]] += bload[b];
				wl_ad[ad_table[b]] += bload[b];
				if (bload[b] > maxb)
					maxb = bload[b];
				/* an elephant: the bucket's heaviest flow alone exceeds 90% of a worker;
				 * flow 0..9 are the only candidates at these sizes */
			}
			for (unsigned k = 0; k < 10 && k < flows; k++)
				if (size[k] > 0.9 * cap) {
					el++;
					eleph_w[ad_table[bucket[k]]] = 1;
				}
			mean = 1.0 / nw;
			if (t >= warm) {
				sum_st += max_mean(wl_st, nw, NULL);
				sum_ad += max_mean(wl_ad, nw, NULL);
				sum_bound += maxb / mean > 1 ? maxb / mean : 1;
				sum_noel += max_mean(wl_ad, nw, eleph_w);
				nmeas++;
			}
			if (el > eleph_max)
				eleph_max = el;
			/* the controller, for the next interval */
			moves += mqcap__bal_rebalance(ad_table, NB, bload, 0, nw, 0.10, 64, NULL, NULL,
						      NULL, NULL);
		}
		{
			double s = sum_st / nmeas, a = sum_ad / nmeas;

			printf("%8u %14.3f %14.3f %10.3f %18.3f %14.1f %10u\n", nw, s, a, sum_bound / nmeas,
			       sum_noel / nmeas, (double)moves / (intervals * INTERVAL_S), eleph_max);
			if (s < st_lo)
				st_lo = s;
			if (s > st_hi)
				st_hi = s;
			if (a < ad_lo)
				ad_lo = a;
			if (a > ad_hi)
				ad_hi = a;
		}
	}
	printf("zipf: workers=4..64 max/mean static=%.2f..%.2f adaptive=%.2f..%.2f\n", st_lo, st_hi, ad_lo, ad_hi);
	free(size);
	free(bucket);
	return 0;
}
