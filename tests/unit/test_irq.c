/* SPDX-License-Identifier: BSD-2-Clause */
/* Finding a queue's interrupt by name: /proc/interrupts lines as each driver family writes
 * them (copied from real machines' /proc/interrupts, one fixture per family), through the
 * line parser and the naming rules of irq.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "irq_int.h"

/* A fixture: a line, the device it is matched against, and what must come out: the queue
 * (-1: no match) and the rule. */
struct fixture {
	const char *line;
	unsigned ncpus;
	struct mqcap__irq_dev dev;
	int irq;
	unsigned long long count;
	int queue;
	const char *rule;
};

#define VIRTIO1 { "eth0", "virtio1", "0000:00:02.0" }
#define IXGBE   { "eth2", NULL, "0000:03:00.0" }
#define I40E    { "enp3s0f0", NULL, "0000:03:00.0" }
#define ICE     { "ens1f0", NULL, "0000:17:00.0" }
#define MLX5    { "enp8s0f0np0", NULL, "0000:08:00.0" }
#define ENA     { "eth0", NULL, "0000:00:05.0" }

static const struct fixture fixtures[] = {
	/* virtio_net (Linux 6.1 guest, qemu virtio-net-pci mq=on): named after the virtio device */
	{ " 25:          7          0   PCI-MSI 49153-edge      virtio1-input.0\n", 2, VIRTIO1, 25, 7, 0, "virtio-input" },
	{ " 31:          0       1234   PCI-MSI 49159-edge      virtio1-input.3\n", 2, VIRTIO1, 31, 1234, 3, "virtio-input" },
	{ " 26:          0          0   PCI-MSI 49154-edge      virtio1-output.0\n", 2, VIRTIO1, 26, 0, -1, NULL },
	{ " 24:          0          0   PCI-MSI 49152-edge      virtio1-config\n", 2, VIRTIO1, 24, 0, -1, NULL },
	{ " 34:        405          0   PCI-MSI 32769-edge      virtio0-requests\n", 2, VIRTIO1, 34, 405, -1, NULL },
	/* another virtio NIC's queue is not ours */
	{ " 41:          0          0   PCI-MSI 65537-edge      virtio2-input.0\n", 2, VIRTIO1, 41, 0, -1, NULL },
	/* Intel ixgbe / igb: DEV-TxRx-Q; e1000e: DEV-rx-Q and a tx-only DEV-tx-Q */
	{ " 45:    1 2 3 4   IR-PCI-MSI 1048577-edge      eth2-TxRx-0\n", 4, IXGBE, 45, 10, 0, "dev-rx" },
	{ " 52:    0 0 0 9   IR-PCI-MSI 1048584-edge      eth2-TxRx-7\n", 4, IXGBE, 52, 9, 7, "dev-rx" },
	{ " 53:    0 0 0 0   IR-PCI-MSI 1048585-edge      eth2\n", 4, IXGBE, 53, 0, -1, NULL },
	{ " 46:    5 0   IR-PCI-MSI 409600-edge      eth2-rx-1\n", 2, IXGBE, 46, 5, 1, "dev-rx" },
	{ " 47:    5 0   IR-PCI-MSI 409601-edge      eth2-tx-1\n", 2, IXGBE, 47, 5, -1, NULL },
	/* eth2 must not take eth20's vectors */
	{ " 60:    0 0   IR-PCI-MSI 409602-edge      eth20-TxRx-1\n", 2, IXGBE, 60, 0, -1, NULL },
	/* i40e and ice: the driver's name first; their misc vector is not a queue */
	{ " 88:    0 3   IR-PCI-MSI 2097153-edge      i40e-enp3s0f0-TxRx-0\n", 2, I40E, 88, 3, 0, "drv-dev-rx" },
	{ " 87:    0 0   IR-PCI-MSI 2097152-edge      i40e-0000:03:00.0:misc\n", 2, I40E, 87, 0, -1, NULL },
	{ "192:    0 0 0 0 0 0 0 9   IR-PCI-MSIX-0000:17:00.0 8-edge      ice-ens1f0-TxRx-7\n", 8, ICE, 192, 9, 7, "drv-dev-rx" },
	/* mlx5: completion vector N of the PCI function; async vectors and other functions are not */
	{ " 70:    0 0 0 2   IR-PCI-MSI 4194305-edge      mlx5_comp0@pci:0000:08:00.0\n", 4, MLX5, 70, 2, 0, "mlx5-comp" },
	{ " 75:    0 0 0 0   IR-PCI-MSI 4194310-edge      mlx5_comp5@pci:0000:08:00.0\n", 4, MLX5, 75, 0, 5, "mlx5-comp" },
	{ " 69:    0 0 0 0   IR-PCI-MSI 4194304-edge      mlx5_async0@pci:0000:08:00.0\n", 4, MLX5, 69, 0, -1, NULL },
	{ " 90:    0 0 0 0   IR-PCI-MSI 4196353-edge      mlx5_comp0@pci:0000:08:00.1\n", 4, MLX5, 90, 0, -1, NULL },
	/* ENA: DEV-Tx-Rx-Q; its management vector is not a queue */
	{ " 27:  100 200   PCI-MSI 81921-edge      eth0-Tx-Rx-0\n", 2, ENA, 27, 300, 0, "dev-rx" },
	{ " 26:    0   0   PCI-MSI 81920-edge      ena-mgmnt@pci:0000:00:05.0\n", 2, ENA, 26, 0, -1, NULL },
	/* a device name with dashes in it */
	{ " 99:    0   0   PCI-MSI 81929-edge      my-nic-TxRx-2\n", 2, { "my-nic", NULL, NULL }, 99, 0, 2, "dev-rx" },
};

static void test_fixtures(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		const struct fixture *f = &fixtures[i];
		char names[MQCAP__IRQ_NAMES_MAX][MQCAP__IRQ_NAME_LEN];
		unsigned long long count;
		const char *rule = NULL;
		unsigned q = 12345;
		int irq = -7, nn = mqcap__irq_line_parse(f->line, f->ncpus, &irq, &count, names);
		bool m;

		if (nn != 1 || irq != f->irq || count != f->count)
			fail_msg("fixture %zu: parsed %d names, irq %d count %llu; wanted 1, %d, %llu", i, nn,
				 irq, count, f->irq, f->count);
		m = mqcap__irq_name_match(names[0], &f->dev, &q, &rule);
		if (f->queue < 0 && m)
			fail_msg("fixture %zu: '%s' taken as queue %u of %s (rule %s)", i, names[0], q,
				 f->dev.dev, rule);
		if (f->queue >= 0 && (!m || q != (unsigned)f->queue || strcmp(rule, f->rule)))
			fail_msg("fixture %zu: '%s' gave %s queue %u rule %s; wanted queue %d rule %s", i,
				 names[0], m ? "a match," : "no match,", q, m ? rule : "-", f->queue, f->rule);
	}
}

/* Handlers sharing a line (legacy INTx) are listed with ", "; the header and the per-CPU
 * lines without a number are not IRQs. */
static void test_lines(void **state)
{
	char names[MQCAP__IRQ_NAMES_MAX][MQCAP__IRQ_NAME_LEN];
	struct mqcap__irq_dev d = { "eth1", NULL, NULL };
	unsigned long long count;
	const char *rule;
	unsigned q;
	int irq;

	(void)state;
	assert_int_equal(mqcap__irq_line_parse(" 11:   5   6   IO-APIC   11-fasteoi   uhci_hcd:usb3, eth1-rx-0\n",
					       2, &irq, &count, names), 2);
	assert_int_equal(irq, 11);
	assert_int_equal(count, 11);
	assert_string_equal(names[0], "uhci_hcd:usb3");
	assert_string_equal(names[1], "eth1-rx-0");
	assert_true(mqcap__irq_name_match(names[1], &d, &q, &rule));
	assert_int_equal(q, 0);
	assert_int_equal(mqcap__irq_line_parse("           CPU0       CPU1\n", 2, &irq, &count, names), -1);
	assert_int_equal(mqcap__irq_line_parse("NMI:          0          0   Non-maskable interrupts\n", 2,
					       &irq, &count, names), -1);
	assert_int_equal(mqcap__irq_line_parse("ERR:          0\n", 2, &irq, &count, names), -1);
	/* a queue number that is not a number, or too large, is not a queue */
	assert_false(mqcap__irq_name_match("eth1-TxRx-x", &d, &q, &rule));
	assert_false(mqcap__irq_name_match("eth1-TxRx-99999999", &d, &q, &rule));
	assert_false(mqcap__irq_name_match("eth1-TxRx-", &d, &q, &rule));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
