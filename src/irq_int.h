/* SPDX-License-Identifier: BSD-2-Clause */
/* irq_int.h - the parts of irq.c the unit tests reach: /proc/interrupts lines and the drivers'
 * IRQ naming rules, as pure functions. */
#ifndef MQCAP_IRQ_INT_H
#define MQCAP_IRQ_INT_H

#include <stdbool.h>

/* What names a device's vectors: its netdev name, its virtio device ("virtio0", or NULL when
 * it is not virtio) and its PCI function ("0000:03:00.0", or NULL). */
struct mqcap__irq_dev {
	const char *dev;
	const char *virtio;
	const char *pci;
};

/* Does the action name `name` (one handler in /proc/interrupts) name an RX-polling vector of
 * d? Then true, with its queue and the rule that matched (irq.h lists them). */
bool mqcap__irq_name_match(const char *name, const struct mqcap__irq_dev *d, unsigned *queue,
			   const char **rule);

#define MQCAP__IRQ_NAMES_MAX 4
#define MQCAP__IRQ_NAME_LEN 64

/* One line of /proc/interrupts with ncpus count columns: its IRQ number, its count summed
 * over CPUs and its action names (up to MQCAP__IRQ_NAMES_MAX; handlers sharing a line are
 * separated by ", "). Returns how many names, or -1 for a line that is not a numbered IRQ
 * (the header, NMI, LOC, ...). line is not modified. */
int mqcap__irq_line_parse(const char *line, unsigned ncpus, int *irq, unsigned long long *count,
			  char names[][MQCAP__IRQ_NAME_LEN]);

/* The IRQ /proc/interrupts names after RX queue q of dev (the rules of irq.h), -ENOENT when
 * none, or -errno. */
int mqcap__irq_by_name(const char *dev, unsigned q);

/* The CPU IRQ irq is delivered to (see irq.c for why not simply the effective affinity),
 * -ENOENT when unknown, or -errno. */
int mqcap__irq_cpu(int irq);

#endif
