#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# test_fault_devdel - the device is deleted during capture (issue 17 part 1): mqcount
#   -i xdp:DEV (then packet:DEV) with mqsend sending; after 2 s the receiving veth is
#   deleted. mqcount must say the device disappeared, end by itself (exit 1: the capture
#   failed) with a summary whose counters add up, and leave nothing behind: its XDP program
#   and BPF link are gone from the kernel, no process left.
set -u
. "${MQCAP_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/system/lib/testbed.sh"
. "$MQCAP_SRC/tests/system/fault_lib.sh"
tb_require_root
tb_tool MQCOUNT mqcount
tb_tool MQSEND mqsend
tb_need python3 bpftool

dir=$(tb_tmpdir)
for be in xdp packet; do
	fault_testbed "del$be" 2
	fault_count "$dir/$be.json" "$dir/$be.err" -i "$be:$RX_DEV"
	prog=""
	if [ $be = xdp ]; then
		prog=$(tb_rx ip -j link show dev "$RX_DEV" | python3 -c '
import json, sys
l = json.load(sys.stdin)[0]
print(l.get("xdp", {}).get("prog", {}).get("id", ""))')
		[ -n "$prog" ] || tb_fail "xdp: no XDP program attached to $RX_DEV while capturing"
		link=$(bpftool -j link show | python3 -c '
import json, sys
print(" ".join(str(l["id"]) for l in json.load(sys.stdin) if l.get("prog_id") == '"$prog"'))')
		tb_log "xdp: program $prog, BPF link(s) $link"
	fi
	fault_send "$dir/$be.send" -c 2000000 -r 100k
	sleep 2
	tb_rx ip link del "$RX_DEV"
	tb_log "$be: $RX_DEV deleted"
	for i in $(seq 100); do
		kill -0 $COUNT_PID 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 $COUNT_PID 2>/dev/null; then
		kill -INT $COUNT_PID
		tb_fail "$be: mqcount still running 10 s after its device was deleted"
	fi
	wait $COUNT_PID
	rc=$?
	kill $SEND_PID 2>/dev/null
	wait $SEND_PID 2>/dev/null
	cat "$dir/$be.err"
	[ $rc -eq 1 ] || tb_fail "$be: mqcount exited $rc, wanted 1 (the capture failed)"
	grep -qE "$RX_DEV (disappeared|.*no such device|.*was deleted)" "$dir/$be.err" ||
		tb_fail "$be: mqcount did not say that $RX_DEV disappeared"
	grep -q 'AddressSanitizer\|runtime error' "$dir/$be.err" && tb_fail "$be: sanitizer report"
	fault_check "$dir/$be.json" "$dir/$be.send" partial || tb_fail "$be: counters (see above)"
	if [ -n "$prog" ]; then
		bpftool prog show id "$prog" >/dev/null 2>&1 && tb_fail "xdp: program $prog still loaded"
		for l in $link; do
			bpftool link show id "$l" >/dev/null 2>&1 && tb_fail "xdp: BPF link $l left"
		done
		tb_log "xdp: program $prog and its link are gone"
	fi
	ps -o pid= -p $COUNT_PID >/dev/null && tb_fail "$be: mqcount $COUNT_PID still exists"
	tb_down "$TB_NAME" >/dev/null 2>&1
done
echo "PASS: a deleted device ends the capture with a clear error, counters add up, nothing left"
