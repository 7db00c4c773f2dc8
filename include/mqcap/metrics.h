/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * metrics.h - a run's counters in the Prometheus text format (version 0.0.4), as a string, a
 * file that node_exporter's textfile collector reads, or an HTTP /metrics endpoint.
 *
 * Any program on the worker runtime (run.h) gets the same metrics with the same names:
 *
 *   mqcap_received_packets_total{device,queue,backend}      delivered to the callback
 *   mqcap_received_bytes_total{device,queue,backend}        wire bytes of those
 *   mqcap_filtered_packets_total{device,queue,backend}      rejected by the user-side filter
 *   mqcap_kernel_seen_packets_total{device,queue,backend}   seen by the kernel for the queue
 *   mqcap_passed_packets_total{device,queue,backend}        xdp: left to the network stack
 *   mqcap_dropped_packets_total{device,queue,backend,stage} lost to the capture, by where:
 *       ring     the socket's RX ring was full          (mqcap_stats.drop_ring_full)
 *       fill     xdp: no free UMEM frame                 (drop_fill_empty)
 *       nosock   xdp: the queue's socket was missing     (drop_no_socket)
 *       invalid  xdp: invalid descriptor, other kernel   (drop_invalid)
 *       handoff  split mode: poller->consumer ring full  (mqcap_run_queue_handoff_drops)
 *       write    the program could not store the packet  (mqcap_metrics_opts.write_drops)
 *   mqcap_worker_packets_total{worker,cpu}, mqcap_worker_bytes_total{worker,cpu}
 *   mqcap_poller_info{device,queue,poller_cpu,planned_poller_cpu,worker,reader_cpu,placement} 1
 *       where the queue's kernel poller (threaded NAPI thread or IRQ) was pinned when the run
 *       was planned ("none": not pinned, or unknown), where the plan puts it, the worker that
 *       reads the queue, its CPU, and how far apart the planned poller and the reader are
 *       ("same cpu", "shared L3"...; "unknown" when either is unpinned)
 *   mqcap_backend_info{backend,name} 1        e.g. backend="xdp", name="xdp (copy)"
 *   mqcap_metrics_file_errors_total           failed writes of the metrics file
 *
 * Labels are bounded by the run's shape (queues, workers): never per flow or per address.
 * "cpu" is the CPU the plan pinned the worker to ("none" when unpinned), not where it
 * happened to run, so a floating thread does not create a new series each time it moves.
 * Counters come from the run's snapshots (run.h: refreshed about every 50 ms by each worker,
 * exactly when it stops), so reading them never touches the capture threads.
 *
 * Errors as in mqcap.h: constructors return NULL + errno with mqcap_last_error(); int calls
 * 0 or -errno. The library never prints: a failed file write is counted and kept in
 * mqcap_metrics_errmsg().
 */
#ifndef MQCAP_METRICS_H
#define MQCAP_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "mqcap/run.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mqcap_metrics mqcap_metrics_t;

/* Packets the program itself lost for queue i of the run (plan order), e.g. a writer that
 * could not keep up: reported as stage="write". Called from the exporter's thread while the
 * capture runs: read the counter atomically. */
typedef uint64_t (*mqcap_metrics_drops_fn)(void *user, unsigned queue);

struct mqcap_metrics_opts {
	size_t sz;                       /* sizeof(struct mqcap_metrics_opts) of the caller */
	const char *listen;              /* serve GET /metrics here: "PORT" (on 127.0.0.1),
					  * "ADDR:PORT", "[ADDR6]:PORT"; port 0 picks a free one
					  * (see mqcap_metrics_listen_port()); NULL = no endpoint */
	const char *file;                /* write the text to this path (a temporary file in the
					  * same folder, then rename: readers never see half a file;
					  * its name is random and it is created O_EXCL|O_NOFOLLOW,
					  * mode 0666 & ~umask, so links planted in a shared folder
					  * are never followed); NULL = no file */
	unsigned interval_ms;            /* snapshot (and file) period; 0 = 1000 */
	mqcap_metrics_drops_fn write_drops; /* stage="write" per queue; NULL = always 0 */
	void *user;                      /* for write_drops */
};

#define MQCAP_METRICS_OPTS(name, ...) \
	struct mqcap_metrics_opts name = { .sz = sizeof(struct mqcap_metrics_opts), __VA_ARGS__ }

/*
 * The run's metrics now, as Prometheus text: *text is malloc'ed (free() it), *len its length
 * without the terminating NUL. opts may be NULL (no write drops). Works at any time between
 * mqcap_run_open() and mqcap_run_close() (before start, the counters are zero and the backend
 * empty), from the thread that controls the run (the backend's name is settled by
 * mqcap_run_start()); the counters are safe to read while the run's threads work.
 * Returns 0 or -errno (-ENOMEM).
 */
int mqcap_metrics_format(const mqcap_run_t *r, const struct mqcap_metrics_opts *opts, char **text,
			 size_t *len);

/*
 * Export the run's metrics as opts says: one thread takes a snapshot every interval_ms,
 * writes the file if asked, and keeps the text that the HTTP endpoint (libmicrohttpd, its own
 * thread) serves. The endpoint answers GET/HEAD of /metrics only (other paths 404, other
 * methods 405), closes idle or slow connections after 5 seconds and holds at most 64 at once,
 * so a stuck or malformed client costs the exporter a socket, never the capture, and a
 * scraper beside it is still answered. The first
 * snapshot is taken (and the file written) before this returns.
 * Returns NULL + errno (EINVAL bad address or options, EADDRINUSE, EACCES, ...) with the
 * message in mqcap_last_error(). r must outlive the exporter: mqcap_metrics_stop() before
 * mqcap_run_close().
 */
mqcap_metrics_t *mqcap_metrics_start(const mqcap_run_t *r, const struct mqcap_metrics_opts *opts);

/* Take a snapshot now and write the file (if any). Call it from the thread that controls the
 * run: after mqcap_run_start() (the exporter learns the backend's name here; started before,
 * it reports an empty one until then), and once the run has stopped, so the file and the
 * endpoint hold the final counters. Returns 0 or -errno (the file write failed: see
 * mqcap_metrics_errmsg()). Not from a signal handler. */
int mqcap_metrics_update(mqcap_metrics_t *m);

/* The TCP port the endpoint listens on (useful with port 0); 0 without an endpoint. */
unsigned mqcap_metrics_listen_port(const mqcap_metrics_t *m);

/* The last failure of the exporter's thread (a file write), "" if none. */
const char *mqcap_metrics_errmsg(const mqcap_metrics_t *m);

/* Stop the endpoint and the thread, free everything. The file stays as last written. NULL is
 * ignored. */
void mqcap_metrics_stop(mqcap_metrics_t *m);

#ifdef __cplusplus
}
#endif
#endif /* MQCAP_METRICS_H */
