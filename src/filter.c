/* SPDX-License-Identifier: BSD-2-Clause */
/* filter.c - libpcap's filter compiler, and the AF_PACKET socket program built around it. */
#include <errno.h>
#include <linux/if_packet.h>
#include <stdlib.h>
#include <string.h>

#include "filter_int.h"

int mqcap__filter_compile(struct mqcap__filter *f, const char *expr, int linktype,
			  uint32_t snaplen, struct mqcap__err *e)
{
	pcap_t *p;
	int rc = 0;

	memset(f, 0, sizeof(*f));
	f->snaplen = snaplen;
	f->linktype = linktype;
	if (!expr || !*expr)
		return 0;
	p = pcap_open_dead(linktype, (int)snaplen);
	if (!p)
		return mqcap__err_set(e, ENOMEM, "filter '%s': pcap_open_dead failed", expr);
	if (pcap_compile(p, &f->prog, expr, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		rc = mqcap__err_set(e, EINVAL, "filter '%s': %s", expr, pcap_geterr(p));
		memset(&f->prog, 0, sizeof(f->prog));
	}
	pcap_close(p);
	return rc;
}

bool mqcap__filter_match(const struct mqcap__filter *f, const uint8_t *pkt, uint32_t caplen,
			 uint32_t wirelen)
{
	struct pcap_pkthdr h = { .caplen = caplen, .len = wirelen };

	if (!mqcap__filter_active(f))
		return true;
	return pcap_offline_filter(&f->prog, &h, pkt) != 0;
}

void mqcap__filter_free(struct mqcap__filter *f)
{
	if (f->prog.bf_insns)
		pcap_freecode(&f->prog);
	memset(&f->prog, 0, sizeof(f->prog));
}

#define INSN(c, t, f_, kk) ((struct sock_filter){ .code = (c), .jt = (t), .jf = (f_), .k = (kk) })
#define LD_ANC(what) INSN(BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)(SKF_AD_OFF + (what)))
#define RET(v) INSN(BPF_RET | BPF_K, 0, 0, (v))

/*
 * Layout (all jumps forward and short, so the user's program is appended unchanged: its
 * jumps are relative and its returns end the program):
 *
 *     ld  pkttype
 *     jeq #OUTGOING, 0, 1        outgoing?
 *     ret #0 | ja filter         outgoing: drop, or skip the incoming checks
 *     [ret #0]                   direction OUT: incoming frames are not wanted
 *     [ld queue; jeq #q, 1, 0; ret #0]          incoming: our RX queue only
 *   filter:
 *     [ld vlan_present; jeq #0, 1, 0; ret #snaplen]   tag stripped: user space filters
 *     user program | ret #snaplen
 */
int mqcap__filter_build_kernel(const struct mqcap__filter *f, const struct mqcap__kprog_opts *o,
			       struct sock_fprog *out, struct mqcap__err *e)
{
	unsigned ufl = f && mqcap__filter_active(f) ? f->prog.bf_len : 0;
	unsigned max = 12 + (ufl ? ufl : 1), n = 0, incoming;
	struct sock_filter *p;

	if (max > BPF_MAXINSNS)
		return mqcap__err_set(e, E2BIG, "filter too long for the kernel (%u instructions, "
				      "at most %d)", max, BPF_MAXINSNS);
	p = calloc(max, sizeof(*p));
	if (!p)
		return mqcap__err_set(e, ENOMEM, "out of memory for the socket filter");

	incoming = o->direction == MQCAP_DIR_OUT ? 1 : (o->queue_mapping >= 0 ? 3 : 0);
	p[n++] = LD_ANC(SKF_AD_PKTTYPE);
	p[n++] = INSN(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, PACKET_OUTGOING);
	if (o->direction == MQCAP_DIR_IN || !o->take_outgoing)
		p[n++] = RET(0);
	else
		p[n++] = INSN(BPF_JMP | BPF_JA, 0, 0, incoming);
	if (o->direction == MQCAP_DIR_OUT) {
		p[n++] = RET(0);
	} else if (o->queue_mapping >= 0) {
		p[n++] = LD_ANC(SKF_AD_QUEUE);
		p[n++] = INSN(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, (uint32_t)o->queue_mapping);
		p[n++] = RET(0);
	}
	if (ufl && o->defer_vlan) {
		p[n++] = LD_ANC(SKF_AD_VLAN_TAG_PRESENT);
		p[n++] = INSN(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 0);
		p[n++] = RET(o->snaplen);
	}
	if (ufl) {
		memcpy(p + n, f->prog.bf_insns, ufl * sizeof(*p)); /* same layout as bpf_insn */
		n += ufl;
	} else {
		p[n++] = RET(o->snaplen);
	}
	out->filter = p;
	out->len = (unsigned short)n;
	return 0;
}
