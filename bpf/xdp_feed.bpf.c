// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdp_feed.bpf.c - a benchmark's traffic source that hands a veth's receiver bare frames, as
 * a NIC would, instead of the sender's skbs: run by BPF_PROG_RUN in live-frames mode
 * (bench/dump/xdp_feed.c), it turns the one template frame into the paper's workload (the
 * destination address rotates over ndst addresses, checksums kept valid) and redirects each
 * frame to the sending veth, whose ndo_xdp_xmit puts it in the receiver's ring.
 *
 * Why: frames from mqsend's AF_PACKET sockets arrive as the sender's skbs, and the receiving
 * CPU pays for freeing them (the sender's socket accounting, its TX ring's completion),
 * which a NIC's receiver never does. These frames cost the receiver a different foreign
 * cost instead: each page goes back to the feeding CPU's page pool (bench/dump/README.md).
 *
 * Live frames keep what the program wrote when their page is reused, so every field that
 * varies is written in full each time, never updated from its old value.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

/* Set by the loader before the program is loaded. */
const volatile __u32 out_ifindex;
const volatile __u32 ndst = 4096;       /* destinations, from dst_base up */
const volatile __u32 dst_base;          /* host order */
/* One's complement sums (of 16-bit words as stored) of the template without the destination
 * address and the checksum fields: the IPv4 header, and TCP's pseudo header + header. */
const volatile __u32 ip_part;
const volatile __u32 l4_part;

/* frames sent so far (per CPU; the loader sums) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} feed_sent SEC(".maps");

static __always_inline __u16 fold(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

SEC("xdp")
int mqcap_xdp_feed(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	struct tcphdr *tcp = (void *)(ip + 1);
	__u32 key = 0, dst, words;
	__u64 *n = bpf_map_lookup_elem(&feed_sent, &key);

	if (!n || (void *)(tcp + 1) > end)
		return XDP_ABORTED;
	dst = bpf_htonl(dst_base + (__u32)(*n % ndst));
	(*n)++;
	ip->daddr = dst;
	words = (dst & 0xffff) + (dst >> 16);
	ip->check = fold(ip_part + words);
	tcp->check = fold(l4_part + words);
	return bpf_redirect(out_ifindex, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
