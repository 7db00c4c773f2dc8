#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Every --json line of every tool is valid against the one documented schema,
# docs/json/mqcap.schema.json (tool, type, version on each line): mqcount's plan, interval and
# summary lines and its arrangement line (live on a testbed, with --verify and --split, and over a pcap file), mqsend's
# summary, mqtune's report, mqdump's interval and summary lines, mqcap-testbed sink's lines.
set -euo pipefail
. "$(dirname "$0")/lib/testbed.sh"
tb_require_root
tb_tool MQCOUNT mqcount
tb_tool MQSEND mqsend
tb_tool MQTUNE mqtune
tb_need python3
python3 -c 'import jsonschema' 2>/dev/null || tb_fail "python3-jsonschema not installed (scripts/deps)"
SCHEMA="$MQCAP_SRC/docs/json/mqcap.schema.json"
CHECK() { python3 "$MQCAP_SRC/tests/system/json_schema_check.py" "$SCHEMA" "$@" || tb_fail "$1 does not follow the schema"; }
d=$(tb_tmpdir)

tb_up "$(tb_unique_name json)" --queues 2 --napi threaded
# mqcount live: plan, intervals, summary with --verify; mqsend's summary
tb_rx "$MQCOUNT" -i "$RX_DEV" -d 3 -l 300ms --json --verify >"$d/count.json" 2>"$d/count.err" &
cpid=$!
tb_on_exit "kill $cpid 2>/dev/null"
for _ in $(seq 100); do grep -q '"type":"plan"' "$d/count.json" && break; sleep 0.05; done
sleep 0.5
tb_tx "$MQSEND" -i "$TX_DEV" -m qdisc --paper -c 2000 -r 20k --dst-mac "$RX_MAC" --json >"$d/send.json" ||
	tb_fail "mqsend failed"
wait "$cpid" || tb_fail "mqcount failed: $(cat "$d/count.err")"
CHECK "$d/count.json" mqcount:plan,mqcount:arrangement,mqcount:interval,mqcount:summary
CHECK "$d/send.json" mqsend:summary
# the check can fail: a line without its version, or with a counter as a string, is rejected
sed 's/"version":1,//' "$d/count.json" >"$d/bad1.json"
sed 's/"received":\([0-9]*\)/"received":"\1"/' "$d/count.json" >"$d/bad2.json"
for b in bad1 bad2; do
	python3 "$MQCAP_SRC/tests/system/json_schema_check.py" "$SCHEMA" "$d/$b.json" mqcount:plan >/dev/null 2>&1 &&
		tb_fail "the schema check accepted $b.json"
done
# --split and an error-free pcap run
tb_rx "$MQCOUNT" -i "$RX_DEV@0" --split -d 1 -l 300ms --json >"$d/split.json" 2>"$d/split.err" ||
	tb_fail "mqcount --split failed: $(cat "$d/split.err")"
CHECK "$d/split.json" mqcount:plan,mqcount:summary
python3 - "$d/in.pcap" <<'PY'
import struct, sys
f = open(sys.argv[1], "wb")
f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
for i in range(10):
    fr = b"\x02\0\xc6\x12\0\x02\x02\0\xc6\x12\0\x01\x08\x00" + b"\x45" + b"\0" * 45
    f.write(struct.pack("<IIII", 1, i, len(fr), len(fr)) + fr)
PY
"$MQCOUNT" -i "pcap:$d/in.pcap" --json >"$d/pcap.json" || tb_fail "mqcount on a pcap failed"
CHECK "$d/pcap.json" mqcount:plan,mqcount:summary
# mqtune
tb_rx "$MQTUNE" "$RX_DEV" --json >"$d/tune.json" 2>"$d/tune.err" || tb_fail "mqtune failed: $(cat "$d/tune.err")"
CHECK "$d/tune.json" mqtune:report
# mqcap-testbed sink
"$TESTBED" sink "$TB_NAME" -d 0.5 --json >"$d/sink.json" || tb_fail "sink failed"
CHECK "$d/sink.json" mqcap-testbed:sink_ready,mqcap-testbed:sink
# mqdump, where it is built
if [ -x "$MQCAP_BUILD/tools/mqdump/mqdump" ]; then
	tb_rx "$MQCAP_BUILD/tools/mqdump/mqdump" -i "$RX_DEV" -w "$d/dump.pcapng" -d 1.5 -l 500ms --json \
		>"$d/dump.json" 2>"$d/dump.err" || tb_fail "mqdump failed: $(cat "$d/dump.err")"
	CHECK "$d/dump.json" mqdump:interval,mqdump:summary
fi
echo "PASS"
