/* SPDX-License-Identifier: BSD-2-Clause */
/* xsk_queue.c - one AF_XDP socket + UMEM per RX queue (see xsk_queue_int.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <xdp/xsk.h>

#include "xdp_log_int.h"
#include "xsk_fill_int.h"
#include "xdp_redirect.h"
#include "xsk_queue_int.h"

#ifndef SO_PREFER_BUSY_POLL
#define SO_PREFER_BUSY_POLL 69
#endif
#ifndef SO_BUSY_POLL_BUDGET
#define SO_BUSY_POLL_BUDGET 70
#endif

struct mqcap__xsk {
	/* Hot: touched per burst. */
	struct xsk_ring_cons rx;
	struct xsk_ring_prod fill;
	uint8_t *area;          /* the UMEM */
	uint32_t held;          /* RX descriptors peeked and not yet released */
	uint32_t held_idx;      /* RX ring index of the first of them */
	uint64_t frame_mask;    /* ~(frame size - 1): a descriptor's frame base */
	struct mqcap__fill_stash stash; /* frames due back to the fill ring that did not fit */
	bool busy_poll;
	int fd;
	/* Cold. */
	struct xsk_ring_cons comp; /* unused (no TX), but the kernel requires one */
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	uint64_t area_len;
	uint32_t frames;
	uint32_t frame_size;
	bool zerocopy;          /* the mode the kernel chose */
};

#define XSK_DEFAULT_FRAMES 4096u
#define XSK_MAX_FRAMES (1u << 20)

static uint32_t pow2_at_least(uint32_t v)
{
	uint32_t p = 64;

	while (p < v)
		p <<= 1;
	return p;
}

int mqcap__fill_stash_init(struct mqcap__fill_stash *s, uint32_t frames)
{
	s->addr = calloc(frames, sizeof(*s->addr));
	if (!s->addr)
		return -ENOMEM;
	s->mask = frames - 1;
	s->head = s->tail = 0;
	return 0;
}

void mqcap__fill_stash_free(struct mqcap__fill_stash *s)
{
	free(s->addr);
	s->addr = NULL;
}

uint32_t mqcap__fill_flush(struct xsk_ring_prod *fill, struct mqcap__fill_stash *s)
{
	uint32_t want = mqcap__fill_stash_count(s), idx = 0, n;

	if (!want)
		return 0;
	/* Short of room is normal (see xsk_fill_int.h): take what fits, keep the rest. */
	n = xsk_prod_nb_free(fill, want);
	if (n > want)
		n = want;
	if (!n || xsk_ring_prod__reserve(fill, n, &idx) != n)
		return 0;
	for (uint32_t i = 0; i < n; i++)
		*xsk_ring_prod__fill_addr(fill, idx + i) = s->addr[(s->head + i) & s->mask];
	xsk_ring_prod__submit(fill, n);
	s->head += n;
	return n;
}

static void fill_all(struct mqcap__xsk *x)
{
	for (uint32_t i = 0; i < x->frames; i++)
		mqcap__fill_stash_put(&x->stash, (uint64_t)i * x->frame_size);
	mqcap__fill_flush(&x->fill, &x->stash);
}

static int set_busy_poll(struct mqcap__xsk *x, uint32_t budget, struct mqcap__err *e)
{
	int one = 1, usecs = 20, b = budget ? (int)budget : 64;

	if (setsockopt(x->fd, SOL_SOCKET, SO_PREFER_BUSY_POLL, &one, sizeof(one)) ||
	    setsockopt(x->fd, SOL_SOCKET, SO_BUSY_POLL, &usecs, sizeof(usecs)) ||
	    setsockopt(x->fd, SOL_SOCKET, SO_BUSY_POLL_BUDGET, &b, sizeof(b)))
		return mqcap__err_set(e, errno, "enabling busy polling on the AF_XDP socket: %s%s",
				      strerror(errno),
				      errno == EPERM ? " (SO_BUSY_POLL_BUDGET needs CAP_NET_ADMIN)" : "");
	x->busy_poll = true;
	return 0;
}

int mqcap__xsk_open(struct mqcap__xsk **out, const char *dev, unsigned queue,
		    const struct mqcap__xsk_cfg *cfg, struct mqcap__err *e)
{
	struct mqcap__xsk *x;
	struct xsk_umem_config ucfg = { 0 };
	struct xsk_socket_config scfg = { 0 };
	struct xdp_options opts;
	socklen_t optlen = sizeof(opts);
	uint32_t frames = cfg->frames ? cfg->frames : XSK_DEFAULT_FRAMES;
	int err;

	*out = NULL;
	if (frames > XSK_MAX_FRAMES)
		return mqcap__err_set(e, EINVAL, "ring_frames %u is more than the %u allowed",
				      frames, XSK_MAX_FRAMES);
	x = calloc(1, sizeof(*x));
	if (!x)
		return mqcap__err_set(e, ENOMEM, "out of memory");
	x->fd = -1;
	x->frames = pow2_at_least(frames);
	x->frame_size = XSK_UMEM__DEFAULT_FRAME_SIZE;
	x->frame_mask = ~(uint64_t)(x->frame_size - 1);
	x->area_len = (uint64_t)x->frames * x->frame_size;
	if (mqcap__fill_stash_init(&x->stash, x->frames)) {
		free(x);
		return mqcap__err_set(e, ENOMEM, "out of memory");
	}
	/* Shared, not private: the kernel pins these pages and writes frames into them. After
	 * fork() a private mapping gives one process copies the kernel never writes (the child,
	 * as daemon(3) makes it: it read stale frames); a shared one is the same memory in both,
	 * so whichever process goes on reading sees live frames (test_fork.sh). */
	x->area = mmap(NULL, x->area_len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (x->area == MAP_FAILED) {
		unsigned long long mib = x->area_len >> 20;
		int merr = errno;

		mqcap__fill_stash_free(&x->stash);
		free(x);
		return mqcap__err_set(e, ENOMEM, "%s@%u: cannot map a %llu MiB UMEM: %s (lower "
				      "the ring memory: mem_budget or ring_frames)", dev, queue,
				      mib, strerror(merr));
	}

	/* Fill and RX rings as large as the UMEM: every frame has a slot in either; the fill
	 * ring can still look full for a moment (xsk_fill_int.h). */
	ucfg.fill_size = x->frames;
	ucfg.comp_size = 64;
	ucfg.frame_size = x->frame_size;
	ucfg.frame_headroom = 0;
	mqcap__xdp_log_clear();
	err = xsk_umem__create(&x->umem, x->area, x->area_len, &x->fill, &x->comp, &ucfg);
	if (err) {
		unsigned long long mib = x->area_len >> 20;

		x->umem = NULL;
		mqcap__xsk_close(x);
		/* Measured on 6.18 (test_privdrop, test_fault_memory): the AF_XDP socket refuses
		 * EPERM without CAP_NET_RAW; the kernel pins the UMEM and charges it to
		 * RLIMIT_MEMLOCK unless the caller has CAP_IPC_LOCK, so ENOBUFS (or ENOMEM) is that
		 * limit, not a broken device. */
		return mqcap__err_set(e, -err, "%s@%u: registering the %llu MiB UMEM failed: "
				      "%s%s", dev, queue, mib, strerror(-err),
				      -err == EPERM ? " (AF_XDP sockets need CAP_NET_RAW)" :
				      -err == ENOBUFS || -err == ENOMEM ?
				      " (over the locked-memory limit, ulimit -l: lower the ring "
				      "memory, mem_budget or ring_frames, raise the limit, or give "
				      "CAP_IPC_LOCK)" : "");
	}

	scfg.rx_size = x->frames;
	scfg.tx_size = 0;
	/* mqcap attaches its own program (xdp_prog.c); libxdp must not load its dispatcher,
	 * which also needs bpffs. */
	scfg.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;
	scfg.bind_flags = XDP_USE_NEED_WAKEUP | (cfg->zerocopy ? XDP_ZEROCOPY : 0);
	err = xsk_socket__create(&x->xsk, dev, queue, x->umem, &x->rx, NULL, &scfg);
	if (err) {
		x->xsk = NULL;
		mqcap__xsk_close(x);
		switch (-err) {
		case EBUSY:
			return mqcap__err_set(e, EBUSY,
					      "%s@%u is busy: another AF_XDP socket is bound to "
					      "this queue", dev, queue);
		case EOPNOTSUPP:
			if (cfg->zerocopy)
				return mqcap__err_set(e, EOPNOTSUPP,
						      "%s@%u: zero-copy AF_XDP is not supported by "
						      "this driver (veth never offers it); "
						      "drop the zero-copy requirement to use copy mode",
						      dev, queue);
			/* fall through */
		default:
			return mqcap__err_set(e, -err, "%s@%u: binding the AF_XDP socket failed: %s%s%s",
					      dev, queue, strerror(-err),
					      *mqcap__xdp_log_last() ? ": " : "",
					      mqcap__xdp_log_last());
		}
	}
	x->fd = xsk_socket__fd(x->xsk);
	if (!getsockopt(x->fd, SOL_XDP, XDP_OPTIONS, &opts, &optlen))
		x->zerocopy = opts.flags & XDP_OPTIONS_ZEROCOPY;
	if (cfg->busy_poll && (err = set_busy_poll(x, cfg->busy_budget, e))) {
		mqcap__xsk_close(x);
		return err;
	}
	fill_all(x);
	*out = x;
	return 0;
}

uint32_t mqcap__xsk_peek(struct mqcap__xsk *x, struct mqcap__xsk_frame *out, uint32_t max)
{
	uint32_t idx = 0, n = xsk_ring_cons__peek(&x->rx, max, &idx);

	if (!x->held)
		x->held_idx = idx;
	x->held += n;
	for (uint32_t i = 0; i < n; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&x->rx, idx + i);

		out[i].data = xsk_umem__get_data(x->area, d->addr);
		out[i].len = d->len;
	}
	return n;
}

void mqcap__xsk_release(struct mqcap__xsk *x)
{
	uint32_t n = x->held;

	if (!n)
		return;
	for (uint32_t i = 0; i < n; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&x->rx, x->held_idx + i);
		uint64_t base = d->addr & x->frame_mask;

		/* Forget this frame's metadata: the next packet in it may come without any, and
		 * its stale magic must not pass for a fresh timestamp. */
		if (d->addr - base >= sizeof(struct mqcap_xdp_meta))
			memset(x->area + d->addr - sizeof(uint32_t), 0, sizeof(uint32_t));
		mqcap__fill_stash_put(&x->stash, base);
	}
	/* The descriptors were read above, so their slots may go back to the kernel now. */
	xsk_ring_cons__release(&x->rx, n);
	x->held = 0;
	/* The fill ring may not have room for all of them yet (xsk_fill_int.h): what does not
	 * fit goes on the next release, or the next kick when the queue is idle. */
	mqcap__fill_flush(&x->fill, &x->stash);
	if (xsk_ring_prod__needs_wakeup(&x->fill))
		recvfrom(x->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
}

void mqcap__xsk_kick(struct mqcap__xsk *x)
{
	/* Frames left over from a short fill ring: an idle queue may be idle because the
	 * kernel has no frame to write into. */
	mqcap__fill_flush(&x->fill, &x->stash);
	if (x->busy_poll || xsk_ring_prod__needs_wakeup(&x->fill))
		recvfrom(x->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
}

int mqcap__xsk_stats(const struct mqcap__xsk *x, struct xdp_statistics *st)
{
	socklen_t len = sizeof(*st);

	memset(st, 0, sizeof(*st));
	if (getsockopt(x->fd, SOL_XDP, XDP_STATISTICS, st, &len))
		return -errno;
	return 0;
}

int mqcap__xsk_fd(const struct mqcap__xsk *x)
{
	return x->fd;
}

bool mqcap__xsk_zerocopy(const struct mqcap__xsk *x)
{
	return x->zerocopy;
}

void mqcap__xsk_close(struct mqcap__xsk *x)
{
	if (!x)
		return;
	if (x->xsk)
		xsk_socket__delete(x->xsk);
	if (x->umem)
		xsk_umem__delete(x->umem);
	if (x->area)
		munmap(x->area, x->area_len);
	mqcap__fill_stash_free(&x->stash);
	free(x);
}
