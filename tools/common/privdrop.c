/* SPDX-License-Identifier: BSD-2-Clause */
/* privdrop.c - -Z USER: see privdrop.h. prctl/capset directly: no libcap needed. */
#include "privdrop.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cli.h"

/* USER as a passwd entry, or a bare number (uid = gid = N, no supplementary groups). */
static int lookup(const char *user, uid_t *uid, gid_t *gid, bool *named)
{
	struct passwd *pw;
	char *end;
	unsigned long n;

	errno = 0;
	pw = getpwnam(user);
	if (pw) {
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
		*named = true;
		return 0;
	}
	errno = 0;
	n = strtoul(user, &end, 10);
	if (*user && !*end && !errno && n < (uid_t)-1) {
		*uid = (uid_t)n;
		*gid = (gid_t)n;
		*named = false;
		return 0;
	}
	cli_warn("-Z %s: no such user", user);
	return -1;
}

/* The highest capability number this kernel knows (the bounding set has one bit per cap). */
static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
	int n = CAP_LAST_CAP;

	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = CAP_LAST_CAP;
		fclose(f);
	}
	return n;
}

/* Set the inheritable set to inh (permitted and effective as they are, or cleared too). */
static int caps_set(bool keep_held)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	memset(d, 0, sizeof(d));
	if (keep_held && syscall(SYS_capget, &h, d))
		return -1;
	for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
		d[i].inheritable = 0;
		if (!keep_held)
			d[i].permitted = d[i].effective = 0;
	}
	return (int)syscall(SYS_capset, &h, d);
}

/* One thread's status: uid/gid as asked, every Cap* line 0, NoNewPrivs 1. */
static int thread_verify(const char *path, uid_t uid, gid_t gid)
{
	FILE *f = fopen(path, "r");
	char line[256];
	int bad = 0, nnp = 0;

	if (!f) {
		cli_warn("-Z: cannot read %s to check the drop: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;
		unsigned a, b, c, e;

		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "Cap", 3) && sscanf(line, "%*s %llx", &v) == 1 && v)
			bad = 1;
		else if (sscanf(line, "Uid: %u %u %u %u", &a, &b, &c, &e) == 4 &&
			 (a != uid || b != uid || c != uid || e != uid))
			bad = 1;
		else if (sscanf(line, "Gid: %u %u %u %u", &a, &b, &c, &e) == 4 &&
			 (a != gid || b != gid || c != gid || e != gid))
			bad = 1;
		else if (sscanf(line, "NoNewPrivs: %d", &nnp) == 1)
			continue;
		else
			continue;
		if (bad) {
			cli_warn("-Z: the drop did not hold in %s: %s", path, line);
			break;
		}
	}
	fclose(f);
	if (!bad && nnp != 1) {
		cli_warn("-Z: no_new_privs is not set in %s", path);
		bad = 1;
	}
	return bad ? -1 : 0;
}

/* Every thread of the process, not only this one: the capture's threads run the packets. */
static int verify_all(uid_t uid, gid_t gid)
{
	DIR *dir = opendir("/proc/self/task");
	struct dirent *de;
	int rc = 0, n = 0;

	if (!dir) {
		cli_warn("-Z: cannot list /proc/self/task to check the drop: %s", strerror(errno));
		return -1;
	}
	while (!rc && (de = readdir(dir))) {
		char path[300];

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/status", de->d_name);
		rc = thread_verify(path, uid, gid);
		n++;
	}
	closedir(dir);
	if (!rc && !n) {
		cli_warn("-Z: /proc/self/task lists no thread");
		rc = -1;
	}
	return rc;
}

int cli_privileges_user_check(const char *user)
{
	uid_t uid;
	gid_t gid;
	bool named;

	if (lookup(user, &uid, &gid, &named))
		return -1;
	if (uid == 0) {
		cli_warn("-Z %s: that is root; -Z is for giving root up", user);
		return -1;
	}
	return 0;
}

int cli_privileges_prepare(const char *user)
{
	/* EINVAL: a number this kernel does not know (cap_last_cap said otherwise: harmless) */
	for (int c = 0; c <= last_cap(); c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) && errno != EINVAL) {
			cli_warn("-Z %s: cannot empty the capability bounding set (%s): run as root or "
				 "with CAP_SETPCAP", user, strerror(errno));
			return -1;
		}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL) {
		cli_warn("-Z %s: cannot clear the ambient capabilities: %s", user, strerror(errno));
		return -1;
	}
	if (caps_set(true)) {
		cli_warn("-Z %s: cannot clear the inheritable capabilities: %s", user, strerror(errno));
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		cli_warn("-Z %s: cannot set no_new_privs: %s", user, strerror(errno));
		return -1;
	}
	return 0;
}

int cli_drop_privileges(const char *user)
{
	uid_t uid;
	gid_t gid;
	bool named;

	if (cli_privileges_user_check(user) || lookup(user, &uid, &gid, &named))
		return -1;
	if ((named ? initgroups(user, gid) : setgroups(0, NULL)) ||
	    setresgid(gid, gid, gid) || setresuid(uid, uid, uid)) {
		cli_warn("-Z %s: cannot become uid %u gid %u: %s", user, (unsigned)uid, (unsigned)gid,
			 strerror(errno));
		return -1;
	}
	/* A uid change from 0 cleared the sets already; a process that was not root
	 * (capabilities from setpriv or file caps) still holds them in this thread. */
	if (caps_set(false)) {
		cli_warn("-Z %s: cannot clear the capability sets: %s", user, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0 || getuid() != uid || geteuid() != uid || getgid() != gid ||
	    getegid() != gid) {
		cli_warn("-Z %s: the drop did not hold (uid %u euid %u)", user, (unsigned)getuid(),
			 (unsigned)geteuid());
		return -1;
	}
	return verify_all(uid, gid);
}
