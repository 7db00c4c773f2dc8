/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * queue_probe - prints what queues.h says about DEV, one line per RX queue, for
 * test_queues.sh:  queue_probe [-p] [-t Q on|off] DEV
 *   -p         force the /proc and sysfs fallback (MQCAP_QUEUES_F_NO_NETLINK)
 *   -t Q on    switch queue Q to threaded polling first (netlink napi-set)
 * Output: "count N" then "queue Q napi ID pid PID irq IRQ cpu CPU source SRC irq_source SRC".
 * Exit 0, 1 on error (message on stderr), 3 when -t says the kernel cannot (EOPNOTSUPP).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mqcap/mqcap.h"
#include "mqcap/queues.h"

int main(int argc, char **argv)
{
	uint32_t flags = 0;
	int opt, n, tq = -1;
	bool ton = false;
	struct mqcap_queue_poller *qp;

	while ((opt = getopt(argc, argv, "pt:")) != -1) {
		if (opt == 'p') {
			flags |= MQCAP_QUEUES_F_NO_NETLINK;
		} else if (opt == 't' && optind < argc) {
			tq = atoi(optarg);
			ton = !strcmp(argv[optind++], "on");
		} else {
			fprintf(stderr, "usage: queue_probe [-p] [-t Q on|off] DEV\n");
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: queue_probe [-p] [-t Q on|off] DEV\n");
		return 2;
	}
	if (tq >= 0) {
		int rc = mqcap_queue_set_threaded(argv[optind], (unsigned)tq, ton);

		if (rc) {
			fprintf(stderr, "queue_probe: %s\n", mqcap_last_error());
			return rc == -EOPNOTSUPP ? 3 : 1;
		}
	}
	n = mqcap_queue_pollers(argv[optind], flags, NULL, 0);
	if (n < 0) {
		fprintf(stderr, "queue_probe: %s\n", mqcap_last_error());
		return 1;
	}
	printf("count %d %d\n", n, mqcap_dev_rx_queues(argv[optind], flags));
	qp = calloc((size_t)n + 1, sizeof(*qp));
	if (!qp)
		return 1;
	n = mqcap_queue_pollers(argv[optind], flags, qp, (unsigned)n);
	for (int q = 0; q < n; q++)
		printf("queue %u napi %u pid %d irq %d cpu %d source %s irq_source %s\n", qp[q].queue,
		       qp[q].napi_id, qp[q].pid, qp[q].irq, qp[q].cpu, mqcap_qsrc_name(qp[q].source),
		       mqcap_qsrc_name(qp[q].irq_source));
	free(qp);
	return n < 0;
}
