/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mqsend - a wire-rate traffic generator for mqcap's tests and benchmarks: the paper's
 * workload (64-byte TCP, one source, 4096 rotating destinations), flows over address and
 * port ranges, or a capture file replayed; every generated packet carries the verification
 * payload of include/mqcap/payload.h.
 *
 * main() checks everything (device, sizes, file, queues) and opens every socket before the
 * first packet goes, then runs one sender thread per -t and prints a line a second.
 */
#include <errno.h>
#include <glob.h>
#include <net/if.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mqcap/payload.h>

#include "cli.h"
#include "mqsend.h"

struct run {
	struct mqs_opts o;
	struct mqs_tmpl *tmpl;
	uint32_t nflows;
	struct mqs_file file;
	uint16_t sizes[MQS_SIZES];
	struct mqs_thread th[MQS_MAX_THREADS];
	void *state[MQS_MAX_THREADS];
	_Atomic int go;		/* 0: wait, 1: run, 2: abort (a thread failed to start) */
	uint64_t start_ns;
};

static struct run R;

bool mqs_thread_should_stop(struct mqs_thread *t, uint64_t sent, uint64_t now_ns)
{
	if (cli_stop_requested())
		return true;
	if (t->quota && sent >= t->quota)
		return true;
	return t->deadline_ns && now_ns >= t->deadline_ns;
}

int mqs_thread_fail(struct mqs_thread *t, int err, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(t->errmsg, sizeof(t->errmsg), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(t->errmsg))
		snprintf(t->errmsg + n, sizeof(t->errmsg) - (size_t)n, ": %s", strerror(err));
	t->err = -err;
	return -err;
}

static int dev_info(struct mqs_opts *o)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	char pat[IFNAMSIZ + 48];
	glob_t g;

	if (strlen(o->dev) >= IFNAMSIZ || !(o->ifindex = (int)if_nametoindex(o->dev))) {
		cli_warn("unknown device '%s' (not in this network namespace?)", o->dev);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (fd < 0) {
		cli_warn("socket: %s", strerror(errno));
		return -1;
	}
	strcpy(ifr.ifr_name, o->dev);
	if (ioctl(fd, SIOCGIFMTU, &ifr) < 0) {
		cli_warn("%s: cannot read the MTU: %s", o->dev, strerror(errno));
		close(fd);
		return -1;
	}
	o->mtu = (unsigned)ifr.ifr_mtu;
	if (!o->src_mac_set) {
		if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
			cli_warn("%s: cannot read the MAC address: %s", o->dev, strerror(errno));
			close(fd);
			return -1;
		}
		memcpy(o->src_mac, ifr.ifr_hwaddr.sa_data, 6);
	}
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
		cli_warn("device '%s' is down", o->dev);
		close(fd);
		return -1;
	}
	close(fd);
	if (o->mtu > MQS_FRAME_MAX - 22)
		o->mtu = MQS_FRAME_MAX - 22;
	/* TX queues: sysfs (inside `ip netns exec`, sysfs is the namespace's own). */
	snprintf(pat, sizeof(pat), "/sys/class/net/%s/queues/tx-*", o->dev);
	o->ntxq = 1;
	if (!glob(pat, 0, NULL, &g)) {
		o->ntxq = (unsigned)g.gl_pathc;
		globfree(&g);
	}
	if (o->ntxq > MQS_MAX_QUEUES)
		o->ntxq = MQS_MAX_QUEUES;
	return 0;
}

static uint64_t dev_counter(const char *dev, const char *name)
{
	char path[128];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s", dev, name);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

static int check_sizes(const struct mqs_opts *o)
{
	unsigned min = mqs_hdr_len(o) + MQCAP_PAYLOAD_MIN_LEN + MQS_FCS;
	/* One tag fits above the MTU (as veth and most NICs allow); a second one does not. */
	unsigned max = o->mtu + 14 + (o->nvlan ? 4 : 0) + MQS_FCS;

	if (min < 64)
		min = 64;
	if (o->imix)
		return 0;
	if (o->size_lo < min) {
		cli_warn("frame size %u is below the minimum %u for these headers (%s%s%s, %u-byte "
			 "verification payload, 4-byte FCS included)",
			 o->size_lo, min, o->nvlan ? "VLAN, " : "", o->dst.v6 ? "IPv6" : "IPv4",
			 o->proto == IPPROTO_TCP ? "/TCP" : "/UDP", MQCAP_PAYLOAD_MIN_LEN);
		return -1;
	}
	if (o->size_hi > max) {
		cli_warn("frame size %u is above what %s's MTU %u allows (%u bytes with FCS)",
			 o->size_hi, o->dev, o->mtu, max);
		return -1;
	}
	return 0;
}

/* Which flows and queues each thread gets. */
static int assign(struct run *r)
{
	struct mqs_opts *o = &r->o;
	unsigned T = o->threads;

	if (o->mode == MQS_MODE_XDP && o->rss && T > o->ntxq) {
		cli_warn("%u threads but %s has %u TX queues: with --rss each thread owns whole queues",
			 T, o->dev, o->ntxq);
		return -1;
	}
	if (o->mode == MQS_MODE_XDP && !o->rss && o->queue + T > o->ntxq) {
		cli_warn("TX queues %u-%u asked for, %s has %u (0-%u)", o->queue, o->queue + T - 1,
			 o->dev, o->ntxq, o->ntxq - 1);
		return -1;
	}
	for (unsigned t = 0; t < T; t++) {
		struct mqs_thread *th = &r->th[t];
		uint32_t *flows = NULL;
		uint16_t *socks = NULL;
		uint32_t n = 0, cap;
		bool rss = o->mode == MQS_MODE_XDP && o->rss;

		th->idx = t;
		th->o = o;
		th->cpu = o->ncpus ? o->cpu_list[t % (unsigned)o->ncpus] : -1;
		if (o->count)
			th->quota = o->count / T + (t < o->count % T);
		th->gen.o = o;
		th->gen.sender_id = (uint16_t)(o->sender_id + t);
		th->gen.sizes = r->sizes;
		if (o->mode == MQS_MODE_XDP) {
			if (o->rss) {
				for (unsigned q = t; q < o->ntxq; q += T)
					th->queues[th->nqueues++] = q;
			} else {
				th->queues[th->nqueues++] = o->queue + t;
			}
		}
		if (o->file) {
			th->gen.file = &r->file;
			continue;
		}
		/* With --rss a flow goes where RSS sends it: the thread owning its queue. Without,
		 * flows are dealt round-robin. Either way, count this thread's flows first. */
		cap = rss ? 0 : r->nflows / T + 1;
		for (uint32_t f = 0; rss && f < r->nflows; f++)
			cap += r->tmpl[f].queue % T == t;
		flows = malloc(((size_t)cap + 1) * sizeof(*flows));
		socks = rss ? malloc(((size_t)cap + 1) * sizeof(*socks)) : NULL;
		if (!flows || (rss && !socks)) {
			free(flows);
			free(socks);
			cli_warn("out of memory");
			return -1;
		}
		if (rss) {
			for (uint32_t f = 0; f < r->nflows; f++) {
				if (r->tmpl[f].queue % T != t)
					continue;
				flows[n] = f;
				socks[n] = (uint16_t)(r->tmpl[f].queue / T);
				n++;
			}
			th->gen.flow_sock = socks;
		} else {
			for (uint32_t f = t; f < r->nflows; f += T)
				flows[n++] = f;
		}
		if (!n) {
			cli_warn("thread %u would send no flow (%u flows for %u threads%s)", t, r->nflows,
				 T, o->rss ? ", after RSS placement" : "");
			free(flows);
			free(socks);
			return -1;
		}
		th->gen.flows = flows;
		th->gen.nflows = n;
		th->gen.tmpl = r->tmpl;
		th->gen.seq = calloc(n, sizeof(uint64_t));
		if (!th->gen.seq) {
			cli_warn("out of memory");
			return -1;
		}
	}
	return 0;
}

static void *thread_main(void *arg)
{
	struct mqs_thread *t = arg;
	struct run *r = &R;
	int go;

	while (!(go = atomic_load_explicit(&r->go, memory_order_acquire)))
		usleep(1000);
	if (go != 1) {
		atomic_store_explicit(&t->st.done, true, memory_order_release);
		return NULL;
	}
	mqs_pace_init(&t->pace, t->o, t->o->threads, r->start_ns);
	if (t->o->duration_ms)
		t->deadline_ns = r->start_ns + t->o->duration_ms * 1000000ull;
	if (t->o->mode == MQS_MODE_XDP)
		mqs_tx_xdp_run(t, r->state[t->idx]);
	else
		mqs_tx_packet_run(t, r->state[t->idx]);
	t->st.end_ns = cli_now_ns();
	/* Pairs with the acquire in main's wait loop: end_ns and the counters are final. */
	atomic_store_explicit(&t->st.done, true, memory_order_release);
	return NULL;
}

int main(int argc, char **argv)
{
	struct run *rp = &R;
	struct mqs_opts *o = &rp->o;
	pthread_t tid[MQS_MAX_THREADS];
	uint64_t drop0, last_pk = 0, last_by = 0, t_last, t_end;
	unsigned started = 0;
	bool come_back;
	int rc = 0;

	mqs_opts_parse(argc, argv, o);
	if (dev_info(o))
		return 1;
	if (o->file) {
		if (mqs_file_load(o->file, o->mtu + 14 + 8, &rp->file))
			return 1;
	} else {
		int e;

		if (check_sizes(o))
			return 1;
		if (o->mode == MQS_MODE_XDP && o->rss && !o->rss_table_set &&
		    mqcap_rss_table_fill(o->rss_table, o->ntxq, NULL, 0)) {
			cli_warn("cannot build an RSS table for %u queues", o->ntxq);
			return 1;
		}
		if (o->rss) {
			for (unsigned i = 0; i < MQCAP_RSS_TABLE_SIZE; i++)
				if (o->rss_table[i] >= o->ntxq) {
					cli_warn("--rss-table names queue %u, %s has %u TX queues",
						 o->rss_table[i], o->dev, o->ntxq);
					return 1;
				}
		}
		e = mqs_flows_build(o, &rp->tmpl, &rp->nflows);
		if (e == -E2BIG) {
			cli_warn("more than %u flows: narrow the address or port ranges", MQS_MAX_FLOWS);
			return 1;
		} else if (e) {
			cli_warn("cannot build the flows: %s", strerror(-e));
			return 1;
		}
		mqs_filler_init();
		mqs_sizes_build(o, rp->sizes);
	}
	if (assign(rp))
		return 1;
	/* Every socket opens before the first packet goes. */
	for (unsigned t = 0; t < o->threads; t++) {
		int e = o->mode == MQS_MODE_XDP ? mqs_tx_xdp_setup(&rp->th[t], &rp->state[t])
						: mqs_tx_packet_setup(&rp->th[t], &rp->state[t]);

		if (e) {
			cli_warn("%s: thread %u: %s", o->dev, t, rp->th[t].errmsg);
			rc = 1;
			goto out;
		}
	}
	cli_stop_on_signals();
	for (unsigned t = 0; t < o->threads; t++) {
		pthread_attr_t attr;
		int e;

		pthread_attr_init(&attr);
		if (rp->th[t].cpu >= 0) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(rp->th[t].cpu, &set);
			pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
		}
		e = pthread_create(&tid[t], &attr, thread_main, &rp->th[t]);
		pthread_attr_destroy(&attr);
		if (e) {
			cli_warn("cannot start thread %u: %s", t, strerror(e));
			cli_request_stop();
			break;
		}
		started++;
	}
	if (started < o->threads) {
		atomic_store_explicit(&rp->go, 2, memory_order_release);
		rc = 1;
	}
	come_back = mqs_dev_drops_come_back(o);
	drop0 = dev_counter(o->dev, "tx_dropped");
	rp->start_ns = cli_now_ns();
	t_last = rp->start_ns;
	/* Pairs with the acquire in thread_main: start_ns is set before any thread runs. */
	if (started == o->threads)
		atomic_store_explicit(&rp->go, 1, memory_order_release);
	while (started == o->threads) {
		bool all_done = true;
		uint64_t pk = 0, by = 0, er = 0, now;

		for (unsigned i = 0; i < 10; i++) {
			all_done = true;
			for (unsigned t = 0; t < o->threads; t++)
				if (!atomic_load_explicit(&rp->th[t].st.done, memory_order_acquire))
					all_done = false;
			if (all_done)
				break;
			usleep(100000);
		}
		if (all_done)
			break;
		now = cli_now_ns();
		for (unsigned t = 0; t < o->threads; t++) {
			pk += atomic_load_explicit(&rp->th[t].st.packets, memory_order_relaxed);
			by += atomic_load_explicit(&rp->th[t].st.bytes, memory_order_relaxed);
			er += atomic_load_explicit(&rp->th[t].st.errors, memory_order_relaxed);
		}
		mqs_print_live(o, (now - t_last) / 1e9, pk - last_pk, by - last_by, er);
		last_pk = pk;
		last_by = by;
		t_last = now;
	}
	for (unsigned t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
	t_end = 0;
	for (unsigned t = 0; t < started; t++)
		if (rp->th[t].st.end_ns > t_end)
			t_end = rp->th[t].st.end_ns;
	if (!t_end)
		t_end = cli_now_ns();
	for (unsigned t = 0; t < started; t++) {
		if (rp->th[t].err) {
			cli_warn("%s: thread %u stopped: %s", o->dev, t, rp->th[t].errmsg);
			rc = 1;
		}
	}
	if (started == o->threads)
		mqs_print_summary(o, rp->th, o->threads, (t_end - rp->start_ns) / 1e9,
				  dev_counter(o->dev, "tx_dropped") - drop0, come_back);
out:
	for (unsigned t = 0; t < o->threads; t++) {
		if (o->mode == MQS_MODE_XDP)
			mqs_tx_xdp_close(rp->state[t]);
		else
			mqs_tx_packet_close(rp->state[t]);
		free((void *)rp->th[t].gen.flows);
		free((void *)rp->th[t].gen.flow_sock);
		free(rp->th[t].gen.seq);
	}
	free(rp->tmpl);
	mqs_file_free(&rp->file);
	return rc;
}
