/* SPDX-License-Identifier: BSD-2-Clause */
/* error_int.h - error messages: the library never prints, it keeps a message and returns -errno. */
#ifndef MQCAP_ERROR_INT_H
#define MQCAP_ERROR_INT_H

#include <stddef.h>

#define MQCAP__ERRLEN 256

/* A message buffer, embedded in every handle and used thread-locally for failed opens. */
struct mqcap__err {
	char msg[MQCAP__ERRLEN];
};

/* Format a message into e and return -err (err is a positive errno), so callers write
 * `return mqcap__err_set(e, EINVAL, "bad queue %u", q);`. An err of 0 (errno not set by a
 * call that failed) gives -EIO: an error path never returns success. */
int mqcap__err_set(struct mqcap__err *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* For calls without a handle (constructors, napi.h, topo.h): format this thread's
 * mqcap_last_error(), set errno = err (EIO for 0), and return -errno. */
int mqcap__last_error_fmt(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Store a message as this thread's mqcap_last_error(). */
void mqcap__last_error_set(const struct mqcap__err *e);

#endif
