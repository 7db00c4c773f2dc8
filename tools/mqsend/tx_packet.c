/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tx_packet.c - the AF_PACKET transmit paths: a TPACKET_V2 TX ring, with PACKET_QDISC_BYPASS
 * (mode "bypass", the fastest: the driver is called directly and the kernel picks the TX
 * queue by CPU) or through the qdisc (mode "qdisc": tc egress programs run, so the testbed's
 * RSS emulation places each flow).
 *
 * Packets are written straight into the shared ring and handed over with one sendto() per
 * batch; the kernel walks the ring and sends every frame marked SEND_REQUEST. A blocking
 * sendto returns once all of them left, so the frames are reaped right after: a frame back
 * in AVAILABLE left the socket, one in WRONG_FORMAT was refused (an error).
 *
 * Each frame starts with a virtio_net_hdr (PACKET_VNET_HDR) whose hdr_len is the whole
 * frame. Why: without it the kernel copies only the Ethernet header into the skb and hangs
 * the rest off the ring's pages as fragments; any device that must keep the skb beyond the
 * call (veth, which hands it to its peer) then copies those fragments into fresh pages
 * (skb_copy_ubufs), a page allocation per packet. With hdr_len covering the frame the skb is
 * linear from the start: one small copy, no page. If the kernel refuses PACKET_VNET_HDR the
 * ring works without it.
 */
#include <errno.h>
#include <sched.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "mqsend.h"

#define RING_FRAMES 1024
#define TOP_BATCH 256	/* frames per sendto() at top speed */

struct pkt_state {
	int fd;
	uint8_t *ring;
	size_t ring_len;
	unsigned frame_size, nframes;
	unsigned head;		/* next frame to fill */
	unsigned tail;		/* oldest frame handed to the kernel and not reaped */
	unsigned inflight;
	unsigned vnet;		/* bytes of virtio_net_hdr before each frame (0 or 10) */
	uint64_t sent, errors, bytes;
	uint64_t retried;	/* sendto() said ENOBUFS: one frame back to SEND_REQUEST */
	int fatal;		/* errno of a send error that ends the run (device down...) */
};

static struct tpacket2_hdr *frame_hdr(struct pkt_state *s, unsigned i)
{
	return (struct tpacket2_hdr *)(s->ring + (size_t)i * s->frame_size);
}

/* Per packet: a compare, not a division by the (run-time) ring size. */
static unsigned ring_next(const struct pkt_state *s, unsigned i)
{
	return i + 1 == s->nframes ? 0 : i + 1;
}

static uint8_t *frame_data(struct pkt_state *s, unsigned i)
{
	/* Without PACKET_TX_HAS_OFF the data starts where a received frame's sockaddr_ll
	 * would have ended: TPACKET2_HDRLEN - sizeof(struct sockaddr_ll). */
	return (uint8_t *)frame_hdr(s, i) + TPACKET2_HDRLEN - sizeof(struct sockaddr_ll) + s->vnet;
}

static void vnet_set(struct pkt_state *s, unsigned i, unsigned len)
{
	struct virtio_net_hdr *v = (struct virtio_net_hdr *)(frame_data(s, i) - s->vnet);

	/* Little-endian fields (virtio 1.0 / vio_le() on x86 and arm64). */
	v->flags = 0;
	v->gso_type = VIRTIO_NET_HDR_GSO_NONE;
	v->hdr_len = (uint16_t)len;
	v->gso_size = 0;
	v->csum_start = 0;
	v->csum_offset = 0;
}

int mqs_tx_packet_setup(struct mqs_thread *t, void **state)
{
	const struct mqs_opts *o = t->o;
	struct pkt_state *s = calloc(1, sizeof(*s));
	struct tpacket_req req = { 0 };
	struct sockaddr_ll sll = { 0 };
	int v = TPACKET_V2, one = 1;
	unsigned need;

	if (!s)
		return mqs_thread_fail(t, ENOMEM, "state");
	s->fd = -1;
	*state = s;
	/* Protocol 0: this socket sends only, it never gets a copy of received traffic. */
	s->fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (s->fd < 0)
		return mqs_thread_fail(t, errno, "socket(AF_PACKET)");
	if (setsockopt(s->fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v)) < 0)
		return mqs_thread_fail(t, errno, "PACKET_VERSION");
	if (o->mode == MQS_MODE_BYPASS &&
	    setsockopt(s->fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) < 0)
		return mqs_thread_fail(t, errno, "PACKET_QDISC_BYPASS");
	if (setsockopt(s->fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) == 0)
		s->vnet = sizeof(struct virtio_net_hdr);
	/* Frames sized for the largest packet this run can send. */
	need = TPACKET2_HDRLEN + 16 + o->mtu + 14 + 8;
	s->frame_size = 2048;
	while (s->frame_size < need)
		s->frame_size *= 2;
	s->nframes = RING_FRAMES;
	req.tp_block_size = s->frame_size < 65536 ? 65536 : s->frame_size;
	req.tp_frame_size = s->frame_size;
	req.tp_frame_nr = s->nframes;
	req.tp_block_nr = s->nframes / (req.tp_block_size / s->frame_size);
	if (setsockopt(s->fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof(req)) < 0)
		return mqs_thread_fail(t, errno, "PACKET_TX_RING");
	s->ring_len = (size_t)req.tp_block_size * req.tp_block_nr;
	s->ring = mmap(NULL, s->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, s->fd, 0);
	if (s->ring == MAP_FAILED) {
		s->ring = NULL;
		return mqs_thread_fail(t, errno, "mmap(TX ring)");
	}
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = o->ifindex;
	sll.sll_protocol = 0;
	if (bind(s->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return mqs_thread_fail(t, errno, "bind");
	return 0;
}

/* Take back every frame the kernel is done with, oldest first. */
static void reap(struct pkt_state *s, struct mqs_stats *st)
{
	while (s->inflight) {
		struct tpacket2_hdr *h = frame_hdr(s, s->tail);
		uint32_t status = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);

		if (status == TP_STATUS_SEND_REQUEST || status == TP_STATUS_SENDING)
			break;
		if (status == TP_STATUS_WRONG_FORMAT)
			s->errors++;
		else {
			s->sent++;
			s->bytes += h->tp_len - s->vnet + MQS_FCS;
		}
		__atomic_store_n(&h->tp_status, TP_STATUS_AVAILABLE, __ATOMIC_RELAXED);
		s->tail = ring_next(s, s->tail);
		s->inflight--;
	}
	atomic_store_explicit(&st->packets, s->sent, memory_order_relaxed);
	atomic_store_explicit(&st->bytes, s->bytes, memory_order_relaxed);
	atomic_store_explicit(&st->errors, s->errors, memory_order_relaxed);
	atomic_store_explicit(&st->retried, s->retried, memory_order_relaxed);
}

/* Hand the filled frames to the kernel. */
static void kick(struct pkt_state *s)
{
	for (;;) {
		ssize_t r = sendto(s->fd, NULL, 0, 0, NULL, 0);

		if (r >= 0)
			return;
		if (errno == EINTR)
			continue;
		if (errno == ENOBUFS || errno == EAGAIN) {
			/* The qdisc or the device refused a frame (queue full). tpacket_snd() then
			 * puts that frame back to SEND_REQUEST without advancing the ring, so it is
			 * not lost: it goes again on the next sendto(). Counting it as an error here
			 * (or un-counting it as sent) would count it twice. Back pressure only; but
			 * the device may have counted it as a drop (see devdrops.c). */
			s->retried++;
			sched_yield();
			continue;
		}
		/* The device went away or down: nothing more will go, stop rather than spin. */
		s->fatal = errno;
		return;
	}
}

void mqs_tx_packet_run(struct mqs_thread *t, void *state)
{
	struct pkt_state *s = state;
	bool paced = t->o->rate_pps || t->o->rate_bps || (t->o->file && !t->o->topspeed);
	uint64_t submitted = 0;
	bool eof = false;

	while (!eof) {
		uint64_t now = cli_now_ns();
		unsigned n, filled = 0;

		if (mqs_thread_should_stop(t, submitted, now))
			break;
		if (t->gen.file && !t->o->topspeed && !t->o->rate_pps && !t->o->rate_bps) {
			mqs_pace_wait_until(t->pace.start_ns + mqs_gen_replay_due(&t->gen));
			if (cli_stop_requested())
				break;
			n = 1;
		} else {
			n = mqs_pace_allow(&t->pace, paced ? MQS_BATCH : TOP_BATCH,
					   mqs_gen_peek_len(&t->gen), now);
		}
		if (t->quota && n > t->quota - submitted)
			n = (unsigned)(t->quota - submitted);
		while (filled < n && s->inflight < s->nframes) {
			struct tpacket2_hdr *h = frame_hdr(s, s->head);
			unsigned sock, len = mqs_gen_next(&t->gen, frame_data(s, s->head), &sock);

			if (!len) {
				eof = true;
				break;
			}
			if (s->vnet)
				vnet_set(s, s->head, len);
			h->tp_len = len + s->vnet;
			/* Pairs with the kernel's read of tp_status before it reads the frame. */
			__atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
			s->head = ring_next(s, s->head);
			s->inflight++;
			filled++;
			mqs_pace_sent(&t->pace, len);
		}
		submitted += filled;
		if (filled)
			kick(s);
		reap(s, &t->st);
		if (s->fatal)
			break;
	}
	/* Drain: every frame handed over leaves before the run ends, so counts are final. */
	for (int i = 0; i < 1000 && s->inflight && !s->fatal; i++) {
		kick(s);
		reap(s, &t->st);
		if (s->inflight)
			usleep(1000);
	}
	reap(s, &t->st);
	if (s->fatal)
		mqs_thread_fail(t, s->fatal, "send");
}

void mqs_tx_packet_close(void *state)
{
	struct pkt_state *s = state;

	if (!s)
		return;
	if (s->ring)
		munmap(s->ring, s->ring_len);
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}
