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
	/* skb->queue_mapping of a received packet, minus the RX queue. Drivers record q + 1
	 * (skb_record_rx_queue); veth forwards the sender's TX queue q unchanged. SKF_AD_QUEUE
	 * reads the raw field, so the AF_PACKET queue check adds this. */
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
