#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# test_fault_channels_shrink - the device loses RX queues during a packet: capture (issue 17
#   part 1). AF_PACKET does not pin queues, so `ethtool -L DEV rx 2` on a 4-queue veth goes
#   through while mqcount -i packet:DEV --verify captures all 4 under mqsend traffic (xdp:
#   is refused by the kernel: test_fault_channels). What a user checks:
#   - mqcount names the queues that went away (DEV@2,3), on stderr as it happens and in the
#     JSON summary (queue_reports; the queues marked present: false), and does not call them
#     idle ("received nothing", a warning meant for a queue RSS starves);
#   - the capture of the remaining queues goes on: traffic sent after the shrink (the RSS
#     table narrowed to queues 0-1, the sender's TX queues cut to 2 first) is captured there;
#   - sent (before and after) = received + dropped exactly, --verify's loss = the drops, and
#     the removed queues keep what they captured before.
set -u
. "${MQCAP_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/system/lib/testbed.sh"
. "$MQCAP_SRC/tests/system/fault_lib.sh"
tb_require_root
tb_tool MQCOUNT mqcount
tb_tool MQSEND mqsend
tb_need python3 ethtool bpftool

dir=$(tb_tmpdir)
fault_testbed shrink 4
fault_count "$dir/c.json" "$dir/c.err" -i "packet:$RX_DEV"
fault_send "$dir/s1.json" -c 30000 -r 20k --sender-id 1
wait $SEND_PID || { cat "$dir/s1.json"; tb_fail "mqsend (before) failed"; }
sleep 1.2 # an interval line with every frame of the first run
fault_rss_queues 2
tb_tx ethtool -L "$TX_DEV" tx 2 || tb_fail "ethtool -L $TX_DEV tx 2"
tb_rx ethtool -L "$RX_DEV" rx 2 || tb_fail "ethtool -L $RX_DEV rx 2 refused under a packet: capture"
fault_wait_err "$dir/c.err" "has 2 RX queues now, was 4" 1
before=$(grep -c '"type":"interval"' "$dir/c.json")
fault_send "$dir/s2.json" -c 30000 -r 20k --sender-id 2
wait $SEND_PID || { cat "$dir/s2.json"; tb_fail "mqsend (after) failed"; }
sleep 1
kill -INT $COUNT_PID
wait $COUNT_PID || { cat "$dir/c.err"; tb_fail "mqcount exited $?"; }
cat "$dir/c.err"
grep -q "$RX_DEV@2,3 went away" "$dir/c.err" || tb_fail "mqcount did not name $RX_DEV@2,3 as gone"
# a queue that went away is gone, not idle: no "received nothing" warning for it
! grep -E "received nothing for|names none of its" "$dir/c.err" ||
	tb_fail "a warning that the shrink made untrue"
fault_sum_sends "$dir/s.json" "$dir/s1.json" "$dir/s2.json"
fault_check "$dir/c.json" "$dir/s.json" exact || tb_fail "counters (see above)"
python3 - "$dir/c.json" "$RX_DEV" "$before" <<'PY' || tb_fail "queues (see above)"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]
dev, before = sys.argv[2], int(sys.argv[3])
s = lines[-1]
mid = [l for l in lines if l['type'] == 'interval'][before - 1]
q = {x['queue']: x for x in s['queues']}
m = {x['queue']: x['received'] for x in mid['queues']}
print('# at the shrink: %s' % m)
print('# at the end:    %s' % {k: (v['received'], v.get('present')) for k, v in q.items()})
print('# reports: %s' % s.get('queue_reports'))
bad = []
for n in range(4):
    name = '%s@%d' % (dev, n)
    if name not in q:
        bad.append('%s is not in the summary' % name)
        continue
    if q[name].get('present') != (n < 2):
        bad.append('%s: present %s' % (name, q[name].get('present')))
    if n < 2 and q[name]['received'] <= m.get(name, 0):
        bad.append('%s captured nothing after the shrink' % name)
    if n >= 2 and (q[name]['received'] == 0 or q[name]['received'] != m.get(name)):
        bad.append('%s: %d at the shrink, %d at the end' % (name, m.get(name, 0), q[name]['received']))
if not any('%s@2,3 went away' % dev in r for r in s.get('queue_reports', [])):
    bad.append('the summary does not name the queues that went away')
for b in bad:
    print('FAIL: ' + b)
sys.exit(1 if bad else 0)
PY
echo "PASS: queues removed under a packet: capture are named, the others keep capturing, counters add up"
