#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# test_mqsend_rate.sh - a rate below capacity is held within 1% over 3 seconds, measured by
# the receiver (its rx_packets counter, sampled by one process 3 s apart), for -r (packets/s)
# and -b (bits/s), and on the AF_XDP path.
set -u
: "${MQCAP_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$MQCAP_SRC/tests/system/lib/testbed.sh"
tb_require_root
tb_tool MQSEND mqsend

tb_up "$(tb_unique_name send)" --queues 2
sleep 2
fails=0

# NAME WANT_PPS MQSEND_ARGS...
rate() {
	local name=$1 want=$2 pid got
	shift 2
	tb_tx "$MQSEND" -i "$TX_DEV" --dst-mac "$RX_MAC" -d 6 -q "$@" >/dev/null &
	pid=$!
	tb_on_exit "kill $pid"
	sleep 1.5
	got=$(tb_rx python3 -c '
import sys, time
p = "/sys/class/net/%s/statistics/rx_packets" % sys.argv[1]
def rd():
    with open(p) as f:
        return int(f.read()), time.monotonic()
c0, t0 = rd(); time.sleep(3.0); c1, t1 = rd()
print("%.1f" % ((c1 - c0) / (t1 - t0)))' "$RX_DEV")
	wait $pid || tb_fail "$name: mqsend failed"
	if python3 -c "import sys; sys.exit(0 if abs($got - $want) <= 0.01 * $want else 1)"; then
		echo "ok: $name: $got pps over 3 s (asked $want)"
	else
		echo "FAIL: $name: $got pps over 3 s, asked $want (more than 1% off)"
		fails=$((fails + 1))
	fi
}

rate "-r 50k, 64-byte paper workload" 50000 --paper -r 50k
rate "-r 20k, 4 flows, 2 threads" 20000 -P udp --dst 198.18.1.1-198.18.1.4 -r 20k -t 2 -g 0-1
# 500-byte frames at 40 Mbit/s = 10000 frames/s.
rate "-b 40M, 500-byte frames" 10000 -P udp -s 500 -b 40M
rate "-r 30k over AF_XDP" 30000 -m xdp --paper -r 30k

[ $fails -eq 0 ] || tb_fail "$fails checks failed"
echo "PASS"
