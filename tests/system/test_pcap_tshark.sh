#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tshark and dumpcap (Debian's packages, unmodified) through mqcap-pcap on a 4-queue testbed
# (issue 13). tshark captures through a dumpcap child, which inherits the preload.
#   tshark -D / dumpcap -D                 list the virtual devices RX@0 ... RX@3
#   tshark -i RX@1 -c 1000 -w F            1000 frames, all of queue 1 (read back with tshark)
#   dumpcap -i packet:RX@2 -w F            exactly queue 2's frames (same run as tshark)
#   dumpcap -i RX@3 -f tcp -w F            exactly queue 3's TCP frames (a second run)
# and dumpcap's statistics report no drops; nothing stays attached after.
# dumpcap keeps only CAP_NET_RAW and CAP_NET_ADMIN before it opens a device, even as root:
# the xdp backend cannot load its program there. The plain names (backend auto) then fall
# back to packet:, and xdp: is refused the libpcap way (permission denied, with the reason).
set -u
. "$MQCAP_SRC/tests/system/pcap_common.sh"
tb_need tshark dumpcap
pcap_testbed 3000

for prog in tshark dumpcap; do
	out=$(tb_rx "$WRAP" $prog -D 2>&1)
	n=$(grep -cE "^[0-9]+\. $RX_DEV@[0-3]( |\$)" <<<"$out")
	check "$prog -D lists the 4 virtual devices of $RX_DEV (found $n)" [ "$n" -eq 4 ]
done

pcap_start ts1 "$WRAP" tshark -i "$RX_DEV@1" -c 1000 -w "$DIR/ts1.pcapng"
pcap_start dc2 "$WRAP" dumpcap -i "packet:$RX_DEV@2" -w "$DIR/dc2.pcapng"
pcap_send
pcap_wait ts1; rc=$?
check "tshark -c 1000 ended by itself with status 0 (got $rc)" [ $rc -eq 0 ]
pcap_stop dc2; rc=$?
check "dumpcap ended by SIGINT with status 0 (got $rc)" [ $rc -eq 0 ]

n=$(tshark -r "$DIR/ts1.pcapng" 2>/dev/null | wc -l)
check "tshark reads back 1000 frames from tshark -i $RX_DEV@1 -c 1000 (got $n)" [ "$n" -eq 1000 ]
"$DUMP" -P "pcap:$DIR/ts1.pcapng" > "$DIR/ts1.txt"
check "tshark -i $RX_DEV@1: 1000 frames, none of another queue" python3 - \
	"$DIR/ts1.txt" "$DIR/sent.txt" "$(pcap_want 1)" <<'PY'
import sys
def hashes(p):
    return [dict(x.split("=", 1) for x in l.split()[1:] if "=" in x)["hash"] for l in open(p) if l.startswith("pkt ")]
got, sent, want = hashes(sys.argv[1]), set(hashes(sys.argv[2])), set(hashes(sys.argv[3]))
bad = [h for h in got if h in sent and h not in want]
print("  %d frames, %d of ours, %d of another queue" % (len(got), sum(h in sent for h in got), len(bad)))
sys.exit(0 if len(got) == 1000 and not bad else 1)
PY
n=$(tshark -r "$DIR/dc2.pcapng" 2>/dev/null | wc -l)
check "dumpcap -i packet:$RX_DEV@2: exactly queue 2's frames ($n read back by tshark)" \
	pcap_file_check "$DIR/dc2.pcapng" "$(pcap_want 2)"
check "dumpcap on packet:$RX_DEV@2 reports no drops" \
	grep -qE "received/dropped on interface '[^']*': [0-9]+/0 " "$DIR/dc2.err"

pcap_start dc3 "$WRAP" dumpcap -i "$RX_DEV@3" -f tcp -w "$DIR/dc3.pcapng"
pcap_send
pcap_stop dc3; rc=$?
check "dumpcap on $RX_DEV@3 ended by SIGINT with status 0 (got $rc)" [ $rc -eq 0 ]
check "dumpcap -i $RX_DEV@3 -f tcp: exactly queue 3's TCP frames" \
	pcap_file_check "$DIR/dc3.pcapng" "$(pcap_want 3 tcp)"
check "dumpcap on $RX_DEV@3 reports no drops" \
	grep -qE "received/dropped on interface '[^']*': [0-9]+/0 " "$DIR/dc3.err"

out=$(timeout -k 5 20 ip netns exec "$RX_NS" "$WRAP" dumpcap -i "xdp:$RX_DEV@3" -c 1 -w "$DIR/x.pcapng" 2>&1); rc=$?
check "dumpcap -i xdp:$RX_DEV@3: refused with permission denied and the reason (rc $rc)" \
	eval '[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "CAP_BPF" <<<"$out" && grep -qi "permission" <<<"$out"'
check "nothing of mqcap left on $RX_DEV (no XDP program, not promiscuous)" pcap_no_xdp

[ $fails -eq 0 ] || { cat "$DIR"/*.err; tb_fail "$fails checks failed"; }
echo "PASS"
