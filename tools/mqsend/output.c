/* SPDX-License-Identifier: BSD-2-Clause */
/* output.c - the live line once a second (stderr) and the final summary (stdout), as text or
 * as one JSON object for scripts. */
#include <errno.h>
#include <stdio.h>

#include "cli.h"
#include "json.h"
#include "mqsend.h"

static const char *mode_name(enum mqs_mode m)
{
	switch (m) {
	case MQS_MODE_BYPASS:
		return "bypass";
	case MQS_MODE_QDISC:
		return "qdisc";
	default:
		return "xdp";
	}
}

void mqs_print_live(const struct mqs_opts *o, double secs, uint64_t dpkts, uint64_t dbytes,
		    uint64_t errors)
{
	char r1[32], r2[32];

	if (o->quiet || o->json)
		return;
	fprintf(stderr, "%s: %s  %s  errors %llu\n", program_invocation_short_name,
		cli_fmt_rate(dpkts / secs, "pps", r1, sizeof(r1)),
		cli_fmt_rate(dbytes * 8.0 / secs, "bps", r2, sizeof(r2)), (unsigned long long)errors);
}

void mqs_print_summary(const struct mqs_opts *o, struct mqs_thread *th, unsigned n, double secs,
		       uint64_t tx_dropped, bool come_back)
{
	uint64_t pk = 0, by = 0, er = 0, re = 0, dev_drops;
	char r1[32], r2[32];

	for (unsigned i = 0; i < n; i++) {
		pk += atomic_load_explicit(&th[i].st.packets, memory_order_relaxed);
		by += atomic_load_explicit(&th[i].st.bytes, memory_order_relaxed);
		er += atomic_load_explicit(&th[i].st.errors, memory_order_relaxed);
		re += atomic_load_explicit(&th[i].st.retried, memory_order_relaxed);
	}
	dev_drops = mqs_dev_drops(come_back, tx_dropped, re);
	if (secs <= 0)
		secs = 1e-9;
	if (o->json) {
		struct json j;

		json_doc_begin(&j, stdout, "mqsend", "summary");
		json_kv_str(&j, "device", o->dev);
		json_kv_str(&j, "mode", mode_name(o->mode));
		json_kv_u64(&j, "packets", pk);
		json_kv_u64(&j, "bytes", by);
		json_kv_u64(&j, "errors", er);
		json_kv_u64(&j, "device_tx_dropped", dev_drops);
		json_kv_u64(&j, "retried", re);
		json_kv_double(&j, "seconds", secs, 6);
		json_kv_double(&j, "pps", pk / secs, 1);
		json_kv_double(&j, "bps", by * 8.0 / secs, 1);
		json_key(&j, "threads");
		json_arr_open(&j);
		for (unsigned i = 0; i < n; i++) {
			json_obj_open(&j);
			json_kv_u64(&j, "thread", i);
			json_kv_i64(&j, "cpu", th[i].cpu);
			json_kv_u64(&j, "packets", atomic_load(&th[i].st.packets));
			json_kv_u64(&j, "bytes", atomic_load(&th[i].st.bytes));
			json_kv_u64(&j, "errors", atomic_load(&th[i].st.errors));
			json_obj_close(&j);
		}
		json_arr_close(&j);
		json_obj_close(&j);
		json_end(&j);
		return;
	}
	printf("sent %llu packets, %llu bytes in %.3f s: %s, %s; errors %llu, device tx drops %llu (%s, %u thread%s)\n",
	       (unsigned long long)pk, (unsigned long long)by, secs,
	       cli_fmt_rate(pk / secs, "pps", r1, sizeof(r1)),
	       cli_fmt_rate(by * 8.0 / secs, "bps", r2, sizeof(r2)), (unsigned long long)er,
	       (unsigned long long)dev_drops, mode_name(o->mode), n, n == 1 ? "" : "s");
	if (re)
		printf("retried %llu frames the kernel refused for a moment (back pressure; each was "
		       "sent again)\n", (unsigned long long)re);
}
