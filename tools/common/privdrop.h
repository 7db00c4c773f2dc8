/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * privdrop.h - -Z USER: give up root after everything privileged is open, as tcpdump -Z does.
 *
 * A capture needs privilege only to open: sockets (AF_PACKET, AF_XDP), the XDP program and its
 * BPF link, maps. Once those file descriptors exist, receiving, reading counters through the
 * map fds and closing (which detaches the XDP program: the link goes with its last fd) need
 * none. So the tools open, then call cli_drop_privileges() and capture as USER.
 */
#ifndef MQCAP_TOOLS_PRIVDROP_H
#define MQCAP_TOOLS_PRIVDROP_H

/*
 * Check -Z USER while parsing options, before anything is opened: USER exists (or is a number
 * for a uid without a passwd entry) and is not root. Returns 0, or -1 after printing why.
 */
int cli_privileges_user_check(const char *user);

/*
 * First half of -Z, before any thread is created (the capture's threads inherit what this
 * sets): empty the capability bounding set (while CAP_SETPCAP is still held), clear the
 * inheritable and ambient sets, set no_new_privs, so no exec can ever gain privilege again.
 * None of that takes away a capability the process holds: opening still works. Returns 0, or
 * -1 after printing why.
 */
int cli_privileges_prepare(const char *user);

/*
 * Second half, once everything privileged is open: supplementary groups = USER's
 * (initgroups; none for a bare number), gid = USER's primary group, uid = USER (real,
 * effective, saved), permitted and effective sets cleared. setgroups/setgid/setuid go to every
 * thread (glibc applies them process-wide), and the change away from uid 0 clears each
 * thread's permitted, effective and ambient sets. Then every thread of the process is checked
 * in /proc/self/task: uid and gid USER's, every capability set empty, no_new_privs set, and
 * setuid(0) must fail. Returns 0, or -1 after printing why (the caller must then stop and exit).
 */
int cli_drop_privileges(const char *user);

#endif
