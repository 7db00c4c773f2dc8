#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# mqdump --time-order on a 4-queue testbed (issue 14): four capture threads write into one
# merged pcapng.
#  - with a window the test machine's scheduling cannot outrun (2 s): tshark reads the file
#    back with every timestamp >= the one before it, and no packet counted late; the file holds
#    every frame once with the epb_queue RSS predicts, each queue's frames in the order sent;
#    libpcap and capinfos count the same; captured = written + write drops per queue;
#  - with a 1 ms window and capture threads that wait 100 ms between bursts (--batch-us), some
#    packets come later than the window: none is lost (the file still holds every frame), and
#    the packets tshark finds out of order are exactly the ones the summary counts as late;
#  - a merged file without --time-order still keeps each queue's order (burst by burst).
set -u
. "$MQCAP_SRC/tests/system/mqdump_lib.sh"

tb_up "$(tb_unique_name mqo)" --queues 4
python3 - "$dir/traffic.pcap" <<PY || tb_fail "cannot write the traffic pcap"
import sys
sys.path.insert(0, "$MQCAP_SRC/tests/system/lib")
import pktlib as p
p.write_pcap(sys.argv[1], p.flow_frames(1200, 256, "udp") + p.flow_frames(400, 64, "tcp", v6=True)
             + p.flow_frames(200, 32, "udp", vlan=(10,)))
PY
"$DUMP" -P "pcap:$dir/traffic.pcap" > "$dir/sent.txt" || tb_fail "reading traffic.pcap"
nsent=$(grep -c '^pkt' "$dir/sent.txt")
tb_log "$nsent frames; per predicted queue: $(grep -o 'rssq=[0-9]*' "$dir/sent.txt" | sort | uniq -c | tr '\n' ' ')"


# order FILE: "PACKETS OUT_OF_ORDER" by tshark's timestamps (nanoseconds, exact integers):
# a packet is out of order when it is older than one before it in the file.
order() {
	tshark -r "$1" -T fields -e frame.time_epoch 2>/dev/null | python3 -c '
import sys
n = bad = 0
top = -1
for l in sys.stdin:
    s, _, f = l.strip().partition(".")
    t = int(s) * 10**9 + int((f + "000000000")[:9])
    n += 1
    if t < top:
        bad += 1
    top = max(top, t)
print(n, bad)'
}
late() { awk '/^time order/ {print $6}' "$1"; }
balanced() { grep -q 'write drops 0, for every queue' "$1"; }

mkdir -p "$dir/t" "$dir/l" "$dir/u"
start t -i "packet:$RX_DEV" -w "$dir/t/all.pcapng" --time-order --time-window 2s
start l -i "packet:$RX_DEV" -w "$dir/l/all.pcapng" --time-window 1ms --batch-us 100000
start u -i "packet:$RX_DEV" -w "$dir/u/all.pcapng"
tb_tx python3 "$PKTLIB" send -i "$TX_DEV" -r 4000 "$dir/traffic.pcap" >/dev/null || tb_fail "sending failed"
sleep 2.5  # the 2 s window: what was staged has gone out by now (the summary would say anyway)
stop_all || nok "an mqdump exited non-zero: $(cat "$dir"/*.err)"
for t in t l u; do check "$t: captured = written + write drops, for every queue" balanced "$dir/$t.out"; done

# ---- the 2 s window ----
f="$dir/t/all.pcapng"
read -r n bad < <(order "$f")
lt=$(late "$dir/t.out")
[ "${n:-0}" -ge "$nsent" ] && [ "$bad" -eq 0 ] && [ "$lt" = 0 ] \
	&& ok "--time-order: tshark reads $n packets with non-decreasing timestamps; 0 late" \
	|| nok "--time-order: $n packets, $bad out of order, late '$lt'"
check "--time-order: every frame once, epb_queue = predicted queue, each queue in the order sent" \
	python3 "$CHECK" frames "$dir/sent.txt" all "$f"
ci=$(capinfos -c -M "$f" 2>/dev/null | awk -F: '/Number of packets/ {gsub(/ /, "", $2); print $2}')
lp=$("$DUMP" -q "pcap:$f" | awk '$1 == "total" {sub("received=", "", $2); print $2}')
wr=$(awk '$1 == "total" {print $3}' "$dir/t.out")
[ "$n" = "${ci:-x}" ] && [ "$n" = "${lp:-x}" ] && [ "$n" = "${wr:-x}" ] \
	&& ok "--time-order: capinfos, libpcap and the summary's written agree: $n" \
	|| nok "--time-order: tshark $n, capinfos '${ci:-}', libpcap '${lp:-}', written '${wr:-}'"
python3 "$CHECK" read "$f" | grep -q '^isb' && ok "--time-order: the file closes with its ISB" || nok "no ISB"
tq=$(tshark -r "$f" -T fields -e frame.interface_queue 2>/dev/null | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}')
tb_log "packets per epb_queue: $tq"
[ "$(wc -w <<<"$tq")" -eq 4 ] && ok "--time-order: all four queues in the one file" || nok "queues in the file: $tq"

# ---- the 1 ms window, threads 100 ms late ----
f="$dir/l/all.pcapng"
read -r n bad < <(order "$f")
lt=$(late "$dir/l.out")
check "1 ms window: every frame still written (late ones too), epb_queue right" \
	python3 "$CHECK" frames "$dir/sent.txt" all "$f"
[ -n "$lt" ] && [ "$bad" = "$lt" ] && [ "$lt" -gt 0 ] \
	&& ok "1 ms window: $lt packets came late; tshark finds exactly $bad out of order" \
	|| nok "1 ms window: late '$lt', tshark finds $bad of $n out of order (want equal and > 0)"
"$MQDUMP" --json -i "pcap:$f" -w "$dir/l/copy.pcapng" --time-order > "$dir/json.out" 2>&1
python3 -c 'import json, sys; s = json.loads(open(sys.argv[1]).readlines()[-1]); sys.exit(not (
    s["total"]["late"] == 0 and all("late" in q for q in s["queues"]) and s["time_order_window_ms"] == 100))' \
	"$dir/json.out" && ok "--json: late per queue and in total, the window" || nok "--json: $(cat "$dir/json.out")"

# ---- without --time-order: per-queue order only ----
check "without --time-order: every frame, each queue in the order sent" \
	python3 "$CHECK" frames "$dir/sent.txt" all "$dir/u/all.pcapng"
read -r n bad < <(order "$dir/u/all.pcapng")
tb_log "without --time-order: $bad of $n packets older than one before them (burst-by-burst merge)"
grep -q '^time order' "$dir/u.out" && nok "a summary line on time order without --time-order" || true

mqd_done
