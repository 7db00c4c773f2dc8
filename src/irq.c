/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * irq.c - the interrupt of each RX queue (include/mqcap/irq.h): the kernel's word where
 * netlink gives it (queues.c), else the drivers' naming conventions in /proc/interrupts,
 * cross-checked against the PCI function's own list of MSI vectors.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mqcap/irq.h"
#include "mqcap/mqcap.h"
#include "mqcap/queues.h"
#include "error_int.h"
#include "irq_int.h"

const char *mqcap_irq_src_name(enum mqcap_irq_src s)
{
	switch (s) {
	case MQCAP_IRQ_SRC_NETLINK:
		return "netlink";
	case MQCAP_IRQ_SRC_NAME:
		return "name";
	default:
		return "none";
	}
}

/* s is a decimal number and nothing else: store it. */
static bool all_digits(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)*s))
		return false;
	v = strtoul(s, &end, 10);
	if (*end || v > 65535)
		return false;
	*out = (unsigned)v;
	return true;
}

/* "DEV-...-Q" or "DEV-Q" naming RX queue Q: the part between DEV and Q must say rx (TxRx,
 * rx, Tx-Rx); a lone number is a combined vector. */
static bool dev_rx_match(const char *name, const char *dev, unsigned *queue)
{
	size_t dl = strlen(dev);
	const char *rest, *num;

	if (strncmp(name, dev, dl) || name[dl] != '-')
		return false;
	rest = name + dl + 1;
	num = strrchr(rest, '-');
	num = num ? num + 1 : rest;
	if (!all_digits(num, queue))
		return false;
	if (num == rest)
		return true;
	for (const char *p = rest; p + 1 < num; p++)
		if (tolower((unsigned char)p[0]) == 'r' && tolower((unsigned char)p[1]) == 'x')
			return true;
	return false;
}

bool mqcap__irq_name_match(const char *name, const struct mqcap__irq_dev *d, unsigned *queue,
			   const char **rule)
{
	const char *p;

	if (d->virtio) {
		size_t vl = strlen(d->virtio);

		/* virtio_net names its vectors after the virtio device, not the netdev */
		if (!strncmp(name, d->virtio, vl) && !strncmp(name + vl, "-input.", 7) &&
		    all_digits(name + vl + 7, queue)) {
			*rule = "virtio-input";
			return true;
		}
	}
	if (d->pci && !strncmp(name, "mlx5_comp", 9)) {
		char num[8];
		size_t n = strspn(name + 9, "0123456789");

		if (n && n < sizeof(num) && !strncmp(name + 9 + n, "@pci:", 5) &&
		    !strcmp(name + 9 + n + 5, d->pci)) {
			memcpy(num, name + 9, n);
			num[n] = '\0';
			if (all_digits(num, queue)) {
				*rule = "mlx5-comp";
				return true;
			}
		}
	}
	if (dev_rx_match(name, d->dev, queue)) {
		*rule = "dev-rx";
		return true;
	}
	/* "i40e-eth0-TxRx-3": one word for the driver, then the netdev's own pattern */
	p = strchr(name, '-');
	if (p && p > name && dev_rx_match(p + 1, d->dev, queue)) {
		for (const char *c = name; c < p; c++)
			if (!isalnum((unsigned char)*c) && *c != '_')
				return false;
		*rule = "drv-dev-rx";
		return true;
	}
	return false;
}

int mqcap__irq_line_parse(const char *line, unsigned ncpus, int *irq, unsigned long long *count,
			  char names[][MQCAP__IRQ_NAME_LEN])
{
	const char *p = line, *end, *tok[64];
	size_t toklen[64];
	unsigned ntok = 0;
	int nn = 0;
	char *e;
	long n;

	while (isspace((unsigned char)*p))
		p++;
	n = strtol(p, &e, 10);
	if (e == p || *e != ':' || n < 0 || n > INT_MAX)
		return -1;
	*irq = (int)n;
	*count = 0;
	p = e + 1;
	for (unsigned c = 0; c < ncpus; c++) {
		unsigned long long v = strtoull(p, &e, 10);

		if (e == p)
			break; /* fewer columns than CPUs: take what is there */
		*count += v;
		p = e;
	}
	/* the rest: chip, hwirq, type, then the actions, separated by ", " */
	while (*p && ntok < 64) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		end = p;
		while (*end && !isspace((unsigned char)*end))
			end++;
		tok[ntok] = p;
		toklen[ntok++] = (size_t)(end - p);
		p = end;
	}
	if (!ntok)
		return 0;
	/* the last token is an action; the ones before it that end in ',' are too */
	int first = (int)ntok - 1;

	while (first > 0 && tok[first - 1][toklen[first - 1] - 1] == ',')
		first--;
	for (int i = first; i < (int)ntok && nn < MQCAP__IRQ_NAMES_MAX; i++) {
		size_t l = toklen[i];

		if (tok[i][l - 1] == ',')
			l--;
		if (!l || l >= MQCAP__IRQ_NAME_LEN)
			continue;
		memcpy(names[nn], tok[i], l);
		names[nn++][l] = '\0';
	}
	return nn;
}

/* DEV's virtio device name and PCI function (bufs empty when it has none): the netdev's
 * device/ is the virtio device for virtio_net, whose parent is the PCI function; for a PCI
 * NIC device/ is the PCI function itself. Returns the PCI function's sysfs path in pcidir. */
static void dev_names(const char *dev, char *virtio, char *pci, char *pcidir, size_t len)
{
	char path[96], real[PATH_MAX], *base;

	virtio[0] = pci[0] = pcidir[0] = '\0';
	snprintf(path, sizeof(path), "/sys/class/net/%s/device", dev);
	if (!realpath(path, real))
		return;
	base = strrchr(real, '/');
	if (base && !strncmp(base + 1, "virtio", 6)) {
		snprintf(virtio, len, "%s", base + 1);
		*base = '\0';
		base = strrchr(real, '/');
	}
	/* a PCI function is named DDDD:BB:DD.F */
	if (base && strlen(base + 1) == 12 && base[5] == ':' && base[8] == ':' && base[11] == '.') {
		snprintf(pci, len, "%s", base + 1);
		snprintf(pcidir, PATH_MAX, "%s", real);
	}
}

static unsigned online_cpus_columns(FILE *f)
{
	char line[8192];
	unsigned n = 0;

	if (!fgets(line, sizeof(line), f))
		return 0;
	for (char *p = strstr(line, "CPU"); p; p = strstr(p + 3, "CPU"))
		n++;
	return n;
}

static void read_trimmed(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	buf[0] = '\0';
	if (!f)
		return;
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

/* "N" alone: N, else -1. */
static int single_cpu(const char *list)
{
	unsigned v;

	return all_digits(list, &v) ? (int)v : -1;
}

/* Where the IRQ is delivered: a single CPU it was given, else the first of its effective
 * affinity. Not the effective affinity first: on x86 (MSI without interrupt remapping) the
 * vector moves at the IRQ's next interrupt, so until then effective_affinity_list still
 * names the old CPU (seen on 6.1 in the guest testbed). */
static int irq_cpu_of(int irq, const char *affinity)
{
	char path[64], buf[64];
	int c = single_cpu(affinity);

	if (c >= 0)
		return c;
	snprintf(path, sizeof(path), "/proc/irq/%d/effective_affinity_list", irq);
	read_trimmed(path, buf, sizeof(buf));
	if (!buf[0])
		snprintf(buf, sizeof(buf), "%s", affinity);
	return isdigit((unsigned char)buf[0]) ? atoi(buf) : -1;
}

int mqcap__irq_cpu(int irq)
{
	char path[64], aff[128];
	int cpu;

	snprintf(path, sizeof(path), "/proc/irq/%d/smp_affinity_list", irq);
	if (access(path, R_OK))
		return -errno;
	read_trimmed(path, aff, sizeof(aff));
	cpu = irq_cpu_of(irq, aff);
	return cpu >= 0 ? cpu : -ENOENT;
}

/* Where the IRQ is delivered now, the affinity it was given, and whether the device's PCI
 * function lists it among its MSI vectors. */
static void irq_placement(struct mqcap_queue_irq *qi, const char *pcidir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/proc/irq/%d/smp_affinity_list", qi->irq);
	read_trimmed(path, qi->affinity, sizeof(qi->affinity));
	qi->cpu = irq_cpu_of(qi->irq, qi->affinity);
	if (pcidir[0]) {
		int l = snprintf(path, sizeof(path), "%s/msi_irqs/%d", pcidir, qi->irq);

		qi->msi = l > 0 && (size_t)l < sizeof(path) && access(path, F_OK) == 0;
	}
}

/* Both are MQCAP__IRQ_NAME_LEN; snprintf would make gcc count the whole names[][] array. */
static void copy_name(char *dst, const char *src)
{
	size_t l = strnlen(src, MQCAP__IRQ_NAME_LEN - 1);

	memcpy(dst, src, l);
	dst[l] = '\0';
}

/* Fill name, count (and, for queues netlink left without one, irq/rule) from /proc/interrupts. */
static int scan_proc(const char *dev, struct mqcap_queue_irq *out, unsigned n, const char *virtio,
		     const char *pci)
{
	struct mqcap__irq_dev d = { .dev = dev, .virtio = virtio[0] ? virtio : NULL,
				    .pci = pci[0] ? pci : NULL };
	char line[8192], names[MQCAP__IRQ_NAMES_MAX][MQCAP__IRQ_NAME_LEN];
	FILE *f = fopen("/proc/interrupts", "r");
	unsigned ncpus;

	if (!f)
		return mqcap__last_error_fmt(errno, "cannot read /proc/interrupts: %s", strerror(errno));
	ncpus = online_cpus_columns(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long long count;
		int irq, nn = mqcap__irq_line_parse(line, ncpus, &irq, &count, names);

		for (int i = 0; i < nn; i++) {
			const char *rule;
			unsigned q;

			for (unsigned k = 0; k < n; k++)
				if (out[k].irq == irq) { /* netlink's: give it its name */
					copy_name(out[k].name, names[i]);
					out[k].count = count;
				}
			if (!mqcap__irq_name_match(names[i], &d, &q, &rule) || q >= n ||
			    out[q].source == MQCAP_IRQ_SRC_NETLINK || out[q].irq >= 0)
				continue;
			out[q].irq = irq;
			out[q].source = MQCAP_IRQ_SRC_NAME;
			out[q].rule = rule;
			out[q].count = count;
			copy_name(out[q].name, names[i]);
		}
	}
	fclose(f);
	return 0;
}

int mqcap_queue_irqs(const char *dev, struct mqcap_queue_irq *out, unsigned max)
{
	struct mqcap_queue_poller *pp;
	char virtio[32], pci[32], pcidir[PATH_MAX];
	int rc, nq = mqcap_queue_pollers(dev, 0, NULL, 0);
	unsigned n;

	if (nq <= 0 || !out || !max)
		return nq;
	pp = calloc((size_t)nq, sizeof(*pp));
	if (!pp)
		return mqcap__last_error_fmt(ENOMEM, "out of memory");
	nq = mqcap_queue_pollers(dev, 0, pp, (unsigned)nq);
	if (nq <= 0) {
		free(pp);
		return nq;
	}
	n = (unsigned)nq < max ? (unsigned)nq : max;
	for (unsigned q = 0; q < n; q++) {
		memset(&out[q], 0, sizeof(out[q]));
		out[q].queue = q;
		out[q].irq = out[q].cpu = -1;
		out[q].rule = "";
		/* only the kernel's own answer is taken from the poller facts; names are read here */
		if (pp[q].irq >= 0 && pp[q].irq_source == MQCAP_QSRC_NETLINK) {
			out[q].irq = pp[q].irq;
			out[q].source = MQCAP_IRQ_SRC_NETLINK;
			out[q].rule = "netlink";
		}
	}
	free(pp);
	dev_names(dev, virtio, pci, pcidir, sizeof(virtio));
	rc = scan_proc(dev, out, n, virtio, pci);
	if (rc)
		return rc;
	for (unsigned q = 0; q < n; q++)
		if (out[q].irq >= 0)
			irq_placement(&out[q], pcidir);
	return nq;
}

/* The IRQ named after RX queue q of dev in /proc/interrupts (the rules above), or -ENOENT. */
int mqcap__irq_by_name(const char *dev, unsigned q)
{
	struct mqcap_queue_irq *qi;
	char virtio[32], pci[32], pcidir[PATH_MAX];
	int irq;

	qi = calloc(q + 1, sizeof(*qi));
	if (!qi)
		return -ENOMEM;
	for (unsigned k = 0; k <= q; k++)
		qi[k].irq = -1;
	dev_names(dev, virtio, pci, pcidir, sizeof(virtio));
	irq = scan_proc(dev, qi, q + 1, virtio, pci);
	if (!irq)
		irq = qi[q].irq >= 0 ? qi[q].irq : -ENOENT;
	free(qi);
	return irq;
}

int mqcap_irq_set_affinity(int irq, const char *cpulist)
{
	char path[64];
	ssize_t w;
	int fd, err;

	if (irq < 0 || !cpulist || !*cpulist || strspn(cpulist, "0123456789,-") != strlen(cpulist))
		return mqcap__last_error_fmt(EINVAL, "IRQ %d: '%s' is not a CPU list", irq,
					     cpulist ? cpulist : "(null)");
	snprintf(path, sizeof(path), "/proc/irq/%d/smp_affinity_list", irq);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return mqcap__last_error_fmt(errno, "IRQ %d: cannot open %s: %s", irq, path,
					     strerror(errno));
	w = write(fd, cpulist, strlen(cpulist));
	err = errno;
	close(fd);
	if (w == (ssize_t)strlen(cpulist))
		return 0;
	return mqcap__last_error_fmt(err, "IRQ %d: cannot deliver it to CPU(s) %s: %s", irq, cpulist,
				     strerror(err));
}
