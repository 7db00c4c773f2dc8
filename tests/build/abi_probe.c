/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * abi_probe.c - built twice, against the frozen MQCAP_1.0 headers (tests/build/abi-1.0) and
 * against include/mqcap, both linked to the shared libmqcap.so of this tree (not the static
 * library the other tests use). Prints, one per line, where each 1.0 field of the output
 * structs lies and what the calls put in them, for a pcap replay through a handle and through
 * the runtime. abi_check.sh wants both outputs equal: the layout of 1.0's fields and what a
 * 1.0 program reads do not change. With --grown it also checks the other direction, a struct
 * larger than the library's (a newer header): the fields past the library's are zeroed, and a
 * size below 1.0's is refused.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "mqcap/mqcap.h"
#include "mqcap/run.h"

#define OFF(type, m) printf("offsetof %s.%s %zu\n", #type, #m, offsetof(struct type, m))

static void layout(void)
{
	OFF(mqcap_stats, received); OFF(mqcap_stats, bytes); OFF(mqcap_stats, filtered);
	OFF(mqcap_stats, kernel_seen); OFF(mqcap_stats, drop_ring_full);
	OFF(mqcap_stats, drop_fill_empty); OFF(mqcap_stats, drop_no_socket);
	OFF(mqcap_stats, drop_invalid); OFF(mqcap_stats, passed_stack);
	OFF(mqcap_queue_info, dev_name); OFF(mqcap_queue_info, ifindex);
	OFF(mqcap_queue_info, queue); OFF(mqcap_queue_info, dev);
	OFF(mqcap_run_queue_info, dev_name); OFF(mqcap_run_queue_info, queue);
	OFF(mqcap_run_queue_info, present); OFF(mqcap_run_queue_info, added);
	OFF(mqcap_run_worker_stats, ts_ns); OFF(mqcap_run_worker_stats, packets);
	OFF(mqcap_run_worker_stats, bytes); OFF(mqcap_run_worker_stats, bursts);
	OFF(mqcap_run_worker_stats, drop_handoff); OFF(mqcap_run_worker_stats, cpu);
	OFF(mqcap_run_worker_stats, done);
	OFF(mqcap_balance_worker_stats, delivered); OFF(mqcap_balance_worker_stats, load);
	OFF(mqcap_balance_poller_stats, drops); OFF(mqcap_balance_stats, max_mean);
	/* the option structs too: a 1.0 program passes its size, the library reads what fits */
	OFF(mqcap_opts, sz); OFF(mqcap_opts, backend); OFF(mqcap_opts, filter);
	OFF(mqcap_run_opts, sz);
}

static void print_stats(const char *what, const struct mqcap_stats *s)
{
	printf("%s received %llu bytes %llu filtered %llu kernel_seen %llu drops %llu %llu %llu %llu "
	       "passed %llu\n", what, (unsigned long long)s->received, (unsigned long long)s->bytes,
	       (unsigned long long)s->filtered, (unsigned long long)s->kernel_seen,
	       (unsigned long long)s->drop_ring_full, (unsigned long long)s->drop_fill_empty,
	       (unsigned long long)s->drop_no_socket, (unsigned long long)s->drop_invalid,
	       (unsigned long long)s->passed_stack);
}

static int handle(const char *name)
{
	MQCAP_OPTS(o);
	struct mqcap_pkt p[64];
	struct mqcap_stats st;
	struct mqcap_queue_info qi;
	mqcap_t *c = mqcap_open(name, &o);
	int n;

	if (!c) {
		printf("open %s: %s\n", name, mqcap_last_error());
		return 1;
	}
	while ((n = mqcap_recv_burst(c, p, 64, 1000)) > 0)
		;
	printf("recv end %d\n", n);
	memset(&st, 0xa5, sizeof(st));
	printf("mqcap_stats %d\n", mqcap_stats(c, &st));
	print_stats("handle", &st);
	memset(&st, 0xa5, sizeof(st));
	printf("mqcap_queue_stats %d\n", mqcap_queue_stats(c, 0, &st));
	print_stats("queue0", &st);
	memset(&qi, 0xa5, sizeof(qi));
	printf("mqcap_queue_info %d dev_name %s ifindex %u queue %u dev %u\n",
	       mqcap_queue_info(c, 0, &qi), qi.dev_name, qi.ifindex, qi.queue, qi.dev);
	n = mqcap_queue_info(c, 7, &qi);
	printf("mqcap_queue_info(7) %d message %s\n", n, n ? mqcap_errmsg(c) : "-");
	mqcap_close(c);
	return 0;
}

static int on_burst(void *user, unsigned worker, const struct mqcap_pkt *pkts, unsigned n)
{
	(void)user; (void)worker; (void)pkts; (void)n;
	return 0;
}

static int run(const char *name)
{
	MQCAP_RUN_OPTS(ro, .workers = 1, .flags = MQCAP_RUN_F_NO_PIN);
	struct mqcap_run_queue_info qi;
	struct mqcap_run_worker_stats ws;
	struct mqcap_stats st;
	mqcap_run_t *r = mqcap_run_open(name, &ro, on_burst, NULL);

	if (!r) {
		printf("run open %s: %s\n", name, mqcap_last_error());
		return 1;
	}
	if (mqcap_run_start(r) || mqcap_run_wait(r, 10000)) {
		printf("run: %s\n", mqcap_run_errmsg(r));
		mqcap_run_close(r);
		return 1;
	}
	memset(&st, 0xa5, sizeof(st));
	printf("mqcap_run_queue_stats %d\n", mqcap_run_queue_stats(r, 0, &st));
	print_stats("run queue0", &st);
	memset(&qi, 0xa5, sizeof(qi));
	printf("mqcap_run_queue_info %d dev_name %s queue %u present %d added %d\n",
	       mqcap_run_queue_info(r, 0, &qi), qi.dev_name, qi.queue, qi.present, qi.added);
	memset(&ws, 0xa5, sizeof(ws));
	printf("mqcap_run_worker_stats %d packets %llu bursts>0 %d done %d\n",
	       mqcap_run_worker_stats(r, 0, &ws), (unsigned long long)ws.packets, ws.bursts > 0,
	       ws.done);
	mqcap_run_close(r);
	return 0;
}

/* A struct as a newer header might grow it: past the library's fields, zeros. */
static int grown(const char *name)
{
	struct { struct mqcap_stats s; uint64_t later[4]; } big;
	MQCAP_OPTS(o);
	mqcap_t *c = mqcap_open(name, &o);
	int bad = 0, rc;

	if (!c)
		return 1;
	memset(&big, 0xa5, sizeof(big));
	rc = (mqcap_stats)(c, &big.s, sizeof(big));
	for (unsigned i = 0; i < 4; i++)
		bad |= big.later[i] != 0;
	printf("grown: rc %d, fields past the library's zeroed: %s\n", rc, bad ? "NO" : "yes");
	rc = (mqcap_stats)(c, &big.s, offsetof(struct mqcap_stats, passed_stack));
	printf("shrunk below 1.0: rc %d (want %d)\n", rc, -EINVAL);
	mqcap_close(c);
	return bad || rc != -EINVAL;
}

int main(int argc, char **argv)
{
	char name[4200];

	if (argc < 2) {
		fprintf(stderr, "usage: abi_probe PCAP [--grown]\n");
		return 2;
	}
	snprintf(name, sizeof(name), "pcap:%s", argv[1]);
	if (argc > 2 && !strcmp(argv[2], "--grown"))
		return grown(name);
	layout();
	return handle(name) | run(name);
}
