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
#
# Everything tb_up made is removed at exit, whether the test passes, fails or is killed
# (EXIT trap; SIGINT/SIGTERM/SIGHUP exit through it). Don't set your own EXIT trap: use
# tb_on_exit. Variables: MQCAP_BUILD and MQCAP_SRC (set by meson test; derived from this
# file's location when unset), TESTBED (the mqcap-testbed binary), PKTLIB (pktlib.py).

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

# tb_tmpdir: a temporary directory removed at exit (printed).
tb_tmpdir() {
	local d
	d=$(mktemp -d /tmp/mqcap-test.XXXXXX) || tb_fail "mktemp"
	tb_on_exit "rm -rf '$d'"
	echo "$d"
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
