/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * outfile.c - how mqdump creates and completes its files. In a directory others can write
 * (/tmp) a name may already be a symbolic link planted by someone else, pointing at a file
 * they want overwritten. So a file
 * is made with openat() in its directory, O_CREAT|O_EXCL|O_NOFOLLOW (nothing that exists is
 * ever opened, a link included), with the mode the umask gives (0666 & ~umask, as tcpdump's
 * savefiles), and completed with renameat2(RENAME_NOREPLACE) unless --force: the final name
 * is never followed, and one that appeared meanwhile is not replaced. With -Z, mqdump.c opens
 * the first files only after giving root up, so every file of a run belongs to USER.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mqdump.h"

const char *dump_file_base(const char *path)
{
	const char *sl = strrchr(path, '/');

	return sl ? sl + 1 : path;
}

/* The directory of path, opened for openat()/renameat2() and fsync; -1 with errno. */
int dump_file_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *sl = strrchr(path, '/');

	if (!sl)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(sl - path) + (sl == path), path);
	return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* Give tmp its final name in dirfd: never over an existing name unless --force (then
 * rename() replaces a link itself, never what it points at). */
int dump_file_complete(int dirfd, const char *tmp, const char *final, bool force)
{
	if (force)
		return renameat(dirfd, tmp, dirfd, final);
	if (!renameat2(dirfd, tmp, dirfd, final, RENAME_NOREPLACE))
		return 0;
	if (errno != EINVAL)
		return -1;
	/* A file system without RENAME_NOREPLACE: link() refuses an existing name too. */
	if (linkat(dirfd, tmp, dirfd, final, 0))
		return -1;
	unlinkat(dirfd, tmp, 0);
	return 0;
}

/* Create name in dirfd, never opening anything that exists there (a planted link included):
 * O_EXCL|O_NOFOLLOW, mode 0666 & ~umask. With force, a .part left by a killed run (or
 * whatever has the name) is removed first, once: unlinkat() removes a link, not its target. */
int dump_file_create(int dirfd, const char *name, bool force)
{
	int fl = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	int fd = openat(dirfd, name, fl, 0666);

	if (fd < 0 && errno == EEXIST && force && !unlinkat(dirfd, name, 0))
		fd = openat(dirfd, name, fl, 0666);
	return fd;
}
