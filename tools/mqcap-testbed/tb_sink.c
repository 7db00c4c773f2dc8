/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tb_sink.c - `mqcap-testbed sink NAME`: the physical bound of capture on this machine. Attaches
 * bpf/xdp_sink.bpf.c (count per RX queue, then XDP_DROP) to the receiver in native mode until
 * stopped, then reports what it absorbed. make eval runs it like a capture tool at each offered
 * load, so every capture figure can show each tool as a fraction of what the receiving core
 * takes in when nothing is copied to user space.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>

#include "cli.h"
#include "testbed.h"
#include "xdp_sink.h"
#include "xdp_sink.skel.h"

/* Sum one slot of the per-CPU counters over every possible CPU. */
static int read_slot(int map_fd, __u32 slot, int ncpu, struct mqcap_sink_counters *sum)
{
	struct mqcap_sink_counters *v = calloc((size_t)ncpu, sizeof(*v));
	int i;

	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(map_fd, &slot, v)) {
		int e = -errno;

		free(v);
		return e;
	}
	memset(sum, 0, sizeof(*sum));
	for (i = 0; i < ncpu; i++) {
		sum->packets += v[i].packets;
		sum->bytes += v[i].bytes;
	}
	free(v);
	return 0;
}

static void report(int map_fd, unsigned queues, double secs, bool json)
{
	unsigned shown = queues < MQCAP_SINK_MAX_QUEUES ? queues : MQCAP_SINK_MAX_QUEUES, q;
	int ncpu = libbpf_num_possible_cpus();
	uint64_t tp = 0, tb = 0;

	if (json)
		printf("{\"tool\":\"mqcap-testbed\",\"type\":\"sink\",\"version\":1,"
		       "\"seconds\":%.3f,\"queues\":[", secs);
	/* Queues past the map's size share its last slot: it is counted in the totals only. */
	for (q = 0; q <= shown; q++) {
		struct mqcap_sink_counters c = { 0 };
		__u32 slot = q < shown ? q : MQCAP_SINK_MAX_QUEUES;

		if (ncpu <= 0 || read_slot(map_fd, slot, ncpu, &c)) {
			cli_warn("cannot read the sink's counters (slot %u)", slot);
			continue;
		}
		tp += c.packets;
		tb += c.bytes;
		if (q == shown)
			break;
		if (json)
			printf("%s{\"queue\":%u,\"packets\":%llu,\"bytes\":%llu}", q ? "," : "", q,
			       (unsigned long long)c.packets, (unsigned long long)c.bytes);
		else
			printf("queue %-4u %14llu packets %16llu bytes\n", q,
			       (unsigned long long)c.packets, (unsigned long long)c.bytes);
	}
	if (json)
		printf("],\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 "}\n", tp, tb);
	else
		printf("sink: %" PRIu64 " packets, %" PRIu64 " bytes dropped in %.3f s\n", tp, tb, secs);
}

static const char sink_usage[] =
"Usage: mqcap-testbed sink NAME [-d SECONDS] [--json]\n"
"Attach an XDP program that counts each frame per RX queue and drops it to the receiver of\n"
"instance NAME, until SIGINT/SIGTERM or -d; then print what it absorbed. The bound of any\n"
"capture on this machine; the receiver's network stack gets nothing meanwhile.\n";

int tb_cmd_sink(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 } };
	uint64_t dur_ms = 0, t0, deadline;
	struct mqcap_xdp_sink *skel = NULL;
	struct bpf_link *link = NULL;
	unsigned rxq = 0, txq = 0;
	struct tb_names n;
	bool json = false;
	int c, ifindex, rc = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "d:h", lo, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (cli_parse_duration_ms(optarg, "-d", &dur_ms))
				return 2;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(sink_usage, stdout);
			return 0;
		default:
			fputs(sink_usage, stderr);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		cli_warn("sink takes one instance name");
		fputs(sink_usage, stderr);
		return 2;
	}
	if (tb_names_init(&n, argv[optind]))
		return 2;
	if (geteuid() != 0)
		cli_die(1, "must run as root: sink attaches an XDP program (nothing was changed)");
	if (!tb_netns_exists(n.rx_ns))
		cli_die(1, "no testbed instance %s (namespace %s missing)", n.name, n.rx_ns);
	/* XDP links are made over netlink in the caller's namespace: go where the device is. */
	c = tb_netns_enter(n.rx_ns);
	if (c)
		cli_die(1, "cannot enter namespace %s: %s", n.rx_ns, strerror(-c));
	ifindex = (int)if_nametoindex(n.rx_dev);
	if (!ifindex) {
		cli_warn("%s: no device %s: %s", n.rx_ns, n.rx_dev, strerror(errno));
		goto out;
	}
	if (tb_dev_queues(n.rx_dev, &rxq, &txq) || rxq == 0)
		rxq = 1;
	skel = mqcap_xdp_sink__open_and_load();
	if (!skel) {
		cli_warn("cannot load the sink program: %s", strerror(errno));
		goto out;
	}
	/* A link, not a netlink attachment: the program goes away with this process, however
	 * it ends, and a capture already attached to the device makes this fail (EBUSY) rather
	 * than replacing it. */
	link = bpf_program__attach_xdp(skel->progs.mqcap_xdp_sink, ifindex);
	if (!link) {
		cli_warn("cannot attach the sink to %s (another XDP program there?): %s", n.rx_dev,
			 strerror(errno));
		goto out;
	}
	cli_stop_on_signals();
	t0 = cli_now_ns();
	deadline = dur_ms ? t0 + dur_ms * 1000000ull : 0;
	if (json)
		printf("{\"tool\":\"mqcap-testbed\",\"type\":\"sink_ready\",\"version\":1,\"device\":\"%s\",\"queues\":%u}\n",
		       n.rx_dev, rxq);
	else
		printf("sink on %s/%s, %u queues: counting and dropping every frame\n", n.rx_ns,
		       n.rx_dev, rxq);
	fflush(stdout);
	while (!cli_stop_requested() && (!deadline || cli_now_ns() < deadline))
		usleep(20000);
	report(bpf_map__fd(skel->maps.sink_counters), rxq,
	       (double)(cli_now_ns() - t0) / 1e9, json);
	rc = 0;
out:
	bpf_link__destroy(link);
	mqcap_xdp_sink__destroy(skel);
	tb_netns_restore();
	return rc;
}
