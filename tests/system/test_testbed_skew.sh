#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# An uneven indirection table (--weights 4,1,1,1) gives the predicted skew: every frame still
# lands where the user-space RSS predicts, and queue 0 carries about 4/7 of 4096 flows.
set -euo pipefail
. "$(dirname "$0")/lib/testbed.sh"
tb_require_root

tb_up "$(tb_unique_name tbskew)" --queues 4 --weights 4,1,1,1
d=$(tb_tmpdir)

# The table itself: 128 entries in contiguous runs, queue 0 owning 4/7 of them (73 or 74).
n0=$(tr ',' '\n' <<<"$RSS_TABLE" | grep -c '^0$')
[ "$n0" -ge 73 ] && [ "$n0" -le 74 ] || tb_fail "queue 0 owns $n0 table entries, expected 73-74"

python3 "$PKTLIB" flows -n 4096 -f 4096 -w "$d/f.pcap"
tb_capture_send "$d/f.pcap" "$d/cap" 4096
tb_rss_check "$d/cap" 4096 || tb_fail "frames on queues RSS did not predict"

python3 - "$d/cap" <<'PY' || tb_fail "skew not as predicted"
import sys, os
sys.path.insert(0, os.environ["PKTLIB"].rsplit("/", 1)[0])
import pktlib
n = [len(pktlib.read_pcap("%s.q%d.pcap" % (sys.argv[1], q))) for q in range(4)]
share = n[0] / sum(n)
print("# frames per queue %s, queue 0 share %.3f (table share %.3f)" % (n, share, 74 / 128))
# 4096 flows over 128 buckets: within 5 points of the table's share; others well below.
sys.exit(0 if abs(share - 74 / 128) < 0.05 and all(x < n[0] / 2 for x in n[1:]) else 1)
PY
echo "PASS"
