/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * topo.h - where the CPUs, caches, NUMA nodes and NICs are, and where capture threads should run.
 *
 * The paper's first future-work item: place capture threads automatically, because hand-tuned
 * affinity is what non-experts get wrong. A topology (from hwloc: the running machine, or an
 * hwloc XML file for tests and "what if" plans) answers how close two CPUs are; the planner
 * turns "queue q of eth1 is polled by the kernel on CPU c" into "read queue q from CPU x".
 *
 * The planner's rules, in order of priority:
 *   1. spread: a CPU gets a second worker only when every usable CPU has one (and only with
 *      MQCAP_PLAN_OVERSUBSCRIBE when there are more workers than CPUs);
 *   2. never two workers on SMT siblings (hyperthreads of one core) while a core with no
 *      worker remains;
 *   3. stay on the NIC's NUMA node while it has room;
 *   4. as close as possible to the queue's kernel poller: its CPU, then its core, then a CPU
 *      sharing L2, then L3, then the NUMA node, then the package.
 * A queue whose poller CPU is unknown (not pinned) gets one planned: the CPU its worker takes,
 * so that `mqtune --apply` can pin the poller beside its reader (the paper's Setup: the kernel
 * poller and its consumer on one core). A manual CPU list replaces the planner.
 *
 * Error convention as in mqcap.h: int calls return 0 or -errno, constructors NULL + errno, the
 * message in mqcap_topo_errmsg() (or mqcap_last_error() for a failed open). Nothing prints.
 * Thread-safety: a topology is read-only after mqcap_topo_open() except for its error message;
 * share it between threads only for the const calls.
 */
#ifndef MQCAP_TOPO_H
#define MQCAP_TOPO_H

#include <stddef.h>
#include <stdint.h>

#include "mqcap/mqcap.h" /* mqcap_last_error() */
#include "mqcap/queues.h" /* mqcap_queue_irq_cpu(), declared there since it moved */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mqcap_topo mqcap_topo_t;

/* One logical CPU (hwloc "PU"). Ids other than cpu are topology-wide logical indexes (0..n-1
 * in hwloc's order), so equal ids mean "the same core / cache / package"; -1 = none known. */
struct mqcap_topo_cpu {
	int cpu;      /* OS CPU number, as in sched_setaffinity() and /proc */
	int core;     /* core; CPUs with the same core are SMT siblings */
	int smt;      /* which hardware thread of its core (0 = first) */
	int l2;       /* L2 cache shared by the CPUs with the same value */
	int l3;       /* last-level (L3) cache */
	int numa;     /* NUMA node OS index (as in /sys/devices/system/node/nodeN) */
	int package;  /* socket */
	int usable;   /* 1 if this process may run there (cgroup cpuset / allowed set) */
};

/*
 * Load a topology. xml_path NULL: this machine (hwloc's discovery, with I/O devices so NICs
 * are located); otherwise an hwloc XML file (lstopo --of xml), for tests and for planning
 * another machine. Returns NULL with errno set and the reason in mqcap_last_error().
 */
mqcap_topo_t *mqcap_topo_open(const char *xml_path);
/* Free the topology (and hwloc's copy). Plans made from it stay valid; NULL is ignored. */
void mqcap_topo_close(mqcap_topo_t *t);
/* The message of the last failed call on t (e.g. mqcap_plan_make()), or "no error". Valid
 * until the next call on t; t's thread only. */
const char *mqcap_topo_errmsg(const mqcap_topo_t *t);

/* Number of CPUs, and the i-th in hwloc's order (neighbours are adjacent); NULL if i is out of
 * range. */
unsigned mqcap_topo_cpu_count(const mqcap_topo_t *t);
const struct mqcap_topo_cpu *mqcap_topo_cpu_at(const mqcap_topo_t *t, unsigned i);
/* The CPU with OS number cpu, or NULL when this topology has no such CPU. */
const struct mqcap_topo_cpu *mqcap_topo_cpu(const mqcap_topo_t *t, int cpu);
/* How many CPUs of the topology this process may use (mqcap_topo_cpu.usable). */
unsigned mqcap_topo_usable_count(const mqcap_topo_t *t);

/* Number of physical cores (SMT siblings count once). */
unsigned mqcap_topo_core_count(const mqcap_topo_t *t);
/* Number of packages (sockets); 1 on a single-socket machine or when hwloc cannot tell. */
unsigned mqcap_topo_package_count(const mqcap_topo_t *t);
/* Number of NUMA nodes; 1 on a machine without NUMA. */
unsigned mqcap_topo_numa_count(const mqcap_topo_t *t);

/* How far apart two CPUs are, smaller is closer. -1 if either CPU is unknown. */
enum mqcap_topo_dist {
	MQCAP_DIST_SAME_CPU = 0,
	MQCAP_DIST_SAME_CORE,    /* SMT siblings: share L1 and L2 */
	MQCAP_DIST_SHARED_L2,
	MQCAP_DIST_SHARED_L3,
	MQCAP_DIST_SAME_NUMA,
	MQCAP_DIST_SAME_PACKAGE,
	MQCAP_DIST_REMOTE,
};
int mqcap_topo_distance(const mqcap_topo_t *t, int cpu_a, int cpu_b);
/* "same core", "shared L3", ... for printing. */
const char *mqcap_topo_dist_name(int dist);

/*
 * The NUMA node a network device is attached to: from the topology's I/O objects (the XML's
 * or this machine's PCI tree), else /sys/class/net/DEV/device/numa_node in the caller's
 * network namespace. Returns the node (>= 0), or -1 when the device has no locality (virtual
 * devices such as veth, single-node machines) or is unknown.
 */
int mqcap_topo_dev_numa(const mqcap_topo_t *t, const char *dev);

/* mqcap_queue_irq_cpu(), the IRQ CPU of an RX queue, is declared in queues.h. */

/*
 * A human description of the topology: one line per package with its NUMA node(s) and cores,
 * each core's CPUs (SMT siblings together). Written like snprintf: at most len bytes including
 * the NUL, returns the length the whole text needs.
 */
int mqcap_topo_format(const mqcap_topo_t *t, char *buf, size_t len);

/* ---- the placement planner ---- */

/* One queue to place: what the caller knows, and what the planner decided. */
struct mqcap_plan_queue {
	/* in */
	char dev[16];            /* device name, for printing */
	unsigned queue;          /* RX queue id */
	int poller_cpu;          /* CPU of the kernel poller (threaded NAPI thread or IRQ); -1 = not pinned / unknown */
	int nic_numa;            /* NUMA node of the device; -1 = unknown / none */
	/* out */
	int worker;              /* index of the worker thread that reads this queue */
	int cpu;                 /* the CPU that worker runs on */
	int planned_poller_cpu;  /* where the kernel poller should be pinned (== poller_cpu if it was known) */
	int dist;                /* enum mqcap_topo_dist between the poller and its reader */
};

/* One worker thread of the plan. */
struct mqcap_plan_worker {
	int cpu;                 /* -1: not pinned (MQCAP_PLAN_NO_PIN) */
	unsigned nqueues;        /* queues this worker reads */
	/* why this CPU, for the printed plan, e.g. "poller's CPU", "shares L3 with poller's CPU 9" */
	char why[64];
};

/* mqcap_plan_opts.flags */
#define MQCAP_PLAN_OVERSUBSCRIBE (1u << 0) /* allow more workers than usable CPUs */
#define MQCAP_PLAN_NO_PIN        (1u << 1) /* do not pin: every worker's cpu is -1 */
#define MQCAP_PLAN_NO_NUMA       (1u << 2) /* ignore NIC locality */
#define MQCAP_PLAN_FIT           (1u << 3) /* workers == 0: one per queue, but no more than the
					     usable CPUs (or the CPUs in opts->cpus) */

struct mqcap_plan_opts {
	size_t sz;               /* sizeof(struct mqcap_plan_opts) of the caller */
	unsigned workers;        /* worker threads; 0 = one per queue. Fewer than queues: several queues per worker */
	const int *cpus;         /* manual placement: worker i runs on cpus[i % ncpus]; NULL = automatic */
	unsigned ncpus;
	uint32_t flags;          /* MQCAP_PLAN_* */
	const int *busy_cpus;    /* CPUs already busy (other workers, a generator): avoided like taken ones */
	unsigned nbusy;
};

#define MQCAP_PLAN_OPTS(name, ...) \
	struct mqcap_plan_opts name = { .sz = sizeof(struct mqcap_plan_opts), __VA_ARGS__ }

struct mqcap_plan {
	unsigned nqueues;
	unsigned nworkers;
	struct mqcap_plan_queue *queues;   /* nqueues entries, in the caller's order */
	struct mqcap_plan_worker *workers; /* nworkers entries */
};

/*
 * Place nq queues (in: dev, queue, poller_cpu, nic_numa of each) on workers. Returns a plan
 * to free with mqcap_plan_free(), or NULL with errno and the reason in mqcap_topo_errmsg(t):
 * EINVAL more workers than queues, or a CPU in opts->cpus not in the topology or not usable;
 * E2BIG more workers than usable CPUs without MQCAP_PLAN_OVERSUBSCRIBE.
 * The function is deterministic: the same inputs give the same plan.
 */
struct mqcap_plan *mqcap_plan_make(mqcap_topo_t *t, const struct mqcap_plan_queue *q, unsigned nq,
				   const struct mqcap_plan_opts *opts);
/* Free a plan from mqcap_plan_make(). NULL is ignored. */
void mqcap_plan_free(struct mqcap_plan *p);

/*
 * The plan as text: one line per worker ("worker 0  cpu 9   eth1@0,eth1@4   poller cpu 9 (same
 * cpu)"). Like snprintf: returns the length the whole text needs.
 */
int mqcap_plan_format(const mqcap_topo_t *t, const struct mqcap_plan *p, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* MQCAP_TOPO_H */
