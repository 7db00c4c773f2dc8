/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * shim.c - libmqcap-pcap: which handles are ours, and their life: pcap_create, the
 * pcap_set_* calls, pcap_activate, pcap_open_live, filters, direction, errors, pcap_close.
 * Receiving is in shim_recv.c, the device list in shim_devs.c. See shim_int.h for how a
 * handle is made of real dead pcap_t's.
 *
 * The shim is a client of mqcap's public API only (include/mqcap/mqcap.h).
 */
#include <dlfcn.h>
#include <errno.h>
#include <linux/capability.h>
#include <net/if.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim_int.h"

/* The largest snaplen libpcap accepts; also what it uses for 0 or out of range. */
#define SHIM_SNAPLEN_MAX 262144
/* pcap_set_buffer_size bytes -> AF_XDP frames: one UMEM frame holds one packet. */
#define SHIM_XDP_FRAME_BYTES 4096u
#define SHIM_XDP_MIN_FRAMES 64u
#define SHIM_BLOCK_TIMEOUT_MAX_MS 100 /* packet: the longest a partly filled block waits (open_new) */

/* ---- the real libpcap ---- */

static struct shim_real real;
static pthread_once_t real_once = PTHREAD_ONCE_INIT;

static void *need(const char *sym)
{
	void *f = dlsym(RTLD_NEXT, sym);

	/* The shim is only ever loaded in front of a libpcap; one without these calls is
	 * older than 1.5 (2013), and there is no honest way to go on. */
	if (!f) {
		static const char msg[] = "libmqcap-pcap: the libpcap beneath lacks ";

		if (write(2, msg, sizeof(msg) - 1) < 0 || write(2, sym, strlen(sym)) < 0 ||
		    write(2, "\n", 1) < 0) {
			/* nothing more can be said */
		}
		abort();
	}
	return f;
}

#define RESOLVE(field, sym) (*(void **)&real.field = need(sym))

static void real_resolve(void)
{
	RESOLVE(create, "pcap_create");
	RESOLVE(activate, "pcap_activate");
	RESOLVE(open_live, "pcap_open_live");
	RESOLVE(set_snaplen, "pcap_set_snaplen");
	RESOLVE(set_promisc, "pcap_set_promisc");
	RESOLVE(set_timeout, "pcap_set_timeout");
	RESOLVE(set_buffer_size, "pcap_set_buffer_size");
	RESOLVE(set_immediate_mode, "pcap_set_immediate_mode");
	RESOLVE(set_tstamp_precision, "pcap_set_tstamp_precision");
	RESOLVE(get_tstamp_precision, "pcap_get_tstamp_precision");
	RESOLVE(set_tstamp_type, "pcap_set_tstamp_type");
	RESOLVE(list_tstamp_types, "pcap_list_tstamp_types");
	RESOLVE(set_rfmon, "pcap_set_rfmon");
	RESOLVE(can_set_rfmon, "pcap_can_set_rfmon");
	RESOLVE(setdirection, "pcap_setdirection");
	RESOLVE(snapshot, "pcap_snapshot");
	RESOLVE(compile, "pcap_compile");
	RESOLVE(setfilter, "pcap_setfilter");
	RESOLVE(freecode, "pcap_freecode");
	RESOLVE(loop, "pcap_loop");
	RESOLVE(dispatch, "pcap_dispatch");
	RESOLVE(next, "pcap_next");
	RESOLVE(next_ex, "pcap_next_ex");
	RESOLVE(breakloop, "pcap_breakloop");
	RESOLVE(get_selectable_fd, "pcap_get_selectable_fd");
	RESOLVE(get_required_select_timeout, "pcap_get_required_select_timeout");
	RESOLVE(fileno, "pcap_fileno");
	RESOLVE(setnonblock, "pcap_setnonblock");
	RESOLVE(getnonblock, "pcap_getnonblock");
	RESOLVE(stats, "pcap_stats");
	RESOLVE(inject, "pcap_inject");
	RESOLVE(sendpacket, "pcap_sendpacket");
	RESOLVE(close, "pcap_close");
	RESOLVE(geterr, "pcap_geterr");
	RESOLVE(perror, "pcap_perror");
	RESOLVE(dump_open, "pcap_dump_open");
	RESOLVE(dump_fopen, "pcap_dump_fopen");
	RESOLVE(dump_open_append, "pcap_dump_open_append");
	RESOLVE(findalldevs, "pcap_findalldevs");
	RESOLVE(lookupnet, "pcap_lookupnet");
	RESOLVE(open_dead_with_tstamp_precision, "pcap_open_dead_with_tstamp_precision");
}

const struct shim_real *shim_real(void)
{
	pthread_once(&real_once, real_resolve);
	return &real;
}

/* ---- the table of our handles ---- */

/* A fixed table scanned without locks: pcap_breakloop must find the handle from a signal
 * handler, where no lock may be taken. Programs hold a handful of handles. */
#define SHIM_MAX 256
static struct shim *_Atomic table[SHIM_MAX];
static atomic_uint table_hw; /* slots in use are below this; only grows */

struct shim *shim_find(pcap_t *p)
{
	/* pairs with the release in table_add: a handle seen here is fully built */
	unsigned hw = atomic_load_explicit(&table_hw, memory_order_acquire);

	if (!p)
		return NULL;
	for (unsigned i = 0; i < hw; i++) {
		struct shim *s = atomic_load_explicit(&table[i], memory_order_acquire);

		if (s && s->p == p)
			return s;
	}
	return NULL;
}

static int table_add(struct shim *s)
{
	for (unsigned i = 0; i < SHIM_MAX; i++) {
		struct shim *none = NULL;

		/* release: the handle's fields are visible to whoever finds it */
		if (atomic_compare_exchange_strong_explicit(&table[i], &none, s,
							    memory_order_release,
							    memory_order_relaxed)) {
			unsigned hw = atomic_load_explicit(&table_hw, memory_order_relaxed);

			while (hw < i + 1 &&
			       !atomic_compare_exchange_weak_explicit(&table_hw, &hw, i + 1,
								      memory_order_release,
								      memory_order_relaxed))
				;
			return 0;
		}
	}
	return -ENOSPC;
}

static void table_remove(struct shim *s)
{
	for (unsigned i = 0; i < SHIM_MAX; i++) {
		struct shim *want = s;

		if (atomic_compare_exchange_strong_explicit(&table[i], &want, NULL,
							    memory_order_release,
							    memory_order_relaxed))
			return;
	}
}

/* ---- names, errors ---- */

static const char *strip_prefix(const char *name)
{
	if (!strncmp(name, "xdp:", 4))
		return name + 4;
	if (!strncmp(name, "packet:", 7))
		return name + 7;
	return name;
}

bool shim_owns_name(const char *name)
{
	const char *all;

	if (!name || !strcmp(name, "any"))
		return false;
	if (strchr(name, '@') || strip_prefix(name) != name)
		return true;
	all = getenv("MQCAP_PCAP_ALL");
	/* every network device, but not libpcap's special sources (usbmon, nflog, dbus...) */
	return all && !strcmp(all, "1") && if_nametoindex(name) != 0;
}

void shim_base_device(const char *name, char *out, size_t outsz)
{
	const char *b = strip_prefix(name);
	size_t n = strcspn(b, "@,");

	if (!outsz)
		return;
	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, b, n);
	out[n] = '\0';
}

int shim_err(struct shim *s, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->errbuf, sizeof(s->errbuf), fmt, ap);
	va_end(ap);
	return rc;
}

/* mqcap's errno -> libpcap's status codes (pcap_activate, pcap_open_live) */
static int status_of(int err)
{
	switch (err) {
	case ENODEV:
		return PCAP_ERROR_NO_SUCH_DEVICE;
	case EPERM:
	case EACCES:
		return PCAP_ERROR_PERM_DENIED;
	case ENETDOWN:
		return PCAP_ERROR_IFACE_NOT_UP;
	default:
		return PCAP_ERROR;
	}
}

/* ---- compiled filters: which expression made which program ---- */

/* pcap_setfilter gets a compiled program, but mqcap takes an expression (which it puts in the
 * kernel with its queue selection, or runs itself). So pcap_compile remembers the expression
 * of each program it made, until pcap_freecode; a program from elsewhere (hand-written BPF)
 * is run here, in user space, with pcap_offline_filter. */
struct compiled {
	const struct bpf_insn *insns;
	char *expr;
	struct compiled *next;
};
static struct compiled *compiled_list;
static pthread_mutex_t compiled_lock = PTHREAD_MUTEX_INITIALIZER;

static void compiled_add(const struct bpf_program *fp, const char *expr)
{
	struct compiled *k = malloc(sizeof(*k));

	if (!k)
		return; /* the program then runs in user space: slower, still right */
	k->insns = fp->bf_insns;
	k->expr = strdup(expr ? expr : "");
	if (!k->expr) {
		free(k);
		return;
	}
	pthread_mutex_lock(&compiled_lock);
	k->next = compiled_list;
	compiled_list = k;
	pthread_mutex_unlock(&compiled_lock);
}

/* A copy of the expression that compiled fp, or NULL when it was not compiled here. */
static char *compiled_expr(const struct bpf_program *fp)
{
	char *e = NULL;

	pthread_mutex_lock(&compiled_lock);
	for (struct compiled *k = compiled_list; k; k = k->next)
		if (k->insns == fp->bf_insns) {
			e = strdup(k->expr);
			break;
		}
	pthread_mutex_unlock(&compiled_lock);
	return e;
}

static void compiled_forget(const struct bpf_program *fp)
{
	struct compiled **pp, *k = NULL;

	pthread_mutex_lock(&compiled_lock);
	for (pp = &compiled_list; *pp; pp = &(*pp)->next)
		if ((*pp)->insns == fp->bf_insns) {
			k = *pp;
			*pp = k->next;
			break;
		}
	pthread_mutex_unlock(&compiled_lock);
	if (k) {
		free(k->expr);
		free(k);
	}
}

/* ---- opening the capture ---- */

static int backend_from_env(struct shim *s, enum mqcap_backend *b)
{
	const char *v = getenv("MQCAP_PCAP_BACKEND");

	*b = MQCAP_BACKEND_AUTO;
	if (!v || !*v || !strcmp(v, "auto"))
		return 0;
	if (!strcmp(v, "xdp"))
		*b = MQCAP_BACKEND_XDP;
	else if (!strcmp(v, "packet"))
		*b = MQCAP_BACKEND_PACKET;
	else
		return shim_err(s, PCAP_ERROR, "MQCAP_PCAP_BACKEND=%s: expected auto, xdp or packet",
				v);
	return 0;
}

/* Is capability cap effective in this process? (capget: the kernel's answer, without
 * libcap; true when it cannot tell, so that the open tries and says why it failed.) */
static bool cap_effective(int cap)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { 0 };

	if (syscall(SYS_capget, &h, d))
		return true;
	return d[CAP_TO_INDEX(cap)].effective & CAP_TO_MASK(cap);
}

/* What loading a BPF program takes: CAP_BPF or CAP_SYS_ADMIN. */
static bool can_load_bpf(void)
{
	return cap_effective(CAP_BPF) || cap_effective(CAP_SYS_ADMIN);
}

/* Open a capture with the handle's settings into *out. Returns 0 or a PCAP_ERROR* code with
 * the message in s->errbuf. The handle's current capture, if any, stays open meanwhile. */
static int open_new(struct shim *s, mqcap_t **out)
{
	MQCAP_OPTS(o, .snaplen = (uint32_t)s->snaplen, .filter = s->filter_expr);
	mqcap_t *c;
	int rc = backend_from_env(s, &o.backend);

	if (rc)
		return rc;
	if (s->promisc)
		o.flags |= MQCAP_F_PROMISC;
	if (s->immediate)
		o.flags |= MQCAP_F_IMMEDIATE;
	/* packet: a partly filled block is handed over after the program's timeout, as libpcap
	 * does, but after 100 ms at most. At mqcap's own 4 ms a slow queue's 32 blocks held only
	 * ~130 ms, and programs that stall longer (argus, pmacctd) lost frames that plain libpcap
	 * (1 s blocks) kept; at 1 s, the frames of the last second are lost when the program stops
	 * (the kernel never hands over an unfinished block: libpcap loses them too). 100 ms keeps
	 * ~3 s of a slow queue and loses nothing to a stop that comes 100 ms after the last frame. */
	o.block_timeout_ms = s->timeout_ms <= 0 ? 0 : s->timeout_ms < SHIM_BLOCK_TIMEOUT_MAX_MS ?
			     (uint32_t)s->timeout_ms : SHIM_BLOCK_TIMEOUT_MAX_MS;
	o.direction = s->direction == PCAP_D_OUT ? MQCAP_DIR_OUT
		    : s->direction == PCAP_D_INOUT ? MQCAP_DIR_INOUT : MQCAP_DIR_IN;
	if (s->buffer_size > 0) {
		uint32_t frames = (uint32_t)s->buffer_size / SHIM_XDP_FRAME_BYTES;

		o.ring_bytes = (uint32_t)s->buffer_size;
		o.ring_frames = frames < SHIM_XDP_MIN_FRAMES ? SHIM_XDP_MIN_FRAMES : frames;
	}
	/* auto means "what works here". dumpcap (so tshark too) keeps only CAP_NET_RAW and
	 * CAP_NET_ADMIN before it opens a device, even when root runs it: enough for AF_PACKET,
	 * not for loading the XDP program (CAP_BPF). Such a process goes to packet: directly,
	 * and one that is refused XDP for another reason goes there after trying. */
	if (o.backend == MQCAP_BACKEND_AUTO && strip_prefix(s->name) == s->name &&
	    !can_load_bpf())
		o.backend = MQCAP_BACKEND_PACKET;
	if ((!strncmp(s->name, "xdp:", 4) ||
	     (o.backend == MQCAP_BACKEND_XDP && strip_prefix(s->name) == s->name)) &&
	    !can_load_bpf())
		return shim_err(s, PCAP_ERROR_PERM_DENIED,
				"%s: loading the XDP program needs CAP_BPF (or CAP_SYS_ADMIN), and "
				"this process has neither (dumpcap keeps only CAP_NET_RAW and "
				"CAP_NET_ADMIN): use packet:", s->name);
	c = mqcap_open(s->name, &o);
	if (!c && errno == EPERM && o.backend == MQCAP_BACKEND_AUTO &&
	    strip_prefix(s->name) == s->name) {
		o.backend = MQCAP_BACKEND_PACKET;
		c = mqcap_open(s->name, &o);
	}
	if (!c) {
		int err = errno;

		shim_err(s, 0, "%s", mqcap_last_error());
		return status_of(err);
	}
	*out = c;
	return 0;
}

/* Make c the handle's capture; the old one (if any) is closed, its counters kept in base so
 * that pcap_stats counts from activation. */
static int install(struct shim *s, mqcap_t *c)
{
	struct epoll_event ev = { .events = EPOLLIN };
	mqcap_t *old;

	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, mqcap_fd(c), &ev)) {
		int err = errno;

		mqcap_close(c);
		return shim_err(s, PCAP_ERROR, "%s: epoll_ctl: %s", s->name, strerror(err));
	}
	old = s->c;
	s->c = c;
	if (old) {
		struct mqcap_stats st;

		if (!mqcap_stats(old, &st)) {
			s->base.received += st.received;
			s->base.drop_ring_full += st.drop_ring_full;
			s->base.drop_fill_empty += st.drop_fill_empty;
			s->base.drop_no_socket += st.drop_no_socket;
			s->base.drop_invalid += st.drop_invalid;
		}
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, mqcap_fd(old), NULL);
		mqcap_close(old);
	}
	/* views of the old capture: gone (libpcap flushes on a new filter too) */
	s->pos = s->n = 0;
	return 0;
}

/* The handle reads AF_PACKET sockets: several may share a queue, so a new capture can be
 * opened before the old one closes (and the old one kept when that fails). AF_XDP binds a
 * queue to one socket: no second capture while the first is open. */
static bool is_packet(struct shim *s)
{
	return s->c && !strcmp(mqcap_backend_name(s->c), "packet");
}

bool shim_take_break(struct shim *s)
{
	/* pairs with the release store in pcap_breakloop */
	return atomic_exchange_explicit(&s->brk, false, memory_order_acquire);
}

/* ---- create, settings, activate ---- */

pcap_t *pcap_create(const char *source, char *errbuf)
{
	const struct shim_real *R = shim_real();
	struct shim *s;

	if (!shim_owns_name(source))
		return R->create(source, errbuf);
	if (strlen(source) >= sizeof(s->name)) {
		snprintf(errbuf, PCAP_ERRBUF_SIZE, "%.64s...: capture name too long", source);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(errbuf, PCAP_ERRBUF_SIZE, "%.200s: out of memory", source);
		return NULL;
	}
	s->p = R->open_dead_with_tstamp_precision(DLT_EN10MB, SHIM_SNAPLEN_MAX,
						  PCAP_TSTAMP_PRECISION_MICRO);
	if (!s->p) {
		snprintf(errbuf, PCAP_ERRBUF_SIZE, "%.200s: pcap_open_dead failed", source);
		free(s);
		return NULL;
	}
	snprintf(s->name, sizeof(s->name), "%s", source);
	s->snaplen = SHIM_SNAPLEN_MAX;
	s->precision = PCAP_TSTAMP_PRECISION_MICRO;
	s->direction = PCAP_D_IN; /* a virtual device is an RX queue: only incoming has one */
	s->epfd = -1;
	s->pendfd = -1;
	s->txfd = -1;
	s->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->wakefd < 0) {
		snprintf(errbuf, PCAP_ERRBUF_SIZE, "%.200s: eventfd: %s", source, strerror(errno));
		R->close(s->p);
		free(s);
		return NULL;
	}
	if (table_add(s)) {
		snprintf(errbuf, PCAP_ERRBUF_SIZE, "%.200s: more than %d mqcap handles open", source,
			 SHIM_MAX);
		close(s->wakefd);
		R->close(s->p);
		free(s);
		return NULL;
	}
	return s->p;
}

/* Settings made before activation; libpcap's answer after it. */
#define BEFORE_ACTIVATE(s)                                                            \
	do {                                                                          \
		if ((s)->activated)                                                   \
			return shim_err((s), PCAP_ERROR_ACTIVATED,                    \
					"can't perform operation on activated capture"); \
	} while (0)

int pcap_set_snaplen(pcap_t *p, int snaplen)
{
	struct shim *s = shim_find(p);

	if (!s)
		return shim_real()->set_snaplen(p, snaplen);
	BEFORE_ACTIVATE(s);
	s->snaplen = snaplen <= 0 || snaplen > SHIM_SNAPLEN_MAX ? SHIM_SNAPLEN_MAX : snaplen;
	return 0;
}

int pcap_set_promisc(pcap_t *p, int promisc)
{
	struct shim *s = shim_find(p);

	if (!s)
		return shim_real()->set_promisc(p, promisc);
	BEFORE_ACTIVATE(s);
	s->promisc = promisc;
	return 0;
}

int pcap_set_timeout(pcap_t *p, int to_ms)
{
	struct shim *s = shim_find(p);

	if (!s)
		return shim_real()->set_timeout(p, to_ms);
	BEFORE_ACTIVATE(s);
	s->timeout_ms = to_ms < 0 ? 0 : to_ms;
	return 0;
}

int pcap_set_buffer_size(pcap_t *p, int size)
{
	struct shim *s = shim_find(p);

	if (!s)
		return shim_real()->set_buffer_size(p, size);
	BEFORE_ACTIVATE(s);
	if (size > 0) /* libpcap ignores a size <= 0 */
		s->buffer_size = size;
	return 0;
}

int pcap_set_immediate_mode(pcap_t *p, int on)
{
	struct shim *s = shim_find(p);

	if (!s)
		return shim_real()->set_immediate_mode(p, on);
	BEFORE_ACTIVATE(s);
	/* packet: a TPACKET_V2 ring, each frame handed over as it arrives (without it, frames
	 * wait in blocks the kernel retires after up to 4 ms); xdp: hands frames over as they
	 * arrive anyway. */
	s->immediate = on;
	return 0;
}

int pcap_set_tstamp_precision(pcap_t *p, int precision)
{
	struct shim *s = shim_find(p);

	if (!s)
		return shim_real()->set_tstamp_precision(p, precision);
	BEFORE_ACTIVATE(s);
	if (precision != PCAP_TSTAMP_PRECISION_MICRO && precision != PCAP_TSTAMP_PRECISION_NANO)
		return shim_err(s, PCAP_ERROR_TSTAMP_PRECISION_NOTSUP,
				"unknown time stamp precision %d", precision);
	s->precision = precision;
	return 0;
}

int pcap_get_tstamp_precision(pcap_t *p)
{
	struct shim *s = shim_find(p);

	if (!s)
		return shim_real()->get_tstamp_precision(p);
	return s->precision;
}

int pcap_set_tstamp_type(pcap_t *p, int type)
{
	struct shim *s = shim_find(p);

	if (!s)
		return shim_real()->set_tstamp_type(p, type);
	BEFORE_ACTIVATE(s);
	/* mqcap stamps on the host (the kernel's receive time, CLOCK_REALTIME) */
	return type == PCAP_TSTAMP_HOST ? 0 : PCAP_WARNING_TSTAMP_TYPE_NOTSUP;
}

int pcap_list_tstamp_types(pcap_t *p, int **types)
{
	struct shim *s = shim_find(p);

	if (!s)
		return shim_real()->list_tstamp_types(p, types);
	*types = malloc(sizeof(int)); /* freed by the real pcap_free_tstamp_types: free() */
	if (!*types)
		return shim_err(s, PCAP_ERROR, "out of memory");
	(*types)[0] = PCAP_TSTAMP_HOST;
	return 1;
}

int pcap_set_rfmon(pcap_t *p, int rfmon)
{
	struct shim *s = shim_find(p);

	if (!s)
		return shim_real()->set_rfmon(p, rfmon);
	BEFORE_ACTIVATE(s);
	s->rfmon = rfmon;
	return 0;
}

int pcap_can_set_rfmon(pcap_t *p)
{
	struct shim *s = shim_find(p);

	if (!s)
		return shim_real()->can_set_rfmon(p);
	return 0;
}

int pcap_activate(pcap_t *p)
{
	const struct shim_real *R = shim_real();
	struct shim *s = shim_find(p);
	const char *warn;
	int rc;

	if (!s)
		return R->activate(p);
	BEFORE_ACTIVATE(s);
	if (s->rfmon)
		return shim_err(s, PCAP_ERROR_RFMON_NOTSUP,
				"%s: mqcap virtual devices have no monitor mode", s->name);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0)
		return shim_err(s, PCAP_ERROR, "epoll_create1: %s", strerror(errno));
	s->shape = R->open_dead_with_tstamp_precision(DLT_EN10MB, s->snaplen,
						      (u_int)s->precision);
	if (!s->shape) {
		rc = shim_err(s, PCAP_ERROR, "%s: pcap_open_dead failed", s->name);
		goto fail;
	}
	{
		mqcap_t *c = NULL;

		rc = open_new(s, &c);
		if (!rc)
			rc = install(s, c);
	}
	if (rc)
		goto fail;
	s->activated = true;
	/* xdp: asked for on a device the host uses: the host stops receiving the captured
	 * queues' frames. libpcap's form for it would be PCAP_WARNING, but the capture works,
	 * and the programs disagree on what a positive return means: tcpdump prints it, others
	 * test `pcap_activate(p) != 0` and exit (one did, on this very warning). libpcap's own
	 * warnings answer a setting the program asked for and can act on (promiscuous mode, a
	 * time stamp type); this one is about the host, and the user who typed xdp: is the one
	 * to tell. So the activation returns 0, pcap_geterr keeps the message, and the user
	 * gets it as one line on the standard error, from the wrapper's side of the program. */
	warn = mqcap_stack_warning(s->c);
	if (warn) {
		shim_err(s, 0, "%s", warn);
		fprintf(stderr, "mqcap-pcap: warning: %s\n", warn);
	}
	return 0;
fail:
	/* As libpcap: a handle whose activation failed can only be closed. Nothing of the
	 * capture stays open meanwhile. */
	close(s->epfd);
	s->epfd = -1;
	if (s->shape)
		R->close(s->shape);
	s->shape = NULL;
	return rc;
}

pcap_t *pcap_open_live(const char *device, int snaplen, int promisc, int to_ms, char *errbuf)
{
	pcap_t *p;
	struct shim *s;
	int rc;

	if (!shim_owns_name(device))
		return shim_real()->open_live(device, snaplen, promisc, to_ms, errbuf);
	p = pcap_create(device, errbuf);
	if (!p)
		return NULL;
	s = shim_find(p);
	pcap_set_snaplen(p, snaplen);
	pcap_set_promisc(p, promisc);
	pcap_set_timeout(p, to_ms);
	rc = pcap_activate(p);
	if (rc < 0) {
		/* libpcap's form: "device: status (detail)" where the status says more */
		if (rc == PCAP_ERROR)
			snprintf(errbuf, PCAP_ERRBUF_SIZE, "%s", s->errbuf);
		else
			snprintf(errbuf, PCAP_ERRBUF_SIZE, "%.64s: %.64s (%.120s)", device,
				 pcap_statustostr(rc), s->errbuf);
		pcap_close(p);
		return NULL;
	}
	return p;
}

/* ---- filters, direction ---- */

int pcap_compile(pcap_t *p, struct bpf_program *fp, const char *str, int optimize,
		 bpf_u_int32 netmask)
{
	const struct shim_real *R = shim_real();
	struct shim *s = shim_find(p);
	int rc;

	if (s && !s->activated)
		return shim_err(s, PCAP_ERROR, "not-yet-activated pcap_t passed to pcap_compile");
	/* the shape handle carries the capture's snaplen, which the program returns */
	rc = R->compile(s ? s->shape : p, fp, str, optimize, netmask);
	if (rc == 0)
		compiled_add(fp, str);
	else if (s)
		shim_err(s, 0, "%s", R->geterr(s->shape));
	return rc;
}

void pcap_freecode(struct bpf_program *fp)
{
	if (fp && fp->bf_insns)
		compiled_forget(fp);
	shim_real()->freecode(fp);
}

static void ufilter_drop(struct shim *s)
{
	if (s->has_ufilter)
		free(s->ufilter.bf_insns);
	s->has_ufilter = false;
	memset(&s->ufilter, 0, sizeof(s->ufilter));
}

/*
 * Filters and direction are set after activation, and many programs have dropped their
 * privileges by then (dumpcap always does; tcpdump with -Z): opening anything may fail.
 * So the capture is never closed before its replacement is open. packet: a new capture with
 * the expression (in the kernel, with the queue selection) replaces the old one when it
 * opens; otherwise, and always for xdp: (where mqcap would run the filter in user space
 * too), the program runs here with pcap_offline_filter, on the same frames.
 */
static int ufilter_set(struct shim *s, const struct bpf_program *fp)
{
	size_t bytes = fp->bf_len * sizeof(*fp->bf_insns);
	struct bpf_insn *insns = malloc(bytes ? bytes : 1);

	if (!insns)
		return shim_err(s, PCAP_ERROR, "setfilter: out of memory");
	if (bytes)
		memcpy(insns, fp->bf_insns, bytes);
	ufilter_drop(s);
	s->ufilter.bf_insns = insns;
	s->ufilter.bf_len = fp->bf_len;
	s->has_ufilter = true;
	return 0;
}

int pcap_setfilter(pcap_t *p, struct bpf_program *fp)
{
	struct shim *s = shim_find(p);
	char *old, *expr;
	mqcap_t *c;

	if (!s)
		return shim_real()->setfilter(p, fp);
	if (!s->activated)
		return shim_err(s, PCAP_ERROR_NOT_ACTIVATED, "%s: not activated", s->name);
	if (!fp || (!fp->bf_insns && fp->bf_len))
		return shim_err(s, PCAP_ERROR, "setfilter: no program");
	/* A new AF_PACKET socket needs CAP_NET_RAW; a program that dropped it (dumpcap always
	 * does before pcap_setfilter) gets the filter here without a doomed open. */
	if (!is_packet(s) || (!cap_effective(CAP_NET_RAW) && !s->filter_expr))
		return ufilter_set(s, fp);
	old = s->filter_expr;
	expr = compiled_expr(fp);
	if (expr && !*expr && !old) {
		/* "" (dumpcap sets it when there is no filter): everything, as now */
		free(expr);
		ufilter_drop(s);
		return 0;
	}
	if (expr) {
		s->filter_expr = expr;
		if (open_new(s, &c) == 0 && install(s, c) == 0) {
			free(old);
			ufilter_drop(s);
			return 0;
		}
		s->filter_expr = old;
		free(expr);
	}
	/* In user space: the capture must not carry an earlier kernel filter. */
	if (old) {
		s->filter_expr = NULL;
		if (open_new(s, &c) || install(s, c)) {
			s->filter_expr = old;
			return PCAP_ERROR; /* errbuf says why; the old filter stays */
		}
		free(old);
	}
	return ufilter_set(s, fp);
}

int pcap_setdirection(pcap_t *p, pcap_direction_t d)
{
	struct shim *s = shim_find(p);
	pcap_direction_t old;
	mqcap_t *c;

	if (!s)
		return shim_real()->setdirection(p, d);
	if (!s->activated)
		return shim_err(s, PCAP_ERROR_NOT_ACTIVATED, "%s: not activated", s->name);
	if (d != PCAP_D_IN && d != PCAP_D_OUT && d != PCAP_D_INOUT)
		return shim_err(s, PCAP_ERROR, "Invalid direction %d", (int)d);
	if (d == s->direction)
		return 0;
	if (!is_packet(s)) {
		/* An AF_XDP socket reads an RX queue, where every packet is incoming: IN and INOUT
		 * (libpcap's default, which programs often set to be explicit) both describe that
		 * capture as it is; OUT asks for packets the queue never has. */
		if (d == PCAP_D_OUT)
			return shim_err(s, PCAP_ERROR, "%s: PCAP_D_OUT: the %s backend reads an RX "
					"queue, which has incoming packets only (packet: captures "
					"outgoing ones)", s->name, mqcap_backend_name(s->c));
		s->direction = d;
		return 0;
	}
	old = s->direction;
	s->direction = d;
	if (open_new(s, &c) || install(s, c)) {
		s->direction = old;
		return PCAP_ERROR;
	}
	return 0;
}

int pcap_snapshot(pcap_t *p)
{
	struct shim *s = shim_find(p);

	if (!s)
		return shim_real()->snapshot(p);
	if (!s->activated)
		return PCAP_ERROR_NOT_ACTIVATED;
	return s->snaplen;
}

/* ---- errors ---- */

char *pcap_geterr(pcap_t *p)
{
	struct shim *s = shim_find(p);

	return s ? s->errbuf : shim_real()->geterr(p);
}

void pcap_perror(pcap_t *p, const char *prefix)
{
	struct shim *s = shim_find(p);

	if (!s) {
		shim_real()->perror(p, prefix);
		return;
	}
	/* libpcap's documented behaviour: the message on the standard error */
	fprintf(stderr, "%s: %s\n", prefix, s->errbuf);
}

/* ---- savefiles written from our handles: the shape carries snaplen and precision ---- */

static pcap_t *dump_handle(struct shim *s)
{
	if (!s->activated) {
		shim_err(s, 0, "%s: not yet activated", s->name);
		return NULL;
	}
	return s->shape;
}

pcap_dumper_t *pcap_dump_open(pcap_t *p, const char *fname)
{
	const struct shim_real *R = shim_real();
	struct shim *s = shim_find(p);
	pcap_dumper_t *d;

	if (!s)
		return R->dump_open(p, fname);
	if (!dump_handle(s))
		return NULL;
	d = R->dump_open(s->shape, fname);
	if (!d)
		shim_err(s, 0, "%s", R->geterr(s->shape));
	return d;
}

pcap_dumper_t *pcap_dump_fopen(pcap_t *p, FILE *f)
{
	const struct shim_real *R = shim_real();
	struct shim *s = shim_find(p);
	pcap_dumper_t *d;

	if (!s)
		return R->dump_fopen(p, f);
	if (!dump_handle(s))
		return NULL;
	d = R->dump_fopen(s->shape, f);
	if (!d)
		shim_err(s, 0, "%s", R->geterr(s->shape));
	return d;
}

pcap_dumper_t *pcap_dump_open_append(pcap_t *p, const char *fname)
{
	const struct shim_real *R = shim_real();
	struct shim *s = shim_find(p);
	pcap_dumper_t *d;

	if (!s)
		return R->dump_open_append(p, fname);
	if (!dump_handle(s))
		return NULL;
	d = R->dump_open_append(s->shape, fname);
	if (!d)
		shim_err(s, 0, "%s", R->geterr(s->shape));
	return d;
}

/* ---- close ---- */

void pcap_close(pcap_t *p)
{
	const struct shim_real *R = shim_real();
	struct shim *s = shim_find(p);

	if (!s) {
		R->close(p);
		return;
	}
	table_remove(s);
	mqcap_close(s->c);
	close(s->wakefd);
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->txfd >= 0)
		close(s->txfd);
	if (s->pendfd >= 0)
		close(s->pendfd);
	ufilter_drop(s);
	free(s->filter_expr);
	free(s->oneshot);
	if (s->shape)
		R->close(s->shape);
	R->close(s->p);
	free(s);
}
