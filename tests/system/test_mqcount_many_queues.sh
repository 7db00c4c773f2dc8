#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# test_mqcount_many_queues - one worker over 150 queues (issue 11 item 5): the runtime hands
# the planner's queue set to the library as a structure, so there is no capture name to
# outgrow (it failed with ENAMETOOLONG, "too many queues for one worker", past ~100 queues),
# and pollers are found for every queue, not the first 64.
#   - `mqcount -n 1 --plan` plans one worker with all 150 queues;
#   - a 6 s capture with that one worker, traffic spread over the queues by the testbed's
#     RSS: exit 0, 150 queues in the summary, and the thread's count equals the queues' total.
set -u
. "${MQCAP_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/system/lib/testbed.sh"
tb_require_root
tb_tool MQCOUNT mqcount
tb_tool MQSEND mqsend
tb_need python3
NQ=150
dir=$(tb_tmpdir)
tb_up "$(tb_unique_name manyq)" --queues $NQ --napi threaded

tb_rx "$MQCOUNT" -i "packet:$RX_DEV" -n 1 --oversubscribe --plan --json > "$dir/plan.json" 2> "$dir/plan.err" ||
	{ cat "$dir/plan.err"; tb_fail "mqcount --plan with one worker over $NQ queues failed"; }
python3 - "$dir/plan.json" $NQ <<'PY' || tb_fail "plan wrong"
import json, sys
plan = json.loads(open(sys.argv[1]).readline())
assert len(plan['workers']) == 1, plan['workers']
assert len(plan['workers'][0]['queues']) == int(sys.argv[2]), len(plan['workers'][0]['queues'])
PY

tb_rx "$MQCOUNT" -i "packet:$RX_DEV" -n 1 --oversubscribe -d 6 --json > "$dir/out.json" 2> "$dir/err" &
pid=$!
tb_on_exit "kill $pid"
for i in $(seq 100); do
	grep -q '"type":"interval"' "$dir/out.json" 2>/dev/null && break
	kill -0 $pid 2>/dev/null || { cat "$dir/err"; tb_fail "mqcount exited before its first interval"; }
	sleep 0.1
done
tb_tx "$MQSEND" -i "$TX_DEV" -m qdisc --paper -c 10000 -r 5k --dst-mac "$RX_MAC" > "$dir/send" 2>&1 ||
	{ cat "$dir/send"; tb_fail "mqsend failed"; }
wait $pid
rc=$?
[ $rc -eq 0 ] || { cat "$dir/err"; tb_fail "mqcount with one worker over $NQ queues exited $rc"; }
python3 - "$dir/out.json" $NQ <<'PY' || tb_fail "counts wrong"
import json, sys
s = [json.loads(l) for l in open(sys.argv[1]) if '"summary"' in l][-1]
nq = int(sys.argv[2])
assert len(s['queues']) == nq, len(s['queues'])
assert len(s['threads']) == 1, s['threads']
t = s['total']
# 150 AF_PACKET sockets each run their queue filter on every frame: one thread may lose some
# under load; what it counts must add up, and it must have read from most queues
assert t['kernel_seen'] >= 9000, t
assert t['received'] > 1000, t
assert sum(1 for q in s['queues'] if q['received']) > nq // 2, 'traffic reached few queues'
assert s['adds_up'] and s['threads_packets'] == t['received'] - t['drop_handoff'], s
print('# one thread, %d queues, %d packets, %d dropped (%d queues saw traffic)' % (nq, t['received'], t['dropped'], sum(1 for q in s['queues'] if q['received'])))
PY
echo "PASS: one worker read $NQ queues"
