#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# `mqcap-testbed sink`, the bound make eval compares capture against: it counts every frame the
# receiver gets, per RX queue, exactly (the receiver's own per-queue counters; mqsend --count N
# gives N, give or take the sender's IPv6 solicitations), drops them (the receiver's stack sees none), and its XDP program is gone
# once it stops, even when it is SIGKILLed. Bad input is refused.
set -euo pipefail
. "$(dirname "$0")/lib/testbed.sh"
tb_require_root
tb_tool MQSEND mqsend
tb_need python3 ip
d=$(tb_tmpdir)
N=20000

tb_up "$(tb_unique_name sink)" --queues 3
xdp_attached() { ip -n "$RX_NS" -d link show dev "$RX_DEV" 2>/dev/null | grep -q 'prog/xdp'; }

# 1. exact counts per queue, while the stack gets nothing
ip_in0=$(ip netns exec "$RX_NS" awk '/^Ip:/ {getline; print $3; exit}' /proc/net/snmp)
"$TESTBED" sink "$TB_NAME" --json >"$d/sink.json" 2>"$d/sink.err" &
spid=$!
tb_on_exit "kill -9 $spid 2>/dev/null"
for _ in $(seq 100); do grep -q sink_ready "$d/sink.json" && break; sleep 0.05; done
grep -q sink_ready "$d/sink.json" || tb_fail "sink did not start: $(cat "$d/sink.err")"
xdp_attached || tb_fail "no XDP program on $RX_DEV while the sink runs"
rx0=($(tb_rx_queue_packets))
tb_tx "$MQSEND" -i "$TX_DEV" -m qdisc --paper -c "$N" -r 50k --dst-mac "$RX_MAC" -q >/dev/null ||
	tb_fail "mqsend failed"
sleep 0.5
rx1=($(tb_rx_queue_packets))
kill -INT "$spid"
wait "$spid" || tb_fail "sink exited with $?: $(cat "$d/sink.err")"
ip_in1=$(ip netns exec "$RX_NS" awk '/^Ip:/ {getline; print $3; exit}' /proc/net/snmp)
python3 - "$d/sink.json" "$N" "${rx0[*]}" "${rx1[*]}" <<'PY' || tb_fail "sink counts are wrong"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
s = [l for l in lines if l["type"] == "sink"][-1]
n = int(sys.argv[2])
rx = [int(b) - int(a) for a, b in zip(sys.argv[3].split(), sys.argv[4].split())]
per_q = [q["packets"] for q in s["queues"]]
print("# sink: total %d, per queue %s; receiver's counters %s" % (s["packets"], per_q, rx))
# the sender's own IPv6 neighbour/router solicitations may add a few frames
assert n <= s["packets"] <= n + 20, "sink counted %d, mqsend sent %d" % (s["packets"], n)
# the receiver's counters were read after the sink attached and before it stopped: a frame of
# the sender's own (IPv6 solicitation) may fall in between, none of mqsend's
assert all(0 <= p - r <= 5 for p, r in zip(per_q, rx)), "per queue %s, the receiver counted %s" % (per_q, rx)
assert sum(per_q) == s["packets"]
assert 60 * n <= s["bytes"] <= 60 * n + 20 * 200, "bytes %d for %d 60-byte frames" % (s["bytes"], n)
assert sum(1 for p in per_q if p) == 3, "the paper's 4096 flows should reach all 3 queues"
PY
[ "$ip_in1" = "$ip_in0" ] || tb_fail "the receiver's stack got $((ip_in1 - ip_in0)) frames: the sink must drop them"
for _ in $(seq 50); do xdp_attached || break; sleep 0.1; done
xdp_attached && tb_fail "the sink's XDP program stayed after it stopped"
tb_log "sink counted all $N mqsend frames on the queues the receiver named, the stack saw none, program removed"

# 2. SIGKILL: the program goes with the process (a BPF link, not a netlink attachment)
"$TESTBED" sink "$TB_NAME" >"$d/sink2.out" 2>&1 &
spid=$!
for _ in $(seq 100); do grep -q counting "$d/sink2.out" && break; sleep 0.05; done
xdp_attached || tb_fail "second sink did not attach: $(cat "$d/sink2.out")"
kill -9 "$spid"; wait "$spid" 2>/dev/null || true
for _ in $(seq 50); do xdp_attached || break; sleep 0.1; done
xdp_attached && tb_fail "a SIGKILLed sink left its XDP program"
tb_log "a SIGKILLed sink left nothing"

# 3. bad input
set +e
"$TESTBED" sink >/dev/null 2>"$d/e1"; r1=$?
"$TESTBED" sink nosuch_tb_x >/dev/null 2>"$d/e2"; r2=$?
"$TESTBED" sink "$TB_NAME" -d bogus >/dev/null 2>"$d/e3"; r3=$?
set -e
[ $r1 -eq 2 ] && grep -q "one instance name" "$d/e1" || tb_fail "no name: rc $r1, $(cat "$d/e1")"
[ $r2 -eq 1 ] && grep -q "no testbed instance nosuch_tb_x" "$d/e2" || tb_fail "unknown instance: rc $r2, $(cat "$d/e2")"
[ $r3 -eq 2 ] && grep -q -- "-d" "$d/e3" || tb_fail "bad duration: rc $r3, $(cat "$d/e3")"
tb_log "bad input refused"
echo "PASS"
