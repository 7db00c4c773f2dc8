# SPDX-License-Identifier: BSD-2-Clause
# xdp_common.sh - what the xdp system tests (test_xdp*.sh) share. Source it after setting
# nothing: it sources the testbed library, skips without root or tools, and gives
#   xdp_testbed ARGS...           a testbed instance (tb_up with a unique 'xdp' name)
#   probe_start OUT ARGS... NAME  xdp_probe in the receiver namespace, in the background,
#                                 returning once it has opened (or failed: see OUT)
#   probe_wait                    wait for it to end by itself
#   send N ARGS...                mqsend N UDP frames, 64 flows, through the RSS qdisc path
#   kill_ours PID WHAT            kill PID at exit if it is still our WHAT
#   kv FILE PREFIX KEY            value of KEY= on the first line of FILE starting PREFIX
#   sum_kv FILE PREFIX KEY        the sum over all such lines
. "$MQCAP_SRC/tests/system/lib/testbed.sh"

PROBE="$MQCAP_BUILD/tests/system/xdp_probe"
MQSEND="$MQCAP_BUILD/tools/mqsend/mqsend"
TMPD=$(mktemp -d /tmp/mqcap-xdp.XXXXXX)
tb_on_exit "rm -rf $TMPD"

tb_require_root
[ -x "$PROBE" ] || tb_fail "xdp_probe not built at $PROBE"
[ -x "$MQSEND" ] || tb_fail "mqsend not built at $MQSEND"

# kill_ours PID WHAT: kill PID at exit only if it is still the program WHAT this test
# started (its PID may have been reused by then).
kill_ours() {
	tb_on_exit "grep -qa '$2' /proc/$1/cmdline && kill -9 $1"
}

xdp_testbed() {
	tb_up "$(tb_unique_name xdp)" "$@"
	# A kernel built without AF_XDP or BPF cannot run these tests: skip, saying so.
	if ! ip netns exec "$RX_NS" "$PROBE" -T 1 "xdp:$RX_DEV@0" >"$TMPD/probe0" 2>&1; then
		if grep -qE 'Address family not supported|Function not implemented' "$TMPD/probe0"; then
			tb_skip "this kernel has no AF_XDP/BPF: $(cat "$TMPD/probe0")"
		fi
	fi
}

PROBE_PID=
probe_start() {
	local out="$1"; shift
	rm -f "$TMPD/ready"
	# a simple command, not tb_rx: $! is then the probe itself (ip execs it)
	ip netns exec "$RX_NS" "$PROBE" -R "$TMPD/ready" "$@" >"$out" 2>&1 &
	PROBE_PID=$!
	kill_ours "$PROBE_PID" xdp_probe
	for _ in $(seq 100); do
		[ -e "$TMPD/ready" ] && return 0
		kill -0 "$PROBE_PID" 2>/dev/null || { wait "$PROBE_PID"; return 1; }
		sleep 0.05
	done
	tb_fail "xdp_probe did not open within 5 s: $(cat "$out")"
}

probe_wait() {
	wait "$PROBE_PID"
}

# send N [more mqsend options]: N frames of 128 bytes (full verification payload), UDP to
# the receiver's port 80, source ports 1000-1063 (64 flows spread over the queues by RSS).
send() {
	local n="$1"; shift
	tb_tx "$MQSEND" -i "$TX_DEV" -m qdisc -c "$n" -r 40000 -s 128 -P udp \
		--dst-mac "$RX_MAC" --dst "$RX_IP" --sport 1000-1063 --dport 80 -q "$@" \
		>"$TMPD/send.out" 2>&1 || tb_fail "mqsend failed: $(cat "$TMPD/send.out")"
}

kv() {
	grep -m1 "^$2" "$1" | tr ' ' '\n' | sed -n "s/^$3=//p"
}

sum_kv() {
	grep "^$2" "$1" | tr ' ' '\n' | sed -n "s/^$3=//p" | awk '{s += $1} END {print s + 0}'
}

# expect_eq WHAT GOT WANT
expect_eq() {
	[ "$2" = "$3" ] || tb_fail "$1: got '$2', expected '$3'"
	tb_log "ok: $1 = $3"
}
