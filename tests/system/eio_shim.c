/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * eio_shim - a test-only LD_PRELOAD object that makes a disk fail with EIO under a program,
 * for the files whose path contains a given string (the kernel has no way to make one file
 * of a tmpfs fail; a device-mapper error target would need dmsetup and a block device):
 *
 *   EIO_SHIM_MATCH=STRING   the files it acts on: those whose path (/proc/self/fd) has STRING
 *   EIO_SHIM_CALL=write     write() to them succeeds for EIO_SHIM_AFTER bytes in all (the
 *                           write that crosses the limit is cut short there), then fails
 *                           with EIO, as a disk that went bad under a file does
 *   EIO_SHIM_CALL=fsync     fsync() and fdatasync() of them fail with EIO (the kernel's
 *                           report of a write-back that failed after write() succeeded)
 *   EIO_SHIM_AFTER=BYTES    see write (default 0)
 *
 * Everything else goes to the C library unchanged. Under ASan the sanitizer's runtime must be
 * preloaded first: LD_PRELOAD="libasan.so eio_shim.so".
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static _Atomic long long g_left = -1; /* bytes matching files may still take; -1: not read yet */

static bool matches(int fd, const char *call)
{
	const char *m = getenv("EIO_SHIM_MATCH"), *c = getenv("EIO_SHIM_CALL");
	char link[64], path[4096];
	ssize_t n;

	if (!m || !*m || strcmp(c && *c ? c : "write", call))
		return false;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n < 0)
		return false;
	path[n] = '\0';
	return strstr(path, m) != NULL;
}

ssize_t write(int fd, const void *buf, size_t len)
{
	static ssize_t (*real)(int, const void *, size_t);
	long long left;
	ssize_t w;

	if (!real)
		real = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	if (!matches(fd, "write"))
		return real(fd, buf, len);
	left = atomic_load(&g_left);
	if (left < 0) {
		const char *a = getenv("EIO_SHIM_AFTER");

		left = a ? atoll(a) : 0;
		atomic_store(&g_left, left);
	}
	if (left <= 0) {
		errno = EIO;
		return -1;
	}
	if ((long long)len > left)
		len = (size_t)left;
	w = real(fd, buf, len);
	if (w > 0)
		atomic_fetch_sub(&g_left, (long long)w);
	return w;
}

/* fsync() and fdatasync(): EIO for the matching files in fsync mode. */
static int sync_or_eio(int (**real)(int), const char *name, int fd)
{
	if (!*real)
		*real = (int (*)(int))dlsym(RTLD_NEXT, name);
	if (matches(fd, "fsync")) {
		errno = EIO;
		return -1;
	}
	return (*real)(fd);
}

int fsync(int fd)
{
	static int (*real)(int);

	return sync_or_eio(&real, "fsync", fd);
}

int fdatasync(int fd)
{
	static int (*real)(int);

	return sync_or_eio(&real, "fdatasync", fd);
}
