/* SPDX-License-Identifier: BSD-2-Clause */
/* ring.c - the SPSC ring's cold parts: create/destroy and the sleep/wake slow paths. */
#include <errno.h>
#include <linux/membarrier.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mqcap/ring.h"
#include "error_int.h"
#include "ring_int.h"


/*
 * The consumer's half of the asymmetric Dekker barrier (see mqcap__ring_spsc_prod_notify):
 * membarrier makes every running thread of this process execute a full barrier, so the
 * producer's tail store and wait.state load cannot be reordered across it. Registration is
 * per process and idempotent; it fails only where membarrier is filtered or missing.
 */
static int membarrier_register(void)
{
	return (int)syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0);
}

/* False when the barrier did not happen: membarrier failed although registration had
 * worked (a seccomp filter that allows one command and not the other, say). */
static bool full_barrier(const struct mqcap_ring_spsc *r)
{
	if (r->flags & MQCAP__RING_F_FENCE)
		return true;
	return syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0;
}

struct mqcap_ring_spsc *mqcap_ring_spsc_create(uint32_t count, uint32_t esize,
					       const struct mqcap_ring_spsc_opts *opts)
{
	struct mqcap_ring_spsc_opts o = { .sz = sizeof(o) };
	struct mqcap_ring_spsc *r;
	size_t hdr = (sizeof(*r) + MQCAP_RING_ALIGN - 1) & ~(size_t)(MQCAP_RING_ALIGN - 1);
	size_t bytes;

	if (count < 2 || count > MQCAP_RING_COUNT_MAX || (count & (count - 1))) {
		mqcap__last_error_fmt(EINVAL, "ring: %u slots is not a power of two in 2..2^31", count);
		return NULL;
	}
	if (esize < 1 || esize > MQCAP_RING_ESIZE_MAX) {
		mqcap__last_error_fmt(EINVAL, "ring: element size %u is not in 1..%u", esize, MQCAP_RING_ESIZE_MAX);
		return NULL;
	}
	if (opts) {
		if (opts->sz < offsetof(struct mqcap_ring_spsc_opts, flags) + sizeof(uint32_t)) {
			mqcap__last_error_fmt(EINVAL, "ring: opts.sz %zu is too small (%zu)", opts->sz, sizeof(o));
			return NULL;
		}
		/* Read only the fields the caller's version of the struct has. */
		memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));
		if (o.flags & ~MQCAP_RING_F_WAKE) {
			mqcap__last_error_fmt(EINVAL, "ring: unknown flags 0x%x", o.flags);
			return NULL;
		}
	}
	/* count * esize fits easily in size_t on 64-bit; on 32-bit check it. */
	if ((size_t)count > (SIZE_MAX - hdr) / esize) {
		mqcap__last_error_fmt(ENOMEM, "ring: %u slots of %u bytes do not fit in memory", count, esize);
		return NULL;
	}
	bytes = hdr + (size_t)count * esize;
	bytes = (bytes + MQCAP_RING_ALIGN - 1) & ~(size_t)(MQCAP_RING_ALIGN - 1);
	r = aligned_alloc(MQCAP_RING_ALIGN, bytes);
	if (!r) {
		mqcap__last_error_fmt(ENOMEM, "ring: cannot allocate %u slots of %u bytes", count, esize);
		return NULL;
	}
	memset(r, 0, hdr);
	r->slots = (unsigned char *)r + hdr;
	r->mask = count - 1;
	r->size = count;
	r->esize = esize;
	r->flags = o.flags;
	r->wake_items = o.wake_items ? o.wake_items : 1;
	r->wake_usecs = o.wake_usecs;
	r->efd = -1;
	/* Empty: the producer may fill up to head + size. */
	r->prod_own.limit = count;
	if (o.flags & MQCAP_RING_F_WAKE) {
		r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (r->efd < 0) {
			int err = errno;

			free(r);
			mqcap__last_error_fmt(err, "ring: eventfd: %s", strerror(err));
			return NULL;
		}
		if (membarrier_register() != 0)
			r->flags |= MQCAP__RING_F_FENCE;
	}
	return r;
}

void mqcap_ring_spsc_destroy(struct mqcap_ring_spsc *r)
{
	if (!r)
		return;
	if (r->efd >= 0)
		close(r->efd);
	free(r);
}

void mqcap__ring_spsc_set_index(struct mqcap_ring_spsc *r, uint32_t idx)
{
	atomic_store_explicit(&r->prod.tail, idx, memory_order_relaxed);
	atomic_store_explicit(&r->cons.head, idx, memory_order_relaxed);
	r->prod_own.tail = idx;
	r->prod_own.limit = idx + r->size;
	r->cons_own.head = idx;
	r->cons_own.limit = idx;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void mqcap__ring_spsc_wake_slow(struct mqcap_ring_spsc *r, uint32_t tail, int force)
{
	/* A3: pairs with R3 in prepare_wait, so sleep_head belongs to this epoch. */
	uint32_t epoch = atomic_load_explicit(&r->wait.state, memory_order_acquire);
	uint32_t waiting;

	if (!epoch)
		return;
	waiting = tail - atomic_load_explicit(&r->wait.sleep_head, memory_order_relaxed);
	if (!waiting)
		return;
	if (!force && waiting < r->wake_items) {
		/* Below the item watermark: wake only when the oldest item is old enough.
		 * The clock starts the first time we see this sleep with items waiting. */
		uint64_t now;

		if (!r->wake_usecs)
			return;
		now = now_ns();
		if (r->prod_own.wake_epoch != epoch) {
			r->prod_own.wake_epoch = epoch;
			r->prod_own.wake_since_ns = now;
			return;
		}
		if (now - r->prod_own.wake_since_ns < (uint64_t)r->wake_usecs * 1000u)
			return;
	}
	/* Only the caller that moves state from this epoch to 0 writes the fd: one write per
	 * sleep. Relaxed on failure: the consumer already woke by itself. */
	if (atomic_compare_exchange_strong_explicit(&r->wait.state, &epoch, 0,
						    memory_order_relaxed, memory_order_relaxed)) {
		uint64_t one = 1;

		/* Cannot fail except on counter overflow, which the consumer's read prevents. */
		if (write(r->efd, &one, sizeof(one)) < 0) {
			/* nothing sensible to do in the producer; the consumer's timeout recovers */
		}
	}
}

int mqcap_ring_spsc_prepare_wait(struct mqcap_ring_spsc *r)
{
	uint32_t head, tail;

	if (!(r->flags & MQCAP_RING_F_WAKE))
		return -EINVAL;
	head = r->cons_own.head;
	/* A2: as in dequeue. */
	tail = atomic_load_explicit(&r->prod.tail, memory_order_acquire);
	if (tail != head)
		return -EAGAIN;
	r->cons_own.epoch = (r->cons_own.epoch + 2) | 1; /* odd, so never 0 (= awake) */
	atomic_store_explicit(&r->wait.sleep_head, head, memory_order_relaxed);
	/* R3: pairs with A3 in wake_slow: the producer sees sleep_head of this epoch.
	 * seq_cst (with the seq_cst load below) for the F_FENCE form of the Dekker pair. */
	atomic_store_explicit(&r->wait.state, r->cons_own.epoch, memory_order_seq_cst);
	/* Store-load barrier of the Dekker pair (the producer's side is
	 * mqcap__ring_spsc_wait_armed): membarrier makes it cost the producer nothing. */
	/* Without the barrier the producer may not see our state and never wake us: do not
	 * sleep, look again (the caller polls instead of sleeping; correct, only costlier). */
	if (!full_barrier(r)) {
		mqcap_ring_spsc_finish_wait(r);
		return -EAGAIN;
	}
	/* A2 again (pairs with R1), seq_cst for the F_FENCE form. */
	tail = atomic_load_explicit(&r->prod.tail, memory_order_seq_cst);
	if (tail != head) {
		mqcap_ring_spsc_finish_wait(r);
		return -EAGAIN;
	}
	return 0;
}

void mqcap_ring_spsc_finish_wait(struct mqcap_ring_spsc *r)
{
	uint64_t v;

	/* Relaxed: the state word carries no data back to us. If the producer already took it
	 * to 0, its write to the fd may still be on the way: then the next sleep wakes once
	 * early, which wait() reports as 0 items. */
	atomic_store_explicit(&r->wait.state, 0, memory_order_relaxed);
	/* Drain the eventfd counter (non-blocking); EAGAIN just means nobody wrote. */
	if (read(r->efd, &v, sizeof(v)) < 0) {
		/* EAGAIN */
	}
}

int mqcap_ring_spsc_wait(struct mqcap_ring_spsc *r, int timeout_ms)
{
	struct pollfd pfd;
	uint32_t head;
	int rc;

	if (!(r->flags & MQCAP_RING_F_WAKE))
		return -EINVAL;
	head = r->cons_own.head;
	rc = mqcap_ring_spsc_prepare_wait(r);
	if (rc == 0 && timeout_ms != 0) {
		pfd.fd = r->efd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		rc = poll(&pfd, 1, timeout_ms);
		rc = rc < 0 ? -errno : 0;
		mqcap_ring_spsc_finish_wait(r);
		if (rc == -EINTR)
			rc = 0;
	} else if (rc == 0) {
		mqcap_ring_spsc_finish_wait(r);
	} else if (rc == -EAGAIN) {
		rc = 0;
	}
	if (rc < 0)
		return rc;
	/* A2: pairs with R1; the caller will dequeue these. */
	r->cons_own.limit = atomic_load_explicit(&r->prod.tail, memory_order_acquire);
	return (int)(r->cons_own.limit - head);
}
