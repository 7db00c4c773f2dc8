/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * netdev_nl.c - requests to the kernel's "netdev" generic netlink family through libmnl: which
 * NAPI instance serves an RX queue (queue-get), which thread or IRQ runs that NAPI (napi-get),
 * and threaded polling per NAPI (napi-set). See netdev_nl_int.h for the contract.
 *
 * The uapi header linux/netdev.h is newer than the C library headers of many distributions
 * (Debian 12 ships 6.1 headers without it), so the numbers this file uses are defined here,
 * from the family's specification (Documentation/netlink/specs/netdev.yaml). They are ABI:
 * the kernel never renumbers them.
 */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "netdev_nl_int.h"

#define NETDEV_FAMILY_NAME "netdev"
enum {
	NL_CMD_QUEUE_GET = 10,
	NL_CMD_NAPI_GET = 11,
	NL_CMD_NAPI_SET = 14,
};
enum { NL_A_NAPI_IFINDEX = 1, NL_A_NAPI_ID, NL_A_NAPI_IRQ, NL_A_NAPI_PID, NL_A_NAPI_THREADED = 8 };
enum { NL_A_QUEUE_ID = 1, NL_A_QUEUE_IFINDEX, NL_A_QUEUE_TYPE, NL_A_QUEUE_NAPI_ID };
enum { NL_QUEUE_TYPE_RX = 0 };

struct mqcap__nl {
	/* aligned for struct nlmsghdr; MNL_SOCKET_BUFFER_SIZE may be the page size, and a dump
	 * needs room */
	_Alignas(8) char buf[16384];
	struct mnl_socket *sock;
	unsigned portid;
	unsigned seq;
	uint16_t family;
};

typedef mnl_attr_cb_t attr_fn;

struct walk {
	attr_fn fn;
	void *data;
	unsigned nmsgs;
};

static int msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct walk *w = data;

	w->nmsgs++;
	return mnl_attr_parse(nlh, sizeof(struct genlmsghdr), w->fn, w->data);
}

/* Send the request in nl->buf and run fn over the attributes of every answer. Returns 0 or
 * -errno (the kernel's, from its error message). */
static int transact(struct mqcap__nl *nl, struct nlmsghdr *nlh, attr_fn fn, void *data)
{
	struct walk w = { fn, data, 0 };
	int rc;

	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof(nl->buf));

		if (n < 0)
			return -errno;
		rc = mnl_cb_run(nl->buf, (size_t)n, nl->seq, nl->portid, msg_cb, &w);
		if (rc < 0)
			return -errno;
		if (rc == MNL_CB_STOP)
			return 0;
	}
}

static struct nlmsghdr *request(struct mqcap__nl *nl, uint16_t type, uint8_t cmd, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++nl->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = 1;
	return nlh;
}

static uint64_t attr_uint(const struct nlattr *a)
{
	/* "uint" attributes are 4 or 8 bytes, as the value needs */
	return mnl_attr_get_payload_len(a) == 8 ? mnl_attr_get_u64(a) : mnl_attr_get_u32(a);
}

static int family_attr(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID && mnl_attr_get_payload_len(a) >= 2)
		*(uint16_t *)data = mnl_attr_get_u16(a);
	return MNL_CB_OK;
}

int mqcap__nl_open(struct mqcap__nl **out, struct mqcap__err *e)
{
	struct mqcap__nl *nl = calloc(1, sizeof(*nl));
	struct nlmsghdr *nlh;
	int rc;

	*out = NULL;
	if (!nl)
		return mqcap__err_set(e, ENOMEM, "out of memory");
	nl->sock = mnl_socket_open2(NETLINK_GENERIC, SOCK_CLOEXEC);
	if (!nl->sock || mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		rc = errno;
		mqcap__nl_close(nl);
		return mqcap__err_set(e, rc == EPROTONOSUPPORT ? EOPNOTSUPP : rc,
				      "generic netlink socket: %s", strerror(rc));
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (unsigned)time(NULL);
	nlh = request(nl, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, NLM_F_ACK);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, NETDEV_FAMILY_NAME);
	rc = transact(nl, nlh, family_attr, &nl->family);
	if (rc || !nl->family) {
		mqcap__nl_close(nl);
		if (rc == -ENOENT || !rc)
			return mqcap__err_set(e, EOPNOTSUPP, "this kernel has no netdev netlink family");
		return mqcap__err_set(e, -rc, "netlink: resolving the netdev family: %s", strerror(-rc));
	}
	*out = nl;
	return 0;
}

void mqcap__nl_close(struct mqcap__nl *nl)
{
	if (!nl)
		return;
	if (nl->sock)
		mnl_socket_close(nl->sock);
	free(nl);
}

/* An operation the kernel does not know comes back as EOPNOTSUPP; an attribute it does not
 * know (older kernel, strict validation) as EINVAL with an extack we do not read. */
static int op_err(struct mqcap__err *e, int rc, const char *what)
{
	if (rc == -EOPNOTSUPP)
		return mqcap__err_set(e, EOPNOTSUPP, "this kernel's netdev family has no %s", what);
	return mqcap__err_set(e, -rc, "netlink %s: %s", what, strerror(-rc));
}

struct qcount {
	unsigned ifindex, n, type, qifindex;
	bool have_type;
};

static int qcount_attr(const struct nlattr *a, void *data)
{
	struct qcount *c = data;

	if (mnl_attr_get_type(a) == NL_A_QUEUE_TYPE) {
		c->type = mnl_attr_get_u32(a);
		c->have_type = true;
	} else if (mnl_attr_get_type(a) == NL_A_QUEUE_IFINDEX) {
		c->qifindex = mnl_attr_get_u32(a);
	}
	return MNL_CB_OK;
}

/* Called per answer: count the RX queues of our device, then reset for the next answer. */
static int qcount_msg(const struct nlmsghdr *nlh, void *data)
{
	struct qcount *c = data;

	c->have_type = false;
	c->qifindex = 0;
	mnl_attr_parse(nlh, sizeof(struct genlmsghdr), qcount_attr, c);
	if (c->have_type && c->type == NL_QUEUE_TYPE_RX && c->qifindex == c->ifindex)
		c->n++;
	return MNL_CB_OK;
}

int mqcap__nl_rx_queues(struct mqcap__nl *nl, unsigned ifindex, struct mqcap__err *e)
{
	struct nlmsghdr *nlh = request(nl, nl->family, NL_CMD_QUEUE_GET, NLM_F_DUMP);
	struct qcount c = { .ifindex = ifindex };

	mnl_attr_put_u32(nlh, NL_A_QUEUE_IFINDEX, ifindex);
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return op_err(e, -errno, "queue-get");
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof(nl->buf));
		int rc;

		if (n < 0)
			return op_err(e, -errno, "queue-get");
		rc = mnl_cb_run(nl->buf, (size_t)n, nl->seq, nl->portid, qcount_msg, &c);
		if (rc < 0)
			return op_err(e, -errno, "queue-get");
		if (rc == MNL_CB_STOP)
			return (int)c.n;
	}
}

static int qnapi_attr(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == NL_A_QUEUE_NAPI_ID)
		*(int64_t *)data = mnl_attr_get_u32(a);
	return MNL_CB_OK;
}

int mqcap__nl_queue_napi(struct mqcap__nl *nl, unsigned ifindex, unsigned q, unsigned *napi_id,
			 struct mqcap__err *e)
{
	struct nlmsghdr *nlh = request(nl, nl->family, NL_CMD_QUEUE_GET, NLM_F_ACK);
	int64_t id = -1;
	int rc;

	mnl_attr_put_u32(nlh, NL_A_QUEUE_IFINDEX, ifindex);
	mnl_attr_put_u32(nlh, NL_A_QUEUE_TYPE, NL_QUEUE_TYPE_RX);
	mnl_attr_put_u32(nlh, NL_A_QUEUE_ID, q);
	rc = transact(nl, nlh, qnapi_attr, &id);
	if (rc)
		return op_err(e, rc, "queue-get");
	if (id <= 0)
		return mqcap__err_set(e, ENOENT, "RX queue %u has no NAPI instance", q);
	*napi_id = (unsigned)id;
	return 0;
}

struct napi_facts {
	int pid, irq, threaded;
};

static int napi_attr(const struct nlattr *a, void *data)
{
	struct napi_facts *f = data;

	switch (mnl_attr_get_type(a)) {
	case NL_A_NAPI_PID:
		f->pid = (int)mnl_attr_get_u32(a);
		break;
	case NL_A_NAPI_IRQ:
		f->irq = (int)mnl_attr_get_u32(a);
		break;
	case NL_A_NAPI_THREADED:
		f->threaded = (int)attr_uint(a);
		break;
	}
	return MNL_CB_OK;
}

int mqcap__nl_napi_get(struct mqcap__nl *nl, unsigned napi_id, int *pid, int *irq, int *threaded,
		       struct mqcap__err *e)
{
	struct nlmsghdr *nlh = request(nl, nl->family, NL_CMD_NAPI_GET, NLM_F_ACK);
	struct napi_facts f = { -1, -1, -1 };
	int rc;

	mnl_attr_put_u32(nlh, NL_A_NAPI_ID, napi_id);
	rc = transact(nl, nlh, napi_attr, &f);
	if (rc)
		return op_err(e, rc, "napi-get");
	/* A kernel that reports "threaded" and no pid polls in softirq; pid 0 is no thread. */
	*pid = f.pid > 0 ? f.pid : -1;
	*irq = f.irq;
	*threaded = f.threaded;
	return 0;
}

struct napi_list {
	struct mqcap__nl_napi *out;
	unsigned max, n, ifindex;
	struct napi_facts f;
	unsigned id, ifi;
};

static int napi_list_attr(const struct nlattr *a, void *data)
{
	struct napi_list *l = data;

	if (mnl_attr_get_type(a) == NL_A_NAPI_ID)
		l->id = mnl_attr_get_u32(a);
	else if (mnl_attr_get_type(a) == NL_A_NAPI_IFINDEX)
		l->ifi = mnl_attr_get_u32(a);
	else
		napi_attr(a, &l->f);
	return MNL_CB_OK;
}

static int napi_list_msg(const struct nlmsghdr *nlh, void *data)
{
	struct napi_list *l = data;

	l->id = l->ifi = 0;
	l->f = (struct napi_facts){ -1, -1, -1 };
	mnl_attr_parse(nlh, sizeof(struct genlmsghdr), napi_list_attr, l);
	if (!l->id || l->ifi != l->ifindex)
		return MNL_CB_OK;
	if (l->n < l->max)
		l->out[l->n] = (struct mqcap__nl_napi){ l->id, l->f.pid > 0 ? l->f.pid : -1, l->f.irq,
							 l->f.threaded };
	l->n++;
	return MNL_CB_OK;
}

static int cmp_napi(const void *a, const void *b)
{
	const struct mqcap__nl_napi *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

int mqcap__nl_napi_dump(struct mqcap__nl *nl, unsigned ifindex, struct mqcap__nl_napi *out,
			unsigned max, struct mqcap__err *e)
{
	struct nlmsghdr *nlh = request(nl, nl->family, NL_CMD_NAPI_GET, NLM_F_DUMP);
	struct napi_list l = { .out = out, .max = max, .ifindex = ifindex };

	mnl_attr_put_u32(nlh, NL_A_NAPI_IFINDEX, ifindex);
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return op_err(e, -errno, "napi-get");
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof(nl->buf));
		int rc;

		if (n < 0)
			return op_err(e, -errno, "napi-get");
		rc = mnl_cb_run(nl->buf, (size_t)n, nl->seq, nl->portid, napi_list_msg, &l);
		if (rc < 0)
			return op_err(e, -errno, "napi-get");
		if (rc == MNL_CB_STOP)
			break;
	}
	/* the kernel lists a device's NAPIs newest first */
	if (out)
		qsort(out, l.n < max ? l.n : max, sizeof(*out), cmp_napi);
	return (int)l.n;
}

static int ignore_attr(const struct nlattr *a, void *data)
{
	(void)a;
	(void)data;
	return MNL_CB_OK;
}

int mqcap__nl_napi_set_threaded(struct mqcap__nl *nl, unsigned napi_id, bool on,
				struct mqcap__err *e)
{
	struct nlmsghdr *nlh = request(nl, nl->family, NL_CMD_NAPI_SET, NLM_F_ACK);
	int rc;

	mnl_attr_put_u32(nlh, NL_A_NAPI_ID, napi_id);
	mnl_attr_put_u32(nlh, NL_A_NAPI_THREADED, on ? 1 : 0);
	rc = transact(nl, nlh, ignore_attr, NULL);
	if (rc == -EINVAL || rc == -EOPNOTSUPP)
		return mqcap__err_set(e, EOPNOTSUPP, "this kernel cannot switch one NAPI to threaded "
				      "polling (napi-set threaded: %s)", strerror(-rc));
	if (rc == -EPERM)
		return mqcap__err_set(e, EPERM, "napi-set needs CAP_NET_ADMIN");
	if (rc)
		return op_err(e, rc, "napi-set");
	return 0;
}
