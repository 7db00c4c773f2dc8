/* SPDX-License-Identifier: BSD-2-Clause */
/* range.h - a number option with bounds, as several tools' -n, -s and the like need. */
#ifndef MQCAP_TOOLS_RANGE_H
#define MQCAP_TOOLS_RANGE_H

#include <stdint.h>

/* cli_parse_u64() (suffixes k, M, G) that also requires lo <= value <= hi. On a value out of
 * range it prints "WHAT: expected LO to HI UNIT, got 'S'" (unit may be NULL). Returns 0, or
 * -1 after printing why. */
int cli_parse_u64_range(const char *s, const char *what, uint64_t lo, uint64_t hi,
			const char *unit, uint64_t *out);

#endif
