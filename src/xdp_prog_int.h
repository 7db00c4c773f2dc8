/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xdp_prog_int.h - mqcap's XDP program on a device, shared by every AF_XDP reader of that
 * device, in this process and in every other mqcap process.
 *
 * One program per (network namespace, device), held by one BPF link. In a process, one
 * object per device, reference counted: the first reader attaches the program, or joins the
 * one another process attached (its own fds to the same link and maps), and the last reader
 * of the process lets go of it. The kernel detaches the program when the last fd to its link
 * closes: when the last process capturing the device closes it or dies, even by SIGKILL.
 * Queues are owned by their AF_XDP sockets (one per queue, the kernel's rule); a process
 * writes only its own queues' slots of the shared maps. xdp_prog.c says why it is shared
 * this way and not through bpffs.
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
 * Get the program on ifindex (device dev_name, driver name drv from ethtool, "" if unknown):
 * join the one another mqcap process attached, or attach it in native mode. With allow_generic, a device whose driver has no
 * native XDP gets generic (skb) mode instead, except veth, where generic mode reports the
 * wrong RX queue. Errors: -EOPNOTSUPP (no native XDP, or the device refuses it as it is
 * configured, e.g. an MTU too large for XDP), -EBUSY (another XDP program, or
 * an mqcap program of another build with other maps, holds the device: the message names it
 * and its process), -EPERM (no CAP_BPF/CAP_NET_ADMIN; or joining another process's program
 * without CAP_SYS_ADMIN), others from the kernel.
 */
int mqcap__xdp_prog_get(unsigned ifindex, const char *dev_name, const char *drv,
			bool allow_generic, struct mqcap__xdp_prog **out, struct mqcap__err *e);

/* Drop a reference; the last one detaches the program. NULL is ignored. */
void mqcap__xdp_prog_put(struct mqcap__xdp_prog *p);

/* Reserve queue for one reader of this process: -EBUSY if another handle has it, -EINVAL
 * if it is beyond MQCAP_XDP_MAX_QUEUES. Other processes are kept out by the kernel: the
 * AF_XDP socket's bind fails while another socket is bound to the queue. */
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

/* Put the socket xsk_fd in the queue's XSKMAP slot and start redirecting the queue to it.
 * Only with the socket bound to the queue: that makes the slot this process's. */
int mqcap__xdp_prog_bind(struct mqcap__xdp_prog *p, unsigned queue, int xsk_fd,
			 struct mqcap__err *e);

/* The pid of the mqcap process whose socket holds queue (the kernel refused ours with EBUSY),
 * or 0 when none is known: no mqcap process holds it (another program's socket, or one
 * whose release the kernel has not finished). */
int mqcap__xdp_prog_holder(const struct mqcap__xdp_prog *p, unsigned queue);

/*
 * Before closing the queue's socket: stop redirecting the queue (its frames go to the stack,
 * counted passed), unless this process forked since it bound the queue. Then the socket may
 * live on in the other process (daemon(3)'s child, whose parent exits; a child that closes
 * its copy while the parent reads), and it must go on receiving: the maps are left alone,
 * and the kernel empties the XSKMAP slot when the socket is released, that is when its last
 * fd closes, in whichever process (the queue's frames then count as no_socket, still passed).
 */
void mqcap__xdp_prog_unbind(struct mqcap__xdp_prog *p, unsigned queue);

/* Release the claim of mqcap__xdp_prog_claim() (after closing the queue's socket). */
void mqcap__xdp_prog_unclaim(struct mqcap__xdp_prog *p, unsigned queue);

/* The program's counters for queue, summed over CPUs (cumulative since attach, whoever
 * captured the queue: readers take a baseline at open). */
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
