#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# test_queues - queues.h, the queue/poller discovery, against the testbed's veth:
#   - the RX queue count, from netlink and from sysfs (forced fallback), equals the testbed's;
#   - threaded NAPI on: every queue has a NAPI id and a poller thread, netlink and the /proc
#     fallback agree on both, each answer names its source, and the pids are the napi/DEV-ID
#     threads that ps shows; a pinned thread reports its CPU;
#   - threaded NAPI off: no poller thread; netlink still names the NAPI ids, /proc cannot;
#   - napi-set through mqcap_queue_set_threaded(): one queue alone becomes threaded (skips
#     only when this kernel's family lacks the operation);
#   - mqtune shows the source of each queue's facts (text and JSON);
#   - a device that does not exist: a clear error.
set -u
. "${MQCAP_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/system/lib/testbed.sh"
tb_require_root
PROBE="$MQCAP_BUILD/tests/system/queue_probe"
[ -x "$PROBE" ] || tb_fail "queue_probe not built at $PROBE"
dir=$(tb_tmpdir)
tb_up "$(tb_unique_name queue)" --queues 4 --napi threaded

probe() { tb_rx "$PROBE" "$@"; }
field() { awk -v q="$2" -v k="$3" '$1 == "queue" && $2 == q { for (i = 3; i < NF; i += 2) if ($i == k) print $(i + 1) }' "$1"; }

probe "$RX_DEV" > "$dir/nl" || tb_fail "queue_probe failed: $(cat "$dir/nl")"
probe -p "$RX_DEV" > "$dir/proc" || tb_fail "queue_probe -p failed"
cat "$dir/nl" "$dir/proc"
[ "$(head -1 "$dir/nl")" = "count 4 4" ] || tb_fail "netlink: queue count $(head -1 "$dir/nl"), wanted 4"
[ "$(head -1 "$dir/proc")" = "count 4 4" ] || tb_fail "sysfs: queue count $(head -1 "$dir/proc"), wanted 4"

# the napi/DEV-ID threads as ps sees them, by id: "ID PID"
ps -eo pid=,comm= | awk -v d="napi/$RX_DEV-" 'index($2, d) == 1 { sub(d, "", $2); print $2, $1 }' |
	sort -n > "$dir/ps"
[ "$(wc -l < "$dir/ps")" -eq 4 ] || tb_fail "expected 4 NAPI threads, ps shows: $(cat "$dir/ps")"
src_nl=$(field "$dir/nl" 0 source)
case "$src_nl" in
netlink|netlink-rank) ;;
*) tb_fail "netlink: source of queue 0 is '$src_nl'" ;;
esac
for q in 0 1 2 3; do
	read -r id pid < <(sed -n "$((q + 1))p" "$dir/ps")
	for f in nl proc; do
		[ "$(field "$dir/$f" $q napi)" = "$id" ] || tb_fail "$f: queue $q napi $(field "$dir/$f" $q napi), ps: $id"
		[ "$(field "$dir/$f" $q pid)" = "$pid" ] || tb_fail "$f: queue $q pid $(field "$dir/$f" $q pid), ps: $pid"
	done
	[ "$(field "$dir/proc" $q source)" = proc ] || tb_fail "fallback: source of queue $q is not proc"
done

# a pinned poller reports its CPU (and a floating one -1)
read -r _ pid2 < <(sed -n 3p "$dir/ps")
taskset -pc 0 "$pid2" >/dev/null || tb_fail "cannot pin $pid2"
probe "$RX_DEV" > "$dir/pinned"
[ "$(field "$dir/pinned" 2 cpu)" = 0 ] || tb_fail "pinned poller of queue 2: cpu $(field "$dir/pinned" 2 cpu)"

# threaded off: no poller threads; netlink still names the NAPIs, /proc cannot
tb_rx sh -c "echo 0 > /sys/class/net/$RX_DEV/threaded"
probe "$RX_DEV" > "$dir/nl_off"
probe -p "$RX_DEV" > "$dir/proc_off"
cat "$dir/nl_off" "$dir/proc_off"
for q in 0 1 2 3; do
	[ "$(field "$dir/nl_off" $q pid)" = -1 ] || tb_fail "threaded off: queue $q still has a thread"
	[ "$(field "$dir/proc_off" $q source)" = none ] || tb_fail "fallback, threaded off: queue $q source"
	[ "$(field "$dir/nl_off" $q napi)" = "$(field "$dir/nl" $q napi)" ] ||
		tb_fail "threaded off: netlink names NAPI $(field "$dir/nl_off" $q napi) for queue $q"
done

# napi-set: queue 1 alone threaded
probe -t 1 on "$RX_DEV" > "$dir/set" 2>&1
rc=$?
cat "$dir/set"
[ $rc -eq 3 ] && tb_skip "this kernel's netdev family cannot switch one NAPI (napi-set threaded)"
[ $rc -eq 0 ] || tb_fail "napi-set failed"
for q in 0 2 3; do
	[ "$(field "$dir/set" $q pid)" = -1 ] || tb_fail "napi-set on queue 1 made queue $q threaded"
done
pid1=$(field "$dir/set" 1 pid)
[ "$pid1" -gt 0 ] || tb_fail "napi-set: queue 1 has no thread"
grep -q "^napi/$RX_DEV-" "/proc/$pid1/comm" || tb_fail "pid $pid1 is not a NAPI thread of $RX_DEV"
probe -t 1 off "$RX_DEV" > "$dir/unset" 2>&1 || tb_fail "napi-set off failed"
[ "$(field "$dir/unset" 1 pid)" = -1 ] || tb_fail "napi-set off: queue 1 still threaded"

# mqtune says where each fact came from
MQTUNE="$MQCAP_BUILD/tools/mqtune/mqtune"
tb_rx "$MQTUNE" --json "$RX_DEV" > "$dir/tune.json" || tb_fail "mqtune failed"
python3 - "$dir/tune.json" "$src_nl" <<'PY' || tb_fail "mqtune does not name the source of its facts"
import json, sys
d = json.load(open(sys.argv[1]))['devices'][0]
assert len(d['queues']) == 4, d
assert all(q['source'] == sys.argv[2] for q in d['queues']), d['queues']
PY
tb_rx "$MQTUNE" "$RX_DEV" | grep -q "queue 0 .*\[$src_nl\]" || tb_fail "mqtune text names no source"

# no such device
probe nosuchdev0 > "$dir/bad" 2>&1 && tb_fail "a missing device was accepted"
grep -q "no device named nosuchdev0" "$dir/bad" || tb_fail "unclear error: $(cat "$dir/bad")"
echo "PASS: queue discovery (netlink source: $src_nl)"
