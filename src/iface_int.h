/* SPDX-License-Identifier: BSD-2-Clause */
/* iface_int.h - what capture.c needs to know about a device: does it exist, its ifindex,
 * how many RX queues it has, and how its driver numbers them for classic BPF. */
#ifndef MQCAP_IFACE_INT_H
#define MQCAP_IFACE_INT_H

#include <stdbool.h>

#include "error_int.h"

struct mqcap__iface {
	unsigned ifindex;
	unsigned rx_queues;      /* real (active) RX queues */
	unsigned max_rx_queues;  /* what `ethtool -L` may raise rx_queues to (ethtool's
				  * maximums); rx_queues when the driver does not say */
	/* skb->queue_mapping of a received packet, minus the RX queue, as far as the open can
	 * tell: 1 where the driver records the queue (skb_record_rx_queue(): q + 1), 0 where
	 * the frames are another device's and keep its number (veth: the peer's TX queue q,
	 * which veth delivers on RX queue q; macvlan & co.: their lower device's value). From
	 * rtnetlink's IFLA_LINK (iface.c), never from the driver's name; a prior that the
	 * AF_PACKET backend checks against the received frames (qnum.c). SKF_AD_QUEUE reads the
	 * raw field, so the AF_PACKET queue check adds this. */
	unsigned queue_mapping_bias;
	bool up;                 /* IFF_UP */
	char driver[32];         /* ethtool driver name, "" if unknown */
};

/* Look up a device in the caller's network namespace. Returns 0, -ENODEV with
 * "no device named X in this network namespace", or another -errno with a message. */
int mqcap__iface_get(const char *name, struct mqcap__iface *ifc, struct mqcap__err *e);

/* Check that queue q exists: -ENODEV and "X has RX queues 0-3; queue 7 does not exist". */
int mqcap__iface_check_queue(const char *name, const struct mqcap__iface *ifc, unsigned q,
			     struct mqcap__err *e);

#endif
