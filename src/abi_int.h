/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * abi_int.h - the library's side of the sized output structs (mqcap.h: "Output structs can
 * grow"). The public calls are macros that pass the caller's sizeof; src/abi.c takes that size
 * and calls these, which fill the library's own, whole struct.
 */
#ifndef MQCAP_ABI_INT_H
#define MQCAP_ABI_INT_H

#include <stddef.h>

#include "mqcap/balance.h"
#include "mqcap/mqcap.h"
#include "mqcap/run.h"

/* capture.c */
int mqcap__stats(mqcap_t *c, struct mqcap_stats *st);
int mqcap__queue_stats(mqcap_t *c, unsigned i, struct mqcap_stats *st);
int mqcap__queue_info(const mqcap_t *c, unsigned i, struct mqcap_queue_info *info);
/* run.c */
int mqcap__run_queue_info(const mqcap_run_t *r, unsigned i, struct mqcap_run_queue_info *qi);
int mqcap__run_worker_stats(const mqcap_run_t *r, unsigned w, struct mqcap_run_worker_stats *st);
int mqcap__run_queue_stats(const mqcap_run_t *r, unsigned i, struct mqcap_stats *st);
/* balance.c */
int mqcap__balance_worker_stats(const mqcap_balance_t *b, unsigned w,
				struct mqcap_balance_worker_stats *st);
int mqcap__balance_poller_stats(const mqcap_balance_t *b, unsigned p,
				struct mqcap_balance_poller_stats *st);
int mqcap__balance_stats(const mqcap_balance_t *b, struct mqcap_balance_stats *st);

#endif
