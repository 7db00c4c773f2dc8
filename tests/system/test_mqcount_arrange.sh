#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The reader/poller arrangement (src/arrange_int.h), through mqcount: a worker pinned on its
# queue's NAPI thread's CPU runs SCHED_FIFO at priority 1 above it ("reader-first"), so the
# NAPI thread cannot starve it into fill-ring drops; a worker on another CPU, and one told
# --no-reader-first, stay SCHED_OTHER ("wake-up"). Each says which in its arrangement line
# (text and --json), and the policy is read back from the running thread (ps). Traffic flows
# in each case and every frame sent is counted. The same for a library user, tcpdump through
# mqcap-pcap pinned with taskset.
set -euo pipefail
. "$(dirname "$0")/lib/testbed.sh"
tb_require_root
tb_tool MQCOUNT mqcount
tb_tool MQSEND mqsend
[ "$(nproc)" -ge 2 ] || tb_skip "needs 2 CPUs to put the reader beside its NAPI thread and apart"
tb_up "$(tb_unique_name arrng)" --queues 1 --napi threaded --napi-cpus 1

# case CPU WANT_KIND WANT_NOT_SCHED_OTHER [mqcount options...]: the threads that are not
# SCHED_OTHER as "CLASS:RTPRIO@CPU" ("" for none)
case_() {
	local cpu=$1 kind=$2 policy=$3 o pid i cls got
	shift 3
	o=$(mktemp "/tmp/mqcap-test.$$.XXXXXX")
	ip netns exec "$RX_NS" "$MQCOUNT" -i "xdp:$RX_DEV" -g "$cpu" --json -d 4 "$@" >"$o" 2>"$o.err" &
	pid=$!
	tb_on_exit "kill $pid"
	for i in $(seq 50); do grep -q '"type":"arrangement"' "$o" && break; sleep 0.1; done
	grep -q '"type":"arrangement"' "$o" || tb_fail "-g $cpu $*: no arrangement line: $(cat "$o" "$o.err")"
	# every thread's class (TS, FF) and real-time priority, and its CPU, as the kernel has them:
	# the worker is the only one that may be FF
	cls=$(ps -L -o cls=,rtprio=,psr= -p "$pid" | awk '$1 != "TS" {print $1 ":" $2 "@" $3}')
	ip netns exec "$TX_NS" "$MQSEND" -i "$TX_DEV" -m qdisc -c 2000 -r 20k --dst-mac "$RX_MAC" >/dev/null
	wait "$pid" || tb_fail "-g $cpu $*: mqcount failed: $(cat "$o.err")"
	got=$(python3 -c '
import json, sys
L = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
a = [x for x in L if x["type"] == "arrangement"][0]["workers"]
s = [x for x in L if x["type"] == "summary"][-1]["total"]
print(a[0]["arrangement"], s["received"], "|", a[0]["detail"])' "$o")
	tb_log "-g $cpu $*: $got; threads not SCHED_OTHER: ${cls:-none}"
	[ "${got%% *}" = "$kind" ] || tb_fail "-g $cpu $*: arrangement ${got%% *}, want $kind"
	read -r _ n _ <<<"$got"
	[ "$n" -ge 2000 ] || tb_fail "-g $cpu $*: counted $n of 2000 frames"
	[ "$cls" = "$policy" ] || tb_fail "-g $cpu $*: threads not SCHED_OTHER: '$cls', want '$policy'"
	rm -f "$o" "$o.err"
}

case_ 1 reader-first "FF:1@1"
case_ 1 wake-up "" --no-reader-first
case_ 0 wake-up ""
# the text output says it too
text=$(tb_rx "$MQCOUNT" -i "xdp:$RX_DEV" -g 1 -d 1 2>&1)
grep -q "^arrangement: worker 0: reader-first: beside its poller on CPU 1, SCHED_FIFO 1 above it" <<<"$text" ||
	tb_fail "no arrangement line in the text output: $text"

# A library user gets the same from mqcap_open()/mqcap_recv_burst() (mqcap_arrangement()):
# tcpdump through mqcap-pcap, pinned with taskset beside the NAPI thread, runs SCHED_FIFO 1
# although it drops root before it reads (Debian's tcpdump runs as user tcpdump); on the
# other CPU it stays SCHED_OTHER. Every frame sent is captured either way.
WRAP="$MQCAP_BUILD/pcap/mqcap-pcap"
[ -x "$WRAP" ] || tb_fail "mqcap-pcap not built at $WRAP"
tb_need tcpdump
for cpu in 1 0; do
	o=$(mktemp "/tmp/mqcap-test.$$.XXXXXX")
	ip netns exec "$RX_NS" taskset -c "$cpu" "$WRAP" tcpdump -n -i "xdp:$RX_DEV@0" -w /dev/null 2>"$o" &
	pid=$!
	tb_on_exit "kill $pid"
	for i in $(seq 100); do grep -q "listening on" "$o" && break; sleep 0.1; done
	sleep 0.5
	ip netns exec "$TX_NS" "$MQSEND" -i "$TX_DEV" -m qdisc -c 2000 -r 20k --dst-mac "$RX_MAC" >/dev/null
	sleep 0.5
	cls=$(ps -L -o cls=,rtprio=,psr= -p "$pid" | awk '$1 != "TS" {print $1 ":" $2 "@" $3}')
	kill -INT "$pid"
	wait "$pid" || true
	n=$(awk '/packets captured/ {print $1}' "$o")
	tb_log "tcpdump via mqcap-pcap on CPU $cpu: threads not SCHED_OTHER: ${cls:-none}; captured $n"
	want=""; [ "$cpu" = 1 ] && want="FF:1@1"
	[ "$cls" = "$want" ] || tb_fail "tcpdump on CPU $cpu: threads not SCHED_OTHER '$cls', want '$want'"
	[ "${n:-0}" -ge 2000 ] || tb_fail "tcpdump on CPU $cpu captured ${n:-0} of 2000: $(cat "$o")"
	rm -f "$o"
done
echo "PASS"
