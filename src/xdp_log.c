/* SPDX-License-Identifier: BSD-2-Clause */
/* xdp_log.c - libbpf/libxdp messages kept per thread instead of printed (see xdp_log_int.h). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
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

/* The hooks the application installed before us, to pass every message on to. The libraries'
 * own default printers (which print to stderr) are not chained: the library never prints. */
static libbpf_print_fn_t prev_libbpf;
static libxdp_print_fn_t prev_libxdp;

static int libbpf_hook(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_WARN) {
		va_list copy;

		va_copy(copy, ap);
		keep(fmt, copy);
		va_end(copy);
	}
	return prev_libbpf ? prev_libbpf(level, fmt, ap) : 0;
}

static int libxdp_hook(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBXDP_WARN) {
		va_list copy;

		va_copy(copy, ap);
		keep(fmt, copy);
		va_end(copy);
	}
	return prev_libxdp ? prev_libxdp(level, fmt, ap) : 0;
}

/* True when fn is code of the shared object named like lib ("libbpf.so"): that library's
 * default printer, which has no exported name to compare with. A static build cannot tell;
 * there the previous hook is chained whatever it is. */
static bool is_default_printer(const void *fn, const char *lib)
{
	Dl_info info;

	return fn && dladdr(fn, &info) && info.dli_fname && strstr(info.dli_fname, lib);
}

static void install(void)
{
	libbpf_print_fn_t pb = libbpf_set_print(libbpf_hook);
	libxdp_print_fn_t px = libxdp_set_print(libxdp_hook);

	prev_libbpf = is_default_printer((const void *)pb, "libbpf.so") ? NULL : pb;
	prev_libxdp = is_default_printer((const void *)px, "libxdp.so") ? NULL : px;
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
