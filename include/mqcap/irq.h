/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * irq.h - the interrupt of each RX queue: which IRQ, how that was found, where it is delivered,
 * and moving it. The paper's TNAPI puts a queue's interrupt, its poller and its consumer on
 * one core; mqtune --apply does that with these facts (threaded NAPI or softirq alike).
 *
 * Where the facts come from, in this order:
 *   netlink  the kernel's netdev family names the IRQ of the queue's NAPI (napi-get, Linux
 *            6.8+), through mqcap_queue_pollers() (queues.h);
 *   name     the IRQ's name in /proc/interrupts, by the drivers' naming conventions:
 *              virtio-input   "virtioN-input.Q", virtioN being DEV's virtio device
 *                             (/sys/class/net/DEV/device; its parent is the PCI function)
 *              dev-rx         "DEV-TxRx-Q", "DEV-rx-Q", "DEV-Tx-Rx-Q" (ENA), "DEV-Q"
 *                             (Intel ixgbe/igb/e1000e, bnxt, ENA, ...); a "tx"-only vector
 *                             does not count
 *              drv-dev-rx     "DRV-DEV-TxRx-Q" (i40e, ice, iavf)
 *              mlx5-comp      "mlx5_compQ@pci:ADDR", ADDR being DEV's PCI function: mlx5
 *                             channel Q is served by completion vector Q (the driver's
 *                             convention, not a kernel fact: rule says so)
 *            and, where DEV has a PCI function, checked against its msi_irqs/ directory
 *            (msi: the name's claim confirmed by the device's own vector list).
 *
 * Errors: counts or 0, else -errno with a message for mqcap_last_error(). The library never
 * prints. Thread-safety: no state is kept; any thread.
 */
#ifndef MQCAP_IRQ_H
#define MQCAP_IRQ_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

enum mqcap_irq_src {
	MQCAP_IRQ_SRC_NONE = 0,  /* no interrupt found for the queue (veth has none) */
	MQCAP_IRQ_SRC_NETLINK,   /* the kernel said so (napi-get irq) */
	MQCAP_IRQ_SRC_NAME,      /* matched by name in /proc/interrupts (see rule) */
};

/* The interrupt of one RX queue. */
struct mqcap_queue_irq {
	unsigned queue;
	int irq;                   /* -1: none found */
	enum mqcap_irq_src source;
	const char *rule;          /* the naming rule that matched ("virtio-input", "dev-rx",
				    * "drv-dev-rx", "mlx5-comp") or "netlink"; "" when none */
	char name[64];             /* its name in /proc/interrupts ("" when unknown) */
	bool msi;                  /* one of the MSI vectors of DEV's PCI function */
	int cpu;                   /* where it is delivered: the first CPU of its effective
				    * affinity; -1 unknown */
	char affinity[128];        /* smp_affinity_list as it is now, to restore it later */
	unsigned long long count;  /* interrupts so far, summed over CPUs */
};

/* "netlink", "name" or "none". */
const char *mqcap_irq_src_name(enum mqcap_irq_src s);

/*
 * The interrupt of each RX queue of DEV: fills out[0 .. min(count, max) - 1] and returns the
 * queue count (as mqcap_queue_pollers()); queues without one have irq -1.
 */
int mqcap_queue_irqs(const char *dev, struct mqcap_queue_irq *out, unsigned max);

/*
 * Deliver IRQ `irq` to the CPUs of `cpulist` ("3", "0-3,6": /proc/irq/N/smp_affinity_list
 * syntax). -EINVAL for a malformed list or a CPU the IRQ cannot take (the kernel refuses),
 * -EIO for an interrupt whose affinity cannot be set (some chips), -errno otherwise.
 */
int mqcap_irq_set_affinity(int irq, const char *cpulist);

#ifdef __cplusplus
}
#endif
#endif /* MQCAP_IRQ_H */
