#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tcpdump, unmodified, through mqcap-pcap on a 4-queue testbed with emulated RSS (issue 13).
# Three tcpdumps capture one traffic run at once, each on its own virtual device (two of them
# over AF_XDP, sharing the device's XDP program; the one that ends first leaves the other
# capturing), then a fourth alone:
#   xdp:RX@1 -Q in --time-stamp-precision nano -w F
#   packet:RX@0 -w F 'udp or ip6'          (a filter: in the kernel with the queue selection)
#   xdp:RX@3 -c 40 -w F                    (ends by itself after 40 packets)
#   RX@2 -w F                              (plain name: backend auto), in a second run
# Each file holds exactly the frames rss.h predicts for its queue (per frame, by content),
# nothing from another queue; the nano file is a nanosecond pcap; tcpdump's exit statistics
# agree with the file (captured = frames written = received by filter, none dropped); tcpdump
# ends on SIGINT (pcap_breakloop from its signal handler); nothing stays attached after.
set -u
. "$MQCAP_SRC/tests/system/pcap_common.sh"
tb_need tcpdump
pcap_testbed 2000

# tcpdump's exit statistics: "captured received dropped" from its stderr
td_stats() {
	awk '/packets captured/ {c = $1} /received by filter/ {r = $1} /dropped by kernel/ {d = $1}
	     END {print c + 0, r + 0, d + 0}' "$DIR/$1.err"
}
# td_agree TAG FILE: the statistics match the file and nothing was dropped
td_agree() {
	local c r d n
	read -r c r d < <(td_stats "$1")
	n=$(grep -c '^pkt' "$2.txt")
	echo "  $1: $c captured, $r received by filter, $d dropped by kernel, $n in the file"
	[ "$c" -eq "$n" ] && [ "$r" -eq $((c + d)) ] && [ "$d" -eq 0 ] && [ "$n" -gt 0 ]
}

W=("$WRAP" tcpdump -n)
n=$(tb_rx "${W[@]}" -D 2>&1 | grep -cE "^[0-9]+\.$RX_DEV@[0-3] \(RX queue [0-3] of $RX_DEV \(mqcap virtual device\)\)")
check "tcpdump -D lists the 4 virtual devices of $RX_DEV with a description (found $n)" [ "$n" -eq 4 ]
out=$(tb_rx "$WRAP" tcpdump -L -i "xdp:$RX_DEV@1" 2>&1)
check "tcpdump -L -i xdp:$RX_DEV@1 lists Ethernet (pcap_list_datalinks): $(echo $out)" \
	eval 'grep -q "^Data link types for xdp:$RX_DEV@1" <<<"$out" && grep -q "EN10MB (Ethernet)" <<<"$out"' 
pcap_start q1 "${W[@]}" -i "xdp:$RX_DEV@1" -Q in --time-stamp-precision nano -w "$DIR/q1.pcap"
pcap_start q0 "${W[@]}" -i "packet:$RX_DEV@0" -w "$DIR/q0.pcap" udp or ip6
pcap_start q3 "${W[@]}" -i "xdp:$RX_DEV@3" -c 40 -w "$DIR/q3.pcap"
pcap_send
for t in q1 q0; do
	pcap_stop $t; rc=$?
	check "tcpdump on $t ended by SIGINT with status 0 (got $rc)" [ $rc -eq 0 ]
done
pcap_wait q3; rc=$?
check "tcpdump -c 40 ended by itself with status 0 (got $rc)" [ $rc -eq 0 ]
pcap_start q2 "${W[@]}" -i "$RX_DEV@2" -w "$DIR/q2.pcap"
pcap_send
pcap_stop q2; rc=$?
check "tcpdump on $RX_DEV@2 ended by SIGINT with status 0 (got $rc)" [ $rc -eq 0 ]

check "tcpdump -i $RX_DEV@2: exactly queue 2's frames" pcap_file_check "$DIR/q2.pcap" "$(pcap_want 2)"
check "tcpdump -i xdp:$RX_DEV@1 -Q in, nano: exactly queue 1's frames" \
	pcap_file_check "$DIR/q1.pcap" "$(pcap_want 1)"
check "tcpdump -i packet:$RX_DEV@0 'udp or ip6': exactly queue 0's frames that match" \
	pcap_file_check "$DIR/q0.pcap" "$(pcap_want 0 'udp or ip6')"
magic=$(od -An -tx4 -N4 "$DIR/q1.pcap" | tr -d ' ')
check "--time-stamp-precision nano writes a nanosecond pcap (magic $magic)" [ "$magic" = a1b23c4d ]
check "nano time stamps have sub-microsecond digits" python3 - "$DIR/q1.pcap" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
off, sub = 24, []
while off + 16 <= len(d):
    s, ns, cl, _ = struct.unpack_from("<IIII", d, off)
    sub.append(ns); off += 16 + cl
# nanoseconds (< 1e9) and not all multiples of 1000, as microseconds scaled up would be
sys.exit(0 if sub and max(sub) < 10**9 and any(x % 1000 for x in sub) else 1)
PY
for t in q2 q1 q0; do
	check "tcpdump's statistics on $t agree with its file" td_agree $t "$DIR/$t.pcap"
done

# -c 40: 40 frames, each of queue 3 (the traffic puts far more than 40 there)
"$DUMP" -P "pcap:$DIR/q3.pcap" > "$DIR/q3.pcap.txt"
check "tcpdump -c 40 on xdp:$RX_DEV@3: 40 frames, none of another queue" python3 - \
	"$DIR/q3.pcap.txt" "$DIR/sent.txt" "$(pcap_want 3)" <<'PY'
import sys
def hashes(p):
    return [dict(x.split("=", 1) for x in l.split()[1:] if "=" in x)["hash"] for l in open(p) if l.startswith("pkt ")]
got, sent, want = hashes(sys.argv[1]), set(hashes(sys.argv[2])), set(hashes(sys.argv[3]))
bad = [h for h in got if h in sent and h not in want]
print("  %d frames, %d of another queue" % (len(got), len(bad)))
sys.exit(0 if len(got) == 40 and not bad else 1)
PY
grep -q "^40 packets captured" "$DIR/q3.err" || { echo "not ok - tcpdump -c 40 says: $(cat "$DIR/q3.err")"; fails=$((fails + 1)); }

check "nothing of mqcap left on $RX_DEV (no XDP program, not promiscuous)" pcap_clean

# A plain device name is libpcap's, untouched: tcpdump -i RX captures every queue
# (as tb_tcpdump_start: immediate mode, since libpcap's TPACKET_V3 hands over a block only
# when it is full or its 1 s timeout expires and an unfinished block is lost at SIGINT; and a
# 64 MiB ring, so that a loaded machine does not make libpcap drop)
pcap_start all "${W[@]}" -i "$RX_DEV" -Q in --immediate-mode -s 2048 -B 65536 -w "$DIR/all.pcap"
check "no XDP program while libpcap captures a plain name" pcap_no_xdp
pcap_send
sleep 1
pcap_stop all
check "tcpdump -i $RX_DEV (libpcap's): every frame ($(grep -h 'packets' "$DIR/all.err" | tr '\n' ' '))" \
	pcap_file_check "$DIR/all.pcap" "$DIR/sent.txt"

[ $fails -eq 0 ] || tb_fail "$fails checks failed"
echo "PASS"
