/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * capture_int.h - opening a capture handle on an explicit set of queues: what mqcap_open() does
 * once it has parsed the name, and what the runtime (run.c) calls with its planner's output,
 * so that a set of queues travels as a structure and is never written back into a name.
 */
#ifndef MQCAP_CAPTURE_INT_H
#define MQCAP_CAPTURE_INT_H

#include <net/if.h>

#include "mqcap/mqcap.h"
#include "abi_int.h" /* the mqcap__ implementations of the sized output calls */

/* One RX queue of one device. */
struct mqcap__qsel {
	char dev[IF_NAMESIZE];
	unsigned queue;
};

/*
 * Open a handle that reads exactly these queues, in this order (mqcap_queue_info(h, i) is
 * qs[i]); a device's queues need not be adjacent. backend: the backend a capture name's prefix
 * chose (MQCAP_BACKEND_AUTO: none, then opts->backend decides, as in mqcap_open()); not
 * MQCAP_BACKEND_PCAP (open a file with mqcap_open()). Every device and queue is checked as
 * mqcap_open() checks them. NULL + errno with the message in mqcap_last_error().
 */
mqcap_t *mqcap__open_queues(const struct mqcap__qsel *qs, unsigned n, enum mqcap_backend backend,
			    const struct mqcap_opts *opts);

/*
 * Add readers for these queues to an open live handle, with its backend and its options (each
 * new queue gets a ring of the size the others got: the memory budget was divided when the
 * handle opened). For an RX queue that a device gained during a capture (the runtime's
 * queue watch, run.c). All or nothing: 0, or -errno with the message in mqcap_errmsg(h) and
 * the handle as it was. Only the thread that receives on h may call it: it reallocates the
 * readers; mqcap_wake() from other threads stays safe (it touches only the eventfd).
 */
int mqcap__add_queues(mqcap_t *h, const struct mqcap__qsel *qs, unsigned n);

#endif
