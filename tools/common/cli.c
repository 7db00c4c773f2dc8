/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

__attribute__((format(printf, 1, 0)))
static void cli_vwarn(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", program_invocation_short_name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_vwarn(fmt, ap);
	va_end(ap);
}

_Noreturn void cli_die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_vwarn(fmt, ap);
	va_end(ap);
	exit(status);
}

int cli_parse_u64(const char *s, const char *what, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mult = 1;

	/* strtoull() skips blanks, takes a sign and wraps "-1" to 2^64-1: only digits here. */
	if (!s || *s == '-' || !*s) {
		cli_warn("%s: expected a non-negative number, got '%s'", what, s ? s : "");
		return -1;
	}
	if (!(*s >= '0' && *s <= '9')) {
		cli_warn("%s: expected a number, got '%s'", what, s);
		return -1;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s) {
		cli_warn("%s: expected a number, got '%s'", what, s);
		return -1;
	}
	if (*end) {
		if (!strcmp(end, "k") || !strcmp(end, "K"))
			mult = 1000ull;
		else if (!strcmp(end, "M"))
			mult = 1000000ull;
		else if (!strcmp(end, "G"))
			mult = 1000000000ull;
		else {
			cli_warn("%s: unknown suffix '%s' in '%s' (use k, M or G)", what, end, s);
			return -1;
		}
	}
	if (v > UINT64_MAX / mult) {
		cli_warn("%s: '%s' is too large", what, s);
		return -1;
	}
	*out = v * mult;
	return 0;
}

/* The longest duration accepted: a century. Far above any run, and far below the 2^64 ms
 * a uint64_t holds, so the conversion below is always defined. */
#define DURATION_MAX_MS (100.0 * 365 * 24 * 3600 * 1000)

int cli_parse_bytes(const char *s, const char *what, uint64_t *out)
{
	static const char *const suf[] = { "K", "M", "G" }, *const isuf[] = { "KiB", "MiB", "GiB" };
	char *end;
	unsigned long long v;

	if (!s || !(*s >= '0' && *s <= '9')) {
		cli_warn("%s: expected a size in bytes (64M, 1G), got '%s'", what, s ? s : "");
		return -1;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno) {
		cli_warn("%s: '%s' is too large", what, s);
		return -1;
	}
	if (*end) {
		unsigned k;

		for (k = 0; k < 3; k++)
			if (!strcmp(end, suf[k]) || !strcmp(end, isuf[k]) ||
			    (k == 0 && !strcmp(end, "k")))
				break;
		if (k == 3) {
			cli_warn("%s: unknown suffix '%s' in '%s' (use K, M or G: powers of 1024)",
				 what, end, s);
			return -1;
		}
		if (v > (UINT64_MAX >> (10 * (k + 1)))) {
			cli_warn("%s: '%s' is too large", what, s);
			return -1;
		}
		v <<= 10 * (k + 1);
	}
	*out = v;
	return 0;
}

int cli_parse_duration_ms(const char *s, const char *what, uint64_t *ms)
{
	char *end;
	double v;

	/* strtod() also takes "nan", "inf", hex floats and leading blanks: a duration is a
	 * plain decimal number, so it must start with a digit or a point. */
	if (!s || !((*s >= '0' && *s <= '9') || *s == '.')) {
		cli_warn("%s: expected a duration like 10s or 500ms, got '%s'", what, s ? s : "");
		return -1;
	}
	errno = 0;
	v = strtod(s, &end);
	if (end == s || !isfinite(v) || v < 0 || (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))) {
		cli_warn("%s: expected a duration like 10s or 500ms, got '%s'", what, s);
		return -1;
	}
	if (!*end || !strcmp(end, "s"))
		v *= 1000.0;
	else if (!strcmp(end, "m"))
		v *= 60000.0;
	else if (strcmp(end, "ms")) {
		cli_warn("%s: unknown unit '%s' in '%s' (use ms, s or m)", what, end, s);
		return -1;
	}
	/* errno is ERANGE on overflow (v is then HUGE_VAL: caught above) and on underflow
	 * (a tiny v, which rounds to 0 ms below: harmless). */
	if (v > DURATION_MAX_MS) {
		cli_warn("%s: '%s' is too long (at most 100 years)", what, s);
		return -1;
	}
	*ms = (uint64_t)v;
	return 0;
}

int cli_parse_cpu_order(const char *s, const char *what, int *out, int max)
{
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	const char *p = s;
	cpu_set_t seen;
	int n = 0;

	CPU_ZERO(&seen);
	if (!s || !*s) {
		cli_warn("%s: empty CPU list", what);
		return -1;
	}
	while (*p) {
		char *end;
		long lo, hi;

		if (*p < '0' || *p > '9') /* no blanks or signs: strtol() would take them */
			goto bad;
		errno = 0;
		lo = strtol(p, &end, 10);
		if (errno || end == p)
			goto bad;
		hi = lo;
		if (*end == '-') {
			p = end + 1;
			if (*p < '0' || *p > '9')
				goto bad;
			hi = strtol(p, &end, 10);
			if (errno || end == p || hi < lo)
				goto bad;
		}
		if (hi >= ncpu || hi >= CPU_SETSIZE) {
			cli_warn("%s: CPU %ld does not exist (this machine has CPUs 0-%ld)", what, hi,
				 ncpu - 1);
			return -1;
		}
		for (long c = lo; c <= hi; c++) {
			if (CPU_ISSET((int)c, &seen)) {
				cli_warn("%s: CPU %ld appears twice in '%s'", what, c, s);
				return -1;
			}
			CPU_SET((int)c, &seen);
			if (n < max)
				out[n] = (int)c;
			n++;
		}
		if (*end == ',' && end[1])
			end++;
		else if (*end)
			goto bad;
		p = end;
	}
	return n;
bad:
	cli_warn("%s: malformed CPU list '%s' (expected e.g. 0-3,6)", what, s);
	return -1;
}

int cli_parse_cpulist(const char *s, const char *what, cpu_set_t *set)
{
	int cpus[CPU_SETSIZE];
	int n = cli_parse_cpu_order(s, what, cpus, CPU_SETSIZE);

	CPU_ZERO(set);
	for (int i = 0; i < n && i < CPU_SETSIZE; i++)
		CPU_SET(cpus[i], set);
	return n;
}

int cli_cpus_of(const cpu_set_t *set, int *out, int max)
{
	int n = 0;

	for (int c = 0; c < CPU_SETSIZE && n < max; c++)
		if (CPU_ISSET(c, set))
			out[n++] = c;
	return n;
}

static atomic_int stop_flag;

static void on_stop_signal(int sig)
{
	/* A second Ctrl-C means the user has given up waiting for a clean stop. */
	if (sig == SIGINT && atomic_load_explicit(&stop_flag, memory_order_relaxed))
		_exit(130);
	atomic_store_explicit(&stop_flag, 1, memory_order_relaxed);
}

void cli_stop_on_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

bool cli_stop_requested(void)
{
	return atomic_load_explicit(&stop_flag, memory_order_relaxed);
}

void cli_request_stop(void)
{
	atomic_store_explicit(&stop_flag, 1, memory_order_relaxed);
}

const char *cli_fmt_rate(double v, const char *unit, char *buf, unsigned len)
{
	if (v >= 1e9)
		snprintf(buf, len, "%.2f G%s", v / 1e9, unit);
	else if (v >= 1e6)
		snprintf(buf, len, "%.2f M%s", v / 1e6, unit);
	else if (v >= 1e3)
		snprintf(buf, len, "%.2f k%s", v / 1e3, unit);
	else
		snprintf(buf, len, "%.0f %s", v, unit);
	return buf;
}

uint64_t cli_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
