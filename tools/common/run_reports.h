/* SPDX-License-Identifier: BSD-2-Clause */
/* run_reports.h - what a capture run reports while it goes on (run.h: link reports, warnings),
 * printed on stderr once each, as it comes. Call from the tool's main loop. */
#ifndef MQCAP_TOOLS_RUN_REPORTS_H
#define MQCAP_TOOLS_RUN_REPORTS_H

#include "mqcap/run.h"

struct run_reports {
	unsigned links;     /* mqcap_run_link_reports() already printed */
	unsigned warnings;  /* mqcap_run_warnings() already printed */
};

/* Print the link reports and warnings that are new since the last call. */
void run_reports_print(const mqcap_run_t *run, struct run_reports *seen);

#endif
