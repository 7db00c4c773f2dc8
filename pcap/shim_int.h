/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * shim_int.h - libmqcap-pcap's internals: the handles it owns and the real libpcap beneath.
 *
 * The shim is loaded before libpcap (LD_PRELOAD), so the program's pcap_* calls land here
 * first. A name mqcap owns (see shim_owns_name) gets a handle of ours; everything else goes
 * to the real libpcap, found with dlsym(RTLD_NEXT).
 *
 * The struct layout problem: pcap_t is opaque and its layout changes between libpcap
 * versions, so the shim never builds or reads one itself. The pointer handed to the program
 * is a real pcap_t from pcap_open_dead() (the "identity"), so every libpcap call that only
 * needs a valid handle of type DLT_EN10MB (pcap_datalink, pcap_list_datalinks,
 * pcap_set_datalink, pcap_datalink_ext...) keeps working untouched. A table maps identity ->
 * struct shim, and every interposed call first asks the table whether the handle is ours.
 * Calls that read settings the dead handle cannot hold (snaplen and timestamp precision are
 * fixed when it is made, before pcap_set_snaplen is called) go to a second dead handle made
 * at activation with the final settings (the "shape"): pcap_compile, pcap_dump_open.
 *
 * One handle, one thread, as in libpcap; only pcap_breakloop may come from another thread or
 * a signal handler. It sets an atomic flag and writes the handle's own eventfd (wakefd, both
 * async-signal-safe), and never touches the capture: pcap_setfilter and pcap_setdirection
 * close and replace the capture, and a breakloop that woke it through mqcap_wake() could
 * write to a handle just freed. The shim waits for packets itself (poll on the selectable fd
 * and wakefd), so that wake reaches every wait.
 */
#ifndef MQCAP_PCAP_SHIM_INT_H
#define MQCAP_PCAP_SHIM_INT_H

#include <net/if.h>
#include <pcap/pcap.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include "mqcap/mqcap.h"

/* Packets asked from mqcap per burst; what pcap_dispatch with cnt <= 0 delivers at most. */
#define SHIM_BURST 128

struct shim {
	pcap_t *p;                    /* identity: what the program holds (pcap_open_dead) */
	pcap_t *shape;                /* after activation: dead handle with the final snaplen and
				       * precision, for pcap_compile and pcap_dump_open */
	char name[256];               /* the capture name as the program gave it */
	char errbuf[PCAP_ERRBUF_SIZE];

	/* settings, as pcap_set_* left them */
	int snaplen;
	int promisc;
	int timeout_ms;               /* 0: wait forever, as libpcap on Linux */
	int buffer_size;              /* 0: mqcap's default ring */
	int immediate;
	int precision;                /* PCAP_TSTAMP_PRECISION_MICRO or _NANO */
	int rfmon;
	pcap_direction_t direction;
	bool nonblock;
	bool activated;

	/* the capture */
	mqcap_t *c;                   /* NULL before activation; the handle's thread only */
	char *filter_expr;            /* the expression of the filter in the kernel / in mqcap */
	struct bpf_program ufilter;   /* filter run here, when mqcap could not take the expression */
	bool has_ufilter;
	uint64_t ufiltered;           /* packets that filter rejected (not received by filter) */
	int epfd;                     /* stable selectable fd: an epoll set holding mqcap_fd(c),
				       * which changes when a filter or direction reopens c */
	int pendfd;                   /* eventfd in epfd, readable while a burst is only partly
				       * delivered (the ring's fd no longer says so); made when the
				       * program first asks for the selectable fd */
	bool pend_set;                /* pendfd is signalled */
	int wakefd;                   /* eventfd pcap_breakloop writes; lives as long as the handle */
	int txfd;                     /* AF_PACKET socket for pcap_inject, opened on first use */
	int tx_ifindex;               /* the device it sends on: the capture's first */
	struct mqcap_stats base;      /* counters of captures closed by a reopen */

	/* the burst being delivered: views valid until the next mqcap_recv_burst */
	struct mqcap_pkt pkts[SHIM_BURST];
	unsigned pos, n;
	u_char *oneshot;              /* pcap_next_ex's copy of a burst's last packet (snaplen
				       * bytes, made on first use), so the burst goes back at once */
	struct pcap_pkthdr hdr;       /* what pcap_next / pcap_next_ex point at */
	atomic_bool brk;              /* pcap_breakloop; pairs with the acquire in shim_take_break */
};

/* The real libpcap's functions the shim calls through (dlsym RTLD_NEXT, resolved once). */
struct shim_real {
	pcap_t *(*create)(const char *, char *);
	int (*activate)(pcap_t *);
	pcap_t *(*open_live)(const char *, int, int, int, char *);
	int (*set_snaplen)(pcap_t *, int);
	int (*set_promisc)(pcap_t *, int);
	int (*set_timeout)(pcap_t *, int);
	int (*set_buffer_size)(pcap_t *, int);
	int (*set_immediate_mode)(pcap_t *, int);
	int (*set_tstamp_precision)(pcap_t *, int);
	int (*get_tstamp_precision)(pcap_t *);
	int (*set_tstamp_type)(pcap_t *, int);
	int (*list_tstamp_types)(pcap_t *, int **);
	int (*set_rfmon)(pcap_t *, int);
	int (*can_set_rfmon)(pcap_t *);
	int (*setdirection)(pcap_t *, pcap_direction_t);
	int (*snapshot)(pcap_t *);
	int (*compile)(pcap_t *, struct bpf_program *, const char *, int, bpf_u_int32);
	int (*setfilter)(pcap_t *, struct bpf_program *);
	void (*freecode)(struct bpf_program *);
	int (*loop)(pcap_t *, int, pcap_handler, u_char *);
	int (*dispatch)(pcap_t *, int, pcap_handler, u_char *);
	const u_char *(*next)(pcap_t *, struct pcap_pkthdr *);
	int (*next_ex)(pcap_t *, struct pcap_pkthdr **, const u_char **);
	void (*breakloop)(pcap_t *);
	int (*get_selectable_fd)(pcap_t *);
	const struct timeval *(*get_required_select_timeout)(pcap_t *);
	int (*fileno)(pcap_t *);
	int (*setnonblock)(pcap_t *, int, char *);
	int (*getnonblock)(pcap_t *, char *);
	int (*stats)(pcap_t *, struct pcap_stat *);
	int (*inject)(pcap_t *, const void *, size_t);
	int (*sendpacket)(pcap_t *, const u_char *, int);
	void (*close)(pcap_t *);
	char *(*geterr)(pcap_t *);
	void (*perror)(pcap_t *, const char *);
	pcap_dumper_t *(*dump_open)(pcap_t *, const char *);
	pcap_dumper_t *(*dump_fopen)(pcap_t *, FILE *);
	pcap_dumper_t *(*dump_open_append)(pcap_t *, const char *);
	int (*findalldevs)(pcap_if_t **, char *);
	int (*lookupnet)(const char *, bpf_u_int32 *, bpf_u_int32 *, char *);
	pcap_t *(*open_dead_with_tstamp_precision)(int, int, u_int);
};

/* The real functions; never NULL members for what libpcap >= 1.5 has (aborts otherwise:
 * a libpcap without them cannot be the one the program was linked against). */
const struct shim_real *shim_real(void);

/* Is this capture name one that mqcap captures? ('@', an xdp:/packet: prefix, or any network
 * device when MQCAP_PCAP_ALL=1; never NULL or "any"). */
bool shim_owns_name(const char *name);

/* The handle behind an identity pcap_t, or NULL when the program's handle is libpcap's. */
struct shim *shim_find(pcap_t *p);

/* Set the handle's error message (printf style); returns rc so callers can return it. */
int shim_err(struct shim *s, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Consume a pending pcap_breakloop: true if one was asked for (and clears it). */
bool shim_take_break(struct shim *s);

/* The name without backend prefix and queue selection: "xdp:eth1@2" -> "eth1". */
void shim_base_device(const char *name, char *out, size_t outsz);

/* RX queues the kernel has active for dev: the rx-N entries of its sysfs queues folder
 * (sysfs shows real_num_rx_queues; inside `ip netns exec` it is the namespace's view);
 * 0 when it cannot tell. */
unsigned shim_rx_queue_count(const char *dev);

/* Is name (len bytes, not necessarily terminated) an mqcap virtual device of one device,
 * "eth1@2", "xdp:eth1@0-3", "packet:eth1", with queues that device has? Then its device's
 * name goes to base. (shim_ifreq.c: answers ioctl SIOCGIF* and if_nametoindex for them.) */
bool shim_virtual_base(const char *name, size_t len, char base[IFNAMSIZ]);

#endif /* MQCAP_PCAP_SHIM_INT_H */
