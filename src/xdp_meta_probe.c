/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xdp_meta_probe.c - ask the kernel whether XDP programs may call bpf_xdp_adjust_meta
 * (see xdp_meta_probe_int.h for why libbpf's own probe is not enough).
 */
#include <pthread.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <bpf/bpf.h>

#include "xdp_meta_probe_int.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool allowed;

static void probe(void)
{
	/* r2 = -16; r0 = bpf_xdp_adjust_meta(ctx in r1, r2); r0 = XDP_PASS; exit */
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_2, .imm = -16 },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_xdp_adjust_meta },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "mqcap_meta_probe", "Dual BSD/GPL", insns,
			       sizeof(insns) / sizeof(insns[0]), NULL);

	allowed = fd >= 0;
	if (fd >= 0)
		close(fd);
}

bool mqcap__xdp_meta_allowed(void)
{
	pthread_once(&once, probe);
	return allowed;
}
