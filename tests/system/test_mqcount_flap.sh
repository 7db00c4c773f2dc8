#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# test_mqcount_flap - a link flap does not end mqcount (issue 11 item 3), tried as a user would:
#   mqsend at ~100 kpps, `mqcount -i xdp:DEV -d 8`, the device goes down after 3 s and comes
#   back 1 s later. mqcount must say the link went down, keep capturing after the flap, exit 0
#   at the end of its 8 s, and its counters must add up (threads = received - hand-off drops,
#   total = sum of the queues, drop causes = drops).
set -u
. "${MQCAP_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/system/lib/testbed.sh"
tb_require_root
tb_tool MQCOUNT mqcount
tb_tool MQSEND mqsend
tb_need python3

dir=$(tb_tmpdir)
tb_up "$(tb_unique_name flap)" --queues 2 --napi threaded
for ns in "$TX_NS" "$RX_NS"; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
done

# ip netns exec execs mqcount, so $! is mqcount itself
ip netns exec "$RX_NS" "$MQCOUNT" --json -i "xdp:$RX_DEV" -d 8 > "$dir/out.json" 2> "$dir/err" &
pid=$!
tb_on_exit "kill $pid"
for i in $(seq 50); do
	grep -q '"type":"interval"' "$dir/out.json" 2>/dev/null && break
	if ! kill -0 $pid 2>/dev/null; then
		cat "$dir/err"
		grep -qE 'Address family not supported|Function not implemented' "$dir/err" &&
			tb_skip "this kernel has no AF_XDP/BPF"
		tb_fail "mqcount exited before its first interval"
	fi
	sleep 0.2
done
tb_tx "$MQSEND" -i "$TX_DEV" -m qdisc -c 700000 -r 100k -s 128 -P udp --dst-mac "$RX_MAC" \
	--dst "$RX_IP" --sport 1000-1063 --dport 80 > "$dir/send" 2>&1 &
send=$!
tb_on_exit "kill $send"
sleep 3
tb_rx ip link set "$RX_DEV" down
tb_log "link down"
sleep 1
tb_rx ip link set "$RX_DEV" up
tb_log "link up"
wait $pid
rc=$?
kill $send 2>/dev/null
wait $send 2>/dev/null
cat "$dir/err"
[ $rc -eq 0 ] || { tail -3 "$dir/out.json"; tb_fail "mqcount exited $rc after a link flap"; }
grep -q "went down" "$dir/err" || tb_fail "mqcount did not say that the link went down"
grep -q "stopped by an error" "$dir/out.json" "$dir/err" && tb_fail "mqcount reported the flap as an error"

python3 - "$dir/out.json" <<'PY' || tb_fail "counters after the flap (see above)"
import json, sys
import os
sys.path.insert(0, os.environ['MQCAP_SRC'] + '/tests/system')
from summary_sums import check_sums
lines = [json.loads(l) for l in open(sys.argv[1])]
s = [l for l in lines if l['type'] == 'summary'][-1]
iv = [l for l in lines if l['type'] == 'interval']
ok = True
def check(cond, msg):
    global ok
    if not cond:
        ok = False
        print('FAIL: ' + msg)
t = s['total']
check_sums(s, check)
# packets arrived after the flap (down at ~3 s, up at ~4 s): the last intervals still count
late = [l for l in iv if l['elapsed'] > 6.0]
check(bool(late), 'no interval after 6 s')
if late and len(iv) > len(late):
    before = [l for l in iv if l['elapsed'] <= 6.0][-1]
    gain = sum(q['received'] for q in late[-1]['queues']) - sum(q['received'] for q in before['queues'])
    check(gain > 10000, 'only %d packets received after the flap' % gain)
    print('# received after the flap: %d' % gain)
check(t['received'] > 100000, 'only %d packets received in all' % t['received'])
print('# total received %d, dropped %d, threads %d' % (t['received'], t['dropped'], s['threads_packets']))
sys.exit(0 if ok else 1)
PY
echo "PASS: mqcount rode through the link flap"
