/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * metrics.c - Prometheus text exposition of a run's counters (metrics.h), and its two
 * exporters: a file replaced atomically every interval, and an HTTP endpoint.
 *
 * Why a snapshot thread rather than formatting in the HTTP handler: the endpoint must never
 * slow the capture, and a scrape that formats on demand would do so at the client's pace (a
 * scraper storm, a client that connects a thousand times). Here the text is built once per
 * interval from the run's own snapshots (run.h), which never lock a worker, and every
 * request copies a finished string under a mutex held for a memcpy.
 *
 * Why libmicrohttpd: a maintained HTTP/1.1 parser with connection timeouts and limits; the
 * failure modes of a hand-written server (partial request lines, huge headers, pipelining,
 * slow readers) are exactly what it has been hardened against. It runs its own thread with
 * epoll, so one stuck client does not hold up the others.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "mqcap/metrics.h"
#include "mqcap/topo.h"
#include "error_int.h"

/* A client gets this long to send its request and read the answer; then its socket closes. */
#define METRICS_CONN_TIMEOUT_S 5
/* Connections at once: a scraper needs one. No limit per client address: the scraper and a
 * stuck local client often share 127.0.0.1, and a per-address cap would let the stuck one lock
 * the scraper out; the timeout above frees the slots instead. */
#define METRICS_CONN_LIMIT 64

struct mqcap_metrics {
	const mqcap_run_t *run;
	struct mqcap_metrics_opts o;
	char *file;                  /* copy of o.file */
	struct MHD_Daemon *httpd;
	unsigned port;

	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;        /* text, len, errmsg, stop; the file write (update vs thread) */
	pthread_cond_t cond;         /* wakes the thread for stop */
	bool stop;
	/* The run's backend name, copied by the controlling thread (start, update): the run
	 * writes it while mqcap_run_start() opens the handles, so the exporter's thread must not
	 * read it from the run. */
	char backend[32];
	char *text;                  /* last snapshot, served by the endpoint */
	size_t len;
	_Atomic uint64_t file_errors;
	char errmsg[MQCAP__ERRLEN];
	char errcopy[MQCAP__ERRLEN]; /* what mqcap_metrics_errmsg() returns */
};

/* ---- formatting ---- */

/* A label value with \, " and newline escaped, as the text format requires. */
static void put_label(FILE *f, const char *name, const char *v)
{
	fprintf(f, "%s=\"", name);
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
	fputc('"', f);
}

static void put_cpu_label(FILE *f, const char *name, int cpu)
{
	char b[16];

	if (cpu < 0)
		snprintf(b, sizeof(b), "none");
	else
		snprintf(b, sizeof(b), "%d", cpu);
	put_label(f, name, b);
}

static void header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* "xdp (copy)" -> "xdp": the backend label stays one of a few words; the full name is in
 * mqcap_backend_info. */
static void backend_word(const char *name, char *out, size_t len)
{
	size_t n = strcspn(name, " ");

	if (n >= len)
		n = len - 1;
	memcpy(out, name, n);
	out[n] = '\0';
}

struct qrow {
	char dev[16];
	char queue[12];
	struct mqcap_stats st;
	uint64_t handoff, write;
};

static void queue_labels(FILE *f, const struct qrow *q, const char *backend)
{
	put_label(f, "device", q->dev);
	fputc(',', f);
	put_label(f, "queue", q->queue);
	fputc(',', f);
	put_label(f, "backend", backend);
}

/* One counter family over all queues; off is the member of struct mqcap_stats. */
static void queue_family(FILE *f, const struct qrow *rows, unsigned n, const char *backend,
			 const char *name, const char *help, size_t off)
{
	unsigned i;

	header(f, name, "counter", help);
	for (i = 0; i < n; i++) {
		uint64_t v;

		memcpy(&v, (const char *)&rows[i].st + off, sizeof(v));
		fprintf(f, "%s{", name);
		queue_labels(f, &rows[i], backend);
		fprintf(f, "} %llu\n", (unsigned long long)v);
	}
}

/* One per-worker counter family, labelled worker and planned CPU (bounded cardinality: the
 * planned CPU, not where the thread happens to run). field: offset of a uint64_t counter in
 * struct mqcap_run_worker_stats. */
static void worker_series(FILE *f, const mqcap_run_t *r, const struct mqcap_plan *plan,
			  unsigned nw, const char *name, const char *help, size_t field)
{
	header(f, name, "counter", help);
	for (unsigned i = 0; i < nw; i++) {
		struct mqcap_run_worker_stats ws;
		int cpu = plan && i < plan->nworkers ? plan->workers[i].cpu : -1;
		uint64_t v;
		char w[12];

		if (mqcap_run_worker_stats(r, i, &ws))
			memset(&ws, 0, sizeof(ws));
		memcpy(&v, (const char *)&ws + field, sizeof(v));
		snprintf(w, sizeof(w), "%u", i);
		fprintf(f, "%s{", name);
		put_label(f, "worker", w);
		fputc(',', f);
		put_cpu_label(f, "cpu", cpu);
		fprintf(f, "} %llu\n", (unsigned long long)v);
	}
}

static int format_run(const mqcap_run_t *r, const struct mqcap_metrics_opts *o, const char *bname,
		      uint64_t file_errors, char **text, size_t *len)
{
	static const struct {
		const char *stage;
		size_t off; /* in struct mqcap_stats, or SIZE_MAX for the run's own stages */
	} stages[] = {
		{ "ring", offsetof(struct mqcap_stats, drop_ring_full) },
		{ "fill", offsetof(struct mqcap_stats, drop_fill_empty) },
		{ "nosock", offsetof(struct mqcap_stats, drop_no_socket) },
		{ "invalid", offsetof(struct mqcap_stats, drop_invalid) },
		{ "handoff", SIZE_MAX },
		{ "write", SIZE_MAX },
	};
	const struct mqcap_plan *plan = mqcap_run_plan(r);
	const mqcap_topo_t *topo = mqcap_run_topo(r);
	unsigned nq = mqcap_run_queue_count(r), nw = mqcap_run_worker_count(r), i, s;
	char backend[16];
	struct qrow *rows;
	char *buf = NULL;
	size_t blen = 0;
	FILE *f;

	rows = calloc(nq ? nq : 1, sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	f = open_memstream(&buf, &blen);
	if (!f) {
		free(rows);
		return -ENOMEM;
	}
	backend_word(bname, backend, sizeof(backend));
	for (i = 0; i < nq; i++) {
		const struct mqcap_plan_queue *pq = plan && i < plan->nqueues ? &plan->queues[i] : NULL;
		struct mqcap_run_queue_info qi;

		/* queues a device gained during the run are not in the plan */
		if (!pq && mqcap_run_queue_info(r, i, &qi) == 0) {
			snprintf(rows[i].dev, sizeof(rows[i].dev), "%s", qi.dev_name);
			snprintf(rows[i].queue, sizeof(rows[i].queue), "%u", qi.queue);
		} else {
			snprintf(rows[i].dev, sizeof(rows[i].dev), "%s", pq ? pq->dev : "");
			snprintf(rows[i].queue, sizeof(rows[i].queue), "%u", pq ? pq->queue : i);
		}
		/* Before start (no handle yet) the counters are zero, which is what they are. */
		if (mqcap_run_queue_stats(r, i, &rows[i].st))
			memset(&rows[i].st, 0, sizeof(rows[i].st));
		rows[i].handoff = mqcap_run_queue_handoff_drops(r, i);
		rows[i].write = o && o->write_drops ? o->write_drops(o->user, i) : 0;
	}

	queue_family(f, rows, nq, backend, "mqcap_received_packets_total",
		     "Packets delivered to the program, per RX queue.",
		     offsetof(struct mqcap_stats, received));
	queue_family(f, rows, nq, backend, "mqcap_received_bytes_total",
		     "Wire bytes of the packets delivered, per RX queue.",
		     offsetof(struct mqcap_stats, bytes));
	queue_family(f, rows, nq, backend, "mqcap_filtered_packets_total",
		     "Packets the user-side filter rejected, per RX queue.",
		     offsetof(struct mqcap_stats, filtered));
	queue_family(f, rows, nq, backend, "mqcap_kernel_seen_packets_total",
		     "Packets the kernel saw for the RX queue (xdp: the XDP program; packet: the socket's filter accepted).",
		     offsetof(struct mqcap_stats, kernel_seen));
	queue_family(f, rows, nq, backend, "mqcap_passed_packets_total",
		     "xdp: packets of the RX queue left to the network stack.",
		     offsetof(struct mqcap_stats, passed_stack));

	header(f, "mqcap_dropped_packets_total", "counter",
	       "Packets lost to the capture, per RX queue and by the stage where they were dropped.");
	for (i = 0; i < nq; i++) {
		for (s = 0; s < sizeof(stages) / sizeof(stages[0]); s++) {
			uint64_t v;

			if (stages[s].off != SIZE_MAX)
				memcpy(&v, (const char *)&rows[i].st + stages[s].off, sizeof(v));
			else
				v = !strcmp(stages[s].stage, "handoff") ? rows[i].handoff : rows[i].write;
			fputs("mqcap_dropped_packets_total{", f);
			queue_labels(f, &rows[i], backend);
			fputc(',', f);
			put_label(f, "stage", stages[s].stage);
			fprintf(f, "} %llu\n", (unsigned long long)v);
		}
	}

	worker_series(f, r, plan, nw, "mqcap_worker_packets_total",
		      "Packets each worker thread handed to the program's callback.",
		      offsetof(struct mqcap_run_worker_stats, packets));
	worker_series(f, r, plan, nw, "mqcap_worker_bytes_total",
		      "Wire bytes of the packets each worker thread handed to the callback.",
		      offsetof(struct mqcap_run_worker_stats, bytes));

	header(f, "mqcap_poller_info", "gauge",
	       "Placement of each RX queue's kernel poller (threaded NAPI thread or IRQ) and of the worker reading the queue.");
	for (i = 0; plan && i < plan->nqueues && i < nq; i++) {
		const struct mqcap_plan_queue *pq = &plan->queues[i];
		char w[12];

		snprintf(w, sizeof(w), "%d", pq->worker);
		fputs("mqcap_poller_info{", f);
		put_label(f, "device", rows[i].dev);
		fputc(',', f);
		put_label(f, "queue", rows[i].queue);
		fputc(',', f);
		put_cpu_label(f, "poller_cpu", pq->poller_cpu);
		fputc(',', f);
		put_cpu_label(f, "planned_poller_cpu", pq->planned_poller_cpu);
		fputc(',', f);
		put_label(f, "worker", w);
		fputc(',', f);
		put_cpu_label(f, "reader_cpu", pq->cpu);
		fputc(',', f);
		put_label(f, "placement", pq->planned_poller_cpu >= 0 && pq->cpu >= 0 && topo ?
			  mqcap_topo_dist_name(pq->dist) : "unknown");
		fputs("} 1\n", f);
	}

	header(f, "mqcap_backend_info", "gauge", "The capture backend in use.");
	fputs("mqcap_backend_info{", f);
	put_label(f, "backend", backend);
	fputc(',', f);
	put_label(f, "name", bname);
	fputs("} 1\n", f);

	header(f, "mqcap_metrics_file_errors_total", "counter",
	       "Failed writes of the metrics file (--metrics-file).");
	fprintf(f, "mqcap_metrics_file_errors_total %llu\n", (unsigned long long)file_errors);

	free(rows);
	if (ferror(f)) {
		fclose(f);
		free(buf);
		return -ENOMEM;
	}
	if (fclose(f)) {
		free(buf);
		return -ENOMEM;
	}
	*text = buf;
	*len = blen;
	return 0;
}

int mqcap_metrics_format(const mqcap_run_t *r, const struct mqcap_metrics_opts *opts, char **text,
			 size_t *len)
{
	struct mqcap_metrics_opts o = { 0 };

	if (!r || !text || !len)
		return -EINVAL;
	if (opts)
		memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));
	return format_run(r, &o, mqcap_run_backend_name(r), 0, text, len);
}

/* ---- the file ---- */

/* A temporary name beside the file that no one can guess: "BASE.tmp." + 12 random hex digits
 * (a pid is guessable, and a link planted at a guessed name was followed as root). */
static void tmp_name(char *out, size_t len, const char *base)
{
	uint64_t r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r ^= (uint64_t)clock() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&r;
	snprintf(out, len, "%s.tmp.%012llx", base, (unsigned long long)(r & 0xffffffffffffull));
}

/* Write text to m->file through a temporary file in the same folder and rename(), so the
 * textfile collector never reads half a file. The folder may be one others can write: the
 * temporary file is created with openat(O_CREAT|O_EXCL|O_NOFOLLOW) under a random name (never
 * opening anything that exists, a planted link included), mode 0666 & ~umask, and renameat()
 * replaces whatever has the final name (a link itself, never what it points at). Called with
 * m->lock held. */
static int write_file(struct mqcap_metrics *m, const char *text, size_t len)
{
	const char *sl = strrchr(m->file, '/'), *base = sl ? sl + 1 : m->file;
	char dir[PATH_MAX], tmp[NAME_MAX + 1];
	size_t done = 0;
	int dirfd, fd = -1, e;

	if (snprintf(dir, sizeof(dir), "%.*s", sl ? (int)(sl - m->file) + (sl == m->file) : 1,
		     sl ? m->file : ".") >= (int)sizeof(dir) || strlen(base) + 18 > NAME_MAX) {
		e = ENAMETOOLONG;
		goto fail;
	}
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		e = errno;
		goto fail;
	}
	for (int i = 0; i < 8 && fd < 0; i++) {
		tmp_name(tmp, sizeof(tmp), base);
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		e = errno;
		close(dirfd);
		goto fail;
	}
	while (done < len) {
		ssize_t w = write(fd, text + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			e = w < 0 ? errno : EIO;
			close(fd);
			goto fail_tmp;
		}
		done += (size_t)w;
	}
	if (close(fd)) {
		e = errno;
		goto fail_tmp;
	}
	if (renameat(dirfd, tmp, dirfd, base)) {
		e = errno;
		goto fail_tmp;
	}
	close(dirfd);
	return 0;
fail_tmp:
	unlinkat(dirfd, tmp, 0);
	close(dirfd);
fail:
	atomic_fetch_add_explicit(&m->file_errors, 1, memory_order_relaxed);
	snprintf(m->errmsg, sizeof(m->errmsg), "cannot write the metrics file %s: %s", m->file,
		 strerror(e));
	return -e;
}

/* Format, keep for the endpoint, write the file. */
static int snapshot(struct mqcap_metrics *m)
{
	char *text, backend[sizeof(m->backend)];
	size_t len;
	int rc;

	pthread_mutex_lock(&m->lock);
	memcpy(backend, m->backend, sizeof(backend));
	pthread_mutex_unlock(&m->lock);
	rc = format_run(m->run, &m->o, backend,
			atomic_load_explicit(&m->file_errors, memory_order_relaxed), &text, &len);
	if (rc)
		return rc;
	pthread_mutex_lock(&m->lock);
	free(m->text);
	m->text = text;
	m->len = len;
	if (m->file)
		rc = write_file(m, text, len);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static void *exporter_main(void *arg)
{
	struct mqcap_metrics *m = arg;
	struct timespec until;

	pthread_mutex_lock(&m->lock);
	while (!m->stop) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += m->o.interval_ms / 1000;
		until.tv_nsec += (long)(m->o.interval_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!m->stop && pthread_cond_timedwait(&m->cond, &m->lock, &until) != ETIMEDOUT)
			;
		if (m->stop)
			break;
		pthread_mutex_unlock(&m->lock);
		snapshot(m); /* failures are counted and kept in errmsg */
		pthread_mutex_lock(&m->lock);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

/* ---- the endpoint ---- */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(body), (void *)body,
								   MHD_RESPMEM_PERSISTENT);
	enum MHD_Result r;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	r = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_len, void **state)
{
	struct mqcap_metrics *m = cls;
	struct MHD_Response *resp;
	enum MHD_Result r;

	(void)version;
	(void)upload;
	(void)upload_len;
	(void)state;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET /metrics\n");
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, "only /metrics\n");
	/* Copy under the lock: the snapshot may be replaced while the response is sent. */
	pthread_mutex_lock(&m->lock);
	resp = MHD_create_response_from_buffer(m->len, m->text, MHD_RESPMEM_MUST_COPY);
	pthread_mutex_unlock(&m->lock);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
	r = MHD_queue_response(c, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return r;
}

/* libmicrohttpd logs to stderr unless given a logger: the library never prints. */
static void mhd_quiet(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	(void)fmt;
	(void)ap;
}

/* "PORT", "ADDR:PORT", "[ADDR6]:PORT" -> a socket address. Numeric addresses only: the
 * endpoint listens exactly where it was told, never where a name happens to resolve. */
static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sl)
{
	char host[INET6_ADDRSTRLEN + 2] = "127.0.0.1";
	const char *port = s, *colon;
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
				  .ai_socktype = SOCK_STREAM }, *ai;
	char *end;
	unsigned long p;
	size_t hl;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return mqcap__last_error_fmt(EINVAL, "metrics address '%s': expected [ADDR6]:PORT", s);
		hl = (size_t)(close - s - 1);
		port = close + 2;
		if (hl == 0 || hl >= sizeof(host))
			return mqcap__last_error_fmt(EINVAL, "metrics address '%s': bad IPv6 address", s);
		memcpy(host, s + 1, hl);
		host[hl] = '\0';
	} else if ((colon = strrchr(s, ':'))) {
		hl = (size_t)(colon - s);
		if (hl == 0 || hl >= sizeof(host) || memchr(s, ':', hl))
			return mqcap__last_error_fmt(EINVAL, "metrics address '%s': expected ADDR:PORT, PORT or [ADDR6]:PORT", s);
		memcpy(host, s, hl);
		host[hl] = '\0';
		port = colon + 1;
	}
	errno = 0;
	p = strtoul(port, &end, 10);
	if (!*port || *end || errno || p > 65535 || port[0] == '-' || port[0] == '+')
		return mqcap__last_error_fmt(EINVAL, "metrics address '%s': port must be 0-65535", s);
	if (getaddrinfo(host, port, &hints, &ai) || !ai)
		return mqcap__last_error_fmt(EINVAL, "metrics address '%s': '%s' is not a numeric IPv4 or IPv6 address", s, host);
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*sl = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static int start_httpd(struct mqcap_metrics *m)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD;
	int rc = parse_listen(m->o.listen, &ss, &sl), fd;

	if (rc)
		return rc;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* A port given as 0 is passed as 0 too: the kernel picks one (read back below). */
	errno = 0;
	m->httpd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, m,
				    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_CONN_TIMEOUT_S,
				    MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_CONN_LIMIT,
				    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384,
				    MHD_OPTION_EXTERNAL_LOGGER, mhd_quiet, NULL,
				    MHD_OPTION_END);
	if (!m->httpd) {
		int e = errno ? errno : EADDRINUSE;

		return mqcap__last_error_fmt(e, "cannot listen for metrics on %s: %s", m->o.listen,
					     strerror(e));
	}
	info = MHD_get_daemon_info(m->httpd, MHD_DAEMON_INFO_LISTEN_FD);
	fd = info ? info->listen_fd : -1;
	sl = sizeof(ss);
	if (fd >= 0 && !getsockname(fd, (struct sockaddr *)&ss, &sl))
		m->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
							 ((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

/* ---- life cycle ---- */

static void take_backend(struct mqcap_metrics *m);

mqcap_metrics_t *mqcap_metrics_start(const mqcap_run_t *r, const struct mqcap_metrics_opts *opts)
{
	struct mqcap_metrics *m;
	int rc;

	if (!r || !opts || opts->sz < offsetof(struct mqcap_metrics_opts, interval_ms)) {
		mqcap__last_error_fmt(EINVAL, "mqcap_metrics_start: no run or no options");
		return NULL;
	}
	if (!opts->listen && !opts->file) {
		mqcap__last_error_fmt(EINVAL, "metrics: neither a file nor an address to listen on");
		return NULL;
	}
	if (opts->file && !*opts->file) {
		mqcap__last_error_fmt(EINVAL, "metrics file: empty path");
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		mqcap__last_error_fmt(ENOMEM, "metrics: out of memory");
		return NULL;
	}
	memcpy(&m->o, opts, opts->sz < sizeof(m->o) ? opts->sz : sizeof(m->o));
	m->o.sz = sizeof(m->o);
	if (!m->o.interval_ms)
		m->o.interval_ms = 1000;
	m->run = r;
	m->file = opts->file ? strdup(opts->file) : NULL;
	m->o.file = NULL;
	pthread_mutex_init(&m->lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&m->cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (opts->file && !m->file) {
		mqcap__last_error_fmt(ENOMEM, "metrics: out of memory");
		goto fail;
	}
	/* The first snapshot before anything serves it: the endpoint never answers empty, and
	 * a file that cannot be written is an error now rather than a counter later. */
	take_backend(m);
	rc = snapshot(m);
	if (rc) {
		mqcap__last_error_fmt(-rc, "%s", m->errmsg[0] ? m->errmsg : "metrics: out of memory");
		goto fail;
	}
	if (m->o.listen && start_httpd(m))
		goto fail;
	m->o.listen = NULL; /* the caller's string is not kept */
	rc = pthread_create(&m->thread, NULL, exporter_main, m);
	if (rc) {
		mqcap__last_error_fmt(rc, "metrics: cannot start the exporter thread: %s", strerror(rc));
		goto fail;
	}
	m->thread_started = true;
	return m;
fail:
	rc = errno;
	mqcap_metrics_stop(m);
	errno = rc;
	return NULL;
}

/* In the controlling thread: the run's backend name is settled outside mqcap_run_start(). */
static void take_backend(struct mqcap_metrics *m)
{
	const char *b = mqcap_run_backend_name(m->run);

	pthread_mutex_lock(&m->lock);
	snprintf(m->backend, sizeof(m->backend), "%s", b ? b : "");
	pthread_mutex_unlock(&m->lock);
}

int mqcap_metrics_update(mqcap_metrics_t *m)
{
	if (!m)
		return -EINVAL;
	take_backend(m);
	return snapshot(m);
}

unsigned mqcap_metrics_listen_port(const mqcap_metrics_t *m)
{
	return m ? m->port : 0;
}

const char *mqcap_metrics_errmsg(const mqcap_metrics_t *m)
{
	struct mqcap_metrics *mm = (struct mqcap_metrics *)m;

	if (!m)
		return "";
	pthread_mutex_lock(&mm->lock);
	memcpy(mm->errcopy, mm->errmsg, sizeof(mm->errcopy));
	pthread_mutex_unlock(&mm->lock);
	return mm->errcopy;
}

void mqcap_metrics_stop(mqcap_metrics_t *m)
{
	if (!m)
		return;
	if (m->thread_started) {
		pthread_mutex_lock(&m->lock);
		m->stop = true;
		pthread_cond_signal(&m->cond);
		pthread_mutex_unlock(&m->lock);
		pthread_join(m->thread, NULL);
	}
	if (m->httpd)
		MHD_stop_daemon(m->httpd);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	free(m->text);
	free(m->file);
	free(m);
}
