#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# mqcount's bad input: each case exits 2 with a message that names the problem, and starts
# nothing. Runs in a throwaway network namespace (unshare -n: only lo), so even a mistake in
# mqcount could not touch the machine's devices.
set -u
: "${MQCAP_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${MQCAP_BUILD:=$MQCAP_SRC/build}"
MQCOUNT="$MQCAP_BUILD/tools/mqcount/mqcount"
[ -x "$MQCOUNT" ] || { echo "FAIL: mqcount not built at $MQCOUNT"; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "FAIL: needs root (unshare -n): run make check as root"; exit 1; }
unshare -n true 2>/dev/null || { echo "FAIL: cannot create a network namespace"; exit 1; }

ncpu=$(nproc)
fails=0
# expect_err "message part" ARGS...: exit status 2 and the message on stderr.
expect_err() {
	local want="$1" out rc
	shift
	out=$(unshare -n "$MQCOUNT" "$@" 2>&1 >/dev/null)
	rc=$?
	if [ $rc -ne 2 ] || [[ "$out" != *"$want"* ]]; then
		echo "FAIL: mqcount $*: exit $rc, message '$out' (wanted exit 2 and '$want')"
		fails=$((fails + 1))
	else
		echo "ok: mqcount $* -> $out"
	fi
}

expect_err "does not exist" -i lo -g "$((ncpu + 7))"
expect_err "malformed CPU list" -i lo -g 1-x
expect_err "more threads than the $ncpu CPU(s)" -i lo -n "$((ncpu + 1))"
expect_err "--oversubscribe" -i lo -n "$((ncpu + 1))"
expect_err "filter is given twice" -i lo -f tcp udp
expect_err "conflicts with the backend prefix" -i packet:lo -b xdp
expect_err "one backend per run" -i packet:lo -i xdp:lo
expect_err "expected auto, xdp or packet" -i lo -b dpdk
expect_err "nothing to capture" -c 10
expect_err "--json and -q conflict" -i lo --json -q
expect_err "no device named" -i nosuchdev0
expect_err "queue 5 does not exist" -i lo@5
expect_err "a queue is read by one thread only" -i lo@0 -n 2 --oversubscribe
expect_err "-s: expected 1 to 262144 bytes of snaplen" -i lo -s 0
expect_err "--topology plans another machine" -i lo --topology /dev/null
expect_err "unknown backend prefix" -i dpdk:lo
expect_err "--exclusive takes frames from the stack with AF_XDP: it conflicts with -b auto/packet" -i lo -b packet --exclusive
expect_err "--exclusive takes frames from the stack with AF_XDP: it conflicts with the packet: prefix" -i packet:lo --exclusive
expect_err "--exclusive takes frames from the stack with AF_XDP: it conflicts with a pcap: file" -i pcap:/dev/null --exclusive
# --help answers and exits 0
if ! "$MQCOUNT" --help | grep -q -- "--exclusive"; then
	echo "FAIL: --help does not describe --exclusive"
	fails=$((fails + 1))
fi
if ! "$MQCOUNT" --help | grep -q -- "--oversubscribe"; then
	echo "FAIL: --help does not describe --oversubscribe"
	fails=$((fails + 1))
fi
[ $fails -eq 0 ] || { echo "FAIL: $fails case(s)"; exit 1; }
echo "PASS: every bad input gave exit 2 and a clear message"
