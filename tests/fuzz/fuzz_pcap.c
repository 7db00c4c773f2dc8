/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_pcap - a pcap or pcapng file of arbitrary bytes through the whole offline path:
 * mqcap_open("pcap:..."), a filter, bursts until the end or an error, counters, close.
 * Checks that every view lies within the snaplen and that an error always has a message.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mqcap/mqcap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	MQCAP_OPTS(o, .snaplen = 128, .filter = "ip or ip6 or vlan or arp");
	struct mqcap_pkt pkts[16];
	char name[64];
	int fd = memfd_create("fuzz_pcap", MFD_CLOEXEC), n;
	mqcap_t *c;

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(name, sizeof(name), "pcap:/proc/self/fd/%d", fd);
	/* the filter only some of the time, so the unfiltered path runs as well */
	if (size && data[size - 1] & 1)
		o.filter = NULL;
	c = mqcap_open(name, &o);
	if (!c) {
		/* both getters say "no error" rather than "" when no message was set */
		if (!strcmp(mqcap_last_error(), "no error"))
			abort();
		close(fd);
		return 0;
	}
	while ((n = mqcap_recv_burst(c, pkts, 16, 0)) > 0) {
		for (int i = 0; i < n; i++) {
			volatile uint8_t sink = 0;

			if (pkts[i].caplen > 128 || (pkts[i].caplen && !pkts[i].data))
				abort();
			for (uint32_t b = 0; b < pkts[i].caplen; b++)
				sink ^= pkts[i].data[b]; /* ASan checks every byte of the view */
			(void)sink;
		}
	}
	if (n < 0 && !strcmp(mqcap_errmsg(c), "no error"))
		abort();
	{
		struct mqcap_stats st;

		mqcap_stats(c, &st);
	}
	mqcap_close(c);
	close(fd);
	return 0;
}
