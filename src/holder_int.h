/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * holder_int.h - which process holds a BPF link, and its name, so that "busy" can name a
 * process.
 *
 * Answers come from /proc/PID/fdinfo ("link_id: N"), only on error paths: they read every
 * process's file descriptors. Processes in another PID namespace, or whose /proc entries we
 * may not read, are not found.
 */
#ifndef MQCAP_HOLDER_INT_H
#define MQCAP_HOLDER_INT_H

#include <stdbool.h>
#include <stddef.h>

/* The pid of a process holding an fd of BPF link link_id, 0 if none is visible. */
int mqcap__holder_of_link(unsigned link_id);

/* Whether process pid holds an fd of BPF link link_id. */
bool mqcap__holder_has_link(int pid, unsigned link_id);

/* The process's name (/proc/PID/comm) for a message; "?" when it cannot be read. */
void mqcap__holder_comm(int pid, char *buf, size_t len);

#endif
