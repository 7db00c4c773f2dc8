/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * shim_recv.c - receiving on a handle mqcap owns: pcap_dispatch, pcap_loop, pcap_next,
 * pcap_next_ex, pcap_breakloop, the selectable fd and nonblocking mode, pcap_stats, and
 * sending (pcap_inject, pcap_sendpacket).
 *
 * A burst from mqcap_recv_burst is a set of views into the kernel's ring; they stay valid
 * until the next burst. The shim keeps the burst and hands its packets out across calls:
 * pcap_next_ex takes one packet per call without a system call, and a pcap_breakloop in
 * the middle of a burst leaves the rest for the next call, as libpcap leaves them in its
 * buffer. So a packet's data is valid until the call after the one that returned it
 * (pcap_next/pcap_next_ex), or for the callback (pcap_dispatch/pcap_loop): what libpcap
 * promises.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "shim_int.h"

/* Keep the selectable fd readable while packets of a burst wait here: the kernel's ring no
 * longer shows them, and a program polling before each pcap_dispatch would wait for the
 * next packet to get these. Costs two system calls per partly delivered burst, and only
 * for programs that asked for the fd. */
static void pending_sync(struct shim *s)
{
	bool want = s->pos < s->n;
	uint64_t v = 1;

	if (s->pendfd < 0 || want == s->pend_set)
		return;
	if (want ? write(s->pendfd, &v, sizeof(v)) : read(s->pendfd, &v, sizeof(v))) {
		/* EAGAIN only: the counter is already in the state we want */
	}
	s->pend_set = want;
}

static void fill_hdr(const struct shim *s, const struct mqcap_pkt *k, struct pcap_pkthdr *h)
{
	uint64_t sub = k->ts_ns % 1000000000u;

	h->ts.tv_sec = (time_t)(k->ts_ns / 1000000000u);
	/* with nanosecond precision, tv_usec holds nanoseconds (libpcap's convention) */
	h->ts.tv_usec = (suseconds_t)(s->precision == PCAP_TSTAMP_PRECISION_NANO ? sub
									      : sub / 1000u);
	h->caplen = k->caplen;
	h->len = k->len;
}

/* A waiting call wakes this often to let mqcap check its queues (mqcap_warnings: the census
 * of silent queues and of their numbering runs inside mqcap_recv_burst). */
#define SHIM_TICK_MS 250

static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

enum wait_result { WAIT_TIMEOUT, WAIT_TICK, WAIT_READABLE, WAIT_BREAK, WAIT_SIGNAL };

/* Wait until the selectable fd is readable, pcap_breakloop is called, deadline (ms, < 0:
 * none) passes, or one tick. The shim waits here rather than in mqcap_recv_burst so that
 * pcap_breakloop wakes it through the handle's own eventfd, never through the capture (which
 * pcap_setfilter may be replacing meanwhile). */
static enum wait_result wait_packets(struct shim *s, int64_t deadline)
{
	struct pollfd fds[2] = { { .fd = s->epfd, .events = POLLIN },
				 { .fd = s->wakefd, .events = POLLIN } };
	int ms = SHIM_TICK_MS, r;

	if (deadline >= 0) {
		int64_t left = deadline - now_ms();

		if (left <= 0)
			return WAIT_TIMEOUT;
		if (left < ms)
			ms = (int)left;
	}
	r = poll(fds, 2, ms);
	if (r < 0) /* EINTR: a signal; the program's handler may want its loop back */
		return shim_take_break(s) ? WAIT_BREAK : WAIT_SIGNAL;
	if (fds[1].revents) {
		uint64_t v;

		if (read(s->wakefd, &v, sizeof(v)) < 0) {
			/* EAGAIN: another read took it */
		}
		/* a wake whose break an earlier call already took is stale: wait on */
		if (shim_take_break(s))
			return WAIT_BREAK;
	}
	if (fds[0].revents)
		return WAIT_READABLE;
	return r == 0 && deadline >= 0 && now_ms() >= deadline ? WAIT_TIMEOUT : WAIT_TICK;
}

/*
 * Get the next burst into s->pkts, as libpcap's read operation waits on Linux. Returns the
 * burst's size, 0 when the read returns nothing, PCAP_ERROR_BREAK or PCAP_ERROR.
 *  - nonblocking: never waits;
 *  - blocking: waits up to the timeout the program set (0: until a packet comes, as libpcap's
 *    TPACKET_V3 reads do);
 *  - a read after the selectable fd polled readable returns at once, with 0 packets if there
 *    are none (libpcap's contract for select/poll loops: such a program must never block in
 *    pcap_dispatch while its own timers wait). The fd is readable only while packets wait,
 *    since a fully delivered burst is given back before the read returns (shim_read,
 *    pcap_next_ex); the exceptions are frames that a filter in mqcap rejects, and a device
 *    error: each gives a read that returns 0.
 *    Nor do events that are not packets: the fd also holds mqcap's link-event socket, and a
 *    change on the device (another process leaving it changes its promiscuity) makes it
 *    readable with no packet behind it. So a program that took the selectable fd (pendfd
 *    exists then) gets 0 at once when the fd was readable as the read began: two softflowd on
 *    two queues, the first shut down, froze the second in the wait below for good.
 */
static int shim_fill(struct shim *s)
{
	int64_t deadline = s->timeout_ms > 0 ? now_ms() + s->timeout_ms : -1;
	/* Asked only of programs that poll the fd themselves: one more poll(0) per read beside
	 * theirs. */
	bool polled_ready = s->pendfd >= 0 &&
			    poll(&(struct pollfd){ .fd = s->epfd, .events = POLLIN }, 1, 0) > 0;

	for (;;) {
		int n = mqcap_recv_burst(s->c, s->pkts, SHIM_BURST, 0);

		if (n > 0) {
			s->pos = 0;
			s->n = (unsigned)n;
			return n;
		}
		if (n < 0)
			return shim_err(s, PCAP_ERROR, "%s", mqcap_errmsg(s->c));
		if (s->nonblock || polled_ready)
			return 0;
		switch (wait_packets(s, deadline)) {
		case WAIT_TICK:
			continue;
		case WAIT_READABLE:
			/* a short wait in mqcap reports a device error the fd polled for; the
			 * read returns what it got, 0 included */
			n = mqcap_recv_burst(s->c, s->pkts, SHIM_BURST, 1);
			if (n < 0)
				return shim_err(s, PCAP_ERROR, "%s", mqcap_errmsg(s->c));
			s->pos = 0;
			s->n = (unsigned)n;
			return n;
		case WAIT_BREAK:
			return PCAP_ERROR_BREAK;
		case WAIT_TIMEOUT:
		case WAIT_SIGNAL:
			return 0;
		}
	}
}

/* libpcap's read operation: deliver up to cnt packets (cnt <= 0: what one burst holds).
 * Returns the number delivered, 0 on timeout (or nothing yet, nonblocking), PCAP_ERROR,
 * or PCAP_ERROR_BREAK when pcap_breakloop came before any packet. keep: the caller hands
 * out the last packet's data after the call (pcap_next_ex), so its burst stays held. */
static int shim_read(struct shim *s, int cnt, pcap_handler cb, u_char *user, bool keep)
{
	int done = 0;

	if (!s->activated)
		return shim_err(s, PCAP_ERROR_NOT_ACTIVATED, "%s: not activated", s->name);
	if (shim_take_break(s))
		return PCAP_ERROR_BREAK;
	if (s->pos == s->n) {
		int n = shim_fill(s);

		if (n <= 0) {
			pending_sync(s);
			return n;
		}
	}
	while (s->pos < s->n && (cnt <= 0 || done < cnt)) {
		const struct mqcap_pkt *k = &s->pkts[s->pos++];

		fill_hdr(s, k, &s->hdr);
		if (s->has_ufilter && !pcap_offline_filter(&s->ufilter, &s->hdr, k->data)) {
			s->ufiltered++;
			continue;
		}
		cb(user, &s->hdr, k->data);
		done++;
		/* A break from the callback (or elsewhere) ends the call after this packet; the
		 * flag stays, so the next call returns PCAP_ERROR_BREAK, as in libpcap. */
		if (atomic_load_explicit(&s->brk, memory_order_relaxed))
			break;
	}
	if (s->pos == s->n && s->n && !keep) {
		/* Delivered: give the slots back now, not at the next read, so that the ring's
		 * fd (inside the selectable one) stops polling readable for packets we had. */
		mqcap_release(s->c);
		s->pos = s->n = 0;
	}
	pending_sync(s);
	return done;
}

int pcap_dispatch(pcap_t *p, int cnt, pcap_handler cb, u_char *user)
{
	struct shim *s = shim_find(p);

	if (!s)
		return shim_real()->dispatch(p, cnt, cb, user);
	return shim_read(s, cnt, cb, user, false);
}

int pcap_loop(pcap_t *p, int cnt, pcap_handler cb, u_char *user)
{
	struct shim *s = shim_find(p);
	int n;

	if (!s)
		return shim_real()->loop(p, cnt, cb, user);
	for (;;) {
		do /* a timeout is not an end for pcap_loop */
			n = shim_read(s, cnt, cb, user, false);
		while (n == 0);
		if (n < 0)
			return n;
		if (cnt > 0) {
			cnt -= n;
			if (cnt <= 0)
				return 0;
		}
	}
}

struct one {
	const u_char *data;
};

static void take_one(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
	(void)h; /* it is s->hdr */
	((struct one *)user)->data = data;
}

int pcap_next_ex(pcap_t *p, struct pcap_pkthdr **h, const u_char **data)
{
	struct shim *s = shim_find(p);
	struct one o = { 0 };
	int rc;

	if (!s)
		return shim_real()->next_ex(p, h, data);
	rc = shim_read(s, 1, take_one, (u_char *)&o, true);
	if (rc != 1)
		return rc;
	if (s->pos == s->n && (s->oneshot || (s->oneshot = malloc((size_t)s->snaplen)))) {
		/* The burst's last packet must stay valid until the next call, and holding the
		 * burst for it would leave the selectable fd readable with nothing to read: as
		 * libpcap's ring reads do for pcap_next_ex, copy it and give the burst back.
		 * (Without the buffer the burst stays held: still right, one early wake.) */
		memcpy(s->oneshot, o.data, s->hdr.caplen);
		o.data = s->oneshot;
		mqcap_release(s->c);
		s->pos = s->n = 0;
		pending_sync(s);
	}
	*h = &s->hdr;
	*data = o.data;
	return 1;
}

const u_char *pcap_next(pcap_t *p, struct pcap_pkthdr *h)
{
	struct shim *s = shim_find(p);
	struct pcap_pkthdr *hp;
	const u_char *data;

	if (!s)
		return shim_real()->next(p, h);
	if (pcap_next_ex(p, &hp, &data) != 1)
		return NULL;
	*h = *hp;
	return data;
}

void pcap_breakloop(pcap_t *p)
{
	struct shim *s = shim_find(p);
	uint64_t one = 1;

	if (!s) {
		shim_real()->breakloop(p);
		return;
	}
	/* release: pairs with the acquire in shim_take_break */
	atomic_store_explicit(&s->brk, true, memory_order_release);
	/* Wake a waiting read (a write to an eventfd: safe in a signal handler). Not part of
	 * the selectable fd, as libpcap's own breakloop eventfd is not: the program's poll
	 * does not turn readable for it. */
	if (write(s->wakefd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is saturated, a wake is pending anyway */
	}
}

static int selectable_fd(struct shim *s)
{
	if (!s->activated)
		return PCAP_ERROR;
	if (s->pendfd < 0) {
		struct epoll_event ev = { .events = EPOLLIN };
		int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

		if (fd < 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			if (fd >= 0)
				close(fd);
			return shim_err(s, PCAP_ERROR, "eventfd: %s", strerror(errno));
		}
		s->pendfd = fd;
		s->pend_set = false;
		pending_sync(s);
	}
	return s->epfd;
}

int pcap_get_selectable_fd(pcap_t *p)
{
	struct shim *s = shim_find(p);

	return s ? selectable_fd(s) : shim_real()->get_selectable_fd(p);
}

int pcap_fileno(pcap_t *p)
{
	struct shim *s = shim_find(p);

	return s ? selectable_fd(s) : shim_real()->fileno(p);
}

const struct timeval *pcap_get_required_select_timeout(pcap_t *p)
{
	struct shim *s = shim_find(p);

	/* our fd tells the truth: no timeout needed */
	return s ? NULL : shim_real()->get_required_select_timeout(p);
}

int pcap_setnonblock(pcap_t *p, int nonblock, char *errbuf)
{
	struct shim *s = shim_find(p);

	if (!s)
		return shim_real()->setnonblock(p, nonblock, errbuf);
	s->nonblock = nonblock != 0;
	return 0;
}

int pcap_getnonblock(pcap_t *p, char *errbuf)
{
	struct shim *s = shim_find(p);

	if (!s)
		return shim_real()->getnonblock(p, errbuf);
	return s->nonblock;
}

/*
 * The mapping (README, mqcap-pcap(8)), as libpcap on Linux counts (its ps_recv is the
 * socket's tp_packets, which the kernel reports with the ring drops included):
 *   ps_recv   = received + drop_ring_full: what mqcap took from the queue after the filter,
 *               whether or not the ring had room (less what a filter run here rejected)
 *   ps_drop   = drop_ring_full: the socket's ring was full (TPACKET tp_drops, XSK rx_ring_full)
 *   ps_ifdrop = drop_fill_empty + drop_no_socket + drop_invalid: lost before the socket
 * Counted from activation, across the reopens that pcap_setfilter/pcap_setdirection make.
 */
int pcap_stats(pcap_t *p, struct pcap_stat *ps)
{
	struct shim *s = shim_find(p);
	struct mqcap_stats t, cur;
	mqcap_t *c;

	if (!s)
		return shim_real()->stats(p, ps);
	if (!s->activated)
		return shim_err(s, PCAP_ERROR_NOT_ACTIVATED, "%s: not activated", s->name);
	t = s->base;
	c = s->c;
	if (c) {
		if (mqcap_stats(c, &cur))
			return shim_err(s, PCAP_ERROR, "%s", mqcap_errmsg(c));
		t.received += cur.received;
		t.drop_ring_full += cur.drop_ring_full;
		t.drop_fill_empty += cur.drop_fill_empty;
		t.drop_no_socket += cur.drop_no_socket;
		t.drop_invalid += cur.drop_invalid;
	}
	/* u_int, as in libpcap: the counts wrap at 2^32 */
	ps->ps_recv = (u_int)(t.received - s->ufiltered + t.drop_ring_full);
	ps->ps_drop = (u_int)t.drop_ring_full;
	ps->ps_ifdrop = (u_int)(t.drop_fill_empty + t.drop_no_socket + t.drop_invalid);
	return 0;
}

/* ---- sending: on the (first) device of the capture, through an AF_PACKET socket ---- */

static int tx_open(struct shim *s)
{
	struct mqcap_queue_info qi;
	mqcap_t *c = s->c;
	int fd;

	if (!c || mqcap_queue_info(c, 0, &qi))
		return shim_err(s, PCAP_ERROR, "%s: no device to send on", s->name);
	/* protocol 0: this socket receives nothing, it only sends */
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return shim_err(s, errno == EPERM ? PCAP_ERROR_PERM_DENIED : PCAP_ERROR,
				"%s: socket: %s", qi.dev_name, strerror(errno));
	s->txfd = fd;
	s->tx_ifindex = (int)qi.ifindex;
	return 0;
}

int pcap_inject(pcap_t *p, const void *buf, size_t size)
{
	struct shim *s = shim_find(p);
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	const uint8_t *b = buf;
	ssize_t n;
	int rc;

	if (!s)
		return shim_real()->inject(p, buf, size);
	if (!s->activated)
		return shim_err(s, PCAP_ERROR_NOT_ACTIVATED, "%s: not activated", s->name);
	if (s->txfd < 0 && (rc = tx_open(s)))
		return rc;
	/* The destination names the device and the frame's EtherType: an unbound socket of
	 * protocol 0 sends nothing without them (the kernel takes skb->protocol from here). */
	sll.sll_ifindex = s->tx_ifindex;
	sll.sll_protocol = size >= ETH_HLEN ? (uint16_t)(b[12] | b[13] << 8) : htons(ETH_P_ALL);
	n = sendto(s->txfd, buf, size, 0, (struct sockaddr *)&sll, sizeof(sll));
	if (n < 0)
		return shim_err(s, PCAP_ERROR, "send: %s", strerror(errno));
	return (int)n;
}

int pcap_sendpacket(pcap_t *p, const u_char *buf, int size)
{
	struct shim *s = shim_find(p);
	int n;

	if (!s)
		return shim_real()->sendpacket(p, buf, size);
	if (size <= 0)
		return shim_err(s, PCAP_ERROR, "The number of bytes to be sent must be positive");
	n = pcap_inject(p, buf, (size_t)size);
	return n == size ? 0 : n < 0 ? n : shim_err(s, PCAP_ERROR, "sent %d of %d bytes", n, size);
}
