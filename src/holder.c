/* SPDX-License-Identifier: BSD-2-Clause */
/* holder.c - which process holds a BPF link (see holder_int.h). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "holder_int.h"

/* Whether the fd whose fdinfo is at path is BPF link link_id. */
static bool fd_is_link(const char *path, unsigned link_id)
{
	char line[128];
	bool found = false;
	unsigned id;
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "link_id: %u", &id) == 1 && id == link_id;
	fclose(f);
	return found;
}

bool mqcap__holder_has_link(int pid, unsigned link_id)
{
	char path[600];
	struct dirent *de;
	bool found = false;
	DIR *fds;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo", pid);
	fds = opendir(path);
	if (!fds)
		return false;
	while (!found && (de = readdir(fds))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%s", pid, de->d_name);
		found = fd_is_link(path, link_id);
	}
	closedir(fds);
	return found;
}

int mqcap__holder_of_link(unsigned link_id)
{
	struct dirent *de;
	int pid = 0;
	DIR *proc = opendir("/proc");

	if (!proc)
		return 0;
	while (!pid && (de = readdir(proc))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		if (mqcap__holder_has_link(atoi(de->d_name), link_id))
			pid = atoi(de->d_name);
	}
	closedir(proc);
	return pid;
}

void mqcap__holder_comm(int pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(buf, len, "?");
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}
