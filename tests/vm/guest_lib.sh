# SPDX-License-Identifier: BSD-2-Clause
# Sourced by the scripts that run inside the guest (scripts/vm boot): the control channel to
# the host side of the test (the guest's second serial port, /dev/ttyS1, which scripts/vm
# --ctl connects to FIFOs on the host) and the per-step report.
#
# Protocol, one line each way: the guest writes "RUN ID VERB WORD...", the host answers
# "DONE ID STATUS" when it has done it. The host does only the verbs it knows
# (tests/vm/test_vm_guest.sh: send, for mqsend into the NIC); the guest cannot run anything
# else on the host.
GUEST_CTL=${GUEST_CTL:-/dev/ttyS1}
GUEST_SEQ=0

guest_ctl_open() {
	stty -F "$GUEST_CTL" raw -echo 115200 || return 1
	exec 7<>"$GUEST_CTL"
}

# host VERB WORD...: have the host side do it; returns its status (125: no answer).
host() {
	local id=$((++GUEST_SEQ)) line
	printf 'RUN %s %s\n' "$id" "$*" >&7
	while IFS= read -r -t 300 line <&7; do
		line=${line%$'\r'}
		case "$line" in "DONE $id "*) return "${line##* }";; esac
	done
	echo "guest: no answer from the host to '$*'" >&2
	return 125
}

# Each step prints one "STEP NAME PASS|FAIL|SKIP [why]" line on the console; the host side
# reports them one by one and fails when any failed or a planned one never reported.
STEP_FAILED=0
step_pass() { echo "STEP $1 PASS${2:+ $2}"; }
step_skip() { echo "STEP $1 SKIP $2"; }
step_fail() { echo "STEP $1 FAIL $2"; STEP_FAILED=1; }
