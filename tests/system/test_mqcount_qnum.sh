#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# How the AF_PACKET backend finds a device's RX queue numbering (issue 11, item 6), through
# mqcount as a user runs it:
#  - a macvlan in passthru mode with 4 RX queues on the testbed's receiving veth: its frames
#    keep the veth's queue_mapping (q, not the q + 1 a recording driver stores), though its
#    driver is not "veth". `mqcount -i packet:MACVLAN@q` gets exactly the frames Toeplitz RSS
#    predicts for queue q, for every q (the numbering is taken from rtnetlink's IFLA_LINK and
#    checked against the frames: src/qnum.c). The driver-name guess captured queue q+1's
#    frames for q and nothing at all for queue 3;
#  - a queue that RSS sends nothing (indirection table weights 3,2,1,0: each queue expects
#    a different count, so a shifted selection cannot pass) while the others
#    receive: `mqcount -i packet:DEV@3` says so in a warning line; queue 2 gets no warning;
#  - a multi-queue tap (tests/system/lib/tapq.py), whose driver records q + 1 as NIC drivers
#    do: `mqcount -i packet:TAP` gets exactly the frames written to each queue;
#  - a macvlan on that tap: rtnetlink suggests q (it has a lower device) but its frames carry
#    the tap's q + 1; mqcount warns that the numbering was corrected, and afterwards every
#    queue gets exactly its frames.
set -u
. "${MQCAP_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/system/lib/testbed.sh"
tb_require_root
tb_tool MQCOUNT mqcount
tb_tool MQSEND mqsend
tb_need python3

ROUNDS=2
NPKT=$((4096 * ROUNDS))
RATE=40k
dir=$(tb_tmpdir)
tb_up "$(tb_unique_name qnum)" --queues 4 --weights 3,2,1,0
MV=mvq$((RANDOM % 1000))
tb_rx ip link add "$MV" link "$RX_DEV" numtxqueues 4 numrxqueues 4 type macvlan mode passthru ||
	tb_skip "this kernel has no macvlan"
tb_rx ip link set "$MV" up || tb_fail "cannot bring $MV up"
tb_log "testbed $TB_NAME: $RX_NS/$RX_DEV, 4 queues (table weights 3,2,1,0), macvlan $MV on it ($(tb_rx ethtool -i "$MV" | head -1))"

# Independent prediction: Toeplitz over mqsend --paper's flows with the testbed's key/table.
expect=$(python3 "$MQCAP_SRC/tests/system/test_mqsend_check.py" paper-rss "$RSS_KEY" "$RSS_TABLE" \
	"$QUEUES" "$ROUNDS") || tb_fail "prediction failed"
read -r -a want <<<"$expect"
tb_log "predicted per queue for $NPKT packets: $expect"
[ "${want[3]}" -eq 0 ] && [ "${want[0]}" -gt 0 ] && [ "${want[2]}" -gt 0 ] ||
	tb_fail "the table should send queue 3 nothing and the others something: $expect"

# start LABEL MQCOUNT-ARGS...: mqcount in the receiver namespace, JSON on LABEL.json, stderr on
# LABEL.err, running once its first interval line is out.
pids=()
start() {
	local label=$1 i; shift
	ip netns exec "${NS:-$RX_NS}" "$MQCOUNT" --json -l 200ms "$@" > "$dir/$label.json" 2> "$dir/$label.err" &
	pids+=($!)
	tb_on_exit "kill $! 2>/dev/null"
	for i in $(seq 50); do
		grep -q '"type":"interval"' "$dir/$label.json" 2>/dev/null && return 0
		kill -0 "${pids[-1]}" 2>/dev/null || { cat "$dir/$label.err"; tb_fail "$label: mqcount exited early"; }
		sleep 0.2
	done
	tb_fail "$label: mqcount did not start: $(cat "$dir/$label.err")"
}
stop_all() {
	local pid
	for pid in "${pids[@]}"; do kill -INT "$pid" 2>/dev/null; done
	for pid in "${pids[@]}"; do wait "$pid" || tb_fail "mqcount $pid exited with $?"; done
	pids=()
}
# received LABEL Q: what queue Q of the summary received + dropped
received() {
	python3 - "$dir/$1.json" "$2" <<'PY'
import json, sys
s = [json.loads(l) for l in open(sys.argv[1])]
s = [l for l in s if l['type'] == 'summary'][-1]
q = [x for x in s['queues'] if x['queue'].endswith('@' + sys.argv[2])]
print(q[0]['received'] + q[0]['dropped'] if q else -1)
PY
}
# exact WHO RUN Q WANT WHAT: run RUN's summary counts WANT frames for queue Q (WHAT: whose)
exact() {
	local got
	got=$(received "$2" "$3")
	if [ "$got" = "$4" ]; then
		echo "ok - $1 received exactly the $4 frames $5"
	else
		echo "not ok - $1 received $got frames, not the $4 $5"
		fails=$((fails + 1))
	fi
}

FILTER=(tcp dst port 80)   # the workload only: the sender's kernel adds IPv6 chatter
fails=0
for q in 0 1 2 3; do start "mv$q" -i "packet:$MV@$q" "${FILTER[@]}"; done
start silent3 -i "packet:$RX_DEV@3" "${FILTER[@]}"
start busy2 -i "packet:$RX_DEV@2" "${FILTER[@]}"
tb_tx "$MQSEND" -i "$TX_DEV" -m qdisc --paper -c "$NPKT" -r "$RATE" --dst-mac "$RX_MAC" \
	> "$dir/send.txt" 2>&1 || { cat "$dir/send.txt"; tb_fail "mqsend failed"; }
sleep 3   # the silent queue's watch needs 2 s of others' traffic after the last frame
stop_all

for q in 0 1 2 3; do
	exact "packet:$MV@$q" "mv$q" "$q" "${want[$q]}" "RSS predicts for queue $q"
	# queue 3 gets nothing from RSS, so its warning is right; the others must stay quiet
	if [ "$q" != 3 ] && grep -q "warning" "$dir/mv$q.err"; then
		echo "not ok - packet:$MV@$q warned: $(cat "$dir/mv$q.err")"; fails=$((fails + 1))
	fi
done

if grep -q "warning: $RX_DEV@3: RX queue 3 received nothing for [0-9.]* s while $RX_DEV received [0-9]* frames on its other queues" "$dir/silent3.err"; then
	echo "ok - packet:$RX_DEV@3 (sent nothing by RSS) says so: $(grep warning "$dir/silent3.err")"
else
	echo "not ok - packet:$RX_DEV@3 said no warning about its silent queue: $(cat "$dir/silent3.err")"
	fails=$((fails + 1))
fi
exact "packet:$RX_DEV@3" silent3 3 0 "RSS sends queue 3"
if grep -q "warning" "$dir/busy2.err"; then
	echo "not ok - packet:$RX_DEV@2 warned though it received: $(cat "$dir/busy2.err")"; fails=$((fails + 1))
fi
exact "packet:$RX_DEV@2" busy2 2 "${want[2]}" "RSS predicts for queue 2 (no warning)"
# ---- a recording driver: a 4-queue tap in a namespace of its own, and a macvlan on it ----
NS=$(tb_unique_name qntap)
ip netns add "$NS" || tb_fail "cannot make namespace $NS"
tb_on_exit "ip netns del $NS"
ip netns exec "$NS" ip link set lo up
mkfifo "$dir/tapin" || tb_fail "mkfifo"
ip netns exec "$NS" python3 "$MQCAP_SRC/tests/system/lib/tapq.py" tq 4 02:00:00:00:00:02 \
	< "$dir/tapin" > "$dir/tap.out" 2>&1 &
tb_on_exit "kill $!"
exec 7>"$dir/tapin"
tb_on_exit "exec 7>&-"
for _ in $(seq 100); do grep -q ready "$dir/tap.out" && break; sleep 0.05; done
grep -q ready "$dir/tap.out" || tb_fail "tapq.py did not start: $(cat "$dir/tap.out")"
ip netns exec "$NS" ip link set tq up || tb_fail "tap up"
ip netns exec "$NS" ip link add mvt link tq numtxqueues 4 numrxqueues 4 type macvlan mode passthru &&
	ip netns exec "$NS" ip link set mvt up || tb_fail "macvlan on the tap"
tap_send() { # tap_send N0,N1,N2,N3 ETHERTYPE: write, and wait until tapq.py wrote them
	local before
	before=$(grep -c sent "$dir/tap.out")
	echo "$1 $2" >&7
	for _ in $(seq 100); do
		[ "$(grep -c sent "$dir/tap.out")" -gt "$before" ] && return 0
		sleep 0.05
	done
	tb_fail "tapq.py did not write: $(cat "$dir/tap.out")"
}
# Only the second batch counts: the first (another EtherType) is what the census learns from.
TAPF=(ether proto 0x88b6)
NS=$NS start tap -i packet:tq "${TAPF[@]}"
NS=$NS start mvt -i packet:mvt "${TAPF[@]}"
tap_send 10,10,10,10 0x88b5
for _ in $(seq 50); do grep -q "q + 1, not q + 0" "$dir/mvt.err" && break; sleep 0.1; done
if grep -q "mvt numbers its RX queues as queue_mapping q + 1, not q + 0" "$dir/mvt.err"; then
	echo "ok - packet:mvt (a macvlan on a tap) found and said that its queues are q + 1"
else
	echo "not ok - packet:mvt said nothing about its numbering: $(cat "$dir/mvt.err")"
	fails=$((fails + 1))
fi
tap_send 100,200,300,400 0x88b6
sleep 1
stop_all
twant=(100 200 300 400)
for label in tap mvt; do
	for q in 0 1 2 3; do
		exact "$label@$q" "$label" "$q" "${twant[$q]}" "written to tap queue $q"
	done
done
if grep -q warning "$dir/tap.err"; then
	echo "not ok - packet:tq warned: $(cat "$dir/tap.err")"; fails=$((fails + 1))
fi

[ "$fails" -eq 0 ] || tb_fail "$fails check(s) failed"
echo "PASS: queue numbering found on a macvlan on a veth, a tap and a macvlan on a tap; a silent queue is reported"
