/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mqcap/mqcap.h"
#include "error_int.h"

/* Failed opens have no handle to hold their message, so it lives per thread. */
static _Thread_local struct mqcap__err last_open_error;

/* Callers pass errno after a failed call; a call that failed without setting it (or a
 * library that returned a negative code) must still give an error, never 0 = success. */
static int as_errno(int err)
{
	if (err < 0)
		err = -err;
	return err ? err : EIO;
}

int mqcap__err_set(struct mqcap__err *e, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -as_errno(err);
}

void mqcap__last_error_set(const struct mqcap__err *e)
{
	memcpy(&last_open_error, e, sizeof(last_open_error));
}

int mqcap__last_error_fmt(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_open_error.msg, sizeof(last_open_error.msg), fmt, ap);
	va_end(ap);
	errno = as_errno(err);
	return -errno;
}

const char *mqcap_last_error(void)
{
	return last_open_error.msg[0] ? last_open_error.msg : "no error";
}
