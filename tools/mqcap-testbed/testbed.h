/* SPDX-License-Identifier: BSD-2-Clause */
/* testbed.h - what the parts of mqcap-testbed share: the names of an instance's pieces and
 * the helpers that make and inspect them. */
#ifndef MQCAP_TESTBED_H
#define MQCAP_TESTBED_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "mqcap/rss.h"

/* An instance NAME names its device "NAME-tx"/"NAME-rx", which must fit IFNAMSIZ. */
#define TB_NAME_MAX (IFNAMSIZ - 1 - 3)
/* rtnetlink refuses more TX/RX queues than this for any device (rtnl_create_link()). */
#define TB_KERNEL_MAX_QUEUES 4096
#define TB_NS_PREFIX "mqtb-"
#define TB_PIN_ROOT "/sys/fs/bpf/mqcap-testbed"
#define TB_NETNS_DIR "/run/netns"

#define TB_TX_IP "198.18.0.1"
#define TB_RX_IP "198.18.0.2"
#define TB_TX_IP6 "fd00:198::1"
#define TB_RX_IP6 "fd00:198::2"
/* Fixed, locally administered MACs (02:..; c6:12 = 198.18): frames can be built without
 * asking, and the two ends live in different namespaces, so instances never clash. */
#define TB_TX_MAC "02:00:c6:12:00:01"
#define TB_RX_MAC "02:00:c6:12:00:02"

/* Parts of an instance, so that a failed `up` removes only what it made itself (a
 * concurrent `up` of the same name must not lose its namespaces to our rollback). */
#define PART_TX_NS (1u << 0)
#define PART_RX_NS (1u << 1)
#define PART_PINS  (1u << 2)
#define PART_ALL   (PART_TX_NS | PART_RX_NS | PART_PINS)

struct tb_names {
	char name[TB_NAME_MAX + 1];
	char tx_ns[64], rx_ns[64];
	char tx_dev[IFNAMSIZ], rx_dev[IFNAMSIZ];
	char pin_dir[128];
};

/* Fill n from an instance name; returns 0 or -1 after printing why the name is invalid. */
int tb_names_init(struct tb_names *n, const char *name);

/* --- tb_sys.c: processes, namespaces, files --- */

/* Run argv (argv[0] looked up in PATH). quiet: keep its stderr unless it fails, then print
 * it. Returns its exit status (0 = success), or -1 if it could not be run. */
int tb_run(bool quiet, const char *const argv[]);
bool tb_netns_exists(const char *ns);
bool tb_path_exists(const char *path);
/* Enter a named network namespace (setns); returns 0 or -errno. tb_netns_restore() goes back
 * to the one the process started in. */
int tb_netns_enter(const char *ns);
void tb_netns_restore(void);
/* For a forked child: enter ns and mount that namespace's sysfs on /sys in a private mount
 * namespace, as `ip netns exec` does, so /sys/class/net shows ns's devices. */
int tb_netns_enter_with_sysfs(const char *ns);
/* Make sure a bpffs is mounted on /sys/fs/bpf; returns 0 or -errno. */
int tb_bpffs_ensure(void);
/* Remove a directory of pins (files and the directory). Returns 0, or -errno. */
int tb_rm_pin_dir(const char *dir);

/* In the current network namespace: RX/TX queue count of dev (ethtool channels, falling
 * back to sysfs), its MAC as text, per-queue receive counters (veth's ethtool stats
 * rx_queue_N_xdp_packets, which count every frame NAPI delivered on queue N). */
int tb_dev_queues(const char *dev, unsigned *rx, unsigned *tx);
int tb_dev_mac(const char *dev, char *buf, unsigned len);
int tb_dev_rx_queue_packets(const char *dev, uint64_t *pkts, unsigned nq);

/* --- tb_rss.c: the RSS program --- */

struct tb_rss_conf {
	uint8_t key[MQCAP_RSS_KEY_LEN];
	uint16_t table[MQCAP_RSS_TABLE_SIZE];
	unsigned queues;
};

/* Load the RSS program for conf, pin its program and maps in n->pin_dir, attach it to
 * tc egress of n->tx_dev inside n->tx_ns. Adds PART_PINS to *made once it created
 * n->pin_dir (so a rollback removes only a directory of its own). Returns 0 or -1 after
 * printing why. */
int tb_rss_install(const struct tb_names *n, const struct tb_rss_conf *conf, unsigned *made);
/* Read key and table back from the pins. Returns 0 or -1 after printing why. */
int tb_rss_read(const struct tb_names *n, struct tb_rss_conf *conf);
/* Per-queue counters of the program (summed over CPUs) for queues [0, nq). */
int tb_rss_counters(const struct tb_names *n, uint64_t *pkts, uint64_t *bytes,
		    uint64_t *not_hashed, unsigned nq);

/* --- tb_sink.c: the count-and-drop XDP program, the bound make eval measures --- */

/* `mqcap-testbed sink NAME [-d SECONDS] [--json]`; returns the exit status. */
int tb_cmd_sink(int argc, char **argv);

#endif
