# SPDX-License-Identifier: BSD-2-Clause
# prog_common.sh - what the tests with real programs (test_prog_*.sh, issue 23) share: Debian's
# packages of libpcap programs run one instance per RX queue of a 4-queue testbed through
# mqcap-pcap, the deployment the paper promises. A round, on one backend:
#   - one instance on each virtual device RX@0 ... RX@3 (MQCAP_PCAP_BACKEND=packet or xdp, and a
#     plain name, so that names fit IFNAMSIZ for programs that ask the kernel about them); where
#     the program has a daemon mode of its own, two queues run daemonized and two in the
#     foreground, the other way round on the other backend;
#   - with the packet: round, the same program without mqcap on the whole device (plain
#     libpcap): the reference;
#   - mqsend's paper workload (64-byte TCP, 4096 flows to port 80) in BURSTS bursts of ROUNDS
#     packets per flow, each followed by IDLE seconds in which no queue receives anything;
#   - then each instance must still be running, end or export as the program's own tools say,
#     and count, per queue, exactly the packets RSS sent there and at least its flows; the
#     queues add up to what was sent, and to the reference where the reference is exact.
# A test defines these functions and calls prog_round (the optional ones let the instances
# start and end side by side: one after the other took a minute for five tsharks here):
#   prog_start_one TAG BACKEND DEV MODE   start one instance (MODE fg or daemon; BACKEND packet,
#                                         xdp, or libpcap for the reference); 0 once it runs
#   prog_ready_one TAG                    (optional) 0 once it captures
#   prog_signal_one TAG                   (optional) ask it to end
#   prog_stop_one TAG                     make it export and end; 0 when it did, in time
#   prog_count_one TAG                    print "PACKETS FLOWS" from its output
# Helpers for them:
#   prog_launch TAG BACKEND PIDFILE CMD...  CMD in the receiver namespace through mqcap-pcap (not
#                                         for libpcap); PIDFILE - keeps it in the foreground (a
#                                         child of this shell), else CMD daemonizes and writes it
#                                         (a pattern that matches one file, without spaces)
#   prog_end TAG [SIGNAL]                 signal it (INT; - for none), wait for it to end (10 s)
#   prog_wait_for SECS CMD...             poll CMD until it succeeds
#   prog_count_frames FILE                "PACKETS FLOWS" of the workload in a pcap/pcapng file
. "$MQCAP_SRC/tests/system/pcap_common.sh"
tb_tool MQSEND mqsend

BURSTS=${BURSTS:-2}
ROUNDS=${ROUNDS:-2}          # packets per flow in each burst
IDLE=${IDLE:-4}              # seconds without traffic after each burst
RATE=${RATE:-10k}
PROG_DAEMON=${PROG_DAEMON:-yes}   # the program has a daemon mode of its own
declare -a PRED FLOWS
declare -A SUMS
REF_PACKETS=

prog_testbed() {
	local n=$((BURSTS * ROUNDS)) q
	tb_up "$(tb_unique_name prg)" --queues 4
	read -r -a PRED < <(python3 "$MQCAP_SRC/tests/system/test_mqsend_check.py" paper-rss \
		"$RSS_KEY" "$RSS_TABLE" "$QUEUES" "$n") || tb_fail "RSS prediction failed"
	for q in 0 1 2 3; do FLOWS[q]=$((PRED[q] / n)); done
	tb_log "testbed $RX_NS/$RX_DEV; sent per queue: ${PRED[*]} packets, ${FLOWS[*]} flows" \
		"($BURSTS bursts of $ROUNDS packets per flow, ${IDLE} s idle after each)"
}

# prog_mode BACKEND Q: fg or daemon
prog_mode() {
	local b=0
	[ "$1" = xdp ] && b=1
	if [ "$PROG_DAEMON" = yes ] && [ $((($2 + b) % 2)) -eq 1 ]; then echo daemon; else echo fg; fi
}

prog_wait_for() {
	local n=$(($1 * 20)) i
	shift
	for (( i = 0; i < n; i++ )); do "$@" 2>/dev/null && return 0; sleep 0.05; done
	return 1
}

prog_alive() { kill -0 "${PIDS[$1]}" 2>/dev/null; }

prog_launch() {
	local tag=$1 backend=$2 pidfile=$3 pre=() rc
	shift 3
	[ "$backend" = libpcap ] || pre=(env "MQCAP_PCAP_BACKEND=$backend" "$WRAP")
	: > "$DIR/$tag.err"
	if [ "$pidfile" = - ]; then
		# a simple command, so that $! is the program itself (env and the wrapper exec it)
		ip netns exec "$RX_NS" "${pre[@]}" "$@" > "$DIR/$tag.out" 2> "$DIR/$tag.err" &
		PIDS[$tag]=$!
	else
		rm -f $pidfile   # (unquoted: it may be a pattern)
		ip netns exec "$RX_NS" "${pre[@]}" "$@" > "$DIR/$tag.out" 2> "$DIR/$tag.err"
		rc=$?
		[ $rc -eq 0 ] || { echo "  $tag: exited $rc before daemonizing: $(tail -c 300 "$DIR/$tag.err")"; return 1; }
		prog_wait_for 10 eval "test -s $pidfile" ||
			{ echo "  $tag: no pid file $pidfile: $(tail -c 300 "$DIR/$tag.err")"; return 1; }
		PIDS[$tag]=$(cat $pidfile | tr -dc 0-9)
	fi
	# killed at exit only while it is still the program this test started (no reused PID)
	tb_on_exit "grep -qa '$1' /proc/${PIDS[$tag]}/cmdline && kill -9 ${PIDS[$tag]}"
	sleep 0.3
	prog_alive "$tag" || { echo "  $tag: ended at once: $(tail -c 300 "$DIR/$tag.err")"; return 1; }
}

prog_end() {
	local pid=${PIDS[$1]}
	[ "${2:-INT}" = - ] || kill "-${2:-INT}" "$pid" 2>/dev/null
	prog_wait_for 10 eval "! kill -0 $pid" || { echo "  $1 did not end (10 s)"; return 1; }
	wait "$pid" 2>/dev/null   # a foreground instance: reap it
	return 0
}

prog_traffic() {
	local b
	for (( b = 0; b < BURSTS; b++ )); do
		tb_tx "$MQSEND" -i "$TX_DEV" -m qdisc --paper -c $((4096 * ROUNDS)) -r "$RATE" \
			--dst-mac "$RX_MAC" > "$DIR/send.$b" 2>&1 || tb_fail "mqsend: $(cat "$DIR/send.$b")"
		sleep "$IDLE"
	done
}

# prog_count_frames FILE: "PACKETS FLOWS" of the workload's frames in a pcap or pcapng FILE
prog_count_frames() {
	tcpdump -r "$1" -nn 'tcp dst port 80' 2>/dev/null |
		awk '{n++; f[$3 " " $5] = 1} END {print n + 0, length(f)}'
}

# prog_round BACKEND [ref]: one round (above); "ref" adds the whole-device reference
prog_round() {
	local backend=$1 ref=${2:-} q tag mode tags=() p f sum=0 sent=0 t0=$SECONDS t1 t2
	declare -A MODE
	for q in 0 1 2 3; do
		tag=$backend.q$q
		MODE[$tag]=$(prog_mode "$backend" $q)
		if prog_start_one "$tag" "$backend" "$RX_DEV@$q" "${MODE[$tag]}"; then
			tags+=("$tag")
		else
			check "$PROG on $backend:$RX_DEV@$q (${MODE[$tag]}) starts" false
		fi
	done
	if [ -n "$ref" ]; then
		mode=fg; [ "$PROG_DAEMON" = yes ] && mode=daemon
		MODE[ref]=$mode
		if prog_start_one ref libpcap "$RX_DEV" "$mode"; then tags+=(ref); else
			check "$PROG (libpcap) on $RX_DEV starts" false; fi
	fi
	if declare -F prog_ready_one > /dev/null; then
		for tag in "${tags[@]}"; do
			check "$PROG $tag (${MODE[$tag]}) captures" prog_ready_one "$tag"
		done
	fi
	t1=$SECONDS
	prog_traffic
	t2=$SECONDS
	for tag in "${tags[@]}"; do
		check "$PROG $tag (${MODE[$tag]}) still runs after the idle periods" prog_alive "$tag"
	done
	if declare -F prog_signal_one > /dev/null; then
		for tag in "${tags[@]}"; do prog_alive "$tag" && prog_signal_one "$tag"; done
	fi
	for tag in "${tags[@]}"; do   # (one that ended early has been reported)
		prog_alive "$tag" && check "$PROG $tag (${MODE[$tag]}) exports and ends when told" prog_stop_one "$tag"
	done
	for q in 0 1 2 3; do
		sent=$((sent + PRED[q]))
		tag=$backend.q$q
		read -r p f < <(prog_count_one "$tag") || { p=0; f=0; }
		sum=$((sum + ${p:-0}))
		check "$PROG $backend:$RX_DEV@$q (${MODE[$tag]}): $p packets (sent ${PRED[q]}), $f flows (sent ${FLOWS[q]})" \
			eval "[ '${p:-0}' -eq ${PRED[q]} ] && [ '${f:-0}' -ge ${FLOWS[q]} ]"
	done
	tb_log "$backend round: started in $((t1 - t0)) s, traffic and idle periods $((t2 - t1)) s," \
		"stopped and counted in $((SECONDS - t2)) s"
	check "$PROG $backend: the 4 queues' instances add up to what was sent ($sum of $sent)" [ $sum -eq $sent ]
	SUMS[$backend]=$sum
	for tag in "${tags[@]}"; do   # what did not end stays out of the next round
		prog_alive "$tag" && kill -9 "${PIDS[$tag]}"
	done
	[ -n "$ref" ] || return 0
	read -r p f < <(prog_count_one ref) || { p=0; f=0; }
	REF_PACKETS=${p:-0}
	if [ "$REF_PACKETS" -eq $sent ]; then
		echo "# $PROG on the whole device (libpcap): exact, $REF_PACKETS packets, $f flows"
	else
		echo "# $PROG on the whole device (libpcap) is not exact here: $REF_PACKETS packets of $sent;" \
			"the queues are compared with what was sent only"
	fi
}

# prog_finish: each round's sum against the reference where it is exact; nothing left attached;
# the verdict
prog_finish() {
	local b sent=$((PRED[0] + PRED[1] + PRED[2] + PRED[3]))
	if [ "${REF_PACKETS:-0}" -eq $sent ]; then
		for b in "${!SUMS[@]}"; do
			check "$PROG $b: the 4 queues add up to the whole-device instance (${SUMS[$b]} = $REF_PACKETS)" \
				[ "${SUMS[$b]}" -eq "$REF_PACKETS" ]
		done
	fi
	# (the kernel lets go of a killed process's sockets and link a moment after it is gone)
	check "nothing of mqcap left on $RX_DEV (no XDP program, not promiscuous)" prog_wait_for 5 pcap_clean ||
		tb_rx ip -d link show dev "$RX_DEV" | grep -E 'promiscuity|prog/xdp' | sed 's/^/  /'
	check "no process of this test left running" eval "! pgrep -f '$DIR/' > /dev/null"
	[ $fails -eq 0 ] || tb_fail "$fails checks failed"
	echo "PASS"
}
