/* SPDX-License-Identifier: BSD-2-Clause */
/* tb_rss.c - load the RSS program (bpf/rss_tc.bpf.c, embedded as a skeleton), pin it and its
 * maps so later commands find them, attach it to tc egress of the sending veth. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <sys/stat.h>

#include "cli.h"
#include "rss_tc.h"
#include "rss_tc.skel.h"
#include "testbed.h"

static int pin_path(const struct tb_names *n, const char *obj, char *buf, size_t len)
{
	int r = snprintf(buf, len, "%s/%s", n->pin_dir, obj);

	return r < 0 || (size_t)r >= len ? -1 : 0;
}

static int attach_tc(const struct tb_names *n, int prog_fd)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_EGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 1, .priority = 1, .prog_fd = prog_fd);
	int r;

	/* tc attachments are made over netlink in the caller's namespace: go where the device is. */
	r = tb_netns_enter(n->tx_ns);
	if (r) {
		cli_warn("cannot enter namespace %s: %s", n->tx_ns, strerror(-r));
		return -1;
	}
	hook.ifindex = (int)if_nametoindex(n->tx_dev);
	if (!hook.ifindex) {
		cli_warn("%s: no device %s: %s", n->tx_ns, n->tx_dev, strerror(errno));
		tb_netns_restore();
		return -1;
	}
	r = bpf_tc_hook_create(&hook);
	if (r && r != -EEXIST) {
		cli_warn("cannot create the clsact qdisc on %s: %s", n->tx_dev, strerror(-r));
		tb_netns_restore();
		return -1;
	}
	r = bpf_tc_attach(&hook, &opts);
	tb_netns_restore();
	if (r) {
		cli_warn("cannot attach the RSS program to tc egress of %s: %s", n->tx_dev, strerror(-r));
		return -1;
	}
	return 0;
}

int tb_rss_install(const struct tb_names *n, const struct tb_rss_conf *conf, unsigned *made)
{
	struct mqcap_rss_tc *skel;
	struct mqcap_rss_tc_key k;
	char path[256];
	__u32 zero = 0, i;
	int r;

	skel = mqcap_rss_tc__open();
	if (!skel) {
		cli_warn("cannot open the RSS program: %s", strerror(errno));
		return -1;
	}
	skel->rodata->nqueues = conf->queues;
	/* Measured on 6.18: queue_mapping written at tc egress only survives the core's queue
	 * pick as a "recorded" queue, read back minus one (see rss_tc.bpf.c). */
	skel->rodata->queue_bias = 1;
	r = mqcap_rss_tc__load(skel);
	if (r) {
		cli_warn("cannot load the RSS program (verifier or privileges): %s", strerror(-r));
		goto fail;
	}
	memcpy(k.key, conf->key, sizeof(k.key));
	r = bpf_map__update_elem(skel->maps.rss_key, &zero, sizeof(zero), &k, sizeof(k), BPF_ANY);
	for (i = 0; !r && i < MQCAP_RSS_TABLE_SIZE; i++) {
		__u32 q = conf->table[i];

		r = bpf_map__update_elem(skel->maps.rss_table, &i, sizeof(i), &q, sizeof(q), BPF_ANY);
	}
	if (r) {
		cli_warn("cannot fill the RSS maps: %s", strerror(-r));
		goto fail;
	}
	if (mkdir(TB_PIN_ROOT, 0700) && errno != EEXIST) {
		cli_warn("cannot create %s: %s", TB_PIN_ROOT, strerror(errno));
		goto fail;
	}
	if (mkdir(n->pin_dir, 0700)) {
		cli_warn("cannot create %s: %s", n->pin_dir, strerror(errno));
		goto fail;
	}
	*made |= PART_PINS;
	/* Pins keep key, table and counters reachable for status/env after this process is gone,
	 * and the program itself (also held by its tc filter). */
	if (pin_path(n, "rss_key", path, sizeof(path)) || bpf_map__pin(skel->maps.rss_key, path) ||
	    pin_path(n, "rss_table", path, sizeof(path)) || bpf_map__pin(skel->maps.rss_table, path) ||
	    pin_path(n, "rss_counters", path, sizeof(path)) ||
	    bpf_map__pin(skel->maps.rss_counters, path) ||
	    pin_path(n, "rss_prog", path, sizeof(path)) || bpf_program__pin(skel->progs.rss_tc, path)) {
		cli_warn("cannot pin the RSS program and maps in %s: %s", n->pin_dir, strerror(errno));
		goto fail;
	}
	if (attach_tc(n, bpf_program__fd(skel->progs.rss_tc)))
		goto fail;
	mqcap_rss_tc__destroy(skel);
	return 0;
fail:
	mqcap_rss_tc__destroy(skel);
	return -1;
}

static int open_pin(const struct tb_names *n, const char *obj)
{
	char path[256];
	int fd;

	if (pin_path(n, obj, path, sizeof(path)))
		return -1;
	fd = bpf_obj_get(path);
	if (fd < 0)
		cli_warn("cannot open %s: %s (is instance '%s' up?)", path, strerror(errno), n->name);
	return fd;
}

int tb_rss_read(const struct tb_names *n, struct tb_rss_conf *conf)
{
	struct mqcap_rss_tc_key k;
	__u32 zero = 0, i, q;
	int kfd, tfd, r = 0;

	kfd = open_pin(n, "rss_key");
	if (kfd < 0)
		return -1;
	tfd = open_pin(n, "rss_table");
	if (tfd < 0) {
		close(kfd);
		return -1;
	}
	if (bpf_map_lookup_elem(kfd, &zero, &k))
		r = -1;
	else
		memcpy(conf->key, k.key, sizeof(k.key));
	for (i = 0; !r && i < MQCAP_RSS_TABLE_SIZE; i++) {
		if (bpf_map_lookup_elem(tfd, &i, &q))
			r = -1;
		else
			conf->table[i] = (uint16_t)q;
	}
	if (r)
		cli_warn("cannot read the RSS maps of '%s': %s", n->name, strerror(errno));
	close(kfd);
	close(tfd);
	return r;
}

int tb_rss_counters(const struct tb_names *n, uint64_t *pkts, uint64_t *bytes,
		    uint64_t *not_hashed, unsigned nq)
{
	int ncpu = libbpf_num_possible_cpus(), fd, r = 0;
	struct mqcap_rss_tc_counters *v;
	__u32 q;

	if (ncpu <= 0)
		return -1;
	fd = open_pin(n, "rss_counters");
	if (fd < 0)
		return -1;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v) {
		close(fd);
		return -1;
	}
	for (q = 0; q < nq; q++) {
		int c;

		pkts[q] = bytes[q] = not_hashed[q] = 0;
		if (q >= MQCAP_RSS_MAX_QUEUES || bpf_map_lookup_elem(fd, &q, v))
			continue;
		for (c = 0; c < ncpu; c++) {
			pkts[q] += v[c].packets;
			bytes[q] += v[c].bytes;
			not_hashed[q] += v[c].not_hashed;
		}
	}
	free(v);
	close(fd);
	return r;
}
