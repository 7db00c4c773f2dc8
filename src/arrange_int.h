/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * arrange_int.h - how a thread that reads queues and the kernel pollers of those queues share
 * CPU time: the reader/poller arrangement, picked from the placement the thread was given
 * (the plan's, for a runtime worker; its CPU affinity, for a handle's receiving thread).
 *
 * Apart (the worker's CPU is none of its pollers' CPUs): "wake-up". The poller runs on its
 * own CPU and wakes the worker when packets wait; nothing competes.
 *
 * Beside (the worker is pinned to the CPU of one of its pollers): "reader-first". The poller
 * (a threaded-NAPI kernel thread) and the worker are a producer and a consumer of one bounded
 * buffer, the UMEM or TPACKET ring, on one CPU. Under the fair scheduler the worker gets only
 * its weight's share of that CPU whenever the poller has work, and its weight is not its own
 * nice: with autogroup (or a cgroup) it is its session's group against the poller in the root
 * group, so `nice -10` on a capture tool does nothing against a NAPI thread at -10. A producer
 * that may take ~90% of the CPU (a sender catching up after a stall runs at twice its rate)
 * then outruns the consumer and the buffer fills: AF_XDP's 4096 frames last 14 ms at
 * 300 kpps. Measured, with the numbers, in docs/kernel-notes.md.
 * So the worker runs SCHED_FIFO at the lowest real-time priority, above every SCHED_OTHER
 * poller whatever its nice: it runs as soon as it is woken. It cannot starve its poller for
 * long, because its work is bounded by what the poller produced: it drains the ring and
 * sleeps (the batching wait, or its poll) until the poller has made more. The kernel's RT
 * throttling (sched_rt_runtime_us) bounds even a callback that never lets the ring empty.
 * Where the kernel refuses (no CAP_SYS_NICE, RLIMIT_RTPRIO 0), the worker stays wake-up and
 * says why.
 *
 * Why not the kernel's preferred busy polling (SO_PREFER_BUSY_POLL: the application runs the
 * queue's NAPI itself), which is how AF_XDP's maintainers share one core: it needs the
 * socket's NAPI id, and an AF_XDP socket bound to a veth queue has none on 6.18
 * (SO_INCOMING_NAPI_ID reads 0 after traffic): veth registers its XDP RX queue info before
 * its NAPI gets an id, so busy polling never runs there (measured: every napi_poll on the
 * capture CPU came from the NAPI thread). docs/kernel-notes.md.
 */
#ifndef MQCAP_ARRANGE_INT_H
#define MQCAP_ARRANGE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "mqcap/topo.h"

enum mqcap__arr_kind {
	MQCAP__ARR_WAKE,         /* the worker sleeps until woken, at its normal priority */
	MQCAP__ARR_READER_FIRST, /* beside its poller, SCHED_FIFO above it */
};

struct mqcap__arr {
	enum mqcap__arr_kind kind;
	unsigned batch_us;       /* sleep after a short burst (0: never) */
	int poller_cpu;          /* the shared CPU when beside; -1 apart */
	char text[160];          /* what was picked and why, for mqcap_run_worker_arrangement() */
};

/* Pick the arrangement of a worker on CPU worker_cpu (-1: not pinned) that reads the plan's
 * queues qs[0..n) (indexes into pl->queues). It is beside a poller when a queue's poller is
 * known (poller_cpu >= 0) and planned on worker_cpu. batch_usecs and run_flags are the run's
 * options (mqcap_run_opts.batch_usecs; MQCAP_RUN_F_NO_BATCH, MQCAP_RUN_F_NO_PRIORITY).
 * Plain arithmetic: nothing is applied yet. */
void mqcap__arrange_pick(struct mqcap__arr *a, int worker_cpu, const struct mqcap_plan *pl,
			 const unsigned *qs, unsigned n, unsigned batch_usecs, uint32_t run_flags);

/* A handle's arrangement (mqcap_arrangement()), for the thread that decided it last. */
struct mqcap__handle_arr {
	struct mqcap__arr a;
	pthread_t thread;
	bool decided;
};

struct mqcap__reader;

/* Decide, and apply, the calling thread's arrangement for a handle's readers[0..n): reader-first
 * when the thread is pinned to exactly one CPU where the poller of one of the queues is pinned
 * too (queues.h), wake-up otherwise or with MQCAP_F_NO_READER_FIRST in flags. Called at open
 * (while the opener still has the privileges a program like tcpdump drops before it reads)
 * and at the first receive of another thread. The opener keeps what it got: it may have
 * exited, so its priority is not touched from here. */
void mqcap__arrange_handle(struct mqcap__handle_arr *h, const struct mqcap__reader *readers,
			   unsigned n, uint32_t flags);

/* Apply a's arrangement to the calling thread (the worker, after it is pinned). A refusal is
 * not an error of the run: a falls back to wake-up and its text says why. */
void mqcap__arrange_apply(struct mqcap__arr *a);

#endif
