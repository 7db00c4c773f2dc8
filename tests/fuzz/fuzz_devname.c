/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_devname - the capture-name parser on arbitrary bytes: no crash, no overrun, and what
 * it accepts is well formed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devname_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mqcap__capname cn;
	struct mqcap__err e = { "" };
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (mqcap__capname_parse(s, &cn, &e) == 0) {
		if (cn.backend == MQCAP_BACKEND_PCAP) {
			if (!cn.path[0] || cn.ndevs)
				abort();
		} else {
			if (cn.ndevs == 0 || cn.ndevs > MQCAP__MAX_DEVS)
				abort();
			for (unsigned i = 0; i < cn.ndevs; i++) {
				const struct mqcap__devspec *d = &cn.devs[i];
				unsigned bits = 0;
				size_t l = strnlen(d->name, sizeof(d->name));

				if (l == 0 || l >= sizeof(d->name) || strpbrk(d->name, "@,:/"))
					abort();
				for (unsigned w = 0; w < MQCAP__QMASK_WORDS; w++)
					bits += (unsigned)__builtin_popcountll(d->qmask[w]);
				if (d->all_queues ? bits != 0 : (bits == 0 || bits != d->nqueues))
					abort();
			}
		}
	} else if (!e.msg[0] || strlen(e.msg) >= sizeof(e.msg)) {
		abort(); /* every rejection says why */
	}
	free(s);
	return 0;
}
