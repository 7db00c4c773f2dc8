/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xdp_meta_probe_int.h - does this kernel let an XDP program reserve metadata room in front
 * of the frame (bpf_xdp_adjust_meta)?
 *
 * mqcap's XDP program stamps each frame's receive time there. Most kernels allow the helper
 * in every XDP program, but some builds refuse it at load time ("program of this type cannot
 * use helper bpf_xdp_adjust_meta#54", seen on a 6.18.44 build on 2026-12-06), which made the
 * whole program fail to load and every AF_XDP capture with it. libbpf 1.1's
 * libbpf_probe_bpf_helper() does not recognise that verifier message and reports the helper
 * as supported, so mqcap asks the kernel itself by loading a five-instruction XDP program.
 * Without the helper, frames are stamped with the time of the burst that received them.
 */
#ifndef MQCAP_XDP_META_PROBE_INT_H
#define MQCAP_XDP_META_PROBE_INT_H

#include <stdbool.h>

/* True when the kernel loads an XDP program that calls bpf_xdp_adjust_meta. Asked once per
 * process (thread-safe); false as well when the probe cannot load anything (no CAP_BPF): the
 * real load then reports the actual error. */
bool mqcap__xdp_meta_allowed(void);

#endif
