/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * queues.h - a device's RX queues and who polls each one: the kernel's NAPI instance, its
 * thread (threaded NAPI) or IRQ, and the CPU it is bound to. The one place the library, the
 * runtime, mqtune and the testbed ask these questions.
 *
 * Where the facts come from: the kernel's netdev generic netlink family when it answers
 * (queue-get: the NAPI id of each RX queue; napi-get: that NAPI's thread pid and IRQ), else
 * /proc and sysfs: threads named "napi/DEV-ID" and IRQs matched by name in /proc/interrupts.
 * Where nothing links a queue to its NAPI (no netlink, or a driver such as veth that does
 * not tell the kernel), queue q is taken to have the q-th lowest NAPI id. Each answer says
 * which source it came from (enum mqcap_qsrc); docs/kernel-notes.md has what this kernel
 * answers.
 *
 * Namespaces: DEV is looked up in the caller's network namespace (netlink socket and
 * /sys/class/net alike; see napi.h for /sys after setns()).
 * Errors: 0 (or a count) or -errno, with a message for mqcap_last_error() (mqcap.h).
 * Thread-safety: no state is kept; any thread. The library never prints.
 */
#ifndef MQCAP_QUEUES_H
#define MQCAP_QUEUES_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The one limit on queue numbers in mqcap: queues 0 .. MQCAP_QUEUES_MAX - 1 of a device (capture
 * names, the runtime, mqtune). Linux allows more (veth up to 4096), NICs rarely have half. */
#define MQCAP_QUEUES_MAX 1024u

/* Where a fact came from. */
enum mqcap_qsrc {
	MQCAP_QSRC_NONE = 0,    /* nothing found (e.g. a veth queue without a NAPI instance) */
	MQCAP_QSRC_NETLINK,     /* the kernel said so (netdev family: queue-get links the queue to
				 * its NAPI, napi-get gives that NAPI's thread and IRQ) */
	MQCAP_QSRC_NETLINK_RANK,/* the kernel listed the device's NAPIs with their threads and IRQs
				 * (napi-get) but links none to a queue (veth does not): queue q is
				 * given the q-th lowest NAPI id, as the driver registers them */
	MQCAP_QSRC_PROC,        /* fallback without netlink: "napi/DEV-ID" threads in /proc ranked
				 * the same way; IRQs matched by name in /proc/interrupts */
};

/* Who polls one RX queue. */
struct mqcap_queue_poller {
	unsigned queue;
	unsigned napi_id;          /* the kernel's NAPI id; 0 when unknown or none */
	int pid;                   /* its kernel thread (threaded NAPI); -1 when it polls in softirq */
	int irq;                   /* its IRQ; -1 none known (veth has none) */
	int cpu;                   /* the one CPU the poller is bound to (thread affinity, else the
				    * IRQ's effective affinity); -1 when it floats or is unknown */
	int last_cpu;              /* the thread: CPU it last ran on; -1 unknown */
	cpu_set_t allowed;         /* the thread's affinity; empty without a thread */
	enum mqcap_qsrc source;    /* where napi_id and pid came from */
	enum mqcap_qsrc irq_source;/* where irq came from */
};

/* mqcap_queue_pollers() flags */
#define MQCAP_QUEUES_F_NO_NETLINK (1u << 0) /* use only the /proc and sysfs fallback */

/* "netlink", "netlink-rank", "proc" or "none". */
const char *mqcap_qsrc_name(enum mqcap_qsrc s);

/*
 * Number of RX queues of DEV (the kernel's real_num_rx_queues): from netlink queue-get where
 * the kernel has it, else /sys/class/net/DEV/queues. -ENODEV when there is no such device.
 */
int mqcap_dev_rx_queues(const char *dev, uint32_t flags);

/*
 * Who polls each RX queue of DEV: fills out[0 .. min(count, max) - 1] (out[i].queue == i) and
 * returns the queue count, which may be more than max (out may be NULL when max is 0).
 * -ENODEV (no such device) or another -errno.
 */
int mqcap_queue_pollers(const char *dev, uint32_t flags, struct mqcap_queue_poller *out,
			unsigned max);

/* The same for one queue. -ENODEV also when DEV has no RX queue `queue`. */
int mqcap_queue_poller(const char *dev, unsigned queue, uint32_t flags,
		       struct mqcap_queue_poller *out);

/*
 * Switch the NAPI instance of one RX queue to threaded polling (on) or back to softirq, through
 * netlink napi-set (Linux 6.17+). -EOPNOTSUPP when the kernel cannot (then use
 * mqcap_napi_set_threaded(), napi.h, for the whole device), -ENOENT when the queue has no NAPI
 * instance, -EPERM without CAP_NET_ADMIN.
 */
int mqcap_queue_set_threaded(const char *dev, unsigned queue, bool on);

/*
 * The CPU that services RX queue `queue` of `dev` by interrupt: the IRQ named after the device
 * and queue in /proc/interrupts ("DEV-TxRx-Q", "DEV-rx-Q", "DEV-Q"), and its effective affinity.
 * Returns the CPU (>= 0), -ENOENT when the device has no per-queue IRQ (veth, threaded NAPI
 * only), or -errno. *irq receives the IRQ number when not NULL and one was found.
 * (mqcap_queue_pollers() uses it when netlink names no IRQ.)
 */
int mqcap_queue_irq_cpu(const char *dev, unsigned queue, int *irq);

#ifdef __cplusplus
}
#endif
#endif /* MQCAP_QUEUES_H */
