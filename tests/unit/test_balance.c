/* SPDX-License-Identifier: BSD-2-Clause */
/* The software scheduler on one thread: flow hash (symmetry, fields, tunnels, spread), bucket
 * table, accounting, migration order through drain markers, fan-out and groups, controller. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "mqcap/balance.h"
#include "balance_int.h"

/* ---- frames ---- */

struct fspec {
	int vlans;            /* 0, 1 or 2 tags */
	int v6;
	uint8_t proto;        /* 6, 17, 132, 1 ... */
	uint32_t s4, d4;      /* IPv4 addresses (host order) */
	uint8_t s6[16], d6[16];
	uint16_t sport, dport;
	int frag;             /* 1: first fragment (MF), 2: a later fragment */
	int v6_ext;           /* IPv6: hop-by-hop + destination options before the transport */
	uint32_t seq;         /* payload */
};

static void be16w(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void be32w(uint8_t *p, uint32_t v)
{
	be16w(p, (uint16_t)(v >> 16));
	be16w(p + 2, (uint16_t)v);
}

/* The IP header at f says the packet is len bytes long. */
static void set_ip_len(uint8_t *f, int v6, size_t len)
{
	if (v6)
		be16w(f + 4, (uint16_t)(len - 40));
	else
		be16w(f + 2, (uint16_t)len);
}

/* IP packet (no Ethernet) at f; returns its length. */
static size_t build_ip(uint8_t *f, const struct fspec *s)
{
	size_t n = 0, l4;

	if (!s->v6) {
		memset(f, 0, 20);
		f[0] = 0x45;
		f[8] = 64;
		f[9] = s->proto;
		if (s->frag == 1)
			f[6] = 0x20;
		else if (s->frag == 2)
			f[7] = 0x10;
		be32w(f + 12, s->s4);
		be32w(f + 16, s->d4);
		n = 20;
	} else {
		memset(f, 0, 40);
		f[0] = 0x60;
		f[6] = s->frag ? 44 : (s->v6_ext ? 0 : s->proto);
		f[7] = 64;
		memcpy(f + 8, s->s6, 16);
		memcpy(f + 24, s->d6, 16);
		n = 40;
		if (s->v6_ext && !s->frag) {
			memset(f + n, 0, 24);
			f[n] = 60;     /* hop-by-hop -> destination options */
			f[n + 1] = 0;  /* 8 bytes */
			f[n + 8] = s->proto;
			f[n + 9] = 1;  /* 16 bytes */
			n += 24;
		}
		if (s->frag) {
			memset(f + n, 0, 8);
			f[n] = s->proto;
			if (s->frag == 1)
				f[n + 3] = 1;  /* M */
			else
				f[n + 2] = 0x10;
			n += 8;
		}
	}
	l4 = n;
	memset(f + l4, 0, 20);
	if (s->frag != 2) {
		be16w(f + l4, s->sport);
		be16w(f + l4 + 2, s->dport);
		if (s->proto == 6)
			f[l4 + 12] = 0x50; /* TCP data offset: 20 bytes */
	}
	be32w(f + l4 + 8, s->seq);
	set_ip_len(f, s->v6, l4 + 20);
	return l4 + 20;
}

static size_t build(uint8_t *f, const struct fspec *s)
{
	size_t n = 12;

	for (int i = 0; i < 12; i++)
		f[i] = (uint8_t)(i < 6 ? 0x02 : 0x04 + i);
	for (int i = 0; i < s->vlans; i++) {
		be16w(f + n, i == 0 && s->vlans == 2 ? 0x88a8 : 0x8100);
		be16w(f + n + 2, (uint16_t)(100 + i));
		n += 4;
	}
	be16w(f + n, s->v6 ? 0x86dd : 0x0800);
	n += 2;
	return n + build_ip(f + n, s);
}

static struct fspec reverse(struct fspec s)
{
	struct fspec r = s;

	r.s4 = s.d4;
	r.d4 = s.s4;
	memcpy(r.s6, s.d6, 16);
	memcpy(r.d6, s.s6, 16);
	r.sport = s.dport;
	r.dport = s.sport;
	return r;
}

static uint32_t hash_of(const struct fspec *s, uint32_t flags)
{
	uint8_t f[256];
	size_t n = build(f, s);

	return mqcap_flow_hash(f, (uint32_t)n, flags);
}

static uint64_t lcg_state = 12345;

static uint32_t lcg(void)
{
	lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(lcg_state >> 33);
}

static struct fspec random_flow(int v6, int vlans, uint8_t proto)
{
	struct fspec s = { .vlans = vlans, .v6 = v6, .proto = proto };

	s.s4 = 0xc6120000u | (lcg() & 0xffff);
	s.d4 = 0xc6130000u | (lcg() & 0xffff);
	for (int i = 0; i < 16; i++) {
		s.s6[i] = (uint8_t)lcg();
		s.d6[i] = (uint8_t)lcg();
	}
	s.sport = (uint16_t)(1024 + lcg() % 60000);
	s.dport = (uint16_t)(1 + lcg() % 1024);
	return s;
}

/* ---- hash ---- */

static void test_hash_symmetric(void **state)
{
	static const uint8_t protos[] = { 6, 17, 132, 1 };

	(void)state;
	for (int v6 = 0; v6 < 2; v6++)
		for (int vl = 0; vl < 3; vl++)
			for (unsigned p = 0; p < sizeof(protos); p++)
				for (int i = 0; i < 200; i++) {
					struct fspec s = random_flow(v6, vl, protos[p]), r = reverse(s);

					assert_int_equal(hash_of(&s, 0), hash_of(&r, 0));
					assert_int_equal(hash_of(&s, MQCAP_FLOW_F_INNER),
							 hash_of(&r, MQCAP_FLOW_F_INNER));
				}
}

static void test_hash_fields(void **state)
{
	struct fspec s = random_flow(0, 0, 6), t;
	struct fspec s6 = random_flow(1, 0, 17), t6;
	uint8_t f[256];
	size_t n;

	(void)state;
	/* Ports count for TCP/UDP/SCTP, not for ICMP; VLAN tags do not count. */
	t = s;
	t.sport++;
	assert_int_not_equal(hash_of(&s, 0), hash_of(&t, 0));
	t = s;
	t.vlans = 2;
	assert_int_equal(hash_of(&s, 0), hash_of(&t, 0));
	t = s;
	t.proto = 1;
	{
		struct fspec u = t;

		u.sport++;
		assert_int_equal(hash_of(&t, 0), hash_of(&u, 0));
	}
	/* Fragments: first and later fragments of one packet hash alike (2-tuple), in both
	 * directions, for IPv4 and IPv6. */
	t = s;
	t.frag = 1;
	{
		struct fspec u = s;

		u.frag = 2;
		u.sport = 0;
		assert_int_equal(hash_of(&t, 0), hash_of(&u, 0));
		u = reverse(u);
		assert_int_equal(hash_of(&t, 0), hash_of(&u, 0));
	}
	t6 = s6;
	t6.frag = 1;
	{
		struct fspec u = s6;

		u.frag = 2;
		assert_int_equal(hash_of(&t6, 0), hash_of(&u, 0));
	}
	/* IPv6 extension headers are walked: the same 5-tuple behind them. */
	t6 = s6;
	t6.v6_ext = 1;
	assert_int_equal(hash_of(&s6, 0), hash_of(&t6, 0));
	/* A chain cut short by caplen hashes the addresses only, and never reads past it. */
	n = build(f, &t6);
	assert_int_equal(mqcap_flow_hash(f, 14 + 40 + 12, 0), mqcap_flow_hash(f, 14 + 40 + 12, 0));
	for (size_t len = 0; len <= n; len++)
		(void)mqcap_flow_hash(f, (uint32_t)len, MQCAP_FLOW_F_INNER);
	/* An IPv4 IHL beyond the bytes present: not IP any more, hashed as MACs (stable). */
	n = build(f, &s);
	f[14] = 0x4f;
	assert_int_equal(mqcap_flow_hash(f, 14 + 40, 0), mqcap_flow_hash(f, 14 + 40, 0));
	assert_int_equal(mqcap_flow_hash(NULL, 0, 0), 0);
}

/* Wrap the IP packet of inner into a tunnel of kind k over outer addresses o. */
enum { T_GRE_IP, T_GRE_ETH, T_VXLAN, T_GTPU };

static size_t build_tunnel(uint8_t *f, int kind, const struct fspec *outer, const struct fspec *inner)
{
	struct fspec o = *outer;
	size_t n, hdr;
	uint8_t *p;

	o.proto = kind == T_GRE_IP || kind == T_GRE_ETH ? 47 : 17;
	n = build(f, &o) - 20; /* drop the 20 transport bytes build_ip added */
	p = f + n;
	if (kind == T_GRE_IP || kind == T_GRE_ETH) {
		memset(p, 0, 8);
		p[0] = 0x20; /* K: a key word follows */
		be16w(p + 2, kind == T_GRE_IP ? (inner->v6 ? 0x86dd : 0x0800) : 0x6558);
		hdr = 8;
	} else {
		memset(p, 0, 8);
		be16w(p, o.sport);
		be16w(p + 2, kind == T_VXLAN ? 4789 : 2152);
		hdr = 8;
		if (kind == T_VXLAN) {
			memset(p + 8, 0, 8);
			p[8] = 0x08;
			hdr = 16;
		} else {
			memset(p + 8, 0, 12);
			p[8] = 0x32;  /* version 1, PT, S */
			p[9] = 0xff;  /* G-PDU */
			hdr = 20;     /* 8 UDP + 12 GTP with the sequence word */
		}
	}
	if (kind == T_GRE_ETH || kind == T_VXLAN)
		n += hdr + build(p + hdr, inner);
	else
		n += hdr + build_ip(p + hdr, inner);
	/* the outer IP header covers the whole tunnel packet */
	set_ip_len(f + 14 + 4 * o.vlans, o.v6, n - 14 - 4 * o.vlans);
	return n;
}

static void test_hash_tunnels(void **state)
{
	(void)state;
	for (int kind = T_GRE_IP; kind <= T_GTPU; kind++) {
		unsigned distinct_outer = 0, distinct_inner = 0;
		uint32_t first_outer = 0, first_inner = 0;

		for (int i = 0; i < 64; i++) {
			struct fspec outer = { .s4 = 0xc6120001, .d4 = 0xc6130001, .sport = 5555 };
			struct fspec in = random_flow(i & 1, 0, 6), rin = reverse(in);
			struct fspec router = reverse(outer);
			uint8_t f[512], g[512];
			size_t n = build_tunnel(f, kind, &outer, &in);
			size_t m = build_tunnel(g, kind, &router, &rin);
			uint32_t ho = mqcap_flow_hash(f, (uint32_t)n, 0);
			uint32_t hi = mqcap_flow_hash(f, (uint32_t)n, MQCAP_FLOW_F_INNER);

			/* With F_INNER: the inner flow's own hash, and symmetric across directions
			 * (both tunnel ends swapped, as the reply travels). */
			assert_int_equal(hi, hash_of(&in, 0));
			assert_int_equal(hi, mqcap_flow_hash(g, (uint32_t)m, MQCAP_FLOW_F_INNER));
			if (kind == T_GRE_IP || kind == T_GRE_ETH)
				assert_int_equal(ho, mqcap_flow_hash(g, (uint32_t)m, 0));
			if (!i) {
				first_outer = ho;
				first_inner = hi;
			}
			distinct_outer += ho != first_outer;
			distinct_inner += hi != first_inner;
		}
		/* Without F_INNER every tunnelled flow is one flow (GRE: always; UDP tunnels: the
		 * outer ports are fixed here too); with it they spread. */
		assert_int_equal(distinct_outer, 0);
		assert_true(distinct_inner >= 60);
	}
}

static void test_hash_spread(void **state)
{
	enum { FLOWS = 200000, BUCKETS = 4096, WORKERS = 8 };
	static unsigned per_bucket[BUCKETS];
	unsigned per_worker[WORKERS] = { 0 }, max = 0;

	(void)state;
	lcg_state = 42;
	memset(per_bucket, 0, sizeof(per_bucket));
	for (int i = 0; i < FLOWS; i++) {
		struct fspec s = random_flow(i % 3 == 0, 0, i % 2 ? 6 : 17);
		uint32_t h = hash_of(&s, 0);

		per_bucket[h & (BUCKETS - 1)]++;
		per_worker[(h & (BUCKETS - 1)) % WORKERS]++;
	}
	for (int i = 0; i < BUCKETS; i++)
		if (per_bucket[i] > max)
			max = per_bucket[i];
	/* Mean 48.8 per bucket: a uniform hash's maximum over 4096 buckets is ~75 (Poisson
	 * tail); a weak hash (low bits of an address) piles far more. */
	assert_true(max < 90);
	for (int i = 0; i < WORKERS; i++)
		assert_true(per_worker[i] > FLOWS / WORKERS * 97 / 100 &&
			    per_worker[i] < FLOWS / WORKERS * 103 / 100);
	/* Sequential addresses and ports (a generator's flows) spread too. */
	memset(per_worker, 0, sizeof(per_worker));
	for (unsigned i = 0; i < 4096; i++) {
		struct fspec s = { .proto = 6, .s4 = 0xc6120001, .d4 = 0xc6130000u + i, .sport = 1000,
				   .dport = 80 };

		per_worker[(hash_of(&s, 0) & (BUCKETS - 1)) % WORKERS]++;
	}
	for (int i = 0; i < WORKERS; i++)
		assert_true(per_worker[i] > 512 * 85 / 100 && per_worker[i] < 512 * 115 / 100);
}

/* ---- scheduler ---- */

struct sink {
	unsigned n;
	uint32_t seq[4096];
	unsigned worker[4096];
	int stop_after;
};

static int collect(void *user, unsigned worker, const struct mqcap_pkt *pkts, unsigned n)
{
	struct sink *s = user;

	for (unsigned i = 0; i < n; i++) {
		/* the sequence word sits 12 bytes before the end (build_ip) */
		const uint8_t *p = pkts[i].data + pkts[i].caplen - 12;

		assert_true(pkts[i].caplen >= 14 + 20 + 20);
		if (s->n < 4096) {
			s->seq[s->n] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | p[2] << 8 | p[3];
			s->worker[s->n] = worker;
		}
		s->n++;
	}
	return s->stop_after && s->n >= (unsigned)s->stop_after;
}

static void pkt_of(struct mqcap_pkt *p, uint8_t *buf, const struct fspec *s)
{
	memset(p, 0, sizeof(*p));
	p->caplen = p->len = (uint32_t)build(buf, s);
	p->data = buf;
}

static void test_create_errors(void **state)
{
	unsigned bad_groups[] = { 2, 2 }, zero_group[] = { 2, 0 };
	MQCAP_BALANCE_OPTS(o1, .buckets = 100);
	MQCAP_BALANCE_OPTS(o2, .groups = bad_groups, .ngroups = 2);
	MQCAP_BALANCE_OPTS(o3, .groups = zero_group, .ngroups = 2);
	MQCAP_BALANCE_OPTS(o4, .mode = 9);
	MQCAP_BALANCE_OPTS(o5, .ring_slots = 3);
	MQCAP_BALANCE_OPTS(o6, .flags = 0x100);

	(void)state;
	errno = 0;
	assert_null(mqcap_balance_create(0, 2, NULL));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(mqcap_last_error(), "pollers"));
	assert_null(mqcap_balance_create(1, 0, NULL));
	assert_null(mqcap_balance_create(1, 2, &o1));
	assert_non_null(strstr(mqcap_last_error(), "100 buckets"));
	assert_null(mqcap_balance_create(1, 3, &o2));
	assert_non_null(strstr(mqcap_last_error(), "add up to 4 workers, not 3"));
	assert_null(mqcap_balance_create(1, 2, &o3));
	assert_null(mqcap_balance_create(1, 2, &o4));
	assert_null(mqcap_balance_create(1, 2, &o5));
	assert_null(mqcap_balance_create(1, 2, &o6));
	assert_int_equal(mqcap_balance_mode_parse("adaptive"), MQCAP_BALANCE_ADAPTIVE);
	assert_int_equal(mqcap_balance_mode_parse("fanout"), MQCAP_BALANCE_FANOUT);
	assert_int_equal(mqcap_balance_mode_parse("Adaptive"), -EINVAL);
	assert_string_equal(mqcap_balance_mode_name(MQCAP_BALANCE_RR), "rr");
	mqcap_balance_destroy(NULL);
}

static void test_bucket_table(void **state)
{
	MQCAP_BALANCE_OPTS(o, .buckets = 16, .mode = MQCAP_BALANCE_STATIC);
	MQCAP_BALANCE_OPTS(orr, .mode = MQCAP_BALANCE_RR);
	mqcap_balance_t *b = mqcap_balance_create(1, 4, &o), *rr;
	struct mqcap_balance_worker_stats ws;
	struct mqcap_balance_stats st;

	(void)state;
	assert_non_null(b);
	/* Start even: bucket k on worker k mod 4, 4 buckets each. */
	for (unsigned k = 0; k < 16; k++)
		assert_int_equal(mqcap_balance_bucket_worker(b, 0, k), (int)(k % 4));
	assert_int_equal(mqcap_balance_bucket(b, 0x12345677u), 7);
	assert_int_equal(mqcap_balance_move(b, 5, 3), 0);
	assert_int_equal(mqcap_balance_bucket_worker(b, 0, 5), 3);
	assert_int_equal(mqcap_balance_move(b, 5, 3), 0); /* already there: not a migration */
	assert_int_equal(mqcap_balance_move(b, 16, 0), -EINVAL);
	assert_int_equal(mqcap_balance_move(b, 0, 4), -EINVAL);
	assert_int_equal(mqcap_balance_bucket_worker(b, 1, 0), -EINVAL);
	assert_int_equal(mqcap_balance_worker_stats(b, 3, &ws), 0);
	assert_int_equal(ws.buckets, 5);
	assert_int_equal(ws.moved_in, 1);
	assert_int_equal(mqcap_balance_worker_stats(b, 1, &ws), 0);
	assert_int_equal(ws.buckets, 3);
	assert_int_equal(ws.moved_out, 1);
	assert_int_equal(mqcap_balance_stats(b, &st), 0);
	assert_int_equal(st.migrations, 1);
	mqcap_balance_destroy(b);
	rr = mqcap_balance_create(1, 2, &orr);
	assert_non_null(rr);
	assert_int_equal(mqcap_balance_move(rr, 0, 1), -EOPNOTSUPP);
	assert_int_equal(mqcap_balance_bucket_worker(rr, 0, 0), -EOPNOTSUPP);
	mqcap_balance_destroy(rr);
}

/* Every copy is delivered or counted as a drop, per worker and per poller. */
static void test_accounting(void **state)
{
	unsigned groups[] = { 2, 1 };
	MQCAP_BALANCE_OPTS(o, .groups = groups, .ngroups = 2, .ring_slots = 64);
	mqcap_balance_t *b = mqcap_balance_create(2, 3, &o);
	static uint8_t bufs[256][128];
	struct mqcap_pkt pk[256];
	struct sink sk = { 0 };
	uint64_t recv = 0, pdel = 0, pdrop = 0, wdel = 0, wdrop = 0;

	(void)state;
	assert_non_null(b);
	lcg_state = 7;
	for (int i = 0; i < 256; i++) {
		struct fspec s = random_flow(0, 0, 17);

		s.seq = (uint32_t)i;
		pkt_of(&pk[i], bufs[i], &s);
	}
	/* 2 pollers x 256 packets, 64-slot rings: plenty of drops. */
	assert_true(mqcap_balance_dispatch(b, 0, pk, 256) < 256 * 2);
	mqcap_balance_dispatch(b, 1, pk, 100);
	mqcap_balance_poller_done(b, 0);
	mqcap_balance_poller_done(b, 1);
	for (unsigned w = 0; w < 3; w++) {
		int n;

		while ((n = mqcap_balance_consume(b, w, 32, collect, &sk, NULL)) > 0)
			;
		assert_int_equal(n, -ENODATA);
	}
	for (unsigned p = 0; p < 2; p++) {
		struct mqcap_balance_poller_stats ps;

		assert_int_equal(mqcap_balance_poller_stats(b, p, &ps), 0);
		assert_int_equal(ps.received * 2, ps.delivered + ps.drops);
		recv += ps.received;
		pdel += ps.delivered;
		pdrop += ps.drops;
	}
	for (unsigned w = 0; w < 3; w++) {
		struct mqcap_balance_worker_stats ws;

		assert_int_equal(mqcap_balance_worker_stats(b, w, &ws), 0);
		assert_int_equal(ws.backlog, 0);
		wdel += ws.delivered;
		wdrop += ws.drops;
		if (w == 2) /* the group of one: a copy of everything it had room for */
			assert_int_equal(ws.delivered + ws.drops, 356);
	}
	assert_int_equal(recv, 356);
	assert_int_equal(sk.n, wdel);
	assert_int_equal(pdel, wdel);
	assert_int_equal(pdrop, wdrop);
	assert_true(pdrop > 0);
	assert_int_equal(mqcap_balance_worker_stats(b, 3, &(struct mqcap_balance_worker_stats){ 0 }), -EINVAL);
	mqcap_balance_destroy(b);
}

/* A bucket moved while its old worker still holds its packets: the new worker waits at the
 * drain marker, so the flow's order holds. */
static void test_migration_order(void **state)
{
	MQCAP_BALANCE_OPTS(o, .mode = MQCAP_BALANCE_STATIC, .buckets = 64);
	mqcap_balance_t *b = mqcap_balance_create(1, 2, &o);
	static uint8_t bufs[30][128];
	struct mqcap_pkt pk[30];
	struct fspec s = random_flow(0, 0, 6);
	struct sink sk = { 0 };
	unsigned bucket, from, to;

	(void)state;
	assert_non_null(b);
	for (int i = 0; i < 30; i++) {
		s.seq = (uint32_t)i;
		pkt_of(&pk[i], bufs[i], &s);
	}
	bucket = mqcap_balance_bucket(b, mqcap_flow_hash(pk[0].data, pk[0].caplen, 0));
	from = (unsigned)mqcap_balance_bucket_worker(b, 0, bucket);
	to = 1 - from;
	assert_int_equal(mqcap_balance_dispatch(b, 0, pk, 10), 10);
	assert_int_equal(mqcap_balance_move(b, bucket, to), 0);
	assert_int_equal(mqcap_balance_dispatch(b, 0, pk + 10, 10), 10);
	/* The new worker is held at the marker until the old one is done. */
	assert_int_equal(mqcap_balance_consume(b, to, 64, collect, &sk, NULL), 0);
	assert_int_equal(sk.n, 0);
	/* The old worker releases in two steps; the marker holds until the last. */
	assert_int_equal(mqcap_balance_consume(b, from, 6, collect, &sk, NULL), 6);
	assert_int_equal(mqcap_balance_consume(b, to, 64, collect, &sk, NULL), 0);
	assert_int_equal(mqcap_balance_consume(b, from, 64, collect, &sk, NULL), 4);
	assert_int_equal(mqcap_balance_consume(b, to, 64, collect, &sk, NULL), 10);
	/* And back again, with the old worker (now `to`) idle: no wait at all. */
	assert_int_equal(mqcap_balance_move(b, bucket, from), 0);
	assert_int_equal(mqcap_balance_dispatch(b, 0, pk + 20, 10), 10);
	assert_int_equal(mqcap_balance_consume(b, from, 64, collect, &sk, NULL), 10);
	assert_int_equal(sk.n, 30);
	for (unsigned i = 0; i < 30; i++) {
		assert_int_equal(sk.seq[i], i);
		assert_int_equal(sk.worker[i], i < 10 || i >= 20 ? from : to);
	}
	mqcap_balance_destroy(b);
}

static void test_fanout_groups(void **state)
{
	MQCAP_BALANCE_OPTS(of, .mode = MQCAP_BALANCE_FANOUT);
	unsigned groups[] = { 2, 1 };
	MQCAP_BALANCE_OPTS(og, .mode = MQCAP_BALANCE_ADAPTIVE, .groups = groups, .ngroups = 2);
	MQCAP_BALANCE_OPTS(orr, .mode = MQCAP_BALANCE_RR);
	static uint8_t bufs[100][128];
	struct mqcap_pkt pk[100];
	mqcap_balance_t *b;
	struct fspec s = random_flow(1, 1, 17);

	(void)state;
	for (int i = 0; i < 100; i++) {
		s.seq = (uint32_t)i;
		s.sport = (uint16_t)(2000 + i % 10); /* 10 flows */
		pkt_of(&pk[i], bufs[i], &s);
	}
	/* Fan-out: each of 3 workers gets all 100, in order. */
	b = mqcap_balance_create(1, 3, &of);
	assert_int_equal(mqcap_balance_groups(b), 3);
	assert_int_equal(mqcap_balance_dispatch(b, 0, pk, 100), 300);
	for (unsigned w = 0; w < 3; w++) {
		struct sink sk = { 0 };

		while (mqcap_balance_consume(b, w, 64, collect, &sk, NULL) > 0)
			;
		assert_int_equal(sk.n, 100);
		for (unsigned i = 0; i < 100; i++)
			assert_int_equal(sk.seq[i], i);
	}
	mqcap_balance_destroy(b);
	/* Groups 2,1: workers 0 and 1 share the 100 by flow (no flow on both), worker 2 gets
	 * everything. */
	b = mqcap_balance_create(1, 3, &og);
	assert_int_equal(mqcap_balance_groups(b), 2);
	assert_int_equal(mqcap_balance_worker_group(b, 1), 0);
	assert_int_equal(mqcap_balance_worker_group(b, 2), 1);
	assert_int_equal(mqcap_balance_dispatch(b, 0, pk, 100), 200);
	{
		struct sink a = { 0 }, c = { 0 }, r = { 0 };
		int owner[10];

		while (mqcap_balance_consume(b, 0, 64, collect, &a, NULL) > 0)
			;
		while (mqcap_balance_consume(b, 1, 64, collect, &c, NULL) > 0)
			;
		while (mqcap_balance_consume(b, 2, 64, collect, &r, NULL) > 0)
			;
		assert_int_equal(a.n + c.n, 100);
		assert_int_equal(r.n, 100);
		for (int i = 0; i < 10; i++)
			owner[i] = -1;
		for (unsigned i = 0; i < a.n + c.n; i++) {
			unsigned seq = i < a.n ? a.seq[i] : c.seq[i - a.n];
			int w = i < a.n ? 0 : 1;

			if (owner[seq % 10] < 0)
				owner[seq % 10] = w;
			assert_int_equal(owner[seq % 10], w);
		}
	}
	mqcap_balance_destroy(b);
	/* Round robin: 50/50 whatever the flows. */
	b = mqcap_balance_create(1, 2, &orr);
	assert_int_equal(mqcap_balance_dispatch(b, 0, pk, 100), 100);
	{
		struct sink a = { 0 };

		while (mqcap_balance_consume(b, 0, 64, collect, &a, NULL) > 0)
			;
		assert_int_equal(a.n, 50);
	}
	mqcap_balance_destroy(b);
}

/* The callback asks to stop: consume returns what it delivered and says why. */
static void test_consume_stop(void **state)
{
	mqcap_balance_t *b = mqcap_balance_create(1, 1, NULL);
	static uint8_t bufs[20][128];
	struct mqcap_pkt pk[20];
	struct fspec s = random_flow(0, 0, 6);
	struct sink sk = { .stop_after = 5 };
	int rc = 0;

	(void)state;
	for (int i = 0; i < 20; i++)
		pkt_of(&pk[i], bufs[i], &s);
	mqcap_balance_dispatch(b, 0, pk, 20);
	/* Delivered in one contiguous run of 16 (max), the callback said stop after it. */
	assert_int_equal(mqcap_balance_consume(b, 0, 16, collect, &sk, &rc), 16);
	assert_int_equal(rc, 1);
	assert_int_equal(mqcap_balance_consume(b, 0, 16, collect, &sk, NULL), 4);
	assert_int_equal(mqcap_balance_wait(b, 0, 0), 0);
	assert_int_equal(mqcap_balance_consume(b, 0, 16, collect, &sk, NULL), 0);
	mqcap_balance_poller_done(b, 0);
	assert_int_equal(mqcap_balance_consume(b, 0, 16, collect, &sk, NULL), -ENODATA);
	assert_int_equal(mqcap_balance_consume(b, 1, 16, collect, &sk, NULL), -EINVAL);
	mqcap_balance_destroy(b);
}

/* ---- controller ---- */

static void test_rebalance(void **state)
{
	enum { NB = 256, NW = 4 };
	uint16_t table[NB];
	double load[NB], wl[NW], before, after;
	struct mqcap__bal_move mv[256];
	unsigned m;

	(void)state;
	/* Worker 0's buckets carry 4x the load of the others'. */
	for (unsigned k = 0; k < NB; k++) {
		table[k] = (uint16_t)(10 + k % NW);
		load[k] = k % NW == 0 ? 4.0 : 1.0;
	}
	m = mqcap__bal_rebalance(table, NB, load, 10, NW, 0.10, 256, mv, wl, &before, &after);
	assert_true(before > 2.28 && before < 2.29); /* 256 / (448 / 4) */
	assert_true(m > 0);
	assert_true(after <= 1.05);
	for (unsigned i = 0; i < m; i++) {
		assert_int_equal(table[mv[i].bucket], mv[i].to);
		assert_int_equal(mv[i].from, 10);
		assert_true(mv[i].to >= 11 && mv[i].to <= 13);
	}
	/* Already even: nothing moves. */
	assert_int_equal(mqcap__bal_rebalance(table, NB, load, 10, NW, 0.10, 256, NULL, NULL, NULL, NULL), 0);
	/* One elephant bucket heavier than everything else together: its worker sheds its
	 * other buckets, the elephant stays, and nothing oscillates. */
	for (unsigned k = 0; k < NB; k++) {
		table[k] = (uint16_t)(k % NW);
		load[k] = 1.0;
	}
	load[0] = 1000;
	m = mqcap__bal_rebalance(table, NB, load, 0, NW, 0.10, 256, mv, wl, &before, &after);
	assert_true(m > 0);
	assert_int_equal(table[0], 0);
	assert_true(wl[0] >= 1000 && wl[0] < 1001);
	for (unsigned i = 0; i < m; i++)
		assert_int_not_equal(mv[i].bucket, 0);
	assert_int_equal(mqcap__bal_rebalance(table, NB, load, 0, NW, 0.10, 256, NULL, NULL, NULL, NULL), 0);
	/* max_moves bounds the work per interval. */
	for (unsigned k = 0; k < NB; k++) {
		table[k] = (uint16_t)(k % NW);
		load[k] = k % NW == 0 ? 4.0 : 1.0;
	}
	assert_int_equal(mqcap__bal_rebalance(table, NB, load, 0, NW, 0.10, 3, NULL, NULL, NULL, NULL), 3);
}

/* A worker that spends ~200 ns per packet, so busy time measures packets, not call overhead. */
static int work(void *user, unsigned worker, const struct mqcap_pkt *pkts, unsigned n)
{
	struct timespec t0, t;

	(void)user;
	(void)worker;
	(void)pkts;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 200L * (long)n);
	return 0;
}

/* The adaptive controller, driven with a fake clock: a skewed start converges. */
static void test_adaptive_tick(void **state)
{
	MQCAP_BALANCE_OPTS(o, .mode = MQCAP_BALANCE_ADAPTIVE, .buckets = 256, .max_moves = 256);
	mqcap_balance_t *b = mqcap_balance_create(1, 4, &o);
	static uint8_t bufs[512][128];
	struct mqcap_pkt pk[512];
	struct mqcap_balance_stats st;
	uint64_t t = 1000000000ull;
	unsigned n = 0;
	double best = 1e9; /* the best measured spread after the first interval */

	(void)state;
	lcg_state = 99;
	/* 512 flows, all in buckets that start on worker 0 (bucket % 4 == 0). */
	while (n < 512) {
		struct fspec s = random_flow(0, 0, 6);
		uint8_t f[128];
		size_t len = build(f, &s);

		if (mqcap_balance_bucket(b, mqcap_flow_hash(f, (uint32_t)len, 0)) % 4)
			continue;
		pkt_of(&pk[n], bufs[n], &s);
		n++;
	}
	assert_int_equal(mqcap_balance_tick(b, t), 0); /* starts the clock */
	for (int round = 0; round < 8; round++) {
		for (int rep = 0; rep < 4; rep++) {
			mqcap_balance_dispatch(b, 0, pk, 512);
			for (unsigned w = 0; w < 4; w++)
				while (mqcap_balance_consume(b, w, 256, work, NULL, NULL) > 0)
					;
		}
		t += 100000000ull;
		mqcap_balance_tick(b, t);
		assert_int_equal(mqcap_balance_stats(b, &st), 0);
		if (round == 0)
			assert_true(st.max_mean > 3.9); /* everything on one of 4 workers */
		else if (st.max_mean < best)
			best = st.max_mean;
	}
	assert_true(st.migrations > 0);
	assert_int_equal(st.intervals, 8);
	{
		uint64_t sum = 0;

		for (unsigned w = 0; w < 4; w++) {
			struct mqcap_balance_worker_stats ws;

			mqcap_balance_worker_stats(b, w, &ws);
			sum += ws.delivered;
			assert_int_equal(ws.drops, 0);
		}
		assert_int_equal(sum, 8 * 4 * 512);
		/* The controller weighs packets by each worker's measured time per packet, so
		 * on a loaded machine the packet split need not be even, and one interval may
		 * be off (a preempted worker); what it must show is the measured spread coming
		 * down from everything-on-one-worker. */
		/* from 4.0; 2.0 leaves room for a machine loaded by others (make check runs
		 * two tests at once, other processes too) */
		assert_true(best < 2.0);
	}
	/* Too early for another interval: nothing happens. */
	assert_int_equal(mqcap_balance_tick(b, t + 1000), 0);
	mqcap_balance_destroy(b);
}

/* One flow heavier than a worker: reported as an elephant, counted once, never moved. */
static void test_elephant(void **state)
{
	MQCAP_BALANCE_OPTS(o, .mode = MQCAP_BALANCE_ADAPTIVE, .interval_ms = 1, .ring_slots = 4096);
	mqcap_balance_t *b = mqcap_balance_create(1, 2, &o);
	static uint8_t buf[128];
	struct mqcap_pkt pk[512];
	struct fspec s = random_flow(0, 0, 6);
	struct mqcap_balance_stats st;
	uint64_t t = 1000000000ull;
	unsigned bucket;
	int owner;

	(void)state;
	for (int i = 0; i < 512; i++)
		pkt_of(&pk[i], buf, &s);
	bucket = mqcap_balance_bucket(b, mqcap_flow_hash(buf, pk[0].caplen, 0));
	owner = mqcap_balance_bucket_worker(b, 0, bucket);
	mqcap_balance_tick(b, t);
	for (int round = 0; round < 3; round++) {
		/* 12 x 512 packets at 200 ns: 1.2 ms of work in a 1 ms interval (fake clock). */
		for (int k = 0; k < 12; k++) {
			mqcap_balance_dispatch(b, 0, pk, 512);
			while (mqcap_balance_consume(b, (unsigned)owner, 512, work, NULL, NULL) > 0)
				;
		}
		t += 1000000ull;
		mqcap_balance_tick(b, t);
		assert_int_equal(mqcap_balance_stats(b, &st), 0);
		assert_int_equal(st.elephants_now, 1);
		assert_int_equal(st.elephants, 1); /* the same flow, counted once */
		assert_int_equal(mqcap_balance_bucket_worker(b, 0, bucket), owner);
	}
	assert_int_equal(st.migrations, 0);
	mqcap_balance_destroy(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_symmetric),
		cmocka_unit_test(test_hash_fields),
		cmocka_unit_test(test_hash_tunnels),
		cmocka_unit_test(test_hash_spread),
		cmocka_unit_test(test_create_errors),
		cmocka_unit_test(test_bucket_table),
		cmocka_unit_test(test_accounting),
		cmocka_unit_test(test_migration_order),
		cmocka_unit_test(test_fanout_groups),
		cmocka_unit_test(test_consume_stop),
		cmocka_unit_test(test_rebalance),
		cmocka_unit_test(test_adaptive_tick),
		cmocka_unit_test(test_elephant),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
