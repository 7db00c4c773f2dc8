/* SPDX-License-Identifier: BSD-2-Clause */
/* ring_int.h - test hooks for the SPSC ring (include/mqcap/ring.h). */
#ifndef MQCAP_RING_INT_H
#define MQCAP_RING_INT_H

#include <stdint.h>

#include "mqcap/ring.h"

/*
 * Move an empty, idle ring's free-running indices to idx (both sides), so tests can start
 * just below 2^32 and watch the wrap-around. Only while neither side is running.
 */
void mqcap__ring_spsc_set_index(struct mqcap_ring_spsc *r, uint32_t idx);

#endif
