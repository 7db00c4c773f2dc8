/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * source_pcap.c - the offline backend: replay a pcap or pcapng file through the capture API.
 *
 * libpcap reads the file (both formats, either byte order, micro- or nanosecond stamps,
 * which we ask it to give us in nanoseconds). pcap_next_ex() keeps only one packet valid at
 * a time, so a burst copies its packets into an arena owned by the reader; the views stay
 * valid until release. A file that ends inside a record, or holds a record libpcap rejects,
 * delivers every good packet before it and then fails with the byte offset of the bad record.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "filter_int.h"
#include "source_int.h"

#define ARENA_BYTES (4u << 20)
#define MAX_RECORD 262144u      /* libpcap's largest accepted caplen */

struct pcapsrc {
	pcap_t *p;
	uint8_t *arena;
	size_t used;
	uint32_t snaplen;
	uint64_t good;           /* records read successfully */
	int err;                 /* sticky: -ENODATA at the end, -EBADMSG after corruption */
	char errmsg[MQCAP__ERRLEN];
	struct mqcap__filter filter;
	struct mqcap_stats st;
};

static void pcs_close(struct mqcap__reader *r)
{
	struct pcapsrc *s = r->priv;

	if (!s)
		return;
	if (s->p)
		pcap_close(s->p);
	mqcap__filter_free(&s->filter);
	free(s->arena);
	free(s);
	r->priv = NULL;
}

static int pcs_open(struct mqcap__reader *r, const struct mqcap_opts *o, struct mqcap__err *e)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct pcapsrc *s;
	FILE *fp;
	int err, dlt;

	s = calloc(1, sizeof(*s));
	if (!s)
		return mqcap__err_set(e, ENOMEM, "out of memory");
	r->priv = s;
	r->fd = -1;             /* a file is always ready */
	s->snaplen = o->snaplen;   /* capture.c gives the default */
	/* We open the file ourselves: fopen() says why it fails as an errno (ENOENT, EACCES,
	 * EISDIR...), where libpcap's open gives only text. What libpcap then rejects is the
	 * content: EINVAL, with libpcap's words ("unknown file format", "truncated dump file"). */
	fp = fopen(r->path, "rbe");
	if (!fp) {
		err = errno;
		err = mqcap__err_set(e, err, "pcap:%s: %s", r->path, strerror(err));
		goto fail;
	}
	s->p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!s->p) {
		fclose(fp); /* libpcap closes it only once it owns it */
		err = mqcap__err_set(e, EINVAL, "pcap:%s: %s", r->path, errbuf);
		goto fail;
	}
	dlt = pcap_datalink(s->p);
	if (dlt != DLT_EN10MB) {
		const char *n = pcap_datalink_val_to_name(dlt);

		err = mqcap__err_set(e, EPROTONOSUPPORT, "pcap:%s: link type %s (%d) is not "
				     "Ethernet; mqcap delivers Ethernet frames only",
				     r->path, n ? n : "unknown", dlt);
		goto fail;
	}
	err = mqcap__filter_compile(&s->filter, o->filter, dlt, s->snaplen, e);
	if (err)
		goto fail;
	/* recv() takes ftell() before each record to name where a bad one starts. glibc's
	 * ftell() is an lseek() system call until the stream knows its offset, which a seek
	 * records and later reads keep up to date: seek once here, not once per packet. */
	(void)fseek(pcap_file(s->p), 0, SEEK_CUR);
	s->arena = malloc(ARENA_BYTES);
	if (!s->arena) {
		err = mqcap__err_set(e, ENOMEM, "out of memory");
		goto fail;
	}
	return 0;
fail:
	pcs_close(r);
	return err;
}

static int pcs_recv(struct mqcap__reader *r, struct mqcap_pkt *pkts, unsigned max,
		    struct mqcap__err *e)
{
	struct pcapsrc *s = r->priv;
	unsigned n = 0;

	while (n < max && !s->err && ARENA_BYTES - s->used >= MAX_RECORD) {
		struct pcap_pkthdr *h;
		const u_char *data;
		long off = ftell(pcap_file(s->p));
		int rc = pcap_next_ex(s->p, &h, &data);
		uint32_t caplen;

		if (rc == PCAP_ERROR_BREAK) {
			s->err = -ENODATA;
			snprintf(s->errmsg, sizeof(s->errmsg), "pcap:%s: end of file after %llu "
				 "packets", r->path, (unsigned long long)s->good);
			break;
		}
		if (rc != 1) {
			s->err = -EBADMSG;
			snprintf(s->errmsg, sizeof(s->errmsg), "pcap:%s: corrupt or truncated record "
				 "at byte offset %ld, after %llu good packets: %s", r->path, off,
				 (unsigned long long)s->good, pcap_geterr(s->p));
			break;
		}
		s->good++;
		if (!mqcap__filter_match(&s->filter, data, h->caplen, h->len)) {
			s->st.filtered++;
			continue;
		}
		caplen = h->caplen < s->snaplen ? h->caplen : s->snaplen;
		if (caplen > MAX_RECORD)
			caplen = MAX_RECORD;
		memcpy(s->arena + s->used, data, caplen);
		pkts[n] = (struct mqcap_pkt){
			.data = s->arena + s->used,
			.caplen = caplen,
			.len = h->len,
			.ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec,
			.flags = caplen < h->len ? MQCAP_PKT_TRUNCATED : 0,
		};
		s->used += caplen;
		s->st.received++;
		s->st.bytes += h->len;
		n++;
	}
	/* packets first; the end or the error comes with the next call */
	if (n == 0 && s->err) {
		mqcap__err_set(e, s->err == -ENODATA ? ENODATA : EBADMSG, "%s", s->errmsg);
		return s->err;
	}
	return (int)n;
}

static void pcs_release(struct mqcap__reader *r)
{
	struct pcapsrc *s = r->priv;

	s->used = 0;
}

static int pcs_stats(struct mqcap__reader *r, struct mqcap_stats *st)
{
	struct pcapsrc *s = r->priv;

	*st = s->st;
	st->kernel_seen = s->good;
	return 0;
}

const struct mqcap__backend mqcap__backend_pcap = {
	.name = "pcap",
	.open = pcs_open,
	.recv = pcs_recv,
	.release = pcs_release,
	.stats = pcs_stats,
	.close = pcs_close,
};
