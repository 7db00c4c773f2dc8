#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# test_mqsend_replay.sh - mqsend -f sends a capture file packet for packet: a capture of the
# replay equals the file (timestamps aside), for pcap and pcapng, with --loop, at top speed
# and at the file's own timing.
set -u
: "${MQCAP_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$MQCAP_SRC/tests/system/lib/testbed.sh"
tb_require_root
tb_tool MQSEND mqsend
CHECK=(python3 "$MQCAP_SRC/tests/system/test_mqsend_check.py")
tb_need tcpdump

tb_up "$(tb_unique_name send)" --queues 2
tmp=$(tb_tmpdir)
sleep 2

# Every incoming frame except the kernel's own IPv6 multicast chatter.
cap_start() { tb_tcpdump_start "$1" "not ip6 dst net ff02::/16" --time-stamp-precision nano; }
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
	tb_tcpdump_stop
	expect_same "$mode: mixed.pcap replayed frame for frame" "$tmp/mixed.pcap" "$tmp/cap.pcap"
done

cap_start "$tmp/cap.pcap"
tb_tx "$MQSEND" -i "$TX_DEV" -f "$tmp/flows.pcapng" --topspeed --loop 3 -q >/dev/null || tb_fail "pcapng replay failed"
tb_tcpdump_stop
expect_same "pcapng, --loop 3: the file three times over" "$tmp/flows.pcap" "$tmp/cap.pcap" 3

# Original timing: 20 frames 50 ms apart take ~0.95 s and each keeps its place in the
# schedule: frame i arrives i * 50 ms after the first, +-15 ms. (Not each gap +-5 ms: a sender
# or receiver descheduled for 11 ms once made one gap 61 ms and the next 39 ms, which is the
# schedule kept, not lost.)
python3 - "$tmp/slow.pcap" <<PY
import sys
sys.path.insert(0, "$MQCAP_SRC/tests/system/lib")
import pktlib as P
fr = P.flow_frames(20, 20)
P.write_pcap(sys.argv[1], [(1_000_000_000 + i * 50_000_000, f) for i, f in enumerate(fr)])
PY
cap_start "$tmp/cap.pcap"
out=$(tb_tx "$MQSEND" -i "$TX_DEV" -f "$tmp/slow.pcap" --json) || tb_fail "timed replay failed"
tb_tcpdump_stop
expect_same "original timing: frames" "$tmp/slow.pcap" "$tmp/cap.pcap"
secs=$(sed -n 's/.*"seconds":\([0-9.]*\),.*/\1/p' <<<"$out")
gaps=$("${CHECK[@]}" gaps "$tmp/cap.pcap")
if python3 -c "
import sys
s = float('$secs'); g = [float(x) for x in '$gaps'.split()]
at = [sum(g[:i]) for i in range(len(g) + 1)]
ok = 0.93 <= s <= 1.05 and len(g) == 19 and all(abs(t - i * 0.05) <= 0.015 for i, t in enumerate(at))
sys.exit(0 if ok else 1)"; then
	echo "ok: original timing: ${secs}s, every frame within 15 ms of its place"
else
	echo "FAIL: original timing: ${secs}s (want ~0.95), gaps: $gaps"
	fails=$((fails + 1))
fi

[ $fails -eq 0 ] || tb_fail "$fails checks failed"
echo "PASS"
