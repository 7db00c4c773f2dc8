// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * rss_tc.bpf.c - the testbed's RSS NIC: on tc egress of the sending veth, hash each frame
 * with Toeplitz (include/mqcap/rss.h, the same code user space predicts with), pick the
 * queue from the 128-entry indirection table, and send the frame on that TX queue. veth
 * delivers TX queue q of one end on RX queue q of the other, so the receiver sees RSS.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "rss_tc.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mqcap_rss_tc_key);
} rss_key SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MQCAP_RSS_TABLE_SIZE);
	__type(key, __u32);
	__type(value, __u32);
} rss_table SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MQCAP_RSS_MAX_QUEUES);
	__type(key, __u32);
	__type(value, struct mqcap_rss_tc_counters);
} rss_counters SEC(".maps");

/* Set by the loader: the TX queue count of the device (entries at or above it go to queue 0),
 * and what to store in skb->queue_mapping for queue q. On 6.18 the egress hook runs before
 * the core picks the TX queue, and the core keeps a queue only when it sees it as "recorded"
 * (skb_tx_hash() takes queue_mapping - 1): so the loader sets queue_bias = 1 there. */
const volatile __u32 nqueues = 1;
const volatile __u32 queue_bias = 1;

static __always_inline int hash_input(struct __sk_buff *skb, __u8 *in)
{
	const __u8 *data = (const __u8 *)(long)skb->data;
	const __u8 *end = (const __u8 *)(long)skb->data_end;

	return mqcap_rss_input_frame(data, end, in);
}

SEC("tc")
int rss_tc(struct __sk_buff *skb)
{
	struct mqcap_rss_tc_counters *c;
	struct mqcap_rss_tc_key *k;
	__u8 in[MQCAP_RSS_INPUT_MAX];
	__u32 zero = 0, q = 0, slot;
	int n;

	n = hash_input(skb, in);
	if (n < 0) {
		/* Headers outside the linear area (rare on this path): pull them in, retry once. */
		__u32 want = skb->len < 128 ? skb->len : 128;

		if (bpf_skb_pull_data(skb, want) == 0)
			n = hash_input(skb, in);
	}
	k = bpf_map_lookup_elem(&rss_key, &zero);
	if (n > 0 && k) {
		__u32 h = mqcap_rss_toeplitz(k->key, in, (unsigned)n);
		__u32 *e;

		slot = h & (MQCAP_RSS_TABLE_SIZE - 1);
		e = bpf_map_lookup_elem(&rss_table, &slot);
		if (e && *e < nqueues)
			q = *e;
	}
	skb->queue_mapping = q + queue_bias;

	/* Atomic although the map is per CPU: tc egress runs in process context (a sender's
	 * sendmsg) and in softirq (ARP, neighbour discovery, retransmits), and a softirq on the same
	 * CPU between the load and the store of a plain ++ loses a count. On a loaded machine
	 * testbed_rss saw the receiver count one frame more than this program had. */
	c = bpf_map_lookup_elem(&rss_counters, &q);
	if (c) {
		__sync_fetch_and_add(&c->packets, 1);
		__sync_fetch_and_add(&c->bytes, skb->len);
		if (n <= 0)
			__sync_fetch_and_add(&c->not_hashed, 1);
	}
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
