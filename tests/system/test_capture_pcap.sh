#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The offline backend: `pcap:FILE` replays a file written by tcpdump packet for packet (bytes,
# lengths and nanosecond timestamps compared through tcpdump's own reading of both files);
# pcapng is read too; a truncated file delivers every good packet and then fails with the
# byte offset of the bad record.
set -u
. "$MQCAP_SRC/tests/system/lib/testbed.sh"
tb_require_root
DUMP="$MQCAP_BUILD/tests/system/capture_dump"
[ -x "$DUMP" ] || tb_fail "capture_dump not built"
command -v tcpdump >/dev/null || tb_fail "tcpdump missing"

dir=$(mktemp -d /tmp/mqcap-capXXXXXX)
chmod 777 "$dir"   # tcpdump drops to its own user before writing
tb_on_exit "rm -rf $dir"
tb_up "$(tb_unique_name cappc)" --queues 2
fails=0
ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; fails=$((fails + 1)); }

python3 - "$dir/traffic.pcap" <<PY || tb_fail "cannot write traffic"
import sys
sys.path.insert(0, "$MQCAP_SRC/tests/system/lib")
import pktlib as p
p.write_pcap(sys.argv[1], p.flow_frames(300, 40, "udp", size=200) + p.flow_frames(100, 10, "tcp", v6=True) + p.mixed_frames())
PY
n=$(( 300 + 100 + $(python3 -c "import sys; sys.path.insert(0, '$MQCAP_SRC/tests/system/lib'); import pktlib; print(len(pktlib.mixed_frames()))") ))

# tcpdump records what arrives (nanosecond stamps), only our frames (the sender's MAC)
tb_rx timeout 30 tcpdump -i "$RX_DEV" -w "$dir/td.pcap" --time-stamp-precision=nano -c "$n" \
	-Q in "ether src $TX_MAC" >"$dir/td.log" 2>&1 &
tdpid=$!
tb_on_exit "kill $tdpid 2>/dev/null"
for _ in $(seq 100); do grep -q listening "$dir/td.log" && break; sleep 0.05; done
sleep 0.5
tb_tx python3 "$PKTLIB" send -i "$TX_DEV" -r 5000 "$dir/traffic.pcap" >/dev/null || tb_fail "send failed"
wait $tdpid || tb_fail "tcpdump did not see all $n frames: $(cat "$dir/td.log")"

# replay through mqcap, writing what it delivered; compare both through tcpdump
"$DUMP" -w "$dir/replayed.pcap" "pcap:$dir/td.pcap" > "$dir/replay.txt"
got=$(grep -c '^pkt' "$dir/replay.txt")
grep -q '^end reason=eof$' "$dir/replay.txt" || notok "replay did not end at eof: $(tail -2 "$dir/replay.txt")"
tcpdump -r "$dir/td.pcap" -nn -tt --nano -xx -e 2>/dev/null > "$dir/a.txt"
tcpdump -r "$dir/replayed.pcap" -nn -tt --nano -xx -e 2>/dev/null > "$dir/b.txt"
if [ "$got" -eq "$n" ] && [ -s "$dir/a.txt" ] && cmp -s "$dir/a.txt" "$dir/b.txt"; then
	ok "pcap: replays tcpdump's file of $n frames packet for packet (bytes and ns timestamps)"
else
	notok "pcap: replay differs: $got of $n frames; $(diff "$dir/a.txt" "$dir/b.txt" | head -5)"
fi
# timestamps in the lines are tcpdump's too
first_ts=$(tcpdump -r "$dir/td.pcap" -tt --nano -c 1 2>/dev/null | awk '{sub(/\./, "", $1); print $1}')
if grep -m1 '^pkt' "$dir/replay.txt" | grep -q "ts=$first_ts "; then
	ok "first timestamp $first_ts ns"
else
	notok "first timestamp: tcpdump $first_ts, mqcap $(grep -m1 '^pkt' "$dir/replay.txt")"
fi

# a filter on a file: what tcpdump's reading with the same filter keeps
"$DUMP" -f "tcp or vlan" "pcap:$dir/td.pcap" > "$dir/f.txt"
want=$(tcpdump -r "$dir/td.pcap" -nn "tcp or vlan" 2>/dev/null | wc -l)
have=$(grep -c '^pkt' "$dir/f.txt")
[ "$have" -eq "$want" ] && ok "filter on a file: $have frames as tcpdump" || notok "filter on a file: $have, tcpdump $want"

# truncated: cut inside record K; K-1 packets, then EBADMSG at that record's offset
read -r off k < <(python3 - "$dir/td.pcap" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
end = "<" if struct.unpack("<I", d[:4])[0] in (0xa1b2c3d4, 0xa1b23c4d) else ">"
off, k = 24, 0
while k < 250:
    off += 16 + struct.unpack(end + "I", d[off + 8:off + 12])[0]
    k += 1
print(off, k)
PY
)
head -c $((off + 20)) "$dir/td.pcap" > "$dir/cut.pcap"
"$DUMP" "pcap:$dir/cut.pcap" > "$dir/cut.txt"; rc=$?
good=$(grep -c '^pkt' "$dir/cut.txt")
if [ $rc -eq 2 ] && [ "$good" -eq "$k" ] && grep -q "^error errno=EBADMSG msg=.*at byte offset $off, after $k good packets" "$dir/cut.txt"; then
	ok "truncated file: $good good packets, then: $(grep '^error' "$dir/cut.txt" | cut -c1-160)"
else
	notok "truncated file: rc=$rc, $good packets (want $k), $(grep '^error' "$dir/cut.txt")"
fi
# the good packets before the cut are the file's first k, unchanged
grep '^pkt' "$dir/replay.txt" | head -n "$k" | cut -d' ' -f2-7 > "$dir/h1"
grep '^pkt' "$dir/cut.txt" | cut -d' ' -f2-7 > "$dir/h2"
cmp -s "$dir/h1" "$dir/h2" && ok "packets before the cut are intact" || notok "packets before the cut differ"

# pcapng (the fuzz seed: 4 frames, microsecond stamps from 1700000000 s)
ng="$MQCAP_SRC/tests/fuzz/corpus/pcap/basic.pcapng"
"$DUMP" "pcap:$ng" > "$dir/ng.txt"
if [ "$(grep -c '^pkt' "$dir/ng.txt")" -eq 4 ] && grep -q 'ts=1700000001001000000 ' "$dir/ng.txt"; then
	ok "pcapng: 4 frames with their timestamps"
else
	notok "pcapng: $(cat "$dir/ng.txt")"
fi

[ $fails -eq 0 ] || tb_fail "$fails checks failed"
echo "PASS"
