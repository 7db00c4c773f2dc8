#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# test_mqsend.sh - mqsend puts exactly --count frames on the wire on every transmit path
# (the receiver's counters agree), and every frame is byte-exact what the options describe:
# captured with tcpdump (libpcap's filter machine picks mqsend's frames), then rebuilt frame
# by frame by test_mqsend_check.py from the options, the flow and the sequence number, with
# all checksums, the verification payload and each flow's sequence (no gap, no duplicate,
# no reordering) checked.
set -u
: "${MQCAP_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$MQCAP_SRC/tests/system/lib/testbed.sh"
tb_require_root
tb_tool MQSEND mqsend
CHECK=(python3 "$MQCAP_SRC/tests/system/test_mqsend_check.py")
tb_need tcpdump

tb_up "$(tb_unique_name send)" --queues 2
tmp=$(tb_tmpdir)
# The kernel's own IPv6 chatter (DAD, MLD, RS) follows link-up; let it pass so that the
# counters below see only mqsend.
sleep 2

ctr() { tb_rx cat "/sys/class/net/$RX_DEV/statistics/$1"; }
txctr() { tb_tx cat "/sys/class/net/$TX_DEV/statistics/$1"; }

fails=0
# 1. Contents, byte-exact, for each kind of workload (and each path).
# args: NAME MODE "mqsend generator options" "checker options" COUNT
content() {
	local name=$1 mode=$2 gen=$3 chk=$4 n=$5 f="$tmp/$1.pcap" c
	tb_tcpdump_start "$f" "ether src $TX_MAC and (tcp or udp or vlan)"
	# shellcheck disable=SC2086
	tb_tx "$MQSEND" -i "$TX_DEV" -m "$mode" --dst-mac "$RX_MAC" -c "$n" -q $gen >/dev/null ||
		tb_fail "$name: mqsend failed"
	tb_tcpdump_stop
	# libpcap's filter machine: every frame is the protocol asked for.
	c=$(tcpdump -n -r "$f" "${6:-ip or ip6 or vlan}" 2>/dev/null | wc -l)
	[ "$c" -eq "$n" ] || { echo "FAIL: $name: filter '${6:-ip or ip6 or vlan}' matched $c of $n"; fails=$((fails + 1)); return; }
	# shellcheck disable=SC2086
	if "${CHECK[@]}" check "$f" --count "$n" --smac "$TX_MAC" --dmac "$RX_MAC" $chk; then
		echo "ok: $name"
	else
		echo "FAIL: $name ($gen)"
		fails=$((fails + 1))
	fi
}
content paper bypass "--paper" \
	"--src 198.18.0.1 --dst 198.19.0.0-198.19.15.255" 8192 \
	"tcp and src host 198.18.0.1 and dst net 198.19.0.0/20 and dst port 80 and greater 60 and less 60"
content udp_vlan qdisc "-P udp --src 198.18.0.1-198.18.0.2 --dst 198.18.2.0-198.18.2.9 --sport 1000-1001 --dport 53 -s 128 --vlan 10" \
	"--proto udp --src 198.18.0.1-198.18.0.2 --dst 198.18.2.0-198.18.2.9 --sport 1000-1001 --dport 53 --size 128 --vlan 10" 2000 \
	"vlan 10 and udp and dst port 53 and src portrange 1000-1001 and greater 124 and less 124"
content tcp6_qinq_range xdp "--src fd00:198::1 --dst fd00:198::10-fd00:198::1f -s 100-1500 --vlan 100,200" \
	"--src fd00:198::1 --dst fd00:198::10-fd00:198::1f --size 100-1500 --vlan 100,200" 1000 \
	"vlan 100 and vlan 200 and ip6 and tcp and dst port 80"
content imix_threads bypass "-P udp -s imix -t 2 -g 0-1 --sender-id 7 --dst 198.18.3.0-198.18.3.99" \
	"--proto udp --size imix --threads 2 --sender-id 7 --dst 198.18.3.0-198.18.3.99" 1200 \
	"udp and src host 198.18.0.1 and dst net 198.18.3.0/24"
content udp6_full xdp "-P udp --src fd00:198::1 --dst fd00:198::2 --sport 5000-5099 -s 200" \
	"--proto udp --src fd00:198::1 --dst fd00:198::2 --sport 5000-5099 --size 200" 1000 \
	"ip6 and udp and src portrange 5000-5099 and greater 196 and less 196"

# 2. --count N: exactly N frames leave the sender and reach the receiver, on every path.
# (After the content checks, so the kernel's link-up chatter is long over.)
N=200000
# The kernel's IPv6 chatter (router solicitations up to seconds after link-up) raced the
# counter snapshot below: captured as "not mqsend's" yet sent before rx0/tx0 were read, it
# was subtracted from counters that never held it. None is sent from here on.
tb_tx sysctl -qw "net.ipv6.conf.$TX_DEV.disable_ipv6=1"
tb_rx sysctl -qw "net.ipv6.conf.$RX_DEV.disable_ipv6=1"
for mode in bypass qdisc xdp; do
	# Frames that are not mqsend's (the kernel's IPv6 router solicitations can still come
	# seconds after link-up) are captured and subtracted from the counters.
	tb_tcpdump_start "$tmp/other.pcap" "not (tcp and src host 198.18.0.1 and dst net 198.19.0.0/20)"
	rx0=$(ctr rx_packets); tx0=$(txctr tx_packets)
	out=$(tb_tx "$MQSEND" -i "$TX_DEV" -m "$mode" --paper --dst-mac "$RX_MAC" -c $N --json) ||
		tb_fail "$mode: mqsend failed: $out"
	sleep 0.3
	rx=$(( $(ctr rx_packets) - rx0 )); tx=$(( $(txctr tx_packets) - tx0 ))
	tb_tcpdump_stop
	other=$(tcpdump -n -r "$tmp/other.pcap" 2>/dev/null | tee -a "$tmp/other.txt" | wc -l)
	rx=$((rx - other)); tx=$((tx - other))
	sent=$(sed -n 's/.*"packets":\([0-9]*\),.*/\1/p' <<<"$out")
	if [ "$rx" -eq $N ] && [ "$tx" -eq $N ] && [ "$sent" -eq $N ]; then
		echo "ok: $mode --count $N: sender $sent, device tx $tx, receiver rx $rx (+$other not mqsend's)"
	else
		echo "FAIL: $mode --count $N: sender $sent, device tx $tx, receiver rx $rx (+$other not mqsend's)"
		fails=$((fails + 1))
	fi
done

[ $fails -eq 0 ] || { cat "$tmp/other.txt" 2>/dev/null; tb_fail "$fails checks failed"; }
echo "PASS"
