/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tx_xdp.c - the AF_XDP transmit path: one TX-only socket per TX queue this thread owns,
 * each with its own UMEM. The queue of every packet is chosen by the caller (flows.c: the
 * flow's RSS queue with --rss, the thread's queue otherwise), so a frame sent on TX queue q
 * of a veth arrives on RX queue q of its peer, as RSS would have placed it.
 *
 * No XDP program is loaded: a TX-only socket needs none (XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD),
 * and the device's own XDP setup stays as it is. Copy mode (XDP_COPY) works on any driver,
 * veth included; the kernel sends at most a small batch per sendto() kick, so the loop
 * kicks after every batch and takes completions back as the frames' buffers come free.
 */
#include <errno.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <xdp/xsk.h>

#include "cli.h"
#include "mqsend.h"

#define XS_FRAMES 4096
#define XS_RING 2048

struct xs_sock {
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	struct xsk_ring_prod fill, tx;
	struct xsk_ring_cons comp;
	uint8_t *area;
	size_t area_len;
	uint64_t *free_addr;	/* stack of free frame addresses */
	unsigned nfree;
	unsigned outstanding;	/* submitted, not completed */
	unsigned pending;	/* reserved and written, not submitted */
	uint64_t pending_bytes;
};

struct xs_state {
	struct xs_sock socks[MQS_MAX_QUEUES];
	unsigned nsocks;
	unsigned frame_size;
	uint64_t sent, bytes, errors;
	int fatal;		/* errno of a kick error that ends the run (device down...) */
};

static int fail(struct mqs_thread *t, int err, const char *what, unsigned q)
{
	return mqs_thread_fail(t, err, "%s (TX queue %u)", what, q);
}

static int sock_open(struct mqs_thread *t, struct xs_state *st, struct xs_sock *s, unsigned q)
{
	struct xsk_umem_config ucfg = {
		.fill_size = XSK_RING_PROD__DEFAULT_NUM_DESCS,
		.comp_size = XS_RING,
		.frame_size = st->frame_size,
		.frame_headroom = 0,
		.flags = 0,
	};
	struct xsk_socket_config scfg = {
		.rx_size = 0,
		.tx_size = XS_RING,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.xdp_flags = 0,
		.bind_flags = XDP_COPY,
	};
	int rc;

	s->area_len = (size_t)XS_FRAMES * st->frame_size;
	s->area = mmap(NULL, s->area_len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (s->area == MAP_FAILED) {
		s->area = NULL;
		return fail(t, errno, "UMEM mmap", q);
	}
	rc = xsk_umem__create(&s->umem, s->area, s->area_len, &s->fill, &s->comp, &ucfg);
	if (rc)
		return fail(t, -rc, "xsk_umem__create", q);
	rc = xsk_socket__create(&s->xsk, t->o->dev, q, s->umem, NULL, &s->tx, &scfg);
	if (rc)
		return fail(t, -rc, "AF_XDP socket (xsk_socket__create)", q);
	s->free_addr = malloc(XS_FRAMES * sizeof(*s->free_addr));
	if (!s->free_addr)
		return fail(t, ENOMEM, "frame stack", q);
	for (unsigned i = 0; i < XS_FRAMES; i++)
		s->free_addr[i] = (uint64_t)i * st->frame_size;
	s->nfree = XS_FRAMES;
	return 0;
}

int mqs_tx_xdp_setup(struct mqs_thread *t, void **state)
{
	struct xs_state *st = calloc(1, sizeof(*st));
	unsigned need = t->o->mtu + 14 + 8;

	if (!st)
		return fail(t, ENOMEM, "state", 0);
	*state = st;
	st->frame_size = 2048;
	while (st->frame_size < need)
		st->frame_size *= 2;
	for (unsigned i = 0; i < t->nqueues; i++) {
		int rc = sock_open(t, st, &st->socks[i], t->queues[i]);

		st->nsocks = i + 1;
		if (rc)
			return rc;
	}
	return 0;
}

static void complete(struct xs_state *st, struct xs_sock *s)
{
	uint32_t idx;
	unsigned n = xsk_ring_cons__peek(&s->comp, XS_RING, &idx);

	for (unsigned i = 0; i < n; i++)
		s->free_addr[s->nfree++] = *xsk_ring_cons__comp_addr(&s->comp, idx + i);
	if (n) {
		xsk_ring_cons__release(&s->comp, n);
		s->outstanding -= n;
		st->sent += n;
	}
}

static void kick(struct xs_state *st, struct xs_sock *s)
{
	/* Copy mode sends a small batch (32) per call and says EAGAIN when more is left:
	 * keep kicking, a few times, so a whole generated batch goes in one pass. */
	for (int i = 0; i < 16; i++) {
		if (sendto(xsk_socket__fd(s->xsk), NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0)
			return;
		/* EBUSY/ENOBUFS: the device is busy; the descriptors stay in the ring for the
		 * next kick. Anything else is a real error. */
		if (errno == EAGAIN || errno == EINTR)
			continue;
		if (errno != EBUSY && errno != ENOBUFS)
			st->fatal = errno;
		return;
	}
}

static void submit(struct xs_state *st, struct xs_sock *s)
{
	if (!s->pending)
		return;
	xsk_ring_prod__submit(&s->tx, s->pending);
	s->outstanding += s->pending;
	st->bytes += s->pending_bytes;
	s->pending = 0;
	s->pending_bytes = 0;
}

/* Submit what every socket has written, kick and take completions back; returns the
 * frames still outstanding. */
static unsigned flush(struct xs_state *st)
{
	unsigned left = 0;

	for (unsigned i = 0; i < st->nsocks; i++) {
		struct xs_sock *s = &st->socks[i];

		submit(st, s);
		if (s->outstanding) {
			kick(st, s);
			complete(st, s);
		}
		left += s->outstanding;
	}
	return left;
}

static void publish(struct xs_state *st, struct mqs_thread *t)
{
	/* Bytes are counted when submitted; packets when completed. The difference is at most
	 * a ring's worth and vanishes at the end. */
	atomic_store_explicit(&t->st.packets, st->sent, memory_order_relaxed);
	atomic_store_explicit(&t->st.bytes, st->bytes, memory_order_relaxed);
	atomic_store_explicit(&t->st.errors, st->errors, memory_order_relaxed);
}

void mqs_tx_xdp_run(struct mqs_thread *t, void *state)
{
	struct xs_state *st = state;
	bool paced = t->o->rate_pps || t->o->rate_bps;
	uint64_t submitted = 0;
	bool eof = false;

	while (!eof) {
		uint64_t now = cli_now_ns();
		unsigned n, filled = 0;

		if (mqs_thread_should_stop(t, submitted, now))
			break;
		n = mqs_pace_allow(&t->pace, paced ? MQS_BATCH : 256, mqs_gen_peek_len(&t->gen), now);
		if (t->quota && n > t->quota - submitted)
			n = (unsigned)(t->quota - submitted);
		while (filled < n) {
			unsigned sock;
			struct xs_sock *s;
			struct xdp_desc *d;
			uint32_t idx;
			uint64_t addr;
			unsigned len;
			/* The next packet's socket is known before it is written: its frame must
			 * come from that socket's UMEM. */
			const uint16_t *fs = t->gen.flow_sock;

			if (!mqs_gen_peek_len(&t->gen)) {
				eof = true; /* the replay has ended */
				break;
			}
			sock = fs ? fs[t->gen.pos] : 0;
			s = &st->socks[sock];
			if (!s->nfree || xsk_prod_nb_free(&s->tx, 1) < 1) {
				submit(st, s);
				kick(st, s);
				complete(st, s);
				if (!s->nfree || xsk_prod_nb_free(&s->tx, 1) < 1)
					break;
			}
			if (xsk_ring_prod__reserve(&s->tx, 1, &idx) != 1)
				break;
			addr = s->free_addr[--s->nfree];
			len = mqs_gen_next(&t->gen, xsk_umem__get_data(s->area, addr), &sock);
			d = xsk_ring_prod__tx_desc(&s->tx, idx);
			d->addr = addr;
			d->len = len;
			d->options = 0;
			s->pending++;
			s->pending_bytes += len + MQS_FCS;
			filled++;
			mqs_pace_sent(&t->pace, len);
		}
		submitted += filled;
		flush(st);
		publish(st, t);
		if (st->fatal)
			break;
		if (!filled) {
			/* Nothing could go (rings full): give the kernel a moment. */
			sched_yield();
		}
	}
	/* Drain: kick until every submitted frame completed (at most ~1 s). */
	for (int i = 0; i < 1000 && !st->fatal && flush(st); i++)
		usleep(1000);
	publish(st, t);
	if (st->fatal)
		mqs_thread_fail(t, st->fatal, "AF_XDP send");
}

void mqs_tx_xdp_close(void *state)
{
	struct xs_state *st = state;

	if (!st)
		return;
	for (unsigned i = 0; i < st->nsocks; i++) {
		struct xs_sock *s = &st->socks[i];

		if (s->xsk)
			xsk_socket__delete(s->xsk);
		if (s->umem)
			xsk_umem__delete(s->umem);
		if (s->area)
			munmap(s->area, s->area_len);
		free(s->free_addr);
	}
	free(st);
}
