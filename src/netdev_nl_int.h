/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * netdev_nl_int.h - a small client of the kernel's "netdev" generic netlink family (Linux 6.3+;
 * queue-get and napi-get since 6.8, napi-set since 6.12, its "threaded" attribute since 6.17),
 * built on libmnl. queues.c asks it first and falls back to /proc and sysfs when it says
 * -EOPNOTSUPP (no family, or no such operation: an older kernel).
 *
 * The socket talks to the caller's network namespace, as sysfs and ifindexes do.
 * Errors: 0 or -errno, with a message in the given mqcap__err. Not thread-safe: one client,
 * one thread (each call is a request and its answer on the client's own socket).
 */
#ifndef MQCAP_NETDEV_NL_INT_H
#define MQCAP_NETDEV_NL_INT_H

#include <stdbool.h>

#include "error_int.h"

struct mqcap__nl;

/* Open a client: -EOPNOTSUPP when this kernel has no netdev family, another -errno else. */
int mqcap__nl_open(struct mqcap__nl **out, struct mqcap__err *e);
void mqcap__nl_close(struct mqcap__nl *nl);

/* RX queue count of ifindex (a queue-get dump). -EOPNOTSUPP when the kernel lacks queue-get. */
int mqcap__nl_rx_queues(struct mqcap__nl *nl, unsigned ifindex, struct mqcap__err *e);

/* The NAPI id serving RX queue q of ifindex: 0 and *napi_id, -ENOENT when the queue has no
 * NAPI instance (e.g. a veth without GRO or XDP), -EOPNOTSUPP, or -errno (-ENOENT too when
 * the queue does not exist: check the count first). */
int mqcap__nl_queue_napi(struct mqcap__nl *nl, unsigned ifindex, unsigned q, unsigned *napi_id,
			 struct mqcap__err *e);

/* What the kernel says about one NAPI instance: its thread (*pid, -1 when it polls in softirq),
 * its IRQ (*irq, -1 none) and whether it is threaded (*threaded: 0, 1, or -1 when this kernel
 * does not report it). 0, -ENOENT (no such NAPI), -EOPNOTSUPP, or -errno. */
int mqcap__nl_napi_get(struct mqcap__nl *nl, unsigned napi_id, int *pid, int *irq, int *threaded,
		       struct mqcap__err *e);

/* One NAPI instance of a device, as napi-get reports it. */
struct mqcap__nl_napi {
	unsigned id;
	int pid;        /* its thread; -1 when it polls in softirq */
	int irq;        /* -1 none */
	int threaded;   /* 0, 1, or -1 when the kernel does not say */
};

/* Every NAPI instance of ifindex (a napi-get dump), sorted by id: fills up to max entries and
 * returns how many there are. -EOPNOTSUPP when the kernel lacks napi-get. */
int mqcap__nl_napi_dump(struct mqcap__nl *nl, unsigned ifindex, struct mqcap__nl_napi *out,
			unsigned max, struct mqcap__err *e);

/* Switch one NAPI instance to threaded polling (napi-set "threaded"). -EOPNOTSUPP when the
 * kernel has no such attribute, -EPERM without CAP_NET_ADMIN, or -errno. */
int mqcap__nl_napi_set_threaded(struct mqcap__nl *nl, unsigned napi_id, bool on,
				struct mqcap__err *e);

#endif
