/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * capture.c - the capture handle: a name becomes a set of queue readers, one per selected
 * (device, RX queue), all served by one backend; burst receive round robin over them, one
 * epoll set over their fds plus an eventfd for mqcap_wake().
 *
 * One handle, one thread: nothing here locks. Only mqcap_wake() touches the handle from
 * another thread, and it only writes the eventfd.
 */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "devname_int.h"
#include "filter_int.h"
#include "backend_choice_int.h"
#include "capture_int.h"
#include "iface_int.h"
#include "qnum_int.h"
#include "source_int.h"

#define WAKE_TAG UINT32_MAX
#define QNUM_CHECK_MS 250   /* how often the queue numbering and silent queues are checked */

struct mqcap {
	struct mqcap__err err;
	const struct mqcap__backend *be;
	struct mqcap__choice choice; /* why this backend (backend_choice.c) */
	struct mqcap__reader *readers;
	unsigned nreaders;
	unsigned rr;              /* reader that goes first in the next burst */
	int epfd, evfd;
	bool offline;
	int pending_err;          /* a reader's error held back because its burst had packets */
	struct mqcap__err pending_msg;
	struct mqcap__qnum *qnum[MQCAP__MAX_DEVS]; /* packet: by reader dev index (qnum.c) */
	unsigned nqnum;
	unsigned qnum_calls;
	int64_t next_qnum_ms;
	unsigned nwarnings;       /* mqcap_warnings() */
	char warning[MQCAP__ERRLEN];
	struct mqcap_opts opts;
	char filter[];            /* opts.filter points here */
};

static void readers_close(struct mqcap *c)
{
	for (unsigned i = 0; i < c->nreaders; i++) {
		struct mqcap__reader *r = &c->readers[i];

		if (r->priv) {
			r->be->close(r);
			r->priv = NULL;
		}
		r->fd = -1;
	}
}

static void handle_free(struct mqcap *c)
{
	for (unsigned d = 0; d < c->nqnum; d++)
		mqcap__qnum_close(c->qnum[d]);
	readers_close(c);
	if (c->offline && c->readers)
		free((char *)c->readers[0].path);
	if (c->epfd >= 0)
		close(c->epfd);
	if (c->evfd >= 0)
		close(c->evfd);
	free(c->readers);
	free(c);
}

/* Open every reader with be; on failure close those already open. */
static int readers_open(struct mqcap *c, const struct mqcap__backend *be)
{
	for (unsigned i = 0; i < c->nreaders; i++) {
		struct mqcap__reader *r = &c->readers[i];
		int err;

		r->be = be;
		r->fd = -1;
		r->priv = NULL;
		err = be->open(r, &c->opts, &c->err);
		if (err) {
			r->priv = NULL; /* the backend cleaned up after itself */
			readers_close(c);
			return err;
		}
	}
	c->be = be;
	return 0;
}

/* The queues a parsed name selects, in name order, after checking that they exist: a new
 * array in *out (free it), the count in *n. */
static int name_queues(struct mqcap *c, const struct mqcap__capname *cn, struct mqcap__qsel **out,
		       unsigned *n)
{
	unsigned total = 0, k = 0;
	struct mqcap__iface ifc[MQCAP__MAX_DEVS];
	struct mqcap__qsel *qs;
	int err;

	for (unsigned d = 0; d < cn->ndevs; d++) {
		const struct mqcap__devspec *ds = &cn->devs[d];

		err = mqcap__iface_get(ds->name, &ifc[d], &c->err);
		if (err)
			return err;
		if (!ds->all_queues) {
			unsigned maxq = mqcap__devspec_max_queue(ds);

			/* name the first missing queue, not only the largest */
			for (unsigned q = 0; q <= maxq; q++)
				if (mqcap__devspec_has(ds, q)) {
					err = mqcap__iface_check_queue(ds->name, &ifc[d], q, &c->err);
					if (err)
						return err;
				}
		}
		total += ds->all_queues ? ifc[d].rx_queues : ds->nqueues;
	}
	qs = calloc(total ? total : 1, sizeof(*qs));
	if (!qs)
		return mqcap__err_set(&c->err, ENOMEM, "out of memory");
	for (unsigned d = 0; d < cn->ndevs; d++)
		for (unsigned q = 0; q < ifc[d].rx_queues; q++) {
			if (!mqcap__devspec_has(&cn->devs[d], q))
				continue;
			snprintf(qs[k].dev, sizeof(qs[k].dev), "%s", cn->devs[d].name);
			qs[k++].queue = q;
		}
	*out = qs;
	*n = k;
	return 0;
}

/* One reader per given queue, in the given order, after checking that they exist (each
 * device looked up once). */
static int readers_plan(struct mqcap *c, const struct mqcap__qsel *qs, unsigned n)
{
	struct mqcap__iface *ifc = calloc(n ? n : 1, sizeof(*ifc)); /* by device index */
	unsigned ndev = 0;
	int err = 0;

	c->readers = calloc(n ? n : 1, sizeof(*c->readers));
	if (!c->readers || !ifc) {
		free(ifc);
		return mqcap__err_set(&c->err, ENOMEM, "out of memory");
	}
	for (unsigned i = 0; i < n && !err; i++) {
		struct mqcap__reader *r = &c->readers[i];
		unsigned j;

		for (j = 0; j < i; j++)
			if (!strcmp(c->readers[j].dev_name, qs[i].dev))
				break;
		if (j == i) { /* the device's first queue: look it up */
			err = mqcap__iface_get(qs[i].dev, &ifc[ndev], &c->err);
			if (err)
				break;
			r->dev = ndev++;
			r->first_of_dev = true;
		} else {
			r->dev = c->readers[j].dev;
		}
		for (j = 0; j < i && !err; j++)
			if (c->readers[j].dev == r->dev && c->readers[j].queue == qs[i].queue)
				err = mqcap__err_set(&c->err, EINVAL, "%s@%u selected twice", qs[i].dev,
						     qs[i].queue);
		if (!err)
			err = mqcap__iface_check_queue(qs[i].dev, &ifc[r->dev], qs[i].queue, &c->err);
		snprintf(r->dev_name, sizeof(r->dev_name), "%s", qs[i].dev);
		r->ifindex = ifc[r->dev].ifindex;
		r->queue = qs[i].queue;
		r->fd = -1;
		c->nreaders = i + 1;
	}
	free(ifc);
	return err;
}

static int open_offline(struct mqcap *c, const struct mqcap__capname *cn)
{
	struct mqcap__reader *r;
	const char *base = strrchr(cn->path, '/');
	char *path = strdup(cn->path);

	c->readers = calloc(1, sizeof(*c->readers));
	if (!c->readers || !path) {
		free(path);
		return mqcap__err_set(&c->err, ENOMEM, "out of memory");
	}
	c->nreaders = 1;
	c->offline = true;
	r = &c->readers[0];
	/* the basename, cut to what a device name can hold */
	snprintf(r->dev_name, sizeof(r->dev_name), "%.15s", base ? base + 1 : cn->path);
	r->path = path;
	r->first_of_dev = true;
	return readers_open(c, &mqcap__backend_pcap);
}

static int opts_copy(struct mqcap *c, const struct mqcap_opts *opts)
{
	if (opts) {
		if (opts->sz < offsetof(struct mqcap_opts, backend))
			return mqcap__err_set(&c->err, EINVAL, "mqcap_opts.sz is %zu: initialise "
					      "options with MQCAP_OPTS()", opts->sz);
		/* a newer caller's struct may be longer: read what we know */
		memcpy(&c->opts, opts, opts->sz < sizeof(c->opts) ? opts->sz : sizeof(c->opts));
	}
	c->opts.sz = sizeof(c->opts);
	if ((unsigned)c->opts.backend > MQCAP_BACKEND_PCAP)
		return mqcap__err_set(&c->err, EINVAL, "unknown backend %d", (int)c->opts.backend);
	if ((unsigned)c->opts.direction > MQCAP_DIR_INOUT)
		return mqcap__err_set(&c->err, EINVAL, "unknown direction %d",
				      (int)c->opts.direction);
	if (!c->opts.snaplen)
		c->opts.snaplen = MQCAP_SNAPLEN_DEFAULT;
	if (c->opts.snaplen < 64)
		return mqcap__err_set(&c->err, EINVAL, "snaplen %u is below 64 bytes",
				      c->opts.snaplen);
	return 0;
}

static int epoll_setup(struct mqcap *c)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = WAKE_TAG };

	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	c->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->epfd < 0 || c->evfd < 0 || epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->evfd, &ev))
		return mqcap__err_set(&c->err, errno, "epoll set: %s", strerror(errno));
	for (unsigned i = 0; i < c->nreaders; i++) {
		if (c->readers[i].fd < 0)
			continue;
		ev.data.u32 = i;
		if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->readers[i].fd, &ev))
			return mqcap__err_set(&c->err, errno, "epoll_ctl: %s", strerror(errno));
	}
	return 0;
}

/* A handle without readers: options copied, the filter compiled once to check it. */
static int handle_new(const struct mqcap_opts *opts, struct mqcap **out)
{
	const char *expr = opts && opts->sz > offsetof(struct mqcap_opts, filter) ?
			   opts->filter : NULL;
	size_t flen = expr ? strlen(expr) + 1 : 1;
	struct mqcap__filter f;
	struct mqcap *c;
	int err;

	*out = c = calloc(1, sizeof(*c) + flen);
	if (!c) {
		errno = ENOMEM;
		mqcap__last_error_set(&(struct mqcap__err){ "out of memory" });
		return -ENOMEM;
	}
	c->epfd = c->evfd = -1;
	err = opts_copy(c, opts);
	if (err)
		return err;
	if (expr)
		memcpy(c->filter, expr, flen);
	c->opts.filter = c->filter[0] ? c->filter : NULL;

	/* a filter that does not compile fails before anything is opened */
	err = mqcap__filter_compile(&f, c->opts.filter, DLT_EN10MB, c->opts.snaplen, &c->err);
	if (err)
		return err;
	mqcap__filter_free(&f);
	return 0;
}

/*
 * Each queue's ring size from the budget (mqcap.h says why), unless the caller gave one.
 * xdp rounds down to a power of two of 4 KiB frames so that the UMEM stays within the share.
 */
#define PACKET_RING_QUEUE_MAX (4u << 20)
#define XSK_FRAME_BYTES 4096u

static int ring_budget(struct mqcap *c)
{
	uint64_t budget = c->opts.mem_budget ? c->opts.mem_budget : MQCAP_MEM_BUDGET_DEFAULT;
	uint64_t share = budget / c->nreaders;
	uint32_t frames = 1;

	if (share < MQCAP_RING_QUEUE_MIN) {
		if (c->opts.mem_budget && !(c->opts.ring_frames && c->opts.ring_bytes))
			return mqcap__err_set(&c->err, EINVAL, "mem_budget of %llu KiB gives each "
					      "of %u queues less than the %u KiB minimum: raise "
					      "it, or capture fewer queues",
					      (unsigned long long)(budget >> 10), c->nreaders,
					      MQCAP_RING_QUEUE_MIN >> 10);
		share = MQCAP_RING_QUEUE_MIN;
	}
	if (!c->opts.ring_bytes)
		c->opts.ring_bytes = (uint32_t)(share < PACKET_RING_QUEUE_MAX ? share :
						PACKET_RING_QUEUE_MAX);
	if (!c->opts.ring_frames) {
		uint64_t want = (share < MQCAP_RING_QUEUE_MAX ? share : MQCAP_RING_QUEUE_MAX) /
				XSK_FRAME_BYTES;

		while ((uint64_t)frames * 2 <= want)
			frames *= 2;
		c->opts.ring_frames = frames;
	}
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* packet: one queue numbering per device, fed by the device's frames (qnum.c), watching the
 * queues this handle reads. */
static int qnum_open(struct mqcap *c)
{
	for (unsigned i = 0; i < c->nreaders; i++) {
		const struct mqcap__reader *r = &c->readers[i];
		struct mqcap__iface ifc;
		int err;

		if (r->first_of_dev) {
			if (r->dev >= MQCAP__MAX_DEVS)
				return mqcap__err_set(&c->err, EINVAL, "more than %d devices in one "
						      "handle", MQCAP__MAX_DEVS);
			err = mqcap__iface_get(r->dev_name, &ifc, &c->err);
			if (!err)
				err = mqcap__qnum_open(&c->qnum[r->dev], r->dev_name, ifc.ifindex,
						       ifc.rx_queues, ifc.queue_mapping_bias);
			if (err)
				return err == -ENOMEM ? mqcap__err_set(&c->err, ENOMEM,
								       "out of memory") : err;
			if (r->dev + 1 > c->nqnum)
				c->nqnum = r->dev + 1;
		}
		if (r->dev < c->nqnum && c->qnum[r->dev] &&
		    mqcap__qnum_select(c->qnum[r->dev], r->queue))
			return mqcap__err_set(&c->err, ENOMEM, "out of memory");
	}
	return 0;
}

static void warn(struct mqcap *c, const char *msg)
{
	c->nwarnings++;
	snprintf(c->warning, sizeof(c->warning), "%s", msg);
}

/* Every QNUM_CHECK_MS: read each device's census, rebuild the queue checks when the numbering
 * turned out otherwise, keep what it says for mqcap_warnings(). idle: the last poll found
 * nothing (the clock is read then; under traffic every 64th burst). */
static void qnum_tick(struct mqcap *c, bool idle)
{
	int64_t now;

	if (!c->nqnum || (!idle && (++c->qnum_calls & 63)))
		return;
	now = now_ms();
	if (now < c->next_qnum_ms)
		return;
	c->next_qnum_ms = now + QNUM_CHECK_MS;
	for (unsigned d = 0; d < c->nqnum; d++) {
		struct mqcap__qnum *qn = c->qnum[d];
		char msg[MQCAP__ERRLEN];
		int f;

		if (!qn)
			continue;
		f = mqcap__qnum_check(qn, (uint64_t)now * 1000000ull, msg, sizeof(msg));
		if (f & MQCAP__QNUM_WARN)
			warn(c, msg);
		if (!(f & MQCAP__QNUM_RENUMBERED))
			continue;
		for (unsigned i = 0; i < c->nreaders; i++) {
			struct mqcap__reader *r = &c->readers[i];
			struct mqcap__err e = { 0 };

			if (r->dev != d || !r->priv || !r->be->renumber)
				continue;
			if (r->be->renumber(r, mqcap__qnum_offset(qn), mqcap__qnum_settled(qn), &e))
				warn(c, e.msg);
		}
	}
}

/* Open the planned readers of cn's devices with the backend wanted (or chosen, for auto), then
 * the epoll set. */
static int open_live(struct mqcap *c, const struct mqcap__capname *cn, enum mqcap_backend want)
{
	int err = ring_budget(c);

	if (err)
		return err;
	/* auto: AF_XDP only where it takes nothing from the host */
	mqcap__backend_choose(cn, want, &c->choice);
	if (c->choice.backend == MQCAP_BACKEND_PACKET) {
		err = readers_open(c, &mqcap__backend_afpacket);
	} else {
		err = readers_open(c, &mqcap__backend_afxdp);
		/* auto never fails where AF_PACKET works: whatever kept AF_XDP away (no
		 * native XDP, a queue another process captures, a privilege), try AF_PACKET;
		 * its own error is the answer if that fails too */
		if (err && want == MQCAP_BACKEND_AUTO) {
			mqcap__backend_fallback(&c->choice, err, c->err.msg);
			err = readers_open(c, &mqcap__backend_afpacket);
		}
	}
	if (!err && c->be == &mqcap__backend_afpacket)
		err = qnum_open(c);
	return err ? err : epoll_setup(c);
}

static mqcap_t *open_failed(struct mqcap *c, int err)
{
	if (c) {
		mqcap__last_error_set(&c->err);
		handle_free(c);
	}
	errno = -err;
	return NULL;
}

mqcap_t *mqcap_open(const char *name, const struct mqcap_opts *opts)
{
	struct mqcap__capname *cn = NULL;
	struct mqcap__qsel *qs = NULL;
	enum mqcap_backend want;
	struct mqcap *c;
	unsigned nq = 0;
	int err;

	err = handle_new(opts, &c);
	if (err)
		goto fail;
	cn = malloc(sizeof(*cn));
	if (!cn) {
		err = mqcap__err_set(&c->err, ENOMEM, "out of memory");
		goto fail;
	}
	/* backend pcap without a prefix: the name is the file */
	if (c->opts.backend == MQCAP_BACKEND_PCAP && name && !strchr(name, ':'))
		err = mqcap__capname_file(name, cn, &c->err);
	else
		err = mqcap__capname_parse(name, cn, &c->err);
	if (err)
		goto fail;
	want = cn->backend != MQCAP_BACKEND_AUTO ? cn->backend : c->opts.backend;

	if (want == MQCAP_BACKEND_PCAP) {
		c->choice.backend = MQCAP_BACKEND_PCAP;
		snprintf(c->choice.reason, sizeof(c->choice.reason), "a file: pcap");
		err = open_offline(c, cn);
		if (!err)
			err = epoll_setup(c);
	} else {
		err = name_queues(c, cn, &qs, &nq);
		if (!err)
			err = readers_plan(c, qs, nq);
		if (!err)
			err = open_live(c, cn, want);
	}
	if (err)
		goto fail;
	free(cn);
	free(qs);
	return c;
fail:
	free(cn);
	free(qs);
	return open_failed(c, err);
}

mqcap_t *mqcap__open_queues(const struct mqcap__qsel *qs, unsigned n, enum mqcap_backend backend,
			    const struct mqcap_opts *opts)
{
	enum mqcap_backend want = backend;
	struct mqcap__capname *cn = NULL;
	struct mqcap *c;
	int err = handle_new(opts, &c);

	if (!err && want == MQCAP_BACKEND_AUTO)
		want = c->opts.backend;
	if (!err && (want == MQCAP_BACKEND_PCAP || (unsigned)want > MQCAP_BACKEND_PCAP))
		err = mqcap__err_set(&c->err, EINVAL, "backend %d reads a file, not queues", (int)want);
	if (!err && !n)
		err = mqcap__err_set(&c->err, EINVAL, "no queues to open");
	if (!err)
		err = readers_plan(c, qs, n);
	/* the backend choice looks at the devices, as a name would list them */
	if (!err && !(cn = calloc(1, sizeof(*cn))))
		err = mqcap__err_set(&c->err, ENOMEM, "out of memory");
	for (unsigned i = 0; !err && i < c->nreaders; i++) {
		const struct mqcap__reader *r = &c->readers[i];

		if (!r->first_of_dev)
			continue;
		if (cn->ndevs == MQCAP__MAX_DEVS) {
			err = mqcap__err_set(&c->err, EINVAL, "more than %d devices in one handle",
					     MQCAP__MAX_DEVS);
			break;
		}
		snprintf(cn->devs[cn->ndevs].name, sizeof(cn->devs[0].name), "%s", r->dev_name);
		cn->ndevs++;
	}
	if (!err)
		cn->backend = backend;
	if (!err)
		err = open_live(c, cn, want);
	free(cn);
	if (err)
		return open_failed(c, err);
	return c;
}

int mqcap__add_queues(mqcap_t *c, const struct mqcap__qsel *qs, unsigned n)
{
	unsigned old = c->nreaders, ndev = 0;
	struct mqcap__reader *rs;
	int err = 0;

	if (c->offline)
		return mqcap__err_set(&c->err, EINVAL, "a file has no queues to add");
	if (!n)
		return 0;
	for (unsigned i = 0; i < old; i++)
		if (c->readers[i].dev >= ndev)
			ndev = c->readers[i].dev + 1;
	rs = realloc(c->readers, (old + n) * sizeof(*rs));
	if (!rs)
		return mqcap__err_set(&c->err, ENOMEM, "out of memory");
	c->readers = rs;
	memset(rs + old, 0, n * sizeof(*rs));
	for (unsigned i = 0; i < n && !err; i++) {
		struct mqcap__reader *r = &rs[old + i];
		struct mqcap__iface ifc;
		unsigned j;

		for (j = 0; j < old + i; j++)
			if (!strcmp(rs[j].dev_name, qs[i].dev))
				break;
		for (unsigned k = j; k < old + i && !err; k++)
			if (!strcmp(rs[k].dev_name, qs[i].dev) && rs[k].queue == qs[i].queue)
				err = mqcap__err_set(&c->err, EINVAL, "%s@%u is read already",
						     qs[i].dev, qs[i].queue);
		if (!err)
			err = mqcap__iface_get(qs[i].dev, &ifc, &c->err);
		if (!err)
			err = mqcap__iface_check_queue(qs[i].dev, &ifc, qs[i].queue, &c->err);
		if (err)
			break;
		snprintf(r->dev_name, sizeof(r->dev_name), "%s", qs[i].dev);
		r->ifindex = ifc.ifindex;
		r->queue = qs[i].queue;
		/* A device new to this handle: outgoing frames are reported by the handles
		 * that had it from the start, so this reader is never the device's first. */
		r->dev = j < old + i ? rs[j].dev : ndev++;
		r->be = c->be;
		r->fd = -1;
		err = c->be->open(r, &c->opts, &c->err);
		if (err) {
			r->priv = NULL; /* the backend cleaned up after itself */
			break;
		}
		c->nreaders = old + i + 1;
		if (r->fd >= 0) {
			struct epoll_event ev = { .events = EPOLLIN, .data.u32 = old + i };

			if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, r->fd, &ev))
				err = mqcap__err_set(&c->err, errno, "epoll_ctl: %s",
						     strerror(errno));
		}
	}
	if (err) {
		/* back to the handle as it was: close what was added */
		for (unsigned i = old; i < c->nreaders; i++) {
			struct mqcap__reader *r = &c->readers[i];

			if (r->fd >= 0)
				epoll_ctl(c->epfd, EPOLL_CTL_DEL, r->fd, NULL);
			if (r->priv)
				r->be->close(r);
			r->priv = NULL;
		}
		c->nreaders = old;
	}
	return err;
}

static void release_all(struct mqcap *c)
{
	for (unsigned i = 0; i < c->nreaders; i++)
		if (c->readers[i].priv)
			c->be->release(&c->readers[i]);
}

void mqcap_release(mqcap_t *c)
{
	release_all(c);
}

/*
 * Two passes over the readers, starting at c->rr. A reader with more waiting cannot starve
 * the others: the first pass gives each its share of max, the second fills what is left, and
 * the starting reader rotates every burst. The second pass runs only when some reader filled
 * its share: the others were drained, and asking them again is wasted work.
 */
static int poll_readers(struct mqcap *c, struct mqcap_pkt *pkts, unsigned max)
{
	unsigned n = 0, quota = max / c->nreaders ? max / c->nreaders : 1;
	unsigned live = 0;
	bool more = true;

	if (c->pending_err) {
		int err = c->pending_err;

		/* Reported once, like the backend would have: some errors (xdp's ENETDOWN) are
		 * one-shot reports that the backend does not repeat. */
		c->pending_err = 0;
		c->err = c->pending_msg;
		return err;
	}
	for (int pass = 0; pass < 2 && n < max && more; pass++) {
		more = false;
		for (unsigned k = 0; k < c->nreaders && n < max; k++) {
			unsigned i = (c->rr + k) % c->nreaders, want = max - n;
			struct mqcap__reader *r = &c->readers[i];
			int rc;

			if (r->eof)
				continue;
			if (pass == 0 && want > quota)
				want = quota;
			rc = c->be->recv(r, pkts + n, want, &c->err);
			if (rc == -ENODATA) {
				r->eof = true;
				continue;
			}
			if (rc < 0) {
				if (!n)
					return rc;
				/* Deliver what we have; the error comes with the next call. */
				c->pending_err = rc;
				c->pending_msg = c->err;
				return (int)n;
			}
			n += (unsigned)rc;
			more |= (unsigned)rc == want;
		}
	}
	c->rr = (c->rr + 1) % c->nreaders;
	if (n)
		return (int)n;
	for (unsigned i = 0; i < c->nreaders; i++)
		live += !c->readers[i].eof;
	if (!live) {
		if (c->offline)
			return -ENODATA; /* the pcap backend left its message in c->err */
		return mqcap__err_set(&c->err, ENODATA, "no queue left to read");
	}
	return 0;
}

/* An EPOLLERR on a reader: the socket's pending error, e.g. ENETDOWN when the link went down. */
static int reader_error(struct mqcap *c, unsigned i)
{
	struct mqcap__reader *r = &c->readers[i];
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	char name[IF_NAMESIZE];

	if (getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) || !soerr)
		return 0;
	/* AF_PACKET says ENETDOWN for a device that was unregistered as well as for one that
	 * went down; only the first ends the capture (the socket is unhooked for good), so
	 * tell them apart by asking whether the ifindex still names a device. */
	if (soerr == ENETDOWN && r->ifindex && !if_indextoname(r->ifindex, name) && errno == ENXIO)
		soerr = ENODEV;
	if (soerr == ENETDOWN)
		return mqcap__err_set(&c->err, ENETDOWN, "%s went down (queue %u)", r->dev_name,
				      r->queue);
	if (soerr == ENODEV)
		return mqcap__err_set(&c->err, ENODEV, "%s disappeared: the capture of queue %u "
				      "ended", r->dev_name, r->queue);
	return mqcap__err_set(&c->err, soerr, "%s@%u: %s", r->dev_name, r->queue,
			      strerror(soerr));
}

int mqcap_recv_burst(mqcap_t *c, struct mqcap_pkt *pkts, unsigned max, int timeout_ms)
{
	int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;

	if (!max)
		return 0;
	for (;;) {
		struct epoll_event evs[16];
		int n, wait_ms, ne;

		/* Every pass starts by giving back what is held: the last burst's views, and
		 * blocks walked without yielding a packet (all rejected by a user-space filter).
		 * A TPACKET socket polls readable while the block before the kernel's current one
		 * is ours, so holding such a block would turn epoll_wait into a spin. */
		release_all(c);
		n = poll_readers(c, pkts, max);
		qnum_tick(c, n == 0);

		if (n != 0 || timeout_ms == 0)
			return n;
		wait_ms = timeout_ms;
		if (timeout_ms > 0) {
			int64_t left = deadline - now_ms();

			if (left <= 0)
				return 0;
			wait_ms = left > INT_MAX ? INT_MAX : (int)left;
		}
		/* an idle handle still checks its queues (a silent one is the point) */
		if (c->nqnum && (wait_ms < 0 || wait_ms > QNUM_CHECK_MS))
			wait_ms = QNUM_CHECK_MS;
		ne = epoll_wait(c->epfd, evs, 16, wait_ms);
		if (ne < 0) {
			if (errno == EINTR)
				return 0; /* a signal: let the caller look at its flags */
			return mqcap__err_set(&c->err, errno, "epoll_wait: %s", strerror(errno));
		}
		for (int k = 0; k < ne; k++) {
			if (evs[k].data.u32 == WAKE_TAG) {
				uint64_t v;

				if (read(c->evfd, &v, sizeof(v)) < 0) {
					/* nothing to do: EAGAIN means another wake raced us */
				}
				return 0;
			}
			if (evs[k].events & EPOLLERR) {
				int err = reader_error(c, evs[k].data.u32);

				if (err)
					return err;
			}
		}
	}
}

int mqcap_stats(mqcap_t *c, struct mqcap_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (unsigned i = 0; i < c->nreaders; i++) {
		struct mqcap_stats q;
		int err = mqcap_queue_stats(c, i, &q);

		if (err)
			return err;
		st->received += q.received;
		st->bytes += q.bytes;
		st->filtered += q.filtered;
		st->kernel_seen += q.kernel_seen;
		st->drop_ring_full += q.drop_ring_full;
		st->drop_fill_empty += q.drop_fill_empty;
		st->drop_no_socket += q.drop_no_socket;
		st->drop_invalid += q.drop_invalid;
		st->passed_stack += q.passed_stack;
	}
	return 0;
}

int mqcap_queue_stats(mqcap_t *c, unsigned i, struct mqcap_stats *st)
{
	int err;

	if (i >= c->nreaders)
		return mqcap__err_set(&c->err, EINVAL, "queue index %u: the handle has %u queues",
				      i, c->nreaders);
	memset(st, 0, sizeof(*st));
	err = c->be->stats(&c->readers[i], st);
	if (err)
		return mqcap__err_set(&c->err, -err, "%s@%u: reading counters: %s",
				      c->readers[i].dev_name, c->readers[i].queue, strerror(-err));
	return 0;
}

unsigned mqcap_queue_count(const mqcap_t *c)
{
	return c->nreaders;
}

int mqcap_queue_info(const mqcap_t *c, unsigned i, struct mqcap_queue_info *info)
{
	const struct mqcap__reader *r;

	if (i >= c->nreaders)
		return -EINVAL;
	r = &c->readers[i];
	memset(info, 0, sizeof(*info));
	snprintf(info->dev_name, sizeof(info->dev_name), "%s", r->dev_name);
	info->ifindex = r->ifindex;
	info->queue = r->queue;
	info->dev = r->dev;
	return 0;
}

const char *mqcap_backend_name(const mqcap_t *c)
{
	const char *n = NULL;

	if (c->be->mode_name && c->nreaders)
		n = c->be->mode_name(&c->readers[0]);
	return n ? n : c->be->name;
}

const char *mqcap_backend_reason(const mqcap_t *c)
{
	return c->choice.reason;
}

const char *mqcap_stack_warning(const mqcap_t *c)
{
	return c->choice.takes_from_stack ? c->choice.warning : NULL;
}

int mqcap_fd(const mqcap_t *c)
{
	return c->epfd;
}

void mqcap_wake(mqcap_t *c)
{
	uint64_t one = 1;

	if (write(c->evfd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is saturated, a wake is pending anyway */
	}
}

unsigned mqcap_warnings(const mqcap_t *c, char *buf, size_t len)
{
	if (buf && len)
		snprintf(buf, len, "%s", c->warning);
	return c->nwarnings;
}

const char *mqcap_errmsg(const mqcap_t *c)
{
	return c->err.msg[0] ? c->err.msg : "no error";
}

void mqcap_close(mqcap_t *c)
{
	if (!c)
		return;
	handle_free(c);
}
