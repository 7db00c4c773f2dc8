#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Threaded NAPI: `up --napi threaded --napi-cpus LIST` makes one napi/DEV-ID thread per RX
# queue and pins queue i's thread to the i-th CPU (read back from /proc); traffic still
# flows; after a link flap the threads come back with new PIDs, and mqcap_napi_pin_queues()
# (napi.h) finds and pins the new ones. Inline mode has no threads.
set -euo pipefail
. "$(dirname "$0")/lib/testbed.sh"
tb_require_root
NAPI_PIN="$MQCAP_BUILD/tests/system/napi_pin"
ncpu=$(nproc)
[ "$ncpu" -ge 2 ] || tb_skip "needs 2 CPUs to tell pinnings apart"

# pids_and_cpus: "PID:ALLOWED" per thread of $RX_DEV in queue order (napi id order)
threads() {
	local p id
	for p in /proc/[0-9]*; do
		[[ "$(cat "$p/comm" 2>/dev/null)" == "napi/$RX_DEV-"* ]] || continue
		id=$(cat "$p/comm"); id=${id##*-}
		echo "$id ${p#/proc/}:$(awk '/^Cpus_allowed_list/ {print $2}' "$p/status")"
	done | sort -n | awk '{print $2}'
}

tb_up "$(tb_unique_name tbnapi)" --queues 4 --napi threaded --napi-cpus 0-1
[ "$(tb_rx cat /sys/class/net/$RX_DEV/threaded)" = 1 ] || tb_fail "threaded not set"
mapfile -t th < <(threads)
[ "${#th[@]}" = 4 ] || tb_fail "expected 4 NAPI threads, found ${#th[@]}: ${th[*]}"
for q in 0 1 2 3; do
	want=$(( q % 2 ))
	[ "${th[$q]#*:}" = "$want" ] || tb_fail "queue $q thread ${th[$q]%%:*} allowed on ${th[$q]#*:}, want $want"
done
tb_log "pinned: ${th[*]}"
grep -q "NAPI on $RX_DEV: threaded" <<<"$("$TESTBED" status "$TB_NAME")" || tb_fail "status does not show threaded NAPI"

# the library agrees with /proc, queue by queue
out=$(tb_rx "$NAPI_PIN" "$RX_DEV")
for q in 0 1 2 3; do
	grep -q "^queue $q napi_id [0-9]* pid ${th[$q]%%:*} last_cpu [0-9]* allowed $(( q % 2 ))\$" <<<"$out" ||
		tb_fail "napi_pin disagrees on queue $q: $out"
done

# traffic is still spread and predicted with threads polling
d=$(tb_tmpdir)
python3 "$PKTLIB" flows -n 4096 -f 4096 -w "$d/f.pcap"
tb_capture_send "$d/f.pcap" "$d/cap" 4096
tb_rss_check "$d/cap" 4096 || tb_fail "frames on queues RSS did not predict (threaded NAPI)"

# link flap: new threads, found and pinned again through the library
ip -n "$RX_NS" link set "$RX_DEV" down
ip -n "$RX_NS" link set "$RX_DEV" up
for i in $(seq 50); do mapfile -t th2 < <(threads); [ "${#th2[@]}" = 4 ] && break; sleep 0.1; done
[ "${#th2[@]}" = 4 ] || tb_fail "after a flap: ${#th2[@]} NAPI threads"
[ "${th2[0]%%:*}" != "${th[0]%%:*}" ] || tb_fail "after a flap the thread PIDs did not change (${th2[*]})"
grep -q "^pinned 4$" <<<"$(tb_rx "$NAPI_PIN" "$RX_DEV" 1,0)" || tb_fail "re-pinning after the flap failed"
mapfile -t th2 < <(threads)
for q in 0 1 2 3; do
	[ "${th2[$q]#*:}" = "$(( (q + 1) % 2 ))" ] || tb_fail "after re-pin queue $q allowed on ${th2[$q]#*:}"
done
tb_log "after flap and re-pin: ${th2[*]}"
tb_down "$TB_NAME"

# lowest NAPI id = RX queue 0: with every table entry on queue 2, only the third thread
# (in NAPI id order) gets CPU time
tb_up "$(tb_unique_name tbnapi)" --queues 4 --napi threaded --weights 0,0,1,0
runtime() { local t; for t in $(threads); do awk '{print $1}' "/proc/${t%%:*}/schedstat"; done; }
mapfile -t before < <(runtime)
python3 "$PKTLIB" flows -n 4096 -f 4096 -w "$d/q2.pcap"
tb_tx python3 "$PKTLIB" send -i "$TX_DEV" "$d/q2.pcap" >/dev/null
sleep 0.2
mapfile -t after < <(runtime)
for q in 0 1 2 3; do
	delta=$(( after[q] - before[q] ))
	if [ $q = 2 ]; then [ $delta -gt 0 ] || tb_fail "queue 2's thread did not run"
	else [ $delta = 0 ] || tb_fail "queue $q's thread ran ${delta} ns though queue 2 got all frames"; fi
done
tb_log "NAPI id order = RX queue order (only queue 2's thread ran)"
tb_down "$TB_NAME"

# inline: no threads, and the library says so
tb_up "$(tb_unique_name tbnapi)" --queues 2
[ "$(tb_rx cat /sys/class/net/$RX_DEV/threaded)" = 0 ] || tb_fail "inline mode has threaded set"
[ -z "$(threads)" ] || tb_fail "inline mode has NAPI threads"
grep -q "^threaded 0 threads 0$" <<<"$(tb_rx "$NAPI_PIN" "$RX_DEV")" || tb_fail "napi_pin sees threads in inline mode"
# enabling through the library works once NAPI exists (GRO is on: the testbed made sure)
grep -q "^threaded 1 threads 2$" <<<"$(tb_rx "$NAPI_PIN" "$RX_DEV" --enable 1)" || tb_fail "mqcap_napi_set_threaded failed"
# and is refused with a clear message on a device without NAPI (a plain veth, GRO off)
ip -n "$RX_NS" link add tbnonapi type veth peer name tbnonapi1
ip -n "$RX_NS" link set tbnonapi up; ip -n "$RX_NS" link set tbnonapi1 up
if msg=$(tb_rx "$NAPI_PIN" tbnonapi --enable 2>&1); then tb_fail "enabling threaded NAPI without NAPI succeeded"; fi
grep -q "no NAPI instance yet" <<<"$msg" || tb_fail "unclear message: $msg"
tb_log "no NAPI: $msg"
echo "PASS"
