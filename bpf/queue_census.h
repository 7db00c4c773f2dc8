/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * queue_census.h - what bpf/queue_census.bpf.c and its user space (src/qnum.c) share.
 * Included by both sides, so only <linux/types.h> types.
 *
 * The census map has nqueues + 2 slots, sized by the loader: slot v (0 <= v <= nqueues)
 * counts the device's incoming frames whose skb->queue_mapping is v; the last slot,
 * MQCAP_CENSUS_LAST(nqueues), counts every larger value. The loader sets last_slot to it.
 */
#ifndef MQCAP_QUEUE_CENSUS_H
#define MQCAP_QUEUE_CENSUS_H

#include <linux/types.h>

#define MQCAP_CENSUS_LAST(nqueues) ((nqueues) + 1)

#endif
