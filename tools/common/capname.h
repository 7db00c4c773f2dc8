/* SPDX-License-Identifier: BSD-2-Clause */
/* capname.h - the capture tools' repeatable -i NAME, combined into one capture name. */
#ifndef MQCAP_TOOLS_CAPNAME_H
#define MQCAP_TOOLS_CAPNAME_H

#include <stdbool.h>
#include <stddef.h>

#define CLI_CAPNAME_MAX_DEVS 16

/* One device of the combined name and the queues asked of it. */
struct cli_capdev {
	char dev[64];
	char queues[256]; /* "" = all queues */
	bool all;
};

/* The -i options seen so far. Zero-initialise before the first cli_capname_add(). */
struct cli_capname {
	char prefix[16];  /* "xdp:", "packet:" or "" */
	char pcap[4096];  /* "pcap:FILE" when an offline file was named */
	struct cli_capdev devs[CLI_CAPNAME_MAX_DEVS];
	unsigned ndevs;   /* devices, in the order first named: device index d of mqcap_pkt.dev */
};

/* Add one -i NAME, merging the queue lists of a device named in several -i ("-i eth1@0
 * -i eth1@2" reads "eth1@0,2"). Names split into devices where a comma is followed by a
 * non-digit, as the library's grammar does. Returns 0, or -1 after printing why. */
int cli_capname_add(struct cli_capname *cn, const char *arg);

/* The combined capture name for mqcap_open()/mqcap_run_open() into out[len]. */
void cli_capname_build(const struct cli_capname *cn, char *out, size_t len);

/* CPUs this process may run on. */
int cli_online_cpus(void);

#endif
