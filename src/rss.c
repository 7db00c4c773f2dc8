/* SPDX-License-Identifier: BSD-2-Clause */
/* rss.c - the user-space half of rss.h: indirection tables, key and table text forms. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqcap/rss.h"

int mqcap_rss_table_fill(uint16_t *table, unsigned queues, const unsigned *weights,
			 unsigned nweights)
{
	unsigned long long sum = 0, partial = 0;
	unsigned i;
	int q = -1;

	if (queues == 0 || queues > MQCAP_RSS_MAX_QUEUES || nweights > queues)
		return -EINVAL;
	if (!weights || nweights == 0) {
		for (i = 0; i < MQCAP_RSS_TABLE_SIZE; i++)
			table[i] = (uint16_t)(i % queues);
		return 0;
	}
	for (i = 0; i < nweights; i++)
		sum += weights[i];
	if (sum == 0)
		return -EINVAL;
	/* Entry i belongs to the first queue whose cumulative share passes i: contiguous runs,
	 * each within one entry of size * weight / sum (ethtool's weight algorithm), so users
	 * who know `ethtool -X weight` get the table they expect. */
	for (i = 0; i < MQCAP_RSS_TABLE_SIZE; i++) {
		while ((unsigned long long)i * sum >= (unsigned long long)MQCAP_RSS_TABLE_SIZE * partial) {
			q++;
			partial += weights[q];
		}
		table[i] = (uint16_t)q;
	}
	return 0;
}

uint16_t mqcap_rss_frame_queue(const uint8_t *key, const uint16_t *table, const uint8_t *frame,
			       size_t len, uint32_t *hash)
{
	uint8_t in[MQCAP_RSS_INPUT_MAX];
	int n = mqcap_rss_input_frame(frame, frame + len, in);
	uint32_t h;

	if (n <= 0) {
		if (hash)
			*hash = 0;
		return 0;
	}
	h = mqcap_rss_toeplitz(key, in, (unsigned)n);
	if (hash)
		*hash = h;
	return mqcap_rss_queue(table, h);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int mqcap_rss_key_parse(const char *s, uint8_t *key)
{
	uint8_t tmp[MQCAP_RSS_KEY_LEN];
	unsigned i;

	if (!s)
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	for (i = 0; i < MQCAP_RSS_KEY_LEN; i++) {
		int hi, lo;

		if (i > 0 && *s == ':')
			s++;
		hi = hexval(s[0]);
		lo = hi < 0 ? -1 : hexval(s[1]);
		if (lo < 0)
			return -EINVAL;
		tmp[i] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	if (*s)
		return -EINVAL;
	memcpy(key, tmp, sizeof(tmp));
	return 0;
}

char *mqcap_rss_key_format(const uint8_t *key, char *buf, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	unsigned i;

	if (len < 2 * MQCAP_RSS_KEY_LEN + 1) {
		if (len)
			buf[0] = '\0';
		return buf;
	}
	for (i = 0; i < MQCAP_RSS_KEY_LEN; i++) {
		buf[2 * i] = digits[key[i] >> 4];
		buf[2 * i + 1] = digits[key[i] & 15];
	}
	buf[2 * MQCAP_RSS_KEY_LEN] = '\0';
	return buf;
}

int mqcap_rss_table_parse(const char *s, uint16_t *table)
{
	uint16_t tmp[MQCAP_RSS_TABLE_SIZE];
	unsigned i;

	if (!s)
		return -EINVAL;
	for (i = 0; i < MQCAP_RSS_TABLE_SIZE; i++) {
		char *end;
		unsigned long v;

		if (*s < '0' || *s > '9')
			return -EINVAL;
		errno = 0;
		v = strtoul(s, &end, 10);
		if (errno || v >= MQCAP_RSS_MAX_QUEUES)
			return -EINVAL;
		tmp[i] = (uint16_t)v;
		s = end;
		if (i + 1 < MQCAP_RSS_TABLE_SIZE) {
			if (*s != ',')
				return -EINVAL;
			s++;
		}
	}
	if (*s)
		return -EINVAL;
	memcpy(table, tmp, sizeof(tmp));
	return 0;
}

int mqcap_rss_table_format(const uint16_t *table, char *buf, size_t len)
{
	size_t off = 0;
	unsigned i;

	for (i = 0; i < MQCAP_RSS_TABLE_SIZE; i++) {
		int n = snprintf(buf + off, len - off, i ? ",%u" : "%u", table[i]);

		if (n < 0 || (size_t)n >= len - off)
			return -ENOSPC;
		off += (size_t)n;
	}
	return 0;
}
