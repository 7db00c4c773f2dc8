#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# test_mqsend_replay.sh - mqsend -f sends a capture file packet for packet: a capture of the
# replay equals the file (timestamps aside), for pcap and pcapng, with --loop, at top speed
# and at the file's own timing.
set -u
: "${MQCAP_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$MQCAP_SRC/tests/system/lib/testbed.sh"
tb_require_root
MQSEND="$MQCAP_BUILD/tools/mqsend/mqsend"
CHECK=(python3 "$MQCAP_SRC/tests/system/test_mqsend_check.py")
[ -x "$MQSEND" ] || tb_fail "mqsend not built at $MQSEND"
command -v tcpdump >/dev/null || tb_fail "tcpdump not installed"

tb_up "$(tb_unique_name send)" --queues 2
tmp=$(mktemp -d /tmp/mqsend-test.XXXXXX)
tb_on_exit "rm -rf $tmp"
sleep 2

tdpid=
cap_start() { # FILE: every incoming frame except the kernel's own IPv6 multicast chatter
	: >"$tmp/td.err"
	ip netns exec "$RX_NS" tcpdump -i "$RX_DEV" -Q in -n -s 2048 -B 65536 --immediate-mode \
		--time-stamp-precision nano -w "$1" "not ip6 dst net ff02::/16" 2>"$tmp/td.err" &
	tdpid=$!
	tb_on_exit "kill $tdpid"
	for _ in $(seq 100); do grep -q "listening on" "$tmp/td.err" && return 0; sleep 0.05; done
	tb_fail "tcpdump did not start: $(cat "$tmp/td.err")"
}
cap_stop() {
	sleep 0.5
	kill -INT "$tdpid" 2>/dev/null
	wait "$tdpid" 2>/dev/null
	grep -q "^0 packets dropped by kernel" "$tmp/td.err" || tb_fail "tcpdump lost frames: $(cat "$tmp/td.err")"
}

fails=0
expect_same() { # NAME FILE CAPTURE [REPEAT]
	if "${CHECK[@]}" same "$2" "$3" --repeat "${4:-1}"; then echo "ok: $1"; else echo "FAIL: $1"; fails=$((fails + 1)); fi
}

# Files: one of every protocol (VLAN, QinQ, fragments, options, ARP), and 3000 frames over
# 300 flows of mixed sizes.
python3 "$PKTLIB" mixed -w "$tmp/mixed.pcap" >/dev/null
python3 "$PKTLIB" flows -w "$tmp/flows.pcap" -n 3000 -f 300 --proto tcp --vlan 7 --size 300 >/dev/null
"${CHECK[@]}" pcapng "$tmp/flows.pcap" "$tmp/flows.pcapng"

for mode in bypass qdisc xdp; do
	cap_start "$tmp/cap.pcap"
	tb_tx "$MQSEND" -i "$TX_DEV" -m "$mode" -f "$tmp/mixed.pcap" --topspeed -q >/dev/null || tb_fail "$mode: replay failed"
	cap_stop
	expect_same "$mode: mixed.pcap replayed frame for frame" "$tmp/mixed.pcap" "$tmp/cap.pcap"
done

cap_start "$tmp/cap.pcap"
tb_tx "$MQSEND" -i "$TX_DEV" -f "$tmp/flows.pcapng" --topspeed --loop 3 -q >/dev/null || tb_fail "pcapng replay failed"
cap_stop
expect_same "pcapng, --loop 3: the file three times over" "$tmp/flows.pcap" "$tmp/cap.pcap" 3

# Original timing: 20 frames 50 ms apart take ~0.95 s and keep their gaps.
python3 - "$tmp/slow.pcap" <<PY
import sys
sys.path.insert(0, "$MQCAP_SRC/tests/system/lib")
import pktlib as P
fr = P.flow_frames(20, 20)
P.write_pcap(sys.argv[1], [(1_000_000_000 + i * 50_000_000, f) for i, f in enumerate(fr)])
PY
cap_start "$tmp/cap.pcap"
out=$(tb_tx "$MQSEND" -i "$TX_DEV" -f "$tmp/slow.pcap" --json) || tb_fail "timed replay failed"
cap_stop
expect_same "original timing: frames" "$tmp/slow.pcap" "$tmp/cap.pcap"
secs=$(sed -n 's/.*"seconds":\([0-9.]*\),.*/\1/p' <<<"$out")
gaps=$("${CHECK[@]}" gaps "$tmp/cap.pcap")
if python3 -c "
import sys
s = float('$secs'); g = [float(x) for x in '$gaps'.split()]
ok = 0.93 <= s <= 1.05 and len(g) == 19 and all(0.045 <= x <= 0.055 for x in g)
sys.exit(0 if ok else 1)"; then
	echo "ok: original timing: ${secs}s, gaps 50 ms +-5"
else
	echo "FAIL: original timing: ${secs}s (want ~0.95), gaps: $gaps"
	fails=$((fails + 1))
fi

[ $fails -eq 0 ] || tb_fail "$fails checks failed"
echo "PASS"
