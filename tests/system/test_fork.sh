#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# test_fork - a capture opened before fork() or daemon(3) goes on in the process that keeps
# reading, over AF_XDP and AF_PACKET, as libpcap's captures do (issue 23: a flow probe
# daemonized on DEV@1 read garbage over AF_XDP):
#   - daemon: daemon(3) right after opening; the child reads;
#   - child:  fork(), the parent exits without closing; the child reads;
#   - parent: fork(), the child closes its copy of the handle and exits; the parent reads.
# The reader must see every frame mqsend sent, each with its verification payload intact, and
# leave no XDP program behind; over xdp another process asking for a queue is told the
# reader's pid. On the code before the UMEM was mapped shared, the xdp
# daemon and child cases read no intact payload (the kernel wrote the parent's pages).
set -u
. "$(dirname "$0")/xdp_common.sh"

FORK_PROBE="$MQCAP_BUILD/tests/system/fork_probe"
[ -x "$FORK_PROBE" ] || tb_fail "fork_probe not built at $FORK_PROBE"
N=3000
xdp_testbed --queues 4
prog_count() { tb_rx ip link show "$RX_DEV" | grep -c 'prog/xdp'; }

# wait_file FILE SECONDS
wait_file() {
	local i
	for (( i = 0; i < $2 * 20; i++ )); do
		[ -e "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

for be in xdp packet; do
	for mode in daemon child parent; do
		out="$TMPD/$be-$mode"
		ip netns exec "$RX_NS" "$FORK_PROBE" -m "$mode" -o "$out" -i 1500 -T 20000 \
			"$be:$RX_DEV" >"$out.log" 2>&1 &
		launcher=$!
		wait_file "$out.ready" 10 || tb_fail "$be $mode: no reader ready: $(cat "$out.log")"
		reader=$(sed -n 's/^ready pid=//p' "$out.ready")
		kill_ours "$reader" fork_probe
		if [ "$mode" != parent ]; then
			wait "$launcher" || tb_fail "$be $mode: the parent exited $?: $(cat "$out.log")"
			[ "$reader" != "$launcher" ] || tb_fail "$be $mode: the parent reads"
		else
			[ "$reader" = "$launcher" ] || tb_fail "$be $mode: pid $reader reads, not the parent"
		fi
		if [ "$be" = xdp ] && [ "$mode" != parent ]; then
			# the forked reader, not its exited parent, is named as the queue's holder
			tb_rx "$PROBE" -T 100 "xdp:$RX_DEV@2" >"$out.busy" 2>&1
			grep -q "$RX_DEV@2 is busy: pid $reader (fork_probe)" "$out.busy" ||
				tb_fail "$be $mode: the busy message does not name pid $reader: $(cat "$out.busy")"
		fi
		send "$N"
		wait_file "$out" 25 || tb_fail "$be $mode: the reader reported nothing"
		[ "$mode" = parent ] && wait "$launcher"
		cat "$out.log" "$out"
		grep -q "^open .*mode=$be" "$out.log" || tb_fail "$be $mode: not opened over $be"
		expect_eq "$be $mode: intact payloads read by pid $reader" "$(kv "$out" pid payload_ok)" $N
		expect_eq "$be $mode: damaged payloads" "$(kv "$out" pid payload_bad)" 0
		for _ in $(seq 40); do kill -0 "$reader" 2>/dev/null || break; sleep 0.05; done
		kill -0 "$reader" 2>/dev/null && tb_fail "$be $mode: the reader did not exit"
		expect_eq "$be $mode: XDP programs left" "$(prog_count)" 0
	done
done
echo "PASS: test_fork"
