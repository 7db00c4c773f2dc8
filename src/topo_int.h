/* SPDX-License-Identifier: BSD-2-Clause */
/* topo_int.h - the topology's inside, shared by topo.c (discovery) and plan.c (the planner). */
#ifndef MQCAP_TOPO_INT_H
#define MQCAP_TOPO_INT_H

#include <hwloc.h>
#include <stddef.h>

#include "mqcap/topo.h"
#include "error_int.h"

struct mqcap_topo {
	hwloc_topology_t h;
	unsigned ncpus, ncores, npackages, nnuma;
	struct mqcap_topo_cpu *cpus; /* hwloc (logical) order */
	struct mqcap__err err;
};

/* How far apart two CPUs are: enum mqcap_topo_dist (0 same CPU ... cross-package). */
int mqcap__cpu_distance(const struct mqcap_topo_cpu *a, const struct mqcap_topo_cpu *b);

/* snprintf into buf at *off, tracking the total length even past the end (the *_format calls
 * return the length they needed, as snprintf does). */
void mqcap__appendf(char *buf, size_t len, size_t *off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
