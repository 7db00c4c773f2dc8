/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xdp_redirect.h - what bpf/xdp_redirect.bpf.c and its user space (src/xdp_prog.c) share:
 * map sizes, the per-queue counter layout and the timestamp metadata in front of each frame.
 * Included by both sides, so only <linux/types.h> types.
 */
#ifndef MQCAP_XDP_REDIRECT_H
#define MQCAP_XDP_REDIRECT_H

#include <linux/types.h>

/* RX queues one program serves (XSKMAP, captured and counter maps). Frames of a higher queue
 * go to the stack and are counted in the extra slot MQCAP_XDP_MAX_QUEUES of the counters. */
#define MQCAP_XDP_MAX_QUEUES 256

/*
 * Per queue and per CPU (a BPF_MAP_TYPE_PERCPU_ARRAY, so the program never writes a cache
 * line another CPU writes); user space sums the CPUs. Every frame the program sees lands in
 * exactly one of redirected, no_socket, passed:
 *     seen = redirected + no_socket + passed
 * redirected frames then either reach the socket's RX ring or are dropped by the kernel for
 * a reason the socket's XDP_STATISTICS count (RX ring full, fill ring empty).
 */
struct mqcap_xdp_counters {
	__u64 seen;       /* frames that arrived on this RX queue */
	__u64 redirected; /* handed to bpf_redirect_map() towards the queue's socket */
	__u64 no_socket;  /* queue captured but its XSKMAP slot is empty (its socket was released
			   * without a close that stops the redirect: the process died, or
			   * forked): lost to the capture, passed */
	__u64 passed;     /* queue not captured: XDP_PASS to the network stack */
	__u64 meta_failed; /* no room for the timestamp metadata (frame still redirected) */
};

/*
 * Written by the program in the XDP metadata area, right before the frame, when the driver
 * offers metadata room; AF_XDP copies it along with the frame. ts_ns is bpf_ktime_get_boot_ns();
 * user space turns it into CLOCK_REALTIME. magic tells user space the slot was written for
 * this frame (user space clears it when it gives the frame back).
 */
#define MQCAP_XDP_META_MAGIC 0x6d71636bU /* "mqck" */
struct mqcap_xdp_meta {
	__u64 ts_ns;
	__u32 pad;
	__u32 magic;  /* last, so it sits right before the frame: user space checks it first */
};

#endif
