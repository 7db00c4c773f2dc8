/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rss_check - verify that every captured frame arrived on the RX queue the user-space RSS
 * (include/mqcap/rss.h: Toeplitz + indirection table) predicts for it.
 *
 *   rss_check [--expect N] RSS_KEY RSS_TABLE Q0.pcap Q1.pcap ...
 *
 * File i holds the frames seen on RX queue i (pktlib.py capture-qm writes them). Prints the
 * frames per queue and every mismatch (the first 20 in full); exits 0 when all match (and,
 * with --expect, exactly N frames were checked), 1 otherwise, 2 on bad usage.
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqcap/rss.h"

int main(int argc, char **argv)
{
	uint8_t key[MQCAP_RSS_KEY_LEN];
	uint16_t table[MQCAP_RSS_TABLE_SIZE];
	unsigned long long total = 0, bad = 0, expect = 0;
	int a = 1, q, nq;
	bool have_expect = false;

	if (argc > 2 && !strcmp(argv[1], "--expect")) {
		expect = strtoull(argv[2], NULL, 10);
		have_expect = true;
		a = 3;
	}
	if (argc - a < 3) {
		fprintf(stderr, "usage: rss_check [--expect N] RSS_KEY RSS_TABLE Q0.pcap [Q1.pcap ...]\n");
		return 2;
	}
	if (mqcap_rss_key_parse(argv[a], key) || mqcap_rss_table_parse(argv[a + 1], table)) {
		fprintf(stderr, "rss_check: bad RSS_KEY or RSS_TABLE\n");
		return 2;
	}
	nq = argc - a - 2;
	for (q = 0; q < nq; q++) {
		char err[PCAP_ERRBUF_SIZE];
		struct pcap_pkthdr *h;
		const u_char *data;
		unsigned long long n = 0;
		pcap_t *p = pcap_open_offline(argv[a + 2 + q], err);
		int r;

		if (!p) {
			fprintf(stderr, "rss_check: %s\n", err);
			return 2;
		}
		while ((r = pcap_next_ex(p, &h, &data)) == 1) {
			uint32_t hash;
			uint16_t want = mqcap_rss_frame_queue(key, table, data, h->caplen, &hash);

			n++;
			if (want != q) {
				if (bad < 20) {
					unsigned i;

					printf("MISMATCH queue %d frame %llu: predicted queue %u (hash %08x):",
					       q, n - 1, want, hash);
					for (i = 0; i < h->caplen && i < 64; i++)
						printf("%s%02x", i % 4 ? "" : " ", data[i]);
					printf("\n");
				}
				bad++;
			}
		}
		pcap_close(p);
		printf("queue %d: %llu frames\n", q, n);
		total += n;
	}
	printf("checked %llu frames, %llu on a queue RSS did not predict\n", total, bad);
	if (have_expect && total != expect) {
		printf("expected %llu frames, got %llu\n", expect, total);
		return 1;
	}
	return bad ? 1 : 0;
}
