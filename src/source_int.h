/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * source_int.h - the contract between the capture handle (capture.c) and one backend
 * (source_afpacket.c, source_afxdp.c, source_pcap.c).
 *
 * A handle owns one struct mqcap__reader per selected (device, RX queue). The backend fills
 * in its private state at open and serves that one queue afterwards; capture.c does the
 * round robin over readers, the waiting (epoll over reader fds) and the totals.
 */
#ifndef MQCAP_SOURCE_INT_H
#define MQCAP_SOURCE_INT_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "mqcap/mqcap.h"
#include "error_int.h"

struct mqcap__backend;

/* One RX queue of one device, read through one backend. */
struct mqcap__reader {
	const struct mqcap__backend *be;
	char dev_name[IF_NAMESIZE];  /* device, or the file path's basename for pcap: */
	const char *path;            /* pcap: the file; NULL otherwise */
	unsigned ifindex;
	unsigned queue;              /* RX queue id */
	unsigned dev;                /* index of the device in the capture name */
	bool first_of_dev;           /* first reader of its device: reports its outgoing frames
				      * (direction OUT/INOUT), so that they are not repeated */
	bool eof;                    /* recv said -ENODATA: capture.c reads it no more */
	int fd;                      /* polls readable when packets wait; -1 if none */
	void *priv;                  /* the backend's state */
};

struct mqcap__backend {
	const char *name;            /* as mqcap_backend_name() shows it */
	/* Open r (dev_name/ifindex/queue/path already set). On failure: -errno, a message in
	 * e, and nothing left open. */
	int (*open)(struct mqcap__reader *r, const struct mqcap_opts *o, struct mqcap__err *e);
	/* Up to max packets as views, never blocking. n >= 0, -ENODATA at end of file, or
	 * -errno with a message in e. Views stay valid until release(). */
	int (*recv)(struct mqcap__reader *r, struct mqcap_pkt *pkts, unsigned max,
		    struct mqcap__err *e);
	/* Give back everything returned by recv() so far. */
	void (*release)(struct mqcap__reader *r);
	/* Fill st with this queue's counters (cumulative since open). */
	int (*stats)(struct mqcap__reader *r, struct mqcap_stats *st);
	/* The name shown to users for this reader, e.g. "xdp (copy)"; NULL means be->name. */
	const char *(*mode_name)(const struct mqcap__reader *r);
	/* packet: only. The device numbers its RX queues as queue_mapping q + offset (qnum.c):
	 * rebuild this reader's queue check; lock: for good. -errno with a message in e. */
	int (*renumber)(struct mqcap__reader *r, unsigned offset, bool lock, struct mqcap__err *e);
	void (*close)(struct mqcap__reader *r);
};

extern const struct mqcap__backend mqcap__backend_afpacket;
extern const struct mqcap__backend mqcap__backend_afxdp;
extern const struct mqcap__backend mqcap__backend_pcap;

#endif
