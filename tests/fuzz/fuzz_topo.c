/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_topo - an hwloc XML file of arbitrary bytes through what `mqtune --topology FILE`
 * and mqcount do with it: mqcap_topo_open(), the CPU table, distances, a device's NUMA node,
 * a plan for 1 to 4 queues, and both formatters. Rejected files must come back as NULL with
 * a message; accepted ones must give self-consistent answers. hwloc's built-in XML parser is
 * the one used (HWLOC_LIBXML=0), as in the unit tests, so results do not depend on whether
 * libxml2's plugin is installed.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mqcap/mqcap.h"
#include "mqcap/topo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[8192];
	char path[64];
	int fd = memfd_create("fuzz_topo", MFD_CLOEXEC);
	mqcap_topo_t *t;
	unsigned n;

	setenv("HWLOC_LIBXML", "0", 1);
	if (fd < 0)
		return 0;
	if (size > 1 << 16 || write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	t = mqcap_topo_open(path);
	if (!t) {
		if (!mqcap_last_error()[0])
			abort(); /* every rejection says why */
		close(fd);
		return 0;
	}
	n = mqcap_topo_cpu_count(t);
	for (unsigned i = 0; i < n; i++) {
		const struct mqcap_topo_cpu *c = mqcap_topo_cpu_at(t, i);

		if (!c || c->cpu < 0)
			abort();
		if (mqcap_topo_distance(t, c->cpu, c->cpu) < 0)
			abort(); /* a CPU the table lists is known to the distance function */
		if (i)
			mqcap_topo_distance(t, c->cpu, mqcap_topo_cpu_at(t, 0)->cpu);
	}
	mqcap_topo_format(t, buf, sizeof(buf));
	for (unsigned nq = 1; nq <= 4; nq++) {
		struct mqcap_plan_queue q[4];
		struct mqcap_plan *p;

		memset(q, 0, sizeof(q));
		for (unsigned i = 0; i < nq; i++) {
			snprintf(q[i].dev, sizeof(q[i].dev), "nic1");
			q[i].queue = i;
			q[i].poller_cpu = n ? mqcap_topo_cpu_at(t, i % n)->cpu : -1;
			q[i].nic_numa = mqcap_topo_dev_numa(t, "nic1");
		}
		p = mqcap_plan_make(t, q, nq, NULL);
		if (!p) {
			if (!mqcap_topo_errmsg(t)[0])
				abort();
			continue;
		}
		if (p->nqueues != nq || !p->nworkers || p->nworkers > nq)
			abort();
		for (unsigned i = 0; i < nq; i++)
			if (p->queues[i].worker < 0 || (unsigned)p->queues[i].worker >= p->nworkers)
				abort();
		mqcap_plan_format(t, p, buf, sizeof(buf));
		mqcap_plan_free(p);
	}
	mqcap_topo_close(t);
	close(fd);
	return 0;
}
