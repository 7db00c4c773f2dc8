/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * backend_choice_int.h - which kernel path a capture of live devices uses, and why.
 *
 * AF_XDP redirect hands a frame to the socket instead of the network stack: it cannot give
 * one frame to both. So AF_XDP is chosen by default only on a dedicated capture port, a
 * device whose frames the host does not use; everywhere else the default is AF_PACKET, which
 * sees a copy and leaves the host its traffic. A device carries the host's traffic when
 * (rtnetlink, asked once per open):
 *   - it has an address of its own, IPv4 or IPv6, except the IPv6 link-local address the
 *     kernel creates by itself on every device that comes up (IFA_PROTO = IFAPROT_KERNEL_LL;
 *     on kernels before 5.18, which lack IFA_PROTO, any fe80::/10 address): counting it
 *     would make every port look busy, and on a port nobody configured it serves only
 *     neighbour discovery for itself. A link-local address set by hand counts: someone
 *     means to reach the host there;
 *   - it is the device of a route or nexthop that is not the kernel's own (RTPROT_KERNEL
 *     routes follow from the addresses, already counted): the host sends or forwards there;
 *   - it is a port of a master (bridge, bond, team, VRF...): whatever the master does with
 *     the frames (forward them to other ports, deliver them to its addresses) is traffic,
 *     and a bridge forwards even without an address of its own;
 *   - a device stacked on it (VLAN, macvlan, ipvlan, their taps) carries the host's traffic
 *     by these same rules: its frames arrive through this device.
 */
#ifndef MQCAP_BACKEND_CHOICE_INT_H
#define MQCAP_BACKEND_CHOICE_INT_H

#include <stdbool.h>

#include "mqcap/mqcap.h"
#include "devname_int.h"
#include "error_int.h"

#define MQCAP__REASON_LEN 768 /* room for the lists a reason quotes, each cut at 256 bytes */

struct mqcap__choice {
	enum mqcap_backend backend;      /* PACKET or XDP: the one to open */
	bool asked;                      /* the name or the options named the backend */
	bool takes_from_stack;           /* xdp on a device that carries the host's traffic */
	char reason[MQCAP__REASON_LEN];  /* one line: why this backend */
	char warning[MQCAP__REASON_LEN]; /* takes_from_stack: what the host stops receiving */
};

/*
 * Decide the backend for the devices of cn (a live capture, not pcap:). want: what the name's
 * prefix or the options asked for (AUTO, PACKET or XDP). Fills ch; never fails: when rtnetlink
 * cannot answer, auto takes AF_PACKET (the choice that takes nothing) and the reason says why.
 */
void mqcap__backend_choose(const struct mqcap__capname *cn, enum mqcap_backend want,
			   struct mqcap__choice *ch);

/* auto chose xdp but the xdp backend could not open (err: its -errno, why: its message):
 * native XDP does not work on the device (-EOPNOTSUPP), the queue is another process's
 * (-EBUSY), a privilege is missing, ... Record that the capture falls back to AF_PACKET:
 * auto never fails where AF_PACKET works. */
void mqcap__backend_fallback(struct mqcap__choice *ch, int err, const char *why);

#endif
