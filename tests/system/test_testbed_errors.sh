#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Bad input gives a clear message and changes nothing: unknown option, queue count 0 or above
# the kernel's limit, an instance that exists, not root, bad names, keys and weights.
set -euo pipefail
. "$(dirname "$0")/lib/testbed.sh"
tb_require_root

snapshot() { # everything of the names this test uses
	{ ip netns list | grep -E "mqtb-(tberr|$n)" || true
	  ls /sys/fs/bpf/mqcap-testbed 2>/dev/null | grep -E "^(tberr|$n)" || true
	  ip -o link show | grep -E "(tberr|$n)" || true; } | sort
}

# expect RC PATTERN ARGS...: mqcap-testbed ARGS exits with RC, says PATTERN, changes nothing
expect() {
	local rc="$1" pat="$2" out got before after; shift 2
	before=$(snapshot)
	set +e; out=$("$TESTBED" "$@" 2>&1); got=$?; set -e
	after=$(snapshot)
	[ "$got" = "$rc" ] || tb_fail "mqcap-testbed $*: exit $got, want $rc ($out)"
	grep -qiE "$pat" <<<"$out" || tb_fail "mqcap-testbed $*: message '$out' does not match '$pat'"
	[ "$before" = "$after" ] || tb_fail "mqcap-testbed $* changed something: $before -> $after"
	tb_log "$* -> $(head -1 <<<"$out")"
}

n=$(tb_unique_name tberr)
expect 2 "unknown option '--bogus'" up --name "$n" --bogus
expect 2 "unknown command" frobnicate
expect 2 "missing command" 
expect 2 "at least one queue" up --name "$n" --queues 0
expect 2 "kernel allows at most 4096" up --name "$n" --queues 5000
expect 2 "at most 256" up --name "$n" --queues 257
expect 2 "expected a number" up --name "$n" --queues four
expect 2 "needs a value" up --name "$n" --queues
expect 2 "1 to 12 characters" up --name thisnameistoolong
expect 2 "only letters" up --name 'bad/name'
expect 2 "only letters" up --name -x
expect 2 "needs an instance name" up --queues 2
expect 2 "80 hex digits" up --name "$n" --key 1234
expect 2 "use one" up --name "$n" --key 6d5a --symmetric
expect 2 "5 weights for 4 queues" up --name "$n" --weights 1,1,1,1,1
expect 2 "above zero" up --name "$n" --weights 0,0
expect 2 "comma-separated" up --name "$n" --weights 1,,2
expect 2 "needs --napi threaded" up --name "$n" --napi-cpus 0
expect 2 "threaded or inline" up --name "$n" --napi polling
expect 2 "napi-cpus" up --name "$n" --napi threaded --napi-cpus 9999
expect 1 "no instance" down "$n"
expect 1 "no instance" env "$n"
expect 1 "no instance" status "$n"

# not root: refused before anything is touched
if command -v setpriv >/dev/null; then
	before=$(snapshot)
	set +e; out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$TESTBED" up --name "$n" 2>&1); rc=$?; set -e
	[ "$rc" = 1 ] && grep -q "must run as root" <<<"$out" || tb_fail "not root: exit $rc, '$out'"
	[ "$before" = "$(snapshot)" ] || tb_fail "not root: something changed"
	tb_log "not root -> $out"
else
	tb_log "setpriv missing: not-root case not checked"
fi

# an existing instance: the second up fails and leaves the first one intact and working
tb_up "$n" --queues 2
env1=$("$TESTBED" env "$n")
expect 1 "already exists" up --name "$n" --queues 4
[ "$env1" = "$("$TESTBED" env "$n")" ] || tb_fail "the failed second up changed the instance"
[ "$QUEUES" = 2 ] || tb_fail "QUEUES=$QUEUES"
echo "PASS"
