/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sink.c - mqdump's output files: names from the pattern, large buffered writes, rotation,
 * and completion (fsync, rename, -z, the -W ring) in a background thread.
 *
 * Why the capture thread writes, and not a writer thread per queue fed by an SPSC ring: on
 * the 2-CPU machines this was built on, the capture thread shares its CPU with the queue's
 * kernel poller, and a third thread per queue has no CPU of its own to run on; it would also
 * cost one more copy of every packet (into the ring) on top of the copy into the file's page
 * cache. So each output has one large buffer (--buffer, 1 MiB by default) that the capture
 * thread fills with whole blocks and hands to write() when full: one system call per ~10,000
 * small packets, a memory copy into the page cache that takes well under the time the socket's
 * ring can hold (4096 frames, ~3 ms at 1.3 Mpps). What can really stall, fsync() and rename()
 * of a finished file and the -z command, runs in the finisher thread instead. The summary
 * prints the longest write() so the claim can be checked on any disk.
 *
 * A buffer holds whole blocks only, so a file is always a sequence of complete blocks up to
 * its last write: a reader of a file whose writer was killed sees every flushed packet. A
 * failed or short write (disk full) is cut back with ftruncate() to the last whole block, the
 * packets of that buffer are counted as write drops, and the run stops.
 *
 * --time-order: an output that several queues share stages each queue's packets (a copy: the
 * views are gone when the callback returns) and takes the oldest head of all its queues while
 * either every queue has something staged (each queue's packets come in their time order, so
 * no queue can still bring an older one) or that head is older than the window by the wall
 * clock (a queue with nothing staged had that long to show an earlier packet). The capture
 * threads merge after each burst, the main thread every ~100 ms for idle queues. A packet that
 * comes later than the window is older than one already written: it is written at once, out
 * of order, and counted as late; nothing is held back or lost for it.
 *
 * Files are created and completed by outfile.c (safe in directories others can write).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "mqdump.h"
#include "order.h"
#include "pcapng.h"

extern char **environ;

struct sink {
	pthread_mutex_t mu;          /* the worker(s) of its queues, the main thread's tick */
	struct dump *d;
	char name0[PATH_MAX];        /* the name with file number 0 at start: groups queues */
	unsigned rep;                /* a queue of this output, for %d and %q */
	unsigned *qs, nqs;           /* its queues */
	int16_t ifid[DUMP_MAX_DEVS]; /* device -> interface id in the file, -1 */
	unsigned nif;
	int fd;                      /* -1: no file open */
	int dirfd;                   /* the open file's directory, -1 */
	char tmp[PATH_MAX + 8], final[PATH_MAX];
	uint64_t seq;                /* file number */
	char (*ring)[PATH_MAX];      /* -W: final names of the last files, by seq % ring */
	uint64_t file_bytes;         /* written to fd (whole blocks) */
	uint64_t file_pkts;          /* in this file, buffered included */
	uint64_t next_rot_ns;        /* -G: the next wall-clock boundary */
	uint8_t *buf;
	size_t len, cap;
	uint64_t *pend;              /* per queue of the run: packets in buf */
	uint32_t *ends;              /* end offset in buf of each block in it */
	uint16_t *endq;              /* its queue, or NOQ for a file header or statistics block */
	unsigned nends;
	uint64_t last_flush_ns;
	FILE *cookie;                /* classic pcap: libpcap's dumper writes into buf through it */
	pcap_t *dead;
	pcap_dumper_t *pd;
	int err;                     /* a write failed: the output is dead, packets are dropped */
	struct stage *stage;         /* --time-order with several queues: one per queue of qs */
	uint16_t *slot;              /* queue of the run -> its index in qs */
	uint64_t last_ts;            /* --time-order: the newest timestamp written */
};

#define NOQ 0xFFFFu

static void outputs_prepare(struct dump *d);

struct job {
	struct job *next;
	int fd, dirfd;
	uint64_t bytes;
	char tmp[PATH_MAX + 8], final[PATH_MAX], del[PATH_MAX];
};

struct finisher {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *head, *tail;
	bool quit, started;
};

/* ---------- errors ---------- */

void dump_fail(struct dump *d, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&d->errmu);
	if (!d->errmsg[0]) {
		va_start(ap, fmt);
		vsnprintf(d->errmsg, sizeof(d->errmsg), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&d->errmu);
	atomic_store_explicit(&d->failed, 1, memory_order_relaxed);
	if (d->run)
		mqcap_run_stop(d->run);
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---------- names (names.c) ---------- */

static char *g_pattern;

static uint64_t boundary_start(const struct dump *d, uint64_t now_ns)
{
	uint64_t g = d->cfg.rotate_s * 1000000000ull;

	return g ? now_ns / g * g : now_ns;
}

int dump_outputs_make(struct dump *d)
{
	time_t now = time(NULL);
	char err[256];

	g_pattern = dump_name_pattern(&d->cfg);
	if (!g_pattern)
		cli_die(1, "out of memory");
	d->qsink = calloc(d->nq, sizeof(*d->qsink));
	d->sinks = calloc(d->nq, sizeof(*d->sinks));
	if (!d->qsink || !d->sinks)
		cli_die(1, "out of memory");
	for (unsigned q = 0; q < d->nq; q++) {
		char name[PATH_MAX];
		struct sink *s = NULL;

		if (dump_name_expand(g_pattern, d->devname[d->qdev[q]], d->qid[q], 0, now, name,
				     sizeof(name), err, sizeof(err))) {
			cli_warn("-w %s: %s", d->cfg.pattern, err);
			return -1;
		}
		for (unsigned k = 0; k < d->nsinks; k++)
			if (!strcmp(d->sinks[k]->name0, name))
				s = d->sinks[k];
		if (!s) {
			s = calloc(1, sizeof(*s));
			if (!s)
				cli_die(1, "out of memory");
			pthread_mutex_init(&s->mu, NULL);
			s->d = d;
			s->fd = -1;
			s->dirfd = -1;
			s->rep = q;
			snprintf(s->name0, sizeof(s->name0), "%s", name);
			for (unsigned i = 0; i < DUMP_MAX_DEVS; i++)
				s->ifid[i] = -1;
			s->qs = calloc(d->nq, sizeof(*s->qs));
			s->pend = calloc(d->nq, sizeof(*s->pend));
			s->cap = d->cfg.buf_bytes;
			if (s->cap < pcapng_epb_size(d->cfg.snaplen) + 65536)
				s->cap = pcapng_epb_size(d->cfg.snaplen) + 65536;
			s->buf = malloc(s->cap);
			/* the smallest block is a 16-byte pcap record header */
			s->ends = malloc((s->cap / 16 + 16) * sizeof(*s->ends));
			s->endq = malloc((s->cap / 16 + 16) * sizeof(*s->endq));
			if (d->cfg.ring)
				s->ring = calloc(d->cfg.ring, sizeof(*s->ring));
			if (!s->qs || !s->pend || !s->buf || !s->ends || !s->endq ||
			    (d->cfg.ring && !s->ring))
				cli_die(1, "out of memory");
			d->sinks[d->nsinks++] = s;
		}
		s->qs[s->nqs++] = q;
		if (s->ifid[d->qdev[q]] < 0)
			s->ifid[d->qdev[q]] = (int16_t)s->nif++;
		d->qsink[q] = s;
	}
	/* A name that cannot change between files would make rotation overwrite its own files. */
	if (d->cfg.file_bytes || d->cfg.file_packets || d->cfg.rotate_s) {
		char a[PATH_MAX], b[PATH_MAX];
		struct sink *s = d->sinks[0];
		const char *dev = d->devname[d->qdev[s->rep]];

		if (!dump_name_expand(g_pattern, dev, d->qid[s->rep], 0, now, a, sizeof(a), err,
				      sizeof(err)) &&
		    !dump_name_expand(g_pattern, dev, d->qid[s->rep], 1, now + 86400 * 366, b,
				      sizeof(b), err, sizeof(err)) && !strcmp(a, b)) {
			cli_warn("-w %s: rotation needs file names that differ (add %%n)", d->cfg.pattern);
			return -1;
		}
	}
	outputs_prepare(d);
	return 0;
}

/* ---------- the finisher thread: fsync, rename, -z, the ring ---------- */

static void run_postcmd(struct dump *d, const char *file)
{
	char *argv[] = { "sh", "-c", NULL, "mqdump-z", (char *)file, NULL };
	char cmd[4096];
	pid_t pid;
	int st;

	snprintf(cmd, sizeof(cmd), "%s \"$1\"", d->cfg.postcmd);
	argv[2] = cmd;
	if (posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ)) {
		cli_warn("-z: cannot run /bin/sh: %s", strerror(errno));
		return;
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		cli_warn("-z %s %s: exited with status %d", d->cfg.postcmd, file,
			 WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

static void finish(struct dump *d, struct job *j)
{
	bool synced = true;

	/* A failed fsync: the kernel could not write some of the file back. What a reader sees
	 * now may not be what the disk holds, so the file keeps its temporary name (the final name
	 * promises a complete file) and the ring keeps the file it would have let go. */
	if (fsync(j->fd)) {
		dump_fail(d, "fsync %s: %s (the file keeps that name: its data may not all be on "
			  "the disk)", j->tmp, strerror(errno));
		synced = false;
	}
	if (close(j->fd))
		dump_fail(d, "close %s: %s", j->tmp, strerror(errno));
	if (!j->bytes) {
		/* Not even the file header reached the disk: there is nothing a reader could open. */
		unlinkat(j->dirfd, dump_file_base(j->tmp), 0);
		cli_warn("%s: nothing could be written, removed", j->tmp);
	} else if (!synced) {
		return;
	} else if (dump_file_complete(j->dirfd, dump_file_base(j->tmp), dump_file_base(j->final),
				      d->cfg.force)) {
		int e = errno;

		if (e == EEXIST)
			dump_fail(d, "%s appeared while %s was written: not replaced, the file keeps "
				  "its temporary name (--force replaces it)", j->final, j->tmp);
		else
			dump_fail(d, "rename %s to %s: %s", j->tmp, j->final, strerror(e));
		return;
	} else {
		fsync(j->dirfd);
		atomic_fetch_add_explicit(&d->files_done, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&d->bytes_done, j->bytes, memory_order_relaxed);
		if (d->cfg.postcmd)
			run_postcmd(d, j->final);
	}
	if (j->del[0] && unlink(j->del) && errno != ENOENT)
		cli_warn("-W: cannot remove %s: %s", j->del, strerror(errno));
}

static void *finisher_main(void *arg)
{
	struct dump *d = arg;
	struct finisher *f = d->fin;

	pthread_mutex_lock(&f->mu);
	for (;;) {
		struct job *j = f->head;

		if (!j) {
			if (f->quit)
				break;
			pthread_cond_wait(&f->cv, &f->mu);
			continue;
		}
		f->head = j->next;
		if (!f->head)
			f->tail = NULL;
		pthread_mutex_unlock(&f->mu);
		finish(d, j);
		close(j->dirfd);
		free(j);
		pthread_mutex_lock(&f->mu);
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

static void finisher_push(struct dump *d, struct job *j)
{
	struct finisher *f = d->fin;

	pthread_mutex_lock(&f->mu);
	if (f->tail)
		f->tail->next = j;
	else
		f->head = j;
	f->tail = j;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

/* ---------- one output's file ---------- */

static void drop_pending(struct sink *s)
{
	for (unsigned i = 0; i < s->nqs; i++) {
		unsigned q = s->qs[i];

		atomic_fetch_add_explicit(&s->d->cnt[q].wdrop, s->pend[q], memory_order_relaxed);
		s->pend[q] = 0;
	}
}

/* Note that a block for queue q (NOQ: not a packet) ends at the buffer's current length. */
static inline void mark(struct sink *s, unsigned q)
{
	s->ends[s->nends] = (uint32_t)s->len;
	s->endq[s->nends++] = (uint16_t)q;
}

/* A write stopped after off bytes of the buffer: keep the whole blocks among them (count
 * their packets as written), cut the rest off the file, count its packets as write drops. */
static void cut_back(struct sink *s, size_t off)
{
	size_t keep = 0;
	unsigned i;

	for (i = 0; i < s->nends && s->ends[i] <= off; i++) {
		keep = s->ends[i];
		if (s->endq[i] != NOQ) {
			atomic_fetch_add_explicit(&s->d->cnt[s->endq[i]].written, 1, memory_order_relaxed);
			s->pend[s->endq[i]]--;
		}
	}
	s->file_bytes += keep;
	if (off != keep && (ftruncate(s->fd, (off_t)s->file_bytes) ||
			    lseek(s->fd, (off_t)s->file_bytes, SEEK_SET) < 0))
		cli_warn("%s: cannot cut back to %" PRIu64 " bytes: %s", s->tmp, s->file_bytes,
			 strerror(errno));
	drop_pending(s);
}

/* The longest write(), for the summary (workers store, the main thread reads). */
static _Atomic uint64_t g_max_write_ns;

/* Write the buffer: whole blocks, or nothing of them (cut back on failure). Lock held. */
static int sink_flush(struct sink *s)
{
	size_t off = 0;
	uint64_t t0;
	int err = 0;

	if (!s->len)
		return 0;
	if (s->fd < 0 || s->err) {
		drop_pending(s);
		s->len = 0;
		s->nends = 0;
		return -1;
	}
	t0 = cli_now_ns();
	while (off < s->len) {
		ssize_t w = write(s->fd, s->buf + off, s->len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			err = w < 0 ? errno : ENOSPC;
			break;
		}
		off += (size_t)w;
	}
	t0 = cli_now_ns() - t0;
	if (t0 > atomic_load_explicit(&g_max_write_ns, memory_order_relaxed))
		/* a statistic: a rare lost update between two outputs is harmless */
		atomic_store_explicit(&g_max_write_ns, t0, memory_order_relaxed);
	s->last_flush_ns = cli_now_ns();
	if (err) {
		/* Cut the half-written block off so that the file stays readable to its end. */
		cut_back(s, off);
		s->err = err;
		s->len = 0;
		s->nends = 0;
		dump_fail(s->d, "writing %s: %s", s->tmp, strerror(err));
		return -1;
	}
	for (unsigned i = 0; i < s->nqs; i++) {
		unsigned q = s->qs[i];

		atomic_fetch_add_explicit(&s->d->cnt[q].written, s->pend[q], memory_order_relaxed);
		s->pend[q] = 0;
	}
	s->file_bytes += s->len;
	s->len = 0;
	s->nends = 0;
	return 0;
}

/* libpcap's dumper writes here (the FILE is unbuffered): into the output's buffer, for which
 * the caller made room. */
static ssize_t cookie_write(void *c, const char *data, size_t n)
{
	struct sink *s = c;

	if (s->len + n > s->cap)
		return 0;
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	return (ssize_t)n;
}

static int cookie_close(void *c)
{
	(void)c;
	return 0;
}

/* Open the next file (seq) for packets from time ts_ns on. Lock held. */
static int sink_open(struct sink *s, uint64_t ts_ns)
{
	struct dump *d = s->d;
	uint64_t bstart = boundary_start(d, ts_ns);
	char err[256];
	struct stat st;

	if (dump_name_expand(g_pattern, d->devname[d->qdev[s->rep]], d->qid[s->rep], s->seq,
			     (time_t)(bstart / 1000000000ull), s->final, sizeof(s->final), err,
			     sizeof(err))) {
		dump_fail(d, "-w %s: %s", d->cfg.pattern, err);
		return -1;
	}
	snprintf(s->tmp, sizeof(s->tmp), "%s.part", s->final);
	s->dirfd = dump_file_dir(s->final);
	if (s->dirfd < 0) {
		dump_fail(d, "cannot open the directory of %s: %s", s->final, strerror(errno));
		return -1;
	}
	/* Refused early for the user's sake; the guarantee is RENAME_NOREPLACE at the end. */
	if (!d->cfg.force && !fstatat(s->dirfd, dump_file_base(s->final), &st, AT_SYMLINK_NOFOLLOW)) {
		dump_fail(d, "%s exists (use --force to overwrite it)", s->final);
		goto fail;
	}
	s->fd = dump_file_create(s->dirfd, dump_file_base(s->tmp), d->cfg.force);
	if (s->fd < 0) {
		if (errno == EEXIST)
			dump_fail(d, "%s exists: another mqdump writing it, or one that was killed "
				  "(remove it, or use --force)", s->tmp);
		else
			dump_fail(d, "cannot create %s: %s", s->tmp, strerror(errno));
		goto fail;
	}
	s->file_bytes = 0;
	s->file_pkts = 0;
	s->len = 0;
	s->nends = 0;
	s->last_flush_ns = cli_now_ns();
	if (d->cfg.rotate_s)
		s->next_rot_ns = bstart + d->cfg.rotate_s * 1000000000ull;
	if (s->ring)
		snprintf(s->ring[s->seq % d->cfg.ring], PATH_MAX, "%s", s->final);
	if (d->cfg.format == DUMP_PCAPNG) {
		s->len += pcapng_shb(s->buf);
		for (unsigned dev = 0; dev < DUMP_MAX_DEVS; dev++)
			for (unsigned i = 0; i < s->nif; i++)
				if (s->ifid[dev] == (int16_t)i)
					s->len += pcapng_idb(s->buf + s->len, d->cfg.snaplen, d->devname[dev]);
		mark(s, NOQ);
		return 0;
	}
	if (!s->dead)
		s->dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, (int)d->cfg.snaplen,
							       PCAP_TSTAMP_PRECISION_NANO);
	s->cookie = fopencookie(s, "w", (cookie_io_functions_t){ .write = cookie_write,
								  .close = cookie_close });
	if (!s->dead || !s->cookie || setvbuf(s->cookie, NULL, _IONBF, 0)) {
		dump_fail(d, "%s: cannot set up libpcap's writer", s->tmp);
		return -1;
	}
	s->pd = pcap_dump_fopen(s->dead, s->cookie);
	if (!s->pd) {
		dump_fail(d, "%s: %s", s->tmp, pcap_geterr(s->dead));
		fclose(s->cookie);
		s->cookie = NULL;
		return -1;
	}
	mark(s, NOQ);
	return 0;
fail:
	close(s->dirfd);
	s->dirfd = -1;
	return -1;
}

/* The drop counters of the file's interfaces, then close and hand the file to the finisher,
 * which removes del (the file the -W ring lets go) once this one is complete. Lock held. */
static void sink_close_file(struct sink *s, const char *del)
{
	struct dump *d = s->d;
	struct job *j;

	if (s->fd < 0)
		return;
	if (d->cfg.format == DUMP_PCAPNG && !s->err) {
		uint64_t now = realtime_ns();

		for (unsigned dev = 0; dev < DUMP_MAX_DEVS; dev++) {
			struct pcapng_isb isb = { .ts_ns = now, .start_ns = d->start_ns, .end_ns = now };

			if (s->ifid[dev] < 0)
				continue;
			for (unsigned i = 0; i < s->nqs; i++) {
				unsigned q = s->qs[i];
				struct mqcap_stats st = { 0 };

				if (d->qdev[q] != dev)
					continue;
				if (mqcap_run_queue_stats(d->run, q, &st) == 0) {
					isb.ifrecv += st.kernel_seen;
					isb.ifdrop += st.drop_ring_full + st.drop_fill_empty +
						      st.drop_no_socket + st.drop_invalid;
				}
				isb.osdrop += atomic_load_explicit(&d->cnt[q].wdrop, memory_order_relaxed);
				isb.usrdeliv += atomic_load_explicit(&d->cnt[q].written,
								     memory_order_relaxed) + s->pend[q];
			}
			if (s->len + PCAPNG_ISB_MAX > s->cap)
				sink_flush(s);
			s->len += pcapng_isb(s->buf + s->len, (uint32_t)s->ifid[dev], &isb);
			mark(s, NOQ);
		}
	}
	sink_flush(s);
	if (s->pd) {
		pcap_dump_close(s->pd); /* fclose()s the cookie FILE: nothing left in it */
		s->pd = NULL;
		s->cookie = NULL;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		dump_fail(d, "out of memory closing %s", s->tmp);
		close(s->fd);
		close(s->dirfd);
		s->fd = s->dirfd = -1;
		return;
	}
	j->fd = s->fd;
	j->dirfd = s->dirfd;
	j->bytes = s->file_bytes;
	snprintf(j->tmp, sizeof(j->tmp), "%s", s->tmp);
	snprintf(j->final, sizeof(j->final), "%s", s->final);
	if (del)
		snprintf(j->del, sizeof(j->del), "%s", del);
	s->fd = s->dirfd = -1;
	finisher_push(d, j);
}

/* Finish this file and start the next. Lock held. */
static void sink_rotate(struct sink *s, uint64_t ts_ns)
{
	const char *del = NULL;
	unsigned w = s->d->cfg.ring;

	/* With -W W, opening file k lets file k-W go: W files at most, the new one included. */
	if (w && s->seq + 1 >= w)
		del = s->ring[(s->seq + 1 - w) % w];
	sink_close_file(s, del);
	if (s->err)
		return;
	s->seq++;
	if (sink_open(s, ts_ns))
		s->err = EIO;
}

static inline size_t record_size(const struct dump *d, uint32_t caplen)
{
	return d->cfg.format == DUMP_PCAPNG ? pcapng_epb_size(caplen) : 16 + (size_t)caplen;
}

static void sink_packet(struct sink *s, unsigned q, const struct mqcap_pkt *p)
{
	struct dump *d = s->d;
	size_t rec = record_size(d, p->caplen);

	/* Size and count never close an empty file (one packet may be over the size); time
	 * does, even an empty one: a packet past the boundary belongs to the next interval's
	 * file, though the clock may not have closed this one yet (DUMP_ROTATE_GRACE_NS). */
	if (s->fd >= 0 &&
	    ((s->file_pkts &&
	      ((d->cfg.file_bytes && s->file_bytes + s->len + rec > d->cfg.file_bytes) ||
	       (d->cfg.file_packets && s->file_pkts >= d->cfg.file_packets))) ||
	     (d->cfg.rotate_s && p->ts_ns >= s->next_rot_ns)))
		sink_rotate(s, p->ts_ns);
	if (s->err || s->fd < 0) {
		atomic_fetch_add_explicit(&d->cnt[q].wdrop, 1, memory_order_relaxed);
		return;
	}
	if (s->len + rec > s->cap && sink_flush(s)) {
		atomic_fetch_add_explicit(&d->cnt[q].wdrop, 1, memory_order_relaxed);
		return;
	}
	if (d->cfg.format == DUMP_PCAPNG) {
		s->len += pcapng_epb(s->buf + s->len, (uint32_t)s->ifid[p->dev], p->ts_ns, p->data,
				     p->caplen, p->len, p->queue);
	} else {
		struct pcap_pkthdr h = { .caplen = p->caplen, .len = p->len };

		h.ts.tv_sec = (time_t)(p->ts_ns / 1000000000ull);
		h.ts.tv_usec = (suseconds_t)(p->ts_ns % 1000000000ull); /* nanoseconds: NANO magic */
		pcap_dump((u_char *)s->pd, &h, p->data);
	}
	mark(s, q);
	s->pend[q]++;
	s->file_pkts++;
}

/* --time-order: write the oldest staged packet of the output if it may go (see the top), or
 * anyway with force. Returns false when nothing was written. Lock held. */
static bool merge_one(struct sink *s, uint64_t now_ns, bool force)
{
	uint64_t best_ts = UINT64_MAX;
	unsigned best = 0;
	bool every = true;
	struct mqcap_pkt p;
	unsigned q;

	for (unsigned i = 0; i < s->nqs; i++) {
		uint64_t ts = stage_head_ts(&s->stage[i]);

		if (!s->stage[i].n)
			every = false;
		else if (ts < best_ts || best_ts == UINT64_MAX) {
			best_ts = ts;
			best = i;
		}
	}
	if (!stage_head(&s->stage[best], &p))
		return false;
	if (!force && !every && best_ts + s->d->cfg.window_ns > now_ns)
		return false;
	q = s->qs[best];
	if (p.ts_ns < s->last_ts)
		atomic_fetch_add_explicit(&s->d->cnt[q].late, 1, memory_order_relaxed);
	else
		s->last_ts = p.ts_ns;
	sink_packet(s, q, &p);
	stage_pop(&s->stage[best]);
	return true;
}

static void merge(struct sink *s, uint64_t now_ns)
{
	while (merge_one(s, now_ns, false))
		;
}

/* Stage a packet of queue q; a full stage first lets the oldest packets go. Lock held. */
static void stage_packet(struct sink *s, unsigned q, const struct mqcap_pkt *p)
{
	struct stage *st = &s->stage[s->slot[q]];

	while (!stage_push(st, p))
		if (!merge_one(s, 0, true))
			break; /* cannot happen: stage_init() leaves room for a packet of snaplen */
}

/* Done with an output for this burst: merge, write a buffer older than --flush-ms, unlock. */
static void release(struct sink *s)
{
	if (s->stage)
		merge(s, realtime_ns());
	if (s->len && cli_now_ns() - s->last_flush_ns >= s->d->cfg.flush_ms * 1000000ull)
		sink_flush(s);
	pthread_mutex_unlock(&s->mu);
}

/* The first files exist (or failed: then every packet counts as a write drop). */
static void outputs_opened(struct dump *d)
{
	pthread_mutex_lock(&d->errmu);
	/* Pairs with the acquire in dump_burst: the sinks are set up before this. */
	atomic_store_explicit(&d->opened, 1, memory_order_release);
	pthread_cond_broadcast(&d->opened_cv);
	pthread_mutex_unlock(&d->errmu);
}

/* Until the files exist, or the run is being stopped without them (-Z failed): then the
 * packets count as write drops, and mqcap_run_wait() does not wait for this thread forever. */
static void outputs_wait(struct dump *d)
{
	pthread_mutex_lock(&d->errmu);
	while (!atomic_load_explicit(&d->opened, memory_order_acquire) &&
	       !mqcap_run_stopping(d->run)) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 50000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&d->opened_cv, &d->errmu, &until);
	}
	pthread_mutex_unlock(&d->errmu);
}

void dump_burst(struct dump *d, const struct mqcap_pkt *p, unsigned n)
{
	struct sink *cur = NULL;

	/* -Z: the capture runs before the files exist (they are USER's); the packets wait in
	 * this burst and in the kernel's rings for the moment that takes. */
	if (!atomic_load_explicit(&d->opened, memory_order_acquire))
		outputs_wait(d);

	for (unsigned i = 0; i < n; i++) {
		unsigned dev = p[i].dev, qid = p[i].queue;
		int q = dev < DUMP_MAX_DEVS && qid < DUMP_MAX_QID ? d->lut[dev * DUMP_MAX_QID + qid] : -1;
		struct sink *s;

		if (q < 0) {
			atomic_fetch_add_explicit(&d->stray, 1, memory_order_relaxed);
			continue;
		}
		/* Only this worker adds to its queue's count: load + store, no locked instruction. */
		atomic_store_explicit(&d->cnt[q].captured,
				      atomic_load_explicit(&d->cnt[q].captured, memory_order_relaxed) + 1,
				      memory_order_relaxed);
		s = d->qsink[q];
		if (s != cur) {
			if (cur)
				release(cur);
			pthread_mutex_lock(&s->mu);
			cur = s;
		}
		if (s->stage)
			stage_packet(s, (unsigned)q, &p[i]);
		else
			sink_packet(s, (unsigned)q, &p[i]);
	}
	if (cur)
		release(cur);
}

static uint64_t rotate_grace_ns(const struct dump *d)
{
	uint64_t quarter = d->cfg.rotate_s * 1000000000ull / 4;

	return quarter < DUMP_ROTATE_GRACE_NS ? quarter : DUMP_ROTATE_GRACE_NS;
}

void dump_tick(struct dump *d)
{
	uint64_t mono = cli_now_ns(), now = realtime_ns();

	for (unsigned k = 0; k < d->nsinks; k++) {
		struct sink *s = d->sinks[k];

		/* A busy output is being written by its worker right now: nothing to do for it. */
		if (pthread_mutex_trylock(&s->mu))
			continue;
		if (s->stage)
			merge(s, now);
		/* The clock closes a file only after the grace (DUMP_ROTATE_GRACE_NS): packets
		 * from before the boundary may still be in the rings, or (--time-order) waiting
		 * the window in the stage. A newer packet closes it at once (sink_packet). */
		if (d->cfg.rotate_s && s->fd >= 0 && !s->err &&
		    now >= s->next_rot_ns + rotate_grace_ns(d) + (s->stage ? d->cfg.window_ns : 0))
			sink_rotate(s, now);
		else if (s->len && mono - s->last_flush_ns >= d->cfg.flush_ms * 1000000ull)
			sink_flush(s);
		pthread_mutex_unlock(&s->mu);
	}
}

/* The finisher thread and the --time-order stages: before the capture starts, so that a
 * worker that finds no file open yet (-Z, stopped early) sees every output complete. */
static void outputs_prepare(struct dump *d)
{
	struct finisher *f = calloc(1, sizeof(*f));

	if (!f)
		cli_die(1, "out of memory");
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	d->fin = f;
	d->start_ns = realtime_ns();
	if (pthread_create(&f->th, NULL, finisher_main, d))
		cli_die(1, "cannot start the finisher thread");
	f->started = true;
	for (unsigned k = 0; k < d->nsinks; k++) {
		struct sink *s = d->sinks[k];

		if (d->cfg.time_order && s->nqs > 1) {
			s->stage = calloc(s->nqs, sizeof(*s->stage));
			s->slot = calloc(d->nq, sizeof(*s->slot));
			if (!s->stage || !s->slot)
				cli_die(1, "out of memory");
			for (unsigned i = 0; i < s->nqs; i++) {
				if (stage_init(&s->stage[i], DUMP_STAGE_BYTES, d->cfg.snaplen))
					cli_die(1, "out of memory");
				s->slot[s->qs[i]] = (uint16_t)i;
			}
		}
	}
}

int dump_outputs_open(struct dump *d)
{
	uint64_t now = realtime_ns();

	for (unsigned k = 0; k < d->nsinks; k++) {
		struct sink *s = d->sinks[k];
		int rc;

		pthread_mutex_lock(&s->mu);
		rc = sink_open(s, now);
		pthread_mutex_unlock(&s->mu);
		if (rc) {
			dump_outputs_abandon(d);
			outputs_opened(d);
			cli_warn("%s", d->errmsg);
			return -1;
		}
	}
	outputs_opened(d);
	return 0;
}

void dump_outputs_abandon(struct dump *d)
{
	for (unsigned k = 0; k < d->nsinks; k++) {
		struct sink *s = d->sinks[k];

		pthread_mutex_lock(&s->mu);
		if (s->fd >= 0) {
			close(s->fd);
			unlinkat(s->dirfd, dump_file_base(s->tmp), 0);
			close(s->dirfd);
			s->fd = s->dirfd = -1;
		}
		pthread_mutex_unlock(&s->mu);
	}
}

void dump_outputs_close(struct dump *d)
{
	struct finisher *f = d->fin;

	for (unsigned k = 0; k < d->nsinks; k++) {
		struct sink *s = d->sinks[k];

		pthread_mutex_lock(&s->mu);
		/* --time-order: what is still staged, in order, before the file closes */
		if (s->stage)
			while (merge_one(s, 0, true))
				;
		sink_close_file(s, NULL);
		pthread_mutex_unlock(&s->mu);
	}
	if (f && f->started) {
		pthread_mutex_lock(&f->mu);
		f->quit = true;
		pthread_cond_signal(&f->cv);
		pthread_mutex_unlock(&f->mu);
		pthread_join(f->th, NULL);
		f->started = false;
	}
	for (unsigned k = 0; k < d->nsinks; k++) {
		struct sink *s = d->sinks[k];

		if (s->dead)
			pcap_close(s->dead);
		free(s->buf);
		free(s->qs);
		free(s->pend);
		free(s->ends);
		free(s->endq);
		free(s->ring);
		if (s->stage)
			for (unsigned i = 0; i < s->nqs; i++)
				stage_free(&s->stage[i]);
		free(s->stage);
		free(s->slot);
		pthread_mutex_destroy(&s->mu);
		free(s);
	}
	d->nsinks = 0;
	free(d->sinks);
	free(d->qsink);
	d->sinks = NULL;
	d->qsink = NULL;
	free(f);
	d->fin = NULL;
	free(g_pattern);
	g_pattern = NULL;
}

uint64_t dump_max_write_ns(void)
{
	return atomic_load_explicit(&g_max_write_ns, memory_order_relaxed);
}

void dump_output_name(struct dump *d, unsigned q, char *out, size_t len)
{
	struct sink *s = d->qsink ? d->qsink[q] : NULL;

	snprintf(out, len, "%s", s ? s->final : "");
}
