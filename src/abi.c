/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * abi.c - the output structs' sizes (mqcap.h: "Output structs can grow"). Each public call
 * gets the size of the struct as the caller was compiled, fills the library's whole struct,
 * and copies what both know: a caller built against an older header gets the fields it has
 * (its struct is smaller), one built against a newer header gets zeros past the fields this
 * library knows. A size below the first release's (MQCAP_1.0) is -EINVAL: such a caller was
 * not built against any header of ours.
 */
#include <errno.h>
#include <string.h>

#include "abi_int.h"

/* Size of a struct up to and including member m: the first release's size, which stays the
 * minimum when fields are added after m. */
#define SIZE_UPTO(type, m) (offsetof(type, m) + sizeof(((type *)0)->m))

#define STATS_1_0        SIZE_UPTO(struct mqcap_stats, passed_stack)
#define QUEUE_INFO_1_0   SIZE_UPTO(struct mqcap_queue_info, dev)
#define RUN_QINFO_1_0    SIZE_UPTO(struct mqcap_run_queue_info, added)
#define RUN_WSTATS_1_0   SIZE_UPTO(struct mqcap_run_worker_stats, done)
#define BAL_WSTATS_1_0   SIZE_UPTO(struct mqcap_balance_worker_stats, load)
#define BAL_PSTATS_1_0   SIZE_UPTO(struct mqcap_balance_poller_stats, drops)
#define BAL_STATS_1_0    SIZE_UPTO(struct mqcap_balance_stats, max_mean)

/* Give the caller's struct (sz bytes) what the library filled in have (have_sz bytes). */
static int give(void *out, size_t sz, const void *have, size_t have_sz, int rc)
{
	if (rc)
		return rc;
	memcpy(out, have, sz < have_sz ? sz : have_sz);
	if (sz > have_sz)
		memset((char *)out + have_sz, 0, sz - have_sz);
	return 0;
}

int (mqcap_stats)(mqcap_t *c, struct mqcap_stats *st, size_t sz)
{
	struct mqcap_stats s = { 0 };

	if (!st || sz < STATS_1_0)
		return -EINVAL;
	return give(st, sz, &s, sizeof(s), mqcap__stats(c, &s));
}

int (mqcap_queue_stats)(mqcap_t *c, unsigned i, struct mqcap_stats *st, size_t sz)
{
	struct mqcap_stats s = { 0 };

	if (!st || sz < STATS_1_0)
		return -EINVAL;
	return give(st, sz, &s, sizeof(s), mqcap__queue_stats(c, i, &s));
}

int (mqcap_queue_info)(const mqcap_t *c, unsigned i, struct mqcap_queue_info *info, size_t sz)
{
	struct mqcap_queue_info s = { 0 };

	if (!info || sz < QUEUE_INFO_1_0)
		return -EINVAL;
	return give(info, sz, &s, sizeof(s), mqcap__queue_info(c, i, &s));
}

int (mqcap_run_queue_info)(const mqcap_run_t *r, unsigned i, struct mqcap_run_queue_info *qi,
			   size_t sz)
{
	struct mqcap_run_queue_info s = { 0 };

	if (!qi || sz < RUN_QINFO_1_0)
		return -EINVAL;
	return give(qi, sz, &s, sizeof(s), mqcap__run_queue_info(r, i, &s));
}

int (mqcap_run_worker_stats)(const mqcap_run_t *r, unsigned w, struct mqcap_run_worker_stats *st,
			     size_t sz)
{
	struct mqcap_run_worker_stats s = { 0 };

	if (!st || sz < RUN_WSTATS_1_0)
		return -EINVAL;
	return give(st, sz, &s, sizeof(s), mqcap__run_worker_stats(r, w, &s));
}

int (mqcap_run_queue_stats)(const mqcap_run_t *r, unsigned i, struct mqcap_stats *st, size_t sz)
{
	struct mqcap_stats s = { 0 };

	if (!st || sz < STATS_1_0)
		return -EINVAL;
	return give(st, sz, &s, sizeof(s), mqcap__run_queue_stats(r, i, &s));
}

int (mqcap_balance_worker_stats)(const mqcap_balance_t *b, unsigned w,
				 struct mqcap_balance_worker_stats *st, size_t sz)
{
	struct mqcap_balance_worker_stats s = { 0 };

	if (!st || sz < BAL_WSTATS_1_0)
		return -EINVAL;
	return give(st, sz, &s, sizeof(s), mqcap__balance_worker_stats(b, w, &s));
}

int (mqcap_balance_poller_stats)(const mqcap_balance_t *b, unsigned p,
				 struct mqcap_balance_poller_stats *st, size_t sz)
{
	struct mqcap_balance_poller_stats s = { 0 };

	if (!st || sz < BAL_PSTATS_1_0)
		return -EINVAL;
	return give(st, sz, &s, sizeof(s), mqcap__balance_poller_stats(b, p, &s));
}

int (mqcap_balance_stats)(const mqcap_balance_t *b, struct mqcap_balance_stats *st, size_t sz)
{
	struct mqcap_balance_stats s = { 0 };

	if (!st || sz < BAL_STATS_1_0)
		return -EINVAL;
	return give(st, sz, &s, sizeof(s), mqcap__balance_stats(b, &s));
}
