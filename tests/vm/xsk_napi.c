/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xsk_napi - for the guest suite: the NAPI id each AF_XDP socket of process PID has recorded
 * from the frames it received (SO_INCOMING_NAPI_ID, kept on XSKs since Linux 5.11 for busy
 * polling), as "inode NAPI_ID" lines; `ss --xdp -e` names each socket's queue by the same inode.
 * The sockets are borrowed with pidfd_getfd() (needs ptrace rights over PID: root).
 *   xsk_napi PID
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef SO_INCOMING_NAPI_ID
#define SO_INCOMING_NAPI_ID 56
#endif

int main(int argc, char **argv)
{
	char dir[64];
	struct dirent *de;
	int pid, pfd, found = 0;
	DIR *d;

	if (argc != 2 || (pid = atoi(argv[1])) <= 0) {
		fprintf(stderr, "usage: xsk_napi PID\n");
		return 2;
	}
	pfd = pidfd_open(pid, 0);
	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	d = opendir(dir);
	if (pfd < 0 || !d) {
		fprintf(stderr, "xsk_napi: process %d: %s\n", pid, strerror(errno));
		return 1;
	}
	while ((de = readdir(d))) {
		int fd, dom = 0, napi = 0;
		socklen_t l = sizeof(dom);
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		fd = pidfd_getfd(pfd, atoi(de->d_name), 0);
		if (fd < 0)
			continue;
		if (!getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l) && dom == AF_XDP && !fstat(fd, &st)) {
			l = sizeof(napi);
			if (getsockopt(fd, SOL_SOCKET, SO_INCOMING_NAPI_ID, &napi, &l))
				printf("%lu error %s\n", (unsigned long)st.st_ino, strerror(errno));
			else
				printf("%lu %d\n", (unsigned long)st.st_ino, napi);
			found++;
		}
		close(fd);
	}
	closedir(d);
	close(pfd);
	return found ? 0 : 1;
}
