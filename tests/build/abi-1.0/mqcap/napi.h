/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * napi.h - threaded NAPI: the kernel's per-RX-queue polling threads, today's form of the
 * paper's TNAPI in-driver thread per queue. mqcap turns them on, finds them and pins each
 * to a core, so one core serves one queue from the driver up to the capture thread.
 *
 * With /sys/class/net/DEV/threaded set, the kernel polls each NAPI instance of DEV in its
 * own kernel thread named "napi/DEV-ID" (ID: the NAPI id). The NAPI instances of a device
 * are registered queue by queue, so the lowest ID belongs to RX queue 0, the next to RX
 * queue 1, and so on. The threads are created again, with new PIDs, whenever the device
 * goes down and up (or NAPI is re-created, e.g. when XDP is attached to a veth): call
 * mqcap_napi_pin_queues() again after such an event.
 *
 * Namespaces: DEV is looked up in the caller's network namespace through /sys/class/net,
 * so /sys must be the sysfs of that namespace (true in `ip netns exec NS ...`; a program
 * that only setns()'d must mount a fresh sysfs on /sys in its own mount namespace, as
 * ip netns exec does). The threads themselves are found in /proc.
 *
 * Errors: int functions return 0 (or a count) or -errno, and leave a message for
 * mqcap_last_error() (mqcap.h) in the calling thread. The library never prints.
 * Thread-safety: functions keep no state; they may be called from any thread.
 * Privileges: reading needs none; enabling and pinning need CAP_NET_ADMIN / CAP_SYS_NICE.
 */
#ifndef MQCAP_NAPI_H
#define MQCAP_NAPI_H

#include <sched.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One polling thread. */
struct mqcap_napi_thread {
	unsigned queue;    /* RX queue it polls (rank of napi_id among the device's threads) */
	unsigned napi_id;  /* the kernel's NAPI id (the ID in "napi/DEV-ID") */
	int pid;           /* kernel thread id */
	int last_cpu;      /* CPU it last ran on (/proc/PID/stat "processor"), -1 if unknown */
	cpu_set_t allowed; /* CPUs it may run on (its affinity) */
};

/*
 * Whether DEV polls in threads: 1 (threaded), 0 (softirq), or -errno (-ENODEV: no such
 * device in this namespace; -ENOENT: the kernel has no threaded NAPI).
 */
int mqcap_napi_threaded(const char *dev);

/*
 * Turn threaded NAPI on (on = true) or off for every NAPI instance of DEV.
 * Returns 0, -ENODEV (no such device), -EOPNOTSUPP (DEV has no NAPI instance yet: a veth
 * gets them only once GRO is on there, with TSO off on its peer, or an XDP program is
 * attached; a device that is down may have none either), -EPERM, or another -errno.
 */
int mqcap_napi_set_threaded(const char *dev, bool on);

/*
 * List the polling threads of DEV, sorted by NAPI id (so out[i].queue == i): fills up to
 * max entries of out (out may be NULL when max is 0) and returns how many threads exist,
 * which may be more than max. 0 means threaded NAPI is off (or DEV has no NAPI); -errno on
 * failure to read /proc.
 */
int mqcap_napi_list(const char *dev, struct mqcap_napi_thread *out, unsigned max);

/* Pin one thread (t->pid) to one CPU. Returns 0, -ESRCH (the thread is gone: list again),
 * -EINVAL (no such CPU), -EPERM. */
int mqcap_napi_pin(const struct mqcap_napi_thread *t, int cpu);

/*
 * Find DEV's polling threads anew and pin the thread of RX queue i to cpus[i % ncpus].
 * Finding them anew is what makes this the call to repeat after a link flap.
 * Returns the number of threads pinned (0 when DEV has none: threaded NAPI off), or -errno.
 */
int mqcap_napi_pin_queues(const char *dev, const int *cpus, unsigned ncpus);

#ifdef __cplusplus
}
#endif

#endif
