/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_frame - the shared frame parser (include/mqcap/frame.h) and the RSS hash input built
 * on it, on arbitrary bytes: no read outside the frame (the input is copied to a buffer of
 * exactly its size), and what the parser reports is consistent: offsets in order and inside
 * the frame, the payload inside both the frame and the IP packet, the right layer named. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mqcap/frame.h"
#include "mqcap/rss.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1), in[MQCAP_RSS_INPUT_MAX];
	struct mqcap_frame f;
	int r, n;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	r = mqcap_frame_parse(buf, buf + size, &f);
	if (r == MQCAP_FRAME_NONE) {
		if (f.truncated != MQCAP_FRAME_L2 || f.ip_version)
			abort();
	} else if (f.l3_off < 14 || f.l3_off > size || f.vlans > MQCAP_FRAME_VLAN_MAX) {
		abort();
	}
	if (f.ip_version) {
		if (f.ip_version != 4 && f.ip_version != 6)
			abort();
		if (f.l3_off + (f.ip_version == 4 ? 20u : 40u) > size)
			abort();
		/* the addresses are inside the frame: read them (ASan checks) */
		volatile uint8_t x = mqcap_frame_saddr(buf, &f)[mqcap_frame_addr_len(&f) - 1] ^
				     mqcap_frame_daddr(buf, &f)[mqcap_frame_addr_len(&f) - 1];
		(void)x;
	} else if (r >= MQCAP_FRAME_L3) {
		abort();
	}
	if (f.l4_off && (f.l4_off < f.l3_off + 20 || f.l4_off > size))
		abort();
	if (r == MQCAP_FRAME_L4) {
		if (!(f.flags & MQCAP_FRAME_F_PORTS) || f.payload_off < f.l4_off + 8 ||
		    (uint64_t)f.payload_off + f.payload_len > size ||
		    f.payload_off + f.payload_len > f.ip_end || f.truncated || f.malformed)
			abort();
		/* touch the payload's last byte */
		if (f.payload_len) {
			volatile uint8_t y = buf[f.payload_off + f.payload_len - 1];
			(void)y;
		}
	} else if (f.payload_off || f.payload_len) {
		abort();
	}
	if (r < MQCAP_FRAME_L4 && r != MQCAP_FRAME_L3 && !f.truncated && !f.malformed &&
	    f.ip_version)
		abort(); /* an IP frame that stopped at L2 says why */
	n = mqcap_rss_input_frame(buf, buf + size, in);
	if (n != -1 && n != 0 && n != 8 && n != 12 && n != 32 && n != 36)
		abort();
	free(buf);
	return 0;
}
