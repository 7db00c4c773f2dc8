/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * capture_qsel_cost - measure the two ways AF_PACKET can give each socket one RX queue:
 *
 *   capture_qsel_cost filter DEV SECONDS   mqcap's way: one socket per queue, each with a
 *                                          classic BPF program testing SKF_AD_QUEUE
 *   capture_qsel_cost fanout DEV SECONDS   one socket per queue in a PACKET_FANOUT_QM group
 *   capture_qsel_cost none DEV SECONDS     no capture (the baseline)
 *
 * Reads every ring until SECONDS pass and prints packets per queue and the machine's CPU
 * time (user+system+softirq from /proc/stat, all CPUs) spent meanwhile, so that running it
 * under the same offered load shows what each costs per packet. Run inside the receiver's
 * namespace while a sender offers a fixed rate. Not a test: a measuring tool whose numbers
 * back the choice documented in src/source_afpacket.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mqcap/mqcap.h"

#define MAXQ 16
#define BLOCK (256u << 10)
#define NBLOCKS 16

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* busy jiffies (user + nice + system + irq + softirq) of all CPUs */
static unsigned long long cpu_busy(void)
{
	unsigned long long u, n, s, idle, io, irq, sirq;
	FILE *f = fopen("/proc/stat", "re");

	if (!f || fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu", &u, &n, &s, &idle, &io,
			 &irq, &sirq) != 7) {
		if (f)
			fclose(f);
		return 0;
	}
	fclose(f);
	return u + n + s + irq + sirq;
}

static int fanout_open(const char *dev, unsigned q, unsigned group, uint8_t **ring)
{
	struct tpacket_req3 req = { .tp_block_size = BLOCK, .tp_block_nr = NBLOCKS,
				    .tp_frame_size = 2048, .tp_frame_nr = BLOCK / 2048 * NBLOCKS,
				    .tp_retire_blk_tov = 4 };
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				   .sll_ifindex = (int)if_nametoindex(dev) };
	int fd = socket(AF_PACKET, SOCK_RAW, 0), v = TPACKET_V3;

	(void)q;
	if (fd < 0 || setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v)) ||
	    setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)))
		return -1;
	*ring = mmap(NULL, (size_t)BLOCK * NBLOCKS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (*ring == MAP_FAILED || bind(fd, (struct sockaddr *)&sll, sizeof(sll)))
		return -1;
	v = (int)(group | (PACKET_FANOUT_QM << 16));
	if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &v, sizeof(v)))
		return -1;
	return fd;
}

int main(int argc, char **argv)
{
	uint64_t per_q[MAXQ] = { 0 };
	unsigned long long b0, b1;
	double secs, t0;
	unsigned nq = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: capture_qsel_cost filter|fanout|none DEV SECONDS\n");
		return 64;
	}
	secs = atof(argv[3]);
	b0 = cpu_busy();
	t0 = now_s();
	if (!strcmp(argv[1], "filter")) {
		char name[64];
		struct mqcap_pkt pkts[256];
		MQCAP_OPTS(o, .backend = MQCAP_BACKEND_PACKET, .ring_bytes = BLOCK * NBLOCKS);
		mqcap_t *c;

		snprintf(name, sizeof(name), "packet:%s", argv[2]);
		c = mqcap_open(name, &o);
		if (!c) {
			fprintf(stderr, "%s\n", mqcap_last_error());
			return 1;
		}
		nq = mqcap_queue_count(c);
		while (now_s() - t0 < secs) {
			int n = mqcap_recv_burst(c, pkts, 256, 100);

			for (int i = 0; i < n; i++)
				per_q[pkts[i].queue % MAXQ]++;
		}
		mqcap_close(c);
	} else if (!strcmp(argv[1], "fanout")) {
		struct pollfd pfd[MAXQ];
		uint8_t *ring[MAXQ];
		unsigned cur[MAXQ] = { 0 }, group = (unsigned)getpid() & 0xffff;
		char path[96];
		FILE *f;

		snprintf(path, sizeof(path), "/sys/class/net/%s/queues", argv[2]);
		for (nq = 0; nq < MAXQ; nq++) {
			snprintf(path, sizeof(path), "/sys/class/net/%s/queues/rx-%u/rps_cpus",
				 argv[2], nq);
			f = fopen(path, "re");
			if (!f)
				break;
			fclose(f);
		}
		for (unsigned q = 0; q < nq; q++) {
			pfd[q].fd = fanout_open(argv[2], q, group, &ring[q]);
			pfd[q].events = POLLIN;
			if (pfd[q].fd < 0) {
				perror("fanout socket");
				return 1;
			}
		}
		while (now_s() - t0 < secs) {
			poll(pfd, nq, 100);
			for (unsigned q = 0; q < nq; q++) {
				for (;;) {
					struct tpacket_block_desc *b =
						(void *)(ring[q] + (size_t)cur[q] * BLOCK);

					if (!(__atomic_load_n(&b->hdr.bh1.block_status,
							      __ATOMIC_ACQUIRE) & TP_STATUS_USER))
						break;
					/* join order = queue order: member q gets queue_mapping % nq */
					per_q[q] += b->hdr.bh1.num_pkts;
					__atomic_store_n(&b->hdr.bh1.block_status, TP_STATUS_KERNEL,
							 __ATOMIC_RELEASE);
					cur[q] = (cur[q] + 1) % NBLOCKS;
				}
			}
		}
	} else {
		usleep((useconds_t)(secs * 1e6));
	}
	b1 = cpu_busy();
	{
		uint64_t tot = 0;
		long hz = sysconf(_SC_CLK_TCK);

		printf("mode=%s queues=%u", argv[1], nq);
		for (unsigned q = 0; q < nq && q < MAXQ; q++) {
			printf(" q%u=%llu", q, (unsigned long long)per_q[q]);
			tot += per_q[q];
		}
		printf(" total=%llu cpu_busy_s=%.2f\n", (unsigned long long)tot,
		       (double)(b1 - b0) / (double)hz);
	}
	return 0;
}
