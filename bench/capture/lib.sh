# SPDX-License-Identifier: BSD-2-Clause
# bench/capture/lib.sh - one capture case on the testbed, shared by bench/capture/run and
# bench/eval/run (make eval). Sourced after tests/system/lib/testbed.sh, with SECS, CAP_CPU,
# GEN_CPU, MQCOUNT, MQSEND, LOCKSHARE and TESTBED set.

# READER_CPU: where the capture tools run (default CAP_CPU, beside the NAPI thread); MQ_EXTRA:
# more mqcount options (e.g. --no-reader-first); DUMP_DIR: mqdump-tmpfs writes there;
# SCHED_SAMPLES: a command run with the tool's pid just before and after the send, its output
# in OUT.sched0 and OUT.sched1 (bench/capture/starve: the threads' schedstat).

# Sum of the sender's RSS program counters (frames offered) and the receiver's RX queue counters.
tx_offered() { "$TESTBED" status "$TB_NAME" | awk '$1 ~ /^[0-9]+$/ && NF >= 5 && NF <= 9 {s += $2} END {print s + 0}'; }
rx_arrived() { ip netns exec "$RX_NS" ethtool -S "$RX_DEV" | awk '/rx_queue_[0-9]+_xdp_packets:/ {s += $2} END {print s + 0}'; }
cpu_busy() {  # jiffies of CAP_CPU not idle, and total
	awk -v c="cpu$CAP_CPU" '$1 == c {b = $2 + $3 + $4 + $7 + $8 + $9; print b, b + $5 + $6}' /proc/stat
}
proc_cpu() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# The receiver's threaded-NAPI thread ids (the status table's napi_pid column; the RSS table
# printed below it has numeric columns too, so match the queue rows' shape exactly).
napi_pids() { "$TESTBED" status "$TB_NAME" | awk '$1 ~ /^[0-9]+$/ && NF == 8 && $7 ~ /^[0-9]+$/ {print $7}'; }

bed() {  # bed QUEUES NAPI-CPUS(or "") : a fresh testbed
	[ -n "${TB_NAME:-}" ] && tb_down "$TB_NAME"
	local args=(--queues "$1" --napi threaded)
	[ -n "$2" ] && args+=(--napi-cpus "$2")
	tb_up "$(tb_unique_name runbn)" "${args[@]}"
}

# run_tool KIND RATE OUTPREFIX: start the capture, send, stop; prints
# "offered arrived captured sockdrop core_jiffies tool_jiffies wall_jiffies"
run_tool() {
	local kind="$1" rate="$2" o="$3" pid off0 arr0 off1 arr1 c0 c1 t0 t1 pcpu=0 cap=0 sdrop=0
	local sargs=(-i "$TX_DEV" -m qdisc --paper -d "$SECS" -g "$GEN_CPU" -t "$(tb_cpu_count "$GEN_CPU")" --dst-mac "$RX_MAC")
	[ "$rate" != max ] && sargs+=(-r "$rate")
	# The offered count covers the tool's whole life, as its captured count does: read from
	# just before the tool starts to just after it stopped. (Read around mqsend only, the
	# frames the sender's stack sent while the tool was already capturing, ARP and IPv6
	# neighbour discovery, were captured but not offered: a loss of -0.00%.)
	off0=$(tx_offered); arr0=$(rx_arrived)
	case "$kind" in
	mq-xdp|mq-packet|mq-auto1|mq-2q|mq-placed|mq-placed-nobatch)
		# AF_XDP explicitly: the testbed's receiver has addresses, so mqcap's default would
		# choose AF_PACKET there to leave the host its traffic (see bench/capture/run).
		local b=xdp g=${READER_CPU:-$CAP_CPU} n=1 extra=()
		[ "$kind" = mq-packet ] && b=packet
		[ "$kind" = mq-auto1 ] && g=none
		[ "$kind" = mq-2q ] && { g=none; n=2; }
		[ "$kind" = mq-placed ] && g=auto
		[ "$kind" = mq-placed-nobatch ] && { g=auto; extra=(--batch-us 0); }
		ip netns exec "$RX_NS" "$MQCOUNT" -i "$RX_DEV" -b "$b" -n "$n" -g "$g" --json -l 10s \
			${MQ_EXTRA:-} "${extra[@]}" >"$o.json" 2>"$o.err" &
		pid=$!;;
	tcpdump)
		ip netns exec "$RX_NS" taskset -c "${READER_CPU:-$CAP_CPU}" tcpdump -n -i "$RX_DEV" -w /dev/null \
			>"$o.json" 2>"$o.err" &
		pid=$!;;
	pcap-xdp)  # the same tcpdump through the libpcap interposer, AF_XDP on the queue
		ip netns exec "$RX_NS" taskset -c "${READER_CPU:-$CAP_CPU}" "$MQCAP_BUILD/pcap/mqcap-pcap" \
			tcpdump -n -i "xdp:$RX_DEV@0" -w /dev/null >"$o.json" 2>"$o.err" &
		pid=$!;;
	mqdump-tmpfs)  # pcapng files written into DUMP_DIR (a tmpfs), one per queue
		rm -f "${DUMP_DIR:?}"/*.pcapng
		ip netns exec "$RX_NS" "$MQCAP_BUILD/tools/mqdump/mqdump" -i "$RX_DEV" -b xdp -n 1 \
			-g "${READER_CPU:-$CAP_CPU}" -w "$DUMP_DIR/q%q.pcapng" --force --json -l 1s \
			${MQ_EXTRA:-} >"$o.json" 2>"$o.err" &
		pid=$!;;
	netsniff)
		ip netns exec "$RX_NS" netsniff-ng --in "$RX_DEV" --out /dev/null -s -b "${READER_CPU:-$CAP_CPU}" \
			>"$o.json" 2>"$o.err" &
		pid=$!;;
	lockshare)
		ip netns exec "$RX_NS" "$LOCKSHARE" "xdp:$RX_DEV@0" 2 "$((SECS + 2))" "$CAP_CPU" "${GEN_CPU%%,*}" \
			>"$o.json" 2>"$o.err" &
		pid=$!;;
	sink)  # the bound: an XDP program that counts and drops (mqcap-testbed sink)
		"$TESTBED" sink "$TB_NAME" --json >"$o.json" 2>"$o.err" &
		pid=$!;;
	none)
		pid=;;
	esac
	# wait until the tool is capturing (netsniff-ng takes over a second to set up its ring; on a
	# machine at load 15, one mqcap-pcap tcpdump case captured nothing at all, most likely a
	# start slower than the 5 s this waited then: 15 s now)
	local ready='"type":"interval"|"type":"plan"|"type":"sink_ready"|listening on|Running!' i
	[ "$kind" = lockshare ] || [ "$kind" = none ] || for i in $(seq 150); do
		grep -qE "$ready" "$o.json" "$o.err" 2>/dev/null && break
		sleep 0.1
	done
	sleep 1
	read -r c0 t0 < <(cpu_busy)
	[ -n "$pid" ] && pcpu=$(proc_cpu "$pid")
	[ -n "$pid" ] && [ -n "${SCHED_SAMPLES:-}" ] && "$SCHED_SAMPLES" "$pid" >"$o.sched0"
	ip netns exec "$TX_NS" "$MQSEND" "${sargs[@]}" >"$o.send" 2>&1 || true
	[ -n "$pid" ] && [ -n "${SCHED_SAMPLES:-}" ] && "$SCHED_SAMPLES" "$pid" >"$o.sched1"
	read -r c1 t1 < <(cpu_busy)
	[ -n "$pid" ] && pcpu=$(( $(proc_cpu "$pid") - pcpu ))
	sleep 0.5
	if [ -n "$pid" ]; then
		[ "$kind" = lockshare ] || kill -INT "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	off1=$(tx_offered); arr1=$(rx_arrived)
	case "$kind" in
	mq-*) read -r cap sdrop < <(python3 -c '
import json, sys
s = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
s = [x for x in s if x["type"] == "summary"][-1]["total"]
print(s["received"], s["dropped"])' "$o.json");;
	mqdump-tmpfs) read -r cap sdrop < <(python3 -c '
import json, sys
s = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
q = [x for x in s if x["type"] == "summary"][-1]["queues"]
print(sum(x["written"] for x in q), sum(x["kernel_drops"] + x["write_drops"] for x in q))' "$o.json");;
	tcpdump|pcap-xdp)
		cap=$(awk '/packets captured/ {print $1}' "$o.err")
		sdrop=$(awk '/packets dropped by kernel/ {print $1}' "$o.err");;
	netsniff)
		cap=$(awk '{gsub(/\r/, "")} /packets passed filter/ {print $1; exit}' "$o.json" "$o.err")
		sdrop=$(awk '{gsub(/\r/, "")} /packets failed filter/ {print $1; exit}' "$o.json" "$o.err");;
	sink) cap=$(python3 -c '
import json, sys
print([json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")][-1]["packets"])' "$o.json");;
	lockshare) read -r cap sdrop < <(python3 -c '
import json, sys
s = json.loads(open(sys.argv[1]).readline()); print(s["received"], s["dropped"])' "$o.json");;
	esac
	echo "$((off1 - off0)) $((arr1 - arr0)) ${cap:-0} ${sdrop:-0} $((c1 - c0)) $pcpu $((t1 - t0))"
}

# median of the RUNS lines in a file, column by column, as: offered arrived captured sockdrop ...
median() {
	python3 -c '
import sys, statistics
rows = [list(map(int, l.split())) for l in open(sys.argv[1]) if len(l.split()) == 7]
rows.sort(key=lambda r: r[2])   # the run with the median captured count, kept whole
print(*(rows[len(rows) // 2] if rows else [0] * 7))' "$1"
}

