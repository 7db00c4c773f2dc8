/* SPDX-License-Identifier: BSD-2-Clause */
/* devname.c - parse a capture name ("packet:eth1@0-3,eth2") into devices and queue sets.
 * Pure string work: whether the devices and queues exist is iface.c's business. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "devname_int.h"

struct parser {
	const char *name;       /* the whole input, quoted in every message */
	const char *p;          /* cursor */
	struct mqcap__err *e;
};

/* "after '@'" / "after ','" / "after '3-'": names the spot where a number was expected. */
static const char *describe_prev(struct parser *ps, char *buf, size_t len)
{
	const char *start = ps->p;

	if (start == ps->name)
		return "at the start";
	if (start[-1] == '-') {
		const char *q = start - 1;

		while (q > ps->name && isdigit((unsigned char)q[-1]))
			q--;
		snprintf(buf, len, "after '%.*s'", (int)(start - q), q);
	} else {
		snprintf(buf, len, "after '%c'", start[-1]);
	}
	return buf;
}

static int parse_num(struct parser *ps, unsigned *out)
{
	unsigned long v = 0;
	char where[32];

	if (!isdigit((unsigned char)*ps->p)) {
		describe_prev(ps, where, sizeof(where));
		if (*ps->p == '\0' || *ps->p == ',')
			return mqcap__err_set(ps->e, EINVAL, "%s: missing queue number %s",
					      ps->name, where);
		return mqcap__err_set(ps->e, EINVAL, "%s: expected a queue number %s, found '%c'",
				      ps->name, where, *ps->p);
	}
	while (isdigit((unsigned char)*ps->p)) {
		v = v * 10 + (unsigned long)(*ps->p - '0');
		if (v > MQCAP__MAX_QUEUE)
			return mqcap__err_set(ps->e, EINVAL,
					      "%s: queue number too large (at most %d)",
					      ps->name, MQCAP__MAX_QUEUE);
		ps->p++;
	}
	*out = (unsigned)v;
	return 0;
}

static int add_queue(struct parser *ps, struct mqcap__devspec *d, unsigned q)
{
	uint64_t bit = 1ull << (q % 64);

	if (d->qmask[q / 64] & bit)
		return mqcap__err_set(ps->e, EINVAL, "%s: queue %u of %s selected twice",
				      ps->name, q, d->name);
	d->qmask[q / 64] |= bit;
	d->nqueues++;
	return 0;
}

/* qlist after '@'. Stops at the end or at a ',' that starts the next device. */
static int parse_qlist(struct parser *ps, struct mqcap__devspec *d)
{
	for (;;) {
		unsigned lo, hi;
		int err = parse_num(ps, &lo);

		if (err)
			return err;
		hi = lo;
		if (*ps->p == '-') {
			ps->p++;
			err = parse_num(ps, &hi);
			if (err)
				return err;
			if (hi < lo)
				return mqcap__err_set(ps->e, EINVAL,
						      "%s: range end %u below start %u",
						      ps->name, hi, lo);
		}
		for (unsigned q = lo; q <= hi; q++) {
			err = add_queue(ps, d, q);
			if (err)
				return err;
		}
		if (*ps->p == '\0')
			return 0;
		if (*ps->p != ',') {
			if (*ps->p == '@')
				return mqcap__err_set(ps->e, EINVAL, "%s: a second '@' after the queues of %s",
						      ps->name, d->name);
			return mqcap__err_set(ps->e, EINVAL,
					      "%s: unexpected '%c' in the queue list of %s",
					      ps->name, *ps->p, d->name);
		}
		/* the ambiguity of ',': a digit continues the queue list, anything else
		 * (or nothing) is the next device, handled by the caller */
		if (!isdigit((unsigned char)ps->p[1]))
			return 0;
		ps->p++;
	}
}

static int parse_dev(struct parser *ps, struct mqcap__capname *out)
{
	struct mqcap__devspec *d;
	const char *start = ps->p;
	size_t len;

	while (*ps->p && *ps->p != '@' && *ps->p != ',') {
		unsigned char c = (unsigned char)*ps->p;

		if (c == '/' || isspace(c) || !isprint(c))
			return mqcap__err_set(ps->e, EINVAL,
					      "%s: character 0x%02x is not allowed in a device name",
					      ps->name, c);
		ps->p++;
	}
	len = (size_t)(ps->p - start);
	if (len == 0) {
		if (*ps->p == '@')
			return mqcap__err_set(ps->e, EINVAL, "%s: missing device name before '@'",
					      ps->name);
		return mqcap__err_set(ps->e, EINVAL, "%s: empty device name at offset %zu",
				      ps->name, (size_t)(start - ps->name));
	}
	if (len >= IF_NAMESIZE)
		return mqcap__err_set(ps->e, EINVAL,
				      "%s: device name '%.*s' is longer than %d characters",
				      ps->name, (int)len, start, IF_NAMESIZE - 1);
	if ((len == 1 && start[0] == '.') || (len == 2 && start[0] == '.' && start[1] == '.'))
		return mqcap__err_set(ps->e, EINVAL, "%s: '%.*s' is not a device name",
				      ps->name, (int)len, start);
	for (unsigned i = 0; i < out->ndevs; i++)
		if (strlen(out->devs[i].name) == len && !memcmp(out->devs[i].name, start, len))
			return mqcap__err_set(ps->e, EINVAL,
					      "%s: device %.*s named twice (list its queues once: "
					      "%.*s@0,1)", ps->name, (int)len, start, (int)len, start);
	if (out->ndevs == MQCAP__MAX_DEVS)
		return mqcap__err_set(ps->e, EINVAL, "%s: more than %d devices",
				      ps->name, MQCAP__MAX_DEVS);
	d = &out->devs[out->ndevs++];
	memcpy(d->name, start, len);
	d->name[len] = '\0';
	if (*ps->p != '@') {
		d->all_queues = true;
		return 0;
	}
	ps->p++;
	return parse_qlist(ps, d);
}

int mqcap__capname_file(const char *path, struct mqcap__capname *out, struct mqcap__err *e)
{
	memset(out, 0, sizeof(*out));
	if (strlen(path) >= sizeof(out->path))
		return mqcap__err_set(e, ENAMETOOLONG, "pcap: file name too long");
	out->backend = MQCAP_BACKEND_PCAP;
	strcpy(out->path, path);
	return 0;
}

int mqcap__capname_parse(const char *name, struct mqcap__capname *out, struct mqcap__err *e)
{
	struct parser ps = { .name = name, .p = name, .e = e };
	const char *colon;

	memset(out, 0, sizeof(*out));
	if (!name || !*name)
		return mqcap__err_set(e, EINVAL, "empty capture name");

	colon = strchr(name, ':');
	if (colon) {
		size_t plen = (size_t)(colon - name);

		if (plen == 4 && !memcmp(name, "pcap", 4)) {
			if (!colon[1])
				return mqcap__err_set(e, EINVAL, "%s: missing file name after 'pcap:'",
						      name);
			return mqcap__capname_file(colon + 1, out, e);
		}
		if (plen == 6 && !memcmp(name, "packet", 6))
			out->backend = MQCAP_BACKEND_PACKET;
		else if (plen == 3 && !memcmp(name, "xdp", 3))
			out->backend = MQCAP_BACKEND_XDP;
		else
			return mqcap__err_set(e, EINVAL,
					      "%s: unknown backend prefix '%.*s:' (known: packet:, "
					      "xdp:, pcap:FILE)", name, (int)plen, name);
		ps.p = colon + 1;
		if (strchr(ps.p, ':'))
			return mqcap__err_set(e, EINVAL, "%s: ':' after the backend prefix", name);
		if (!*ps.p)
			return mqcap__err_set(e, EINVAL, "%s: missing device name after '%.*s:'",
					      name, (int)plen, name);
	}

	for (;;) {
		int err = parse_dev(&ps, out);

		if (err) {
			memset(out, 0, sizeof(*out));
			return err;
		}
		if (*ps.p == '\0')
			return 0;
		/* parse_dev stops only at the end or at the ',' before the next device */
		ps.p++;
		if (*ps.p == '\0') {
			memset(out, 0, sizeof(*out));
			return mqcap__err_set(e, EINVAL, "%s: missing device name after ','", name);
		}
	}
}

unsigned mqcap__devspec_max_queue(const struct mqcap__devspec *d)
{
	for (int w = MQCAP__QMASK_WORDS - 1; w >= 0; w--)
		if (d->qmask[w])
			return (unsigned)w * 64 + 63 - (unsigned)__builtin_clzll(d->qmask[w]);
	return 0;
}
