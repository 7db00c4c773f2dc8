#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The testbed behaves like an RSS NIC: for 4096 flows (IPv4/IPv6, UDP/TCP, untagged, VLAN
# and QinQ) every frame arrives on the RX queue that the user-space Toeplitz hash + table
# predict (not most of them: every one), and the RSS program's per-queue counters agree with
# the receiver's per-queue counters.
set -euo pipefail
. "$(dirname "$0")/lib/testbed.sh"
tb_require_root

tb_up "$(tb_unique_name tbrss)" --queues 4
d=$(tb_tmpdir)

check() { # NAME COUNT pktlib-flows-args...
	local name="$1" count="$2"; shift 2
	python3 "$PKTLIB" flows -n "$count" -f 4096 -w "$d/$name.pcap" "$@"
	tb_capture_send "$d/$name.pcap" "$d/$name" "$count"
	tb_rss_check "$d/$name" "$count" || tb_fail "$name: frames on queues RSS did not predict"
	tb_log "$name: all $count frames on their predicted queue"
}

check udp4 8192
check tcp6 4096 --proto tcp -6
check vlan_tcp4 4096 --proto tcp --vlan 10
check qinq_udp6 4096 -6 --vlan 100 --vlan 20

# One of everything (ICMP, ARP, IPv4 options and fragments, VLAN/QinQ) with every incoming
# frame checked, the kernel's own IPv6 multicast reports included: ARP (not IP) on queue 0.
python3 "$PKTLIB" mixed -w "$d/mixed.pcap"
tb_capture_send "$d/mixed.pcap" "$d/mixed" 0 all
q=(); for (( i=0; i<QUEUES; i++ )); do q+=("$d/mixed.q$i.pcap"); done
out=$("$MQCAP_BUILD/tests/system/rss_check" "$RSS_KEY" "$RSS_TABLE" "${q[@]}") || { echo "$out"; tb_fail "mixed: frames on queues RSS did not predict"; }
n=$(awk '/^checked/ {print $2}' <<<"$out")
[ "$n" -ge 23 ] || tb_fail "mixed: only $n of 23 frames arrived"
[ "$(python3 "$PKTLIB" show "$d/mixed.q0.pcap" | grep -c 'ethertype 0x0806')" = 3 ] || tb_fail "mixed: ARP not on queue 0"
tb_log "mixed: all $n incoming frames on their predicted queue, ARP on queue 0"

# A VLAN device on the sender: the kernel keeps its tag in skb metadata (vlan_tci), not in
# the frame, when the RSS program sees it; the hash is still the inner IP flow's.
if tb_tx ip link add link "$TX_DEV" name vl10 type vlan id 10 2>/dev/null; then
	tb_tx ip addr add 198.18.10.1/24 dev vl10
	tb_tx ip link set vl10 up
	tb_tx ip neigh replace 198.18.10.2 lladdr "$RX_MAC" dev vl10 nud permanent
	tb_rx python3 "$PKTLIB" capture-qm -i "$RX_DEV" -q "$QUEUES" -o "$d/vtag" -c 1024 -t 20 --idle 2 \
		--ports 9000-9006 --ready "$d/vtag.ready" >/dev/null &
	cap=$!
	tb_on_exit "kill $cap"
	for (( i=0; i<100; i++ )); do [ -e "$d/vtag.ready" ] && break; sleep 0.05; done
	tb_tx python3 -c 'import socket
for i in range(1024):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("198.18.10.1", 20000 + i))
    s.sendto(b"vlan-in-metadata", ("198.18.10.2", 9000 + i % 7))
    s.close()'
	wait "$cap" || tb_fail "capture of VLAN-device traffic failed"
	tb_rss_check "$d/vtag" 1024 || tb_fail "vlan_tci: frames on queues RSS did not predict"
	tb_log "VLAN device (tag in skb metadata): all 1024 frames of 1024 flows on their predicted queue"
else
	tb_log "no 802.1Q devices in this kernel: the tag-in-metadata case is not checked here"
fi

# Every queue got a fair part of 4096 flows with the default table (i % 4): more than 15%.
for (( q=0; q<QUEUES; q++ )); do
	n=$(python3 -c "import sys; sys.path.insert(0, '$(dirname "$PKTLIB")'); import pktlib; print(len(pktlib.read_pcap('$d/udp4.q$q.pcap')))")
	[ "$n" -gt $(( 8192 * 15 / 100 )) ] || tb_fail "queue $q got only $n of 8192 frames"
done

# The sender's RSS program and the receiver agree queue by queue (the receiver may also have
# seen the kernel's own IPv6 multicast reports, which the program counts too).
status=$("$TESTBED" status "$TB_NAME")
head -8 <<<"$status"
echo "$status" | awk '$1 ~ /^[0-9]+$/ && NF == 8 { if ($2 != $5) { bad = 1; print "queue " $1 ": rss " $2 " != rx " $5 } } END { exit bad }' ||
	tb_fail "RSS program and receiver counters differ"
echo "PASS"
