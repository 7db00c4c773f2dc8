/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * filter_int.h - tcpdump-syntax filters, compiled once by libpcap and run either in the
 * kernel (AF_PACKET: attached to the socket together with the queue selection) or in user
 * space (the xdp backend, and frames whose VLAN tag the kernel stripped).
 *
 * Semantics are libpcap's offline ones: the program sees the frame as the user receives it
 * (VLAN tags in place), exactly as pcap_offline_filter() would over a file of those frames.
 */
#ifndef MQCAP_FILTER_INT_H
#define MQCAP_FILTER_INT_H

#include <linux/filter.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>

#include "mqcap/mqcap.h"
#include "error_int.h"

struct mqcap__filter {
	struct bpf_program prog; /* bf_len == 0: no filter, everything matches */
	uint32_t snaplen;
	int linktype;            /* DLT_* */
};

/* Compile expr (tcpdump syntax; NULL or "" = no filter) for linktype (DLT_EN10MB for
 * Ethernet) and snaplen. Returns 0, or -EINVAL with "filter 'EXPR': <libpcap's message>".
 * Thread-safe (libpcap >= 1.8 has a reentrant compiler). Free with mqcap__filter_free(). */
int mqcap__filter_compile(struct mqcap__filter *f, const char *expr, int linktype,
			  uint32_t snaplen, struct mqcap__err *e);

static inline bool mqcap__filter_active(const struct mqcap__filter *f)
{
	return f->prog.bf_len > 0;
}

/* Run the filter on one frame in user space. caplen bytes are at pkt; wirelen is the length
 * on the wire. True when the frame passes (always true without a filter). */
bool mqcap__filter_match(const struct mqcap__filter *f, const uint8_t *pkt, uint32_t caplen,
			 uint32_t wirelen);

void mqcap__filter_free(struct mqcap__filter *f);

/* What the AF_PACKET socket program checks before the user's filter. */
struct mqcap__kprog_opts {
	int queue_mapping;       /* accept incoming frames only with this raw skb->queue_mapping
				  * (SKF_AD_QUEUE); -1: any queue */
	enum mqcap_direction direction;
	bool take_outgoing;      /* OUT/INOUT: this socket reports the device's outgoing frames
				  * (exactly one socket per device should, or they repeat) */
	bool defer_vlan;         /* accept frames with a stripped VLAN tag without running the
				  * filter: user space runs it after putting the tag back */
	uint32_t snaplen;
};

/* Build the classic BPF program for one AF_PACKET socket: the checks of o, then f (may be
 * NULL or inactive). out->filter is malloc()ed: free() it. Returns 0 or -errno (-E2BIG when
 * the result exceeds the kernel's 4096 instructions). */
int mqcap__filter_build_kernel(const struct mqcap__filter *f, const struct mqcap__kprog_opts *o,
			       struct sock_fprog *out, struct mqcap__err *e);

#endif
