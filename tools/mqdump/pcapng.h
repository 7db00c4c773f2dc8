/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pcapng.h - the few pcapng blocks mqdump writes (draft-ietf-opsawg-pcapng), encoded into
 * memory in host byte order (the Section Header's byte-order magic tells readers which):
 *   SHB  once per file;
 *   IDB  one per device in the file, linktype Ethernet, if_tsresol = 9 (nanoseconds);
 *   EPB  one per packet, with the RX queue in epb_queue;
 *   ISB  one per device when the file closes: the drop counters.
 * libpcap has no pcapng writer, so these are written here; tests read every block back with
 * libpcap, tshark and capinfos.
 */
#ifndef MQDUMP_PCAPNG_H
#define MQDUMP_PCAPNG_H

#include <stddef.h>
#include <stdint.h>

/* Bytes an EPB of caplen bytes takes (with its epb_queue option). */
static inline size_t pcapng_epb_size(uint32_t caplen)
{
	return 28 + (((size_t)caplen + 3) & ~(size_t)3) + 8 + 4 + 4;
}

/* Each writes its block at out (which has room: see the *_MAX sizes) and returns its length. */
#define PCAPNG_SHB_MAX 64
size_t pcapng_shb(uint8_t *out);
#define PCAPNG_IDB_MAX 96
size_t pcapng_idb(uint8_t *out, uint32_t snaplen, const char *name);
size_t pcapng_epb(uint8_t *out, uint32_t ifid, uint64_t ts_ns, const uint8_t *data, uint32_t caplen,
		  uint32_t len, uint32_t queue);

/* Counters of one interface for its ISB; times in nanoseconds since the epoch. */
struct pcapng_isb {
	uint64_t ts_ns, start_ns, end_ns;
	uint64_t ifrecv;  /* packets the kernel saw for the interface's queues in this file */
	uint64_t ifdrop;  /* dropped by the kernel (socket ring full, no free frame, ...) */
	uint64_t osdrop;  /* captured but not written by mqdump (write errors) */
	uint64_t usrdeliv;/* packets written to this file */
};
#define PCAPNG_ISB_MAX 128
size_t pcapng_isb(uint8_t *out, uint32_t ifid, const struct pcapng_isb *s);

#endif
