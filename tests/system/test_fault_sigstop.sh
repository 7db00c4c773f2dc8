#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# test_fault_sigstop - the consumer stops for seconds while traffic goes on (issue 17 part 1):
#   mqcount -i xdp:DEV -m 2M (1 MiB, 256 frames, per queue), mqsend at up to 100 kpps (600000 frames),
#   mqcount SIGSTOPped for 2 s, then SIGCONT. The rings overflow: the drops must be counted
#   as ring drops (ring full or, once every frame sits in the RX ring, fill ring empty), sent
#   = received + dropped exactly, --verify's loss <= the drops (a flow's tail loss is invisible
#   to it), and capture resumes.
#   The same again with packet: (TPACKET ring full = tp_drops).
set -u
. "${MQCAP_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/system/lib/testbed.sh"
. "$MQCAP_SRC/tests/system/fault_lib.sh"
tb_require_root
tb_tool MQCOUNT mqcount
tb_tool MQSEND mqsend
tb_need python3

dir=$(tb_tmpdir)
fault_testbed stop 2

for be in xdp packet; do
	fault_count "$dir/$be.json" "$dir/$be.err" -i "$be:$RX_DEV" -m 2M
	fault_send "$dir/$be.send" -c 600000 -r 100k
	sleep 1.5
	kill -STOP $COUNT_PID
	tb_log "$be: mqcount stopped"
	sleep 2
	# the interval lines printed so far all come from before the stop
	before_lines=$(grep -c '"type":"interval"' "$dir/$be.json")
	kill -CONT $COUNT_PID
	tb_log "$be: mqcount continued"
	wait $SEND_PID || { cat "$dir/$be.send"; tb_fail "$be: mqsend failed"; }
	sleep 1
	kill -INT $COUNT_PID
	wait $COUNT_PID
	rc=$?
	cat "$dir/$be.err"
	[ $rc -eq 0 ] || tb_fail "$be: mqcount exited $rc after SIGSTOP/SIGCONT"
	fault_check "$dir/$be.json" "$dir/$be.send" exact || {
		cat "$dir/$be.send"; tb_tx tc -s qdisc show dev "$TX_DEV" | grep -E "qdisc|Sent|drop" | head -8
		tb_rx ethtool -S "$RX_DEV" | grep -E "drop|xdp_packets|redirect" | head -20
		tb_fail "$be: counters (see above)"; }
	python3 - "$dir/$be.json" "$before_lines" <<'PY' || tb_fail "$be: drops or resumption (see above)"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]
s = [l for l in lines if l['type'] == 'summary'][-1]
t = s['total']
ok = True
if t['drop_ring_full'] + t['drop_fill_empty'] == 0:
    print('FAIL: a 2 s stop at 100 kpps dropped nothing in 1 MiB rings'); ok = False
if t['drop_no_socket'] or t['drop_invalid']:
    print('FAIL: drops outside the ring: nosock %d invalid %d' % (t['drop_no_socket'], t['drop_invalid'])); ok = False
# resumed: frames received after the first interval line printed after SIGCONT (counted by
# the script then, not guessed from the elapsed time: a loaded machine shifts it, and may print
# no line between the start of the traffic and the stop); that line already holds what the
# rings kept through the stop. Without a line after SIGCONT, the last one before it.
iv = [l for l in lines if l['type'] == 'interval']
rx = lambda l: sum(q['received'] for q in l['queues'])
nb = int(sys.argv[2])
ref = iv[nb] if len(iv) > nb else iv[nb - 1] if nb else None
if ref is None or t['received'] - rx(ref) < 10000:
    print('FAIL: capture did not resume after SIGCONT'); ok = False
else:
    print('# received after the resume: %d' % (t['received'] - rx(ref)))
sys.exit(0 if ok else 1)
PY
done
echo "PASS: a stopped consumer overflows its rings, the drops are counted as ring drops, capture resumes"
