/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xdp_prog.c - one mqcap XDP program per device, shared by every mqcap process that captures
 * queues of it, and who is in the way when it cannot be had (see xdp_prog_int.h).
 *
 * How processes share it, and why this way. The first process loads the program and attaches
 * it through a BPF link. A later process joins: it finds the program on the device (XDP
 * query), checks that it is mqcap's with the same maps, and opens its own fds to the link and
 * the maps by id (BPF_LINK_GET_FD_BY_ID, BPF_MAP_GET_FD_BY_ID). The kernel keeps a BPF link,
 * and with it the program, attached while any fd to the link is open. So the program lives
 * exactly as long as some process captures the device: the last one out detaches it, by
 * closing or by dying (SIGKILL too, the kernel closes its fds), and no state is left anywhere
 * to clean up. Each process owns its queues by the kernel's own rule: one AF_XDP socket per RX
 * queue (a second bind gets EBUSY), and the kernel removes a socket's XSKMAP entry when the
 * socket is released, so a dead process's queues go straight back to the network stack
 * (counted no_socket) while the other processes go on.
 * Rejected: pinning the link and maps in bpffs. A pinned link outlives every process, so a
 * SIGKILLed last process would leave the program attached until somebody cleans up (and
 * telling "no live owner" needs lock files beside it); bpffs must also be mounted in every
 * namespace. libxdp's multi-process dispatcher has the same pinning, and chains one program
 * per process where one program with a shared XSKMAP is enough (DESIGN.md).
 * The cost: the *_GET_FD_BY_ID commands need CAP_SYS_ADMIN, so a process that joins another
 * process's capture needs it; the first one needs only CAP_BPF and CAP_NET_ADMIN.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "holder_int.h"
#include "xdp_log_int.h"
#include "xdp_prog_int.h"
#include "xdp_redirect.skel.h"

struct mqcap__xdp_prog {
	struct mqcap__xdp_prog *next;
	dev_t ns_dev;          /* network namespace of the attaching thread: ifindex is only */
	ino_t ns_ino;          /* unique inside one namespace */
	unsigned ifindex;
	unsigned refs;
	bool generic;
	bool joined;           /* another process attached it: our fds were opened by id */
	struct mqcap_xdp_redirect *skel; /* what we loaded; NULL when joined */
	int link_fd;           /* our reference to the device's link: the last one closed (or
				* its process dead) detaches the program */
	unsigned installed_rx; /* RX queues when the program was last installed; 0 unknown */
	struct mqcap_xdp_redirect *spare; /* the copy mqcap__xdp_prog_cover() installed last */
	int xsks_fd, captured_fd, counters_fd; /* the skeleton's, or ours when joined */
	bool forked;           /* this process forked, or is a fork's child, since it attached:
				* its sockets may be shared with another process */
	unsigned char claimed[MQCAP_XDP_MAX_QUEUES]; /* enum queue_state, per queue */
};

enum queue_state {
	QUEUE_FREE,    /* not ours */
	QUEUE_CLAIMED, /* a handle of this process is opening or closing it */
	QUEUE_BOUND,   /* our socket is in its slot, and our pid is its "captured" value */
};

/* Guards the list, refs and claimed[]: setup and teardown only, never the packet path. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct mqcap__xdp_prog *progs;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static void atfork_register(void);

static int netns_id(dev_t *dev, ino_t *ino)
{
	struct stat st;

	/* thread-self: a thread may have entered another namespace than the process. */
	if (stat("/proc/thread-self/ns/net", &st) && stat("/proc/self/ns/net", &st))
		return -errno;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}

/* The id of the XDP link of program prog_id on ifindex, 0 if the program was attached
 * without a link. The program id matters: ifindex numbers repeat in every namespace. */
static unsigned xdp_link_id(unsigned ifindex, unsigned prog_id)
{
	__u32 id = 0;

	while (!bpf_link_get_next_id(id, &id)) {
		struct bpf_link_info info;
		__u32 len = sizeof(info);
		int fd = bpf_link_get_fd_by_id(id);

		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.type == BPF_LINK_TYPE_XDP &&
		    info.xdp.ifindex == ifindex && info.prog_id == prog_id) {
			close(fd);
			return id;
		}
		close(fd);
	}
	return 0;
}

/* Attaching failed with EBUSY/EEXIST: say what is attached and who holds it. */
static int explain_busy(unsigned ifindex, const char *dev, struct mqcap__err *e)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	char name[sizeof(info.name) + 1] = "?";
	unsigned prog_id, link_id;
	int fd, pid;

	if (bpf_xdp_query(ifindex, 0, &q))
		return mqcap__err_set(e, EBUSY, "%s is busy: another XDP program is attached", dev);
	prog_id = q.drv_prog_id ? q.drv_prog_id : q.skb_prog_id ? q.skb_prog_id : q.prog_id;
	fd = bpf_prog_get_fd_by_id(prog_id);
	if (fd >= 0) {
		memset(&info, 0, sizeof(info));
		if (!bpf_obj_get_info_by_fd(fd, &info, &len))
			snprintf(name, sizeof(name), "%s", info.name);
		close(fd);
	}
	link_id = xdp_link_id(ifindex, prog_id);
	if (!link_id)
		return mqcap__err_set(e, EBUSY,
				      "%s is busy: XDP program '%s' (id %u) is attached to it "
				      "without a link (remove it with 'ip link set dev %s xdp off')",
				      dev, name, prog_id, dev);
	pid = mqcap__holder_of_link(link_id);
	return mqcap__err_set(e, EBUSY,
			      "%s is busy: XDP program '%s' (id %u) is attached by pid %d",
			      dev, name, prog_id, pid);
}

/*
 * Open and load the program, its maps shared with share (NULL: new maps). A kernel that
 * refuses bpf_xdp_adjust_meta() in XDP programs (6.18.44-fc does) gets the program without
 * timestamp metadata (bpf/xdp_redirect.bpf.c no_meta). NULL with errno on failure.
 */
static struct mqcap_xdp_redirect *load(const struct mqcap__xdp_prog *share)
{
	for (int no_meta = 0; no_meta <= 1; no_meta++) {
		struct mqcap_xdp_redirect *s = mqcap_xdp_redirect__open();
		int err;

		if (!s)
			return NULL;
		s->rodata->no_meta = (__u32)no_meta;
		if (share && (bpf_map__reuse_fd(s->maps.xsks, share->xsks_fd) ||
			      bpf_map__reuse_fd(s->maps.captured, share->captured_fd) ||
			      bpf_map__reuse_fd(s->maps.counters, share->counters_fd))) {
			err = errno;
			mqcap_xdp_redirect__destroy(s);
			errno = err;
			return NULL;
		}
		if (!mqcap_xdp_redirect__load(s))
			return s;
		err = errno;
		mqcap_xdp_redirect__destroy(s);
		errno = err;
		if (err != EINVAL)
			return NULL;
	}
	return NULL;
}

static int attach(struct mqcap__xdp_prog *p, const char *dev, const char *drv,
		  bool allow_generic, struct mqcap__err *e)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo);
	int err, prog_fd;

	mqcap__xdp_log_clear();
	p->skel = load(NULL);
	if (!p->skel) {
		err = errno;
		if (err == EPERM || err == EACCES)
			return mqcap__err_set(e, EPERM,
					      "loading the XDP program needs CAP_BPF and "
					      "CAP_NET_ADMIN (run as root): %s", strerror(err));
		return mqcap__err_set(e, err, "loading the XDP program failed: %s%s%s",
				      strerror(err), *mqcap__xdp_log_last() ? ": " : "",
				      mqcap__xdp_log_last());
	}
	prog_fd = bpf_program__fd(p->skel->progs.mqcap_xdp_redirect);
	p->xsks_fd = bpf_map__fd(p->skel->maps.xsks);
	p->captured_fd = bpf_map__fd(p->skel->maps.captured);
	p->counters_fd = bpf_map__fd(p->skel->maps.counters);

	/* Native mode explicitly: with no mode flag the kernel silently falls back to generic
	 * mode on drivers without XDP support. */
	lo.flags = XDP_FLAGS_DRV_MODE;
	p->link_fd = bpf_link_create(prog_fd, (int)p->ifindex, BPF_XDP, &lo);
	if (p->link_fd < 0 && errno == EOPNOTSUPP && allow_generic) {
		if (!strcmp(drv, "veth"))
			return mqcap__err_set(e, EOPNOTSUPP,
					      "%s: generic (skb) XDP is refused on veth: it reports "
					      "the wrong RX queue there", dev);
		lo.flags = XDP_FLAGS_SKB_MODE;
		p->generic = true;
		p->link_fd = bpf_link_create(prog_fd, (int)p->ifindex, BPF_XDP, &lo);
	}
	if (p->link_fd >= 0)
		return 0;
	err = errno;
	switch (err) {
	case EOPNOTSUPP:
		return mqcap__err_set(e, EOPNOTSUPP,
				      "%s: driver '%s' has no native XDP support, so AF_XDP cannot "
				      "capture per queue here (use packet:%s)", dev,
				      *drv ? drv : "?", dev);
	case EBUSY:
	case EEXIST:
		return -EEXIST; /* something is attached: the caller looks again (no message) */
	case EPERM:
	case EACCES:
		return mqcap__err_set(e, EPERM, "attaching XDP to %s needs CAP_NET_ADMIN", dev);
	/* The device cannot run XDP as it is configured: "not available here" to the caller,
	 * so that the auto backend falls back to AF_PACKET. */
	case ERANGE:
		return mqcap__err_set(e, EOPNOTSUPP, "%s: its MTU (on veth: its peer's) is too "
				      "large for XDP (use a smaller MTU, or packet:%s)", dev, dev);
	case ENOSPC:
		return mqcap__err_set(e, EOPNOTSUPP, "%s: veth refuses XDP while it has fewer RX "
				      "queues than its peer has TX queues (use packet:%s)", dev, dev);
	case ENOTCONN:
		return mqcap__err_set(e, EOPNOTSUPP, "%s: a veth without a peer cannot run XDP",
				      dev);
	case EINVAL:
		return mqcap__err_set(e, EOPNOTSUPP, "%s refused the XDP program (%s); its MTU "
				      "may be too large for XDP (use packet:%s)", dev,
				      strerror(err), dev);
	default:
		return mqcap__err_set(e, err, "attaching XDP to %s failed: %s", dev,
				      strerror(err));
	}
}

/* Close what attach() or join() opened, so that p can try again. */
static void release(struct mqcap__xdp_prog *p)
{
	if (p->link_fd >= 0)
		close(p->link_fd);
	p->link_fd = -1;
	if (p->joined) {
		int *fds[] = { &p->xsks_fd, &p->captured_fd, &p->counters_fd };

		for (unsigned i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
			if (*fds[i] >= 0)
				close(*fds[i]);
	}
	p->xsks_fd = p->captured_fd = p->counters_fd = -1;
	p->joined = p->generic = false;
	mqcap_xdp_redirect__destroy(p->spare);
	mqcap_xdp_redirect__destroy(p->skel);
	p->spare = p->skel = NULL;
}

static void destroy(struct mqcap__xdp_prog *p)
{
	release(p);
	free(p);
}

#define PROG_NAME "mqcap_xdp_redir" /* bpf_prog_info.name: the first 15 characters */
#define PROG_MAPS 8                 /* map ids read from a program found on a device */

/*
 * The fd of the map of a joined program that has the name and shape of shape (our own
 * definition, from an opened skeleton): a program of another mqcap build may lay its maps out
 * differently, and writing our layout into them would corrupt its capture. -EPROTO when no
 * map fits.
 */
static int joined_map(const __u32 *ids, __u32 n, const struct bpf_map *shape, int *out)
{
	for (__u32 i = 0; i < n; i++) {
		struct bpf_map_info mi;
		__u32 len = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(ids[i]);

		if (fd < 0)
			continue;
		memset(&mi, 0, sizeof(mi));
		if (bpf_obj_get_info_by_fd(fd, &mi, &len) || strcmp(mi.name, bpf_map__name(shape)) ||
		    mi.type != (__u32)bpf_map__type(shape) ||
		    mi.key_size != bpf_map__key_size(shape) ||
		    mi.value_size != bpf_map__value_size(shape) ||
		    mi.max_entries != bpf_map__max_entries(shape)) {
			close(fd);
			continue;
		}
		*out = fd;
		return 0;
	}
	return -EPROTO;
}

/* The program attached to ifindex in this namespace (0 if none) and whether in skb mode. */
static unsigned attached_prog(unsigned ifindex, bool *generic)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (bpf_xdp_query((int)ifindex, 0, &q))
		return 0;
	*generic = q.attach_mode == XDP_ATTACHED_SKB;
	return q.drv_prog_id ? q.drv_prog_id : q.skb_prog_id ? q.skb_prog_id : q.prog_id;
}

/*
 * Join the mqcap program another process attached to the device: our own fds to its BPF link
 * and its maps. 0 joined; -ENOENT nothing to join (no program, or it went away while we
 * looked: the caller attaches one, or looks again); other errors with a message (another
 * program, a program of another mqcap build, no CAP_SYS_ADMIN).
 */
static int join(struct mqcap__xdp_prog *p, const char *dev, struct mqcap__err *e)
{
	__u32 map_ids[PROG_MAPS], len = sizeof(struct bpf_prog_info);
	struct mqcap_xdp_redirect *shape = NULL;
	struct bpf_prog_info info;
	struct bpf_link_info li;
	unsigned prog_id, link_id;
	bool generic = false, mine;
	int fd, err;

	prog_id = attached_prog(p->ifindex, &generic);
	if (!prog_id)
		return -ENOENT;
	fd = bpf_prog_get_fd_by_id(prog_id);
	if (fd < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		if (errno == EPERM || errno == EACCES)
			return mqcap__err_set(e, EPERM, "%s has an XDP program (id %u), maybe another "
					      "mqcap capture's: sharing it needs CAP_SYS_ADMIN (the "
					      "kernel hands out a program's link and maps by id to "
					      "that capability only)", dev, prog_id);
		return mqcap__err_set(e, errno, "%s: reading its XDP program (id %u): %s", dev,
				      prog_id, strerror(errno));
	}
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = PROG_MAPS;
	info.map_ids = (__u64)(unsigned long)map_ids;
	err = bpf_obj_get_info_by_fd(fd, &info, &len) ? -errno : 0;
	close(fd);
	if (err)
		return err == -ENOENT ? -ENOENT : explain_busy(p->ifindex, dev, e);
	mine = !strcmp(info.name, PROG_NAME);
	link_id = mine ? xdp_link_id(p->ifindex, prog_id) : 0;
	if (!link_id) {
		bool g;

		/* replaced while we looked (another process covering new queues)? look again */
		if (mine && attached_prog(p->ifindex, &g) != prog_id)
			return -ENOENT;
		return explain_busy(p->ifindex, dev, e);
	}
	p->link_fd = bpf_link_get_fd_by_id(link_id);
	if (p->link_fd < 0)
		return errno == ENOENT ? -ENOENT :
		       mqcap__err_set(e, errno, "%s: taking a reference to the XDP link (id %u) of "
				      "its mqcap program: %s", dev, link_id, strerror(errno));
	/* The link may have been detached (bpftool link detach) between the look and the fd. */
	len = sizeof(li);
	memset(&li, 0, sizeof(li));
	if (bpf_obj_get_info_by_fd(p->link_fd, &li, &len) || li.xdp.ifindex != p->ifindex) {
		release(p);
		return -ENOENT;
	}
	p->joined = true;
	p->generic = generic;
	shape = mqcap_xdp_redirect__open();
	if (!shape)
		err = -errno;
	if (!err) {
		__u32 n = info.nr_map_ids < PROG_MAPS ? info.nr_map_ids : PROG_MAPS;

		err = joined_map(map_ids, n, shape->maps.xsks, &p->xsks_fd);
		if (!err)
			err = joined_map(map_ids, n, shape->maps.captured, &p->captured_fd);
		if (!err)
			err = joined_map(map_ids, n, shape->maps.counters, &p->counters_fd);
	}
	mqcap_xdp_redirect__destroy(shape);
	if (!err)
		return 0;
	release(p);
	if (err == -EPROTO)
		return mqcap__err_set(e, EBUSY, "%s is busy: an mqcap capture of another version "
				      "(pid %d) holds its XDP program (id %u), whose maps differ "
				      "from ours", dev, mqcap__holder_of_link(link_id), prog_id);
	return mqcap__err_set(e, -err, "%s: opening the maps of its XDP program: %s", dev,
			      strerror(-err));
}

/* Join the device's program, or attach one if it has none. Two processes may race: each
 * looks, finds nothing and attaches; the loser's attach finds the winner's program (EEXIST)
 * and it looks again. A program that keeps appearing and vanishing ends the loop. */
#define JOIN_TRIES 20
static int join_or_attach(struct mqcap__xdp_prog *p, const char *dev, const char *drv,
			  bool allow_generic, struct mqcap__err *e)
{
	int err = -ENOENT;

	for (int i = 0; i < JOIN_TRIES; i++) {
		err = join(p, dev, e);
		if (err != -ENOENT)
			return err;
		err = attach(p, dev, drv, allow_generic, e);
		if (err != -EEXIST)
			return err;
		release(p);
	}
	return explain_busy(p->ifindex, dev, e);
}

int mqcap__xdp_prog_get(unsigned ifindex, const char *dev_name, const char *drv,
			bool allow_generic, struct mqcap__xdp_prog **out, struct mqcap__err *e)
{
	struct mqcap__xdp_prog *p;
	dev_t ns_dev = 0;
	ino_t ns_ino = 0;
	int err;

	mqcap__xdp_log_init();
	pthread_once(&atfork_once, atfork_register);
	err = netns_id(&ns_dev, &ns_ino);
	if (err)
		return mqcap__err_set(e, -err, "cannot identify the network namespace: %s",
				      strerror(-err));
	pthread_mutex_lock(&lock);
	for (p = progs; p; p = p->next) {
		if (p->ifindex == ifindex && p->ns_dev == ns_dev && p->ns_ino == ns_ino) {
			p->refs++;
			pthread_mutex_unlock(&lock);
			*out = p;
			return 0;
		}
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		pthread_mutex_unlock(&lock);
		return mqcap__err_set(e, ENOMEM, "out of memory");
	}
	p->ns_dev = ns_dev;
	p->ns_ino = ns_ino;
	p->ifindex = ifindex;
	p->link_fd = p->xsks_fd = p->captured_fd = p->counters_fd = -1;
	/* Under the lock so that two threads opening the same device at once end up with one
	 * program and one set of fds. */
	err = join_or_attach(p, dev_name, drv, allow_generic, e);
	if (err) {
		pthread_mutex_unlock(&lock);
		destroy(p);
		return err;
	}
	p->refs = 1;
	p->next = progs;
	progs = p;
	pthread_mutex_unlock(&lock);
	*out = p;
	return 0;
}

/* Install a fresh copy of the program (the same code, sharing every map) through the link:
 * the driver then runs it on every queue it has now. The copy must be another program:
 * the kernel takes an update to the program already attached as a no-op. */
static int reinstall(struct mqcap__xdp_prog *p, struct mqcap__err *e)
{
	struct mqcap_xdp_redirect *s = load(p);
	int err = s ? 0 : -errno;

	if (!err && bpf_link_update(p->link_fd,
				    bpf_program__fd(s->progs.mqcap_xdp_redirect), NULL))
		err = -errno;
	if (err) {
		mqcap_xdp_redirect__destroy(s);
		return mqcap__err_set(e, -err, "installing the XDP program again for the new "
				      "RX queues failed: %s", strerror(-err));
	}
	mqcap_xdp_redirect__destroy(p->spare);
	p->spare = s;
	return 0;
}

int mqcap__xdp_prog_cover(struct mqcap__xdp_prog *p, unsigned rx_queues, struct mqcap__err *e)
{
	int err = 0;

	pthread_mutex_lock(&lock);
	/* Joined: another process installed the program, when the device may have had fewer
	 * queues, so install it once more; generic mode runs on every queue anyway. */
	if (!p->installed_rx && !p->joined)
		p->installed_rx = rx_queues;
	else if (!p->generic && (!p->installed_rx || rx_queues > p->installed_rx))
		err = reinstall(p, e);
	if (!err && rx_queues > p->installed_rx)
		p->installed_rx = rx_queues;
	pthread_mutex_unlock(&lock);
	return err;
}

void mqcap__xdp_prog_put(struct mqcap__xdp_prog *p)
{
	struct mqcap__xdp_prog **pp;

	if (!p)
		return;
	pthread_mutex_lock(&lock);
	if (--p->refs) {
		pthread_mutex_unlock(&lock);
		return;
	}
	for (pp = &progs; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	pthread_mutex_unlock(&lock);
	destroy(p);
}

int mqcap__xdp_prog_claim(struct mqcap__xdp_prog *p, unsigned queue, struct mqcap__err *e)
{
	int err = 0;

	if (queue >= MQCAP_XDP_MAX_QUEUES)
		return mqcap__err_set(e, EINVAL, "the xdp backend serves RX queues 0-%u, not %u",
				      MQCAP_XDP_MAX_QUEUES - 1, queue);
	pthread_mutex_lock(&lock);
	if (p->claimed[queue])
		err = mqcap__err_set(e, EBUSY,
				     "queue %u is busy: another handle of this process captures it",
				     queue);
	else
		p->claimed[queue] = QUEUE_CLAIMED;
	pthread_mutex_unlock(&lock);
	return err;
}

/* The queue's "captured" value: the pid of the process whose socket is in its slot, so that a
 * process refused the queue can name it (nonzero, which is all the program asks). */
static int mark_captured(const struct mqcap__xdp_prog *p, unsigned queue, __u32 pid)
{
	__u32 key = queue;

	return bpf_map_update_elem(p->captured_fd, &key, &pid, BPF_ANY) ? -errno : 0;
}

int mqcap__xdp_prog_bind(struct mqcap__xdp_prog *p, unsigned queue, int xsk_fd,
			 struct mqcap__err *e)
{
	__u32 key = queue, val = (__u32)xsk_fd;
	int err;

	/* Socket first, flag second: the program never sees "captured" without a socket. */
	if (bpf_map_update_elem(p->xsks_fd, &key, &val, BPF_ANY))
		return mqcap__err_set(e, errno, "adding the socket of queue %u to the XSKMAP: %s",
				      queue, strerror(errno));
	err = mark_captured(p, queue, (__u32)getpid());
	if (err) {
		bpf_map_delete_elem(p->xsks_fd, &key);
		return mqcap__err_set(e, -err, "marking queue %u captured: %s", queue,
				      strerror(-err));
	}
	pthread_mutex_lock(&lock);
	p->claimed[queue] = QUEUE_BOUND;
	pthread_mutex_unlock(&lock);
	return 0;
}

void mqcap__xdp_prog_unbind(struct mqcap__xdp_prog *p, unsigned queue)
{
	__u32 key = queue;
	bool shared;

	if (queue >= MQCAP_XDP_MAX_QUEUES)
		return;
	pthread_mutex_lock(&lock);
	shared = p->forked;
	if (p->claimed[queue] == QUEUE_BOUND)
		p->claimed[queue] = QUEUE_CLAIMED;
	pthread_mutex_unlock(&lock);
	if (shared)
		return;
	/* Flag first, socket second: the program never sees "captured" without a socket. */
	mark_captured(p, queue, 0);
	bpf_map_delete_elem(p->xsks_fd, &key);
}

void mqcap__xdp_prog_unclaim(struct mqcap__xdp_prog *p, unsigned queue)
{
	if (queue >= MQCAP_XDP_MAX_QUEUES)
		return;
	pthread_mutex_lock(&lock);
	p->claimed[queue] = QUEUE_FREE;
	pthread_mutex_unlock(&lock);
}

int mqcap__xdp_prog_holder(const struct mqcap__xdp_prog *p, unsigned queue)
{
	struct bpf_link_info li;
	__u32 key = queue, pid = 0, len = sizeof(li);

	if (queue >= MQCAP_XDP_MAX_QUEUES || bpf_map_lookup_elem(p->captured_fd, &key, &pid) ||
	    !pid || (int)pid == getpid())
		return 0;
	memset(&li, 0, sizeof(li));
	if (bpf_obj_get_info_by_fd(p->link_fd, &li, &len))
		return 0;
	/* A pid left by a process that died may name another process by now: only one that
	 * holds this device's link is an mqcap capture of it. */
	return mqcap__holder_has_link((int)pid, li.id) ? (int)pid : 0;
}

/* Around fork(): the lock is taken first, so that the child gets the list whole (no thread is
 * halfway through changing it) and an unlocked mutex. */
static void before_fork(void)
{
	pthread_mutex_lock(&lock);
}

static void after_fork_parent(void)
{
	for (struct mqcap__xdp_prog *p = progs; p; p = p->next)
		p->forked = true;
	pthread_mutex_unlock(&lock);
}

/* In the child: the queues this process has bound are the child's too (it holds the same
 * sockets); name it as their holder, since daemon(3) ends the parent at once. A parent that
 * keeps capturing as well shares the sockets: naming either is true. */
static void after_fork_child(void)
{
	for (struct mqcap__xdp_prog *p = progs; p; p = p->next) {
		p->forked = true;
		for (unsigned q = 0; q < MQCAP_XDP_MAX_QUEUES; q++)
			if (p->claimed[q] == QUEUE_BOUND)
				mark_captured(p, q, (__u32)getpid());
	}
	pthread_mutex_unlock(&lock);
}

static void atfork_register(void)
{
	pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

int mqcap__xdp_prog_counters(struct mqcap__xdp_prog *p, unsigned queue,
			     struct mqcap_xdp_counters *sum)
{
	int ncpu = libbpf_num_possible_cpus();
	struct mqcap_xdp_counters *per;
	__u32 key = queue;

	memset(sum, 0, sizeof(*sum));
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	per = calloc((size_t)ncpu, sizeof(*per));
	if (!per)
		return -ENOMEM;
	if (bpf_map_lookup_elem(p->counters_fd, &key, per)) {
		int err = -errno;

		free(per);
		return err;
	}
	for (int i = 0; i < ncpu; i++) {
		sum->seen += per[i].seen;
		sum->redirected += per[i].redirected;
		sum->no_socket += per[i].no_socket;
		sum->passed += per[i].passed;
		sum->meta_failed += per[i].meta_failed;
	}
	free(per);
	return 0;
}

bool mqcap__xdp_prog_is_generic(const struct mqcap__xdp_prog *p)
{
	return p->generic;
}

int mqcap__xdp_prog_attached(const struct mqcap__xdp_prog *p)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(p->link_fd, &info, &len))
		return -errno;
	return info.xdp.ifindex != 0;
}
