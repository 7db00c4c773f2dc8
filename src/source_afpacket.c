/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * source_afpacket.c - the AF_PACKET backend: one TPACKET_V3 memory-mapped ring per RX queue.
 *
 * The kernel copies each frame once into a block of the ring; we walk a block's frames
 * without a system call and hand the whole block back when the caller releases. poll()
 * wakes us when a block is retired (full, or older than RETIRE_TOV_MS).
 *
 * Queue selection. Each socket gets a classic BPF program that first compares SKF_AD_QUEUE
 * (the raw skb->queue_mapping) with its queue and only then runs the user's filter. We
 * chose this over PACKET_FANOUT_QM:
 *  - correct for any subset of queues: fanout QM hashes queue_mapping modulo the number of
 *    group members, so `eth1@2` alone (one member) would receive every queue's packets, and
 *    `eth1@1,3` would receive queues {0,2} on one socket and {1,3} on the other; it is
 *    correct only when one handle opens all N queues, in queue order, and nobody leaves;
 *  - no fanout group id to share with unrelated processes in the namespace;
 *  - cost: each frame runs N tiny JITed programs (3 instructions to reject it) instead of
 *    one demux. Measured here (6.18, 4-queue testbed, mqsend --paper at full speed through
 *    the qdisc pinned to CPU 0, all 4 queues read on CPU 1 by tests/system/capture_qsel_cost
 *    in three interleaved rounds): the sender reached 192/201/227 kpps with our programs and
 *    207/226/248 kpps with fanout QM, so fanout is ~10% cheaper per frame on the receive
 *    path when a whole 4-queue device is captured, and the gap grows with the queue count.
 *    We still take the programs: fanout is wrong for every other selection, attributes
 *    frames to the wrong queue while the group is being joined (members are added one by
 *    one), and would need the join order to follow queue_mapping_bias. A handle on a whole
 *    device with many queues is where fanout QM would pay off, as a later optimisation.
 * The raw queue_mapping is q + 1 on drivers that call skb_record_rx_queue() and q on veth
 * (which forwards the sender's TX queue) and on what is stacked on it: the open takes iface.c's
 * prior (queue_mapping_bias), and capture.c rebuilds the check (afp_renumber) when the device's
 * frames prove another numbering (qnum.c). The program is locked (SO_LOCK_FILTER) only once
 * the numbering is settled.
 *
 * Immediate mode (MQCAP_F_IMMEDIATE). A TPACKET_V3 block reaches us only when it is full or
 * RETIRE_TOV_MS old, so a lone frame waits up to that long; a timeout of 0 is not allowed and a
 * tiny one still batches. Like libpcap, which skips TPACKET_V3 in immediate mode for this
 * reason, the socket then uses TPACKET_V2: one fixed-size slot per frame, handed to user space
 * (and poll woken) as soon as the kernel has written it. The cost: a slot holds the largest
 * frame the device can deliver (the MTU, or 64 KiB where GRO/LRO merge frames or outgoing
 * frames are captured), so the same ring memory holds fewer frames.
 *
 * VLAN. The receive path strips the outer VLAN tag into skb->vlan_tci before taps see the
 * frame (skb_vlan_untag), and TPACKET reports it in tp_vlan_tci/tp_vlan_tpid. We put it back
 * in place without copying the frame: PACKET_RESERVE leaves VLAN_HLEN bytes of headroom in
 * front of each frame, so moving the two MAC addresses 4 bytes down and writing TPID+TCI
 * rebuilds the frame inside the ring. Because the kernel ran the socket filter on the
 * untagged frame, a filter is not trusted for tagged frames: the socket program accepts them
 * unfiltered and we run the filter in user space on the rebuilt frame, so every frame is
 * judged exactly as pcap_offline_filter() judges the frame the caller sees.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/if_ether.h>
#include <linux/sockios.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "filter_int.h"
#include "iface_int.h"
#include "source_int.h"

#define VLAN_HLEN 4
#define RETIRE_TOV_MS 4                     /* latency bound of a partly filled block, unless
					     * mqcap_opts.block_timeout_ms asks for another */
#define DEFAULT_RING_BYTES (4u << 20)       /* per queue */
#define MAX_BLOCK_BYTES (128u << 10)        /* a 64 KiB GRO frame fits; 32 blocks by default */
#define MIN_BLOCKS 4
#define V2_GRO_FRAME (65535u + ETH_HLEN + VLAN_HLEN) /* largest merged frame, immediate mode */
#define V2_MAX_BLOCK (1u << 20)

struct afp {
	int fd;
	uint8_t *ring;
	size_t ring_len;
	uint32_t block_size, nblocks;
	bool v2;                 /* immediate mode: TPACKET_V2 slots (then "block" below reads
				  * "slot", and nblocks counts slots) */
	uint32_t frame_size;     /* v2: bytes per slot */
	uint32_t per_block;      /* v2: slots per block (a slot never spans two blocks) */
	uint32_t cur;            /* block being read */
	uint32_t held;           /* oldest block read but not yet given back */
	uint32_t nheld;          /* blocks in [held, cur): walked, not yet given back */
	uint32_t left;           /* frames left in block cur; 0: not opened yet */
	uint8_t *next;           /* next frame header in block cur */
	uint32_t snaplen;
	bool restore_vlan;
	struct mqcap__filter filter; /* run here on frames whose tag was put back */
	struct mqcap__kprog_opts ko; /* the socket program's checks; its queue is rebuilt on renumber */
	struct mqcap_stats st;   /* received/bytes/filtered counted here, kernel ones summed */
};

static inline struct tpacket_block_desc *block(struct afp *a, uint32_t i)
{
	return (struct tpacket_block_desc *)(a->ring + (size_t)i * a->block_size);
}

/* Immediate mode's slot i, where the kernel puts it: slots fill each block from its start. */
static inline struct tpacket2_hdr *slot(struct afp *a, uint32_t i)
{
	return (struct tpacket2_hdr *)(a->ring + (size_t)(i / a->per_block) * a->block_size +
				       (size_t)(i % a->per_block) * a->frame_size);
}

static int sys_fail(struct mqcap__reader *r, struct mqcap__err *e, const char *what)
{
	int err = errno;

	if (err == EPERM || err == EACCES)
		return mqcap__err_set(e, EPERM, "%s@%u: %s: %s (AF_PACKET capture needs "
				      "CAP_NET_RAW: run as root)", r->dev_name, r->queue, what,
				      strerror(err));
	return mqcap__err_set(e, err, "%s@%u: %s: %s", r->dev_name, r->queue, what, strerror(err));
}

static void afp_close(struct mqcap__reader *r)
{
	struct afp *a = r->priv;

	if (!a)
		return;
	if (a->ring)
		munmap(a->ring, a->ring_len);
	if (a->fd >= 0)
		close(a->fd);   /* also drops the promiscuous membership */
	mqcap__filter_free(&a->filter);
	free(a);
	r->priv = NULL;
	r->fd = -1;
}

/* Geometry: blocks of a power-of-two number of pages, at least MIN_BLOCKS of them. */
static void ring_geometry(uint32_t ring_bytes, uint32_t *block_size, uint32_t *nblocks)
{
	uint32_t page = (uint32_t)sysconf(_SC_PAGESIZE), bs = page;

	if (!ring_bytes)
		ring_bytes = DEFAULT_RING_BYTES;
	while (bs * 2 <= MAX_BLOCK_BYTES && (uint64_t)bs * 2 * MIN_BLOCKS <= ring_bytes)
		bs *= 2;
	*block_size = bs;
	*nblocks = ring_bytes / bs < MIN_BLOCKS ? MIN_BLOCKS : ring_bytes / bs;
}

/* Immediate mode: the largest frame a slot must hold. The MTU's frame, unless GRO or LRO
 * merge received frames, or outgoing (GSO) frames are captured: then 64 KiB, as libpcap. */
static uint32_t v2_max_frame(int fd, const char *dev, enum mqcap_direction dir)
{
	struct ethtool_value gro = { .cmd = ETHTOOL_GGRO }, fl = { .cmd = ETHTOOL_GFLAGS };
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (dir != MQCAP_DIR_IN)
		return V2_GRO_FRAME;
	ifr.ifr_data = (void *)&gro;
	if (ioctl(fd, SIOCETHTOOL, &ifr) || gro.data)
		return V2_GRO_FRAME;   /* unknown counts as on */
	ifr.ifr_data = (void *)&fl;
	if (ioctl(fd, SIOCETHTOOL, &ifr) || (fl.data & ETH_FLAG_LRO))
		return V2_GRO_FRAME;
	if (ioctl(fd, SIOCGIFMTU, &ifr) || ifr.ifr_mtu <= 0)
		return V2_GRO_FRAME;
	return (uint32_t)ifr.ifr_mtu + ETH_HLEN + VLAN_HLEN;
}

/* Immediate mode: slots that hold frames of up to maxlen bytes (the kernel writes the frame at
 * TPACKET_ALIGN(TPACKET2_HDRLEN + 16) + PACKET_RESERVE - ETH_HLEN), in blocks of whole pages,
 * as many as ring_bytes holds and at least MIN_BLOCKS blocks. */
static void v2_geometry(uint32_t ring_bytes, uint32_t maxlen, uint32_t *frame_size,
			uint32_t *block_size, uint32_t *nframes)
{
	uint32_t page = (uint32_t)sysconf(_SC_PAGESIZE), bs = page, fs, per_block, nb;

	fs = TPACKET_ALIGN(TPACKET_ALIGN(TPACKET2_HDRLEN + 16) + VLAN_HLEN - ETH_HLEN + maxlen);
	while (bs < fs)
		bs *= 2;
	/* a slot never spans blocks: grow the block until its unused tail is under 1/8 (a
	 * 64 KiB slot alone in a 128 KiB block would waste half the ring) */
	while (bs % fs > bs / 8 && bs < V2_MAX_BLOCK)
		bs *= 2;
	if (!ring_bytes)
		ring_bytes = DEFAULT_RING_BYTES;
	per_block = bs / fs;
	nb = ring_bytes / bs < MIN_BLOCKS ? MIN_BLOCKS : ring_bytes / bs;
	*frame_size = fs;
	*block_size = bs;
	*nframes = nb * per_block;
}

/* (Re)attach the socket program built from a->ko; lock: nothing may replace it afterwards. */
static int attach_program(struct mqcap__reader *r, struct afp *a, bool lock, struct mqcap__err *e)
{
	struct sock_fprog fprog = { 0 };
	int err, v = 1;

	err = mqcap__filter_build_kernel(&a->filter, &a->ko, &fprog, e);
	if (err)
		return err;
	/* the kernel swaps programs atomically: each frame meets the old one or the new one */
	if (setsockopt(a->fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof(fprog))) {
		err = sys_fail(r, e, "attaching the socket filter");
		free(fprog.filter);
		return err;
	}
	free(fprog.filter);
	if (lock)
		(void)setsockopt(a->fd, SOL_SOCKET, SO_LOCK_FILTER, &v, sizeof(v));
	return 0;
}

static int afp_open(struct mqcap__reader *r, const struct mqcap_opts *o, struct mqcap__err *e)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	struct mqcap__kprog_opts ko = { .queue_mapping = -1 };
	struct tpacket_req3 req = { 0 };
	struct mqcap__iface ifc;
	struct afp *a;
	int v, err;

	err = mqcap__iface_get(r->dev_name, &ifc, e);
	if (err)
		return err;
	a = calloc(1, sizeof(*a));
	if (!a)
		return mqcap__err_set(e, ENOMEM, "out of memory");
	r->priv = a;
	a->fd = -1;
	a->snaplen = o->snaplen;   /* capture.c gives the default */
	a->restore_vlan = !(o->flags & MQCAP_F_NO_VLAN_RESTORE);

	err = mqcap__filter_compile(&a->filter, o->filter, DLT_EN10MB, a->snaplen, e);
	if (err)
		goto fail;

	/* Protocol 0: the socket receives nothing until bind(), so no frame slips past the
	 * filter between socket() and SO_ATTACH_FILTER. */
	a->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (a->fd < 0) {
		err = sys_fail(r, e, "AF_PACKET socket");
		goto fail;
	}
	a->v2 = o->flags & MQCAP_F_IMMEDIATE;
	v = a->v2 ? TPACKET_V2 : TPACKET_V3;
	if (setsockopt(a->fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v))) {
		err = sys_fail(r, e, a->v2 ? "TPACKET_V2" : "TPACKET_V3");
		goto fail;
	}
	v = VLAN_HLEN;
	if (setsockopt(a->fd, SOL_PACKET, PACKET_RESERVE, &v, sizeof(v))) {
		err = sys_fail(r, e, "PACKET_RESERVE");
		goto fail;
	}
	if (o->direction == MQCAP_DIR_IN) {
		/* spares the kernel cloning our own transmissions to this socket; the filter
		 * drops them anyway on kernels without it */
		v = 1;
		(void)setsockopt(a->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &v, sizeof(v));
	}

	if (ifc.rx_queues > 1)
		ko.queue_mapping = (int)(r->queue + ifc.queue_mapping_bias);
	ko.direction = o->direction;
	ko.take_outgoing = r->first_of_dev;
	ko.defer_vlan = a->restore_vlan;
	ko.snaplen = a->snaplen;
	a->ko = ko;
	err = attach_program(r, a, false, e);
	if (err)
		goto fail;

	if (a->v2) {
		/* a tpacket_req3 begins with the tpacket_req the kernel reads for V2 */
		v2_geometry(o->ring_bytes, v2_max_frame(a->fd, r->dev_name, o->direction),
			    &a->frame_size, &a->block_size, &a->nblocks);
		req.tp_block_size = a->block_size;
		req.tp_frame_size = a->frame_size;
		a->per_block = a->block_size / a->frame_size;
		req.tp_frame_nr = a->nblocks;
		req.tp_block_nr = a->nblocks / a->per_block;
	} else {
		ring_geometry(o->ring_bytes, &a->block_size, &a->nblocks);
		req.tp_block_size = a->block_size;
		req.tp_block_nr = a->nblocks;
		req.tp_frame_size = TPACKET_ALIGNMENT << 7; /* 2 KiB: V3 packs frames; nominal */
		req.tp_frame_nr = (a->block_size / req.tp_frame_size) * a->nblocks;
		req.tp_retire_blk_tov = o->block_timeout_ms ? o->block_timeout_ms : RETIRE_TOV_MS;
		req.tp_feature_req_word = 0;
	}
	if (setsockopt(a->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req))) {
		if (errno == ENOMEM)
			err = mqcap__err_set(e, ENOMEM, "%s@%u: cannot allocate a %llu KiB "
					     "TPACKET ring: %s (lower the ring memory: mem_budget "
					     "or ring_bytes)", r->dev_name, r->queue,
					     (unsigned long long)req.tp_block_size *
					     req.tp_block_nr >> 10,
					     strerror(errno));
		else
			err = sys_fail(r, e, "PACKET_RX_RING");
		goto fail;
	}
	a->ring_len = (size_t)req.tp_block_size * req.tp_block_nr;
	a->ring = mmap(NULL, a->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED,
		       a->fd, 0);
	if (a->ring == MAP_FAILED) {
		/* MAP_LOCKED fails under RLIMIT_MEMLOCK; an unlocked ring still works */
		a->ring = mmap(NULL, a->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED, a->fd, 0);
		if (a->ring == MAP_FAILED) {
			a->ring = NULL;
			err = sys_fail(r, e, "mmap of the ring");
			goto fail;
		}
	}

	if (o->flags & MQCAP_F_PROMISC) {
		struct packet_mreq mr = { .mr_ifindex = (int)ifc.ifindex, .mr_type = PACKET_MR_PROMISC };

		if (setsockopt(a->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr))) {
			err = sys_fail(r, e, "promiscuous mode");
			goto fail;
		}
	}
	sll.sll_ifindex = (int)ifc.ifindex;
	if (bind(a->fd, (struct sockaddr *)&sll, sizeof(sll))) {
		err = sys_fail(r, e, "bind");
		goto fail;
	}
	if (!ifc.up) {
		/* binding to a device that is down queues ENETDOWN on the socket; it is not news
		 * here (the capture starts when the device comes up), so clear it: -ENETDOWN from
		 * recv means the device went down while we captured */
		int soerr;
		socklen_t len = sizeof(soerr);

		(void)getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
	}
	r->ifindex = ifc.ifindex;
	r->fd = a->fd;
	return 0;
fail:
	afp_close(r);
	return err;
}

/* Put the stripped tag back in the headroom PACKET_RESERVE left in front of the frame. */
static uint8_t *vlan_restore(uint32_t status, uint16_t tci, uint16_t tpid, uint8_t *mac)
{
	uint16_t tag[2] = { htons((status & TP_STATUS_VLAN_TPID_VALID) && tpid ? tpid
										: ETH_P_8021Q),
			    htons(tci) };
	uint8_t *dst = mac - VLAN_HLEN;

	memmove(dst, mac, 2 * ETH_ALEN);
	memcpy(dst + 2 * ETH_ALEN, tag, sizeof(tag));
	return dst;
}

/* One frame as either ring version describes it. */
struct afp_frame {
	uint8_t *mac;
	uint32_t caplen, len, status;
	uint16_t vlan_tci, vlan_tpid;
	const struct sockaddr_ll *sll;
	uint64_t ts_ns;
};

/* Make frame f the packet *pkt: its tag put back, judged by the filter where the kernel could
 * not. Returns false when the filter rejects it. */
static bool afp_take(struct mqcap__reader *r, struct afp *a, struct afp_frame *f,
		     struct mqcap_pkt *pkt)
{
	uint32_t flags = 0;

	if (a->restore_vlan && (f->status & TP_STATUS_VLAN_VALID)) {
		f->mac = vlan_restore(f->status, f->vlan_tci, f->vlan_tpid, f->mac);
		f->caplen = f->caplen + VLAN_HLEN > a->snaplen ? a->snaplen : f->caplen + VLAN_HLEN;
		f->len += VLAN_HLEN;
		flags |= MQCAP_PKT_VLAN_RESTORED;
		/* the kernel filter let it through untested (defer_vlan) */
		if (!mqcap__filter_match(&a->filter, f->mac, f->caplen, f->len)) {
			a->st.filtered++;
			return false;
		}
	}
	if (f->caplen < f->len)
		flags |= MQCAP_PKT_TRUNCATED;
	if (f->sll->sll_pkttype == PACKET_OUTGOING)
		flags |= MQCAP_PKT_OUTGOING;
	pkt->data = f->mac;
	pkt->caplen = f->caplen;
	pkt->len = f->len;
	pkt->ts_ns = f->ts_ns;
	pkt->queue = (uint16_t)r->queue;
	pkt->dev = (uint16_t)r->dev;
	pkt->flags = flags;
	a->st.received++;
	a->st.bytes += f->len;
	return true;
}

/* Immediate mode: slot by slot, each the kernel's until it flips to TP_STATUS_USER. */
static int afp_recv_v2(struct mqcap__reader *r, struct afp *a, struct mqcap_pkt *pkts,
		       unsigned max)
{
	unsigned n = 0;

	while (n < max && a->nheld < a->nblocks) {
		struct tpacket2_hdr *h = slot(a, a->cur);
		struct afp_frame f;

		/* pairs with the kernel's smp_wmb() before it flips the slot to user */
		if (!(__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER))
			break;
		a->cur = (a->cur + 1) % a->nblocks;
		a->nheld++;
		f = (struct afp_frame){
			.mac = (uint8_t *)h + h->tp_mac, .caplen = h->tp_snaplen, .len = h->tp_len,
			.status = h->tp_status, .vlan_tci = h->tp_vlan_tci,
			.vlan_tpid = h->tp_vlan_tpid,
			.sll = (const void *)((uint8_t *)h +
					       TPACKET_ALIGN(sizeof(struct tpacket2_hdr))),
			.ts_ns = (uint64_t)h->tp_sec * 1000000000ull + h->tp_nsec,
		};
		if (afp_take(r, a, &f, &pkts[n]))
			n++;
	}
	return (int)n;
}

static int afp_recv(struct mqcap__reader *r, struct mqcap_pkt *pkts, unsigned max,
		    struct mqcap__err *e)
{
	struct afp *a = r->priv;
	unsigned n = 0;

	(void)e;
	if (a->v2)
		return afp_recv_v2(r, a, pkts, max);
	while (n < max) {
		struct tpacket_block_desc *b = block(a, a->cur);
		struct tpacket3_hdr *h;
		struct afp_frame f;

		if (!a->left) {
			/* pairs with the kernel's smp_wmb() before it flips the block to user */
			if (!(__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) &
			      TP_STATUS_USER))
				break;
			if (a->nheld == a->nblocks)
				break;  /* every block walked and still held: release first */
			a->left = b->hdr.bh1.num_pkts;
			a->next = (uint8_t *)b + b->hdr.bh1.offset_to_first_pkt;
			if (!a->left) {
				/* an empty retired block (timeout with nothing in it) */
				a->cur = (a->cur + 1) % a->nblocks;
				a->nheld++;
				a->next = NULL;
				continue;
			}
		}
		h = (struct tpacket3_hdr *)a->next;
		f = (struct afp_frame){
			.mac = (uint8_t *)h + h->tp_mac, .caplen = h->tp_snaplen, .len = h->tp_len,
			.status = h->tp_status, .vlan_tci = h->hv1.tp_vlan_tci,
			.vlan_tpid = h->hv1.tp_vlan_tpid,
			.sll = (const void *)((uint8_t *)h +
					       TPACKET_ALIGN(sizeof(struct tpacket3_hdr))),
			.ts_ns = (uint64_t)h->tp_sec * 1000000000ull + h->tp_nsec,
		};
		if (--a->left) {
			a->next += h->tp_next_offset;
		} else {
			a->cur = (a->cur + 1) % a->nblocks;
			a->nheld++;
			a->next = NULL;
		}
		if (afp_take(r, a, &f, &pkts[n]))
			n++;
	}
	return (int)n;
}

static void afp_release(struct mqcap__reader *r)
{
	struct afp *a = r->priv;

	/* blocks before cur are fully walked; cur itself may still hold unread frames */
	while (a->nheld) {
		/* pairs with the kernel's smp_rmb() before it reads the status: our reads of
		 * the block (and the VLAN rewrite) finish before the kernel reuses it */
		if (a->v2)
			__atomic_store_n(&slot(a, a->held)->tp_status, TP_STATUS_KERNEL,
					 __ATOMIC_RELEASE);
		else
			__atomic_store_n(&block(a, a->held)->hdr.bh1.block_status,
					 TP_STATUS_KERNEL, __ATOMIC_RELEASE);
		a->held = (a->held + 1) % a->nblocks;
		a->nheld--;
	}
}

static int afp_stats(struct mqcap__reader *r, struct mqcap_stats *st)
{
	struct afp *a = r->priv;
	struct tpacket_stats_v3 ks = { 0 };   /* V2 fills the first two counters */
	socklen_t len = sizeof(ks);

	/* PACKET_STATISTICS resets the kernel's counters on every read: accumulate */
	if (getsockopt(a->fd, SOL_PACKET, PACKET_STATISTICS, &ks, &len))
		return -errno;
	a->st.kernel_seen += ks.tp_packets;   /* includes tp_drops */
	a->st.drop_ring_full += ks.tp_drops;
	*st = a->st;
	return 0;
}

static int afp_renumber(struct mqcap__reader *r, unsigned offset, bool lock, struct mqcap__err *e)
{
	struct afp *a = r->priv;

	if (a->ko.queue_mapping < 0)   /* a one-queue device: no queue check to rebuild */
		return 0;
	a->ko.queue_mapping = (int)(r->queue + offset);
	return attach_program(r, a, lock, e);
}

const struct mqcap__backend mqcap__backend_afpacket = {
	.name = "packet",
	.open = afp_open,
	.recv = afp_recv,
	.release = afp_release,
	.stats = afp_stats,
	.renumber = afp_renumber,
	.close = afp_close,
};
