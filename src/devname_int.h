/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * devname_int.h - the capture-name grammar, parsed without touching the system.
 *
 *   name     := [prefix] devlist | "pcap:" FILE
 *   prefix   := "packet:" | "xdp:"
 *   devlist  := dev ("," dev)*
 *   dev      := IFNAME ["@" qlist]
 *   qlist    := qitem ("," qitem)*
 *   qitem    := NUM | NUM "-" NUM
 *
 * The comma is ambiguous: "eth1@1,5" is one device with queues 1 and 5, "eth1,eth2" two
 * devices. Rule: inside a queue list (after '@'), a comma followed by a digit continues the
 * queue list; a comma followed by anything else starts the next device. Linux allows
 * interface names that start with a digit; such a device cannot follow a queue list
 * ("eth1@0,2eth" reads "2" as a queue and then fails on "eth"), so put it first or after a
 * device without '@'. FILE after "pcap:" is taken verbatim (it may contain ',' and '@').
 * ':' cannot appear in a Linux interface name, so any ':' marks a prefix, and an unknown
 * prefix is an error rather than part of a name.
 *
 * A device named twice, a queue named twice (also through overlapping ranges) and queue
 * numbers above MQCAP__MAX_QUEUE are errors: each would deliver packets twice or never.
 */
#ifndef MQCAP_DEVNAME_INT_H
#define MQCAP_DEVNAME_INT_H

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "mqcap/mqcap.h"
#include "mqcap/queues.h"
#include "error_int.h"

#define MQCAP__MAX_DEVS 16
#define MQCAP__MAX_QUEUE (MQCAP_QUEUES_MAX - 1) /* largest queue number a name may select:
						 * the one limit of queues.h */
#define MQCAP__QMASK_WORDS ((MQCAP__MAX_QUEUE + 1) / 64)

struct mqcap__devspec {
	char name[IF_NAMESIZE];
	bool all_queues;                        /* no '@': every RX queue of the device */
	unsigned nqueues;                       /* queues set in qmask (0 when all_queues) */
	uint64_t qmask[MQCAP__QMASK_WORDS];     /* bit q: queue q selected */
};

struct mqcap__capname {
	enum mqcap_backend backend;             /* from the prefix; AUTO when there is none */
	char path[PATH_MAX];                    /* pcap: the file */
	unsigned ndevs;                         /* 0 for pcap: */
	struct mqcap__devspec devs[MQCAP__MAX_DEVS];
};

/* Parse name into out. Returns 0, or -EINVAL with a message that quotes the name and says
 * what is wrong where (e.g. "eth1@3-1: range end 1 below start 3"). */
int mqcap__capname_parse(const char *name, struct mqcap__capname *out, struct mqcap__err *e);

/* Fill out for the file path (backend pcap), as "pcap:PATH" would: for a name that is a
 * file because the options chose backend pcap. Returns 0 or -ENAMETOOLONG. */
int mqcap__capname_file(const char *path, struct mqcap__capname *out, struct mqcap__err *e);

static inline bool mqcap__devspec_has(const struct mqcap__devspec *d, unsigned q)
{
	if (d->all_queues)
		return true;
	return q <= MQCAP__MAX_QUEUE && (d->qmask[q / 64] >> (q % 64)) & 1;
}

/* Highest selected queue of a device with a queue list (undefined for all_queues). */
unsigned mqcap__devspec_max_queue(const struct mqcap__devspec *d);

#endif
