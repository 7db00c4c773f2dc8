#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The guest suite: one boot of the second testbed (scripts/vm: Debian's own kernel, pinned
# there, under qemu TCG, with a 4-queue virtio-net NIC whose host end is a tap in a namespace
# made here) running tests/vm/guest_suite.sh, whose steps capture on the real driver and
# report one "STEP NAME PASS|FAIL|SKIP" line each. This side sends the traffic the guest asks
# for (mqsend into the tap) and fails when a step failed or never reported.
# Skips (77) only where this machine cannot run the guest at all: no qemu, no /dev/net/tun.
set -u
. "${MQCAP_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/system/lib/testbed.sh"
tb_require_root
tb_tool MQSEND mqsend
command -v qemu-system-x86_64 >/dev/null ||
	tb_skip "no qemu-system-x86_64 on this machine (scripts/deps installs qemu-system-x86)"
[ -c /dev/net/tun ] || tb_skip "no /dev/net/tun: the guest's NIC needs a tap"
VM="$MQCAP_SRC/scripts/vm"
"$VM" fetch || tb_fail "the guest's kernel is not in the cache and cannot be fetched (scripts/vm fetch)"

NS=$(tb_unique_name vmh)
TAP=vtap$((RANDOM % 10000))
dir=$(tb_tmpdir)
ip netns add "$NS" || tb_fail "cannot create namespace $NS"
# No IPv6 chatter (router solicitations, MLD) from the tap: the driver counters count only mqsend.
ip netns exec "$NS" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.all.disable_ipv6=1
tb_on_exit "ip netns del $NS"
mkfifo "$dir/ctl.in" "$dir/ctl.out"

# The host's half of tests/vm/guest_lib.sh's protocol. Only these verbs, with words made of
# safe characters: the guest asks, it does not command.
#   send WORD...   mqsend -i TAP WORD... in the namespace (traffic into the guest's NIC)
serve() {
	local line id verb rc
	exec 8<>"$dir/ctl.out" 9<>"$dir/ctl.in"
	while IFS= read -r line <&8; do
		line=${line%$'\r'}
		set -f; set -- $line; set +f
		[ "${1:-}" = RUN ] && [ $# -ge 3 ] || continue
		id=$2 verb=$3; shift 3
		rc=126
		if [[ "$*" =~ ^[A-Za-z0-9.,:=_/\ -]*$ ]]; then
			case "$verb" in
			send) timeout 120 ip netns exec "$NS" "$MQSEND" -i "$TAP" -q "$@" >> "$dir/send.log" 2>&1
				rc=$?;;
			*) rc=127;;
			esac
		fi
		printf 'DONE %s %s\n' "$id" "$rc" >&9
	done
}
serve &
tb_on_exit "kill $!"

# Steps the guest must report, in its order (guest_suite.sh prints them as it goes).
STEPS=$(sed -n 's/^# step \([a-z_0-9]*\):.*/\1/p' "$MQCAP_SRC/tests/vm/guest_suite.sh")
tb_log "booting $("$VM" kernel) with a 4-queue virtio-net NIC (host end $NS/$TAP); steps: $(echo $STEPS)"
start=$(date +%s)
"$VM" boot --netns "$NS" --tap "$TAP" --ctl "$dir/ctl" --log "$dir/console.log" --timeout 540 \
	-- "$MQCAP_SRC/tests/vm/guest_suite.sh" "$MQCAP_SRC" "$MQCAP_BUILD" > /dev/null
rc=$?
tb_log "guest ran $(( $(date +%s) - start )) s, exit $rc"

fail=0
while read -r name; do
	line=$(grep -a "^STEP $name " "$dir/console.log" | tail -1)
	if [ -z "$line" ]; then
		echo "FAIL step $name: never reported"; fail=1
	else
		echo "${line#STEP }"
		case "$line" in *" FAIL"*) fail=1;; esac
	fi
done <<<"$STEPS"
if [ "$fail" -ne 0 ] || [ "$rc" -ne 0 ]; then
	echo "--- guest console"; tr -d '\r' < "$dir/console.log"; echo "--- mqsend"; cat "$dir/send.log" 2>/dev/null
	tb_fail "the guest suite failed (guest exit $rc)"
fi
echo "PASS: every guest step passed"
