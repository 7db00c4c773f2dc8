/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * devdrops.c - 'device tx drops': the frames mqsend counted as sent that the device then
 * dropped, from the device's tx_dropped counter over the run.
 *
 * That counter counts refused attempts, not lost frames. Where the driver's verdict on a
 * frame comes back to the sender (AF_PACKET through a device whose root qdisc is noqueue,
 * veth's default, or PACKET_QDISC_BYPASS), a frame the driver drops (veth: the peer's ring is
 * full) makes dev_queue_xmit() return NET_XMIT_DROP; tpacket_snd() then puts the frame back
 * to SEND_REQUEST and sendto() fails with ENOBUFS; mqsend sends it again, and the frame
 * arrives. Measured on the testbed (fault_sigstop, a receiver stopped for 2 s): tx_dropped
 * rose by 26,343 while all 600,000 frames reached the receiver, and the clsact qdisc saw
 * 626,344 frames pass. So there every drop the device counted was retried, and what the
 * device lost is its counter minus the retries (none, unless a drop did not come back). A
 * retry after a driver's NETDEV_TX_BUSY (a real NIC in bypass mode) is not in the counter:
 * hence the retries are taken off only up to the counter.
 *
 * Behind a queueing qdisc (pfifo_fast, fq_codel, mq...) ENOBUFS is the qdisc's own drop (its
 * counter, not the device's) and the driver's verdict never reaches the sender: every drop
 * the device counts is a lost frame. So is every drop in AF_XDP mode: a frame the driver
 * refuses with NET_XMIT_DROP completes like a sent one.
 */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mqsend.h"

struct root_kind {
	int ifindex;
	char kind[32];
};

static int qdisc_cb(const struct nlmsghdr *nlh, void *data)
{
	struct root_kind *rk = data;
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;

	if (nlh->nlmsg_type != RTM_NEWQDISC || mnl_nlmsg_get_payload_len(nlh) < sizeof(*tcm) ||
	    tcm->tcm_ifindex != rk->ifindex || tcm->tcm_parent != TC_H_ROOT)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*tcm))
		if (mnl_attr_get_type(a) == TCA_KIND && !mnl_attr_validate(a, MNL_TYPE_NUL_STRING))
			snprintf(rk->kind, sizeof(rk->kind), "%s", mnl_attr_get_str(a));
	return MNL_CB_OK;
}

/* The kind of ifindex's root qdisc ("noqueue", "mq", ...) into kind; "" when netlink could
 * not tell. */
static void root_qdisc_kind(int ifindex, char *kind, size_t len)
{
	char buf[16384];
	struct root_kind rk = { .ifindex = ifindex };
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	struct nlmsghdr *nlh;
	struct tcmsg *tcm;
	unsigned seq = (unsigned)time(NULL);
	int n = -1;

	snprintf(kind, len, "%s", "");
	if (!nl)
		return;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETQDISC;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) == 0 &&
	    mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) >= 0)
		while ((n = (int)mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0 &&
		       (n = mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl), qdisc_cb, &rk)) > 0)
			;
	mnl_socket_close(nl);
	if (n == 0)
		snprintf(kind, len, "%s", rk.kind);
}

bool mqs_dev_drops_come_back(const struct mqs_opts *o)
{
	char kind[32];

	if (o->mode == MQS_MODE_BYPASS)
		return true;
	if (o->mode != MQS_MODE_QDISC)
		return false;
	root_qdisc_kind(o->ifindex, kind, sizeof(kind));
	return !strcmp(kind, "noqueue");
}

uint64_t mqs_dev_drops(bool come_back, uint64_t tx_dropped, uint64_t retried)
{
	if (!come_back)
		return tx_dropped;
	return tx_dropped > retried ? tx_dropped - retried : 0;
}
