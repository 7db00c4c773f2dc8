#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# test_mqsend_rss.sh - mqsend -m xdp --rss sends every flow on the TX queue the Toeplitz
# hash and indirection table choose, so on the veth peer each frame arrives on that RX queue
# (captured per RX queue with PACKET_FANOUT_QM and checked against an independent Toeplitz
# implementation), with the testbed's key and with a custom key + uneven table. And -m qdisc
# goes through tc egress, where the testbed's RSS emulation places each flow the same way.
set -u
: "${MQCAP_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$MQCAP_SRC/tests/system/lib/testbed.sh"
tb_require_root
tb_tool MQSEND mqsend
CHECK=(python3 "$MQCAP_SRC/tests/system/test_mqsend_check.py")

tb_up "$(tb_unique_name send)" --queues 4
tmp=$(tb_tmpdir)
sleep 2
fails=0

# NAME KEY TABLE THREADS [MODE]
run() {
	local name=$1 key=$2 table=$3 threads=$4 mode=${5:-xdp} pid opts=()
	rm -f "$tmp/ready"
	tb_rx python3 "$PKTLIB" capture-qm -i "$RX_DEV" -q "$QUEUES" -o "$tmp/q" -c 2000 -t 20 \
		--ports 5000-5999 --ready "$tmp/ready" >"$tmp/cap.out" &
	pid=$!
	tb_on_exit "kill $pid"
	for _ in $(seq 100); do [ -e "$tmp/ready" ] && break; sleep 0.05; done
	[ "$mode" = xdp ] && opts=(--rss --rss-key "$key" --rss-table "$table")
	tb_tx "$MQSEND" -i "$TX_DEV" -m "$mode" "${opts[@]}" \
		-t "$threads" -P udp --dst 198.18.4.0-198.18.4.99 --sport 5000-5004 \
		--dst-mac "$RX_MAC" -c 2000 -r 20k -q >/dev/null || tb_fail "$name: mqsend failed"
	wait $pid
	if "${CHECK[@]}" rssq "$tmp/q" "$QUEUES" "$key" "$table"; then
		echo "ok: $name ($(cat "$tmp/cap.out"))"
	else
		echo "FAIL: $name ($(cat "$tmp/cap.out"))"
		fails=$((fails + 1))
	fi
}

run "testbed key, default table, 1 thread" "$RSS_KEY" "$RSS_TABLE" 1
sym=$(printf '6d5a%.0s' $(seq 20))
uneven=$(python3 -c 'print(",".join(str(0 if i < 64 else 1 + i % 3) for i in range(128)))')
run "symmetric key, uneven table, 2 threads" "$sym" "$uneven" 2
run "-m qdisc: the testbed's tc RSS places the flows" "$RSS_KEY" "$RSS_TABLE" 2 qdisc

[ $fails -eq 0 ] || tb_fail "$fails checks failed"
echo "PASS"
