#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The runtime's balance mode on a file, where every number is exact: IPv4, IPv6, VLAN, QinQ,
# GRE, VXLAN and GTP-U flows, each in both directions, every frame carrying its flow and
# sequence number (balance_probe's "BP" trailer).
#   static + inner hash: both directions of every flow (tunnels included) on one worker, the
#     flows spread over the workers, no loss, no reordering;
#   fanout: every worker gets every packet, in order;  groups 2,1: the pair shares the
#     packets by flow, the third worker gets all of them;  rr: an even split;
#   static with forced migrations (a bucket moved every 100 us while the file is read):
#     flows do change workers, and none is ever reordered;
#   mqcount --balance adaptive -n 2,1 --verify on the same kind of file adds up.
set -u
: "${MQCAP_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${MQCAP_BUILD:=$MQCAP_SRC/build}"
PROBE="$MQCAP_BUILD/tests/system/balance_probe"
MQCOUNT="$MQCAP_BUILD/tools/mqcount/mqcount"
for t in "$PROBE" "$MQCOUNT"; do [ -x "$t" ] || { echo "FAIL: $t not built"; exit 1; }; done
command -v python3 >/dev/null || { echo "FAIL: python3 needed"; exit 1; }
dir=$(mktemp -d /tmp/balance-pcap.XXXXXX)
trap 'rm -rf "$dir"' EXIT

PYTHONPATH="$MQCAP_SRC/tests/system/lib" python3 - "$dir" <<'PY' || { echo "FAIL: cannot write the pcaps"; exit 1; }
import struct, sys
import pktlib as P

def trailer(flow, seq):
    return b"BP" + struct.pack("!HI", flow, seq)

A4, B4 = "198.18.0.1", "198.19.0.%d"
A6, B6 = "fd00:198::1", "fd00:198::2:%x"
T1, T2 = "198.18.9.1", "198.18.9.2"   # tunnel endpoints

def inner4(i, rev):
    s, d, sp, dp = "10.0.%d.1" % i, "10.1.%d.2" % i, 4000 + i, 80
    if rev:
        s, d, sp, dp = d, s, dp, sp
    return P.ipv4(s, d, 6, P.tcp(sp, dp, b"x" * 8, s, d) if hasattr(P, "tcp") else b"")

def frame(kind, i, rev):
    """One packet of flow i of a kind, in one direction (rev: the reply)."""
    if kind == "udp4":
        s, d, sp, dp = A4, B4 % i, 2000 + i, 53
        if rev: s, d, sp, dp = d, s, dp, sp
        return P.udp4_frame(s, d, sp, dp, b"u" * 20)
    if kind == "tcp6":
        s, d, sp, dp = A6, B6 % i, 3000 + i, 443
        if rev: s, d, sp, dp = d, s, dp, sp
        return P.tcp6_frame(s, d, sp, dp, b"t" * 20)
    if kind == "vlan4":
        s, d, sp, dp = A4, B4 % (100 + i), 5000 + i, 80
        if rev: s, d, sp, dp = d, s, dp, sp
        return P.tcp4_frame(s, d, sp, dp, b"v" * 20, vlan=(7,))
    if kind == "qinq6":
        s, d, sp, dp = A6, B6 % (200 + i), 6000 + i, 53
        if rev: s, d, sp, dp = d, s, dp, sp
        return P.udp6_frame(s, d, sp, dp, b"q" * 20, vlan=(100, 20))
    s, d = (T2, T1) if rev else (T1, T2)
    inner = inner4(i, rev)
    if kind == "gre":
        return P.eth(P.RX_MAC, P.TX_MAC, 0x0800, P.ipv4(s, d, 47, struct.pack("!HH", 0, 0x0800) + inner))
    if kind == "vxlan":
        pl = b"\x08\0\0\0\0\0\x07\0" + P.eth("02:00:00:00:00:01", "02:00:00:00:00:02", 0x0800, inner)
        return P.udp4_frame(s, d, 4789, 4789, pl)
    if kind == "gtpu":
        pl = struct.pack("!BBHI", 0x30, 0xff, len(inner), 77) + inner
        return P.udp4_frame(s, d, 2152, 2152, pl)
    raise ValueError(kind)

kinds = ["udp4", "tcp6", "vlan4", "qinq6", "gre", "vxlan", "gtpu"]
def build(per_flow, nflows):
    frames, seq = [], {}
    for r in range(per_flow):
        for k, kind in enumerate(kinds):
            for i in range(nflows):
                fid = k * 256 + i
                n = seq.get(fid, 0)
                seq[fid] = n + 1
                frames.append(frame(kind, i, r % 2 == 1) + trailer(fid, n))
    return frames

P.write_pcap(sys.argv[1] + "/small.pcap", build(20, 12))     # 7 * 12 flows, 20 packets each
P.write_pcap(sys.argv[1] + "/big.pcap", build(300, 12))      # 25200 packets
PY

probe() { "$PROBE" "$@" 2> "$dir/err" || { cat "$dir/err"; echo "FAIL: balance_probe $*"; exit 1; }; }
check() { # check NAME JSON PYTHON-CONDITION
	python3 -c "
import json, sys
j = json.loads(sys.argv[1])
ok = $3
print('#', sys.argv[2], j)
if not ok:
    print('FAIL:', sys.argv[2])
sys.exit(0 if ok else 1)" "$2" "$1" || exit 1
}
N=$((7 * 12 * 20))

j=$(probe "pcap:$dir/small.pcap" static 4 -i)
check "static, inner hash: both directions on one worker, spread, exact" "$j" \
	"j['received'] == $N and j['delivered'] == $N and j['dropped'] == 0 and j['flows'] == 84 and j['split'] == [0] and j['reordered'] == [0] and sum(1 for w in j['workers'] if w > 0) == 4 and min(j['workers']) > $N // 10"
j=$(probe "pcap:$dir/small.pcap" static 4)
check "static, outer hash: still symmetric (the 36 tunnelled flows share their outer endpoints)" "$j" \
	"j['received'] == $N and j['split'] == [0] and j['reordered'] == [0]"
j=$(probe "pcap:$dir/small.pcap" fanout 3)
check "fanout: every worker every packet, in order" "$j" \
	"j['groups'] == 3 and j['workers'] == [$N] * 3 and j['delivered'] == 3 * $N and j['reordered'] == [0, 0, 0]"
j=$(probe "pcap:$dir/small.pcap" adaptive 3 -g 2,1 -i)
check "groups 2,1: the pair shares by flow, the third gets everything" "$j" \
	"j['groups'] == 2 and j['workers'][0] + j['workers'][1] == $N and j['workers'][2] == $N and j['split'] == [0, 0] and j['reordered'] == [0, 0] and min(j['workers'][:2]) > 0"
j=$(probe "pcap:$dir/small.pcap" rr 3)
check "rr: an even split" "$j" \
	"j['received'] == $N and max(j['workers']) - min(j['workers']) <= 1"
j=$(probe "pcap:$dir/big.pcap" static 3 -i -m 100)
check "forced migrations: flows change workers, none is reordered, nothing lost" "$j" \
	"j['received'] == 25200 and j['delivered'] == 25200 and j['forced'] >= 5 and j['migrations'] >= 5 and j['split'][0] >= 5 and j['reordered'] == [0]"

"$MQCOUNT" -i "pcap:$dir/small.pcap" --balance adaptive -n 2,1 --oversubscribe -g none --json > "$dir/out.json" 2> "$dir/err" || {
	cat "$dir/err"; echo "FAIL: mqcount --balance exited $?"; exit 1; }
python3 - "$dir/out.json" "$N" <<'PY' || exit 1
import json, sys
n = int(sys.argv[2])
s = [json.loads(l) for l in open(sys.argv[1])]
s = [x for x in s if x['type'] == 'summary'][-1]
b = s['balance']
ok = (s['adds_up'] and s['total']['received'] == n and s['threads_packets'] == 2 * n and
      b['mode'] == 'adaptive' and b['groups'] == 2 and len(b['workers']) == 3 and
      b['workers'][2]['delivered'] == n and b['workers'][2]['group'] == 1 and
      b['workers'][0]['buckets'] + b['workers'][1]['buckets'] == 4096)
print('# mqcount summary:', s['total']['received'], s['threads_packets'], b)
if not ok:
    print('FAIL: mqcount --balance adaptive -n 2,1 summary')
sys.exit(0 if ok else 1)
PY
"$MQCOUNT" -i "pcap:$dir/small.pcap" -n 2,1 2>/dev/null && { echo "FAIL: -n 2,1 without --balance accepted"; exit 1; }
"$MQCOUNT" -i "pcap:$dir/small.pcap" --balance sideways 2>/dev/null && { echo "FAIL: --balance sideways accepted"; exit 1; }
echo "PASS"
