/* SPDX-License-Identifier: BSD-2-Clause */
/* iface.c - device lookup and RX queue discovery.
 *
 * The queue count comes from the ethtool channels ioctl first: it answers for the caller's
 * network namespace, whereas /sys/class/net shows the namespace of whoever mounted sysfs
 * (a process that setns()'d without remounting would read another namespace's device).
 * sysfs (/sys/class/net/DEV/queues/rx-N, which follows real_num_rx_queues) is the fallback
 * for drivers without get_channels, used only when its ifindex matches ours. */
#include <dirent.h>
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iface_int.h"

static int ethtool_ioctl(int fd, const char *name, void *data)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_data = data;
	return ioctl(fd, SIOCETHTOOL, &ifr) ? -errno : 0;
}

/* -1 when sysfs does not describe this very device */
static int sysfs_rx_queues(const char *name, unsigned ifindex)
{
	char path[96];
	FILE *f;
	unsigned idx = 0;
	DIR *d;
	struct dirent *de;
	int n = 0;

	snprintf(path, sizeof(path), "/sys/class/net/%s/ifindex", name);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%u", &idx) != 1)
		idx = 0;
	fclose(f);
	if (idx != ifindex)
		return -1;
	snprintf(path, sizeof(path), "/sys/class/net/%s/queues", name);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "rx-", 3))
			n++;
	closedir(d);
	return n ? n : -1;
}

int mqcap__iface_get(const char *name, struct mqcap__iface *ifc, struct mqcap__err *e)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	struct ethtool_drvinfo di = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr;
	int fd, n, err;

	memset(ifc, 0, sizeof(*ifc));
	ifc->ifindex = if_nametoindex(name);
	if (!ifc->ifindex) {
		if (errno == ENODEV || errno == ENXIO)
			return mqcap__err_set(e, ENODEV, "no device named %s in this network namespace",
					      name);
		err = errno;
		return mqcap__err_set(e, err, "%s: cannot look up the device: %s", name, strerror(err));
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = errno;
		return mqcap__err_set(e, err, "%s: socket for ioctls: %s", name, strerror(err));
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0)
		ifc->up = ifr.ifr_flags & IFF_UP;
	if (ethtool_ioctl(fd, name, &di) == 0)
		snprintf(ifc->driver, sizeof(ifc->driver), "%s", di.driver);
	if (ethtool_ioctl(fd, name, &ch) == 0 && ch.rx_count + ch.combined_count > 0) {
		/* veth reports rx_count; NICs with paired queues report combined_count */
		ifc->rx_queues = ch.rx_count + ch.combined_count;
		ifc->max_rx_queues = ch.max_rx + ch.max_combined;
	} else {
		n = sysfs_rx_queues(name, ifc->ifindex);
		ifc->rx_queues = n > 0 ? (unsigned)n : 1;
	}
	close(fd);
	if (ifc->max_rx_queues < ifc->rx_queues)
		ifc->max_rx_queues = ifc->rx_queues;
	ifc->queue_mapping_bias = strcmp(ifc->driver, "veth") ? 1 : 0;
	return 0;
}

int mqcap__iface_check_queue(const char *name, const struct mqcap__iface *ifc, unsigned q,
			     struct mqcap__err *e)
{
	if (q < ifc->rx_queues)
		return 0;
	if (ifc->rx_queues == 1)
		return mqcap__err_set(e, ENODEV, "%s has one RX queue (0); queue %u does not exist",
				      name, q);
	return mqcap__err_set(e, ENODEV, "%s has RX queues 0-%u; queue %u does not exist",
			      name, ifc->rx_queues - 1, q);
}
