# SPDX-License-Identifier: BSD-2-Clause
# testbed.sh - shell library for mqcap system tests. Source it from a bash test:
#
#   . "$MQCAP_SRC/tests/system/lib/testbed.sh"
#   tb_require_root                      # exit 77 (skip) unless root
#   tb_up "$(tb_unique_name cap)" --queues 4 [mqcap-testbed up options...]
#   ip netns exec "$TX_NS" ...           # TX_NS TX_DEV RX_NS RX_DEV TX_IP RX_IP TX_IP6 RX_IP6
#                                        # TX_MAC RX_MAC QUEUES RSS_KEY RSS_TABLE are exported
#   tb_on_exit "kill $pid"               # more cleanup, run at exit (last registered first)
#   tb_fail "message"                    # print FAIL and exit 1 (cleanup still runs)
#   tb_tool MQSEND mqsend; tb_need tcpdump   # built tool ($MQSEND), installed command, or FAIL
#
# Everything tb_up made is removed at exit, whether the test passes, fails or is killed
# (EXIT trap; SIGINT/SIGTERM/SIGHUP exit through it). Don't set your own EXIT trap: use
# tb_on_exit. Variables: MQCAP_BUILD and MQCAP_SRC (set by meson test; derived from this
# file's location when unset), TESTBED (the mqcap-testbed binary), PKTLIB (pktlib.py).

# The system's own programs first: scripts/deps installs Debian's python3, tcpdump, tshark...
# and tests must use those. A version manager's shim ahead in PATH (pyenv's python3 is a bash
# script) took 3.5 s to start on a loaded machine, longer than the windows tests measure in.
export PATH="/usr/sbin:/usr/bin:/sbin:/bin${PATH:+:$PATH}"
: "${MQCAP_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}"
: "${MQCAP_BUILD:=$MQCAP_SRC/build}"
TESTBED="$MQCAP_BUILD/tools/mqcap-testbed/mqcap-testbed"
PKTLIB="$MQCAP_SRC/tests/system/lib/pktlib.py"
export MQCAP_SRC MQCAP_BUILD TESTBED PKTLIB

_tb_instances=()
_tb_cleanups=()

# Skip only where the kernel or the machine truly lacks something (a feature, a second CPU).
# A missing build product, tool or privilege is a failure: `make check` provides all of them.
tb_skip() { echo "SKIP: $*"; exit 77; }
# One part of a test cannot run here (same rule): say so, go on with the other parts, and
# let tb_pass end the test as skipped, not passed, so the part's absence shows in the results.
_tb_part_skips=""
tb_skip_part() { echo "# SKIP part: $*"; _tb_part_skips="$_tb_part_skips${_tb_part_skips:+; }$*"; }
tb_pass() {
	[ -z "$_tb_part_skips" ] || tb_skip "every other check passed, but parts did not run: $_tb_part_skips"
	echo "PASS${1:+: $1}"
}
tb_fail() { echo "FAIL: $*" >&2; exit 1; }
tb_log() { echo "# $*"; }

tb_require_root() {
	[ "$(id -u)" -eq 0 ] || tb_fail "needs root (network namespaces, veth, BPF): run make check as root"
	[ -x "$TESTBED" ] || tb_fail "mqcap-testbed not built at $TESTBED"
}

# A name unique to this test run: PREFIX (<= 6 characters; put your helper's tag in it)
# followed by 6 hex digits.
tb_unique_name() {
	local p="${1:-tb}"
	printf '%s%06x\n' "${p:0:6}" $(( ($$ * 2654435761 + RANDOM) & 0xffffff ))
}

tb_on_exit() { _tb_cleanups+=("$1"); }

_tb_exit() {
	local rc=$? i
	trap - EXIT INT TERM HUP
	for (( i=${#_tb_cleanups[@]}-1; i>=0; i-- )); do
		eval "${_tb_cleanups[$i]}" >/dev/null 2>&1 || true
	done
	tb_down
	rm -rf "/tmp/mqcap-test.$$."*
	exit $rc
}
trap _tb_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# tb_up NAME [mqcap-testbed up options]: bring an instance up and export its env.
tb_up() {
	local name="$1"; shift
	_tb_instances+=("$name")   # registered first, so a half-made instance is removed too
	"$TESTBED" up --name "$name" "$@" >/dev/null || tb_fail "mqcap-testbed up --name $name $* failed"
	tb_env "$name"
}

# tb_env NAME: export the assignments of `mqcap-testbed env NAME` into this shell.
tb_env() {
	local line
	while IFS= read -r line; do
		[[ "$line" == *=* ]] || continue
		export "${line%%=*}=${line#*=}"
	done < <("$TESTBED" env "$1") || tb_fail "mqcap-testbed env $1 failed"
	[ -n "$RX_DEV" ] || tb_fail "mqcap-testbed env $1 printed nothing"
}

# tb_down [NAME]: remove one instance (default: every instance tb_up made).
tb_down() {
	local n rest=()
	if [ $# -gt 0 ]; then
		"$TESTBED" down "$1" >/dev/null 2>&1 || true
		for n in "${_tb_instances[@]}"; do [ "$n" = "$1" ] || rest+=("$n"); done
		_tb_instances=("${rest[@]}")
		return 0
	fi
	for n in "${_tb_instances[@]}"; do
		"$TESTBED" down "$n" >/dev/null 2>&1 || true
	done
	_tb_instances=()
}

# tb_tx CMD...: run CMD in the sender namespace; tb_rx CMD...: in the receiver's.
tb_tx() { ip netns exec "$TX_NS" "$@"; }
tb_rx() { ip netns exec "$RX_NS" "$@"; }

# tb_rx_queue_packets: the receiver's per-RX-queue frame counters, one number per queue
# (veth's rx_queue_N_xdp_packets: every frame NAPI delivered on queue N).
tb_rx_queue_packets() {
	local q out=()
	local stats
	stats=$(ip netns exec "$RX_NS" ethtool -S "$RX_DEV")
	for (( q=0; q<QUEUES; q++ )); do
		out+=("$(awk -v k="rx_queue_${q}_xdp_packets:" '$1 == k {print $2}' <<<"$stats")")
	done
	echo "${out[*]}"
}

# tb_tmpdir: a temporary directory removed at exit (printed). Callers run it as d=$(tb_tmpdir),
# a subshell whose tb_on_exit would be lost; so the directory's name carries this test's PID
# ($$ is the test shell's PID in subshells too) and _tb_exit removes every such directory.
tb_tmpdir() {
	mktemp -d "/tmp/mqcap-test.$$.XXXXXX" || tb_fail "mktemp"
}

# tb_gen_cpus: the generator's CPUs for the single-queue benchmarks when GEN_CPU is not set.
# CPU 0 on a small machine; 0,2,3 (three mqsend threads) where there are at least 6 CPUs: one
# thread offers ~0.8 Mpps on veth, which every capture tool absorbs on one queue, so the tools
# would be compared at the sender's limit instead of their own.
tb_gen_cpus() {
	if [ "$(nproc)" -ge 6 ]; then echo 0,2,3; else echo 0; fi
}

# tb_cpu_count LIST: how many CPUs a list like 0,2-3 names (mqsend -t for mqsend -g LIST).
tb_cpu_count() {
	local n=0 part
	for part in ${1//,/ }; do
		case "$part" in
		*-*) n=$((n + ${part#*-} - ${part%-*} + 1));;
		*) n=$((n + 1));;
		esac
	done
	echo "$n"
}

# tb_tool VAR NAME: set VAR to the path of the built tool NAME (tools/NAME/NAME in the build
# tree), or fail naming it when it was not built. (A variable, not a printed path: tb_fail in
# a $(...) subshell would end only the subshell.)
tb_tool() {
	local t="$MQCAP_BUILD/tools/$2/$2"
	[ -x "$t" ] || tb_fail "$2 not built at $t"
	printf -v "$1" '%s' "$t"
}

# tb_need CMD...: fail unless each command is installed (scripts/deps installs them).
tb_need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || tb_fail "$c not installed (scripts/deps)"
	done
}

# tb_tcpdump_start FILE FILTER [tcpdump options]: capture the receiver's incoming frames that
# match FILTER into FILE until tb_tcpdump_stop; returns once tcpdump listens.
_tb_td_pid=
tb_tcpdump_start() {
	local f="$1" filter="$2"
	shift 2
	: >"$f.err"
	ip netns exec "$RX_NS" tcpdump -i "$RX_DEV" -Q in -n -s 2048 -B 65536 --immediate-mode \
		"$@" -w "$f" "$filter" 2>"$f.err" &
	_tb_td_pid=$!
	_tb_td_err="$f.err"
	tb_on_exit "kill $_tb_td_pid"
	for _ in $(seq 100); do grep -q "listening on" "$f.err" && return 0; sleep 0.05; done
	tb_fail "tcpdump did not start: $(cat "$f.err")"
}

# tb_tcpdump_stop: let the last frames arrive, stop tcpdump, and fail if it dropped any.
tb_tcpdump_stop() {
	sleep 0.5
	kill -INT "$_tb_td_pid" 2>/dev/null
	wait "$_tb_td_pid" 2>/dev/null
	grep -q "^0 packets dropped by kernel" "$_tb_td_err" ||
		tb_fail "tcpdump lost frames: $(cat "$_tb_td_err")"
}

# tb_capture_send PCAP PREFIX COUNT [all]: capture on every RX queue (one PACKET_FANOUT_QM
# socket per queue, keeping the TCP/UDP frames of pktlib's flow ports 9000-9006, or every
# incoming frame with "all"), send PCAP from the sender through the qdisc, and wait until
# COUNT frames arrived (COUNT 0: until 1 s without frames; at most 20 s). Writes
# PREFIX.qN.pcap, frames that arrived on RX queue N.
tb_capture_send() {
	local pcap="$1" prefix="$2" count="$3" pid i filter=(--ports 9000-9006 --idle 2)
	[ "${4:-}" = all ] && filter=(--idle 1)
	rm -f "$prefix.ready"
	ip netns exec "$RX_NS" python3 "$PKTLIB" capture-qm -i "$RX_DEV" -q "$QUEUES" -o "$prefix" \
		-c "$count" -t 20 "${filter[@]}" --ready "$prefix.ready" >/dev/null &
	pid=$!
	tb_on_exit "kill $pid"
	for (( i=0; i<100; i++ )); do [ -e "$prefix.ready" ] && break; sleep 0.05; done
	[ -e "$prefix.ready" ] || tb_fail "capture did not start"
	ip netns exec "$TX_NS" python3 "$PKTLIB" send -i "$TX_DEV" "$pcap" >/dev/null ||
		tb_fail "sending $pcap failed"
	wait "$pid" || tb_fail "capture failed"
}

# tb_rss_check PREFIX COUNT: every frame in PREFIX.qN.pcap arrived on the queue that the
# user-space RSS (rss.h with RSS_KEY/RSS_TABLE) predicts, and there are COUNT of them.
tb_rss_check() {
	local prefix="$1" count="$2" q files=()
	for (( q=0; q<QUEUES; q++ )); do files+=("$prefix.q$q.pcap"); done
	"$MQCAP_BUILD/tests/system/rss_check" --expect "$count" "$RSS_KEY" "$RSS_TABLE" "${files[@]}"
}
