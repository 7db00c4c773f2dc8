/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fork_probe - capture helper of tests/system/test_fork.sh: open a capture, fork, and let one
 * process go on reading, as daemons do.
 *
 *   fork_probe -m MODE -o FILE [-i IDLE_MS] [-T TOTAL_MS] NAME
 *
 * MODE, what happens right after mqcap_open():
 *   daemon  daemon(3): the parent exits at once, the child (a new session, cwd /, stdio on
 *           /dev/null) reads;
 *   child   fork(); the parent exits without closing the handle (as `if (fork()) exit(0)`;
 *           _exit, so that LeakSanitizer does not count the open handle), the child reads;
 *   parent  fork(); the child closes its copy of the handle (mqcap_close) and exits, the
 *           parent waits for it and reads.
 * The reading process writes "ready pid=N" to FILE.ready, then reads until IDLE_MS (default
 * 2000) pass without a packet after the first one, or TOTAL_MS (default 30000) in all, and
 * writes FILE (through FILE.tmp and a rename, so FILE appears complete):
 *   pid=N received=N payload_ok=N payload_bad=N other=N
 * payload_ok: frames carrying mqsend's verification payload intact (include/mqcap/payload.h);
 * payload_bad: a payload whose checksum fails (what a stale or foreign buffer gives);
 * other: frames without a payload (the sender's own IPv6 chatter).
 * An error opening or reading: "error ..." in FILE (or on stderr before the fork), exit 1.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mqcap/frame.h"
#include "mqcap/mqcap.h"
#include "mqcap/payload.h"

#define BURST 64

struct counts {
	uint64_t received, payload_ok, payload_bad, other;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void classify(const struct mqcap_pkt *pk, struct counts *n)
{
	struct mqcap_payload pl;
	struct mqcap_frame f;
	const uint8_t *l4;

	n->received++;
	if (mqcap_frame_parse(pk->data, pk->data + pk->caplen, &f) != MQCAP_FRAME_L4 ||
	    (f.l4_proto != 6 && f.l4_proto != 17) || (f.flags & MQCAP_FRAME_F_CUT) ||
	    !f.payload_len) {
		n->other++;
		return;
	}
	l4 = pk->data + f.payload_off;
	if (mqcap_payload_decode(l4, f.payload_len, &pl) == MQCAP_PAYLOAD_NONE)
		n->other++;
	else if (mqcap_payload_check_ok(l4, f.payload_len))
		n->payload_ok++;
	else
		n->payload_bad++;
}

/* Write FILE through FILE.tmp: the test polls for FILE. */
static void report(const char *file, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(const char *file, const char *fmt, ...)
{
	char tmp[4096];
	va_list ap;
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	f = fopen(tmp, "w");
	if (!f)
		return;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
	rename(tmp, file);
}

static int read_on(mqcap_t *c, const char *file, int idle_ms, int total_ms)
{
	struct mqcap_pkt pkts[BURST];
	struct counts n = { 0 };
	char ready[4096];
	uint64_t start = now_ms(), last = 0;

	snprintf(ready, sizeof(ready), "%s.ready", file);
	report(ready, "ready pid=%d\n", (int)getpid());
	for (;;) {
		uint64_t t = now_ms();
		int got;

		if (t - start >= (uint64_t)total_ms || (last && t - last >= (uint64_t)idle_ms))
			break;
		got = mqcap_recv_burst(c, pkts, BURST, 100);
		if (got < 0 && got != -ENETDOWN) {
			report(file, "error pid=%d recv: %s\n", (int)getpid(), mqcap_errmsg(c));
			return 1;
		}
		for (int i = 0; i < got; i++)
			classify(&pkts[i], &n);
		if (got > 0) {
			last = now_ms();
			mqcap_release(c);
		}
	}
	report(file, "pid=%d received=%llu payload_ok=%llu payload_bad=%llu other=%llu\n",
	       (int)getpid(), (unsigned long long)n.received, (unsigned long long)n.payload_ok,
	       (unsigned long long)n.payload_bad, (unsigned long long)n.other);
	mqcap_close(c);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = NULL, *file = NULL;
	int idle_ms = 2000, total_ms = 30000, opt, status;
	mqcap_t *c;
	pid_t pid;

	while ((opt = getopt(argc, argv, "m:o:i:T:")) != -1) {
		switch (opt) {
		case 'm': mode = optarg; break;
		case 'o': file = optarg; break;
		case 'i': idle_ms = atoi(optarg); break;
		case 'T': total_ms = atoi(optarg); break;
		default: return 2;
		}
	}
	if (!mode || !file || file[0] != '/' || optind != argc - 1) {
		fprintf(stderr, "usage: fork_probe -m daemon|child|parent -o /ABS/FILE "
			"[-i IDLE_MS] [-T TOTAL_MS] NAME\n");
		return 2;
	}
	c = mqcap_open(argv[optind], NULL);
	if (!c) {
		fprintf(stderr, "error open %s: %s\n", argv[optind], mqcap_last_error());
		return 1;
	}
	printf("open %s mode=%s\n", argv[optind], mqcap_backend_name(c));
	fflush(stdout);
	if (!strcmp(mode, "daemon")) {
		if (daemon(0, 0)) {
			perror("daemon");
			return 1;
		}
		return read_on(c, file, idle_ms, total_ms);
	}
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (!strcmp(mode, "child")) {
		if (pid)
			_exit(0);
		return read_on(c, file, idle_ms, total_ms);
	}
	if (!strcmp(mode, "parent")) {
		if (!pid) {
			mqcap_close(c);
			_exit(0);
		}
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
			fprintf(stderr, "the child did not exit cleanly\n");
			return 1;
		}
		return read_on(c, file, idle_ms, total_ms);
	}
	fprintf(stderr, "unknown mode %s\n", mode);
	return 2;
}
