/* SPDX-License-Identifier: BSD-2-Clause */
/* names.c - mqdump's file names: the -w pattern, expanded per output and file (see mqdump.h). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mqdump.h"

/* strftime conversions a name may use (%d is the device here, not the day of the month). */
static const char time_convs[] = "aAbBcCDeFgGhHIjmMprRsStTuUVwWyYzZ";

/* Expand the pattern: %d device, %q queue, %n file number, %% a '%', other conversions by
 * strftime at time t. Returns 0, or -1 with why in err. */
int dump_name_expand(const char *pat, const char *dev, unsigned queue, uint64_t seq, time_t t,
		     char *out, size_t len, char *err, size_t errlen)
{
	char mid[PATH_MAX * 2];
	size_t o = 0;
	struct tm tm;

	for (const char *p = pat; *p; p++) {
		int n = 0;

		if (o + 32 >= sizeof(mid))
			goto toolong;
		if (*p != '%') {
			mid[o++] = *p;
			continue;
		}
		p++;
		if (*p == 'd') {
			for (const char *c = dev; *c && o + 4 < sizeof(mid); c++) {
				if (*c == '%')
					mid[o++] = '%';
				mid[o++] = *c;
			}
		} else if (*p == 'q') {
			n = snprintf(mid + o, sizeof(mid) - o, "%u", queue);
		} else if (*p == 'n') {
			n = snprintf(mid + o, sizeof(mid) - o, "%05" PRIu64, seq);
		} else if (*p == '%') {
			mid[o++] = '%';
			mid[o++] = '%';
		} else if (*p && strchr(time_convs, *p)) {
			mid[o++] = '%';
			mid[o++] = *p;
		} else {
			snprintf(err, errlen, "'%%%s' is not a conversion mqdump knows (%%d device, "
				 "%%q queue, %%n file number, %%%% a '%%', or a strftime conversion)",
				 *p ? (char[]){ *p, 0 } : "");
			return -1;
		}
		o += (size_t)n;
	}
	mid[o] = '\0';
	localtime_r(&t, &tm);
	if (!strftime(out, len, mid, &tm) && *mid)
		goto toolong;
	if (!*out) {
		snprintf(err, errlen, "the name is empty");
		return -1;
	}
	return 0;
toolong:
	snprintf(err, errlen, "the expanded name is too long");
	return -1;
}

static bool has_conv(const char *pat, const char *convs)
{
	for (const char *p = pat; *p; p++)
		if (*p == '%') {
			if (p[1] && strchr(convs, p[1]))
				return true;
			if (p[1])
				p++;
		}
	return false;
}

/* The pattern this run uses: with rotation and no %n (nor, for -G alone, a time in the name),
 * "_%n" goes before the extension so that the files of one output differ. */
char *dump_name_pattern(const struct dump_cfg *c)
{
	bool rot = c->file_bytes || c->file_packets || c->rotate_s;
	bool need = rot && !has_conv(c->pattern, "n") &&
		    (c->file_bytes || c->file_packets || !has_conv(c->pattern, time_convs));
	const char *base, *dot;
	char *out;
	size_t l = strlen(c->pattern);

	out = malloc(l + 4);
	if (!out)
		return NULL;
	if (!need) {
		memcpy(out, c->pattern, l + 1);
		return out;
	}
	base = strrchr(c->pattern, '/');
	base = base ? base + 1 : c->pattern;
	dot = strrchr(base, '.');
	if (!dot || dot == base)
		dot = c->pattern + l;
	snprintf(out, l + 4, "%.*s_%%n%s", (int)(dot - c->pattern), c->pattern, dot);
	return out;
}
