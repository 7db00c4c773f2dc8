#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Nothing of an instance remains (namespaces, links, tc program, pinned maps) after `down`,
# after a test using it is terminated half-way (its EXIT trap cleans up), and, after a test is
# SIGKILLed (no trap can run), `list` names the leftover and `down` removes it.
set -euo pipefail
. "$(dirname "$0")/lib/testbed.sh"
tb_require_root
command -v bpftool >/dev/null || tb_fail "needs bpftool to look for the tc program"

# prog_id NAME: id of the instance's RSS program (from its pin)
prog_id() {
	bpftool prog show pinned "/sys/fs/bpf/mqcap-testbed/$1/rss_prog" 2>/dev/null | awk -F: 'NR == 1 {print $1}'
}

# gone NAME PROG_ID: nothing of the instance is left (the kernel frees a namespace's devices
# and so the tc program asynchronously: allow it a few seconds).
gone() {
	local name="$1" id="$2" i
	for (( i=0; i<100; i++ )); do
		if ! grep -q "mqtb-$name-" <<<"$(ip netns list)" &&
		   [ ! -e "/sys/fs/bpf/mqcap-testbed/$name" ] &&
		   ! grep -q "$name-" <<<"$(ip -o link show)" &&
		   ! bpftool prog show id "$id" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	ip netns list | grep "mqtb-$name-" || true
	ls -d "/sys/fs/bpf/mqcap-testbed/$name" 2>/dev/null || true
	bpftool prog show id "$id" 2>/dev/null || true
	return 1
}

# 1. up, down
n=$(tb_unique_name tbcl)
"$TESTBED" up --name "$n" >/dev/null
tb_on_exit "'$TESTBED' down $n"
id=$(prog_id "$n")
[ -n "$id" ] || tb_fail "no RSS program pinned for $n"
grep -q "rss_tc" <<<"$(ip netns exec "mqtb-$n-tx" tc filter show dev "$n-tx" egress)" || tb_fail "RSS program not on tc egress"
grep -q "^$n  *up " <<<"$("$TESTBED" list)" || tb_fail "list does not show $n as up"
"$TESTBED" down "$n" >/dev/null
gone "$n" "$id" || tb_fail "after down, parts of $n remain"
tb_log "down removed everything of $n (namespaces, links, tc program $id, pins)"

# 2. a test terminated half-way: its trap removes the instance
child() { # NAME SIGNAL: run a test that brings NAME up and hangs; kill it with SIGNAL
	local name="$1" sig="$2" pid i
	# sleep in the background and wait: bash runs a trap only between commands, and wait
	# is one it interrupts, as a test blocked in a tool would be.
	bash -c '. "$1"; tb_up "$2" --queues 2; sleep 60 & echo $! > "$3.sleep"; echo up > "$3"; wait' _ \
		"$MQCAP_SRC/tests/system/lib/testbed.sh" "$name" "$d/$name.up" >/dev/null 2>&1 &
	pid=$!
	for (( i=0; i<200; i++ )); do [ -e "$d/$name.up" ] && break; sleep 0.05; done
	[ -e "$d/$name.up" ] || tb_fail "child test did not bring $name up"
	id=$(prog_id "$name")
	kill "-$sig" "$pid"
	wait "$pid" 2>/dev/null || true
	kill "$(cat "$d/$name.up.sleep")" 2>/dev/null || true
}
d=$(tb_tmpdir)
n=$(tb_unique_name tbcl)
tb_on_exit "'$TESTBED' down $n"
child "$n" TERM
gone "$n" "$id" || tb_fail "after SIGTERM of the test, parts of $n remain"
tb_log "a test terminated half-way left nothing of $n"

# 3. SIGKILL: nothing can run; list shows the leftover, down removes it
n=$(tb_unique_name tbcl)
tb_on_exit "'$TESTBED' down $n"
child "$n" KILL
grep -q "^$n " <<<"$("$TESTBED" list)" || tb_fail "list does not show the leftover $n"
"$TESTBED" down "$n" >/dev/null || tb_fail "down of the leftover $n failed"
gone "$n" "$id" || tb_fail "after down of a killed test's instance, parts of $n remain"
tb_log "a SIGKILLed test's instance $n listed and removed"

# 4. a half-made instance (one namespace only, as a crash during up leaves) is listed as a
# leftover and removed by down
n=$(tb_unique_name tbcl)
ip netns add "mqtb-$n-tx"
tb_on_exit "ip netns delete mqtb-$n-tx"
grep -q "^$n  *leftover" <<<"$("$TESTBED" list)" || tb_fail "list does not show half-made $n as leftover"
"$TESTBED" up --name "$n" 2>/dev/null && tb_fail "up over a leftover succeeded"
"$TESTBED" down "$n" >/dev/null || tb_fail "down of half-made $n failed"
grep -q "mqtb-$n-" <<<"$(ip netns list)" && tb_fail "half-made $n not removed"

# 5. a process still inside the instance's namespaces (a forgotten capture) keeps the
# namespaces alive, but down still removes the veth pair and the tc program at once
n=$(tb_unique_name tbcl)
"$TESTBED" up --name "$n" >/dev/null
tb_on_exit "'$TESTBED' down $n"
id=$(prog_id "$n")
ip netns exec "mqtb-$n-rx" sleep 30 &
holder=$!
tb_on_exit "kill $holder"
"$TESTBED" down "$n" >/dev/null
gone "$n" "$id" || tb_fail "with a process inside, down left parts of $n"
kill "$holder" 2>/dev/null || true
tb_log "down with a process still inside removed links and program of $n"

# 6. two concurrent ups of one name: exactly one wins, and the loser's rollback does not
# take the winner's parts with it
n=$(tb_unique_name tbcl)
tb_on_exit "'$TESTBED' down $n"
"$TESTBED" up --name "$n" >/dev/null 2>&1 & p1=$!
"$TESTBED" up --name "$n" >/dev/null 2>&1 & p2=$!
r1=0; r2=0; wait $p1 || r1=$?; wait $p2 || r2=$?
[ $(( (r1 == 0) + (r2 == 0) )) = 1 ] || tb_fail "concurrent ups: exit codes $r1 and $r2, want one success"
"$TESTBED" env "$n" >/dev/null || tb_fail "concurrent ups: the winner's instance is broken"
grep -q "^$n  *up " <<<"$("$TESTBED" list)" || tb_fail "concurrent ups: $n not complete"
"$TESTBED" down "$n" >/dev/null
tb_log "concurrent ups of $n: one won ($r1/$r2), its instance intact"
echo "PASS"
