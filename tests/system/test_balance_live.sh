#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Balance mode on live traffic (AF_XDP, explicit xdp:), 2 RX queues with uneven RSS (8,1),
# mqsend's payloads (sender, flow, sequence) on 64 flows:
#  - forced migrations (a live flow's bucket moved every ms): flows change workers and no
#    sequence ever goes backwards; every packet delivered or counted as a drop;
#  - convergence: every bucket starts on worker 0 of 2, workers that busy-wait 2 us per
#    packet; the adaptive controller moves buckets until the spread is within 30%;
#  - mqcount --balance adaptive --work-ns --verify: 0 reordered, the summary adds up, the
#    scheduler's JSON is there.
set -u
. "${MQCAP_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/system/lib/testbed.sh"
tb_require_root
tb_tool MQCOUNT mqcount
tb_tool MQSEND mqsend
tb_need python3
PROBE="$MQCAP_BUILD/tests/system/balance_probe"
[ -x "$PROBE" ] || tb_fail "balance_probe not built at $PROBE"
dir=$(tb_tmpdir)
tb_up "$(tb_unique_name bal)" --queues 2 --weights 8,1

send() { # send SECONDS RATE
	tb_tx "$MQSEND" -i "$TX_DEV" -m qdisc -s 128 -P udp --dst 198.19.0.0-198.19.0.63 --dport 5001 \
		-d "$1" -r "$2" --dst-mac "$RX_MAC" > "$dir/send" 2>&1 || { cat "$dir/send"; tb_fail "mqsend failed"; }
}
# probe LABEL ARGS...: balance_probe in the receiver's namespace while mqsend sends 3 s.
probe() {
	local label="$1" pid; shift
	tb_rx "$PROBE" "xdp:$RX_DEV" "$@" > "$dir/$label.json" 2> "$dir/$label.err" &
	pid=$!
	tb_on_exit "kill $pid"
	sleep 1.5
	send 3 40k
	wait $pid || { cat "$dir/$label.err"; tb_fail "$label: balance_probe exited $?"; }
	cat "$dir/$label.json"
}
check() { # check LABEL PYTHON-CONDITION
	python3 -c "
import json, sys
j = json.loads(open(sys.argv[1]).read())
ok = $2
print('#', sys.argv[2], j)
sys.exit(0 if ok else 1)" "$dir/$1.json" "$1" || tb_fail "$1"
}

probe forced static 2 -m 1000 -d 5500 >/dev/null
check forced "j['received'] >= 100000 and j['delivered'] + j['dropped'] == j['received'] and j['forced'] >= 100 and j['split'][0] >= 5 and j['reordered'] == [0] and j['flows'] == 64"

probe converge adaptive 2 -k -w 2000 -d 5500 >/dev/null
check converge "j['delivered'] + j['dropped'] == j['received'] and j['controller_moves'] >= 1 and 0 < j['max_mean'] <= 1.3 and min(j['workers']) > j['received'] // 5 and j['reordered'] == [0]"

ip netns exec "$RX_NS" "$MQCOUNT" -i "xdp:$RX_DEV" --balance adaptive -n 2 --oversubscribe \
	--work-ns 2000 --verify --json -d 5 udp port 5001 > "$dir/mc.json" 2> "$dir/mc.err" &
pid=$!
tb_on_exit "kill $pid"
sleep 1.5
send 3 40k
wait $pid || { cat "$dir/mc.err"; tb_fail "mqcount --balance exited $?"; }
python3 - "$dir/mc.json" <<'PY' || tb_fail "mqcount --balance adaptive: summary wrong"
import json, sys
s = [json.loads(l) for l in open(sys.argv[1])]
iv = [x for x in s if x['type'] == 'interval']
s = [x for x in s if x['type'] == 'summary'][-1]
t, v, b = s['total'], s['verify'], s['balance']
print('# mqcount: received %d handoff %d threads %d, verify %s, balance %s' % (
    t['received'], t['drop_handoff'], s['threads_packets'], v, {k: b[k] for k in b if k != 'workers'}))
ok = (s['adds_up'] and s['threads_packets'] + t['drop_handoff'] == t['received'] and
      t['received'] >= 100000 and v['reordered'] == 0 and v['duplicates'] == 0 and v['corrupt'] == 0 and
      b['mode'] == 'adaptive' and b['intervals'] >= 10 and len(b['workers']) == 2 and
      sum(w['delivered'] for w in b['workers']) == s['threads_packets'] and
      all('balance' in x for x in iv))
sys.exit(0 if ok else 1)
PY
echo "PASS"
