/* SPDX-License-Identifier: BSD-2-Clause */
/* metrics_cli.c - see metrics_cli.h. */
#include "cli.h"
#include "metrics_cli.h"

int metrics_cli_start(struct metrics_cli *mc, mqcap_run_t *run, unsigned interval_ms,
		      mqcap_metrics_drops_fn write_drops, void *user)
{
	MQCAP_METRICS_OPTS(o, .listen = mc->listen, .file = mc->file, .interval_ms = interval_ms,
			   .write_drops = write_drops, .user = user);

	if (!mc->file && !mc->listen)
		return 0;
	if (mc->after_drop && mc->file && !mc->run) {
		mc->run = run;
		mc->interval_ms = interval_ms;
		mc->write_drops = write_drops;
		mc->user = user;
		return 0;
	}
	mc->m = mqcap_metrics_start(run, &o);
	if (!mc->m) {
		cli_warn("%s", mqcap_last_error());
		return -1;
	}
	return 0;
}

int metrics_cli_started(struct metrics_cli *mc)
{
	if (!mc->m && mc->run)
		return metrics_cli_start(mc, mc->run, mc->interval_ms, mc->write_drops, mc->user);
	if (mc->m && mqcap_metrics_update(mc->m))
		cli_warn("%s", mqcap_metrics_errmsg(mc->m));
	return 0;
}

int metrics_cli_finish(struct metrics_cli *mc)
{
	int rc = 0;

	if (!mc->m)
		return 0;
	if (mqcap_metrics_update(mc->m)) {
		cli_warn("%s", mqcap_metrics_errmsg(mc->m));
		rc = -1;
	}
	mqcap_metrics_stop(mc->m);
	mc->m = NULL;
	return rc;
}
