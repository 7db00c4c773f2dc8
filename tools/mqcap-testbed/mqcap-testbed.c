/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mqcap-testbed - a sender and a multi-queue RSS receiver on one machine: two network
 * namespaces joined by a veth pair with N queues, a tc egress program on the sender that
 * hashes each frame as an RSS NIC does and sends it on the TX queue its indirection table
 * names (veth delivers TX queue q on RX queue q of the peer), and NAPI on the receiver.
 * See mqcap-testbed.8.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "mqcap/mqcap.h"
#include "mqcap/napi.h"
#include "mqcap/queues.h"
#include "mqcap/rss.h"
#include "cli.h"
#include "testbed.h"

static const char usage_text[] =
"Usage: mqcap-testbed COMMAND [ARGS]\n"
"A sender and a multi-queue RSS receiver on one machine (two network namespaces, a veth\n"
"pair with N queues, Toeplitz RSS emulated on the sender's tc egress).\n"
"\n"
"Commands:\n"
"  up --name NAME [OPTIONS]   build instance NAME (or: up NAME [OPTIONS])\n"
"  down NAME                  remove everything instance NAME made (also a half-made one)\n"
"  status NAME                per-queue counters (RSS program and receiver), NAPI threads,\n"
"                             RSS key and table\n"
"  list                       instances, and leftovers of crashed runs\n"
"  env NAME                   shell assignments for scripts: eval \"$(mqcap-testbed env NAME)\"\n"
"  sink NAME [-d SECS] [--json]  count and drop every frame the receiver gets (XDP), until\n"
"                             stopped; prints the totals: the bound of any capture here\n"
"\n"
"Options of up:\n"
"  -n, --name NAME        instance name: 1-%d of [A-Za-z0-9_], '-' inside; devices are\n"
"                         NAME-tx and NAME-rx, namespaces " TB_NS_PREFIX "NAME-tx/-rx\n"
"  -q, --queues N         TX/RX queues of the veth pair (default 4, 1..%d)\n"
"      --symmetric        key 0x6d5a repeated: both directions of a flow hash alike\n"
"      --key HEX          the 40-byte Toeplitz key as 80 hex digits (':' between bytes\n"
"                         allowed); default: the Microsoft key\n"
"  -w, --weights W0,W1..  indirection table with queue shares W0:W1:...; 4,1,1,1 makes\n"
"                         queue 0 hot (default: entry i -> queue i %% N)\n"
"      --napi MODE        receiver NAPI polling: inline (softirq, default) or threaded\n"
"                         (one napi/DEV-ID kernel thread per RX queue)\n"
"      --napi-cpus LIST   with --napi threaded: pin queue i's thread to the i-th CPU of\n"
"                         LIST (e.g. 0-1 or 0,1; cycles when shorter than the queues)\n"
"  -h, --help             this help\n"
"\n"
"Addresses: sender " TB_TX_IP " / " TB_TX_IP6 ", receiver " TB_RX_IP " / " TB_RX_IP6 ",\n"
"MACs " TB_TX_MAC " / " TB_RX_MAC " (static neighbour entries: no ARP on the link).\n"
"Needs root. Exit status: 0 ok, 1 failure, 2 bad usage.\n";

static void usage(FILE *f)
{
	fprintf(f, usage_text, TB_NAME_MAX, MQCAP_RSS_MAX_QUEUES);
}

static _Noreturn void bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", program_invocation_short_name);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'mqcap-testbed --help'.\n");
	exit(2);
}

int tb_names_init(struct tb_names *n, const char *name)
{
	size_t len = name ? strlen(name) : 0, i;

	if (len == 0 || len > TB_NAME_MAX) {
		cli_warn("instance name '%s': must be 1 to %d characters (its devices NAME-tx/NAME-rx "
			 "must fit the kernel's %d-byte interface names)", name ? name : "", TB_NAME_MAX,
			 IFNAMSIZ - 1);
		return -1;
	}
	for (i = 0; i < len; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '_' || (c == '-' && i > 0 && i + 1 < len);

		if (!ok) {
			cli_warn("instance name '%s': only letters, digits, '_' and (not first or last) "
				 "'-' are allowed", name);
			return -1;
		}
	}
	memset(n, 0, sizeof(*n));
	memcpy(n->name, name, len);
	snprintf(n->tx_ns, sizeof(n->tx_ns), TB_NS_PREFIX "%s-tx", name);
	snprintf(n->rx_ns, sizeof(n->rx_ns), TB_NS_PREFIX "%s-rx", name);
	snprintf(n->tx_dev, sizeof(n->tx_dev), "%s-tx", name);
	snprintf(n->rx_dev, sizeof(n->rx_dev), "%s-rx", name);
	snprintf(n->pin_dir, sizeof(n->pin_dir), TB_PIN_ROOT "/%s", name);
	return 0;
}

static void need_root(void)
{
	if (geteuid() != 0)
		cli_die(1, "must run as root: the testbed creates network namespaces, veth devices and "
			"BPF programs (nothing was changed)");
}

/* ---- down ---- */

/* Remove the parts (PART_*) of instance n that exist. Returns how many were removed, -1 on
 * error. */
static int remove_instance(const struct tb_names *n, unsigned parts, bool quiet)
{
	const char *nss[2] = { n->tx_ns, n->rx_ns };
	int removed = 0, err = 0, i, r;

	/* Delete the veth pair first: a namespace lives on while any process is still inside
	 * (a capture a test forgot), and with it its devices and the tc program. Deleting one
	 * end removes both, and with the sender's end its qdisc and the RSS program. */
	if ((parts & PART_TX_NS) && tb_netns_exists(n->tx_ns) && tb_netns_enter(n->tx_ns) == 0) {
		bool dev = if_nametoindex(n->tx_dev) != 0;

		tb_netns_restore();
		if (dev)
			tb_run(true, (const char *const[]){ "ip", "-n", n->tx_ns, "link", "delete",
							    n->tx_dev, NULL });
	}
	for (i = 0; i < 2; i++) {
		if (!(parts & (i ? PART_RX_NS : PART_TX_NS)) || !tb_netns_exists(nss[i]))
			continue;
		r = tb_run(true, (const char *const[]){ "ip", "netns", "delete", nss[i], NULL });
		if (r) {
			err = 1;
			continue;
		}
		removed++;
		if (!quiet)
			printf("removed namespace %s\n", nss[i]);
	}
	if ((parts & PART_PINS) && tb_path_exists(n->pin_dir)) {
		r = tb_rm_pin_dir(n->pin_dir);
		if (r) {
			cli_warn("cannot remove %s: %s", n->pin_dir, strerror(-r));
			err = 1;
		} else {
			removed++;
			if (!quiet)
				printf("removed pins %s\n", n->pin_dir);
		}
	}
	return err ? -1 : removed;
}

static int cmd_down(int argc, char **argv)
{
	struct tb_names n;
	int r;

	if (argc != 2)
		bad_usage("down takes one instance name%s", "");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	if (tb_names_init(&n, argv[1]))
		return 2;
	need_root();
	tb_bpffs_ensure();
	r = remove_instance(&n, PART_ALL, false);
	if (r < 0)
		return 1;
	if (r == 0) {
		cli_warn("no instance '%s' (nothing to remove; see mqcap-testbed list)", n.name);
		return 1;
	}
	return 0;
}

/* ---- up ---- */

struct up_opts {
	const char *name;
	unsigned queues;
	bool symmetric;
	const char *key_hex;
	const char *weights;
	bool threaded;
	const char *napi_cpus;
};

static int parse_weights(const char *s, unsigned *w, unsigned max)
{
	unsigned n = 0;
	const char *p = s;

	while (*p) {
		char *end;
		unsigned long v;

		if (*p < '0' || *p > '9')
			return -1;
		errno = 0;
		v = strtoul(p, &end, 10);
		if (errno || v > 1000000 || n == max)
			return -1;
		w[n++] = (unsigned)v;
		p = end;
		if (*p == ',') {
			p++;
			if (!*p)
				return -1;
		} else if (*p) {
			return -1;
		}
	}
	return (int)n;
}

/* The NAPI part runs in a child: it needs the receiver namespace's sysfs on /sys. */
static int napi_threaded_child(const struct tb_names *n, unsigned queues, const int *cpus,
			       int ncpus)
{
	int r = tb_netns_enter_with_sysfs(n->rx_ns), i, found = 0;

	if (r) {
		cli_warn("cannot enter %s with its sysfs: %s", n->rx_ns, strerror(-r));
		return 1;
	}
	r = mqcap_napi_set_threaded(n->rx_dev, true);
	if (r) {
		cli_warn("%s", mqcap_last_error());
		return 1;
	}
	/* The kernel starts the threads as it switches; give them a moment to show in /proc. */
	for (i = 0; i < 100; i++) {
		found = mqcap_napi_list(n->rx_dev, NULL, 0);
		if (found >= (int)queues)
			break;
		usleep(10000);
	}
	if (found != (int)queues) {
		cli_warn("%s: expected %u NAPI threads, found %d", n->rx_dev, queues, found);
		return 1;
	}
	if (ncpus > 0) {
		r = mqcap_napi_pin_queues(n->rx_dev, cpus, (unsigned)ncpus);
		if (r < 0) {
			cli_warn("%s", mqcap_last_error());
			return 1;
		}
	}
	return 0;
}

static int run_napi_threaded(const struct tb_names *n, unsigned queues, const int *cpus, int ncpus)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		cli_warn("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0)
		_exit(napi_threaded_child(n, queues, cpus, ncpus));
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

#define RUN(...) do { \
		if (tb_run(true, (const char *const[]){ __VA_ARGS__, NULL })) \
			goto fail; \
	} while (0)

static int quiet_ipv6(const char *ns, const char *dev)
{
	static const char *const knobs[] = { "router_solicitations=0", "dad_transmits=0",
					     "mldv1_unsolicited_report_interval=0",
					     "mldv2_unsolicited_report_interval=0" };
	char key[128];

	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		snprintf(key, sizeof(key), "net.ipv6.conf.%s.%s", dev, knobs[i]);
		RUN("ip", "netns", "exec", ns, "sysctl", "-qw", key);
	}
	return 0;
fail:
	return -1;
}

static int build_instance(const struct tb_names *n, const struct up_opts *o,
			  const struct tb_rss_conf *conf, const int *cpus, int ncpus, unsigned *made)
{
	char qs[16];

	snprintf(qs, sizeof(qs), "%u", o->queues);
	RUN("ip", "netns", "add", n->tx_ns);
	*made |= PART_TX_NS;
	RUN("ip", "netns", "add", n->rx_ns);
	*made |= PART_RX_NS;
	/* Made inside the sender's namespace with the peer created straight in the receiver's:
	 * the names never appear in the caller's namespace, where they could clash. */
	RUN("ip", "-n", n->tx_ns, "link", "add", n->tx_dev, "address", TB_TX_MAC,
	    "numtxqueues", qs, "numrxqueues", qs, "type", "veth", "peer", "name", n->rx_dev,
	    "address", TB_RX_MAC, "netns", n->rx_ns, "numtxqueues", qs, "numrxqueues", qs);
	RUN("ip", "-n", n->tx_ns, "addr", "add", TB_TX_IP "/24", "dev", n->tx_dev);
	RUN("ip", "-n", n->rx_ns, "addr", "add", TB_RX_IP "/24", "dev", n->rx_dev);
	RUN("ip", "-n", n->tx_ns, "-6", "addr", "add", TB_TX_IP6 "/64", "dev", n->tx_dev, "nodad");
	RUN("ip", "-n", n->rx_ns, "-6", "addr", "add", TB_RX_IP6 "/64", "dev", n->rx_dev, "nodad");
	RUN("ip", "-n", n->tx_ns, "link", "set", "lo", "up");
	RUN("ip", "-n", n->rx_ns, "link", "set", "lo", "up");
	/*
	 * NAPI on the receiver. veth has NAPI instances (hence per-queue RX counters, native
	 * XDP, threaded NAPI) only with an XDP program attached or with GRO on. An XDP program
	 * would take the hook mqcap's AF_XDP backend needs, so: GRO on the receiver. And TSO
	 * off on the sender, because veth_xmit() hands a frame to the peer's NAPI only when
	 * the sender has no TSO (else it takes the non-NAPI netif_rx path, where none of the
	 * above applies). Measured on 6.18: with both, every queue counts in
	 * rx_queue_N_xdp_packets and /sys/class/net/DEV/threaded can be set.
	 */
	RUN("ip", "netns", "exec", n->rx_ns, "ethtool", "-K", n->rx_dev, "gro", "on");
	RUN("ip", "netns", "exec", n->tx_ns, "ethtool", "-K", n->tx_dev, "tso", "off");
	/* A quiet link: the kernel's own IPv6 frames (router solicitations 4 s apart, duplicate
	 * address detection of the link-local address, delayed listener reports) otherwise reach
	 * the receiver's queues seconds after link up, in the middle of tests that count frames
	 * exactly. No solicitations, no DAD, and listener reports all sent at link up. */
	if (quiet_ipv6(n->tx_ns, n->tx_dev) || quiet_ipv6(n->rx_ns, n->rx_dev))
		goto fail;
	/* The RSS program goes in before the links come up: the kernel's own first frames (IPv6
	 * multicast listener reports at link up) must be hashed and counted like every other,
	 * or the receiver counts frames the program never saw (testbed_rss, 2 of 5057). */
	if (tb_rss_install(n, conf, made))
		goto fail;
	RUN("ip", "-n", n->rx_ns, "link", "set", n->rx_dev, "up");
	RUN("ip", "-n", n->tx_ns, "link", "set", n->tx_dev, "up");
	/* Static neighbours: no ARP/ND frames on the link that tests would have to tell apart. */
	RUN("ip", "-n", n->tx_ns, "neigh", "replace", TB_RX_IP, "lladdr", TB_RX_MAC, "dev",
	    n->tx_dev, "nud", "permanent");
	RUN("ip", "-n", n->tx_ns, "neigh", "replace", TB_RX_IP6, "lladdr", TB_RX_MAC, "dev",
	    n->tx_dev, "nud", "permanent");
	RUN("ip", "-n", n->rx_ns, "neigh", "replace", TB_TX_IP, "lladdr", TB_TX_MAC, "dev",
	    n->rx_dev, "nud", "permanent");
	RUN("ip", "-n", n->rx_ns, "neigh", "replace", TB_TX_IP6, "lladdr", TB_TX_MAC, "dev",
	    n->rx_dev, "nud", "permanent");
	if (o->threaded && run_napi_threaded(n, o->queues, cpus, ncpus))
		goto fail;
	return 0;
fail:
	return -1;
}

static int cmd_up(int argc, char **argv)
{
	enum { OPT_SYM = 256, OPT_KEY, OPT_NAPI, OPT_NAPI_CPUS };
	static const struct option lopts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "queues", required_argument, NULL, 'q' },
		{ "symmetric", no_argument, NULL, OPT_SYM },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "weights", required_argument, NULL, 'w' },
		{ "napi", required_argument, NULL, OPT_NAPI },
		{ "napi-cpus", required_argument, NULL, OPT_NAPI_CPUS },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct up_opts o = { .queues = 4 };
	static const uint8_t ms_key[] = MQCAP_RSS_KEY_MICROSOFT, sym_key[] = MQCAP_RSS_KEY_SYMMETRIC;
	struct tb_rss_conf conf;
	struct tb_names n;
	unsigned weights[MQCAP_RSS_MAX_QUEUES];
	int nweights = 0, c, ncpus = 0, cpus[CPU_SETSIZE];
	unsigned made = 0;
	uint64_t v;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":n:q:w:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o.name = optarg;
			break;
		case 'q':
			if (cli_parse_u64(optarg, "--queues", &v))
				exit(2);
			if (v == 0)
				bad_usage("--queues 0: a device needs at least one queue%s", "");
			if (v > TB_KERNEL_MAX_QUEUES) {
				fprintf(stderr, "%s: --queues %s: the kernel allows at most %d queues per "
					"device\n", program_invocation_short_name, optarg, TB_KERNEL_MAX_QUEUES);
				exit(2);
			}
			if (v > MQCAP_RSS_MAX_QUEUES) {
				fprintf(stderr, "%s: --queues %s: the testbed's RSS program handles at most "
					"%d queues\n", program_invocation_short_name, optarg,
					MQCAP_RSS_MAX_QUEUES);
				exit(2);
			}
			o.queues = (unsigned)v;
			break;
		case OPT_SYM:
			o.symmetric = true;
			break;
		case OPT_KEY:
			o.key_hex = optarg;
			break;
		case 'w':
			o.weights = optarg;
			break;
		case OPT_NAPI:
			if (!strcmp(optarg, "threaded"))
				o.threaded = true;
			else if (!strcmp(optarg, "inline"))
				o.threaded = false;
			else
				bad_usage("--napi '%s': use threaded or inline", optarg);
			break;
		case OPT_NAPI_CPUS:
			o.napi_cpus = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			bad_usage("option '%s' needs a value", argv[optind - 1]);
		default:
			bad_usage("unknown option '%s' for up", argv[optind - 1]);
		}
	}
	if (optind < argc && !o.name)
		o.name = argv[optind++];
	if (optind < argc)
		bad_usage("unexpected argument '%s'", argv[optind]);
	if (!o.name)
		bad_usage("up needs an instance name: mqcap-testbed up --name NAME%s", "");
	if (tb_names_init(&n, o.name))
		exit(2);
	if (o.symmetric && o.key_hex)
		bad_usage("--symmetric and --key both set the key: use one%s", "");
	memcpy(conf.key, o.symmetric ? sym_key : ms_key, sizeof(conf.key));
	if (o.key_hex && mqcap_rss_key_parse(o.key_hex, conf.key))
		bad_usage("--key '%s': expected 40 bytes as 80 hex digits (optionally aa:bb:...)",
			  o.key_hex);
	if (o.weights) {
		nweights = parse_weights(o.weights, weights, MQCAP_RSS_MAX_QUEUES);
		if (nweights <= 0)
			bad_usage("--weights '%s': expected comma-separated numbers, e.g. 4,1,1,1",
				  o.weights);
		if ((unsigned)nweights > o.queues) {
			fprintf(stderr, "%s: --weights: %d weights for %u queues\n",
				program_invocation_short_name, nweights, o.queues);
			exit(2);
		}
	}
	conf.queues = o.queues;
	if (mqcap_rss_table_fill(conf.table, o.queues, o.weights ? weights : NULL,
				 (unsigned)nweights))
		bad_usage("--weights '%s': at least one weight must be above zero", o.weights);
	if (o.napi_cpus) {
		if (!o.threaded)
			bad_usage("--napi-cpus needs --napi threaded%s", "");
		ncpus = cli_parse_cpu_order(o.napi_cpus, "--napi-cpus", cpus, CPU_SETSIZE);
		if (ncpus < 0)
			exit(2);
		if (ncpus > CPU_SETSIZE)
			ncpus = CPU_SETSIZE;
	}

	need_root();
	if (tb_netns_exists(n.tx_ns) || tb_netns_exists(n.rx_ns) || tb_path_exists(n.pin_dir)) {
		cli_warn("instance '%s' already exists (or a crashed run left parts of it): "
			 "run 'mqcap-testbed down %s' first (nothing was changed)", n.name, n.name);
		return 1;
	}
	c = tb_bpffs_ensure();
	if (c) {
		cli_warn("cannot mount bpffs on /sys/fs/bpf: %s (nothing was changed)", strerror(-c));
		return 1;
	}
	if (build_instance(&n, &o, &conf, cpus, ncpus, &made)) {
		remove_instance(&n, made, true);
		cli_warn("instance '%s' not created; everything it had made is removed", n.name);
		return 1;
	}
	printf("testbed %s up: %s/%s -> %s/%s, %u queues, %s key, NAPI %s\n", n.name, n.tx_ns,
	       n.tx_dev, n.rx_ns, n.rx_dev, o.queues,
	       o.symmetric ? "symmetric" : o.key_hex ? "custom" : "Microsoft",
	       o.threaded ? "threaded" : "inline");
	return 0;
}

/* ---- list ---- */

struct inst {
	char name[TB_NAME_MAX + 1];
	bool tx, rx, pins;
};

static struct inst *find_or_add(struct inst *v, unsigned *n, unsigned max, const char *name)
{
	unsigned i;

	for (i = 0; i < *n; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	if (*n == max || strlen(name) > TB_NAME_MAX)
		return NULL;
	memset(&v[*n], 0, sizeof(v[*n]));
	strcpy(v[*n].name, name);
	return &v[(*n)++];
}

static int cmd_list(int argc, char **argv)
{
	struct inst v[256];
	unsigned n = 0, i;
	struct dirent *de;
	DIR *d;

	(void)argv;
	if (argc != 1)
		bad_usage("list takes no arguments%s", "");
	d = opendir(TB_NETNS_DIR);
	while (d && (de = readdir(d))) {
		size_t len = strlen(de->d_name), pl = strlen(TB_NS_PREFIX);
		char name[64];
		struct inst *in;

		if (len <= pl + 3 || strncmp(de->d_name, TB_NS_PREFIX, pl))
			continue;
		if (strcmp(de->d_name + len - 3, "-tx") && strcmp(de->d_name + len - 3, "-rx"))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(len - pl - 3), de->d_name + pl);
		in = find_or_add(v, &n, 256, name);
		if (in && !strcmp(de->d_name + len - 3, "-tx"))
			in->tx = true;
		else if (in)
			in->rx = true;
	}
	if (d)
		closedir(d);
	d = opendir(TB_PIN_ROOT);
	while (d && (de = readdir(d))) {
		struct inst *in;

		if (de->d_name[0] == '.')
			continue;
		in = find_or_add(v, &n, 256, de->d_name);
		if (in)
			in->pins = true;
	}
	if (d)
		closedir(d);
	if (n == 0) {
		printf("no testbed instances\n");
		return 0;
	}
	printf("%-14s %-8s %s\n", "NAME", "STATE", "PARTS");
	for (i = 0; i < n; i++) {
		bool full = v[i].tx && v[i].rx && v[i].pins;

		char parts[64];

		snprintf(parts, sizeof(parts), "%s%s%s", v[i].tx ? " tx-netns" : "",
			 v[i].rx ? " rx-netns" : "", v[i].pins ? " pins" : "");
		if (full)
			printf("%-14s %-8s %s\n", v[i].name, "up", parts + 1);
		else
			printf("%-14s %-8s %s  (remove with: mqcap-testbed down %s)\n", v[i].name,
			       "leftover", parts + 1, v[i].name);
	}
	return 0;
}

/* ---- env and status ---- */

struct facts {
	unsigned queues;
	char tx_mac[32], rx_mac[32];
	struct tb_rss_conf conf;
};

static int read_facts(const struct tb_names *n, struct facts *f)
{
	unsigned rxq, txq;
	int r;

	if (!tb_netns_exists(n->tx_ns) || !tb_netns_exists(n->rx_ns)) {
		cli_warn("no instance '%s' (see mqcap-testbed list)", n->name);
		return -1;
	}
	if (tb_bpffs_ensure() || tb_rss_read(n, &f->conf))
		return -1;
	r = tb_netns_enter(n->rx_ns);
	if (!r) {
		r = tb_dev_queues(n->rx_dev, &rxq, &txq);
		/* the RX count as the library sees it (queues.h), the one count for every tool */
		if (!r) {
			int nq = mqcap_dev_rx_queues(n->rx_dev, 0);

			r = nq < 0 ? nq : 0;
			rxq = nq > 0 ? (unsigned)nq : rxq;
		}
		if (!r)
			r = tb_dev_mac(n->rx_dev, f->rx_mac, sizeof(f->rx_mac));
		tb_netns_restore();
	}
	if (!r && !(r = tb_netns_enter(n->tx_ns))) {
		r = tb_dev_mac(n->tx_dev, f->tx_mac, sizeof(f->tx_mac));
		tb_netns_restore();
	}
	if (r) {
		cli_warn("instance '%s' is incomplete: %s (remove it with mqcap-testbed down %s)",
			 n->name, strerror(-r), n->name);
		return -1;
	}
	f->queues = rxq;
	f->conf.queues = rxq;
	return 0;
}

static int cmd_env(int argc, char **argv)
{
	char key[2 * MQCAP_RSS_KEY_LEN + 1], table[6 * MQCAP_RSS_TABLE_SIZE];
	struct tb_names n;
	struct facts f;

	if (argc != 2)
		bad_usage("env takes one instance name%s", "");
	if (tb_names_init(&n, argv[1]))
		return 2;
	need_root();
	if (read_facts(&n, &f))
		return 1;
	mqcap_rss_key_format(f.conf.key, key, sizeof(key));
	mqcap_rss_table_format(f.conf.table, table, sizeof(table));
	printf("TB_NAME=%s\nTX_NS=%s\nTX_DEV=%s\nRX_NS=%s\nRX_DEV=%s\n", n.name, n.tx_ns, n.tx_dev,
	       n.rx_ns, n.rx_dev);
	printf("TX_IP=%s\nRX_IP=%s\nTX_IP6=%s\nRX_IP6=%s\nTX_MAC=%s\nRX_MAC=%s\n", TB_TX_IP, TB_RX_IP,
	       TB_TX_IP6, TB_RX_IP6, f.tx_mac, f.rx_mac);
	printf("QUEUES=%u\nRSS_KEY=%s\nRSS_TABLE=%s\nTB_PIN_DIR=%s\n", f.queues, key, table, n.pin_dir);
	return 0;
}

static void print_cpuset(const cpu_set_t *s, char *buf, size_t len)
{
	size_t off = 0;
	int c, first = -1, prev = -2;

	buf[0] = '\0';
	for (c = 0; c <= CPU_SETSIZE; c++) {
		bool in = c < CPU_SETSIZE && CPU_ISSET(c, s);

		if (in && first < 0)
			first = c;
		if (!in && first >= 0) {
			prev = c - 1;
			off += (size_t)snprintf(buf + off, len > off ? len - off : 0, "%s%d", off ? "," : "",
						first);
			if (prev > first && off < len)
				off += (size_t)snprintf(buf + off, len - off, "-%d", prev);
			first = -1;
		}
		if (off >= len)
			break;
	}
	if (!buf[0])
		snprintf(buf, len, "?");
}

static int cmd_status(int argc, char **argv)
{
	uint64_t *pk, *by, *nh, *rx;
	struct mqcap_napi_thread *t;
	char key[2 * MQCAP_RSS_KEY_LEN + 1];
	struct tb_names n;
	struct facts f;
	unsigned q, i;
	int nt, r;

	if (argc != 2)
		bad_usage("status takes one instance name%s", "");
	if (tb_names_init(&n, argv[1]))
		return 2;
	need_root();
	if (read_facts(&n, &f))
		return 1;
	pk = calloc(f.queues, sizeof(*pk));
	by = calloc(f.queues, sizeof(*by));
	nh = calloc(f.queues, sizeof(*nh));
	rx = calloc(f.queues, sizeof(*rx));
	t = calloc(f.queues, sizeof(*t));
	if (!pk || !by || !nh || !rx || !t)
		cli_die(1, "out of memory");
	tb_rss_counters(&n, pk, by, nh, f.queues);
	r = tb_netns_enter(n.rx_ns);
	if (!r) {
		r = tb_dev_rx_queue_packets(n.rx_dev, rx, f.queues);
		tb_netns_restore();
	}
	if (r)
		cli_warn("cannot read the receiver's per-queue counters: %s", strerror(-r));
	nt = mqcap_napi_list(n.rx_dev, t, f.queues);

	printf("testbed %s: %s/%s -> %s/%s, %u queues\n", n.name, n.tx_ns, n.tx_dev, n.rx_ns,
	       n.rx_dev, f.queues);
	printf("NAPI on %s: %s\n", n.rx_dev,
	       nt > 0 ? "threaded" : "inline (softirq)");
	printf("\n%5s %12s %14s %10s %12s %6s %8s %8s\n", "queue", "rss_packets", "rss_bytes",
	       "not_hashed", "rx_packets", "table", "napi_pid", "cpu");
	for (q = 0; q < f.queues; q++) {
		unsigned entries = 0;
		char cpu[64] = "-", pid[16] = "-";

		for (i = 0; i < MQCAP_RSS_TABLE_SIZE; i++)
			entries += f.conf.table[i] == q;
		if (nt > 0 && q < (unsigned)nt) {
			char allowed[48];

			print_cpuset(&t[q].allowed, allowed, sizeof(allowed));
			snprintf(pid, sizeof(pid), "%d", t[q].pid);
			snprintf(cpu, sizeof(cpu), "%d/%s", t[q].last_cpu, allowed);
		}
		printf("%5u %12llu %14llu %10llu %12llu %6u %8s %8s\n", q, (unsigned long long)pk[q],
		       (unsigned long long)by[q], (unsigned long long)nh[q], (unsigned long long)rx[q],
		       entries, pid, cpu);
	}
	printf("(rss_*: the sender's RSS program; rx_packets: the receiver's RX queue; table: "
	       "indirection entries; cpu: last ran on / allowed)\n");
	printf("\nRSS key:   %s\nRSS table:", mqcap_rss_key_format(f.conf.key, key, sizeof(key)));
	for (i = 0; i < MQCAP_RSS_TABLE_SIZE; i++)
		printf("%s%u", i % 32 == 0 ? "\n  " : " ", f.conf.table[i]);
	printf("\n");
	free(pk);
	free(by);
	free(nh);
	free(rx);
	free(t);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd)
		bad_usage("missing command (up, down, status, list, env, sink)%s", "");
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	/* Line-buffer so that output interleaves sensibly with the ip/ethtool children. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "up"))
		return cmd_up(argc - 1, argv + 1);
	if (!strcmp(cmd, "down"))
		return cmd_down(argc - 1, argv + 1);
	if (!strcmp(cmd, "status"))
		return cmd_status(argc - 1, argv + 1);
	if (!strcmp(cmd, "list"))
		return cmd_list(argc - 1, argv + 1);
	if (!strcmp(cmd, "env"))
		return cmd_env(argc - 1, argv + 1);
	if (!strcmp(cmd, "sink"))
		return tb_cmd_sink(argc - 1, argv + 1);
	bad_usage("unknown command '%s' (use up, down, status, list, env or sink)", cmd);
}
