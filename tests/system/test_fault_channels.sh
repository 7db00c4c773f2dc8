#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# test_fault_channels - the RX queue count changes during an xdp capture (issue 17 part 1),
#   `ethtool -L` on the receiving veth while mqcount -i xdp:DEV captures all 4 queues under
#   traffic. What this kernel does, and what mqcount must then show:
#   - fewer queues than a bound AF_XDP socket needs: the kernel refuses ("requested channel
#     counts are too low for existing zerocopy AF_XDP sockets", copy mode included), so no
#     captured queue can disappear under an xdp capture;
#   - more queues than the veth was created with: refused ("exceeds maximum").
#   The capture goes on through both and sent = received + dropped exactly.
#   Growing a device created with spare queues: test_fault_channels_grow; a shrink under the
#   packet backend, which does not stop it: test_fault_channels_shrink.
set -u
. "${MQCAP_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/system/lib/testbed.sh"
. "$MQCAP_SRC/tests/system/fault_lib.sh"
tb_require_root
tb_tool MQCOUNT mqcount
tb_tool MQSEND mqsend
tb_need python3 ethtool

dir=$(tb_tmpdir)
fault_testbed chan 4
fault_count "$dir/c.json" "$dir/c.err" -i "xdp:$RX_DEV"
fault_send "$dir/s.json" -d 8 -r 30k
sleep 1
for n in 2 1 6; do
	if tb_rx ethtool -L "$RX_DEV" rx $n > "$dir/l" 2>&1; then
		tb_fail "ethtool -L rx $n was allowed under an xdp capture of all 4 queues: mqcount does not handle that yet"
	fi
	tb_log "refused: ethtool -L rx $n: $(head -1 "$dir/l")"
done
cur=$(tb_rx ethtool -l "$RX_DEV" | awk '/^Current/ {c = 1} c && $1 == "RX:" {print $2; exit}')
[ "$cur" = 4 ] || tb_fail "the device has $cur RX queues after the refused changes"
wait $SEND_PID || { cat "$dir/s.json"; tb_fail "mqsend failed"; }
sleep 1
kill -INT $COUNT_PID
wait $COUNT_PID || { cat "$dir/c.err"; tb_fail "mqcount exited $?"; }
cat "$dir/c.err"
fault_check "$dir/c.json" "$dir/s.json" exact || tb_fail "counters (see above)"
python3 - "$dir/c.json" <<'PY' || tb_fail "queues (see above)"
import json, sys
s = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')][-1]
qs = sorted(q['queue'] for q in s['queues'])
print('# queues in the summary: %s' % ' '.join(q.rsplit('@', 1)[1] for q in qs))
bad = [q['queue'] for q in s['queues'] if q['received'] == 0]
if len(qs) != 4 or bad:
    print('FAIL: wanted 4 queues all receiving; idle: %s' % bad); sys.exit(1)
PY
echo "PASS: queue count changes under an xdp capture are refused by the kernel, capture unaffected"
