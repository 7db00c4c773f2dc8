/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * topo.c - the machine's layout from hwloc, NIC locality and queue IRQs (the planner: plan.c).
 *
 * hwloc is asked once, at open; everything afterwards works on a flat array of CPUs with the ids
 * of their core, caches, node and package, so the planner is plain arithmetic and the same code
 * plans this machine or an XML file.
 */
#include <ctype.h>
#include <errno.h>
#include <hwloc.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqcap/topo.h"
#include "error_int.h"
#include "topo_int.h"

static int ancestor_index(hwloc_obj_t pu, hwloc_obj_type_t type)
{
	hwloc_obj_t o = hwloc_get_ancestor_obj_by_type(NULL, type, pu);

	/* hwloc_get_ancestor_obj_by_type() only walks parents; the topology argument is unused. */
	return o ? (int)o->logical_index : -1;
}

static int fill_cpus(mqcap_topo_t *t, bool this_machine)
{
	int npu = hwloc_get_nbobjs_by_type(t->h, HWLOC_OBJ_PU);
	hwloc_const_bitmap_t allowed = hwloc_topology_get_allowed_cpuset(t->h);
	cpu_set_t mine;
	bool have_mine = false;
	int ncore_objs = hwloc_get_nbobjs_by_type(t->h, HWLOC_OBJ_CORE);

	if (npu <= 0)
		return mqcap__err_set(&t->err, EINVAL, "the topology has no CPUs");
	/* Our own affinity mask narrows what is usable (taskset, a cgroup cpuset). Only for this
	 * machine: an XML file describes somewhere else. */
	if (this_machine && sched_getaffinity(0, sizeof(mine), &mine) == 0)
		have_mine = true;
	t->cpus = calloc((size_t)npu, sizeof(*t->cpus));
	if (!t->cpus)
		return mqcap__err_set(&t->err, ENOMEM, "out of memory");
	t->ncpus = (unsigned)npu;
	for (int i = 0; i < npu; i++) {
		hwloc_obj_t pu = hwloc_get_obj_by_type(t->h, HWLOC_OBJ_PU, (unsigned)i);
		hwloc_obj_t core = hwloc_get_ancestor_obj_by_type(t->h, HWLOC_OBJ_CORE, pu);
		struct mqcap_topo_cpu *c = &t->cpus[i];

		c->cpu = (int)pu->os_index;
		/* A machine without Core objects: every CPU is its own core. */
		c->core = core ? (int)core->logical_index : ncore_objs + i;
		c->smt = 0;
		if (core) {
			hwloc_obj_t s = NULL;

			while ((s = hwloc_get_next_obj_inside_cpuset_by_type(t->h, core->cpuset,
									      HWLOC_OBJ_PU, s)) &&
			       s != pu)
				c->smt++;
		}
		c->l2 = ancestor_index(pu, HWLOC_OBJ_L2CACHE);
		c->l3 = ancestor_index(pu, HWLOC_OBJ_L3CACHE);
		c->package = ancestor_index(pu, HWLOC_OBJ_PACKAGE);
		if (c->package < 0)
			c->package = 0;
		c->numa = pu->nodeset ? hwloc_bitmap_first(pu->nodeset) : -1;
		c->usable = hwloc_bitmap_isset(allowed, pu->os_index) &&
			    (!have_mine || (pu->os_index < CPU_SETSIZE && CPU_ISSET(pu->os_index, &mine)));
	}
	t->ncores = ncore_objs > 0 ? (unsigned)ncore_objs : t->ncpus;
	t->npackages = (unsigned)hwloc_get_nbobjs_by_type(t->h, HWLOC_OBJ_PACKAGE);
	if (!t->npackages)
		t->npackages = 1;
	t->nnuma = (unsigned)hwloc_get_nbobjs_by_type(t->h, HWLOC_OBJ_NUMANODE);
	return 0;
}

mqcap_topo_t *mqcap_topo_open(const char *xml_path)
{
	mqcap_topo_t *t = calloc(1, sizeof(*t));
	int err;

	if (!t) {
		mqcap__last_error_fmt(ENOMEM, "topology: out of memory");
		return NULL;
	}
	if (hwloc_topology_init(&t->h) < 0) {
		err = errno ? errno : ENOMEM;
		mqcap__err_set(&t->err, err, "hwloc: cannot initialise a topology");
		goto fail_noh;
	}
	/* Keep the NICs an XML file describes, so that a device's locality can be found. On this
	 * machine sysfs says the same (mqcap_topo_dev_numa() falls back to it) without hwloc's PCI
	 * and GPU discovery, which take time and leak (libpciaccess, OpenCL) under ASan. */
	hwloc_topology_set_io_types_filter(t->h, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
	hwloc_topology_set_components(t->h, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, "pci");
	hwloc_topology_set_components(t->h, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, "opencl");
	hwloc_topology_set_components(t->h, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, "gl");
	if (xml_path && hwloc_topology_set_xml(t->h, xml_path) < 0) {
		err = errno ? errno : EINVAL;
		mqcap__err_set(&t->err, err, "%s: not a readable hwloc XML topology", xml_path);
		goto fail;
	}
	if (hwloc_topology_load(t->h) < 0) {
		err = errno ? errno : EINVAL;
		mqcap__err_set(&t->err, err, "hwloc: cannot load the topology%s%s",
			       xml_path ? " from " : "", xml_path ? xml_path : "");
		goto fail;
	}
	err = -fill_cpus(t, xml_path == NULL);
	if (err)
		goto fail;
	return t;
fail:
	hwloc_topology_destroy(t->h);
fail_noh:
	mqcap__last_error_set(&t->err);
	free(t->cpus);
	free(t);
	errno = err;
	return NULL;
}

void mqcap_topo_close(mqcap_topo_t *t)
{
	if (!t)
		return;
	hwloc_topology_destroy(t->h);
	free(t->cpus);
	free(t);
}

const char *mqcap_topo_errmsg(const mqcap_topo_t *t)
{
	return t && t->err.msg[0] ? t->err.msg : "no error";
}

unsigned mqcap_topo_cpu_count(const mqcap_topo_t *t)
{
	return t->ncpus;
}

const struct mqcap_topo_cpu *mqcap_topo_cpu_at(const mqcap_topo_t *t, unsigned i)
{
	return i < t->ncpus ? &t->cpus[i] : NULL;
}

const struct mqcap_topo_cpu *mqcap_topo_cpu(const mqcap_topo_t *t, int cpu)
{
	for (unsigned i = 0; i < t->ncpus; i++)
		if (t->cpus[i].cpu == cpu)
			return &t->cpus[i];
	return NULL;
}

unsigned mqcap_topo_usable_count(const mqcap_topo_t *t)
{
	unsigned n = 0;

	for (unsigned i = 0; i < t->ncpus; i++)
		n += t->cpus[i].usable != 0;
	return n;
}

unsigned mqcap_topo_core_count(const mqcap_topo_t *t)
{
	return t->ncores;
}

unsigned mqcap_topo_package_count(const mqcap_topo_t *t)
{
	return t->npackages;
}

unsigned mqcap_topo_numa_count(const mqcap_topo_t *t)
{
	return t->nnuma;
}

int mqcap__cpu_distance(const struct mqcap_topo_cpu *a, const struct mqcap_topo_cpu *b)
{
	if (a->cpu == b->cpu)
		return MQCAP_DIST_SAME_CPU;
	if (a->core == b->core)
		return MQCAP_DIST_SAME_CORE;
	if (a->l2 >= 0 && a->l2 == b->l2)
		return MQCAP_DIST_SHARED_L2;
	if (a->l3 >= 0 && a->l3 == b->l3)
		return MQCAP_DIST_SHARED_L3;
	if (a->numa >= 0 && a->numa == b->numa)
		return MQCAP_DIST_SAME_NUMA;
	if (a->package == b->package)
		return MQCAP_DIST_SAME_PACKAGE;
	return MQCAP_DIST_REMOTE;
}

int mqcap_topo_distance(const mqcap_topo_t *t, int cpu_a, int cpu_b)
{
	const struct mqcap_topo_cpu *a = mqcap_topo_cpu(t, cpu_a), *b = mqcap_topo_cpu(t, cpu_b);

	return a && b ? mqcap__cpu_distance(a, b) : -1;
}

const char *mqcap_topo_dist_name(int dist)
{
	static const char *const names[] = {
		[MQCAP_DIST_SAME_CPU] = "same cpu",
		[MQCAP_DIST_SAME_CORE] = "same core",
		[MQCAP_DIST_SHARED_L2] = "shared L2",
		[MQCAP_DIST_SHARED_L3] = "shared L3",
		[MQCAP_DIST_SAME_NUMA] = "same NUMA node",
		[MQCAP_DIST_SAME_PACKAGE] = "same package",
		[MQCAP_DIST_REMOTE] = "remote",
	};

	if (dist < 0 || dist > MQCAP_DIST_REMOTE)
		return "unknown";
	return names[dist];
}

static int read_int_file(const char *path, long *v)
{
	FILE *f = fopen(path, "r");
	int ok;

	if (!f)
		return -errno;
	ok = fscanf(f, "%ld", v) == 1;
	fclose(f);
	return ok ? 0 : -EINVAL;
}

int mqcap_topo_dev_numa(const mqcap_topo_t *t, const char *dev)
{
	char path[128];
	long v;

	if (t) {
		hwloc_obj_t os = NULL;

		while ((os = hwloc_get_next_osdev(t->h, os))) {
			hwloc_obj_t anc;

			if (!os->name || strcmp(os->name, dev))
				continue;
			anc = hwloc_get_non_io_ancestor_obj(t->h, os);
			/* Attached to the whole machine means "no locality" unless there is one node. */
			if (anc && anc->nodeset && hwloc_bitmap_weight(anc->nodeset) == 1)
				return hwloc_bitmap_first(anc->nodeset);
			return -1;
		}
	}
	if (!dev || !*dev || strchr(dev, '/'))
		return -1;
	snprintf(path, sizeof(path), "/sys/class/net/%s/device/numa_node", dev);
	if (read_int_file(path, &v) < 0 || v < 0)
		return -1;
	return (int)v;
}

void mqcap__appendf(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(*off < len ? buf + *off : NULL, *off < len ? len - *off : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off += (size_t)n;
}

int mqcap_topo_format(const mqcap_topo_t *t, char *buf, size_t len)
{
	size_t off = 0;

	if (buf && len)
		buf[0] = '\0';
	mqcap__appendf(buf, len, &off, "%u package(s), %u NUMA node(s), %u core(s), %u cpu(s)\n",
		t->npackages, t->nnuma, t->ncores, t->ncpus);
	for (unsigned p = 0; p < t->npackages; p++) {
		int last_core = INT_MIN, last_numa = INT_MIN;

		mqcap__appendf(buf, len, &off, "  package %u:", p);
		for (unsigned i = 0; i < t->ncpus; i++) {
			const struct mqcap_topo_cpu *c = &t->cpus[i];

			if (c->package != (int)p)
				continue;
			if (c->numa != last_numa) {
				mqcap__appendf(buf, len, &off, " [numa %d]", c->numa);
				last_numa = c->numa;
			}
			mqcap__appendf(buf, len, &off, "%s%d%s", c->core == last_core ? "," : " ", c->cpu,
				c->usable ? "" : "(x)");
			last_core = c->core;
		}
		mqcap__appendf(buf, len, &off, "\n");
	}
	mqcap__appendf(buf, len, &off, "  (cpus of one core are joined by ',': SMT siblings; (x): not usable here)\n");
	return (int)off;
}
