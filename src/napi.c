/* SPDX-License-Identifier: BSD-2-Clause */
/* napi.c - threaded NAPI: switch it on through sysfs, find the napi/DEV-ID threads in /proc,
 * pin them. See include/mqcap/napi.h for the model. */
#include <ctype.h>
#include <stdarg.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>

#include "mqcap/mqcap.h"
#include "mqcap/napi.h"
#include "error_int.h"


static int check_dev(const char *dev)
{
	if (!dev || !*dev || strlen(dev) >= IFNAMSIZ || strchr(dev, '/') || !strcmp(dev, ".") ||
	    !strcmp(dev, ".."))
		return mqcap__last_error_fmt(EINVAL, "invalid device name '%s'", dev ? dev : "(null)");
	return 0;
}

static int sysfs_threaded_path(const char *dev, char *path, size_t len)
{
	char dir[64];
	int r = check_dev(dev);

	if (r)
		return r;
	snprintf(dir, sizeof(dir), "/sys/class/net/%s", dev);
	if (access(dir, F_OK))
		return mqcap__last_error_fmt(ENODEV, "no device '%s' in this network namespace (as /sys shows it)", dev);
	snprintf(path, len, "%s/threaded", dir);
	if (access(path, F_OK))
		return mqcap__last_error_fmt(ENOENT, "%s: this kernel has no threaded NAPI (%s missing)", dev, path);
	return 0;
}

int mqcap_napi_threaded(const char *dev)
{
	char path[96], buf[16] = "";
	ssize_t n;
	int fd, r = sysfs_threaded_path(dev, path, sizeof(path));

	if (r)
		return r;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return mqcap__last_error_fmt(errno, "%s: cannot open %s: %s", dev, path, strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	r = errno;
	close(fd);
	if (n < 0)
		return mqcap__last_error_fmt(r, "%s: cannot read %s: %s", dev, path, strerror(r));
	/* 0 = off; 1 = threaded; newer kernels may report other modes (e.g. busy-poll) as 2. */
	return atoi(buf) != 0;
}

int mqcap_napi_set_threaded(const char *dev, bool on)
{
	char path[96];
	ssize_t n;
	int fd, err, r = sysfs_threaded_path(dev, path, sizeof(path));

	if (r)
		return r;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return mqcap__last_error_fmt(errno, "%s: cannot open %s: %s", dev, path, strerror(errno));
	n = write(fd, on ? "1" : "0", 1);
	err = errno;
	close(fd);
	if (n == 1)
		return 0;
	if (err == EPERM || err == EACCES)
		return mqcap__last_error_fmt(err, "%s: not allowed to change threaded NAPI (needs CAP_NET_ADMIN)", dev);
	/* The kernel refuses when the device has no NAPI instance; which errno it uses for
	 * that has changed over time (EOPNOTSUPP, EIO, ...), so name the likely cause. */
	return mqcap__last_error_fmt(EOPNOTSUPP,
		    "%s: cannot %s threaded NAPI (%s): the device has no NAPI instance yet "
		    "(a veth gets them when GRO is on there and TSO off on its peer, or an XDP "
		    "program is attached; the device must be up)",
		    dev, on ? "enable" : "disable", strerror(err));
}

/* Read a small /proc file into buf; returns its length or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n >= 0) {
		buf[n] = '\0';
		while (n > 0 && buf[n - 1] == '\n')
			buf[--n] = '\0';
	}
	return n;
}

/* If comm is "napi/DEV-ID" for this dev, store ID and return true. The device name may
 * itself contain '-', so match the whole name, then one '-', then only digits. */
static bool match_comm(const char *comm, const char *dev, unsigned *id)
{
	size_t dl = strlen(dev);
	const char *p;
	char *end;
	unsigned long v;

	if (strncmp(comm, "napi/", 5) || strncmp(comm + 5, dev, dl) || comm[5 + dl] != '-')
		return false;
	p = comm + 5 + dl + 1;
	if (!isdigit((unsigned char)*p))
		return false;
	v = strtoul(p, &end, 10);
	if (*end || v > 0xffffffffu)
		return false;
	*id = (unsigned)v;
	return true;
}

/* /proc/PID/stat field 39 (processor). The command name (field 2) may hold spaces and
 * parentheses, so count fields from the last ')'. */
static int last_cpu_of(int pid)
{
	char path[64], buf[1024], *p;
	int field = 2, cpu = -1;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_small(path, buf, sizeof(buf)) <= 0)
		return -1;
	p = strrchr(buf, ')');
	if (!p)
		return -1;
	for (p++; *p; p++) {
		if (*p == ' ') {
			field++;
			if (field == 39) {
				cpu = atoi(p + 1);
				break;
			}
		}
	}
	return cpu;
}

struct found {
	unsigned id;
	int pid;
};

static int cmp_found(const void *a, const void *b)
{
	const struct found *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

int mqcap_napi_list(const char *dev, struct mqcap_napi_thread *out, unsigned max)
{
	struct found *f = NULL;
	unsigned nf = 0, cap = 0, i;
	struct dirent *de;
	DIR *d;
	int r = check_dev(dev);

	if (r)
		return r;
	d = opendir("/proc");
	if (!d)
		return mqcap__last_error_fmt(errno, "cannot list /proc: %s", strerror(errno));
	while ((de = readdir(d))) {
		char path[64], comm[128];
		unsigned id;
		int pid;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = atoi(de->d_name);
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		/* Since 6.x /proc/PID/comm of a kernel thread shows its full name, not 15 bytes. */
		if (read_small(path, comm, sizeof(comm)) <= 0 || !match_comm(comm, dev, &id))
			continue;
		if (nf == cap) {
			struct found *nfp;

			cap = cap ? 2 * cap : 16;
			nfp = realloc(f, cap * sizeof(*f));
			if (!nfp) {
				free(f);
				closedir(d);
				return mqcap__last_error_fmt(ENOMEM, "out of memory listing NAPI threads");
			}
			f = nfp;
		}
		f[nf].id = id;
		f[nf].pid = pid;
		nf++;
	}
	closedir(d);
	if (nf > 1)
		qsort(f, nf, sizeof(*f), cmp_found);
	for (i = 0; i < nf && i < max; i++) {
		out[i].queue = i;
		out[i].napi_id = f[i].id;
		out[i].pid = f[i].pid;
		out[i].last_cpu = last_cpu_of(f[i].pid);
		CPU_ZERO(&out[i].allowed);
		if (sched_getaffinity(f[i].pid, sizeof(out[i].allowed), &out[i].allowed))
			CPU_ZERO(&out[i].allowed);
	}
	free(f);
	return (int)nf;
}

int mqcap_napi_pin(const struct mqcap_napi_thread *t, int cpu)
{
	cpu_set_t set;

	if (cpu < 0 || cpu >= CPU_SETSIZE)
		return mqcap__last_error_fmt(EINVAL, "CPU %d out of range", cpu);
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(t->pid, sizeof(set), &set)) {
		int err = errno;

		if (err == ESRCH)
			return mqcap__last_error_fmt(err, "NAPI thread %d (queue %u) is gone: the device was re-created or "
				    "flapped; list the threads again", t->pid, t->queue);
		return mqcap__last_error_fmt(err, "cannot pin NAPI thread %d (queue %u) to CPU %d: %s", t->pid,
			    t->queue, cpu, strerror(err));
	}
	return 0;
}

int mqcap_napi_pin_queues(const char *dev, const int *cpus, unsigned ncpus)
{
	struct mqcap_napi_thread *t;
	int n, i, r;

	if (!cpus || ncpus == 0)
		return mqcap__last_error_fmt(EINVAL, "%s: no CPU given to pin NAPI threads to", dev ? dev : "");
	n = mqcap_napi_list(dev, NULL, 0);
	if (n <= 0)
		return n;
	t = calloc((size_t)n, sizeof(*t));
	if (!t)
		return mqcap__last_error_fmt(ENOMEM, "out of memory listing NAPI threads");
	/* The set may change between the two calls (a flap): pin what the second one found. */
	r = mqcap_napi_list(dev, t, (unsigned)n);
	if (r < 0) {
		free(t);
		return r;
	}
	if (r < n)
		n = r;
	for (i = 0; i < n; i++) {
		r = mqcap_napi_pin(&t[i], cpus[(unsigned)i % ncpus]);
		if (r) {
			free(t);
			return r;
		}
	}
	free(t);
	return n;
}
