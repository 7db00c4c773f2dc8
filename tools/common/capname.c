/* SPDX-License-Identifier: BSD-2-Clause */
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "capname.h"
#include "cli.h"

static int add_backend(struct cli_capname *cn, const char *arg, const char **rest)
{
	const char *colon = strchr(arg, ':');
	char pre[16];
	size_t l;

	*rest = arg;
	if (!colon)
		return 0;
	l = (size_t)(colon - arg) + 1;
	if (l >= sizeof(pre)) {
		cli_warn("-i %s: unknown backend prefix", arg);
		return -1;
	}
	memcpy(pre, arg, l);
	pre[l] = '\0';
	if (!strcmp(pre, "pcap:")) {
		if (*cn->pcap || cn->ndevs) {
			cli_warn("-i %s: a pcap file cannot be combined with other -i", arg);
			return -1;
		}
		snprintf(cn->pcap, sizeof(cn->pcap), "%s", arg);
		*rest = NULL;
		return 0;
	}
	if (strcmp(pre, "xdp:") && strcmp(pre, "packet:")) {
		cli_warn("-i %s: unknown backend prefix '%s' (use xdp:, packet: or pcap:)", arg, pre);
		return -1;
	}
	if (*cn->prefix && strcmp(cn->prefix, pre)) {
		cli_warn("-i %s: conflicts with an earlier -i %s... (one backend per run)", arg,
			 cn->prefix);
		return -1;
	}
	snprintf(cn->prefix, sizeof(cn->prefix), "%s", pre);
	*rest = colon + 1;
	return 0;
}

int cli_capname_add(struct cli_capname *cn, const char *arg)
{
	const char *p;

	if (add_backend(cn, arg, &p))
		return -1;
	if (!p)
		return 0;
	if (*cn->pcap) {
		cli_warn("-i %s: a pcap file cannot be combined with other -i", arg);
		return -1;
	}
	while (*p) {
		const char *end = p;
		char dev[64];
		char qs[256] = "";
		bool all = true;
		size_t dl;
		unsigned k;

		while (*end && *end != '@' && *end != ',')
			end++;
		dl = (size_t)(end - p);
		if (!dl || dl >= sizeof(dev)) {
			cli_warn("-i %s: empty or too long device name", arg);
			return -1;
		}
		memcpy(dev, p, dl);
		dev[dl] = '\0';
		if (*end == '@') {
			const char *q = end + 1, *qe = q;

			while (*qe && !(*qe == ',' && !(qe[1] >= '0' && qe[1] <= '9')))
				qe++;
			if ((size_t)(qe - q) >= sizeof(qs) || qe == q) {
				cli_warn("-i %s: bad queue list after '@'", arg);
				return -1;
			}
			memcpy(qs, q, (size_t)(qe - q));
			qs[qe - q] = '\0';
			all = false;
			end = qe;
		}
		for (k = 0; k < cn->ndevs; k++)
			if (!strcmp(cn->devs[k].dev, dev))
				break;
		if (k == cn->ndevs) {
			struct cli_capdev *d = &cn->devs[k];

			if (cn->ndevs == CLI_CAPNAME_MAX_DEVS) {
				cli_warn("too many devices (at most %d)", CLI_CAPNAME_MAX_DEVS);
				return -1;
			}
			memset(d, 0, sizeof(*d));
			snprintf(d->dev, sizeof(d->dev), "%s", dev);
			d->all = all;
			snprintf(d->queues, sizeof(d->queues), "%s", qs);
			cn->ndevs++;
		} else if (all || cn->devs[k].all) {
			cli_warn("-i %s: %s is named twice and one of them takes all its queues", arg, dev);
			return -1;
		} else {
			size_t l = strlen(cn->devs[k].queues);

			if (l + 1 + strlen(qs) >= sizeof(cn->devs[k].queues)) {
				cli_warn("-i %s: queue list too long", arg);
				return -1;
			}
			cn->devs[k].queues[l] = ',';
			strcpy(cn->devs[k].queues + l + 1, qs);
		}
		p = *end == ',' ? end + 1 : end;
	}
	return 0;
}

void cli_capname_build(const struct cli_capname *cn, char *out, size_t len)
{
	size_t off;

	if (*cn->pcap) {
		snprintf(out, len, "%s", cn->pcap);
		return;
	}
	off = (size_t)snprintf(out, len, "%s", cn->prefix);
	for (unsigned k = 0; k < cn->ndevs && off < len; k++)
		off += (size_t)snprintf(out + off, len - off, "%s%s%s%s", k ? "," : "",
					cn->devs[k].dev, cn->devs[k].all ? "" : "@",
					cn->devs[k].queues);
}

int cli_online_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set))
		return (int)sysconf(_SC_NPROCESSORS_ONLN);
	return CPU_COUNT(&set);
}
