/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xdp_log_int.h - keep libbpf's and libxdp's messages instead of printing them.
 *
 * Both libraries print warnings to stderr by default, and the library never prints. Their
 * print hooks are process-wide, so mqcap installs its own once, on the first AF_XDP open:
 * each thread keeps the last warning, which the AF_XDP backend puts into its error messages
 * (for example the verifier's reason when the program does not load). A hook the
 * application installed before that still gets every message: ours passes them on (the
 * libraries' own default printers are recognised and not chained). An application that
 * installs its own hooks afterwards gets the messages instead, and mqcap's errors are then
 * shorter but still correct.
 */
#ifndef MQCAP_XDP_LOG_INT_H
#define MQCAP_XDP_LOG_INT_H

/* Install the hooks (once per process; any thread). */
void mqcap__xdp_log_init(void);

/* Forget this thread's last message (call before an operation whose failure you explain). */
void mqcap__xdp_log_clear(void);

/* This thread's last warning from libbpf or libxdp, without its trailing newline; "" if none. */
const char *mqcap__xdp_log_last(void);

#endif
