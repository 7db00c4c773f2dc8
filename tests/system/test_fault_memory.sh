#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# test_fault_memory - rings that cannot be allocated, and the ring memory budget (issue 17
#   part 1, memory pressure):
#   - xdp under a small locked-memory limit: without CAP_IPC_LOCK the kernel charges the
#     pinned UMEM to RLIMIT_MEMLOCK; mqcount (root, but CAP_IPC_LOCK dropped from its bounding
#     set, memlock 4 MiB) must fail with exit 1, a message that names the limit and -m/--mem,
#     and leave no XDP program attached. With -m small enough to fit, the same limit works.
#   - a budget too small for the queues: exit 2 naming -m; below 1M: exit 2.
#   - the budget caps what the process holds: VmRSS with 8 queues at -m 8M is far below the
#     default's 64M.
set -u
. "${MQCAP_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/system/lib/testbed.sh"
. "$MQCAP_SRC/tests/system/fault_lib.sh"
tb_require_root
tb_tool MQCOUNT mqcount
tb_need python3 setpriv prlimit

dir=$(tb_tmpdir)
fault_testbed mem 8

xdp_prog() {
	tb_rx ip -j link show dev "$RX_DEV" | python3 -c '
import json, sys
print(json.load(sys.stdin)[0].get("xdp", {}).get("prog", {}).get("id", ""))'
}

# 1. locked-memory limit: 8 queues x 8 MiB of UMEM (the default 64M) cannot be pinned in 4 MiB
tb_rx setpriv --bounding-set -ipc_lock --inh-caps -ipc_lock -- \
	prlimit --memlock=4194304:4194304 -- "$MQCOUNT" -q -i "xdp:$RX_DEV" -d 1 > "$dir/lim.out" 2>&1
rc=$?
cat "$dir/lim.out"
if [ $rc -eq 0 ]; then
	tb_fail "64M of UMEM was pinned under a 4 MiB locked-memory limit without CAP_IPC_LOCK"
fi
[ $rc -eq 1 ] || tb_fail "exit $rc under the locked-memory limit, wanted 1"
grep -q 'locked-memory limit' "$dir/lim.out" || tb_fail "the message does not name the locked-memory limit"
grep -q -- '-m/--mem' "$dir/lim.out" || tb_fail "the message does not name -m/--mem"
grep -q 'AddressSanitizer\|runtime error' "$dir/lim.out" && tb_fail "sanitizer report"
[ -z "$(xdp_prog)" ] || tb_fail "an XDP program stayed attached after the failed open"

# the same limit with a budget that fits: 2 queues at the 1 MiB minimum each
tb_rx setpriv --bounding-set -ipc_lock --inh-caps -ipc_lock -- \
	prlimit --memlock=4194304:4194304 -- "$MQCOUNT" -q -i "xdp:$RX_DEV@0,1" -m 2M -d 1 \
	> "$dir/fit.out" 2>&1 || { cat "$dir/fit.out"; tb_fail "-m 2M on 2 queues did not fit in 4 MiB of locked memory"; }
tb_log "2 queues with -m 2M fit under a 4 MiB locked-memory limit"

# mqdump parses the same options (tools/common/capture_opts.c): the same limit refuses the
# default budget with the same advice, and -m 2M makes the same capture fit and write its file
if [ -x "$MQCAP_BUILD/tools/mqdump/mqdump" ]; then
	MQDUMP="$MQCAP_BUILD/tools/mqdump/mqdump"
	tb_rx setpriv --bounding-set -ipc_lock --inh-caps -ipc_lock -- \
		prlimit --memlock=4194304:4194304 -- "$MQDUMP" -q -i "xdp:$RX_DEV" -w "$dir/d.pcapng" \
		-d 1 > "$dir/dlim.out" 2>&1
	rc=$?
	[ $rc -eq 1 ] && grep -q -- '-m/--mem' "$dir/dlim.out" && [ ! -e "$dir/d.pcapng" ] \
		|| { cat "$dir/dlim.out"; tb_fail "mqdump under the limit: exit $rc, wanted 1 naming -m/--mem"; }
	[ -z "$(xdp_prog)" ] || tb_fail "mqdump left an XDP program attached after the failed start"
	tb_rx setpriv --bounding-set -ipc_lock --inh-caps -ipc_lock -- \
		prlimit --memlock=4194304:4194304 -- "$MQDUMP" -q -i "xdp:$RX_DEV@0,1" -m 2M \
		-w "$dir/d.pcapng" -d 1 > "$dir/dfit.out" 2>&1 && [ -s "$dir/d.pcapng" ] \
		|| { cat "$dir/dfit.out"; tb_fail "mqdump -m 2M on 2 queues did not fit in 4 MiB of locked memory"; }
	tb_log "mqdump: refused under the limit naming -m/--mem; with -m 2M it fits and writes its file"
fi

# 2. budgets that cannot work are bad usage
tb_rx "$MQCOUNT" -q -i "xdp:$RX_DEV" -m 4M -d 1 > "$dir/small.out" 2>&1
rc=$?
cat "$dir/small.out"
[ $rc -eq 2 ] || tb_fail "-m 4M for 8 queues exited $rc, wanted 2"
grep -q 'mem_budget\|-m' "$dir/small.out" || tb_fail "the message does not name the budget"
tb_rx "$MQCOUNT" -q -i "xdp:$RX_DEV" -m 512K -d 1 > "$dir/tiny.out" 2>&1
[ $? -eq 2 ] || tb_fail "-m 512K was accepted"
tb_rx "$MQCOUNT" -q -i "xdp:$RX_DEV" -m 12X -d 1 > "$dir/bad.out" 2>&1
[ $? -eq 2 ] || tb_fail "-m 12X was accepted"
grep -q "suffix" "$dir/bad.out" || tb_fail "-m 12X: no word about the suffix"

# 3. the budget is what the rings take: peak RSS (VmHWM) of 8 queues at -m 8M and at 64M
for be in xdp packet; do
	for m in 8M 64M; do
		# ip netns exec execs mqcount, so $! is mqcount itself
		ip netns exec "$RX_NS" "$MQCOUNT" -q -i "$be:$RX_DEV" -m $m -d 3 > "$dir/rss.out" 2>&1 &
		pid=$!
		sleep 2.5
		hwm=$(awk '/^VmHWM/ {print $2}' /proc/$pid/status)
		wait $pid || { cat "$dir/rss.out"; tb_fail "$be -m $m failed"; }
		eval "hwm_${be}_${m}=$hwm"
		tb_log "$be, 8 queues, -m $m: VmHWM $((hwm / 1024)) MiB"
	done
	small=$(eval echo \$hwm_${be}_8M) big=$(eval echo \$hwm_${be}_64M)
	# the rings are all that differs: 56 MiB less (xdp) or 24 MiB (packet: 4 MiB per queue at most)
	want=$([ $be = xdp ] && echo 40960 || echo 16384)
	[ $((big - small)) -ge $want ] || tb_fail "$be: -m 8M saved only $(((big - small) / 1024)) MiB over -m 64M"
done
echo "PASS: unallocatable rings name the option to lower, budgets are checked and hold"
