#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# test_mqsend_errors.sh - bad input is a clear error before anything is sent: unknown
# device, frame size below the minimum or above the MTU, a file that is not a capture (or
# not Ethernet), conflicting options. Each exits non-zero and names the problem, and the
# receiver sees no frame from mqsend (a capture of TCP/UDP/VLAN frames over the whole test
# stays empty; the kernel's own IPv6 chatter is neither).
set -u
: "${MQCAP_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$MQCAP_SRC/tests/system/lib/testbed.sh"
tb_require_root
tb_tool MQSEND mqsend

tb_up "$(tb_unique_name send)" --queues 2
tmp=$(tb_tmpdir)
echo "this is not a capture" >"$tmp/text.pcap"
python3 - "$tmp/raw.pcap" <<PY
import sys
sys.path.insert(0, "$MQCAP_SRC/tests/system/lib")
import pktlib as P
P.write_pcap(sys.argv[1], [b"\x45" + b"\0" * 40], linktype=101)  # LINKTYPE_RAW
PY
tb_need tcpdump
tb_tcpdump_start "$tmp/cap.pcap" "tcp or udp or vlan"
fails=0

# NAME WANT_STATUS MESSAGE_REGEX ARGS...
bad() {
	local name=$1 want=$2 re=$3 out rc
	shift 3
	out=$(tb_tx "$MQSEND" "$@" 2>&1); rc=$?
	if [ $rc -eq "$want" ] && grep -Eq -e "$re" <<<"$out"; then
		echo "ok: $name: exit $rc, '$(head -1 <<<"$out")'"
	else
		echo "FAIL: $name: exit $rc (want $want), output: $out"
		fails=$((fails + 1))
	fi
}

bad "unknown device" 1 "unknown device 'nosuchdev0'" -i nosuchdev0 -c 10
bad "no device" 2 "no device" -c 10
bad "size below the minimum" 1 "below the minimum 64" -i "$TX_DEV" -s 40 -c 10
bad "IPv6 TCP size below its minimum" 1 "below the minimum 84" -i "$TX_DEV" -s 70 --dst fd00:198::2 -c 10
bad "size above the MTU" 1 "above what .* MTU 1500 allows \(1518" -i "$TX_DEV" -s 1600 -c 10
bad "file that is not a capture" 1 "not a readable pcap or pcapng file" -i "$TX_DEV" -f "$tmp/text.pcap"
bad "missing file" 1 "not a readable pcap" -i "$TX_DEV" -f "$tmp/none.pcap"
bad "capture that is not Ethernet" 1 "only Ethernet" -i "$TX_DEV" -f "$tmp/raw.pcap"
bad "bad rate" 2 "--rate" -i "$TX_DEV" -r fast
bad "bad size" 2 "frame size" -i "$TX_DEV" -s big
bad "mixed address families" 2 "must both be IPv4 or both IPv6" -i "$TX_DEV" --src 198.18.0.1 --dst fd00:198::2
bad "--rss without xdp" 2 "use them with -m xdp" -i "$TX_DEV" --rss
bad "more threads than queues with --rss" 1 "TX queues" -i "$TX_DEV" -m xdp --rss -t 3 -c 10
bad "generator options with -f" 2 "do not apply" -i "$TX_DEV" -f "$tmp/text.pcap" --paper
# --help answers: it names every transmit path and the payload header.
if "$MQSEND" --help | grep -q "bypass" && "$MQSEND" --help | grep -q "payload.h"; then
	echo "ok: --help"
else
	echo "FAIL: --help"; fails=$((fails + 1))
fi

tb_tcpdump_stop
n=$(tcpdump -n -r "$tmp/cap.pcap" 2>/dev/null | wc -l)
if [ "$n" -eq 0 ]; then echo "ok: nothing was sent"; else echo "FAIL: $n frames reached the receiver"; fails=$((fails + 1)); fi

[ $fails -eq 0 ] || tb_fail "$fails checks failed"
echo "PASS"
