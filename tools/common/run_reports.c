/* SPDX-License-Identifier: BSD-2-Clause */
/* run_reports.c - a run's link reports and warnings, each printed once (run_reports.h). */
#include "run_reports.h"

#include "cli.h"

void run_reports_print(const mqcap_run_t *run, struct run_reports *seen)
{
	char msg[512];
	unsigned n;

	/* a device went down: the capture goes on and resumes when it is up again */
	n = mqcap_run_link_reports(run, msg, sizeof(msg));
	if (n == seen->links + 1)
		cli_warn("%s; the capture goes on", msg);
	else if (n != seen->links)
		cli_warn("%u link reports, the last: %s; the capture goes on", n - seen->links, msg);
	seen->links = n;

	/* e.g. a selected queue that receives nothing while the device's others do */
	n = mqcap_run_warnings(run, msg, sizeof(msg));
	if (n == seen->warnings + 1)
		cli_warn("warning: %s", msg);
	else if (n != seen->warnings)
		cli_warn("%u warnings, the last: %s", n - seen->warnings, msg);
	seen->warnings = n;
}
