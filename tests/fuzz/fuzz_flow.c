/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_flow - the scheduler's flow hash and frame.h's tunnel walker on arbitrary bytes: no
 * read outside the frame (copied to a buffer of exactly its size), a tunnel's inner offset
 * inside the frame, and the hash a pure function of the bytes (same input, same hash). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mqcap/balance.h"
#include "mqcap/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	struct mqcap_frame f;
	uint32_t off = 0;
	uint16_t type = 0;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	mqcap_frame_parse(buf, buf + size, &f);
	if (mqcap_frame_tunnel(buf, buf + size, &f, &off, &type) != MQCAP_FRAME_TUN_NONE) {
		if (off > size || (type != 0 && type != 0x0800 && type != 0x86dd))
			abort();
		mqcap_frame_parse_l3(buf, buf + size, off, type ? type : 0x0800, &f);
	}
	if (mqcap_flow_hash(buf, (uint32_t)size, MQCAP_FLOW_F_INNER) !=
	    mqcap_flow_hash(buf, (uint32_t)size, MQCAP_FLOW_F_INNER))
		abort();
	(void)mqcap_flow_hash(buf, (uint32_t)size, 0);
	free(buf);
	return 0;
}
