# SPDX-License-Identifier: BSD-2-Clause
# pcap_common.sh - what the libpcap-compatibility tests (test_pcap_*.sh) share. Source it:
#   pcap_testbed                  a 4-queue testbed, and the traffic: $DIR/traffic.pcap, with
#                                 each frame's predicted queue in $DIR/sent.txt (rss.h)
#   pcap_want Q [FILTER]          $DIR/want.Q[.N].txt: the sent frames RSS puts on queue Q
#                                 (that libpcap's FILTER accepts), printed as its path
#   pcap_start TAG CMD...         CMD in the receiver namespace, in the background, output in
#                                 $DIR/TAG.out and .err; returns once it listens (READY_RE)
#   pcap_stop TAG                 SIGINT, then wait for it (fails after 10 s)
#   pcap_send                     send the traffic from the sender namespace
#   pcap_file_check FILE WANT     FILE (pcap/pcapng) holds exactly the frames of WANT
#   check NAME CMD...             run a check, count failures in $fails
. "$MQCAP_SRC/tests/system/lib/testbed.sh"
tb_require_root
DUMP="$MQCAP_BUILD/tests/system/capture_dump"
CHECK="$MQCAP_SRC/tests/system/capture_check.py"
PROBE="$MQCAP_BUILD/tests/system/pcap_probe"
WRAP="$MQCAP_BUILD/pcap/mqcap-pcap"
for t in "$DUMP" "$PROBE" "$WRAP" "$MQCAP_BUILD/pcap/libmqcap-pcap.so"; do
	[ -x "$t" ] || [ -f "$t" ] || tb_fail "$t not built"
done
DIR=$(tb_tmpdir)
fails=0
READY_RE='listening on|Capturing on|^open '

check() {
	local name=$1; shift
	if "$@"; then echo "ok - $name"; else echo "not ok - $name"; fails=$((fails + 1)); fi
}

# pcap_testbed [FLOW_FRAMES]: UDP and TCP flows over IPv4 and IPv6, spread by RSS
pcap_testbed() {
	local n="${1:-2000}"
	tb_up "$(tb_unique_name pcap)" --queues 4
	python3 - "$DIR/traffic.pcap" "$n" <<PY || tb_fail "cannot write the traffic pcap"
import sys
sys.path.insert(0, "$MQCAP_SRC/tests/system/lib")
import pktlib as p
n = int(sys.argv[2])
fr = (p.flow_frames(n, 256, "udp") + p.flow_frames(n // 2, 128, "tcp", v6=True)
      + p.flow_frames(n // 4, 64, "tcp") + p.flow_frames(n // 4, 64, "udp", v6=True)
      + p.flow_frames(n // 8, 32, "udp", vlan=(10,)))   # tags stay in the frames
p.write_pcap(sys.argv[1], fr)
PY
	"$DUMP" -P "pcap:$DIR/traffic.pcap" > "$DIR/sent.txt" || tb_fail "reading traffic.pcap"
	for q in 0 1 2 3; do
		grep -q "rssq=$q\$" "$DIR/sent.txt" || tb_fail "no frame predicted for queue $q"
	done
	tb_log "testbed $RX_NS/$RX_DEV; per predicted queue: $(grep -o 'rssq=[0-9]*' "$DIR/sent.txt" | sort | uniq -c | tr '\n' ' ')"
}

pcap_want() {
	local q=$1 f=${2:-} out="$DIR/want.$1"
	if [ -n "$f" ]; then
		out="$out.$(printf '%s' "$f" | md5sum | cut -c1-8)"
		# libpcap's own verdict on the same frames
		tcpdump -r "$DIR/traffic.pcap" -w "$out.pcap" "$f" 2>/dev/null || tb_fail "filter '$f' on the pcap"
		"$DUMP" -P "pcap:$out.pcap" > "$out.all" || tb_fail "reading $out.pcap"
		grep "rssq=$q\$" "$out.all" > "$out.txt"
	else
		grep "rssq=$q\$" "$DIR/sent.txt" > "$out.txt"
	fi
	echo "$out.txt"
}

declare -A PIDS
pcap_start() {
	local tag=$1 i; shift
	: > "$DIR/$tag.err"
	# a simple command, so that $! is the program itself (ip netns exec execs it)
	ip netns exec "$RX_NS" "$@" > "$DIR/$tag.out" 2> "$DIR/$tag.err" &
	PIDS[$tag]=$!
	# tshark's dumpcap child too: it outlives tshark when tshark is killed
	tb_on_exit "kill \$(cat /proc/${PIDS[$tag]}/task/*/children 2>/dev/null) ${PIDS[$tag]} 2>/dev/null"
	for (( i = 0; i < 200; i++ )); do
		grep -qE "$READY_RE" "$DIR/$tag.out" "$DIR/$tag.err" 2>/dev/null && return 0
		kill -0 "${PIDS[$tag]}" 2>/dev/null || break
		sleep 0.05
	done
	tb_fail "$tag did not start: $(cat "$DIR/$tag.out" "$DIR/$tag.err")"
}

# pcap_wait TAG: wait for it to end by itself (10 s at most); its exit status
pcap_wait() {
	local pid=${PIDS[$1]} i
	for (( i = 0; i < 200; i++ )); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && { kill -9 "$pid"; echo "$1 did not end" >&2; }
	wait "$pid"
}

pcap_stop() {
	sleep 0.5   # the last frames on their way
	kill -INT "${PIDS[$1]}" 2>/dev/null
	pcap_wait "$1"
}

pcap_send() {
	tb_tx python3 "$PKTLIB" send -i "$TX_DEV" -r 20000 "$DIR/traffic.pcap" >/dev/null ||
		tb_fail "sending failed"
}

pcap_file_check() {
	"$DUMP" -P "pcap:$1" > "$1.txt" 2>&1 || { echo "  cannot read $1: $(tail -1 "$1.txt")"; return 1; }
	python3 "$CHECK" same "$1.txt" "$DIR/sent.txt" "$2"
}

# nothing of mqcap left on the device: no XDP program, not promiscuous
pcap_clean() {
	local l
	l=$(tb_rx ip -d link show dev "$RX_DEV")
	grep -q 'promiscuity 0 ' <<<"$l" && ! grep -q 'prog/xdp' <<<"$l"
}
pcap_no_xdp() {
	! tb_rx ip -d link show dev "$RX_DEV" | grep -q 'prog/xdp'
}
