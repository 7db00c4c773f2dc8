/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * shim_devs.c - the device list and lookups by name: pcap_findalldevs lists, after each
 * multi-queue device, its virtual devices DEV@0 ... DEV@N-1 (so dumpcap -D, tshark -D and
 * tcpdump -D show them, and programs that check a name against the list accept them);
 * pcap_lookupnet answers for the device under a virtual one.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "shim_int.h"

unsigned shim_rx_queue_count(const char *dev)
{
	char path[128];
	struct dirent *e;
	unsigned n = 0;
	DIR *d;

	if (strchr(dev, '/') || !strcmp(dev, "..") || !strcmp(dev, ".") ||
	    (size_t)snprintf(path, sizeof(path), "/sys/class/net/%s/queues", dev) >= sizeof(path))
		return 0;
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += !strncmp(e->d_name, "rx-", 3);
	closedir(d);
	return n;
}

static pcap_if_t *virtual_dev(const pcap_if_t *dev, unsigned q)
{
	pcap_if_t *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	/* freed by the real pcap_freealldevs, which frees name and description with free() */
	if (asprintf(&v->name, "%s@%u", dev->name, q) < 0)
		v->name = NULL;
	if (asprintf(&v->description, "RX queue %u of %s (mqcap virtual device)", q,
		     dev->name) < 0)
		v->description = NULL;
	if (!v->name || !v->description) {
		free(v->name);
		free(v->description);
		free(v);
		return NULL;
	}
	v->flags = dev->flags;
	return v;
}

int pcap_findalldevs(pcap_if_t **alldevs, char *errbuf)
{
	int rc = shim_real()->findalldevs(alldevs, errbuf);

	if (rc)
		return rc;
	for (pcap_if_t *d = *alldevs; d; d = d->next) {
		unsigned n = shim_rx_queue_count(d->name);
		pcap_if_t *after = d->next, *last = d;

		if (n < 2)
			continue;
		for (unsigned q = 0; q < n; q++) {
			pcap_if_t *v = virtual_dev(d, q);

			if (!v)
				break; /* out of memory: a shorter list is still a list */
			last->next = v;
			last = v;
		}
		last->next = after;
		d = last;
	}
	return 0;
}

int pcap_lookupnet(const char *device, bpf_u_int32 *net, bpf_u_int32 *mask, char *errbuf)
{
	char base[64];

	if (!shim_owns_name(device))
		return shim_real()->lookupnet(device, net, mask, errbuf);
	shim_base_device(device, base, sizeof(base));
	return shim_real()->lookupnet(base, net, mask, errbuf);
}
