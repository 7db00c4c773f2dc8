/* SPDX-License-Identifier: BSD-2-Clause */
#include "cli.h"
#include "range.h"

int cli_parse_u64_range(const char *s, const char *what, uint64_t lo, uint64_t hi,
			const char *unit, uint64_t *out)
{
	uint64_t v;

	if (cli_parse_u64(s, what, &v))
		return -1;
	if (v < lo || v > hi) {
		cli_warn("%s: expected %llu to %llu%s%s, got '%s'", what, (unsigned long long)lo,
			 (unsigned long long)hi, unit ? " " : "", unit ? unit : "", s);
		return -1;
	}
	*out = v;
	return 0;
}
