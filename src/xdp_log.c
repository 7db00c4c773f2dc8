/* SPDX-License-Identifier: BSD-2-Clause */
/* xdp_log.c - libbpf/libxdp messages kept per thread instead of printed (see xdp_log_int.h). */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "xdp_log_int.h"

static _Thread_local char last_msg[256];

static void keep(const char *fmt, va_list ap)
{
	char buf[sizeof(last_msg)];
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	/* Empty lines and libbpf's multi-line verifier dump openers say nothing useful alone. */
	if (n)
		memcpy(last_msg, buf, n + 1);
}

static int libbpf_hook(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_WARN)
		keep(fmt, ap);
	return 0;
}

static int libxdp_hook(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBXDP_WARN)
		keep(fmt, ap);
	return 0;
}

static void install(void)
{
	libbpf_set_print(libbpf_hook);
	libxdp_set_print(libxdp_hook);
}

void mqcap__xdp_log_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, install);
}

void mqcap__xdp_log_clear(void)
{
	last_msg[0] = '\0';
}

const char *mqcap__xdp_log_last(void)
{
	return last_msg;
}
