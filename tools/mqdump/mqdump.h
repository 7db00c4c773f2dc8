/* SPDX-License-Identifier: BSD-2-Clause */
/* mqdump.h - what mqdump's files share: the options, the per-queue counters, the output files. */
#ifndef MQDUMP_H
#define MQDUMP_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "mqcap/run.h"

enum dump_format { DUMP_PCAPNG, DUMP_PCAP };

struct dump_cfg {
	const char *pattern;      /* -w: file name pattern (%d device, %q queue, %n file number, strftime) */
	enum dump_format format;
	uint64_t file_bytes;      /* -C: rotate before a file would pass this size; 0 = never */
	uint64_t file_packets;    /* --file-packets: rotate after this many packets; 0 = never */
	uint64_t rotate_s;        /* -G: rotate at multiples of this many seconds of wall-clock time */
	unsigned ring;            /* -W: keep at most this many files per output (oldest removed) */
	const char *postcmd;      /* -z: run on every finished file */
	bool force;               /* overwrite existing files */
	size_t buf_bytes;         /* write buffer per output file */
	uint64_t flush_ms;        /* write buffered packets at least this often */
	uint32_t snaplen;
	bool time_order;          /* --time-order: shared outputs get their packets in timestamp order */
	uint64_t window_ns;       /* how long a packet may wait for the other queues of its output */
};

/* -G: a file no newer packet has closed is closed by the clock this long after its boundary
 * (a quarter of the period at most), not at it: packets captured just before the boundary
 * may still be in the kernel's rings, and they belong in that file, not the next. */
#define DUMP_ROTATE_GRACE_NS 200000000ull
/* --time-window's default: a capture thread that is late by this much (its queue's packets
 * still in the kernel's ring) makes its packets late. */
#define DUMP_WINDOW_DEFAULT_NS 100000000ull
/* --time-order's staging memory per queue of a shared output: at 1 Mpps of 64-byte frames
 * split over 4 queues, a 100 ms window stages ~2.4 MiB per queue. When a queue's is full, the
 * oldest staged packet of the output is written before its time. */
#define DUMP_STAGE_BYTES (8u << 20)

/* Per queue, written by the queue's worker (captured) or under its output's lock (the rest);
 * read by the main thread for the live line. captured = written + wdrop + still buffered or
 * staged (--time-order); at the end, captured = written + wdrop. */
struct dump_qcount {
	_Atomic uint64_t captured;
	_Atomic uint64_t written;
	_Atomic uint64_t wdrop;   /* captured but not written: the write failed (disk full, I/O error) */
	_Atomic uint64_t late;    /* --time-order: written out of order, after a later packet of
				   * another queue (it came later than the window) */
	char pad[64 - 4 * sizeof(uint64_t)];
};

struct sink;
struct finisher;

#define DUMP_MAX_DEVS 16
#define DUMP_MAX_QID  4096

struct dump {
	struct dump_cfg cfg;
	mqcap_run_t *run;
	unsigned nq;                 /* queues, in plan order */
	unsigned ndev;
	char devname[DUMP_MAX_DEVS][16];
	unsigned *qdev, *qid;        /* per queue: device index, RX queue id */
	struct sink **qsink;         /* per queue: its output */
	struct dump_qcount *cnt;     /* per queue */
	int16_t *lut;                /* [dev * DUMP_MAX_QID + queue id] -> queue index, -1 */
	struct sink **sinks;
	unsigned nsinks;
	uint64_t start_ns;           /* CLOCK_REALTIME at start */
	_Atomic uint64_t stray;      /* packets of a queue not in the plan (never expected) */
	_Atomic uint64_t files_done; /* files completed (renamed to their final name) */
	_Atomic uint64_t bytes_done;
	_Atomic int failed;
	_Atomic int opened;          /* dump_outputs_open() has run: workers may write */
	pthread_cond_t opened_cv;    /* with errmu: workers wait for the first files (-Z) */
	pthread_mutex_t errmu;
	char errmsg[512];
	struct finisher *fin;
};

/* ---- names.c: file names from the -w pattern ---- */

/* Expand pat: %d device, %q queue, %n file number, %% a '%', other conversions by strftime
 * at time t. Returns 0, or -1 with why in err. */
int dump_name_expand(const char *pat, const char *dev, unsigned queue, uint64_t seq, time_t t,
		     char *out, size_t len, char *err, size_t errlen);
/* The pattern a run uses (malloc'd, NULL when out of memory): with rotation and no %n (nor,
 * for -G alone, a time in the name), "_%n" goes before the extension. */
char *dump_name_pattern(const struct dump_cfg *c);

/* ---- outfile.c: making and completing one file, safe in a directory others can write ---- */

/* The last component of path. */
const char *dump_file_base(const char *path);
/* The directory of path, opened for openat()/renameat2() and fsync; -1 with errno. */
int dump_file_dir(const char *path);
/* Create name in dirfd, never opening anything that exists there (a planted link included):
 * O_CREAT|O_EXCL|O_NOFOLLOW, mode 0666 & ~umask; with force, what has the name is removed
 * first, once. The fd, or -1 with errno (EEXIST: the name exists). */
int dump_file_create(int dirfd, const char *name, bool force);
/* Give tmp its final name in dirfd: never over an existing name unless force (-1, EEXIST). */
int dump_file_complete(int dirfd, const char *tmp, const char *final, bool force);

/* ---- sink.c: output files ---- */

/* Expand the pattern for every queue, group the queues whose names are the same into one
 * output, check the pattern. Returns 0, or -1 after printing why. */
int dump_outputs_make(struct dump *d);
/* Start the finisher thread and open the first file of every output. 0, or -1 after
 * printing why (nothing is left behind). Until it has run, a worker's first burst waits for
 * it: with -Z the files are created after the capture started and root was given up. */
int dump_outputs_open(struct dump *d);
/* Take back the files opened (closed and removed, never renamed): no half-made files from a
 * run that never ran. dump_outputs_close() must still follow. */
void dump_outputs_abandon(struct dump *d);
/* A worker's burst: count, buffer, rotate, write. */
void dump_burst(struct dump *d, const struct mqcap_pkt *p, unsigned n);
/* Main thread, a few times a second: write buffers older than flush_ms, rotate at -G boundaries. */
void dump_tick(struct dump *d);
/* After the workers stopped: write, close and complete every file, wait for the finisher. */
void dump_outputs_close(struct dump *d);
/* Record the first error (the summary prints it), stop the run. Safe from any thread. */
void dump_fail(struct dump *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The longest single write() so far, in nanoseconds. */
uint64_t dump_max_write_ns(void);
/* The current file name of queue q's output (for the summary); "" if none. */
void dump_output_name(struct dump *d, unsigned q, char *out, size_t len);

#endif
