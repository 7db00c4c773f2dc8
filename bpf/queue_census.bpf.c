// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * queue_census.bpf.c - a socket filter that counts a device's received frames by the raw
 * skb->queue_mapping they carry (the value classic BPF reads as SKF_AD_QUEUE) and keeps none
 * of them: it returns 0, so the kernel never clones a frame for the socket it is attached to.
 * src/qnum.c reads the counts to learn how the device numbers its RX queues (q or q + 1) and
 * to notice a selected queue that receives nothing while the others do.
 */
#include <linux/bpf.h>
#include <linux/if_packet.h>
#include <bpf/bpf_helpers.h>

#include "queue_census.h"

/* Per CPU: every CPU that receives counts in its own lines. max_entries: set by the loader
 * to last_slot + 1 (queue_census.h). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} census SEC(".maps");

const volatile __u32 last_slot = 0;

SEC("socket")
int queue_census(struct __sk_buff *skb)
{
	__u32 slot = skb->queue_mapping;
	__u64 *n;

	/* Our own transmissions carry a TX queue, not an RX queue. */
	if (skb->pkt_type == PACKET_OUTGOING)
		return 0;
	if (slot > last_slot)
		slot = last_slot;
	n = bpf_map_lookup_elem(&census, &slot);
	/* Atomic although per CPU: taps also run in process context (frames looped back with
	 * BHs off), and an add that can never lose a count is cheap. */
	if (n)
		__sync_fetch_and_add(n, 1);
	return 0;
}

char _license[] SEC("license") = "Dual BSD/GPL";
