/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * backend_choice.c - AF_XDP by default only where it takes nothing from the host (see
 * backend_choice_int.h for what "carries the host's traffic" means and why).
 *
 * The facts come from rtnetlink dumps (links, addresses, routes, nexthops) through libmnl,
 * taken once per open in the caller's network namespace: the socket belongs to the namespace
 * of the thread that creates it. Parsing `ip` output would depend on its version and
 * language; the kernel's answer does not.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/nexthop.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include "backend_choice_int.h"

/* Large enough for one dump datagram of any of these dumps: the kernel sizes them to what
 * the reader offered before, up to 32 KiB (netlink_recvmsg's max_recvmsg_len). */
#define DUMP_BUF 32768
#define LIST_LEN 256 /* a list of addresses, devices or uses; longer ones end in "..." */
#define MAX_DEPTH 4 /* masters and stacked devices followed this far (bond in bridge: 2) */

struct link {
	unsigned ifindex, master, lower;  /* lower: IFLA_LINK in this namespace, 0 if none */
	char name[IF_NAMESIZE];
	char kind[16];                    /* IFLA_INFO_KIND, "" if none */
};

struct addr {
	unsigned ifindex;
	char text[INET6_ADDRSTRLEN + 4];  /* "198.18.0.2/24" */
};

struct use {                              /* a route or nexthop through a device */
	unsigned ifindex;
	char text[INET6_ADDRSTRLEN + 16]; /* "route 10.0.0.0/8", "nexthop 12" */
};

struct view {
	struct link *links;
	struct addr *addrs;
	struct use *uses;
	unsigned *rel;                    /* the devices that matter: captured, their masters and
					   * stacked devices; only their addresses and routes are
					   * kept (a router's full table would not fit otherwise) */
	unsigned nlinks, naddrs, nuses, nrel;
	unsigned cap_links, cap_addrs, cap_uses, cap_rel;
	int err;                          /* first allocation failure in a callback: -ENOMEM */
};

#define USES_PER_DEV 3                    /* routes named per device; more add nothing */

static bool relevant(const struct view *v, unsigned ifindex)
{
	for (unsigned i = 0; i < v->nrel; i++)
		if (v->rel[i] == ifindex)
			return true;
	return false;
}

static void *grow(void *arr, unsigned *cap, unsigned n, size_t sz)
{
	void *p;

	if (n < *cap)
		return arr;
	p = realloc(arr, (size_t)(*cap ? *cap * 2 : 16) * sz);
	if (p)
		*cap = *cap ? *cap * 2 : 16;
	return p;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct view *v = data;
	const struct nlattr *a;
	bool other_ns = false;
	struct link *l;
	void *p;

	if (nlh->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
		return MNL_CB_OK;
	p = grow(v->links, &v->cap_links, v->nlinks, sizeof(*v->links));
	if (!p) {
		v->err = -ENOMEM;
		return MNL_CB_ERROR;
	}
	v->links = p;
	l = &v->links[v->nlinks++];
	memset(l, 0, sizeof(*l));
	l->ifindex = (unsigned)ifi->ifi_index;
	mnl_attr_for_each(a, nlh, sizeof(*ifi)) {
		switch (mnl_attr_get_type(a)) {
		case IFLA_IFNAME:
			if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
				snprintf(l->name, sizeof(l->name), "%s", mnl_attr_get_str(a));
			break;
		case IFLA_MASTER:
			if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
				l->master = mnl_attr_get_u32(a);
			break;
		case IFLA_LINK:
			if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
				l->lower = mnl_attr_get_u32(a);
			break;
		case IFLA_LINK_NETNSID:
			/* IFLA_LINK names a device of another namespace (a veth's peer) */
			other_ns = true;
			break;
		case IFLA_LINKINFO: {
			const struct nlattr *n;

			mnl_attr_for_each_nested(n, a)
				if (mnl_attr_get_type(n) == IFLA_INFO_KIND &&
				    mnl_attr_validate(n, MNL_TYPE_STRING) >= 0)
					snprintf(l->kind, sizeof(l->kind), "%.*s",
						 (int)strnlen(mnl_attr_get_payload(n),
							      mnl_attr_get_payload_len(n)),
						 (const char *)mnl_attr_get_payload(n));
			break;
		}
		default:
			break;
		}
	}
	if (other_ns || l->lower == l->ifindex)
		l->lower = 0;
	return MNL_CB_OK;
}

/* Whether this kernel tags its addresses with IFA_PROTO (5.18 and later). It sends the
 * attribute only when the protocol is not 0, so an address set by hand has none: only the
 * kernel's version tells "set by hand" from "a kernel that does not say". */
static bool kernel_tags_addresses(void)
{
	struct utsname u;
	unsigned major = 0, minor = 0;

	if (uname(&u) || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return true;
	return major > 5 || (major == 5 && minor >= 18);
}

/* The kernel's own IPv6 link-local address: see backend_choice_int.h. */
static bool automatic_ll(const struct ifaddrmsg *ifa, int proto, const unsigned char *a6)
{
	if (ifa->ifa_family != AF_INET6)
		return false;
	if (proto >= 0)
		return proto == IFAPROT_KERNEL_LL;
	if (kernel_tags_addresses())
		return false; /* no IFA_PROTO on a tagging kernel: set by hand */
	return a6[0] == 0xfe && (a6[1] & 0xc0) == 0x80;
}

static const struct link *link_find(const struct view *v, unsigned ifindex);

/* ifindex, its masters and the devices stacked on it, as far as carries() looks. */
static int relevant_add(struct view *v, unsigned ifindex, int depth)
{
	const struct link *l = link_find(v, ifindex);
	void *p;
	int err;

	if (depth > MAX_DEPTH || relevant(v, ifindex))
		return 0;
	p = grow(v->rel, &v->cap_rel, v->nrel, sizeof(*v->rel));
	if (!p)
		return -ENOMEM;
	v->rel = p;
	v->rel[v->nrel++] = ifindex;
	if (l && l->master && (err = relevant_add(v, l->master, depth + 1)))
		return err;
	for (unsigned i = 0; i < v->nlinks; i++)
		if (v->links[i].lower == ifindex && strcmp(v->links[i].kind, "veth") &&
		    (err = relevant_add(v, v->links[i].ifindex, depth + 1)))
			return err;
	return 0;
}

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const void *local = NULL, *address = NULL, *bin;
	struct view *v = data;
	const struct nlattr *a;
	size_t alen = 0;
	int proto = -1;
	char buf[INET6_ADDRSTRLEN];
	struct addr *ad;
	void *p;

	if (nlh->nlmsg_type != RTM_NEWADDR || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return MNL_CB_OK;
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return MNL_CB_OK;
	alen = ifa->ifa_family == AF_INET ? 4 : 16;
	mnl_attr_for_each(a, nlh, sizeof(*ifa)) {
		switch (mnl_attr_get_type(a)) {
		case IFA_LOCAL:
			if (mnl_attr_get_payload_len(a) >= alen)
				local = mnl_attr_get_payload(a);
			break;
		case IFA_ADDRESS:
			if (mnl_attr_get_payload_len(a) >= alen)
				address = mnl_attr_get_payload(a);
			break;
		case IFA_PROTO:
			if (mnl_attr_validate(a, MNL_TYPE_U8) >= 0)
				proto = mnl_attr_get_u8(a);
			break;
		default:
			break;
		}
	}
	/* IPv4: IFA_LOCAL is the host's address (IFA_ADDRESS is the peer's on point-to-point) */
	bin = local ? local : address;
	if (!bin)
		return MNL_CB_OK;
	if (automatic_ll(ifa, proto, bin) || !relevant(v, ifa->ifa_index))
		return MNL_CB_OK;
	p = grow(v->addrs, &v->cap_addrs, v->naddrs, sizeof(*v->addrs));
	if (!p) {
		v->err = -ENOMEM;
		return MNL_CB_ERROR;
	}
	v->addrs = p;
	ad = &v->addrs[v->naddrs++];
	ad->ifindex = ifa->ifa_index;
	if (!inet_ntop(ifa->ifa_family, bin, buf, sizeof(buf)))
		snprintf(buf, sizeof(buf), "?");
	snprintf(ad->text, sizeof(ad->text), "%s/%u", buf, ifa->ifa_prefixlen);
	return MNL_CB_OK;
}

static int use_add(struct view *v, unsigned ifindex, const char *text)
{
	unsigned have = 0;
	void *p;

	if (!relevant(v, ifindex))
		return MNL_CB_OK;
	for (unsigned i = 0; i < v->nuses; i++)
		have += v->uses[i].ifindex == ifindex;
	if (have >= USES_PER_DEV)
		return MNL_CB_OK;
	p = grow(v->uses, &v->cap_uses, v->nuses, sizeof(*v->uses));
	if (!p) {
		v->err = -ENOMEM;
		return MNL_CB_ERROR;
	}
	v->uses = p;
	v->uses[v->nuses].ifindex = ifindex;
	snprintf(v->uses[v->nuses].text, sizeof(v->uses[v->nuses].text), "%s", text);
	v->nuses++;
	return MNL_CB_OK;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rt = mnl_nlmsg_get_payload(nlh);
	struct view *v = data;
	const struct nlattr *a;
	const void *dst = NULL;
	char text[sizeof(((struct use *)0)->text)], buf[INET6_ADDRSTRLEN];
	size_t alen;

	if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof(*rt))
		return MNL_CB_OK;
	/* The kernel's routes follow from addresses (prefix, local, broadcast, the IPv6
	 * link-local and multicast routes every device gets): the addresses decide. */
	if (rt->rtm_protocol == RTPROT_KERNEL || (rt->rtm_flags & RTM_F_CLONED))
		return MNL_CB_OK;
	alen = rt->rtm_family == AF_INET ? 4 : rt->rtm_family == AF_INET6 ? 16 : 0;
	mnl_attr_for_each(a, nlh, sizeof(*rt))
		if (mnl_attr_get_type(a) == RTA_DST && alen && mnl_attr_get_payload_len(a) >= alen)
			dst = mnl_attr_get_payload(a);
	if (dst && inet_ntop(rt->rtm_family, dst, buf, sizeof(buf)))
		snprintf(text, sizeof(text), "route %s/%u", buf, rt->rtm_dst_len);
	else if (alen && !rt->rtm_dst_len)
		snprintf(text, sizeof(text), "%s default route", alen == 4 ? "IPv4" : "IPv6");
	else
		snprintf(text, sizeof(text), "a route (family %u)", rt->rtm_family);

	mnl_attr_for_each(a, nlh, sizeof(*rt)) {
		if (mnl_attr_get_type(a) == RTA_OIF && mnl_attr_validate(a, MNL_TYPE_U32) >= 0) {
			if (use_add(v, mnl_attr_get_u32(a), text) != MNL_CB_OK)
				return MNL_CB_ERROR;
		} else if (mnl_attr_get_type(a) == RTA_MULTIPATH) {
			const struct rtnexthop *nh = mnl_attr_get_payload(a);
			size_t left = mnl_attr_get_payload_len(a);

			/* each rtnexthop's own length is checked against what is left */
			while (left >= sizeof(*nh) && nh->rtnh_len >= sizeof(*nh) &&
			       nh->rtnh_len <= left) {
				if (use_add(v, (unsigned)nh->rtnh_ifindex, text) != MNL_CB_OK)
					return MNL_CB_ERROR;
				if ((size_t)RTNH_ALIGN(nh->rtnh_len) >= left)
					break;
				left -= (size_t)RTNH_ALIGN(nh->rtnh_len);
				nh = RTNH_NEXT(nh);
			}
		}
	}
	return MNL_CB_OK;
}

static int nexthop_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nhmsg *nhm = mnl_nlmsg_get_payload(nlh);
	struct view *v = data;
	const struct nlattr *a;
	unsigned id = 0, oif = 0;
	char text[32];

	if (nlh->nlmsg_type != RTM_NEWNEXTHOP || mnl_nlmsg_get_payload_len(nlh) < sizeof(*nhm))
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*nhm)) {
		if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
			continue;
		if (mnl_attr_get_type(a) == NHA_ID)
			id = mnl_attr_get_u32(a);
		else if (mnl_attr_get_type(a) == NHA_OIF)
			oif = mnl_attr_get_u32(a);
	}
	if (!oif)
		return MNL_CB_OK;
	snprintf(text, sizeof(text), "nexthop %u", id);
	return use_add(v, oif, text);
}

/* One dump request: hdr_len bytes of family header (zeroed, with the family set). */
static int dump(struct mnl_socket *nl, uint16_t type, size_t hdr_len, mnl_cb_t cb,
		struct view *v, char *buf)
{
	unsigned portid = mnl_socket_get_portid(nl), seq = (unsigned)time(NULL) + type;
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	ssize_t n;
	int rc;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	/* the first byte of every one of these headers is the family: AF_UNSPEC = all */
	mnl_nlmsg_put_extra_header(nlh, hdr_len);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		n = mnl_socket_recvfrom(nl, buf, DUMP_BUF);
		if (n < 0)
			return -errno;
		rc = mnl_cb_run(buf, (size_t)n, seq, portid, cb, v);
	} while (rc > 0);
	if (rc < 0)
		return v->err ? v->err : -errno;
	return 0;
}

static void view_free(struct view *v)
{
	free(v->links);
	free(v->addrs);
	free(v->uses);
	free(v->rel);
	memset(v, 0, sizeof(*v));
}

static int view_load(struct view *v, const struct mqcap__capname *cn, const char **what)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	char *buf = malloc(DUMP_BUF);
	int err = 0;

	memset(v, 0, sizeof(*v));
	*what = "opening a socket";
	if (!nl || !buf) {
		err = !buf ? -ENOMEM : -errno;
		goto out;
	}
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto out;
	}
	*what = "listing devices";
	err = dump(nl, RTM_GETLINK, sizeof(struct ifinfomsg), link_cb, v, buf);
	for (unsigned d = 0; d < cn->ndevs && !err; d++) {
		unsigned ifindex = if_nametoindex(cn->devs[d].name);

		if (ifindex)
			err = relevant_add(v, ifindex, 0);
	}
	if (!err) {
		*what = "listing addresses";
		err = dump(nl, RTM_GETADDR, sizeof(struct ifaddrmsg), addr_cb, v, buf);
	}
	if (!err) {
		*what = "listing routes";
		err = dump(nl, RTM_GETROUTE, sizeof(struct rtmsg), route_cb, v, buf);
	}
	if (!err) {
		/* kernels before 5.3, or built without nexthop objects, refuse this dump: no
		 * nexthop objects can point at the device then */
		*what = "listing nexthops";
		err = dump(nl, RTM_GETNEXTHOP, sizeof(struct nhmsg), nexthop_cb, v, buf);
		if (err == -EOPNOTSUPP || err == -EINVAL || err == -EAFNOSUPPORT)
			err = 0;
	}
out:
	if (nl)
		mnl_socket_close(nl);
	free(buf);
	if (err)
		view_free(v);
	return err;
}

static const struct link *link_find(const struct view *v, unsigned ifindex)
{
	for (unsigned i = 0; i < v->nlinks; i++)
		if (v->links[i].ifindex == ifindex)
			return &v->links[i];
	return NULL;
}

/* A line that may be cut short: the reasons quote lists of any length, and a cut line still
 * says what it must at its start. */
static void say(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* Append to a ", "-separated list in buf, with "..." once it is full. */
static void list_add(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void list_add(char *buf, size_t len, const char *fmt, ...)
{
	size_t off = strlen(buf);
	char item[LIST_LEN + 128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(item, sizeof(item), fmt, ap);
	va_end(ap);
	if (off + (off ? 2 : 0) + strlen(item) + 4 >= len) {
		const char *more = off ? ", ..." : "...";

		if (off + strlen(more) < len && (off < 3 || strcmp(buf + off - 3, "...")))
			strcat(buf, more);
		return;
	}
	snprintf(buf + off, len - off, "%s%s", off ? ", " : "", item);
}

/*
 * What makes ifindex carry the host's traffic: uses gets the clauses ("address 198.18.0.2/24",
 * "port of br0", "IPv4 default route", "under ex1.100 (vlan)"), addrs the addresses that stop
 * receiving when its frames go to a socket (its own, its masters', its stacked devices').
 * Returns whether any clause applies.
 */
static bool carries(const struct view *v, unsigned ifindex, int depth, char *uses, size_t ulen,
		    char *addrs, size_t alen)
{
	const struct link *l = link_find(v, ifindex);
	bool busy = false;

	if (depth > MAX_DEPTH)
		return false;
	for (unsigned i = 0; i < v->naddrs; i++)
		if (v->addrs[i].ifindex == ifindex) {
			if (!depth)
				list_add(uses, ulen, "address %s", v->addrs[i].text);
			list_add(addrs, alen, "%s", v->addrs[i].text);
			busy = true;
		}
	for (unsigned i = 0; i < v->nuses; i++)
		if (v->uses[i].ifindex == ifindex) {
			if (!depth)
				list_add(uses, ulen, "%s", v->uses[i].text);
			busy = true;
		}
	if (l && l->master) {
		const struct link *m = link_find(v, l->master);
		char ignored[8] = "";

		list_add(uses, ulen, "port of %s%s%s%s", m ? m->name : "?",
			 m && m->kind[0] ? " (" : "", m ? m->kind : "", m && m->kind[0] ? ")" : "");
		carries(v, l->master, depth + 1, ignored, sizeof(ignored), addrs, alen);
		busy = true;
	}
	for (unsigned i = 0; i < v->nlinks; i++) {
		const struct link *u = &v->links[i];
		char sub[8] = "";

		if (u->lower != ifindex || !strcmp(u->kind, "veth"))
			continue;
		if (carries(v, u->ifindex, depth + 1, sub, sizeof(sub), addrs, alen)) {
			list_add(uses, ulen, "%s%s%s%s stacked on it", u->name, u->kind[0] ? " (" : "",
				 u->kind, u->kind[0] ? ")" : "");
			busy = true;
		}
	}
	return busy;
}

void mqcap__backend_choose(const struct mqcap__capname *cn, enum mqcap_backend want,
			   struct mqcap__choice *ch)
{
	/* why holds one device's uses whole, so that a single device is never cut to "..." */
	char busy_devs[LIST_LEN] = "", why[LIST_LEN + 128] = "";
	char addrs[LIST_LEN] = "", names[LIST_LEN] = "";
	const char *what = "";
	struct view v;
	unsigned nbusy = 0;
	int err;

	memset(ch, 0, sizeof(*ch));
	ch->asked = want != MQCAP_BACKEND_AUTO;
	for (unsigned d = 0; d < cn->ndevs; d++)
		list_add(names, sizeof(names), "%s", cn->devs[d].name);
	if (want == MQCAP_BACKEND_PACKET) {
		ch->backend = MQCAP_BACKEND_PACKET;
		say(ch->reason, sizeof(ch->reason), "AF_PACKET, as asked");
		return;
	}
	err = view_load(&v, cn, &what);
	if (err) {
		if (want == MQCAP_BACKEND_XDP) {
			ch->backend = MQCAP_BACKEND_XDP;
			ch->takes_from_stack = true;
			say(ch->reason, sizeof(ch->reason), "AF_XDP, as asked");
			say(ch->warning, sizeof(ch->warning),
				 "AF_XDP takes the frames of the captured queues of %s from the network "
				 "stack; which addresses stop receiving them is unknown (rtnetlink, %s: %s)",
				 names, what, strerror(-err));
		} else {
			ch->backend = MQCAP_BACKEND_PACKET;
			say(ch->reason, sizeof(ch->reason),
				 "auto chose AF_PACKET: cannot tell whether %s carries the host's "
				 "traffic (rtnetlink, %s: %s)", names, what, strerror(-err));
		}
		return;
	}
	for (unsigned d = 0; d < cn->ndevs; d++) {
		char uses[LIST_LEN] = "";
		unsigned ifindex = if_nametoindex(cn->devs[d].name);

		if (!ifindex || !carries(&v, ifindex, 0, uses, sizeof(uses), addrs, sizeof(addrs)))
			continue;
		nbusy++;
		list_add(busy_devs, sizeof(busy_devs), "%s", cn->devs[d].name);
		if (cn->ndevs > 1)
			list_add(why, sizeof(why), "%s: %s", cn->devs[d].name, uses);
		else
			list_add(why, sizeof(why), "%s", uses);
	}
	view_free(&v);

	if (want == MQCAP_BACKEND_XDP) {
		ch->backend = MQCAP_BACKEND_XDP;
		if (!nbusy) {
			say(ch->reason, sizeof(ch->reason), "AF_XDP, as asked; %s %s a dedicated "
				 "capture port (no address, route, master or stacked device in use)",
				 names, cn->ndevs > 1 ? "are each" : "is");
			return;
		}
		ch->takes_from_stack = true;
		say(ch->reason, sizeof(ch->reason), "AF_XDP, as asked, although %s %s the "
			 "host's traffic (%s)", busy_devs, nbusy > 1 ? "carry" : "carries", why);
		if (addrs[0])
			say(ch->warning, sizeof(ch->warning),
				 "AF_XDP takes the frames of the captured queues of %s from the "
				 "network stack: the host's addresses %s stop receiving them",
				 busy_devs, addrs);
		else
			say(ch->warning, sizeof(ch->warning),
				 "AF_XDP takes the frames of the captured queues of %s from the "
				 "network stack, which uses them (%s)", busy_devs, why);
		return;
	}
	if (nbusy) {
		ch->backend = MQCAP_BACKEND_PACKET;
		say(ch->reason, sizeof(ch->reason), "auto chose AF_PACKET: %s %s the host's "
			 "traffic (%s) and AF_XDP would take its frames from the network stack "
			 "(ask for xdp to do that)", busy_devs, nbusy > 1 ? "carry" : "carries", why);
		return;
	}
	ch->backend = MQCAP_BACKEND_XDP;
	say(ch->reason, sizeof(ch->reason), "auto chose AF_XDP: %s %s a dedicated capture "
		 "port (no address, route, master or stacked device in use)", names,
		 cn->ndevs > 1 ? "are each" : "is");
}

void mqcap__backend_fallback(struct mqcap__choice *ch, int err, const char *why)
{
	char prev[MQCAP__REASON_LEN];
	const char *colon = strstr(ch->reason, ": ");

	say(prev, sizeof(prev), "%s", colon ? colon + 2 : ch->reason);
	ch->backend = MQCAP_BACKEND_PACKET;
	ch->takes_from_stack = false;
	ch->warning[0] = '\0';
	say(ch->reason, sizeof(ch->reason), "auto chose AF_PACKET: %s, but %s (%s)", prev,
	    err == -EOPNOTSUPP ? "native XDP does not work there" :
	    "AF_XDP could not be opened there", why);
}
