// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdp_sink.bpf.c - the physical bound of capture: count each frame per RX queue and drop it.
 *
 * `mqcap-testbed sink` attaches this to the receiver so that `make eval` can measure, at the
 * same offered load as each capture tool, how many frames the receiving core absorbs when
 * nothing is copied, queued or handed to user space. No capture can do better than this on
 * the same machine, so every capture figure shows each tool as a fraction of it.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "xdp_sink.h"

/* Per CPU, so counting never bounces a cache line between CPUs; user space sums. The last
 * slot collects queues beyond the map's size. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MQCAP_SINK_MAX_QUEUES + 1);
	__type(key, __u32);
	__type(value, struct mqcap_sink_counters);
} sink_counters SEC(".maps");

SEC("xdp")
int mqcap_xdp_sink(struct xdp_md *ctx)
{
	__u32 q = ctx->rx_queue_index;
	__u32 slot = q < MQCAP_SINK_MAX_QUEUES ? q : MQCAP_SINK_MAX_QUEUES;
	struct mqcap_sink_counters *c = bpf_map_lookup_elem(&sink_counters, &slot);

	if (c) {
		c->packets++;
		c->bytes += (__u64)((long)ctx->data_end - (long)ctx->data);
	}
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
