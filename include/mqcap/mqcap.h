/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mqcap.h - multi-queue packet capture: virtual capture devices and the capture handle.
 *
 * A capture name selects RX queues of one or more devices:
 *
 *     eth1            every RX queue of eth1
 *     eth1@2          RX queue 2 only (a "virtual capture device")
 *     eth1@0-3        queues 0..3;   eth1@1,5   queues 1 and 5
 *     eth1,eth2@1     several devices, each with its own queue selection
 *                     (after '@', a ',' followed by a digit continues the queue list and
 *                     anything else starts the next device: eth1@0,2,eth2 = queues 0 and 2
 *                     of eth1, then all of eth2)
 *     packet:eth1     force a backend: packet: (AF_PACKET TPACKET_V3), xdp: (AF_XDP)
 *     pcap:FILE       replay a pcap or pcapng file through the same API
 *
 * Choosing a backend: AF_XDP hands each frame of a captured queue to the socket instead of
 * the network stack (one frame cannot go to both), so it cuts the host off whatever arrives
 * on those queues. The default (auto) therefore takes AF_XDP only on a dedicated capture
 * port: a device with no address of its own (the IPv6 link-local address the kernel adds to
 * every device does not count; one set by hand does), not the device of a route or nexthop,
 * not a port of a bridge/bond/other master, and with no VLAN/macvlan/ipvlan stacked on it
 * that does any of this. Everywhere else auto takes AF_PACKET, which gets a copy and leaves
 * the host its traffic. The xdp: prefix or MQCAP_BACKEND_XDP takes AF_XDP anyway; then
 * mqcap_stack_warning() says what the host stops receiving. mqcap_backend_reason() says
 * why the handle uses its backend. What the host receives in each mode: docs/host-traffic.md.
 *
 * Error convention: functions returning int give 0 (or a count) on success and -errno on
 * failure; mqcap_open() returns NULL and sets errno. Every failure leaves a human message:
 * mqcap_errmsg(handle) for a handle, mqcap_last_error() (per thread) for a failed open.
 * The library never prints.
 *
 * Thread-safety: one handle, one thread. A handle on several queues reads them all from the
 * calling thread without locks; to use several threads, open one handle per queue (that is
 * the paper's model: one virtual device per thread). Only mqcap_wake() may be called from
 * another thread.
 */
#ifndef MQCAP_MQCAP_H
#define MQCAP_MQCAP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mqcap mqcap_t;

/* Which kernel path carries packets to user space. */
enum mqcap_backend {
	MQCAP_BACKEND_AUTO = 0, /* AF_XDP on a dedicated capture port where native XDP works,
				 * AF_PACKET elsewhere (see "Choosing a backend" above) */
	MQCAP_BACKEND_PACKET,   /* AF_PACKET, one TPACKET_V3 mmap ring per queue */
	MQCAP_BACKEND_XDP,      /* AF_XDP, one XSK socket + UMEM per queue */
	MQCAP_BACKEND_PCAP,     /* offline: a pcap/pcapng file */
};

enum mqcap_direction {
	MQCAP_DIR_IN = 0, /* packets received on the device (the only ones that have an RX queue) */
	MQCAP_DIR_OUT,
	MQCAP_DIR_INOUT,
};

/* mqcap_opts.flags */
#define MQCAP_F_PROMISC         (1u << 0) /* put the device in promiscuous mode while open */
#define MQCAP_F_ZEROCOPY        (1u << 1) /* xdp: fail with -EOPNOTSUPP unless zero-copy works */
#define MQCAP_F_BUSY_POLL       (1u << 2) /* xdp: prefer busy polling (SO_PREFER_BUSY_POLL) */
#define MQCAP_F_NO_VLAN_RESTORE (1u << 3) /* packet: leave tags the kernel stripped out of the frame */
#define MQCAP_F_XDP_GENERIC     (1u << 4) /* xdp: allow generic (skb) mode where it is correct */
#define MQCAP_F_NO_READER_FIRST (1u << 5) /* leave the receiving thread's scheduling alone, even
					   * pinned beside a queue's poller (mqcap_arrangement()) */
#define MQCAP_F_IMMEDIATE       (1u << 6) /* packet: hand each frame over as it arrives (TPACKET_V2
					   * slots) rather than in blocks retired after up to 4 ms;
					   * xdp hands frames over as they arrive anyway */

/* The snaplen when none is asked for: libpcap's largest, so nothing is cut. */
#define MQCAP_SNAPLEN_DEFAULT 262144u

/*
 * Options for mqcap_open(). Always initialise with MQCAP_OPTS() so that .sz is set: the
 * library reads only the fields that existed in the caller's version of this struct, and
 * fields added later default to zero.
 */
struct mqcap_opts {
	size_t sz;                    /* sizeof(struct mqcap_opts) of the caller */
	enum mqcap_backend backend;   /* default when the name has no prefix; AUTO if 0 */
	uint32_t snaplen;             /* bytes captured per packet; 0 = MQCAP_SNAPLEN_DEFAULT */
	uint32_t flags;               /* MQCAP_F_* */
	enum mqcap_direction direction;
	const char *filter;           /* tcpdump syntax; NULL or "" = everything */
	uint32_t ring_bytes;          /* per-queue ring: packet: bytes of the TPACKET ring; 0 = from
				       * mem_budget (at most 4 MiB per queue) */
	uint32_t ring_frames;         /* per-queue ring: xdp: frames in the UMEM / RX ring, rounded up
				       * to a power of two; 0 = from mem_budget (at most 4096 frames,
				       * 16 MiB of UMEM, per queue) */
	uint32_t busy_poll_budget;    /* xdp with MQCAP_F_BUSY_POLL; 0 = 64 */
	uint64_t mem_budget;          /* bytes of ring memory for all the handle's queues together,
				       * shared evenly; 0 = MQCAP_MEM_BUDGET_DEFAULT. See below. */
	uint32_t block_timeout_ms;    /* packet: how long a partly filled TPACKET_V3 block waits
				       * before it is handed over; 0 = 4 ms. libpcap uses the
				       * program's read timeout here: at low rates each block then
				       * holds more frames, and the ring a longer stall */
};

/*
 * Ring memory. Each queue's ring (xdp: the UMEM, 4 KiB per frame; packet: the TPACKET ring)
 * is allocated and resident from the open on, busy or idle. Unless ring_frames / ring_bytes
 * ask for a size, a queue gets mem_budget / (queues of the handle), at most
 * MQCAP_RING_QUEUE_MAX and at least MQCAP_RING_QUEUE_MIN. The trade-off: a ring holds the
 * burst its queue receives while the reader is not reading (descheduled, stopped, slow),
 * and RSS gives each of N queues about 1/N of the link, so the whole capture holds about
 * mem_budget / (bytes per second of the link) whatever N is: 64 MiB is ~50 ms of a 10 Gb/s
 * link full of 1500-byte frames. For xdp, every frame takes a 4 KiB slot whatever its size:
 * 64 MiB = 16384 frames = ~1.1 ms of 64-byte frames at 14.88 Mpps. An explicit mem_budget
 * smaller than MQCAP_RING_QUEUE_MIN per queue is -EINVAL; the default budget grows to that
 * minimum for very many queues (256 queues: 256 MiB).
 */
#define MQCAP_MEM_BUDGET_DEFAULT (64ull << 20)
#define MQCAP_RING_QUEUE_MAX (16u << 20) /* xdp; packet: 4 MiB (its former fixed size) */
#define MQCAP_RING_QUEUE_MIN (1u << 20)

#define MQCAP_OPTS(name, ...) \
	struct mqcap_opts name = { .sz = sizeof(struct mqcap_opts), __VA_ARGS__ }

/* mqcap_pkt.flags */
#define MQCAP_PKT_TRUNCATED     (1u << 0) /* caplen < len */
#define MQCAP_PKT_VLAN_RESTORED (1u << 1) /* a tag the kernel had stripped was put back */
#define MQCAP_PKT_OUTGOING      (1u << 2) /* seen leaving the device (direction OUT/INOUT);
					   * reported once, on the device's first selected queue */

/*
 * One received packet: a view into the backend's ring, valid until mqcap_release() or the
 * next mqcap_recv_burst() on the same handle. Nothing is copied to produce it.
 */
struct mqcap_pkt {
	const uint8_t *data; /* first byte of the Ethernet header */
	uint32_t caplen;     /* bytes at data */
	uint32_t len;        /* length on the wire */
	uint64_t ts_ns;      /* CLOCK_REALTIME, nanoseconds */
	uint16_t queue;      /* RX queue the packet arrived on */
	uint16_t dev;        /* index of the device in the capture name (0 for the first) */
	uint32_t flags;      /* MQCAP_PKT_* */
};

/*
 * Counters, for one queue or summed over a handle. Every packet the kernel saw for the
 * queue ends up in exactly one of: received (delivered to the caller), filtered (rejected
 * by the user-side filter), or one of the drop_* counters. Counters that a backend cannot
 * know stay zero; the meaningful ones: packet: received, bytes, filtered, kernel_seen,
 * drop_ring_full; pcap: received, bytes, filtered, kernel_seen (records read); xdp: all.
 */
/*
 * Output structs (mqcap_stats, mqcap_queue_info, and those of run.h and balance.h) can grow:
 * new fields are only ever added at the end. Each call that fills one is a macro that passes
 * the struct's size as the caller's compiler saw it (sizeof(*(st))) to the function of the same
 * name, so a program built against an older header gets the fields it knows, and one built
 * against a newer header on an older library gets zeros in the fields the library does not
 * know. Call them as written (mqcap_stats(c, &st)); the function itself is
 * (mqcap_stats)(c, &st, sizeof(st)). A size below the first release's is -EINVAL.
 */
struct mqcap_stats {
	uint64_t received;        /* packets handed to the caller (after in-kernel filtering) */
	uint64_t bytes;           /* wire bytes of those packets */
	uint64_t filtered;        /* packets the user-side filter rejected (not in received): xdp,
				   * pcap, and packet for frames whose VLAN tag was put back */
	uint64_t kernel_seen;     /* xdp: packets the XDP program saw on this queue; packet: frames
				   * the socket's kernel filter accepted (TPACKET tp_packets) */
	uint64_t drop_ring_full;  /* the socket's RX ring was full (TPACKET tp_drops, XSK rx_ring_full) */
	uint64_t drop_fill_empty; /* xdp: no free UMEM frame (fill ring empty) */
	uint64_t drop_no_socket;  /* xdp: redirect failed because no socket is bound */
	uint64_t drop_invalid;    /* xdp: invalid descriptors / other kernel drops */
	uint64_t passed_stack;    /* xdp: frames of this queue passed on to the network stack */
};

/*
 * Open a capture. name: see the grammar above. opts: may be NULL for defaults.
 * Returns a handle, or NULL with errno set (ENODEV unknown device or queue, EINVAL malformed
 * name or filter, EPERM missing privileges, EBUSY queue already captured by someone else,
 * EOPNOTSUPP backend not usable here, ...) and the reason in mqcap_last_error().
 * Nothing stays open or attached after a failed open.
 */
mqcap_t *mqcap_open(const char *name, const struct mqcap_opts *opts);

/* The message of the last failure in this thread of a call that has no handle to keep it:
 * mqcap_open(), and the handle-less helpers (napi.h, topo.h). Never NULL. */
const char *mqcap_last_error(void);

/*
 * Receive up to max packets from the handle's queues (fairly, round robin) as views.
 * Releases the views of the previous burst first. Waits up to timeout_ms for the first packet
 * (0: do not wait, -1: forever). Returns the number of packets (> 0), 0 on timeout or when
 * mqcap_wake() was called, -ENODATA at the end of an offline file, or another -errno
 * (-ENETDOWN when a device went down; see mqcap_errmsg(). xdp: a report, not an end: the
 * handle stays usable and delivers again once the link is back up. The kernel makes new
 * threaded-NAPI threads on the way up; if the queue's thread was pinned to one CPU when the
 * handle opened, the xdp backend pins the new one there again: it changes kernel thread
 * affinity, as mqtune --apply would. run.h's runtime rides through such reports.)
 * -ENODEV when a device was deleted, and (xdp) -ENOLINK when someone detached mqcap's XDP
 * program (`bpftool link detach`): both end the capture of that queue, and are repeated.
 */
int mqcap_recv_burst(mqcap_t *c, struct mqcap_pkt *pkts, unsigned max, int timeout_ms);

/* Give back the views of the last burst now, so the kernel can reuse their slots. */
void mqcap_release(mqcap_t *c);

/* Totals over all queues of the handle (the sum of mqcap_queue_stats()). Returns 0 or -errno.
 * The handle's thread only (as every call but mqcap_wake()). */
int (mqcap_stats)(mqcap_t *c, struct mqcap_stats *st, size_t sz);
#define mqcap_stats(c, st) (mqcap_stats)((c), (st), sizeof(*(st)))

/* Number of queues the handle reads; the i-th is described by mqcap_queue_info(). */
unsigned mqcap_queue_count(const mqcap_t *c);

struct mqcap_queue_info {
	char dev_name[16];    /* device name (IFNAMSIZ) */
	unsigned ifindex;
	unsigned queue;       /* RX queue id on that device */
	unsigned dev;         /* index of the device in the capture name */
};

/* Describe queue i (0 <= i < mqcap_queue_count()). Returns 0 or -EINVAL (with the reason in
 * mqcap_errmsg()). */
int (mqcap_queue_info)(const mqcap_t *c, unsigned i, struct mqcap_queue_info *info, size_t sz);
#define mqcap_queue_info(c, i, info) (mqcap_queue_info)((c), (i), (info), sizeof(*(info)))

/* Counters of queue i alone, cumulative since open. Returns 0 or -errno. packet: the kernel's
 * PACKET_STATISTICS counters reset when read, so the backend adds each reading to its totals;
 * reading them on the socket behind the library's back would lose counts. */
int (mqcap_queue_stats)(mqcap_t *c, unsigned i, struct mqcap_stats *st, size_t sz);
#define mqcap_queue_stats(c, i, st) (mqcap_queue_stats)((c), (i), (st), sizeof(*(st)))

/* The backend in use, for the user to see: "packet", "xdp (copy)", "xdp (zero-copy)", "pcap". */
const char *mqcap_backend_name(const mqcap_t *c);

/*
 * Why the handle uses its backend, one line for users: "AF_PACKET, as asked", "auto chose
 * AF_PACKET: eth0 carries the host's traffic (eth0: address 192.0.2.1/24) and AF_XDP would
 * take its frames from the network stack (ask for xdp to do that)", "auto chose AF_XDP: eth1
 * is a dedicated capture port (...)". Never NULL; valid until mqcap_close().
 */
const char *mqcap_backend_reason(const mqcap_t *c);

/*
 * NULL when the capture leaves the host every frame it would have got without it (AF_PACKET,
 * pcap files, AF_XDP on a dedicated capture port). Otherwise (AF_XDP asked for on a device
 * that carries the host's traffic) one line naming the devices and the addresses that stop
 * receiving the frames of the captured queues, for tools to print as a warning. Valid until
 * mqcap_close().
 */
const char *mqcap_stack_warning(const mqcap_t *c);

/*
 * How the thread that receives shares its CPU with the queues' kernel pollers, decided at
 * mqcap_open() for the opening thread and again at the first mqcap_recv_burst() of another
 * thread (the opener keeps what it got; NULL for pcap: files): "reader-first: ..."
 * when that thread is pinned to exactly one CPU and the threaded-NAPI poller of one of its
 * queues is pinned there too: the thread is then switched to SCHED_FIFO at the lowest
 * real-time priority, above the poller, which otherwise can starve it into fill-ring drops
 * (it only has what the poller produced, so it cannot starve the poller in turn);
 * "wake-up: ..." otherwise, with the reason (not pinned, no poller there, the kernel refused,
 * MQCAP_F_NO_READER_FIRST). Valid until mqcap_close().
 */
const char *mqcap_arrangement(const mqcap_t *c);

/* A file descriptor that polls readable when any queue has packets (or after mqcap_wake()). */
int mqcap_fd(const mqcap_t *c);

/* Make a blocked mqcap_recv_burst() return 0 now. The one call that is safe from any thread. */
void mqcap_wake(mqcap_t *c);

/*
 * Warnings: conditions the capture goes on through but that the user should hear about, as
 * they are found. Returns how many there were since open and copies the newest into buf (len
 * bytes, "" when none; buf may be NULL); a caller that remembers the count prints each once.
 * packet: is the one backend that has them so far:
 *  - a selected RX queue received nothing for 2 s while the device's other queues received
 *    frames ("eth1@3: RX queue 3 received nothing for 2.0 s while eth1 received 812 frames on
 *    its other queues ..."): RSS sends it nothing, or the driver numbers its queues otherwise;
 *  - frames whose kernel queue number names no RX queue of the device (no queue's capture
 *    gets them; e.g. a veth whose peer has more TX queues than it has RX queues);
 *  - the device numbers its queues otherwise than the open assumed, and the queue selection
 *    was corrected (the frames before were sorted by the assumption).
 *    The kernel gives classic BPF a received frame's queue as skb->queue_mapping: q + 1 where
 *    the driver records it, q on a veth (its peer's TX queue) and what a veth or NIC below
 *    left on a macvlan/ipvlan. The open assumes from rtnetlink (q for a device whose frames
 *    are another device's, q + 1 otherwise) and a census of the device's frames (an eBPF
 *    socket filter that keeps no frame) settles it;
 *  - the census cannot run (loading it needs CAP_BPF): the numbering is then unchecked and
 *    silent queues unreported.
 * Checked every 250 ms inside mqcap_recv_burst() (a waiting call wakes that often to check,
 * and still returns only on packets, timeout or mqcap_wake()). The handle's thread only.
 */
unsigned mqcap_warnings(const mqcap_t *c, char *buf, size_t len);

/* The message describing the handle's last error. Never NULL. */
const char *mqcap_errmsg(const mqcap_t *c);

/* Close the handle: sockets, rings, programs attached for it. NULL is ignored. */
void mqcap_close(mqcap_t *c);

#ifdef __cplusplus
}
#endif
#endif /* MQCAP_MQCAP_H */
