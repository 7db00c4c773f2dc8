// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdp_redirect.bpf.c - mqcap's XDP program: each frame goes to the AF_XDP socket of the RX
 * queue it arrived on, or to the network stack when nobody captures that queue.
 *
 * One instance per device, shared by every mqcap process capturing queues of it
 * (src/xdp_prog.c), attached in native mode through a BPF link that each of them holds, so it
 * goes away with the last of them. Counters are per queue and per CPU so drops can be
 * attributed without atomics (see xdp_redirect.h for what adds up).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "xdp_redirect.h"

/* One AF_XDP socket per RX queue. */
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, MQCAP_XDP_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

/* Non-zero for each queue a handle captures: the pid of its process (for "busy" messages).
 * Kept apart from the XSKMAP, whose slot the kernel empties when the socket is released, so
 * that "captured but the socket is gone" (a process died: counted as no_socket) differs from
 * "not captured" (passed). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MQCAP_XDP_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} captured SEC(".maps");

/* Set by user space before loading, when the kernel refuses bpf_xdp_adjust_meta() in XDP
 * programs (6.18.44-fc does: "program of this type cannot use helper"). The verifier knows a
 * read-only value, so it skips the branch that calls the helper; frames then carry no
 * metadata and get the time of the burst that reads them. */
const volatile __u32 no_meta = 0;

/* Slot MQCAP_XDP_MAX_QUEUES collects queues beyond the maps' size. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MQCAP_XDP_MAX_QUEUES + 1);
	__type(key, __u32);
	__type(value, struct mqcap_xdp_counters);
} counters SEC(".maps");

/* Put the receive time in front of the frame; AF_XDP copies the metadata with it. Returns 0
 * when the driver has no metadata room. */
static __always_inline int put_timestamp(struct xdp_md *ctx)
{
	struct mqcap_xdp_meta *meta;
	void *data;

	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*meta)))
		return 0;
	meta = (void *)(long)ctx->data_meta;
	data = (void *)(long)ctx->data;
	if ((void *)(meta + 1) > data)
		return 0;
	meta->ts_ns = bpf_ktime_get_boot_ns();
	meta->pad = 0;
	meta->magic = MQCAP_XDP_META_MAGIC;
	return 1;
}

SEC("xdp")
int mqcap_xdp_redirect(struct xdp_md *ctx)
{
	__u32 q = ctx->rx_queue_index;
	__u32 slot = q < MQCAP_XDP_MAX_QUEUES ? q : MQCAP_XDP_MAX_QUEUES;
	struct mqcap_xdp_counters *c;
	__u32 *cap;

	c = bpf_map_lookup_elem(&counters, &slot);
	if (!c)
		return XDP_PASS;
	c->seen++;

	cap = bpf_map_lookup_elem(&captured, &q);
	if (!cap || !*cap) {
		c->passed++;
		return XDP_PASS;
	}
	/* The lookup tells "no socket" apart; bpf_redirect_map() alone would only return its
	 * default action. */
	if (!bpf_map_lookup_elem(&xsks, &q)) {
		/* Lost to the capture, but the host still gets the frame. */
		c->no_socket++;
		return XDP_PASS;
	}
	if (no_meta || !put_timestamp(ctx))
		c->meta_failed++;
	c->redirected++;
	return bpf_redirect_map(&xsks, q, XDP_DROP);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
