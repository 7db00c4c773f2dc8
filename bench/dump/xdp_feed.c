/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xdp_feed - push the paper's workload (64-byte TCP frames, one source, 4096 rotating
 * destinations) into a veth's receiver the way a NIC would: as bare frames in its ring,
 * through BPF_PROG_RUN's live-frames mode and bpf/xdp_feed.bpf.c. Unpaced: it sends as fast
 * as the calling CPU can (millions of frames per second), so the receiver is always
 * overloaded and what a capture tool takes is its capacity. What the veth put into its
 * peer's ring, and what it dropped because that ring was full, are the veth's own counters
 * (ethtool -S DEV: tx_queue_0_xdp_xmit and tx_queue_0_xdp_xmit_errors on the sending end).
 *
 *   xdp_feed -i DEV -d SECONDS [-D DST_MAC]        (bench/dump/run, PARTS=feed)
 *
 * Run it pinned (taskset): veth puts frames on the peer's RX queue (CPU number mod queues).
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xdp_feed.skel.h"

#define FRAME_LEN 60            /* 64 bytes on the wire with the FCS */
#define CHUNK (1u << 18)        /* frames per BPF_PROG_RUN: ~25 ms at 10 Mpps */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* One's complement sum of the 16-bit words of buf, as stored (the byte order cancels out
 * when the folded sum is stored back the same way). */
static uint32_t sum16(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2) {
		uint16_t w;

		memcpy(&w, p + i, 2);
		s += w;
	}
	return s;
}

static int parse_mac(const char *s, uint8_t mac[ETH_ALEN])
{
	unsigned v[ETH_ALEN];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -1;
	for (int i = 0; i < ETH_ALEN; i++) {
		if (v[i] > 0xff)
			return -1;
		mac[i] = (uint8_t)v[i];
	}
	return 0;
}

static int dev_mac(const char *dev, uint8_t mac[ETH_ALEN])
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), rc;

	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	rc = ioctl(fd, SIOCGIFHWADDR, &ifr);
	close(fd);
	if (rc)
		return -1;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	return 0;
}

/* The template: Ethernet, IPv4 198.18.0.1 -> (destination set per frame), TCP 1024 -> 80
 * SYN, padded to 60 bytes. Fills the program's partial checksums. */
static void build_frame(uint8_t *f, const uint8_t src[ETH_ALEN], const uint8_t dst[ETH_ALEN],
			struct mqcap_xdp_feed *skel)
{
	struct ethhdr *eth = (struct ethhdr *)f;
	struct iphdr *ip = (struct iphdr *)(eth + 1);
	struct tcphdr *tcp = (struct tcphdr *)(ip + 1);
	struct pseudo { uint32_t saddr, daddr; uint8_t zero, proto; uint16_t len; } ph;

	memset(f, 0, FRAME_LEN);
	memcpy(eth->h_dest, dst, ETH_ALEN);
	memcpy(eth->h_source, src, ETH_ALEN);
	eth->h_proto = htons(ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons(sizeof(*ip) + sizeof(*tcp));
	ip->ttl = 64;
	ip->protocol = IPPROTO_TCP;
	ip->saddr = htonl(0xc6120001); /* 198.18.0.1 */
	tcp->source = htons(1024);
	tcp->dest = htons(80);
	tcp->seq = htonl(1);
	tcp->doff = 5;
	tcp->syn = 1;
	tcp->window = htons(65535);
	/* daddr and both checksums are 0 here: the partial sums leave them out */
	skel->rodata->ip_part = sum16(ip, sizeof(*ip));
	ph = (struct pseudo){ .saddr = ip->saddr, .daddr = 0, .zero = 0, .proto = IPPROTO_TCP,
			   .len = htons(sizeof(*tcp)) };
	skel->rodata->l4_part = sum16(&ph, sizeof(ph)) + sum16(tcp, sizeof(*tcp));
	skel->rodata->dst_base = 0x0a010000; /* 10.1.0.0 */
	skel->rodata->ndst = 4096;
}

/* Frames the program sent, over every CPU it ran on. */
static unsigned long long sent_total(const struct mqcap_xdp_feed *skel)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *v;
	unsigned long long sum = 0;
	uint32_t key = 0;

	if (ncpu <= 0 || !(v = calloc((size_t)ncpu, sizeof(*v))))
		return 0;
	if (!bpf_map_lookup_elem(bpf_map__fd(skel->maps.feed_sent), &key, v))
		for (int i = 0; i < ncpu; i++)
			sum += v[i];
	free(v);
	return sum;
}

static void usage(FILE *o)
{
	fprintf(o, "usage: xdp_feed -i DEV -d SECONDS [-D DST_MAC]\n"
		   "  push 64-byte TCP frames (4096 destinations) into DEV's veth peer as bare\n"
		   "  frames, as fast as this CPU can, for SECONDS; prints how many it pushed.\n"
		   "  The veth's counters (ethtool -S DEV) say how many its peer took.\n"
		   "  -D: the frames' destination MAC (default broadcast).\n");
}

int main(int argc, char **argv)
{
	const char *dev = NULL;
	double secs = 0, t0, t;
	uint8_t frame[FRAME_LEN], src[ETH_ALEN], dst[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct xdp_md ctx = { .data_end = FRAME_LEN };
	struct mqcap_xdp_feed *skel;
	unsigned long long pushed;
	int c, err;

	while ((c = getopt(argc, argv, "i:d:D:h")) != -1) {
		switch (c) {
		case 'i': dev = optarg; break;
		case 'd': secs = atof(optarg); break;
		case 'D':
			if (parse_mac(optarg, dst)) {
				fprintf(stderr, "xdp_feed: -D: not a MAC address: '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!dev || secs <= 0) {
		usage(stderr);
		return 2;
	}
	if (!if_nametoindex(dev) || dev_mac(dev, src)) {
		fprintf(stderr, "xdp_feed: unknown device '%s' (not in this network namespace?)\n", dev);
		return 2;
	}
	skel = mqcap_xdp_feed__open();
	if (!skel) {
		fprintf(stderr, "xdp_feed: opening the program: %s\n", strerror(errno));
		return 1;
	}
	skel->rodata->out_ifindex = if_nametoindex(dev);
	build_frame(frame, src, dst, skel);
	err = mqcap_xdp_feed__load(skel);
	if (err) {
		fprintf(stderr, "xdp_feed: loading the program: %s (needs root)\n", strerror(-err));
		mqcap_xdp_feed__destroy(skel);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	t0 = now_s();
	do {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = sizeof(frame),
			    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = CHUNK,
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES);

		err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.mqcap_xdp_feed), &o);
		if (err) {
			fprintf(stderr, "xdp_feed: BPF_PROG_RUN (live frames, kernel 5.18+): %s\n",
				strerror(-err));
			mqcap_xdp_feed__destroy(skel);
			return 1;
		}
		t = now_s() - t0;
	} while (t < secs && !stop);
	pushed = sent_total(skel);
	printf("xdp_feed: %llu frames pushed to %s in %.3f s (%.2f Mpps)\n", pushed, dev, t,
	       (double)pushed / t / 1e6);
	mqcap_xdp_feed__destroy(skel);
	return 0;
}
