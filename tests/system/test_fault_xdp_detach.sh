#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# test_fault_xdp_detach - someone else removes or replaces mqcap's XDP program during capture
#   (issue 17 part 1). mqcount -i xdp:DEV with mqsend sending. First the ordinary commands,
#   which the kernel must refuse while mqcap's BPF link holds the device (on this kernel:
#   "Can't replace active BPF XDP link"): `ip link set dev X xdp off`, `xdpdrv off`,
#   `xdpdrv obj OTHER` (with and without -force), `bpftool net detach`; the capture must go on
#   through them. Then `bpftool link detach`, which the kernel allows: mqcount must say that
#   the program was detached and end (exit 1) instead of counting zeros, with counters that
#   add up.
set -u
. "${MQCAP_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/system/lib/testbed.sh"
. "$MQCAP_SRC/tests/system/fault_lib.sh"
tb_require_root
tb_tool MQCOUNT mqcount
tb_tool MQSEND mqsend
tb_need python3 bpftool

other="$MQCAP_BUILD/bpf/xdp_redirect.bpf.o"   # any XDP object will do as "someone else's"
[ -f "$other" ] || tb_fail "no XDP object at $other"
dir=$(tb_tmpdir)
fault_testbed detach 2
fault_count "$dir/c.json" "$dir/c.err" -i "xdp:$RX_DEV"
prog=$(tb_rx ip -j link show dev "$RX_DEV" | python3 -c '
import json, sys
print(json.load(sys.stdin)[0].get("xdp", {}).get("prog", {}).get("id", ""))')
[ -n "$prog" ] || tb_fail "no XDP program attached to $RX_DEV while capturing"
link=$(bpftool -j link show | python3 -c '
import json, sys
print(" ".join(str(l["id"]) for l in json.load(sys.stdin) if l.get("prog_id") == '"$prog"'))')
[ -n "$link" ] || tb_fail "program $prog is attached without a BPF link"
tb_log "program $prog, BPF link $link"
fault_send "$dir/s.json" -d 20 -r 50k

received() {
	python3 -c '
import json, sys
iv = [json.loads(l) for l in open(sys.argv[1]) if "\"interval\"" in l]
print(iv[-1]["total"]["received"] if iv else 0)' "$dir/c.json"
}

sleep 1
# (`xdpgeneric off` succeeds as a no-op: there is no generic-mode program to remove)
for cmd in "ip link set dev $RX_DEV xdp off" \
	   "ip link set dev $RX_DEV xdpdrv off" \
	   "ip link set dev $RX_DEV xdpdrv obj $other sec xdp" \
	   "ip -force link set dev $RX_DEV xdpdrv obj $other sec xdp" \
	   "bpftool net detach xdpdrv dev $RX_DEV"; do
	if tb_rx $cmd > "$dir/cmd" 2>&1; then
		tb_fail "'$cmd' was allowed while mqcap's BPF link holds $RX_DEV"
	fi
	tb_log "refused: $cmd: $(tail -1 "$dir/cmd")"
done
now=$(tb_rx ip -j link show dev "$RX_DEV" | python3 -c '
import json, sys
print(json.load(sys.stdin)[0].get("xdp", {}).get("prog", {}).get("id", ""))')
[ "$now" = "$prog" ] || tb_fail "the attached program changed from $prog to '$now'"
r0=$(received); sleep 2.5; r1=$(received)
[ $((r1 - r0)) -gt 10000 ] || tb_fail "capture stalled after the refused commands ($r0 -> $r1)"
tb_log "capture went on: $((r1 - r0)) packets in 2.5 s"

bpftool link detach id "$link" || tb_fail "bpftool link detach id $link failed"
tb_log "link $link detached"
for i in $(seq 50); do
	kill -0 $COUNT_PID 2>/dev/null || break
	sleep 0.1
done
if kill -0 $COUNT_PID 2>/dev/null; then
	kill -INT $COUNT_PID
	wait $COUNT_PID
	cat "$dir/c.err"
	tb_fail "mqcount still running 5 s after its program was detached (a silent zero)"
fi
wait $COUNT_PID
rc=$?
wait $SEND_PID   # it ends by itself: its count at its rate
cat "$dir/c.err"
python3 -c '
import json, sys
for l in [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")][-4:]:
    print("#", l["type"], l["elapsed"], l["total"]["received"], l["total"]["dropped"])' "$dir/c.json"
[ $rc -eq 1 ] || tb_fail "mqcount exited $rc, wanted 1 (the capture failed)"
grep -q "XDP program was detached" "$dir/c.err" || tb_fail "mqcount did not say the program was detached"
grep -q 'AddressSanitizer\|runtime error' "$dir/c.err" && tb_fail "sanitizer report"
fault_check "$dir/c.json" "$dir/s.json" partial || tb_fail "counters (see above)"
bpftool prog show id "$prog" >/dev/null 2>&1 && tb_fail "program $prog still loaded after mqcount exited"
echo "PASS: foreign detach attempts are refused, a forced detach is reported, counters add up"
