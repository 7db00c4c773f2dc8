/* SPDX-License-Identifier: BSD-2-Clause */
/* flow_int.h - the flow key behind mqcap_flow_hash() (balance.h), for the scheduler's tests
 * and the simulation. */
#ifndef MQCAP_FLOW_INT_H
#define MQCAP_FLOW_INT_H

#include <stdint.h>

struct mqcap__flow_key {
	uint8_t saddr[16];  /* network order; IPv4 in the first 4 bytes, MAC in the first 6 */
	uint8_t daddr[16];
	uint16_t sport;     /* host order; 0 for 2-tuple flows */
	uint16_t dport;
	uint16_t proto;     /* IP protocol, or the EtherType for non-IP frames */
	uint8_t alen;       /* 4, 16, or 6 (MAC) */
};

/* Fill k from a frame (zeroed first). 0, or -1 for a frame shorter than an Ethernet header. */
int mqcap__flow_key(const uint8_t *data, uint32_t caplen, uint32_t flags,
		    struct mqcap__flow_key *k);

/* The symmetric hash of a key (what mqcap_flow_hash() returns). */
uint32_t mqcap__flow_key_hash(const struct mqcap__flow_key *k);

#endif
