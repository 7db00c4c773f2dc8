/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * shim_ifreq.c - virtual device names in the calls programs make to look a device up by
 * name. A flow monitor opens "eth1@2" with libpcap and then asks the kernel about "eth1@2"
 * (ioctl SIOCGIFFLAGS, SIOCGIFHWADDR, if_nametoindex...); the kernel knows no such device,
 * and the program exits on ENODEV. Here those lookups are answered with the facts of the
 * device under the virtual one: a virtual device is an RX queue of eth1, so it has eth1's
 * flags, MTU, index, hardware address and addresses.
 *
 * Only names of mqcap's virtual devices are answered ('@' or an xdp:/packet: prefix, on one
 * device that exists, with queues it has); every other name and request goes to libc
 * untouched, and so does every request that changes something (SIOCSIF*: a program setting
 * flags on a queue would set them on the whole device behind the user's back).
 *
 * ioctl is variadic: glibc declares int ioctl(int, unsigned long, ...), and the kernel takes
 * one argument word, so the interposer reads one pointer-sized argument and passes it on as
 * it came. Programs call ioctl for much else (terminals, SIOCGSTAMP per packet...): those
 * cost one switch on the request and one indirect call, resolved once at load time (no
 * lock, nothing unsafe in a signal handler).
 */
#include <dlfcn.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "shim_int.h"

typedef int (*ioctl_fn)(int, unsigned long, ...);
typedef unsigned (*nametoindex_fn)(const char *);
static _Atomic(ioctl_fn) real_ioctl;
static _Atomic(nametoindex_fn) real_nametoindex;

/* At load time; again from the first call if another library's constructor calls before
 * ours ran (every thread finds the same values: relaxed stores suffice). */
__attribute__((constructor)) static void ifreq_resolve(void)
{
	atomic_store_explicit(&real_ioctl, (ioctl_fn)dlsym(RTLD_NEXT, "ioctl"),
			      memory_order_relaxed);
	atomic_store_explicit(&real_nametoindex,
			      (nametoindex_fn)dlsym(RTLD_NEXT, "if_nametoindex"),
			      memory_order_relaxed);
}

static ioctl_fn ioctl_next(void)
{
	ioctl_fn f = atomic_load_explicit(&real_ioctl, memory_order_relaxed);

	if (!f) {
		ifreq_resolve();
		f = atomic_load_explicit(&real_ioctl, memory_order_relaxed);
	}
	return f;
}

static nametoindex_fn nametoindex_next(void)
{
	nametoindex_fn f = atomic_load_explicit(&real_nametoindex, memory_order_relaxed);

	if (!f) {
		ifreq_resolve();
		f = atomic_load_explicit(&real_nametoindex, memory_order_relaxed);
	}
	return f;
}

/* The queue selection after '@' ("2", "0-3", "1,5") names queues below nq (nq 0: unknown,
 * anything well formed goes). */
static bool queues_exist(const char *sel, unsigned nq)
{
	if (!*sel)
		return false;
	while (*sel) {
		char *end;
		unsigned long a = strtoul(sel, &end, 10), b = a;

		if (end == sel || *sel == '-' || *sel == '+')
			return false;
		if (*end == '-') {
			const char *s2 = end + 1;

			b = strtoul(s2, &end, 10);
			if (end == s2 || b < a)
				return false;
		}
		if (nq && b >= nq)
			return false;
		if (*end == ',')
			end++;
		else if (*end)
			return false;
		sel = end;
	}
	return true;
}

bool shim_virtual_base(const char *name, size_t len, char base[IFNAMSIZ])
{
	char buf[128];   /* "packet:" + a device name + a queue list */
	const char *b, *at;
	size_t n;

	if (len >= sizeof(buf))
		return false;
	memcpy(buf, name, len);
	buf[len] = '\0';
	b = !strncmp(buf, "xdp:", 4) ? buf + 4 : !strncmp(buf, "packet:", 7) ? buf + 7 : buf;
	at = strchr(b, '@');
	if (!at && b == buf)
		return false;   /* a plain name: libc's */
	n = at ? (size_t)(at - b) : strlen(b);
	if (!n || n >= IFNAMSIZ || memchr(b, ',', n))
		return false;   /* empty, too long, or several devices: no one device to describe */
	memcpy(base, b, n);
	base[n] = '\0';
	return !at || queues_exist(at + 1, shim_rx_queue_count(base));
}

/* The requests that read a fact of the device named in a struct ifreq. */
static bool ifreq_get(unsigned long req)
{
	switch (req) {
	case SIOCGIFFLAGS:
	case SIOCGIFMTU:
	case SIOCGIFINDEX:
	case SIOCGIFHWADDR:
	case SIOCGIFADDR:
	case SIOCGIFNETMASK:
	case SIOCGIFBRDADDR:
	case SIOCGIFDSTADDR:
	case SIOCGIFMETRIC:
	case SIOCGIFTXQLEN:
	case SIOCGIFMAP:
		return true;
	default:
		return false;
	}
}

int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (ifreq_get(req) && arg) {
		struct ifreq *ifr = arg, q;
		char base[IFNAMSIZ];
		int rc;

		if (shim_virtual_base(ifr->ifr_name, strnlen(ifr->ifr_name, IFNAMSIZ), base)) {
			/* ask about the device; the program's ifreq keeps the name it gave */
			memcpy(&q, ifr, sizeof(q));
			memcpy(q.ifr_name, base, sizeof(q.ifr_name));
			rc = ioctl_next()(fd, req, &q);
			if (rc == 0)
				memcpy(&ifr->ifr_ifru, &q.ifr_ifru, sizeof(q.ifr_ifru));
			return rc;
		}
	}
	return ioctl_next()(fd, req, arg);
}

unsigned if_nametoindex(const char *name)
{
	char base[IFNAMSIZ];

	if (name && shim_virtual_base(name, strnlen(name, 128), base))
		return nametoindex_next()(base);
	return nametoindex_next()(name);
}
