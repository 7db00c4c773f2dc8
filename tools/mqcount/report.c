/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * report.c - what mqcount prints: the plan, a table each interval (per queue and per thread:
 * pps, Mbps, drops by where they happened), the final summary, or the same as JSON lines.
 *
 * Drops, by where they happen:
 *   ring    the socket's RX ring was full: the reader was too slow (TPACKET tp_drops, XSK rx_ring_full)
 *   fill    xdp: no free UMEM frame to receive into (the reader held them all)
 *   nosock  xdp: the XDP program had no socket bound for the queue
 *   invalid xdp: invalid descriptors and other kernel drops
 *   handoff split mode: the poller's ring to its consumer was full (the consumer was too slow)
 * "filtered" (rejected by a user-space filter) is not a drop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "mqcount.h"

/* Drops before the packet reached us (in the kernel). Hand-off drops happen after: those
 * packets are in `received`, so they are counted apart. */
static uint64_t q_drops(const struct qsample *q)
{
	return q->st.drop_ring_full + q->st.drop_fill_empty + q->st.drop_no_socket +
	       q->st.drop_invalid;
}

/* Queues the run gained since the last look (a device grew: MQCAP_RUN_F_NEW_QUEUES): room
 * and names for them. Their previous sample is zero, as their counters were. */
static void grow(struct report *rep)
{
	unsigned n = mqcap_run_queue_count(rep->run);
	char (*qname)[40];
	struct qsample *qprev, *qcur;

	if (n <= rep->nq)
		return;
	qname = realloc(rep->qname, n * sizeof(*qname));
	if (qname)
		rep->qname = qname;
	qprev = realloc(rep->qprev, n * sizeof(*qprev));
	if (qprev)
		rep->qprev = qprev;
	qcur = realloc(rep->qcur, n * sizeof(*qcur));
	if (qcur)
		rep->qcur = qcur;
	if (!qname || !qprev || !qcur)
		return; /* out of memory: the table keeps the queues it had */
	for (unsigned i = rep->nq; i < n; i++) {
		struct mqcap_run_queue_info qi;

		mqcap_run_queue_info(rep->run, i, &qi);
		snprintf(rep->qname[i], sizeof(rep->qname[i]), "%s@%u", qi.dev_name, qi.queue);
		memset(&rep->qprev[i], 0, sizeof(rep->qprev[i]));
		memset(&rep->qcur[i], 0, sizeof(rep->qcur[i]));
	}
	rep->nq = n;
}

static void sample(struct report *rep)
{
	grow(rep);
	for (unsigned i = 0; i < rep->nq; i++) {
		mqcap_run_queue_stats(rep->run, i, &rep->qcur[i].st);
		rep->qcur[i].handoff = mqcap_run_queue_handoff_drops(rep->run, i);
	}
	for (unsigned i = 0; i < rep->nw; i++)
		mqcap_run_worker_stats(rep->run, i, &rep->wcur[i]);
}

int report_init(struct report *rep, mqcap_run_t *run, bool json, bool quiet)
{
	const struct mqcap_plan *pl = mqcap_run_plan(run);

	memset(rep, 0, sizeof(*rep));
	rep->run = run;
	rep->json = json;
	rep->quiet = quiet;
	rep->nq = mqcap_run_queue_count(run);
	rep->nw = mqcap_run_worker_count(run);
	rep->qname = calloc(rep->nq, sizeof(*rep->qname));
	rep->qprev = calloc(rep->nq, sizeof(*rep->qprev));
	rep->qcur = calloc(rep->nq, sizeof(*rep->qcur));
	rep->wprev = calloc(rep->nw, sizeof(*rep->wprev));
	rep->wcur = calloc(rep->nw, sizeof(*rep->wcur));
	if (!rep->qname || !rep->qprev || !rep->qcur || !rep->wprev || !rep->wcur)
		return -1;
	for (unsigned i = 0; i < rep->nq; i++)
		snprintf(rep->qname[i], sizeof(rep->qname[i]), "%s@%u", pl->queues[i].dev,
			 pl->queues[i].queue);
	rep->t0_ns = rep->tprev_ns = cli_now_ns();
	return 0;
}

void report_free(struct report *rep)
{
	free(rep->qname);
	free(rep->qprev);
	free(rep->qcur);
	free(rep->wprev);
	free(rep->wcur);
}

static void json_plan(struct report *rep)
{
	const struct mqcap_plan *pl = mqcap_run_plan(rep->run);
	struct json j;

	json_doc_begin(&j, stdout, "mqcount", "plan");
	json_key(&j, "workers");
	json_arr_open(&j);
	for (unsigned w = 0; w < pl->nworkers; w++) {
		json_obj_open(&j);
		json_kv_u64(&j, "worker", w);
		json_kv_i64(&j, "cpu", pl->workers[w].cpu);
		json_key(&j, "queues");
		json_arr_open(&j);
		for (unsigned i = 0; i < pl->nqueues; i++) {
			if (pl->queues[i].worker != (int)w)
				continue;
			json_obj_open(&j);
			/* queue names of a pcap: file carry the user's file name; --balance with more
			 * workers than queues plans the extra workers beside queue i mod nq */
			json_kv_str(&j, "queue", rep->qname[i % rep->nq]);
			if (rep->offline) { /* a file has no kernel poller to place */
				json_key(&j, "poller_cpu");
				json_null(&j);
				json_key(&j, "distance");
				json_null(&j);
			} else {
				json_kv_i64(&j, "poller_cpu", pl->queues[i].planned_poller_cpu);
				json_kv_str(&j, "distance", mqcap_topo_dist_name(pl->queues[i].dist));
			}
			json_obj_close(&j);
		}
		json_arr_close(&j);
		json_kv_str(&j, "why", rep->offline ? "offline file" : pl->workers[w].why);
		json_obj_close(&j);
	}
	json_arr_close(&j);
	json_obj_close(&j);
	json_end(&j);
}

void report_plan(struct report *rep)
{
	const struct mqcap_plan *pp = mqcap_run_poller_plan(rep->run);
	char buf[8192];

	if (rep->json) {
		json_plan(rep);
		return;
	}
	if (rep->offline) {
		/* The planner places kernel pollers next to their readers; a file has none, so
		 * its advice ("pin the poller here") would mean nothing: the workers only. */
		const struct mqcap_plan *pl = mqcap_run_plan(rep->run);

		printf("plan (offline file: no kernel poller to place):\n");
		for (unsigned w = 0; w < pl->nworkers; w++) {
			bool first = true;

			printf("worker %u  cpu %d  ", w, pl->workers[w].cpu);
			for (unsigned i = 0; i < pl->nqueues; i++) {
				if (pl->queues[i].worker != (int)w)
					continue;
				printf("%s%s", first ? "" : ",", rep->qname[i]);
				first = false;
			}
			putchar('\n');
		}
		fflush(stdout);
		return;
	}
	if (pp) {
		mqcap_plan_format(mqcap_run_topo(rep->run), pp, buf, sizeof(buf));
		printf("pollers (one thread per queue, copying into a ring for its consumer):\n%s", buf);
		printf("consumers:\n");
	} else {
		printf("plan:\n");
	}
	mqcap_plan_format(mqcap_run_topo(rep->run), mqcap_run_plan(rep->run), buf, sizeof(buf));
	printf("%s", buf);
	fflush(stdout);
}

/* How each worker shares CPU time with its queues' kernel pollers, as the runtime applied it
 * (mqcap_run_worker_arrangement()): one line per worker, or one JSON document. */
void report_arrangement(struct report *rep)
{
	unsigned nw = mqcap_run_worker_count(rep->run);
	struct json j;

	if (rep->offline)
		return;
	if (rep->json) {
		json_doc_begin(&j, stdout, "mqcount", "arrangement");
		json_key(&j, "workers");
		json_arr_open(&j);
	}
	for (unsigned w = 0; w < nw; w++) {
		const char *a = mqcap_run_worker_arrangement(rep->run, w);
		char kind[32];

		if (!a)
			continue;
		snprintf(kind, sizeof(kind), "%.*s", (int)strcspn(a, ":"), a);
		if (rep->json) {
			json_obj_open(&j);
			json_kv_u64(&j, "worker", w);
			json_kv_str(&j, "arrangement", kind);
			json_kv_str(&j, "detail", a);
			json_obj_close(&j);
		} else if (!rep->quiet) {
			printf("arrangement: worker %u: %s\n", w, a);
		}
	}
	if (rep->json) {
		json_arr_close(&j);
		json_obj_close(&j);
		json_end(&j);
	}
	fflush(stdout);
}

static double rate(uint64_t now, uint64_t prev, double secs)
{
	return secs > 0 && now >= prev ? (double)(now - prev) / secs : 0.0;
}

/* present/added: mqcap_run_queue_info() of a queue; NULL for the total. */
static void json_queue(struct json *j, const char *name, const struct qsample *q, double pps,
		       double mbps, const struct mqcap_run_queue_info *qi)
{
	json_obj_open(j);
	json_kv_str(j, "queue", name);
	if (qi) {
		json_kv_bool(j, "present", qi->present);
		json_kv_bool(j, "added", qi->added);
	}
	json_kv_u64(j, "received", q->st.received);
	json_kv_u64(j, "bytes", q->st.bytes);
	json_kv_u64(j, "filtered", q->st.filtered);
	json_kv_u64(j, "kernel_seen", q->st.kernel_seen);
	json_kv_u64(j, "drop_ring_full", q->st.drop_ring_full);
	json_kv_u64(j, "drop_fill_empty", q->st.drop_fill_empty);
	json_kv_u64(j, "drop_no_socket", q->st.drop_no_socket);
	json_kv_u64(j, "drop_invalid", q->st.drop_invalid);
	json_kv_u64(j, "drop_handoff", q->handoff);
	json_kv_u64(j, "dropped", q_drops(q));
	json_kv_u64(j, "passed_stack", q->st.passed_stack);
	json_kv_double(j, "pps", pps, 0);
	json_kv_double(j, "mbps", mbps, 3);
	json_obj_close(j);
}

static void json_thread(struct json *j, unsigned w, const struct mqcap_run_worker_stats *s,
			double pps, double mbps)
{
	json_obj_open(j);
	json_kv_u64(j, "thread", w);
	json_kv_i64(j, "cpu", s->cpu);
	json_kv_u64(j, "packets", s->packets);
	json_kv_u64(j, "bytes", s->bytes);
	json_kv_u64(j, "drop_handoff", s->drop_handoff);
	json_kv_double(j, "pps", pps, 0);
	json_kv_double(j, "mbps", mbps, 3);
	json_obj_close(j);
}

static void sum_queues(const struct report *rep, const struct qsample *qs, struct qsample *tot)
{
	memset(tot, 0, sizeof(*tot));
	for (unsigned i = 0; i < rep->nq; i++) {
		tot->st.received += qs[i].st.received;
		tot->st.bytes += qs[i].st.bytes;
		tot->st.filtered += qs[i].st.filtered;
		tot->st.kernel_seen += qs[i].st.kernel_seen;
		tot->st.drop_ring_full += qs[i].st.drop_ring_full;
		tot->st.drop_fill_empty += qs[i].st.drop_fill_empty;
		tot->st.drop_no_socket += qs[i].st.drop_no_socket;
		tot->st.drop_invalid += qs[i].st.drop_invalid;
		tot->st.passed_stack += qs[i].st.passed_stack;
		tot->handoff += qs[i].handoff;
	}
}

static const char *table_head =
	"  %-18s %10s %10s %12s %9s %9s %9s %9s %9s\n";

static void print_qrow(const char *name, double pps, double mbps, const struct qsample *q)
{
	char p[24], m[24];

	printf("  %-18s %10s %10s %12llu %9llu %9llu %9llu %9llu %9llu\n", name,
	       cli_fmt_rate(pps, "pps", p, sizeof(p)), cli_fmt_rate(mbps * 1e6, "bps", m, sizeof(m)),
	       (unsigned long long)q->st.received, (unsigned long long)q->st.drop_ring_full,
	       (unsigned long long)q->st.drop_fill_empty, (unsigned long long)q->st.drop_no_socket,
	       (unsigned long long)q->st.drop_invalid, (unsigned long long)q->handoff);
}

void report_tick(struct report *rep)
{
	uint64_t now = cli_now_ns();
	double secs = (double)(now - rep->tprev_ns) / 1e9;
	struct qsample tot, totp;
	char p[24], m[24];

	sample(rep);
	sum_queues(rep, rep->qcur, &tot);
	sum_queues(rep, rep->qprev, &totp);
	if (rep->json) {
		struct json j;

		json_doc_begin(&j, stdout, "mqcount", "interval");
		json_kv_double(&j, "elapsed", (double)(now - rep->t0_ns) / 1e9, 3);
		json_key(&j, "queues");
		json_arr_open(&j);
		for (unsigned i = 0; i < rep->nq; i++) {
			struct mqcap_run_queue_info qi;

			mqcap_run_queue_info(rep->run, i, &qi);
			json_queue(&j, rep->qname[i], &rep->qcur[i],
				   rate(rep->qcur[i].st.received, rep->qprev[i].st.received, secs),
				   rate(rep->qcur[i].st.bytes, rep->qprev[i].st.bytes, secs) * 8 / 1e6,
				   &qi);
		}
		json_arr_close(&j);
		json_key(&j, "threads");
		json_arr_open(&j);
		for (unsigned w = 0; w < rep->nw; w++) {
			double ws = (double)(rep->wcur[w].ts_ns - rep->wprev[w].ts_ns) / 1e9;

			if (!rep->wprev[w].ts_ns)
				ws = secs;
			json_thread(&j, w, &rep->wcur[w],
				    rate(rep->wcur[w].packets, rep->wprev[w].packets, ws),
				    rate(rep->wcur[w].bytes, rep->wprev[w].bytes, ws) * 8 / 1e6);
		}
		json_arr_close(&j);
		json_key(&j, "total");
		json_queue(&j, "total", &tot, rate(tot.st.received, totp.st.received, secs),
			   rate(tot.st.bytes, totp.st.bytes, secs) * 8 / 1e6, NULL);
		bal_json(&j, rep->run);
		json_obj_close(&j);
		json_end(&j);
	} else if (!rep->quiet) {
		printf("\n%.0fs  %s  total %s  %s  dropped %llu\n", (double)(now - rep->t0_ns) / 1e9,
		       mqcap_run_backend_name(rep->run),
		       cli_fmt_rate(rate(tot.st.received, totp.st.received, secs), "pps", p, sizeof(p)),
		       cli_fmt_rate(rate(tot.st.bytes, totp.st.bytes, secs) * 8, "bps", m, sizeof(m)),
		       (unsigned long long)q_drops(&tot));
		printf(table_head, "queue", "rate", "bits/s", "received", "d:ring", "d:fill", "d:nosock",
		       "d:invalid", "d:handoff");
		for (unsigned i = 0; i < rep->nq; i++)
			print_qrow(rep->qname[i],
				   rate(rep->qcur[i].st.received, rep->qprev[i].st.received, secs),
				   rate(rep->qcur[i].st.bytes, rep->qprev[i].st.bytes, secs) * 8 / 1e6,
				   &rep->qcur[i]);
		printf("  %-18s %4s %10s %10s %12s\n", "thread", "cpu", "rate", "bits/s", "packets");
		for (unsigned w = 0; w < rep->nw; w++) {
			double ws = (double)(rep->wcur[w].ts_ns - rep->wprev[w].ts_ns) / 1e9;
			char name[16];

			if (!rep->wprev[w].ts_ns)
				ws = secs;
			snprintf(name, sizeof(name), "%u", w);
			printf("  %-18s %4d %10s %10s %12llu\n", name, rep->wcur[w].cpu,
			       cli_fmt_rate(rate(rep->wcur[w].packets, rep->wprev[w].packets, ws), "pps", p,
					    sizeof(p)),
			       cli_fmt_rate(rate(rep->wcur[w].bytes, rep->wprev[w].bytes, ws) * 8, "bps", m,
					    sizeof(m)),
			       (unsigned long long)rep->wcur[w].packets);
		}
		bal_print(rep->run);
	}
	fflush(stdout);
	memcpy(rep->qprev, rep->qcur, rep->nq * sizeof(*rep->qcur));
	memcpy(rep->wprev, rep->wcur, rep->nw * sizeof(*rep->wcur));
	rep->tprev_ns = now;
}

int report_summary(struct report *rep, const struct vresult *vr, const char *error)
{
	uint64_t now = cli_now_ns();
	double secs = (double)(now - rep->t0_ns) / 1e9;
	struct qsample tot;
	uint64_t wsum = 0, seen;
	int rc = 0;
	char p[24], m[24];

	sample(rep);
	sum_queues(rep, rep->qcur, &tot);
	for (unsigned w = 0; w < rep->nw; w++)
		wsum += rep->wcur[w].packets;
	seen = tot.st.received + tot.st.filtered + q_drops(&tot);
	/* The threads handed exactly what the queues received to the callback; in split mode the
	 * pollers received what the consumers got plus what the hand-off dropped; with --balance
	 * groups every packet is one copy per group. */
	if (wsum + tot.handoff != tot.st.received * bal_copies(rep->run))
		rc = -1;
	if (rep->json) {
		struct json j;

		json_doc_begin(&j, stdout, "mqcount", "summary");
		json_kv_double(&j, "elapsed", secs, 3);
		json_kv_str(&j, "backend", mqcap_run_backend_name(rep->run));
		json_key(&j, "queues");
		json_arr_open(&j);
		for (unsigned i = 0; i < rep->nq; i++) {
			struct mqcap_run_queue_info qi;

			mqcap_run_queue_info(rep->run, i, &qi);
			json_queue(&j, rep->qname[i], &rep->qcur[i],
				   rate(rep->qcur[i].st.received, 0, secs),
				   rate(rep->qcur[i].st.bytes, 0, secs) * 8 / 1e6, &qi);
		}
		json_arr_close(&j);
		json_key(&j, "threads");
		json_arr_open(&j);
		for (unsigned w = 0; w < rep->nw; w++)
			json_thread(&j, w, &rep->wcur[w], rate(rep->wcur[w].packets, 0, secs),
				    rate(rep->wcur[w].bytes, 0, secs) * 8 / 1e6);
		json_arr_close(&j);
		json_key(&j, "total");
		json_queue(&j, "total", &tot, rate(tot.st.received, 0, secs),
			   rate(tot.st.bytes, 0, secs) * 8 / 1e6, NULL);
		json_kv_u64(&j, "seen", seen);
		json_kv_u64(&j, "threads_packets", wsum);
		json_kv_bool(&j, "adds_up", !rc);
		json_key(&j, "queue_reports");
		json_arr_open(&j);
		for (unsigned i = 0, n = mqcap_run_queue_reports(rep->run, 0, NULL, 0); i < n; i++) {
			char msg[256];

			mqcap_run_queue_reports(rep->run, i, msg, sizeof(msg));
			if (*msg)
				json_str(&j, msg);
		}
		json_arr_close(&j);
		bal_json(&j, rep->run);
		if (vr) {
			json_key(&j, "verify");
			json_obj_open(&j);
			json_kv_u64(&j, "flows", vr->flows);
			json_kv_u64(&j, "payloads", vr->payloads);
			json_kv_u64(&j, "expected", vr->expected);
			json_kv_u64(&j, "lost", vr->lost);
			json_kv_u64(&j, "duplicates", vr->duplicates);
			json_kv_u64(&j, "reordered", vr->reordered);
			json_kv_u64(&j, "corrupt", vr->corrupt);
			json_kv_u64(&j, "foreign", vr->foreign);
			json_kv_u64(&j, "flows_with_loss", vr->flows_with_loss);
			json_obj_close(&j);
		}
		if (error)
			json_kv_str(&j, "error", error);
		json_kv_str(&j, "backend_reason", mqcap_run_backend_reason(rep->run));
		json_kv_str(&j, "stack_warning", mqcap_run_stack_warning(rep->run)); /* NULL: null */
		json_obj_close(&j);
		json_end(&j);
		return rc;
	}
	printf("\n== mqcount summary: %.2f s, backend %s\n", secs, mqcap_run_backend_name(rep->run));
	printf("backend: %s\n", mqcap_run_backend_reason(rep->run));
	printf(table_head, "queue", "avg rate", "avg bits/s", "received", "d:ring", "d:fill",
	       "d:nosock", "d:invalid", "d:handoff");
	for (unsigned i = 0; i < rep->nq; i++) {
		struct mqcap_run_queue_info qi;
		char name[48];

		/* a queue the device lost, or gained, during the run says so */
		mqcap_run_queue_info(rep->run, i, &qi);
		snprintf(name, sizeof(name), "%s%s", rep->qname[i],
			 !qi.present ? " (gone)" : qi.added ? " (new)" : "");
		print_qrow(name, rate(rep->qcur[i].st.received, 0, secs),
			   rate(rep->qcur[i].st.bytes, 0, secs) * 8 / 1e6, &rep->qcur[i]);
	}
	print_qrow("total", rate(tot.st.received, 0, secs), rate(tot.st.bytes, 0, secs) * 8 / 1e6, &tot);
	printf("  %-18s %4s %12s\n", "thread", "cpu", "packets");
	for (unsigned w = 0; w < rep->nw; w++) {
		char name[16];

		snprintf(name, sizeof(name), "%u", w);
		printf("  %-18s %4d %12llu\n", name, rep->wcur[w].cpu,
		       (unsigned long long)rep->wcur[w].packets);
	}
	bal_print(rep->run);
	printf("seen %llu = received %llu + filtered %llu + dropped %llu (ring %llu, fill %llu, "
	       "nosock %llu, invalid %llu)\n",
	       (unsigned long long)seen, (unsigned long long)tot.st.received,
	       (unsigned long long)tot.st.filtered, (unsigned long long)q_drops(&tot),
	       (unsigned long long)tot.st.drop_ring_full, (unsigned long long)tot.st.drop_fill_empty,
	       (unsigned long long)tot.st.drop_no_socket, (unsigned long long)tot.st.drop_invalid);
	if (tot.handoff && bal_copies(rep->run) > 1)
		printf("of the %llu copies of the received (one per group), %llu were dropped at the "
		       "poller->worker hand-off\n",
		       (unsigned long long)tot.st.received * bal_copies(rep->run),
		       (unsigned long long)tot.handoff);
	else if (tot.handoff)
		printf("of the received, %llu were dropped at the poller->consumer hand-off\n",
		       (unsigned long long)tot.handoff);
	if (tot.st.kernel_seen)
		printf("the kernel counted %llu for these queues (%llu still queued when we stopped), "
		       "passed %llu to the network stack\n",
		       (unsigned long long)tot.st.kernel_seen,
		       (unsigned long long)(tot.st.kernel_seen > seen ? tot.st.kernel_seen - seen : 0),
		       (unsigned long long)tot.st.passed_stack);
	printf("threads counted %llu packets%s; average %s, %s; loss %.3f%%\n",
	       (unsigned long long)wsum, rc ? " (DOES NOT MATCH the queues)" : "",
	       cli_fmt_rate(rate(tot.st.received, 0, secs), "pps", p, sizeof(p)),
	       cli_fmt_rate(rate(tot.st.bytes, 0, secs) * 8, "bps", m, sizeof(m)),
	       seen ? 100.0 * ((double)q_drops(&tot) + (double)tot.handoff / bal_copies(rep->run)) /
			      (double)seen : 0.0);
	if (vr)
		printf("verify: %llu flows, %llu mqsend packets, %llu lost (%.3f%% of %llu expected, "
		       "in %llu flows), %llu duplicates, %llu reordered, %llu corrupt, %llu other packets\n",
		       (unsigned long long)vr->flows, (unsigned long long)vr->payloads,
		       (unsigned long long)vr->lost,
		       vr->expected ? 100.0 * (double)vr->lost / (double)vr->expected : 0.0,
		       (unsigned long long)vr->expected, (unsigned long long)vr->flows_with_loss,
		       (unsigned long long)vr->duplicates, (unsigned long long)vr->reordered,
		       (unsigned long long)vr->corrupt, (unsigned long long)vr->foreign);
	if (error)
		printf("stopped by an error: %s\n", error);
	fflush(stdout);
	return rc;
}
