/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xdp_sink.h - what bpf/xdp_sink.bpf.c and `mqcap-testbed sink` share. Included by both
 * sides, so only <linux/types.h> types.
 */
#ifndef MQCAP_XDP_SINK_H
#define MQCAP_XDP_SINK_H

#include <linux/types.h>

/* RX queues counted apart; higher queues land in slot MQCAP_SINK_MAX_QUEUES. */
#define MQCAP_SINK_MAX_QUEUES 256

/* Per queue and per CPU: every frame the program saw, all of them dropped. */
struct mqcap_sink_counters {
	__u64 packets;
	__u64 bytes;
};

#endif
