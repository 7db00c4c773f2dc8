#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# mqcount --metrics-file / --metrics-listen: Prometheus text that promtool accepts; scraped
# while a capture runs, the counters only grow; at the end, the file and the endpoint hold
# exactly the summary's numbers (per queue, per drop stage, per thread); slow, stuck and
# malformed clients neither stall the capture nor the other scrapers; the endpoint listens only
# where told (loopback by default) and answers nothing but /metrics; bad addresses and files are
# refused before anything is captured. Also over a pcap file, where the counts are exact.
set -euo pipefail
. "$(dirname "$0")/lib/testbed.sh"
tb_require_root
tb_tool MQCOUNT mqcount
tb_tool MQSEND mqsend
tb_need python3 promtool ss
CHECK="$MQCAP_SRC/tests/system/metrics_check.py"
d=$(tb_tmpdir)
PORT=9464

# 1. a live capture on 2 queues, scraped while it runs, with stuck clients beside it
tb_up "$(tb_unique_name metr)" --queues 2 --napi threaded
ip -n "$RX_NS" link set lo up
N=60000
# no -d: it runs until the clients are done with it, however slow a loaded machine makes them
# (ip netns exec, not the tb_rx function: $! must be mqcount itself, for the signal below)
ip netns exec "$RX_NS" "$MQCOUNT" -i "$RX_DEV" -l 500ms --json --metrics-file "$d/m.prom" \
	--metrics-listen "127.0.0.1:$PORT" >"$d/mc.json" 2>"$d/mc.err" &
mpid=$!
tb_on_exit "kill $mpid 2>/dev/null"
for _ in $(seq 100); do grep -q '"type":"interval"' "$d/mc.json" && break; sleep 0.1; done
grep -q '"type":"interval"' "$d/mc.json" || tb_fail "mqcount did not start: $(cat "$d/mc.err")"
[ -s "$d/m.prom" ] || tb_fail "no metrics file while capturing"
listen=$(tb_rx ss -Hltn "sport = :$PORT" | awk '{print $4}')
[ "$listen" = "127.0.0.1:$PORT" ] || tb_fail "endpoint listens on '$listen', expected 127.0.0.1:$PORT only"
tb_tx "$MQSEND" -i "$TX_DEV" -m qdisc --paper -c "$N" -r 10k --dst-mac "$RX_MAC" -q >"$d/send.out" 2>&1 &
spid=$!
tb_on_exit "kill $spid 2>/dev/null"
tb_rx python3 "$CHECK" scrape "$PORT" "$d/scrape.prom" 5 0.4 || tb_fail "scraping during the capture failed"
promtool check metrics <"$d/scrape.prom" || tb_fail "promtool rejects a scrape"
ticks0=$(grep -c '"type":"interval"' "$d/mc.json")
tb_rx python3 "$CHECK" abuse "$PORT" || tb_fail "slow or malformed clients broke the endpoint"
ticks1=$(grep -c '"type":"interval"' "$d/mc.json")
# about 8 s of abuse at -l 500ms: the capture's own loop kept going
[ $((ticks1 - ticks0)) -ge 10 ] || tb_fail "only $((ticks1 - ticks0)) intervals while clients hung: the capture stalled"
wait "$spid" || tb_fail "mqsend failed: $(cat "$d/send.out")"
sleep 0.5
kill -TERM "$mpid"
wait "$mpid" || tb_fail "mqcount failed: $(cat "$d/mc.err")"
promtool check metrics <"$d/m.prom" || tb_fail "promtool rejects the metrics file"
python3 "$CHECK" compare "$d/m.prom" "$d/mc.json" || tb_fail "the metrics file differs from the summary"
recv=$(python3 -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1])][-1]["total"]["received"])' "$d/mc.json")
[ "$recv" -ge "$N" ] || tb_fail "captured $recv of $N at 10 kpps beside the stuck clients"
ls "$d" | grep -q 'm.prom.tmp' && tb_fail "a temporary metrics file was left behind"
tb_log "live capture: scrapes grew, promtool accepts, final file = summary ($recv packets)"

# 2. a pcap file: exact counts, the filter's rejects, and the file and the summary agree; its
# name (the device label) carries a quote and a backslash, which the text format escapes
pcap="$d/q\"b\\.pcap"
python3 - "$pcap" <<'PY'
import struct, sys
f = open(sys.argv[1], "wb")
f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
for i in range(1000):
    proto = 6 if i % 4 else 17
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, i, 0, 64, proto, 0, bytes([198, 18, 0, 1]), bytes([198, 18, 0, 2]))
    fr = b"\x02\0\xc6\x12\0\x02" + b"\x02\0\xc6\x12\0\x01" + b"\x08\x00" + ip + b"\0" * 20
    f.write(struct.pack("<IIII", 1, i, len(fr), len(fr)) + fr)
PY
"$MQCOUNT" -i "pcap:$pcap" --json --metrics-file "$d/p.prom" tcp >"$d/p.json" 2>"$d/p.err" ||
	tb_fail "mqcount on a pcap failed: $(cat "$d/p.err")"
promtool check metrics <"$d/p.prom" || tb_fail "promtool rejects the pcap run's metrics"
python3 "$CHECK" compare "$d/p.prom" "$d/p.json" || tb_fail "pcap run: metrics differ from the summary"
grep -q '^mqcap_received_packets_total{.*} 750$' "$d/p.prom" || tb_fail "pcap run: expected 750 TCP packets: $(grep received_packets "$d/p.prom")"
grep -q '^mqcap_filtered_packets_total{.*} 250$' "$d/p.prom" || tb_fail "pcap run: expected 250 filtered"
tb_log "pcap: 750 received, 250 filtered, as the summary says"

# 2b. mqdump: its write drops are stage="write" (a disk that fills up), equal to its summary's
if [ -x "$MQCAP_BUILD/tools/mqdump/mqdump" ]; then
	m="$d/full"
	mkdir "$m" && mount -t tmpfs -o size=32k mqm-full "$m" || tb_fail "cannot mount a tmpfs"
	tb_on_exit "umount $m"
	rc=0
	"$MQCAP_BUILD/tools/mqdump/mqdump" -i "pcap:$pcap" -w "$m/x.pcapng" --json --metrics-file "$d/dump.prom" \
		>"$d/dump.json" 2>"$d/dump.err" || rc=$?
	[ "$rc" -eq 1 ] && grep -q 'No space left' "$d/dump.err" || tb_fail "mqdump on a full disk: rc $rc, $(cat "$d/dump.err")"
	promtool check metrics <"$d/dump.prom" || tb_fail "promtool rejects mqdump's metrics"
	read -r cap wd < <(python3 -c '
import json, sys
s = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")][-1]["total"]
print(s["captured"], s["write_drops"])' "$d/dump.json")
	got_wd=$(awk '/^mqcap_dropped_packets_total\{.*stage="write"\}/ {s += $2} END {print s + 0}' "$d/dump.prom")
	got_rx=$(awk '/^mqcap_received_packets_total\{/ {s += $2} END {print s + 0}' "$d/dump.prom")
	[ "$wd" -gt 0 ] && [ "$got_wd" = "$wd" ] && [ "$got_rx" = "$cap" ] ||
		tb_fail "mqdump: metrics say received $got_rx, write drops $got_wd; summary captured $cap, write drops $wd"
	umount "$m"
	tb_log "mqdump on a full disk: stage=\"write\" $got_wd = the summary's write drops, received $got_rx"
fi

# 3. bad input: refused before anything is captured, nothing left attached
bad() {  # EXPECTED-MESSAGE ARGS...
	local want="$1" rc=0; shift
	tb_rx "$MQCOUNT" -i "$RX_DEV" -d 2 -q "$@" >"$d/bad.out" 2>"$d/bad.err" || rc=$?
	[ "$rc" -eq 2 ] || tb_fail "mqcount $* exited $rc, expected 2: $(cat "$d/bad.err")"
	grep -q -- "$want" "$d/bad.err" || tb_fail "mqcount $*: message '$(cat "$d/bad.err")' lacks '$want'"
	grep -q received "$d/bad.out" && tb_fail "mqcount $* captured before refusing"
	ip -n "$RX_NS" -d link show dev "$RX_DEV" 2>/dev/null | grep -q 'prog/xdp' &&
		tb_fail "mqcount $* left an XDP program"
	return 0
}
bad "port must be 0-65535" --metrics-listen 127.0.0.1:99999
bad "not a numeric" --metrics-listen localhost:9464
bad "expected ADDR:PORT" --metrics-listen ::1:9464
bad "cannot write the metrics file /nonexistent" --metrics-file /nonexistent/dir/m.prom
tb_rx python3 -c 'import socket, time; s = socket.socket(); s.bind(("127.0.0.1", 9465)); s.listen(); time.sleep(6)' &
hold=$!
tb_on_exit "kill $hold 2>/dev/null"
for _ in $(seq 100); do [ -n "$(tb_rx ss -Hltn 'sport = :9465')" ] && break; sleep 0.05; done
bad "cannot listen for metrics on 127.0.0.1:9465" --metrics-listen 127.0.0.1:9465
kill "$hold" 2>/dev/null || true
tb_log "bad addresses, an unwritable file and a taken port are refused (exit 2), nothing captured"
echo "PASS"
