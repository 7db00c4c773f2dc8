/* SPDX-License-Identifier: BSD-2-Clause */
#include <string.h>

#include "pcapng.h"

#define BT_SHB 0x0A0D0D0Au
#define BT_IDB 0x00000001u
#define BT_ISB 0x00000005u
#define BT_EPB 0x00000006u

#define OPT_END          0
#define OPT_SHB_USERAPPL 4
#define OPT_IF_NAME      2
#define OPT_IF_TSRESOL   9
#define OPT_EPB_QUEUE    6
#define OPT_ISB_START    2
#define OPT_ISB_END      3
#define OPT_ISB_IFRECV   4
#define OPT_ISB_IFDROP   5
#define OPT_ISB_OSDROP   7
#define OPT_ISB_USRDELIV 8

static size_t put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
	return 4;
}

static size_t put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
	return 2;
}

/* An option: code, length, value padded to 32 bits. */
static size_t opt(uint8_t *p, uint16_t code, const void *v, uint16_t len)
{
	size_t pad = ((size_t)len + 3) & ~(size_t)3;

	put16(p, code);
	put16(p + 2, len);
	if (len)
		memcpy(p + 4, v, len);
	memset(p + 4 + len, 0, pad - len);
	return 4 + pad;
}

/* pcapng writes 64-bit timestamps as high word then low word. */
static size_t ts_opt(uint8_t *p, uint16_t code, uint64_t ns)
{
	uint32_t v[2] = { (uint32_t)(ns >> 32), (uint32_t)ns };

	return opt(p, code, v, 8);
}

static size_t u64_opt(uint8_t *p, uint16_t code, uint64_t v)
{
	return opt(p, code, &v, 8);
}

/* Write the total length at both ends of a block of n bytes. */
static size_t close_block(uint8_t *out, size_t n)
{
	n += 4;
	put32(out + 4, (uint32_t)n);
	put32(out + n - 4, (uint32_t)n);
	return n;
}

size_t pcapng_shb(uint8_t *out)
{
	static const char app[] = "mqdump (mqcap)";
	size_t n = 8;
	uint64_t section_len = UINT64_MAX; /* unknown: files grow while written */

	put32(out, BT_SHB);
	n += put32(out + n, 0x1A2B3C4Du);
	n += put16(out + n, 1);
	n += put16(out + n, 0);
	memcpy(out + n, &section_len, 8);
	n += 8;
	n += opt(out + n, OPT_SHB_USERAPPL, app, sizeof(app) - 1);
	n += opt(out + n, OPT_END, NULL, 0);
	return close_block(out, n);
}

size_t pcapng_idb(uint8_t *out, uint32_t snaplen, const char *name)
{
	uint8_t tsresol = 9; /* 10^-9 s */
	size_t nl = strnlen(name, 32);
	size_t n = 8;

	put32(out, BT_IDB);
	n += put16(out + n, 1); /* LINKTYPE_ETHERNET */
	n += put16(out + n, 0);
	n += put32(out + n, snaplen);
	n += opt(out + n, OPT_IF_NAME, name, (uint16_t)nl);
	n += opt(out + n, OPT_IF_TSRESOL, &tsresol, 1);
	n += opt(out + n, OPT_END, NULL, 0);
	return close_block(out, n);
}

size_t pcapng_epb(uint8_t *out, uint32_t ifid, uint64_t ts_ns, const uint8_t *data, uint32_t caplen,
		  uint32_t len, uint32_t queue)
{
	size_t pad = (((size_t)caplen + 3) & ~(size_t)3) - caplen;
	size_t n = 8;

	put32(out, BT_EPB);
	n += put32(out + n, ifid);
	n += put32(out + n, (uint32_t)(ts_ns >> 32));
	n += put32(out + n, (uint32_t)ts_ns);
	n += put32(out + n, caplen);
	n += put32(out + n, len);
	memcpy(out + n, data, caplen);
	memset(out + n + caplen, 0, pad);
	n += caplen + pad;
	n += opt(out + n, OPT_EPB_QUEUE, &queue, 4);
	n += opt(out + n, OPT_END, NULL, 0);
	return close_block(out, n);
}

size_t pcapng_isb(uint8_t *out, uint32_t ifid, const struct pcapng_isb *s)
{
	size_t n = 8;

	put32(out, BT_ISB);
	n += put32(out + n, ifid);
	n += put32(out + n, (uint32_t)(s->ts_ns >> 32));
	n += put32(out + n, (uint32_t)s->ts_ns);
	n += ts_opt(out + n, OPT_ISB_START, s->start_ns);
	n += ts_opt(out + n, OPT_ISB_END, s->end_ns);
	n += u64_opt(out + n, OPT_ISB_IFRECV, s->ifrecv);
	n += u64_opt(out + n, OPT_ISB_IFDROP, s->ifdrop);
	n += u64_opt(out + n, OPT_ISB_OSDROP, s->osdrop);
	n += u64_opt(out + n, OPT_ISB_USRDELIV, s->usrdeliv);
	n += opt(out + n, OPT_END, NULL, 0);
	return close_block(out, n);
}
