/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * source_afxdp.c - the AF_XDP backend (prefix xdp:): one XSK socket with its own UMEM per RX
 * queue (xsk_queue.c), fed by mqcap's XDP program (bpf/xdp_redirect.bpf.c, one per device,
 * shared by every mqcap process that captures queues of it: xdp_prog.c).
 *
 * Receive is zero-copy towards the caller: recv() returns views into the UMEM and release()
 * hands the frames back to the fill ring. Whether the kernel filled the UMEM by copying
 * (every veth, drivers without AF_XDP zero-copy) or by DMA shows in mode_name().
 *
 * Filters run here, in user space, with libpcap's filter machine (filter.c): the XDP program
 * has no tcpdump compiler. A rejected frame is counted in `filtered` and given back with the
 * burst.
 *
 * Timestamps: the program stores bpf_ktime_get_boot_ns() in the frame's metadata; we add the
 * offset CLOCK_REALTIME - CLOCK_BOOTTIME read once per burst, so each packet keeps the time
 * it reached XDP. Frames without metadata get the time of the burst.
 *
 * Link down/up: the BPF link, the XSKMAP entry and the bound socket all survive a link flap
 * (the kernel unbinds AF_XDP sockets only when the device is unregistered), so the capture
 * resumes by itself. recv() reports the flap once: -ENETDOWN "DEV went down ..." when the
 * device loses IFF_UP or carrier, after every packet received before it was delivered; the
 * handle stays usable and the next calls return packets again once the link is up. The
 * reader's fd polls readable on its device's link events (see poll_fd_open), so a caller
 * waiting forever hears of it too. The kernel creates new threaded-NAPI pollers on the way
 * up, so if the queue's poller was pinned to one CPU when the capture opened, it is pinned
 * there again (napi.h). A device that disappears ends the capture: -ENODEV on every later
 * call. So does our program detached by someone else (`bpftool link detach`; plain `ip link
 * set dev X xdp off` and replacing programs are refused while our BPF link holds the device):
 * -ENOLINK, found within PROG_CHECK_NS of the queue going idle, not a silent zero. On veth a few frames at the flap reach the stack without passing the program (the
 * measurement is in docs/kernel-notes.md); only the device's own counters see them.
 *
 * Counters: per queue, kernel_seen = received + filtered + every drop_* + passed_stack once
 * the RX ring is drained (frames still waiting in it are in kernel_seen only). The RX ring
 * is as large as the UMEM (xsk_queue_int.h), so a reader that falls behind shows as
 * drop_fill_empty (every frame waits in the RX ring or is held by the caller), not as
 * drop_ring_full: the kernel runs out of free frames before the ring fills.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mqcap/napi.h"
#include "mqcap/queues.h"
#include "filter_int.h"
#include "holder_int.h"
#include "iface_int.h"
#include "source_int.h"
#include "xdp_prog_int.h"
#include "xdp_redirect.h"
#include "xsk_queue_int.h"

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000 /* <linux/if.h>, which clashes with <net/if.h> */
#endif

#define PEEK_BATCH 64
#define LINK_CHECK_NS 10000000ull  /* look at link events every 10 ms while packets flow */
#define PROG_CHECK_NS 250000000ull /* idle: is our XDP program still attached? every 250 ms */

struct afxdp {
	struct mqcap__xsk *x;
	struct mqcap__filter filter;
	uint32_t snaplen;
	uint64_t received, bytes, filtered;
	/* Link watch (cold: when idle, or every LINK_CHECK_NS). */
	int nl_fd;                 /* rtnetlink, RTMGRP_LINK, our device only, non-blocking */
	int ep_fd;                 /* r->fd: the XSK socket + nl_fd; -1 with busy polling */
	uint64_t next_link_check;  /* CLOCK_MONOTONIC_COARSE ns */
	bool link_down;            /* seen down, waiting for the link to come back */
	bool ev_down, ev_up;       /* seen and not reported yet (link_report) */
	bool gone;                 /* the device was unregistered */
	bool detached;             /* someone detached our XDP program: nothing arrives any more */
	uint64_t next_prog_check;  /* CLOCK_MONOTONIC_COARSE ns, idle only */
	int napi_cpu;              /* CPU the queue's poller was pinned to at open; -1 none */
	/* Setup objects. */
	struct mqcap__xdp_prog *prog;
	bool claimed;              /* the queue is ours in this process: unclaim on close */
	bool bound;                /* our socket is in the program's maps: unbind on close */
	int promisc_fd;
	struct mqcap_xdp_counters base; /* program counters at open: stats are since open */
	char mode[32];
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- link watch --------------------------------------------------------------------- */

/*
 * Subscribe to link events of our device only: a socket filter drops every other device's
 * messages in the kernel, so the socket is readable only when our device changed. Offsets:
 * nlmsg_type at 4, ifi_index at 16 + 4 (after struct nlmsghdr). Classic BPF loads words in
 * network order, hence ntohl()/ntohs() on our side of the comparisons.
 */
static int link_watch_open(struct afxdp *a, unsigned ifindex)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, offsetof(struct nlmsghdr, nlmsg_type)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ntohs(RTM_NEWLINK), 1, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ntohs(RTM_DELLINK), 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 NLMSG_LENGTH(0) + offsetof(struct ifinfomsg, ifi_index)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ntohl(ifindex), 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]), .filter = code };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = -errno;

		close(fd);
		return err;
	}
	a->nl_fd = fd;
	return 0;
}

/*
 * The fd the handle polls: readable when packets wait or our link changed, so a flap is
 * reported when it happens, even to a caller waiting forever. With busy polling the XSK fd
 * itself, because the kernel busy-polls only sockets added directly to the caller's epoll;
 * the link is then checked from recv() (busy pollers call it constantly anyway).
 */
static int poll_fd_open(struct mqcap__reader *r, struct afxdp *a, bool busy_poll,
			struct mqcap__err *e)
{
	struct epoll_event ev = { .events = EPOLLIN };

	if (busy_poll) {
		r->fd = mqcap__xsk_fd(a->x);
		return 0;
	}
	a->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	if (a->ep_fd < 0 ||
	    epoll_ctl(a->ep_fd, EPOLL_CTL_ADD, mqcap__xsk_fd(a->x), &ev) ||
	    epoll_ctl(a->ep_fd, EPOLL_CTL_ADD, a->nl_fd, &ev))
		return mqcap__err_set(e, errno, "%s@%u: epoll: %s", r->dev_name, r->queue,
				      strerror(errno));
	r->fd = a->ep_fd;
	return 0;
}

/* The queue's poller thread, found anew (queues.h); false without threaded NAPI or on
 * failure. */
static bool napi_find(const struct mqcap__reader *r, struct mqcap_napi_thread *out)
{
	/* On the heap: a cpu_set_t each, too much for the stack of a small capture thread. */
	struct mqcap_queue_poller *p = calloc(1, sizeof(*p));
	bool found = p && mqcap_queue_poller(r->dev_name, r->queue, 0, p) == 0 && p->pid > 0;

	if (found)
		*out = (struct mqcap_napi_thread){ .queue = r->queue, .napi_id = p->napi_id,
						   .pid = p->pid, .last_cpu = p->last_cpu,
						   .allowed = p->allowed };
	free(p);
	return found;
}

/* The CPU the queue's poller is pinned to, if exactly one; -1 otherwise or without
 * threaded NAPI. Read after the program is attached: attaching XDP may create NAPI. */
static int napi_pinned_cpu(const struct mqcap__reader *r)
{
	struct mqcap_napi_thread t;

	if (!napi_find(r, &t) || CPU_COUNT(&t.allowed) != 1)
		return -1;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &t.allowed))
			return cpu;
	return -1;
}

/* After a link flap the kernel made new pollers, free to run anywhere: pin ours again. A
 * failure only costs locality, so it is not an error of the capture. */
static void napi_repin(const struct mqcap__reader *r, int cpu)
{
	struct mqcap_napi_thread t;

	if (napi_find(r, &t))
		mqcap_napi_pin(&t, cpu);
}

/* Drain link events for our device into the state: a->gone, a->link_down, and the events
 * still to report (a->ev_down, a->ev_up). When the link came up, pin the new poller at once,
 * whether or not the report can be delivered yet: traffic may already flow through it. */
static void link_poll(struct mqcap__reader *r, struct afxdp *a)
{
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	bool came_up = false;
	ssize_t n;

	while ((n = recv(a->nl_fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			struct ifinfomsg *ifi = NLMSG_DATA(h);
			bool up;

			if ((h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK) ||
			    (unsigned)ifi->ifi_index != r->ifindex)
				continue;
			if (h->nlmsg_type == RTM_DELLINK) {
				a->gone = true;
				continue;
			}
			up = (ifi->ifi_flags & IFF_UP) && (ifi->ifi_flags & IFF_LOWER_UP);
			if (!up && !a->link_down) {
				a->link_down = true;
				a->ev_down = true;
			} else if (up && a->link_down) {
				a->link_down = false;
				a->ev_up = true;
				came_up = true;
			}
		}
	}
	if (came_up && a->napi_cpu >= 0)
		napi_repin(r, a->napi_cpu);
}

/* Report what link_poll() found, once: -ENETDOWN when the link went down, -ENODEV when the
 * device is gone, 0 otherwise; messages in e. */
static int link_report(struct mqcap__reader *r, struct afxdp *a, struct mqcap__err *e)
{
	bool down = a->ev_down, up = a->ev_up;

	if (a->gone)
		return mqcap__err_set(e, ENODEV, "%s disappeared: the capture of queue %u ended",
				      r->dev_name, r->queue);
	a->ev_down = a->ev_up = false;
	if (down && up)
		return mqcap__err_set(e, ENETDOWN,
				      "%s went down and came back up; the capture of queue %u "
				      "resumed", r->dev_name, r->queue);
	if (down)
		return mqcap__err_set(e, ENETDOWN,
				      "%s went down; the capture of queue %u resumes when it is "
				      "up again", r->dev_name, r->queue);
	return 0;
}

/* ---- open / close ------------------------------------------------------------------- */

static void afxdp_close(struct mqcap__reader *r)
{
	struct afxdp *a = r->priv;

	if (!a)
		return;
	/* Stop redirecting first, so no frame is sent to a socket that is going away; unless
	 * the socket may live on in a process we forked (xdp_prog_int.h). */
	if (a->bound)
		mqcap__xdp_prog_unbind(a->prog, r->queue);
	mqcap__xsk_close(a->x);
	if (a->claimed)
		mqcap__xdp_prog_unclaim(a->prog, r->queue);
	mqcap__xdp_prog_put(a->prog);
	mqcap__filter_free(&a->filter);
	if (a->ep_fd >= 0)
		close(a->ep_fd);
	if (a->nl_fd >= 0)
		close(a->nl_fd);
	if (a->promisc_fd >= 0)
		close(a->promisc_fd);
	free(a);
	r->priv = NULL;
	r->fd = -1;
}

static int set_promisc(struct mqcap__reader *r, struct afxdp *a, struct mqcap__err *e)
{
	struct packet_mreq mr = { .mr_ifindex = (int)r->ifindex, .mr_type = PACKET_MR_PROMISC };

	/* A packet socket's membership is counted by the kernel and dropped when the socket
	 * closes, even if we are killed: the device never stays promiscuous because of us.
	 * Protocol 0: the socket itself receives nothing. */
	a->promisc_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (a->promisc_fd < 0 ||
	    setsockopt(a->promisc_fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)))
		return mqcap__err_set(e, errno, "%s: promiscuous mode: %s", r->dev_name,
				      strerror(errno));
	return 0;
}

/*
 * The kernel lets one AF_XDP socket bind to an RX queue: that is what makes a queue one
 * process's. When ours is refused (EBUSY), name the mqcap process that holds the queue
 * (xdp_prog.c records it). When none does, the socket bound there before may be on its way
 * out: a closed socket (its process killed, say) gives the queue back only when the kernel
 * drops its last reference, moments later (the pool leaves the queue in deferred work), so
 * try again for up to BUSY_WAIT_MS before calling the queue busy.
 */
#define BUSY_WAIT_MS 1000
#define BUSY_STEP_MS 10

static int xsk_open_queue(struct mqcap__reader *r, struct afxdp *a,
			  const struct mqcap__xsk_cfg *cfg, struct mqcap__err *e)
{
	for (unsigned waited = 0;; waited += BUSY_STEP_MS) {
		struct timespec step = { 0, BUSY_STEP_MS * 1000000L };
		int err = mqcap__xsk_open(&a->x, r->dev_name, r->queue, cfg, e), pid;
		char comm[32];

		if (err != -EBUSY)
			return err;
		pid = mqcap__xdp_prog_holder(a->prog, r->queue);
		if (pid > 0) {
			mqcap__holder_comm(pid, comm, sizeof(comm));
			return mqcap__err_set(e, EBUSY, "%s@%u is busy: pid %d (%s) captures this "
					      "queue over AF_XDP", r->dev_name, r->queue, pid, comm);
		}
		if (waited >= BUSY_WAIT_MS)
			return err;
		nanosleep(&step, NULL);
	}
}

static int afxdp_open(struct mqcap__reader *r, const struct mqcap_opts *o, struct mqcap__err *e)
{
	struct mqcap__xsk_cfg cfg = { 0 };
	struct mqcap__iface ifc;
	struct afxdp *a;
	int err;

	if (o->direction != MQCAP_DIR_IN)
		return mqcap__err_set(e, EOPNOTSUPP,
				      "%s: the xdp backend sees received frames only; use packet:%s "
				      "for outgoing ones", r->dev_name, r->dev_name);
	err = mqcap__iface_get(r->dev_name, &ifc, e);
	if (err)
		return err;
	r->ifindex = ifc.ifindex;

	a = calloc(1, sizeof(*a));
	if (!a)
		return mqcap__err_set(e, ENOMEM, "out of memory");
	a->nl_fd = -1;
	a->ep_fd = -1;
	a->promisc_fd = -1;
	a->napi_cpu = -1;
	r->priv = a;
	a->snaplen = o->snaplen; /* capture.c has set the default */

	err = mqcap__filter_compile(&a->filter, o->filter, DLT_EN10MB, a->snaplen, e);
	if (err)
		goto fail;
	err = mqcap__xdp_prog_get(r->ifindex, r->dev_name, ifc.driver,
				  o->flags & MQCAP_F_XDP_GENERIC, &a->prog, e);
	if (err)
		goto fail;
	/* a queue the device gained after the program was installed may run none yet */
	err = mqcap__xdp_prog_cover(a->prog, ifc.rx_queues, e);
	if (err)
		goto fail;
	err = mqcap__xdp_prog_claim(a->prog, r->queue, e);
	if (err) {
		struct mqcap__err why = *e;

		mqcap__err_set(e, -err, "%s@%u: %s", r->dev_name, r->queue, why.msg);
		goto fail;
	}
	a->claimed = true;

	cfg.frames = o->ring_frames;
	cfg.zerocopy = o->flags & MQCAP_F_ZEROCOPY;
	cfg.busy_poll = o->flags & MQCAP_F_BUSY_POLL;
	cfg.busy_budget = o->busy_poll_budget;
	err = xsk_open_queue(r, a, &cfg, e);
	if (err)
		goto fail;
	if ((o->flags & MQCAP_F_PROMISC) && (err = set_promisc(r, a, e)))
		goto fail;
	err = link_watch_open(a, r->ifindex);
	if (err) {
		mqcap__err_set(e, -err, "%s: watching link state: %s", r->dev_name,
			       strerror(-err));
		goto fail;
	}
	/* Before binding, so the counters' baseline is the moment redirecting starts. */
	mqcap__xdp_prog_counters(a->prog, r->queue, &a->base);
	err = mqcap__xdp_prog_bind(a->prog, r->queue, mqcap__xsk_fd(a->x), e);
	if (err)
		goto fail;
	a->bound = true;
	a->napi_cpu = napi_pinned_cpu(r);
	snprintf(a->mode, sizeof(a->mode), "xdp (%s%s)",
		 mqcap__xsk_zerocopy(a->x) ? "zero-copy" : "copy",
		 mqcap__xdp_prog_is_generic(a->prog) ? ", generic" : "");
	err = poll_fd_open(r, a, cfg.busy_poll, e);
	if (err)
		goto fail;
	return 0;

fail:
	afxdp_close(r);
	return err;
}

/* ---- receive ------------------------------------------------------------------------ */

static int afxdp_recv(struct mqcap__reader *r, struct mqcap_pkt *pkts, unsigned max,
		      struct mqcap__err *e)
{
	struct afxdp *a = r->priv;
	const bool filter = mqcap__filter_active(&a->filter);
	uint64_t burst_real = 0, boot_to_real = 0, now;
	unsigned n = 0;

	/* A link event found while packets flowed is reported now, after that burst. */
	if (a->gone || a->ev_down)
		return link_report(r, a, e);
	while (n < max) {
		struct mqcap__xsk_frame f[PEEK_BATCH];
		uint32_t want = max - n < PEEK_BATCH ? max - n : PEEK_BATCH;
		uint32_t got = mqcap__xsk_peek(a->x, f, want);

		if (!got)
			break;
		/* Both clocks once per burst: the offset for stamped frames, and the time of the
		 * burst for frames without metadata. */
		if (!burst_real) {
			burst_real = clock_ns(CLOCK_REALTIME);
			boot_to_real = burst_real - clock_ns(CLOCK_BOOTTIME);
		}
		for (uint32_t i = 0; i < got; i++) {
			const struct mqcap_xdp_meta *m = (const void *)(f[i].data - sizeof(*m));
			uint32_t caplen = f[i].len < a->snaplen ? f[i].len : a->snaplen;
			struct mqcap_pkt *p = &pkts[n];

			if (filter && !mqcap__filter_match(&a->filter, f[i].data, caplen, f[i].len)) {
				a->filtered++;
				continue;
			}
			p->data = f[i].data;
			p->caplen = caplen;
			p->len = f[i].len;
			p->ts_ns = m->magic == MQCAP_XDP_META_MAGIC ? m->ts_ns + boot_to_real :
				   burst_real;
			p->queue = (uint16_t)r->queue;
			p->dev = (uint16_t)r->dev;
			p->flags = caplen < f[i].len ? MQCAP_PKT_TRUNCATED : 0;
			a->bytes += f[i].len;
			n++;
		}
		/* The RX ring ran dry: another peek would only re-read the kernel's index. */
		if (got < want)
			break;
	}
	a->received += n;
	now = clock_ns(CLOCK_MONOTONIC_COARSE); /* vDSO, no syscall */
	if (n) {
		/* Under continuous traffic the RX ring is never empty: look at link events on a
		 * timer too, so a flap is seen and the new poller pinned while packets flow. The
		 * report waits for the next call, after the packets of this burst. */
		if (now >= a->next_link_check) {
			a->next_link_check = now + LINK_CHECK_NS;
			link_poll(r, a);
		}
		return (int)n;
	}

	/* Idle: nothing was in the RX ring. */
	mqcap__xsk_kick(a->x);
	/* With the epoll fd, an idle call may be the wakeup for a link event: drain it now, or
	 * the fd stays readable and the caller's epoll spins. With busy polling the caller
	 * spins anyway and the netlink socket is not in its epoll: the timer is enough. */
	if (a->ep_fd >= 0 || now >= a->next_link_check) {
		a->next_link_check = now + LINK_CHECK_NS;
		link_poll(r, a);
	}
	/* A detached program is a silent zero: no packet, no error, no link event. Only an
	 * idle queue can be in that state, so only idle calls look, on a timer. A device that
	 * was deleted detaches the link too: that is link_report()'s ENODEV, not this. */
	if (!a->gone && !a->detached && now >= a->next_prog_check) {
		a->next_prog_check = now + PROG_CHECK_NS;
		if (mqcap__xdp_prog_attached(a->prog) == 0) {
			char name[IF_NAMESIZE];

			if (if_indextoname(r->ifindex, name))
				a->detached = true;
			else
				a->gone = true;
		}
	}
	if (a->detached)
		return mqcap__err_set(e, ENOLINK, "%s: mqcap's XDP program was detached from the "
				      "device by someone else (bpftool link detach?): the capture "
				      "of queue %u ended", r->dev_name, r->queue);
	return link_report(r, a, e);
}

static void afxdp_release(struct mqcap__reader *r)
{
	struct afxdp *a = r->priv;

	mqcap__xsk_release(a->x);
}

/* ---- stats -------------------------------------------------------------------------- */

static int afxdp_stats(struct mqcap__reader *r, struct mqcap_stats *st)
{
	struct afxdp *a = r->priv;
	struct mqcap_xdp_counters c;
	struct xdp_statistics xs;
	int err;

	memset(st, 0, sizeof(*st));
	st->received = a->received;
	st->bytes = a->bytes;
	st->filtered = a->filtered;
	err = mqcap__xdp_prog_counters(a->prog, r->queue, &c);
	if (err)
		return err;
	err = mqcap__xsk_stats(a->x, &xs);
	if (err)
		return err;
	st->kernel_seen = c.seen - a->base.seen;
	st->passed_stack = c.passed - a->base.passed;
	st->drop_no_socket = c.no_socket - a->base.no_socket;
	/* In copy mode a frame the fill ring cannot take counts in both rx_dropped and
	 * rx_fill_ring_empty_descs; rx_dropped's remainder is frames too large for a frame. */
	st->drop_ring_full = xs.rx_ring_full;
	st->drop_fill_empty = xs.rx_fill_ring_empty_descs;
	st->drop_invalid = xs.rx_invalid_descs +
		(xs.rx_dropped > xs.rx_fill_ring_empty_descs ?
		 xs.rx_dropped - xs.rx_fill_ring_empty_descs : 0);
	return 0;
}

static const char *afxdp_mode_name(const struct mqcap__reader *r)
{
	const struct afxdp *a = r->priv;

	return a ? a->mode : "xdp";
}

const struct mqcap__backend mqcap__backend_afxdp = {
	.name = "xdp",
	.open = afxdp_open,
	.recv = afxdp_recv,
	.release = afxdp_release,
	.stats = afxdp_stats,
	.mode_name = afxdp_mode_name,
	.close = afxdp_close,
};
