/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * qnum_int.h - how a device numbers its RX queues in skb->queue_mapping, learned from the
 * frames themselves, and a watch on the queues an AF_PACKET handle selected.
 *
 * Classic BPF sees a frame's RX queue only as SKF_AD_QUEUE, the raw skb->queue_mapping. A
 * driver that calls skb_record_rx_queue() stores q + 1 there (0 means "not recorded"); a veth
 * stores nothing and the frame keeps its sender's TX queue q, which is also the RX queue veth
 * delivers it on (drivers/net/veth.c, veth_xmit(); the same with NAPI/GRO, threaded NAPI or
 * XDP); a macvlan or ipvlan passes on whatever its lower device left. So the offset (0 or 1)
 * belongs to the path the frames took, and no name tells it. One census per (handle, device):
 * an eBPF socket filter (bpf/queue_census.bpf.c) counts the device's incoming frames by raw
 * value and keeps none. The counts settle the offset:
 *   - frames with value 0 on a multi-queue device were never recorded: offset 0, for good
 *     (a recording driver never leaves 0);
 *   - frames with value N (N = RX queue count) and none with 0: a recording driver's queue
 *     N-1, offset 1 (a veth yields N only for a peer TX queue it has no RX queue for, so a
 *     later 0 still wins).
 * A value counts as evidence only with a real share of the frames (at least 8, and 1/8 of an
 * even RSS share), so that a few frames that entered the receive path otherwise decide
 * nothing.
 * Until then the prior from rtnetlink (iface.c) stands. The same counts show a selected queue
 * that receives nothing while the device's other queues do, and frames whose value names no
 * RX queue (which no queue's socket takes): both become warnings (mqcap_warnings()).
 * Loading the census needs CAP_BPF (or CAP_SYS_ADMIN); without it the prior stands, and one
 * warning says that the numbering is unchecked.
 */
#ifndef MQCAP_QNUM_INT_H
#define MQCAP_QNUM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error_int.h"

struct mqcap__qnum;

/* Start the census of device dev (ifindex, nqueues RX queues) with offset prior. 0 and *out,
 * or -ENOMEM. A census that cannot be loaded is not a failure: *out then only keeps the
 * prior, and its first check returns the warning that says so. */
int mqcap__qnum_open(struct mqcap__qnum **out, const char *dev, unsigned ifindex,
		     unsigned nqueues, unsigned prior);

/* The handle reads RX queue q of this device (watched for silence). -ENOMEM or 0. */
int mqcap__qnum_select(struct mqcap__qnum *qn, unsigned q);

/* The offset in force: the queue check of RX queue q compares SKF_AD_QUEUE with q + offset. */
unsigned mqcap__qnum_offset(const struct mqcap__qnum *qn);

/* True once the frames settled the offset for good (the queue check can be locked). */
bool mqcap__qnum_settled(const struct mqcap__qnum *qn);

#define MQCAP__QNUM_RENUMBERED 1  /* the offset changed: rebuild every queue check */
#define MQCAP__QNUM_WARN       2  /* msg holds a warning for the user */

/* Read the census (call every few hundred ms; now_ns on CLOCK_MONOTONIC). Returns 0 or
 * MQCAP__QNUM_* flags; with WARN, msg (len bytes) says what was found. */
int mqcap__qnum_check(struct mqcap__qnum *qn, uint64_t now_ns, char *msg, size_t len);

void mqcap__qnum_close(struct mqcap__qnum *qn);

#endif
