/* SPDX-License-Identifier: BSD-2-Clause */
/* cli.h - what every mqcap tool's command line needs, written once. */
#ifndef MQCAP_TOOLS_CLI_H
#define MQCAP_TOOLS_CLI_H

#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

/* Print "PROG: message\n" to stderr (PROG from program_invocation_short_name). */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* cli_warn() then exit(status). */
_Noreturn void cli_die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse an unsigned number with an optional decimal suffix k, M, G (x1000). what names the
 * option in the error message. Returns 0, or -1 after printing why. */
int cli_parse_u64(const char *s, const char *what, uint64_t *out);
/* A size in bytes: digits with an optional binary suffix K, M, G (or KiB, MiB, GiB: powers of
 * 1024, as memory is counted). 0 and -1 as cli_parse_u64(). */
int cli_parse_bytes(const char *s, const char *what, uint64_t *out);

/* Parse a duration: "10", "10s", "500ms", "2m". Returns 0 or -1 after printing why. */
int cli_parse_duration_ms(const char *s, const char *what, uint64_t *ms);

/* Parse a CPU list "2,0-1" into out[] in the order written (CPU 2 first: users of pfcount's
 * -g expect thread i on the i-th CPU they named). Every CPU must exist; a CPU named twice is an
 * error. Returns the number of CPUs (which may exceed max: only max are stored), or -1 after
 * printing why. */
int cli_parse_cpu_order(const char *s, const char *what, int *out, int max);

/* Parse a CPU list "0-3,6,8-9" into set; every CPU must exist on this machine
 * (sysconf(_SC_NPROCESSORS_CONF)). Returns the number of CPUs, or -1 after printing why. */
int cli_parse_cpulist(const char *s, const char *what, cpu_set_t *set);

/* The CPUs of a set in ascending order into out[max]; returns how many. */
int cli_cpus_of(const cpu_set_t *set, int *out, int max);

/* SIGINT/SIGTERM/SIGHUP set a flag that cli_stop_requested() reads; a second SIGINT exits
 * at once, for a user whose program is stuck. Safe to call once at start. */
void cli_stop_on_signals(void);
bool cli_stop_requested(void);
void cli_request_stop(void);

/* "1.23 Mpps"-style formatting of a rate into buf (returns buf). */
const char *cli_fmt_rate(double per_s, const char *unit, char *buf, unsigned len);

/* Monotonic clock in nanoseconds. */
uint64_t cli_now_ns(void);

#endif
