/* SPDX-License-Identifier: BSD-2-Clause */
/* mqsend.h - what the parts of mqsend share: options, flow templates, the packet generator,
 * pacing, per-thread counters and the transmit paths. */
#ifndef MQSEND_H
#define MQSEND_H

#include <netinet/in.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <mqcap/rss.h>

#define MQS_FCS 4		/* sizes on the command line include the FCS, as on the wire */
#define MQS_FRAME_MAX 9216	/* largest frame (jumbo MTU) */
#define MQS_HDR_MAX 96		/* Ethernet + 2 tags + IPv6 + TCP = 82 bytes */
#define MQS_MAX_FLOWS (1u << 20)
#define MQS_MAX_THREADS 64
#define MQS_MAX_QUEUES 256
#define MQS_BATCH 64		/* packets handed to the kernel per call at top speed */
#define MQS_SIZES 4096		/* length of the precomputed size sequence (ranges, IMIX) */

enum mqs_mode { MQS_MODE_BYPASS, MQS_MODE_QDISC, MQS_MODE_XDP };

struct mqs_range {
	uint8_t lo[16], hi[16];	/* addresses in network order (IPv4 in the first 4 bytes) */
	bool v6;
	bool set;
};

struct mqs_opts {
	const char *dev;
	enum mqs_mode mode;
	uint64_t count;		/* 0: unlimited */
	uint64_t duration_ms;	/* 0: unlimited */
	uint64_t rate_pps;	/* 0: top speed */
	uint64_t rate_bps;
	unsigned threads;
	cpu_set_t cpus;
	int ncpus;
	int cpu_list[CPU_SETSIZE];
	/* sizes, including the FCS */
	unsigned size_lo, size_hi;
	bool imix;
	/* flows */
	bool paper;
	uint8_t proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	struct mqs_range src, dst;
	unsigned sport_lo, sport_hi, dport_lo, dport_hi;
	uint8_t src_mac[6], dst_mac[6];
	bool src_mac_set;
	unsigned nvlan;
	unsigned vlan[2];
	unsigned sender_id;
	/* replay */
	const char *file;
	uint64_t loops;		/* 0: forever */
	bool topspeed;
	/* queues */
	bool rss;
	uint8_t rss_key[MQCAP_RSS_KEY_LEN];
	uint16_t rss_table[MQCAP_RSS_TABLE_SIZE];
	bool rss_table_set;
	unsigned queue;		/* xdp without --rss: thread t sends on queue + t */
	unsigned ntxq;		/* TX queues of the device */
	/* output */
	bool json;
	bool quiet;
	unsigned mtu;
	int ifindex;
};

/* One flow's prebuilt headers. The lengths and checksums are filled per packet from the
 * partial sums, so one template serves every frame size. */
struct mqs_tmpl {
	uint8_t hdr[MQS_HDR_MAX];
	uint8_t hdr_len, l3_off, l4_off, v6;
	uint8_t proto;
	uint8_t pad;
	uint16_t queue;		/* TX queue (xdp) */
	uint32_t ip_part;	/* IPv4 header sum without total length and checksum */
	uint32_t l4_part;	/* pseudo header + L4 header sum without lengths and checksum */
};

/* One packet of a capture file, in memory. */
struct mqs_rec {
	uint64_t ts_ns;
	uint32_t len;
	uint32_t off;		/* into mqs_file.data */
};

struct mqs_file {
	uint8_t *data;
	struct mqs_rec *recs;
	uint64_t n;
};

/* Counters a thread publishes; the main thread reads them once a second. Each thread's block
 * sits on its own cache lines. */
struct mqs_stats {
	_Alignas(64) _Atomic uint64_t packets;	/* accepted by the kernel */
	_Atomic uint64_t bytes;			/* frame bytes, without FCS */
	_Atomic uint64_t errors;		/* refused by the kernel (dropped, malformed) */
	_Atomic uint64_t retried;		/* refused for now (ENOBUFS) and sent again */
	_Atomic bool done;
	uint64_t end_ns;			/* when the thread finished (written before done) */
};

/* Even pacing: packets are due at start + k * interval. */
struct mqs_pace {
	uint64_t start_ns;
	double ns_per_pkt;	/* 0: top speed */
	double ns_per_byte;	/* bps pacing: each frame adds (len + FCS) bytes */
	double due_ns;		/* when the next packet is due, relative to start */
	double catch_ns;	/* catch-up clock: half the interval per packet */
	uint64_t debt_max_ns;	/* debt older than this is forgiven */
};

/* The per-thread packet generator. */
struct mqs_gen {
	const struct mqs_opts *o;
	const struct mqs_tmpl *tmpl;	/* all flows */
	const uint32_t *flows;		/* the flows of this thread, indices into tmpl */
	const uint16_t *flow_sock;	/* per flow of this thread: its socket (xdp), or NULL */
	uint32_t nflows;
	uint32_t pos;
	uint64_t *seq;			/* per flow of this thread */
	uint16_t sender_id;
	const uint16_t *sizes;		/* frame lengths without FCS, MQS_SIZES of them */
	uint32_t size_pos;
	/* replay */
	const struct mqs_file *file;
	uint64_t rec_pos;
	uint64_t loops_done;
	uint64_t loop_base_ns;		/* replay timing: file time of this loop's first packet */
};

struct mqs_thread {
	unsigned idx;
	int cpu;			/* -1: not pinned */
	const struct mqs_opts *o;
	struct mqs_gen gen;
	struct mqs_pace pace;
	uint64_t quota;			/* packets for this thread, 0: unlimited */
	uint64_t deadline_ns;		/* 0: none */
	unsigned queues[MQS_MAX_QUEUES];/* xdp: the queues this thread sends on */
	unsigned nqueues;
	int err;			/* setup failure (-errno), set before anything is sent */
	char errmsg[256];
	struct mqs_stats st;
};

/* flows.c */
int mqs_flows_build(const struct mqs_opts *o, struct mqs_tmpl **tmpl, uint32_t *nflows);
unsigned mqs_hdr_len(const struct mqs_opts *o);
void mqs_sizes_build(const struct mqs_opts *o, uint16_t *sizes);
void mqs_filler_init(void);
/* Write the next packet of g into dst; returns its length, 0 when a replay has ended.
 * *sock gets the index (in the thread's queue list) of the socket the packet must use. */
unsigned mqs_gen_next(struct mqs_gen *g, uint8_t *dst, unsigned *sock);
/* The length of the next packet (without writing it), 0 when a replay has ended. */
unsigned mqs_gen_peek_len(const struct mqs_gen *g);
/* Replay with original timing: nanoseconds after start when the next packet is due. */
uint64_t mqs_gen_replay_due(struct mqs_gen *g);
void mqs_frame_finish(const struct mqs_tmpl *t, uint8_t *frame, unsigned len);

/* replay.c */
int mqs_file_load(const char *path, unsigned max_len, struct mqs_file *f);
void mqs_file_free(struct mqs_file *f);

/* pace.c */
void mqs_pace_init(struct mqs_pace *p, const struct mqs_opts *o, unsigned threads, uint64_t start_ns);
/* How many packets may go now (at most max); waits (sleeps or spins) until at least one
 * may, unless stop is requested. next_len: frame length of the next packet (bps pacing). */
unsigned mqs_pace_allow(struct mqs_pace *p, unsigned max, unsigned next_len, uint64_t now_ns);
void mqs_pace_sent(struct mqs_pace *p, unsigned len);
void mqs_pace_wait_until(uint64_t abs_ns);

/* tx_packet.c, tx_xdp.c: the thread bodies. Setup errors go into t->err/t->errmsg. */
int mqs_tx_packet_setup(struct mqs_thread *t, void **state);
void mqs_tx_packet_run(struct mqs_thread *t, void *state);
void mqs_tx_packet_close(void *state);
int mqs_tx_xdp_setup(struct mqs_thread *t, void **state);
void mqs_tx_xdp_run(struct mqs_thread *t, void *state);
void mqs_tx_xdp_close(void *state);

/* Shared by the run loops: whether thread t should stop (quota, deadline, signal). */
bool mqs_thread_should_stop(struct mqs_thread *t, uint64_t sent, uint64_t now_ns);
/* Record thread t's failure: t->err = -err, t->errmsg = "<fmt...>: strerror(err)".
 * Returns -err. */
int mqs_thread_fail(struct mqs_thread *t, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* devdrops.c: whether a frame the device drops comes back to mqsend (which sends it again):
 * bypass mode, or qdisc mode on a device whose root qdisc is noqueue. Asks netlink. */
bool mqs_dev_drops_come_back(const struct mqs_opts *o);
/* 'device tx drops': frames the device lost, from its tx_dropped counter over the run and
 * the frames retried (see devdrops.c). */
uint64_t mqs_dev_drops(bool come_back, uint64_t tx_dropped, uint64_t retried);

/* output.c */
void mqs_print_live(const struct mqs_opts *o, double secs, uint64_t dpkts, uint64_t dbytes,
		    uint64_t errors);
void mqs_print_summary(const struct mqs_opts *o, struct mqs_thread *th, unsigned n, double secs,
		       uint64_t tx_dropped, bool come_back);

/* options.c */
void mqs_opts_parse(int argc, char **argv, struct mqs_opts *o);

#endif
