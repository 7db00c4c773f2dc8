/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xdp_prog_int.h - mqcap's XDP program on a device, shared by every AF_XDP reader of that
 * device in this process.
 *
 * One program instance and one BPF link per (network namespace, device) per process,
 * reference counted: the first reader attaches it, the last one to leave detaches it, and a
 * process that dies (even by SIGKILL) detaches it with its link fd. A second process that
 * wants the same device gets -EBUSY naming the process holding it: sharing the program across
 * processes would make the second capture stop silently when the first process exits.
 *
 * All functions are safe to call from several threads (one mutex, setup path only).
 */
#ifndef MQCAP_XDP_PROG_INT_H
#define MQCAP_XDP_PROG_INT_H

#include <stdbool.h>

#include "error_int.h"
#include "xdp_redirect.h"

struct mqcap__xdp_prog;

/*
 * Get the program on ifindex (device dev_name, driver name drv from ethtool, "" if unknown),
 * attaching it in native mode on first use. With allow_generic, a device whose driver has no
 * native XDP gets generic (skb) mode instead, except veth, where generic mode reports the
 * wrong RX queue. Errors: -EOPNOTSUPP (no native XDP, or the device refuses it as it is
 * configured, e.g. an MTU too large for XDP), -EBUSY (another XDP program or
 * another process holds the device: the message names it), -EPERM, others from the kernel.
 */
int mqcap__xdp_prog_get(unsigned ifindex, const char *dev_name, const char *drv,
			bool allow_generic, struct mqcap__xdp_prog **out, struct mqcap__err *e);

/* Drop a reference; the last one detaches the program. NULL is ignored. */
void mqcap__xdp_prog_put(struct mqcap__xdp_prog *p);

/* Reserve queue for one reader of this process: -EBUSY if another handle has it, -EINVAL
 * if it is beyond MQCAP_XDP_MAX_QUEUES. */
int mqcap__xdp_prog_claim(struct mqcap__xdp_prog *p, unsigned queue, struct mqcap__err *e);

/*
 * Make sure the program runs on all rx_queues RX queues of the device (call with the count
 * read before binding a queue). veth (6.18) gives the program only to the queues it had
 * when the program was installed: queues that `ethtool -L` adds later run none, and their
 * frames reach the stack unseen. When the device has more queues than at the last install,
 * a fresh copy of the program, sharing the maps, replaces it through the BPF link, which
 * makes the driver install it on every queue (counters and sockets are untouched: they are
 * in the maps). 0 or -errno with a message.
 */
int mqcap__xdp_prog_cover(struct mqcap__xdp_prog *p, unsigned rx_queues, struct mqcap__err *e);

/* Put the socket xsk_fd in the queue's XSKMAP slot and start redirecting the queue to it. */
int mqcap__xdp_prog_bind(struct mqcap__xdp_prog *p, unsigned queue, int xsk_fd,
			 struct mqcap__err *e);

/* Stop redirecting the queue (its frames go to the stack again), empty its XSKMAP slot and
 * release the claim. */
void mqcap__xdp_prog_unbind(struct mqcap__xdp_prog *p, unsigned queue);

/* The program's counters for queue, summed over CPUs (cumulative since attach). */
int mqcap__xdp_prog_counters(struct mqcap__xdp_prog *p, unsigned queue,
			     struct mqcap_xdp_counters *sum);

/* True when attached in generic (skb) mode. */
bool mqcap__xdp_prog_is_generic(const struct mqcap__xdp_prog *p);

/* Whether the program is still attached to its device. Nobody can replace or remove it with
 * `ip link set dev X xdp off` or another program (the kernel refuses while a BPF link holds
 * the device), but `bpftool link detach` (BPF_LINK_DETACH) can: the link fd stays open and
 * points at no device (ifindex 0). So can deleting the device. 1 attached, 0 detached,
 * -errno when the link cannot be read. Any thread (one read-only syscall). */
int mqcap__xdp_prog_attached(const struct mqcap__xdp_prog *p);

#endif
