/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * napi_pin - exercise include/mqcap/napi.h from a test: list a device's NAPI threads and,
 * given CPUs, pin them (queue i -> i-th CPU, cycling), then list again.
 *
 *   ip netns exec NS napi_pin DEV [--enable] [CPU,CPU,...]
 *
 * Prints one line per thread: "queue Q napi_id ID pid PID last_cpu C allowed A,B,...".
 * Exit 0 on success, 1 with the library's message on failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqcap/mqcap.h"
#include "mqcap/napi.h"

static int list(const char *dev)
{
	struct mqcap_napi_thread t[64];
	int n = mqcap_napi_list(dev, t, 64), i, c;

	if (n < 0) {
		fprintf(stderr, "napi_pin: %s\n", mqcap_last_error());
		return 1;
	}
	printf("threaded %d threads %d\n", mqcap_napi_threaded(dev), n);
	for (i = 0; i < n && i < 64; i++) {
		const char *sep = "";

		printf("queue %u napi_id %u pid %d last_cpu %d allowed ", t[i].queue, t[i].napi_id,
		       t[i].pid, t[i].last_cpu);
		for (c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &t[i].allowed)) {
				printf("%s%d", sep, c);
				sep = ",";
			}
		printf("\n");
	}
	return 0;
}

int main(int argc, char **argv)
{
	int cpus[64], n = 0, a = 2, r;

	if (argc < 2) {
		fprintf(stderr, "usage: napi_pin DEV [--enable] [CPU,...]\n");
		return 2;
	}
	if (argc > a && !strcmp(argv[a], "--enable")) {
		if (mqcap_napi_set_threaded(argv[1], true)) {
			fprintf(stderr, "napi_pin: %s\n", mqcap_last_error());
			return 1;
		}
		a++;
	}
	if (argc > a) {
		char *s = argv[a], *tok;

		for (tok = strtok(s, ","); tok && n < 64; tok = strtok(NULL, ","))
			cpus[n++] = atoi(tok);
		r = mqcap_napi_pin_queues(argv[1], cpus, (unsigned)n);
		if (r < 0) {
			fprintf(stderr, "napi_pin: %s\n", mqcap_last_error());
			return 1;
		}
		printf("pinned %d\n", r);
	}
	return list(argv[1]);
}
