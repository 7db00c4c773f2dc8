/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * queues.c - RX queues and their pollers (include/mqcap/queues.h): the kernel's netdev netlink
 * family first (netdev_nl.c), the /proc and sysfs heuristics of napi.c and /proc/interrupts
 * only where it does not answer, each answer labelled with its source.
 */
#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqcap/mqcap.h"
#include "mqcap/napi.h"
#include "mqcap/queues.h"
#include "error_int.h"
#include "iface_int.h"
#include "irq_int.h"
#include "netdev_nl_int.h"

const char *mqcap_qsrc_name(enum mqcap_qsrc s)
{
	switch (s) {
	case MQCAP_QSRC_NETLINK:
		return "netlink";
	case MQCAP_QSRC_NETLINK_RANK:
		return "netlink-rank";
	case MQCAP_QSRC_PROC:
		return "proc";
	default:
		return "none";
	}
}

int mqcap_queue_irq_cpu(const char *dev, unsigned queue, int *irq_out)
{
	int irq = mqcap__irq_by_name(dev, queue);

	if (irq < 0)
		return irq;
	if (irq_out)
		*irq_out = irq;
	return mqcap__irq_cpu(irq);
}

static int check_dev(const char *dev, unsigned *ifindex)
{
	if (!dev || !*dev || strlen(dev) >= IF_NAMESIZE || strchr(dev, '/') || !strcmp(dev, ".") ||
	    !strcmp(dev, ".."))
		return mqcap__last_error_fmt(EINVAL, "invalid device name '%s'", dev ? dev : "(null)");
	*ifindex = if_nametoindex(dev);
	if (!*ifindex)
		return mqcap__last_error_fmt(ENODEV, "no device named %s in this network namespace", dev);
	return 0;
}

/* Without netlink: what the library's device lookup says (ethtool channels, else sysfs:
 * iface.c), so that there is one count outside the kernel's own answer. */
static int fallback_rx_queues(const char *dev)
{
	struct mqcap__iface ifc;
	struct mqcap__err e;
	int rc = mqcap__iface_get(dev, &ifc, &e);

	if (rc)
		return mqcap__last_error_fmt(-rc, "%s", e.msg);
	return (int)ifc.rx_queues;
}

/* A netlink client, or NULL when the kernel has none to offer (the caller falls back). */
static struct mqcap__nl *nl_open(uint32_t flags)
{
	struct mqcap__err e;
	struct mqcap__nl *nl = NULL;

	if (!(flags & MQCAP_QUEUES_F_NO_NETLINK) && mqcap__nl_open(&nl, &e))
		nl = NULL;
	return nl;
}

static int rx_queues(struct mqcap__nl **nl, const char *dev, unsigned ifindex)
{
	struct mqcap__err e;
	int n;

	if (*nl) {
		n = mqcap__nl_rx_queues(*nl, ifindex, &e);
		if (n > 0)
			return n;
		/* no queue-get (older kernel), or a device it lists no queue for: sysfs says */
		if (n == -EOPNOTSUPP) {
			mqcap__nl_close(*nl);
			*nl = NULL;
		}
	}
	return fallback_rx_queues(dev);
}

int mqcap_dev_rx_queues(const char *dev, uint32_t flags)
{
	struct mqcap__nl *nl;
	unsigned ifindex;
	int n = check_dev(dev, &ifindex);

	if (n)
		return n;
	nl = nl_open(flags);
	n = rx_queues(&nl, dev, ifindex);
	mqcap__nl_close(nl);
	return n;
}

static int cpu_of_set(const cpu_set_t *s)
{
	if (CPU_COUNT(s) != 1)
		return -1;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, s))
			return c;
	return -1;
}

/* CPU it last ran on (/proc/PID/stat field 39), -1 if unknown. The comm field may hold
 * spaces and parentheses, so count from the last ')'. */
static int last_cpu_of(int pid)
{
	char path[64], buf[1024], *p;
	int field = 2;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	for (p = p ? p + 1 : buf + n; *p; p++)
		if (*p == ' ' && ++field == 39)
			return atoi(p + 1);
	return -1;
}

static void thread_facts(struct mqcap_queue_poller *qp)
{
	CPU_ZERO(&qp->allowed);
	if (qp->pid <= 0)
		return;
	if (sched_getaffinity(qp->pid, sizeof(qp->allowed), &qp->allowed))
		CPU_ZERO(&qp->allowed);
	qp->cpu = cpu_of_set(&qp->allowed);
	qp->last_cpu = last_cpu_of(qp->pid);
}

/* Every NAPI of ifindex from netlink, sorted by id, in a new array (*out, free it); the count,
 * or -errno (-EOPNOTSUPP: no napi-get). */
static int napi_dump(struct mqcap__nl *nl, unsigned ifindex, struct mqcap__nl_napi **out)
{
	struct mqcap__err e;
	unsigned cap = 64;

	for (;;) {
		struct mqcap__nl_napi *a = calloc(cap, sizeof(*a));
		int n;

		if (!a)
			return -ENOMEM;
		n = mqcap__nl_napi_dump(nl, ifindex, a, cap, &e);
		if (n < 0 || (unsigned)n <= cap) {
			if (n < 0)
				free(a);
			else
				*out = a;
			return n;
		}
		free(a);
		cap = (unsigned)n + 16; /* more appeared than we had room for: once more */
	}
}

/* Fill out[0..n-1] from netlink; false when netlink cannot say (fall back to /proc). */
static bool pollers_netlink(struct mqcap__nl *nl, unsigned ifindex, struct mqcap_queue_poller *out,
			    unsigned n)
{
	struct mqcap__nl_napi *napis = NULL;
	struct mqcap__err e;
	unsigned linked = 0;
	int nn;

	for (unsigned q = 0; q < n; q++) {
		unsigned id;
		int rc = mqcap__nl_queue_napi(nl, ifindex, q, &id, &e);

		if (rc == -ENOENT)
			continue; /* the kernel answered: no NAPI linked to this queue */
		if (rc)
			return false;
		out[q].napi_id = id;
		out[q].source = MQCAP_QSRC_NETLINK;
		linked++;
	}
	nn = napi_dump(nl, ifindex, &napis);
	if (nn < 0)
		return false;
	for (unsigned q = 0; q < n; q++) {
		const struct mqcap__nl_napi *np = NULL;

		if (!linked && q < (unsigned)nn) {
			np = &napis[q];
			out[q].napi_id = np->id;
			out[q].source = MQCAP_QSRC_NETLINK_RANK;
		}
		for (int i = 0; linked && !np && i < nn; i++)
			if (napis[i].id == out[q].napi_id && out[q].napi_id)
				np = &napis[i];
		if (!np)
			continue;
		out[q].pid = np->pid;
		out[q].irq = np->irq;
		if (np->irq >= 0)
			out[q].irq_source = MQCAP_QSRC_NETLINK;
	}
	free(napis);
	return true;
}

static int pollers_proc(const char *dev, struct mqcap_queue_poller *out, unsigned n)
{
	struct mqcap_napi_thread *th;
	int nt = mqcap_napi_list(dev, NULL, 0);

	if (nt <= 0)
		return nt;
	th = calloc((size_t)nt, sizeof(*th));
	if (!th)
		return mqcap__last_error_fmt(ENOMEM, "out of memory");
	nt = mqcap_napi_list(dev, th, (unsigned)nt);
	/* The heuristic: the q-th lowest NAPI id serves queue q. Threads of id 0 are NAPIs the
	 * kernel never hashed, which only TX NAPIs are (6.1's virtio_net: four napi/eth0-0
	 * threads beside the RX ones, 8193..): they poll no RX queue. */
	for (unsigned q = 0, i = 0; nt > 0 && q < n && i < (unsigned)nt; i++) {
		if (!th[i].napi_id)
			continue;
		out[q].napi_id = th[i].napi_id;
		out[q].pid = th[i].pid;
		out[q].source = MQCAP_QSRC_PROC;
		q++;
	}
	free(th);
	return nt < 0 ? nt : 0;
}

/* mqcap_queue_pollers() with a netlink client (or none); *nlp may be closed on the way. */
static int pollers(struct mqcap__nl **nlp, const char *dev, unsigned ifindex,
		   struct mqcap_queue_poller *out, unsigned max)
{
	int nq = rx_queues(nlp, dev, ifindex), rc = 0;
	unsigned n;

	if (nq < 0 || !out || !max)
		return nq;
	n = (unsigned)nq < max ? (unsigned)nq : max;
	for (unsigned q = 0; q < n; q++) {
		memset(&out[q], 0, sizeof(out[q]));
		out[q].queue = q;
		out[q].pid = out[q].irq = out[q].cpu = out[q].last_cpu = -1;
	}
	if (!*nlp || !pollers_netlink(*nlp, ifindex, out, n)) {
		for (unsigned q = 0; q < n; q++) {
			out[q].napi_id = 0;
			out[q].pid = out[q].irq = -1;
			out[q].source = out[q].irq_source = MQCAP_QSRC_NONE;
		}
		rc = pollers_proc(dev, out, n);
	}
	if (rc < 0)
		return rc;
	for (unsigned q = 0; q < n; q++) {
		struct mqcap_queue_poller *qp = &out[q];
		int irq;

		thread_facts(qp);
		/* Drivers that do not tell the kernel their NAPI's IRQ: match it by name. */
		if (qp->irq < 0 && (irq = mqcap__irq_by_name(dev, q)) >= 0) {
			qp->irq = irq;
			qp->irq_source = MQCAP_QSRC_PROC;
		}
		if (qp->cpu < 0 && qp->pid < 0 && qp->irq >= 0) {
			int c = mqcap__irq_cpu(qp->irq);

			qp->cpu = c >= 0 ? c : -1;
		}
	}
	return nq;
}

int mqcap_queue_pollers(const char *dev, uint32_t flags, struct mqcap_queue_poller *out,
			unsigned max)
{
	struct mqcap__nl *nl;
	unsigned ifindex;
	int n = check_dev(dev, &ifindex);

	if (n)
		return n;
	nl = nl_open(flags);
	n = pollers(&nl, dev, ifindex, out, max);
	mqcap__nl_close(nl);
	return n;
}

int mqcap_queue_poller(const char *dev, unsigned queue, uint32_t flags,
		       struct mqcap_queue_poller *out)
{
	struct mqcap_queue_poller *all;
	int n;

	if (queue >= MQCAP_QUEUES_MAX)
		return mqcap__last_error_fmt(EINVAL, "queue %u: mqcap handles queues 0-%u", queue,
					     MQCAP_QUEUES_MAX - 1);
	all = calloc(queue + 1, sizeof(*all));
	if (!all)
		return mqcap__last_error_fmt(ENOMEM, "out of memory");
	n = mqcap_queue_pollers(dev, flags, all, queue + 1);
	if (n >= 0 && queue >= (unsigned)n)
		n = mqcap__last_error_fmt(ENODEV, "%s has %d RX queue(s); queue %u does not exist", dev,
					  n, queue);
	if (n >= 0) {
		*out = all[queue];
		n = 0;
	}
	free(all);
	return n;
}

int mqcap_queue_set_threaded(const char *dev, unsigned queue, bool on)
{
	struct mqcap_queue_poller *all = NULL;
	struct mqcap__nl *nl = NULL;
	struct mqcap__err e;
	unsigned ifindex;
	int rc = check_dev(dev, &ifindex);

	if (rc)
		return rc;
	if (queue >= MQCAP_QUEUES_MAX)
		return mqcap__last_error_fmt(EINVAL, "queue %u: mqcap handles queues 0-%u", queue,
					     MQCAP_QUEUES_MAX - 1);
	rc = mqcap__nl_open(&nl, &e);
	if (rc)
		return mqcap__last_error_fmt(-rc, "%s@%u: %s", dev, queue, e.msg);
	all = calloc(queue + 1, sizeof(*all));
	rc = all ? pollers(&nl, dev, ifindex, all, queue + 1) : -ENOMEM;
	if (rc >= 0 && (unsigned)rc <= queue)
		rc = mqcap__last_error_fmt(ENODEV, "%s has %d RX queue(s); queue %u does not exist", dev,
					   rc, queue);
	else if (rc >= 0 && (!nl || all[queue].source == MQCAP_QSRC_PROC))
		rc = mqcap__last_error_fmt(EOPNOTSUPP, "%s@%u: this kernel's netdev family cannot "
					   "name the queue's NAPI", dev, queue);
	else if (rc >= 0 && !all[queue].napi_id)
		rc = mqcap__last_error_fmt(ENOENT, "%s@%u has no NAPI instance (a veth gets them with "
					   "GRO on or an XDP program attached)", dev, queue);
	else if (rc >= 0 && (rc = mqcap__nl_napi_set_threaded(nl, all[queue].napi_id, on, &e)))
		mqcap__last_error_fmt(-rc, "%s@%u: %s", dev, queue, e.msg);
	else if (rc == -ENOMEM)
		mqcap__last_error_fmt(ENOMEM, "out of memory");
	free(all);
	mqcap__nl_close(nl);
	return rc < 0 ? rc : 0;
}
