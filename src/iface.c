/* SPDX-License-Identifier: BSD-2-Clause */
/* iface.c - device lookup and RX queue discovery.
 *
 * The queue count comes from the ethtool channels ioctl first: it answers for the caller's
 * network namespace, whereas /sys/class/net shows the namespace of whoever mounted sysfs
 * (a process that setns()'d without remounting would read another namespace's device).
 * sysfs (/sys/class/net/DEV/queues/rx-N, which follows real_num_rx_queues) is the fallback
 * for drivers without get_channels, used only when its ifindex matches ours.
 *
 * How received frames carry their RX queue (queue_mapping_bias): see iface_int.h. The prior
 * comes from rtnetlink, not from the driver's name: a device whose frames are another
 * device's (IFLA_LINK names a peer or lower device: veth, macvlan, ipvlan, ...) receives
 * skbs that keep the queue_mapping they had there, which is the peer's 0-based TX queue for a
 * veth (veth_xmit() picks RX queue rq[queue_mapping] from it and never records anything, with
 * or without NAPI, GRO, threaded NAPI or XDP: drivers/net/veth.c, measured on 6.18 in
 * docs/kernel-notes.md); a device with its own receive path is a driver that records the
 * queue itself (skb_record_rx_queue(): q + 1). qnum.c then checks the prior against the
 * frames themselves and corrects it. */
#include <dirent.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
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

struct link_facts {
	unsigned ifindex;
	bool other;   /* IFLA_LINK names another device, or one in another namespace */
};

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct link_facts *lf = data;
	const struct nlattr *a;

	if (nlh->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi) ||
	    (unsigned)ifi->ifi_index != lf->ifindex)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*ifi)) {
		switch (mnl_attr_get_type(a)) {
		case IFLA_LINK:
			/* the kernel sends it only when it differs from ifindex; a veth pair made
			 * in two namespaces can still share the number, hence LINK_NETNSID below */
			if (mnl_attr_get_payload_len(a) >= 4 && mnl_attr_get_u32(a) != lf->ifindex)
				lf->other = true;
			break;
		case IFLA_LINK_NETNSID:
			lf->other = true;
			break;
		}
	}
	return MNL_CB_OK;
}

/* 0 for a device that receives another device's frames, 1 otherwise (iface_int.h). The
 * kernel's own convention (1) when rtnetlink cannot say: qnum.c corrects it from traffic. */
static unsigned queue_mapping_prior(unsigned ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct link_facts lf = { .ifindex = ifindex };
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	unsigned seq = 1, portid;
	ssize_t n;

	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl)
		return 1;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto out;
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)ifindex;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		goto out;
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n > 0)
		(void)mnl_cb_run(buf, (size_t)n, seq, portid, link_cb, &lf);
out:
	mnl_socket_close(nl);
	return lf.other ? 0 : 1;
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
	ifc->queue_mapping_bias = queue_mapping_prior(ifc->ifindex);
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
