#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# mqtune on a testbed whose receiver polls in softirq: it reports every queue, --apply turns
# threaded NAPI on and pins each queue's napi thread where the plan says, and afterwards the
# plan (mqtune's and mqcount's) puts every capture thread on its poller's CPU.
set -u
. "${MQCAP_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/system/lib/testbed.sh"
tb_require_root
tb_tool MQTUNE mqtune
tb_tool MQCOUNT mqcount
tb_need python3
dir=$(tb_tmpdir)

tb_up "$(tb_unique_name runtu)" --queues 4
[ "$(tb_rx cat "/sys/class/net/$RX_DEV/threaded")" = 0 ] || tb_fail "NAPI already threaded on a fresh testbed"

tb_rx "$MQTUNE" --json "$RX_DEV" > "$dir/before.json" || tb_fail "mqtune failed"
tb_rx "$MQTUNE" --apply --json "$RX_DEV" > "$dir/after.json" || tb_fail "mqtune --apply failed"
[ "$(tb_rx cat "/sys/class/net/$RX_DEV/threaded")" = 1 ] || tb_fail "threaded NAPI is not on after --apply"
tb_rx "$MQCOUNT" -i "$RX_DEV" --plan --json > "$dir/mqcount.json" || tb_fail "mqcount --plan failed"

python3 - "$dir" "$RX_DEV" <<'EOF' || tb_fail "mqtune results wrong (see above)"
import json, sys, os
d, dev = sys.argv[1], sys.argv[2]
before = json.load(open(os.path.join(d, 'before.json')))
after = json.load(open(os.path.join(d, 'after.json')))
mc = json.loads(open(os.path.join(d, 'mqcount.json')).readline())
ok = True
def check(c, m):
    global ok
    if not c:
        ok = False
        print('FAIL:', m)
b = [x for x in before['devices'] if x['name'] == dev][0]
check(len(b['queues']) == 4, 'before: %d queues' % len(b['queues']))
check(b['threaded'] == 0, 'before: threaded %s' % b['threaded'])
a = [x for x in after['devices'] if x['name'] == dev][0]
check(a['threaded'] == 1, 'after: not threaded')
check(after['applied']['failed'] == 0, 'apply failures: %s' % after['applied'])
ncpu = len(after['topology']['cpus'])
for q in a['queues']:
    check(q['poller'] == 'napi' and q['pid'] > 0, 'queue %d has no napi thread: %s' % (q['queue'], q))
    check(0 <= q['cpu'] < ncpu, 'queue %d poller not pinned: %s' % (q['queue'], q))
plan = {p['queue']: p for p in after['plan']}
for q in a['queues']:
    p = plan[q['queue']]
    check(p['poller_cpu'] == q['cpu'] and p['cpu'] == q['cpu'] and p['distance'] == 'same cpu',
          'queue %d: poller on %d, plan %s' % (q['queue'], q['cpu'], p))
# pollers spread: every CPU polls at least one queue when queues >= CPUs
used = {q['cpu'] for q in a['queues']}
check(len(used) == min(ncpu, 4), 'pollers not spread: %s' % sorted(used))
for w in mc['workers']:
    for q in w['queues']:
        check(q['distance'] == 'same cpu' and q['poller_cpu'] == w['cpu'], 'mqcount plan: %s' % w)
print('# pollers pinned to', [q['cpu'] for q in a['queues']], '; mqcount workers on',
      [w['cpu'] for w in mc['workers']])
sys.exit(0 if ok else 1)
EOF
echo "PASS: mqtune --apply made NAPI threaded and pinned pollers; plans put readers beside them"
