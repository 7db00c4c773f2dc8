/* SPDX-License-Identifier: BSD-2-Clause */
/* tb_sys.c - the system side of the testbed: run ip/ethtool, move between network
 * namespaces, mount what is needed, read device facts with ethtool ioctls. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/ethtool.h>
#include <linux/magic.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>

#include "cli.h"
#include "testbed.h"

extern char **environ;

int tb_run(bool quiet, const char *const argv[])
{
	char errpath[] = "/tmp/mqcap-testbed.XXXXXX";
	posix_spawn_file_actions_t fa;
	int errfd = -1, status, r;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	if (quiet) {
		/* Keep the child's complaints and show them only when it fails: a clean `up`
		 * prints nothing, a failed one says what ip/ethtool said. */
		errfd = mkstemp(errpath);
		if (errfd >= 0) {
			unlink(errpath);
			posix_spawn_file_actions_adddup2(&fa, errfd, STDERR_FILENO);
			posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
		}
	}
	r = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r) {
		cli_warn("cannot run %s: %s", argv[0], strerror(r));
		if (errfd >= 0)
			close(errfd);
		return -1;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	r = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (r && errfd >= 0) {
		char buf[2048];
		ssize_t n;
		unsigned i;

		fprintf(stderr, "%s: command failed:", program_invocation_short_name);
		for (i = 0; argv[i]; i++)
			fprintf(stderr, " %s", argv[i]);
		fputc('\n', stderr);
		lseek(errfd, 0, SEEK_SET);
		while ((n = read(errfd, buf, sizeof(buf))) > 0)
			fwrite(buf, 1, (size_t)n, stderr);
	}
	if (errfd >= 0)
		close(errfd);
	return r;
}

bool tb_path_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

bool tb_netns_exists(const char *ns)
{
	char path[128];

	snprintf(path, sizeof(path), TB_NETNS_DIR "/%s", ns);
	return tb_path_exists(path);
}

static int orig_netns = -1;

int tb_netns_enter(const char *ns)
{
	char path[128];
	int fd, r = 0;

	if (orig_netns < 0) {
		orig_netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (orig_netns < 0)
			return -errno;
	}
	snprintf(path, sizeof(path), TB_NETNS_DIR "/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (setns(fd, CLONE_NEWNET))
		r = -errno;
	close(fd);
	return r;
}

void tb_netns_restore(void)
{
	if (orig_netns >= 0 && setns(orig_netns, CLONE_NEWNET))
		cli_die(1, "cannot return to the original network namespace: %s", strerror(errno));
}

int tb_netns_enter_with_sysfs(const char *ns)
{
	int r = tb_netns_enter(ns);

	if (r)
		return r;
	/* sysfs shows the devices of the namespace that mounted it: mount a new one, in a
	 * mount namespace of our own so nobody else's /sys changes. */
	if (unshare(CLONE_NEWNS))
		return -errno;
	if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL))
		return -errno;
	umount2("/sys", MNT_DETACH);
	if (mount("sysfs", "/sys", "sysfs", 0, NULL))
		return -errno;
	return 0;
}

int tb_bpffs_ensure(void)
{
	struct statfs sf;

	if (statfs("/sys/fs/bpf", &sf) == 0 && sf.f_type == BPF_FS_MAGIC)
		return 0;
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
		return -errno;
	return 0;
}

int tb_rm_pin_dir(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int r = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char path[512];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) && errno != ENOENT)
			r = -errno;
	}
	closedir(d);
	if (rmdir(dir) && errno != ENOENT)
		r = -errno;
	return r;
}

/* One interface ioctl on a throwaway socket: ifr gets dev's name, the rest is the caller's. */
static int dev_ioctl(const char *dev, unsigned long req, struct ifreq *ifr)
{
	int fd, r = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", dev);
	if (ioctl(fd, req, ifr))
		r = -errno;
	close(fd);
	return r;
}

static int ethtool_ioctl(const char *dev, void *cmd)
{
	struct ifreq ifr = { .ifr_data = cmd };

	return dev_ioctl(dev, SIOCETHTOOL, &ifr);
}

int tb_dev_queues(const char *dev, unsigned *rx, unsigned *tx)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	int r = ethtool_ioctl(dev, &ch);

	if (r)
		return r;
	/* veth reports its real queue counts as rx/tx_count */
	*rx = ch.rx_count ? ch.rx_count : ch.combined_count;
	*tx = ch.tx_count ? ch.tx_count : ch.combined_count;
	return 0;
}

int tb_dev_mac(const char *dev, char *buf, unsigned len)
{
	struct ifreq ifr = { 0 };
	unsigned char *m;
	int r = dev_ioctl(dev, SIOCGIFHWADDR, &ifr);

	if (r)
		return r;
	m = (unsigned char *)ifr.ifr_hwaddr.sa_data;
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return 0;
}

int tb_dev_rx_queue_packets(const char *dev, uint64_t *pkts, unsigned nq)
{
	struct {
		struct ethtool_sset_info hdr;
		uint32_t len;
	} sset = { .hdr = { .cmd = ETHTOOL_GSSET_INFO, .sset_mask = 1ull << ETH_SS_STATS } };
	struct ethtool_gstrings *strs = NULL;
	struct ethtool_stats *stats = NULL;
	unsigned n, i;
	int r;

	for (i = 0; i < nq; i++)
		pkts[i] = 0;
	r = ethtool_ioctl(dev, &sset);
	if (r)
		return r;
	n = sset.len;
	strs = calloc(1, sizeof(*strs) + (size_t)n * ETH_GSTRING_LEN);
	stats = calloc(1, sizeof(*stats) + (size_t)n * sizeof(uint64_t));
	if (!strs || !stats) {
		r = -ENOMEM;
		goto out;
	}
	strs->cmd = ETHTOOL_GSTRINGS;
	strs->string_set = ETH_SS_STATS;
	strs->len = n;
	stats->cmd = ETHTOOL_GSTATS;
	stats->n_stats = n;
	r = ethtool_ioctl(dev, strs);
	if (!r)
		r = ethtool_ioctl(dev, stats);
	if (r)
		goto out;
	for (i = 0; i < n; i++) {
		char name[ETH_GSTRING_LEN + 1];
		unsigned q;
		int used = 0;

		memcpy(name, strs->data + (size_t)i * ETH_GSTRING_LEN, ETH_GSTRING_LEN);
		name[ETH_GSTRING_LEN] = '\0';
		if (sscanf(name, "rx_queue_%u_xdp_packets%n", &q, &used) == 1 &&
		    used == (int)strlen(name) && q < nq)
			pkts[q] = stats->data[i];
	}
out:
	free(strs);
	free(stats);
	return r;
}
