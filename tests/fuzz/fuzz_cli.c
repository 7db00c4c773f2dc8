/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_cli - the tools' shared number, duration and CPU-list parsers (tools/common/cli.c,
 * range.c) and the RSS key/table parsers, on arbitrary strings: no undefined behaviour
 * (UBSan: 1e300 seconds once overflowed the conversion), a rejection changes nothing, and
 * an accepted value is what the string says.
 */
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "mqcap/rss.h"
#include "range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *quiet;
	char *s;
	uint64_t v = 0x5a5a, ms = 0x5a5a;
	int cpus[64], n;
	uint8_t key[MQCAP_RSS_KEY_LEN];
	uint16_t table[MQCAP_RSS_TABLE_SIZE];
	char back[6 * MQCAP_RSS_TABLE_SIZE];

	/* The parsers explain every rejection on stderr: not needed here. The stream, not fd 2,
	 * which the sanitizers' reports still reach. */
	if (!quiet && (quiet = fopen("/dev/null", "w")))
		stderr = quiet;
	if (size > 4096)
		return 0;
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	if (cli_parse_u64(s, "-c", &v) == 0) {
		if (s[0] < '0' || s[0] > '9')
			abort(); /* only digits may start a number */
	} else if (v != 0x5a5a) {
		abort();
	}
	v = 0x5a5a;
	if (cli_parse_u64_range(s, "-n", 1, 64, NULL, &v) == 0) {
		if (v < 1 || v > 64)
			abort();
	} else if (v != 0x5a5a) {
		abort();
	}
	if (cli_parse_duration_ms(s, "-d", &ms) == 0) {
		if (ms > 100ull * 366 * 24 * 3600 * 1000)
			abort();
	} else if (ms != 0x5a5a) {
		abort();
	}
	n = cli_parse_cpu_order(s, "-g", cpus, 64);
	if (n > 0) {
		long ncpu = sysconf(_SC_NPROCESSORS_CONF);

		for (int i = 0; i < n && i < 64; i++) {
			if (cpus[i] < 0 || cpus[i] >= ncpu)
				abort();
			for (int k = 0; k < i; k++)
				if (cpus[k] == cpus[i])
					abort(); /* a CPU named twice is rejected */
		}
	} else if (n == 0) {
		abort(); /* an empty list is an error, not zero CPUs */
	}
	if (mqcap_rss_key_parse(s, key) == 0) {
		char hex[2 * MQCAP_RSS_KEY_LEN + 1];
		uint8_t again[MQCAP_RSS_KEY_LEN];

		mqcap_rss_key_format(key, hex, sizeof(hex));
		if (mqcap_rss_key_parse(hex, again) || memcmp(key, again, sizeof(key)))
			abort(); /* what is printed parses back to the same key */
	}
	if (mqcap_rss_table_parse(s, table) == 0) {
		uint16_t again[MQCAP_RSS_TABLE_SIZE];

		if (mqcap_rss_table_format(table, back, sizeof(back)) ||
		    mqcap_rss_table_parse(back, again) || memcmp(table, again, sizeof(again)))
			abort();
	}
	free(s);
	return 0;
}
