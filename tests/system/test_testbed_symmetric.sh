#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# --symmetric: both directions of each of 4096 flows arrive on one RX queue (and, as with any
# key, on the queue the user-space RSS predicts). With the Microsoft key most flows split,
# which shows the check can fail.
set -euo pipefail
. "$(dirname "$0")/lib/testbed.sh"
tb_require_root

run() { # KEYOPT... ; sets SPLIT: the number of flows whose two directions split
	tb_up "$(tb_unique_name tbsym)" --queues 4 "$@"
	python3 "$PKTLIB" flows -n 4096 -f 4096 -w "$d/fwd.pcap"
	python3 "$PKTLIB" flows -n 4096 -f 4096 --reverse -w "$d/rev.pcap"
	python3 - "$d" <<'PY'
import sys, os
sys.path.insert(0, os.environ["PKTLIB"].rsplit("/", 1)[0])
import pktlib
d = sys.argv[1]
pktlib.write_pcap(d + "/both.pcap", [f for _, f in pktlib.read_pcap(d + "/fwd.pcap") + pktlib.read_pcap(d + "/rev.pcap")])
PY
	tb_capture_send "$d/both.pcap" "$d/cap" 8192
	tb_rss_check "$d/cap" 8192 >"$d/check.txt" || { cat "$d/check.txt"; tb_fail "frames on queues RSS did not predict"; }
	SPLIT=$(python3 - "$d/cap" "$QUEUES" <<'PY'
import sys, os, struct
sys.path.insert(0, os.environ["PKTLIB"].rsplit("/", 1)[0])
import pktlib
queues_of = {}
for q in range(int(sys.argv[2])):
    for _, fr in pktlib.read_pcap("%s.q%d.pcap" % (sys.argv[1], q)):
        # UDP payload (after 14 + 20 + 8 bytes) starts with (index, flow)
        _, flow = struct.unpack("!II", fr[42:50])
        queues_of.setdefault(flow, set()).add(q)
assert len(queues_of) == 4096, len(queues_of)
print(sum(1 for s in queues_of.values() if len(s) > 1))
PY
)
	tb_down "$TB_NAME"
}

d=$(tb_tmpdir)
run --symmetric
split=$SPLIT
[ "$split" = 0 ] || tb_fail "symmetric key: $split of 4096 flows split over two queues"
tb_log "symmetric key: both directions of all 4096 flows on one queue"
run
split=$SPLIT
[ "$split" -gt 1000 ] || tb_fail "Microsoft key: only $split flows split (expected most)"
tb_log "Microsoft key: $split of 4096 flows split (as expected: the key is not symmetric)"
echo "PASS"
