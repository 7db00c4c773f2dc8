/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xdp_prog.c - attach mqcap's XDP program once per device per process, refcounted, and
 * explain who is in the way when it cannot be attached (see xdp_prog_int.h).
 */
#include <dirent.h>
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
	struct mqcap_xdp_redirect *skel;
	int link_fd;           /* closing it (or dying) detaches the program */
	unsigned installed_rx; /* RX queues when the program was last installed; 0 unknown */
	struct mqcap_xdp_redirect *spare; /* the copy mqcap__xdp_prog_cover() installed last */
	int xsks_fd, captured_fd, counters_fd;
	unsigned char claimed[MQCAP_XDP_MAX_QUEUES];
};

/* Guards the list, refs and claimed[]: setup and teardown only, never the packet path. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct mqcap__xdp_prog *progs;

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

/* The pid of a process holding an fd of BPF link link_id, or 0 if none is visible. */
static int link_owner_pid(unsigned link_id)
{
	char path[600], line[128];
	struct dirent *pde, *fde;
	DIR *proc, *fds;
	int pid = 0;

	proc = opendir("/proc");
	if (!proc)
		return 0;
	while (!pid && (pde = readdir(proc))) {
		if (pde->d_name[0] < '1' || pde->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fdinfo", pde->d_name);
		fds = opendir(path);
		if (!fds)
			continue;
		while (!pid && (fde = readdir(fds))) {
			FILE *f;

			if (fde->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/fdinfo/%s", pde->d_name,
				 fde->d_name);
			f = fopen(path, "re");
			if (!f)
				continue;
			while (fgets(line, sizeof(line), f)) {
				unsigned id;

				if (sscanf(line, "link_id: %u", &id) == 1 && id == link_id) {
					pid = atoi(pde->d_name);
					break;
				}
			}
			fclose(f);
		}
		closedir(fds);
	}
	closedir(proc);
	return pid;
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
	pid = link_owner_pid(link_id);
	if (!strncmp(name, "mqcap_xdp_redir", 15))
		return mqcap__err_set(e, EBUSY,
				      "%s is busy: another mqcap capture (pid %d) holds its XDP "
				      "program (id %u); one process captures a device over AF_XDP "
				      "at a time: open the other queues in that process",
				      dev, pid, prog_id);
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
		return explain_busy(p->ifindex, dev, e);
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

static void destroy(struct mqcap__xdp_prog *p)
{
	if (p->link_fd >= 0)
		close(p->link_fd);
	mqcap_xdp_redirect__destroy(p->spare);
	mqcap_xdp_redirect__destroy(p->skel);
	free(p);
}

int mqcap__xdp_prog_get(unsigned ifindex, const char *dev_name, const char *drv,
			bool allow_generic, struct mqcap__xdp_prog **out, struct mqcap__err *e)
{
	struct mqcap__xdp_prog *p;
	dev_t ns_dev = 0;
	ino_t ns_ino = 0;
	int err;

	mqcap__xdp_log_init();
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
	p->link_fd = -1;
	/* Attached under the lock so that two threads opening the same device at once end up
	 * with one program, not one EBUSY. */
	err = attach(p, dev_name, drv, allow_generic, e);
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
	if (!p->installed_rx)
		p->installed_rx = rx_queues;
	else if (rx_queues > p->installed_rx && !p->generic)
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
		p->claimed[queue] = 1;
	pthread_mutex_unlock(&lock);
	return err;
}

int mqcap__xdp_prog_bind(struct mqcap__xdp_prog *p, unsigned queue, int xsk_fd,
			 struct mqcap__err *e)
{
	__u32 key = queue, val = (__u32)xsk_fd, on = 1;

	/* Socket first, flag second: the program never sees "captured" without a socket. */
	if (bpf_map_update_elem(p->xsks_fd, &key, &val, BPF_ANY))
		return mqcap__err_set(e, errno, "adding the socket of queue %u to the XSKMAP: %s",
				      queue, strerror(errno));
	if (bpf_map_update_elem(p->captured_fd, &key, &on, BPF_ANY)) {
		int err = errno;

		bpf_map_delete_elem(p->xsks_fd, &key);
		return mqcap__err_set(e, err, "marking queue %u captured: %s", queue,
				      strerror(err));
	}
	return 0;
}

void mqcap__xdp_prog_unbind(struct mqcap__xdp_prog *p, unsigned queue)
{
	__u32 key = queue, off = 0;

	if (queue >= MQCAP_XDP_MAX_QUEUES)
		return;
	bpf_map_update_elem(p->captured_fd, &key, &off, BPF_ANY);
	bpf_map_delete_elem(p->xsks_fd, &key);
	pthread_mutex_lock(&lock);
	p->claimed[queue] = 0;
	pthread_mutex_unlock(&lock);
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
