#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# mqcount on a 4-queue testbed with threaded NAPI pinned to the CPUs:
#  - the plan puts each worker on its queue's poller CPU;
#  - per backend (packet, xdp, and packet in --split mode): mqsend's paper workload, a whole
#    number of rounds over its 4096 flows, and every queue's count (received + dropped) equals
#    what Toeplitz RSS with the testbed's key and table predicts, computed here independently,
#    and what the testbed's own RSS program counted;
#  - the summary adds up (queues = total, drop causes = drops, threads = received) and
#    --verify finds no loss, duplicate or reordering when nothing was dropped.
set -u
. "${MQCAP_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/system/lib/testbed.sh"
tb_require_root
tb_tool MQCOUNT mqcount
tb_tool MQSEND mqsend
tb_need python3

ROUNDS=${ROUNDS:-12}          # packets per flow
NPKT=$((4096 * ROUNDS))
RATE=${RATE:-60k}
dir=$(tb_tmpdir)
ncpu=$(nproc)
tb_up "$(tb_unique_name runmc)" --queues 4 --napi threaded --napi-cpus "0-$((ncpu - 1))"
tb_log "testbed $TB_NAME: $RX_NS/$RX_DEV, 4 queues, pollers pinned over CPUs 0-$((ncpu - 1))"

# Independent prediction: Toeplitz over (saddr, daddr, sport, dport) of the paper flows
# 198.18.0.1:1024 -> 198.19.0.0-198.19.15.255:80, indirection table from the testbed.
expect=$(python3 "$MQCAP_SRC/tests/system/test_mqsend_check.py" paper-rss "$RSS_KEY" "$RSS_TABLE" \
	"$QUEUES" "$ROUNDS") || tb_fail "prediction failed"
tb_log "predicted per queue for $NPKT packets: $expect"

# The plan: with the pollers pinned, every worker sits on its queue's poller CPU.
tb_rx "$MQCOUNT" -i "$RX_DEV" --plan --json > "$dir/plan.json" || tb_fail "mqcount --plan failed"
python3 - "$dir/plan.json" <<'EOF' || tb_fail "plan does not put workers on their pollers' CPUs"
import json, sys
plan = json.loads(open(sys.argv[1]).readline())
qs = [q for w in plan['workers'] for q in w['queues']]
assert len(qs) == 4, plan
for w in plan['workers']:
    for q in w['queues']:
        assert q['poller_cpu'] == w['cpu'] and q['distance'] == 'same cpu', (w, q)
print('# plan ok:', ', '.join('%s->cpu %d' % (q['queue'], w['cpu']) for w in plan['workers'] for q in w['queues']))
EOF

rss_counts() {
	"$TESTBED" status "$TB_NAME" | awk '$1 ~ /^[0-9]+$/ && NF >= 5 && NF <= 9 {printf "%s ", $2}'
}

# run_case LABEL MQCOUNT-ARGS...: capture while mqsend sends NPKT packets, stop with SIGINT.
run_case() {
	local label="$1" out="$dir/$1.json" pid i rss0 rss1
	shift
	rss0=$(rss_counts)
	# ip netns exec execs mqcount, so $! is mqcount itself (SIGINT reaches it)
	ip netns exec "$RX_NS" "$MQCOUNT" --json --verify "$@" > "$out" 2> "$dir/$label.err" &
	pid=$!
	tb_on_exit "kill $pid"
	for i in $(seq 50); do
		grep -q '"type":"interval"' "$out" 2>/dev/null && break
		kill -0 $pid 2>/dev/null || { cat "$dir/$label.err"; tb_fail "$label: mqcount exited early"; }
		sleep 0.2
	done
	tb_tx "$MQSEND" -i "$TX_DEV" -m qdisc --paper -c "$NPKT" -r "$RATE" --dst-mac "$RX_MAC" \
		> "$dir/$label.send" 2>&1 || { cat "$dir/$label.send"; tb_fail "$label: mqsend failed"; }
	sleep 1
	kill -INT $pid
	wait $pid || { cat "$dir/$label.err"; tb_fail "$label: mqcount exited $?"; }
	rss1=$(rss_counts)
	python3 - "$out" "$label" "$expect" "$rss0" "$rss1" "${WANT_QS:-0 1 2 3}" <<'EOF' || tb_fail "$label: counts wrong (see above)"
import json, os, sys
sys.path.insert(0, os.environ['MQCAP_SRC'] + '/tests/system')
from summary_sums import CAUSES as causes, check_sums
out, label, expect = sys.argv[1], sys.argv[2], [int(x) for x in sys.argv[3].split()]
rss0 = [int(x) for x in sys.argv[4].split()]; rss1 = [int(x) for x in sys.argv[5].split()]
want_qs = [int(x) for x in sys.argv[6].split()]
rss = [b - a for a, b in zip(rss0, rss1)]
lines = [json.loads(l) for l in open(out)]
s = [l for l in lines if l['type'] == 'summary'][-1]
ok = True
def check(cond, msg):
    global ok
    if not cond:
        ok = False
        print('FAIL %s: %s' % (label, msg))
by_q = {q['queue']: q for q in s['queues']}
check(sorted(int(k.rsplit('@', 1)[1]) for k in by_q) == want_qs, 'queues %s, wanted %s' % (sorted(by_q), want_qs))
for i, e in enumerate(expect):
    q = [v for k, v in by_q.items() if k.endswith('@%d' % i)]
    if not q:
        continue
    q = q[0]
    check(q['dropped'] == sum(q[c] for c in causes[:-1]), '%s drop causes do not add up' % q['queue'])
    got = q['received'] + q['dropped']
    check(got == e, '%s: received %d + dropped %d != predicted %d' % (q['queue'], q['received'], q['dropped'], e))
    # the testbed's program also counts the sender's own IPv6 chatter (ND, MLD)
    check(e <= rss[i] <= e + 20, 'testbed RSS program counted %d on queue %d, predicted %d' % (rss[i], i, e))
    print('# %s %s: received %d dropped %d predicted %d (testbed RSS %d)' % (label, q['queue'], q['received'], q['dropped'], e, rss[i]))
t = s['total']
check_sums(s, check)
v = s['verify']
check(v['corrupt'] == 0, 'corrupt payloads: %d' % v['corrupt'])
check(v['payloads'] == s['threads_packets'] - v['foreign'], 'payload count')
check(v['foreign'] == 0, 'the filter let %d packets without an mqsend payload through' % v['foreign'])
if t['dropped'] == 0:
    check(v['lost'] == 0 and v['duplicates'] == 0, 'verify: lost %d dup %d' % (v['lost'], v['duplicates']))
print('# %s: total received %d dropped %d, verify: %d flows, lost %d, dup %d, reordered %d' % (label, t['received'], t['dropped'], v['flows'], v['lost'], v['duplicates'], v['reordered']))
sys.exit(0 if ok else 1)
EOF
}

# Only the workload counts (the filter as trailing arguments, like tcpdump): the sender's
# kernel adds IPv6 neighbour discovery of its own.
FILTER=(tcp dst port 80)
run_case packet -i "packet:$RX_DEV" "${FILTER[@]}"
run_case xdp -i "xdp:$RX_DEV" "${FILTER[@]}"
# Setup C in user space: poller thread + consumer thread for queue 1 only.
WANT_QS=1 run_case split -i "packet:$RX_DEV@1" --split -n 1 --oversubscribe "${FILTER[@]}"
echo "PASS: mqcount per-queue counts match the RSS prediction; summaries add up"
