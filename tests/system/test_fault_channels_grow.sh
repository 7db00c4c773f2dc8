#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# test_fault_channels_grow - a device created with spare queues gains RX queues during a
#   capture of all its queues (issue 17 part 1): `ethtool -L` raises a 4-queue veth from 2 to
#   4 RX queues while mqcount -i BACKEND:DEV --verify captures under mqsend traffic, for xdp:
#   and packet:. What a user checks:
#   - mqcount says the device grew and that the new queues are captured from now on;
#   - traffic then sent to the new queues (the testbed's RSS table widened to 4 queues) is
#     captured there: the new queues are in the summary, marked added, with packets;
#   - sent (before and after) = received + dropped exactly, --verify's loss = the drops.
#   Only 2 of the sender's 4 TX queues are used before the growth (veth refuses XDP while the
#   receiver has fewer RX queues than its peer has TX queues), so both ends are raised, the
#   receiver first (the kernel keeps RX >= the peer's TX while XDP is attached).
#   FAULT_BACKENDS=xdp (or packet) runs one backend only.
set -u
. "${MQCAP_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/system/lib/testbed.sh"
. "$MQCAP_SRC/tests/system/fault_lib.sh"
tb_require_root
tb_tool MQCOUNT mqcount
tb_tool MQSEND mqsend
tb_need python3 ethtool bpftool

dir=$(tb_tmpdir)
for be in ${FAULT_BACKENDS:-xdp packet}; do
	tb_log "== $be"
	fault_testbed "g$be" 4
	fault_rss_queues 2
	tb_tx ethtool -L "$TX_DEV" tx 2 || tb_fail "ethtool -L $TX_DEV tx 2"
	tb_rx ethtool -L "$RX_DEV" rx 2 || tb_fail "ethtool -L $RX_DEV rx 2"
	fault_count "$dir/$be.json" "$dir/$be.err" -i "$be:$RX_DEV"
	fault_send "$dir/$be-1.json" -c 20000 -r 20k --sender-id 1
	wait $SEND_PID || { cat "$dir/$be-1.json"; tb_fail "mqsend (before) failed"; }
	tb_rx ethtool -L "$RX_DEV" rx 4 || tb_fail "ethtool -L $RX_DEV rx 4 refused"
	tb_tx ethtool -L "$TX_DEV" tx 4 || tb_fail "ethtool -L $TX_DEV tx 4 refused"
	fault_wait_err "$dir/$be.err" "grew from 2 to 4 RX queues" 1
	fault_wait_err "$dir/$be.err" "captured from now on" 2
	fault_rss_queues 4
	fault_send "$dir/$be-2.json" -c 40000 -r 20k --sender-id 2
	wait $SEND_PID || { cat "$dir/$be-2.json"; tb_fail "mqsend (after) failed"; }
	sleep 1
	kill -INT $COUNT_PID
	wait $COUNT_PID || { cat "$dir/$be.err"; tb_fail "$be: mqcount exited $?"; }
	cat "$dir/$be.err"
	# evidence gathered for 2 queues says nothing about 4: no "no queue's capture gets them"
	! grep -E "names none of its|received nothing for" "$dir/$be.err" ||
		tb_fail "$be: a warning that the growth made untrue"
	fault_sum_sends "$dir/$be-s.json" "$dir/$be-1.json" "$dir/$be-2.json"
	fault_check "$dir/$be.json" "$dir/$be-s.json" exact || { grep summary "$dir/$be.json"; tb_fail "$be: counters (see above)"; }
	python3 - "$dir/$be.json" "$RX_DEV" <<'PY' || tb_fail "$be: queues (see above)"
import json, sys
s = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')][-1]
dev = sys.argv[2]
q = {x['queue']: x for x in s['queues']}
print('# queues: ' + ', '.join('%s %d%s' % (k, v['received'], ' (added)' if v.get('added') else '')
                               for k, v in sorted(q.items())))
print('# reports: %s' % s.get('queue_reports'))
bad = []
for n in range(4):
    name = '%s@%d' % (dev, n)
    if name not in q:
        bad.append('%s is not in the summary' % name)
    elif q[name]['received'] == 0:
        bad.append('%s captured nothing' % name)
    elif q[name].get('added') != (n >= 2) or not q[name].get('present'):
        bad.append('%s: added %s present %s' % (name, q[name].get('added'), q[name].get('present')))
if not any('grew from 2 to 4' in r for r in s.get('queue_reports', [])):
    bad.append('the summary reports no growth')
for b in bad:
    print('FAIL: ' + b)
sys.exit(1 if bad else 0)
PY
	tb_down
done
echo "PASS: RX queues added during a capture of all queues are captured (xdp, packet), counters add up"
