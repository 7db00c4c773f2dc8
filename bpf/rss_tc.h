/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rss_tc.h - what the testbed's RSS program (rss_tc.bpf.c) and mqcap-testbed share: the map
 * layout. Maps, pinned by the testbed under /sys/fs/bpf/mqcap-testbed/NAME/:
 *   rss_key      ARRAY[1]  of struct mqcap_rss_tc_key      the 40-byte Toeplitz key
 *   rss_table    ARRAY[128] of __u32                       indirection table: entry -> TX queue
 *   rss_counters PERCPU_ARRAY[MQCAP_RSS_MAX_QUEUES] of struct mqcap_rss_tc_counters
 * A frame sent on TX queue q of a veth arrives on RX queue q of its peer, so the table entry
 * is the receiver's RX queue, as on a NIC.
 */
#ifndef MQCAP_BPF_RSS_TC_H
#define MQCAP_BPF_RSS_TC_H

#include "mqcap/rss.h"

struct mqcap_rss_tc_key {
	__u8 key[MQCAP_RSS_KEY_LEN];
};

/* Per queue (index = queue the program chose), per CPU: sum over CPUs to read. */
struct mqcap_rss_tc_counters {
	__u64 packets;    /* frames steered to this queue */
	__u64 bytes;      /* their length (skb->len) */
	__u64 not_hashed; /* of those: not IP (or headers unreadable), sent to queue 0 */
};

#endif
