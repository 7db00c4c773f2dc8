#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# mqcount on an offline file (pcap:FILE): the worker runtime ends by itself at the end of the
# file, and --verify finds exactly the damage put into the file: 3 mqsend-style flows of 10
# packets (full payload form), flow 1 missing seq 4, flow 2 with seq 2 twice, flow 0 with seqs
# 5 and 6 swapped, a flow whose last packet has a wrong checksum, and 2 packets without payload.
set -u
: "${MQCAP_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${MQCAP_BUILD:=$MQCAP_SRC/build}"
MQCOUNT="$MQCAP_BUILD/tools/mqcount/mqcount"
[ -x "$MQCOUNT" ] || { echo "FAIL: mqcount not built at $MQCOUNT"; exit 1; }
command -v python3 >/dev/null || { echo "FAIL: python3 needed"; exit 1; }
dir=$(mktemp -d /tmp/mqcount-pcap.XXXXXX)
trap 'rm -rf "$dir"' EXIT

PYTHONPATH="$MQCAP_SRC/tests/system/lib" python3 - "$dir/v.pcap" <<'EOF' || { echo "FAIL: cannot write the pcap"; exit 1; }
import struct, sys
import pktlib

def payload(sender, flow, seq, corrupt=False):
    p = bytearray(struct.pack('!BBBBHHIQ', 0x4d, 0x51, 1, 0, sender, 0, flow, seq))
    s = sum(struct.unpack('!10H', bytes(p)))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    p[6:8] = struct.pack('!H', (~s & 0xffff) ^ (0x0101 if corrupt else 0))
    return bytes(p)

frames = []
order = {0: [0, 1, 2, 3, 4, 6, 5, 7, 8, 9], 1: [0, 1, 2, 3, 5, 6, 7, 8, 9], 2: [0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9]}
for i in range(11):
    for f in range(3):
        if i < len(order[f]):
            frames.append(pktlib.tcp4_frame('198.18.0.1', '198.19.0.%d' % f, 1024, 80,
                                            payload(7, f, order[f][i])))
frames.append(pktlib.tcp4_frame('198.18.0.1', '198.19.0.9', 1024, 80, payload(7, 9, 0)))
frames.append(pktlib.tcp4_frame('198.18.0.1', '198.19.0.9', 1024, 80, payload(7, 9, 1, corrupt=True)))
frames.append(pktlib.udp4_frame('198.18.0.1', '198.18.0.2', 5000, 53, b'hello'))
frames.append(pktlib.arp_frame())
pktlib.write_pcap(sys.argv[1], frames)
EOF

"$MQCOUNT" -i "pcap:$dir/v.pcap" --verify --json > "$dir/out.json" 2> "$dir/err" || {
	cat "$dir/err"; echo "FAIL: mqcount exited $?"; exit 1; }
python3 - "$dir/out.json" <<'EOF' || exit 1
import json, sys
s = [json.loads(l) for l in open(sys.argv[1])]
s = [x for x in s if x['type'] == 'summary'][-1]
v, t = s['verify'], s['total']
want = {'flows': 4, 'payloads': 31, 'lost': 1, 'duplicates': 1, 'reordered': 1, 'corrupt': 1,
        'foreign': 2, 'expected': 31, 'flows_with_loss': 1}
bad = {k: (v[k], w) for k, w in want.items() if v[k] != w}
ok = not bad and t['received'] == 34 and s['threads_packets'] == 34 and s['adds_up']
print('# verify:', v, 'received', t['received'])
if not ok:
    print('FAIL: (got, wanted):', bad, 'received', t['received'])
sys.exit(0 if ok else 1)
EOF
# A file has no kernel poller: the plan must not advise pinning one (issue 11, item 9).
"$MQCOUNT" -i "pcap:$dir/v.pcap" > "$dir/text.out" 2>&1 || { cat "$dir/text.out"; echo "FAIL: mqcount (text) failed"; exit 1; }
if grep -qiE 'pin it|pin to|poller (not pinned|unpinned|on cpu)' "$dir/text.out"; then
	cat "$dir/text.out"; echo "FAIL: the plan for a pcap: file talks about a poller"; exit 1
fi
grep -q '^plan (offline file' "$dir/text.out" || { cat "$dir/text.out"; echo "FAIL: no plan line for the file"; exit 1; }
python3 -c '
import json, sys
p = [json.loads(l) for l in open(sys.argv[1]) if "\"plan\"" in l][0]
q = p["workers"][0]["queues"][0]
sys.exit(0 if q["poller_cpu"] is None and q["distance"] is None else 1)' "$dir/out.json" ||
	{ echo "FAIL: the JSON plan of a file gives a poller CPU"; exit 1; }

# Frames whose length fields lie (issue 11): IPv4/UDP with IHL 15 (a 60-byte header) in a
# 60-byte frame whose total length says 100, and after it a frame with "MQ\1" where that UDP
# payload would start if the IHL were believed (mqcount --verify used to find it there and
# checksum 2^64 bytes: heap-buffer-overflow under ASan); the same with TCP; a TCP header
# whose data offset runs past the frame; an IPv6 hop-by-hop header longer than the frame.
# --verify must count them all as foreign, and not read past any frame (this is ASan).
PYTHONPATH="$MQCAP_SRC/tests/system/lib" python3 - "$dir/lie.pcap" <<'EOF' || { echo "FAIL: cannot write the pcap"; exit 1; }
import struct, sys
import pktlib

def ihl15(proto):
    ip = bytearray(20)
    ip[0] = 0x4f
    ip[2:4] = struct.pack('!H', 100)
    ip[9] = proto
    ip[12:20] = bytes([198, 18, 0, 1, 198, 19, 0, 1])
    fr = pktlib.eth(pktlib.RX_MAC, pktlib.TX_MAC, 0x0800, bytes(ip) + b'MQ\x01')
    return pktlib.pad(fr, 60)[:60]

# Not IP (a local experimental ethertype): "MQ\1" 22 bytes in, the old payload position.
bait = pktlib.eth(pktlib.RX_MAC, pktlib.TX_MAC, 0x88b5, bytes(8) + b'MQ\x01' + bytes(40))
fr = [ihl15(17), bait, ihl15(6), bait]
t = bytearray(pktlib.tcp4_frame('198.18.0.1', '198.19.0.1', 1024, 80, b'MQ\x01' + bytes(17)))
t[14 + 20 + 12] = 0xf0  # data offset 60 in a 40-byte TCP segment
fr.append(bytes(t))
h = bytearray(pktlib.udp6_frame('2001:db8::1', '2001:db8::2', 5000, 6000, b'MQ\x01' + bytes(17)))
h[14 + 6] = 0          # next header: hop-by-hop...
h[14 + 40:14 + 42] = bytes([17, 200])  # ...of (200 + 1) * 8 bytes
fr.append(bytes(h))
pktlib.write_pcap(sys.argv[1], fr)
EOF
"$MQCOUNT" -i "pcap:$dir/lie.pcap" --verify --json > "$dir/lie.json" 2> "$dir/lie.err" || {
	rc=$?; cat "$dir/lie.err"; echo "FAIL: mqcount --verify on frames with lying length fields exited $rc"; exit 1; }
python3 - "$dir/lie.json" <<'EOF' || exit 1
import json, sys
s = [json.loads(l) for l in open(sys.argv[1])]
s = [x for x in s if x['type'] == 'summary'][-1]
v = s['verify']
ok = v['foreign'] == 6 and v['payloads'] == 0 and v['corrupt'] == 0 and s['total']['received'] == 6
print('# lying frames: verify', v)
if not ok:
    print('FAIL: wanted 6 foreign, 0 payloads, 0 corrupt of 6 received')
sys.exit(0 if ok else 1)
EOF
# A truncated file: the error names the file once (it said "pcap:F: pcap:F: corrupt ..."), and
# mqcount exits 1 after counting the good packets before the cut.
head -c 100 "$dir/v.pcap" > "$dir/cut.pcap"
if "$MQCOUNT" -i "pcap:$dir/cut.pcap" -q > "$dir/cut.out" 2> "$dir/cut.err"; then
	echo "FAIL: mqcount on a truncated file exited 0"; exit 1
fi
n=$(grep -o "pcap:$dir/cut.pcap" "$dir/cut.err" | wc -l)
grep -q 'truncated' "$dir/cut.err" && [ "$n" -eq 1 ] || {
	cat "$dir/cut.err"; echo "FAIL: the truncation error should name the file once (named $n times)"; exit 1; }
echo "# truncated file: $(grep truncated "$dir/cut.err")"
echo "PASS: mqcount read the whole file and --verify found exactly the loss, duplicate, reordering and corruption"
