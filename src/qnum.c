/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * qnum.c - how a device numbers its RX queues in skb->queue_mapping, learned from its frames,
 * and the watch on the queues a handle selected. Why the offset needs learning, and the
 * rules that settle it: qnum_int.h.
 *
 * One census program per (process, network namespace, device): every handle of the device
 * (mqcount opens one per worker) shares it, so a frame runs one census whatever the number
 * of handles. Each handle keeps its own baseline of the counts; the list of censuses is the
 * only shared state and is guarded by a mutex (handles live on different threads).
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <linux/capability.h>
#include <sys/syscall.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "iface_int.h"
#include "qnum_int.h"
#include "xdp_log_int.h"
#include "queue_census.h"
#include "queue_census.skel.h"

#define EVIDENCE_MIN 8                 /* frames before a value counts as evidence */
#define SILENT_NS 2000000000ull        /* a selected queue quiet this long ... */
#define SILENT_OTHERS_MIN 64           /* ... while the others received this many: warn */

struct census {
	struct census *next;
	unsigned refs;
	unsigned ifindex, nqueues;
	ino_t netns;
	int fd;                        /* AF_PACKET socket the program is attached to */
	int map_fd;
	struct mqcap_queue_census *skel;
};

static pthread_mutex_t censuses_mu = PTHREAD_MUTEX_INITIALIZER;
static struct census *censuses;  /* guarded by censuses_mu */

struct watch {                       /* one selected queue */
	unsigned q;
	uint64_t quiet_since_ns;     /* last time it received (or the open) */
	uint64_t others;             /* frames of the device's other queues since then */
	bool warned;
};

struct mqcap__qnum {
	char dev[IF_NAMESIZE];
	unsigned nqueues, offset;
	bool settled, checked_once;
	bool unmatched_warned;
	bool resized;                /* the device's RX queue count changed since the open */
	struct census *cs;           /* NULL: no census (cs_err says why) */
	int cs_err;
	unsigned ncpus;
	uint64_t *percpu;            /* a batch read: slots x ncpus */
	__u32 *keys;                 /* a batch read: the slots' keys */
	uint64_t *base, *cur;        /* per slot, summed over CPUs: at the last check, now */
	struct watch *w;
	unsigned nw;
};

static ino_t netns_id(void)
{
	struct stat st;

	return stat("/proc/thread-self/ns/net", &st) ? 0 : st.st_ino;
}

static int census_load(struct census *cs)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int prog_fd, err;

	mqcap__xdp_log_init();   /* libbpf's messages are kept, never printed */
	cs->skel = mqcap_queue_census__open();
	if (!cs->skel)
		return -errno;
	cs->skel->rodata->last_slot = MQCAP_CENSUS_LAST(cs->nqueues);
	err = bpf_map__set_max_entries(cs->skel->maps.census, MQCAP_CENSUS_LAST(cs->nqueues) + 1);
	if (!err)
		err = mqcap_queue_census__load(cs->skel);
	if (err)
		return err < 0 ? err : -EINVAL;
	prog_fd = bpf_program__fd(cs->skel->progs.queue_census);
	cs->map_fd = bpf_map__fd(cs->skel->maps.census);
	/* protocol 0 until bind: nothing is counted before the program is attached */
	cs->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (cs->fd < 0)
		return -errno;
	if (setsockopt(cs->fd, SOL_SOCKET, SO_ATTACH_BPF, &prog_fd, sizeof(prog_fd)))
		return -errno;
	sll.sll_ifindex = (int)cs->ifindex;
	if (bind(cs->fd, (struct sockaddr *)&sll, sizeof(sll)))
		return -errno;
	return 0;
}

static void census_free(struct census *cs)
{
	if (cs->fd >= 0)
		close(cs->fd);
	if (cs->skel)
		mqcap_queue_census__destroy(cs->skel);
	free(cs);
}

/* Whether this process may load the census: CAP_BPF or CAP_SYS_ADMIN in its effective set,
 * or a kernel that lets anyone load socket filters. Asked first, so that a process without
 * them (dumpcap keeps only CAP_NET_RAW and CAP_NET_ADMIN) does not go down libbpf's error
 * path for nothing. Measured with the ASan tree: tshark/dumpcap through mqcap-pcap (the ASan
 * runtime preloaded into uninstrumented programs) hung at exit in p11-kit's freelocale()
 * after our message had called strerror() (glibc's locale lock was left with a negative
 * reader count); neither the load nor strerror() is on that path any more. */
static bool may_load_bpf(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { 0 };
	FILE *f = fopen("/proc/sys/kernel/unprivileged_bpf_disabled", "re");
	int v = 1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = 1;
		fclose(f);
	}
	if (v == 0)
		return true;
	if (syscall(SYS_capget, &h, d))
		return true;   /* cannot tell: let the load say */
	return (d[CAP_BPF / 32].effective & (1u << (CAP_BPF % 32))) ||
	       (d[CAP_SYS_ADMIN / 32].effective & (1u << (CAP_SYS_ADMIN % 32)));
}

/* The shared census of the device, loaded on first use; NULL with -errno in *err. */
static struct census *census_get(unsigned ifindex, unsigned nqueues, int *err)
{
	ino_t ns = netns_id();
	struct census *cs;

	pthread_mutex_lock(&censuses_mu);
	for (cs = censuses; cs; cs = cs->next)
		if (cs->ifindex == ifindex && cs->nqueues == nqueues && cs->netns == ns) {
			cs->refs++;
			pthread_mutex_unlock(&censuses_mu);
			return cs;
		}
	if (!may_load_bpf()) {
		pthread_mutex_unlock(&censuses_mu);
		*err = -EPERM;
		return NULL;
	}
	cs = calloc(1, sizeof(*cs));
	if (!cs) {
		pthread_mutex_unlock(&censuses_mu);
		*err = -ENOMEM;
		return NULL;
	}
	cs->fd = -1;
	cs->ifindex = ifindex;
	cs->nqueues = nqueues;
	cs->netns = ns;
	cs->refs = 1;
	*err = census_load(cs);
	if (*err) {
		census_free(cs);
		cs = NULL;
	} else {
		cs->next = censuses;
		censuses = cs;
	}
	pthread_mutex_unlock(&censuses_mu);
	return cs;
}

static void census_put(struct census *cs)
{
	struct census **pp;

	pthread_mutex_lock(&censuses_mu);
	if (--cs->refs == 0) {
		for (pp = &censuses; *pp; pp = &(*pp)->next)
			if (*pp == cs) {
				*pp = cs->next;
				break;
			}
		census_free(cs);
	}
	pthread_mutex_unlock(&censuses_mu);
}

static unsigned nslots(const struct mqcap__qnum *qn)
{
	return MQCAP_CENSUS_LAST(qn->nqueues) + 1;
}

/* Sum the census over CPUs into qn->cur. */
static int census_read(struct mqcap__qnum *qn)
{
	unsigned n = nslots(qn);
	__u32 count = n, out_batch;
	int err;

	/* one system call for every slot and CPU; the whole array fits one batch, and the
	 * kernel says ENOENT for "nothing after this one" */
	err = bpf_map_lookup_batch(qn->cs->map_fd, NULL, &out_batch, qn->keys, qn->percpu, &count,
				   NULL);
	if (err && errno != ENOENT)
		return -errno;
	for (unsigned s = 0; s < n; s++)
		qn->cur[s] = 0;
	for (__u32 i = 0; i < count; i++)
		if (qn->keys[i] < n)
			for (unsigned c = 0; c < qn->ncpus; c++)
				qn->cur[qn->keys[i]] += qn->percpu[(size_t)i * qn->ncpus + c];
	return 0;
}

int mqcap__qnum_open(struct mqcap__qnum **out, const char *dev, unsigned ifindex,
		     unsigned nqueues, unsigned prior)
{
	struct mqcap__qnum *qn = calloc(1, sizeof(*qn));
	int ncpus;

	if (!qn)
		return -ENOMEM;
	snprintf(qn->dev, sizeof(qn->dev), "%s", dev);
	qn->nqueues = nqueues;
	qn->offset = prior;
	ncpus = libbpf_num_possible_cpus();
	qn->ncpus = ncpus > 0 ? (unsigned)ncpus : 1;
	qn->base = calloc(nslots(qn), sizeof(*qn->base));
	qn->cur = calloc(nslots(qn), sizeof(*qn->cur));
	qn->percpu = calloc((size_t)nslots(qn) * qn->ncpus, sizeof(*qn->percpu));
	qn->keys = calloc(nslots(qn), sizeof(*qn->keys));
	if (!qn->base || !qn->cur || !qn->percpu || !qn->keys) {
		mqcap__qnum_close(qn);
		return -ENOMEM;
	}
	/* one queue: every frame is queue 0 whatever it carries, nothing to learn or watch */
	if (nqueues > 1)
		qn->cs = census_get(ifindex, nqueues, &qn->cs_err);
	*out = qn;
	return 0;
}

int mqcap__qnum_select(struct mqcap__qnum *qn, unsigned q)
{
	struct watch *w = realloc(qn->w, (qn->nw + 1) * sizeof(*w));

	if (!w)
		return -ENOMEM;
	qn->w = w;
	qn->w[qn->nw++] = (struct watch){ .q = q };
	return 0;
}

unsigned mqcap__qnum_offset(const struct mqcap__qnum *qn)
{
	return qn->offset;
}

bool mqcap__qnum_settled(const struct mqcap__qnum *qn)
{
	return qn->settled;
}

/* Whether value v carries a real share of the frames: at least EVIDENCE_MIN of them, and at
 * least 1/8 of an even RSS share. A few frames that reached the device's receive path some
 * other way (a tc redirect, a driver path that forgets to record) do not decide anything. */
static bool share(const struct mqcap__qnum *qn, unsigned v)
{
	uint64_t total = 0;

	for (unsigned s = 0; s < nslots(qn); s++)
		total += qn->cur[s];
	return qn->cur[v] >= EVIDENCE_MIN && qn->cur[v] * 8 * qn->nqueues >= total;
}

/* Which offset the counts so far prove; -1 while they prove nothing. */
static int evidence(const struct mqcap__qnum *qn, bool *settled)
{
	*settled = false;
	if (share(qn, 0)) {
		*settled = true;
		return 0;
	}
	if (share(qn, qn->nqueues))
		return 1;
	return -1;
}

/* The raw values that name no RX queue under offset: 0 when it is 1, and >= nqueues + offset. */
static uint64_t unmatched(const struct mqcap__qnum *qn, const uint64_t *v)
{
	uint64_t n = 0;

	for (unsigned s = 0; s < nslots(qn); s++)
		if (s < qn->offset || s >= qn->nqueues + qn->offset)
			n += v[s];
	return n;
}

/* "0:12 1:40 ..." the frames of each value since the census started (at most len bytes). */
static void values_text(const struct mqcap__qnum *qn, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (unsigned s = 0; s < nslots(qn) && off + 1 < len; s++) {
		uint64_t d = qn->cur[s];
		int k;

		if (!d)
			continue;
		if (s == MQCAP_CENSUS_LAST(qn->nqueues))
			k = snprintf(buf + off, len - off, "%s>%u:%" PRIu64, off ? " " : "",
				     qn->nqueues, d);
		else
			k = snprintf(buf + off, len - off, "%s%u:%" PRIu64, off ? " " : "", s, d);
		if (k < 0 || (size_t)k >= len - off)
			break;
		off += (size_t)k;
	}
}

/*
 * Has the device's RX queue count changed since the open (`ethtool -L`)? The census is sized
 * and read for the count of the open, so its evidence says nothing true about the queues
 * since: frames on a queue the device gained would read as "names no RX queue", a queue it
 * lost as "receives nothing". The runtime's queue watch reports the change itself
 * (mqcap_run_queue_reports()). Asked only before acting on the evidence, so the ioctls stay
 * off the periodic path.
 */
static bool resized(struct mqcap__qnum *qn)
{
	struct mqcap__iface ifc;
	struct mqcap__err e;

	if (!qn->resized && mqcap__iface_get(qn->dev, &ifc, &e) == 0 &&
	    ifc.rx_queues != qn->nqueues)
		qn->resized = true;
	return qn->resized;
}

int mqcap__qnum_check(struct mqcap__qnum *qn, uint64_t now_ns, char *msg, size_t len)
{
	char vals[160];
	uint64_t total = 0;
	bool settled;
	int want, flags = 0;

	if (!qn->checked_once) {
		qn->checked_once = true;
		for (unsigned i = 0; i < qn->nw; i++)
			qn->w[i].quiet_since_ns = now_ns;
		if (!qn->cs && qn->nqueues > 1) {
			/* strerrordesc_np: the text without a locale lookup (see may_load_bpf) */
			snprintf(msg, len, "%s: cannot count its frames by RX queue (%s%s): the "
				 "queue numbering is assumed (queue q is queue_mapping q + %u), "
				 "not checked, and a queue that receives nothing is not reported",
				 qn->dev, strerrordesc_np(-qn->cs_err),
				 qn->cs_err == -EPERM ? ": needs CAP_BPF" : "", qn->offset);
			return MQCAP__QNUM_WARN;
		}
	}
	if (!qn->cs || census_read(qn))
		return 0;
	for (unsigned s = 0; s < nslots(qn); s++)
		total += qn->cur[s] - qn->base[s];
	values_text(qn, vals, sizeof(vals));

	if (!qn->settled) {
		want = evidence(qn, &settled);
		if (want >= 0 && (unsigned)want != qn->offset && !resized(qn)) {
			snprintf(msg, len, "%s numbers its RX queues as queue_mapping q + %d, not "
				 "q + %u as assumed at open: the queues are selected anew (frames "
				 "before this were sorted by the old numbering; frames by "
				 "queue_mapping: %s)",
				 qn->dev, want, qn->offset, vals);
			qn->offset = (unsigned)want;
			flags |= MQCAP__QNUM_RENUMBERED | MQCAP__QNUM_WARN;
		}
		if (want >= 0 && settled) {
			qn->settled = true;
			flags |= MQCAP__QNUM_RENUMBERED;   /* lock the queue checks now */
		}
	}

	if (!(flags & MQCAP__QNUM_WARN) && !qn->unmatched_warned) {
		uint64_t lost = unmatched(qn, qn->cur);

		if (lost >= EVIDENCE_MIN && (qn->settled || qn->offset == 0) && !resized(qn)) {
			snprintf(msg, len, "%s: %" PRIu64 " frames carried a queue_mapping that "
				 "names none of its %u RX queues (queue q is q + %u here; frames by "
				 "queue_mapping: %s): no queue's capture gets them",
				 qn->dev, lost, qn->nqueues, qn->offset, vals);
			qn->unmatched_warned = true;
			flags |= MQCAP__QNUM_WARN;
		}
	}

	for (unsigned i = 0; i < qn->nw; i++) {
		struct watch *w = &qn->w[i];
		unsigned s = w->q + qn->offset;
		uint64_t mine = s < nslots(qn) ? qn->cur[s] - qn->base[s] : 0;

		if (mine) {
			w->quiet_since_ns = now_ns;
			w->others = 0;
			w->warned = false;
			continue;
		}
		w->others += total;
		if (w->warned || flags & MQCAP__QNUM_WARN || w->others < SILENT_OTHERS_MIN ||
		    now_ns - w->quiet_since_ns < SILENT_NS || resized(qn))
			continue;
		snprintf(msg, len, "%s@%u: RX queue %u received nothing for %.1f s while %s "
			 "received %" PRIu64 " frames on its other queues: RSS sends it nothing, or "
			 "the driver numbers its queues otherwise (queue %u is queue_mapping %u; "
			 "frames by queue_mapping: %s)", qn->dev, w->q, w->q,
			 (double)(now_ns - w->quiet_since_ns) / 1e9, qn->dev, w->others, w->q, s,
			 vals);
		w->warned = true;
		flags |= MQCAP__QNUM_WARN;
	}
	memcpy(qn->base, qn->cur, nslots(qn) * sizeof(*qn->base));
	return flags;
}

void mqcap__qnum_close(struct mqcap__qnum *qn)
{
	if (!qn)
		return;
	if (qn->cs)
		census_put(qn->cs);
	free(qn->percpu);
	free(qn->keys);
	free(qn->base);
	free(qn->cur);
	free(qn->w);
	free(qn);
}
