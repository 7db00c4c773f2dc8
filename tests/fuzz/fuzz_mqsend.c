/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_mqsend - mqsend's command line on arbitrary bytes: the input is split at NUL bytes
 * into arguments, parsed by mqs_opts_parse() (flow specs --src/--dst ranges, ports, sizes
 * N / LO-HI / imix, VLANs, RSS key and table, counts, durations, CPU lists), and when it is
 * accepted the flows and sizes are built and a few frames generated: each must parse with
 * the shared frame parser (frame.h) as an L4 frame whose payload passes its check. A
 * rejection must not happen halfway: mqs_opts_parse() ends with exit(2), which here returns
 * to the target through longjmp.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqcap/frame.h"
#include "mqcap/payload.h"

static jmp_buf fuzz_env;
static FILE *fuzz_null;

static _Noreturn void fuzz_exit(int status)
{
	(void)status;
	longjmp(fuzz_env, 1);
}

/* options.c, with its exit() and its own messages diverted. */
#define exit(s) fuzz_exit(s)
#undef stderr
#undef stdout
#define stderr fuzz_null
#define stdout fuzz_null
#define MQCAP_VERSION "fuzz"
#include "../../tools/mqsend/options.c"
#undef exit
#undef stderr
#undef stdout
#define stderr stderr /* as <stdio.h> has them */
#define stdout stdout
#include "../../tools/mqsend/flows.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXARGS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mqs_opts o;
	static uint16_t sizes[MQS_SIZES];
	static uint8_t frame[MQS_FRAME_MAX];
	char *buf, *argv[MAXARGS + 2];
	volatile int argc = 1;
	struct mqs_tmpl *tmpl = NULL;
	double flows;
	uint32_t n;

	if (!fuzz_null) {
		fuzz_null = fopen("/dev/null", "w");
		if (!fuzz_null)
			return 0;
		/* The shared parsers (cli.c) explain rejections on stderr too: the stream goes,
		 * fd 2 stays for the sanitizers' reports. */
		stderr = fuzz_null;
		mqs_filler_init();
	}
	if (size > 4096)
		return 0;
	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[0] = (char *)"mqsend";
	for (size_t i = 0; i <= size && argc <= MAXARGS; ) {
		argv[argc++] = buf + i;
		i += strlen(buf + i) + 1;
	}
	argv[argc] = NULL;
	optind = 0; /* glibc: start a fresh getopt scan */
	opterr = 0;
	if (setjmp(fuzz_env)) {
		free(buf);
		return 0; /* rejected (or --help / --version): nothing else to check */
	}
	mqs_opts_parse(argc, argv, &o);
	/* Accepted: what main() would check against the device comes next; use a 1500 MTU. */
	o.mtu = 1500;
	if (o.size_lo > o.size_hi || (!o.imix && o.size_hi > MQS_FRAME_MAX + MQS_FCS) ||
	    o.sport_lo > o.sport_hi || o.dport_lo > o.dport_hi || o.nvlan > 2 || !o.threads)
		abort();
	flows = (double)range_count(&o.src) * (double)range_count(&o.dst) *
		(o.sport_hi - o.sport_lo + 1) * (o.dport_hi - o.dport_lo + 1);
	/* More than MQS_MAX_FLOWS must be refused (before any allocation); up to 2^20 are
	 * allowed, but building that many per input would make the fuzzer slow, and the code
	 * is the same for 4096. */
	if (flows > MQS_MAX_FLOWS && !o.file && mqs_flows_build(&o, &tmpl, &n) != -E2BIG)
		abort();
	if (o.file || flows > 4096 || mqs_flows_build(&o, &tmpl, &n)) {
		free(buf);
		return 0;
	}
	if (!n || n > MQS_MAX_FLOWS)
		abort();
	mqs_sizes_build(&o, sizes);
	{
		uint32_t flows[8];
		uint64_t seq[8] = { 0 };
		struct mqs_gen g = { 0 };
		unsigned nf = n < 8 ? n : 8;

		for (unsigned i = 0; i < nf; i++)
			flows[i] = i;
		g.o = &o;
		g.tmpl = tmpl;
		g.flows = flows;
		g.nflows = nf;
		g.seq = seq;
		g.sizes = sizes;
		for (unsigned k = 0; k < 16; k++) {
			struct mqcap_frame f;
			unsigned sock, len = mqs_gen_next(&g, frame, &sock);

			if (len < mqs_hdr_len(&o) + MQCAP_PAYLOAD_MIN_LEN || len > sizeof(frame))
				abort();
			if (mqcap_frame_parse(frame, frame + len, &f) != MQCAP_FRAME_L4 ||
			    f.l4_proto != o.proto || f.vlans != o.nvlan ||
			    !mqcap_payload_check_ok(frame + f.payload_off, f.payload_len))
				abort(); /* mqsend built a frame its receivers cannot verify */
		}
	}
	free(tmpl);
	free(buf);
	return 0;
}
