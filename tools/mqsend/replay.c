/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * replay.c - load a pcap or pcapng file into memory for replay.
 *
 * The whole file is read before anything is sent, so a file that is not a capture, has
 * another link type, or holds a frame the device cannot carry is an error up front, and
 * sending never waits for the disk. libpcap reads both formats.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "cli.h"
#include "mqsend.h"

int mqs_file_load(const char *path, unsigned max_len, struct mqs_file *f)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	size_t cap = 0, used = 0, rcap = 0;
	uint64_t truncated = 0;
	pcap_t *p;
	int rc;

	memset(f, 0, sizeof(*f));
	p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!p) {
		cli_warn("%s: not a readable pcap or pcapng file: %s", path, errbuf);
		return -EINVAL;
	}
	if (pcap_datalink(p) != DLT_EN10MB) {
		cli_warn("%s: link type %s, but only Ethernet (EN10MB) can be sent", path,
			 pcap_datalink_val_to_name(pcap_datalink(p)) ?: "unknown");
		pcap_close(p);
		return -EINVAL;
	}
	while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
		if (h->caplen < 14) {
			cli_warn("%s: packet %llu is %u bytes, shorter than an Ethernet header", path,
				 (unsigned long long)f->n + 1, h->caplen);
			goto fail;
		}
		if (h->caplen > max_len) {
			cli_warn("%s: packet %llu is %u bytes, more than the device's MTU allows (%u)",
				 path, (unsigned long long)f->n + 1, h->caplen, max_len);
			goto fail;
		}
		if (h->caplen < h->len)
			truncated++;
		if (used + h->caplen > cap) {
			size_t ncap = cap ? cap * 2 : 1 << 20;
			uint8_t *nd;

			while (ncap < used + h->caplen)
				ncap *= 2;
			nd = realloc(f->data, ncap);
			if (!nd)
				goto nomem;
			f->data = nd;
			cap = ncap;
		}
		if (f->n == rcap) {
			size_t nr = rcap ? rcap * 2 : 1024;
			struct mqs_rec *r = realloc(f->recs, nr * sizeof(*r));

			if (!r)
				goto nomem;
			f->recs = r;
			rcap = nr;
		}
		memcpy(f->data + used, data, h->caplen);
		f->recs[f->n].ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
		f->recs[f->n].len = h->caplen;
		f->recs[f->n].off = (uint32_t)used;
		used += h->caplen;
		f->n++;
		if (used > (1ull << 31)) {
			cli_warn("%s: more than 2 GiB of packets; replay a smaller file", path);
			goto fail;
		}
	}
	if (rc == PCAP_ERROR) {
		cli_warn("%s: read error after %llu packets: %s", path, (unsigned long long)f->n,
			 pcap_geterr(p));
		goto fail;
	}
	pcap_close(p);
	if (!f->n) {
		cli_warn("%s: the file holds no packets", path);
		mqs_file_free(f);
		return -EINVAL;
	}
	/* Time must not run backwards between records, or original timing would stall. */
	for (uint64_t i = 1; i < f->n; i++)
		if (f->recs[i].ts_ns < f->recs[i - 1].ts_ns)
			f->recs[i].ts_ns = f->recs[i - 1].ts_ns;
	if (truncated)
		cli_warn("%s: %llu packets were captured truncated; sending the captured bytes", path,
			 (unsigned long long)truncated);
	return 0;
nomem:
	cli_warn("%s: out of memory loading the file", path);
fail:
	pcap_close(p);
	mqs_file_free(f);
	return -EINVAL;
}

void mqs_file_free(struct mqs_file *f)
{
	free(f->data);
	free(f->recs);
	memset(f, 0, sizeof(*f));
}
