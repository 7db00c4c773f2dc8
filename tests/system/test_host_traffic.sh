#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Capturing must not cut the host off its network unless the user asks for it (issue 18).
# On a 4-queue testbed whose receiving device has addresses (198.18.0.2, fd00:198::2), with a
# TCP connection open across it and pings running while mqcount captures every queue:
#  - default backend: mqcount picks AF_PACKET and says why (the device carries the host's
#    traffic), prints no warning; every IPv4 and IPv6 ping is answered, the open connection
#    echoes every line, a new connection opens, and the capture counts each echo request;
#  - --exclusive: AF_XDP; mqcount warns naming both addresses; no ping is answered, the open
#    connection echoes nothing, no new connection opens, the capture still counts each echo
#    request and the summary says none was passed to the network stack;
#  - --exclusive on one queue (RX_DEV@q): only the flows RSS puts on q are cut off: on another
#    queue than the pings' every ping is answered, on theirs none.
#  - the same through the libpcap wrapper: unmodified tcpdump on RX_DEV@q via mqcap-pcap
#    captures each echo request and every ping is answered; on xdp:RX_DEV@q none is, and
#    tcpdump prints the library's warning naming the address.
set -u
. "${MQCAP_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/system/lib/testbed.sh"
tb_require_root
tb_tool MQCOUNT mqcount
tb_need python3 ping

TCPECHO="$MQCAP_SRC/tests/system/lib/tcpecho.py"
PORT=7777
NPING=5
dir=$(tb_tmpdir)
tb_up "$(tb_unique_name hostt)" --queues 4
tb_log "testbed $TB_NAME: $RX_NS/$RX_DEV has $RX_IP and $RX_IP6"

tb_rx python3 "$TCPECHO" server "$RX_IP" "$PORT" > "$dir/server.out" 2>&1 &
server=$!
tb_on_exit "kill $server"
for _ in $(seq 100); do grep -q listening "$dir/server.out" 2>/dev/null && break; sleep 0.05; done
grep -q listening "$dir/server.out" || tb_fail "echo server did not start: $(cat "$dir/server.out")"

fails=0
not_grep() { ! grep -q "$@"; }
check() { # check DESCRIPTION COMMAND...
	if "${@:2}"; then echo "ok - $1"; else echo "not ok - $1"; fails=$((fails + 1)); fi
}

# run_case TAG NAME MQCOUNT-OPTIONS...: the connection, the capture of NAME, pings, the summary.
run_case() {
	local tag="$1" name="$2" pid client i; shift 2
	rm -f "$dir/go"
	tb_tx python3 "$TCPECHO" client "$RX_IP" "$PORT" "$dir/go" 5 > "$dir/$tag.tcp" 2>&1 &
	client=$!
	for i in $(seq 100); do grep -q connect "$dir/$tag.tcp" 2>/dev/null && break; sleep 0.05; done
	grep -q '^connected' "$dir/$tag.tcp" || tb_fail "$tag: no TCP connection before capturing: $(cat "$dir/$tag.tcp")"

	# a simple command: ip execs mqcount, so $! is mqcount itself
	ip netns exec "$RX_NS" "$MQCOUNT" -i "$name" --json -l 200ms -d 60 "$@" icmp \
		> "$dir/$tag.json" 2> "$dir/$tag.err" &
	pid=$!
	tb_on_exit "grep -qa mqcount /proc/$pid/cmdline && kill -9 $pid"
	for i in $(seq 200); do
		grep -q '"type":"interval"' "$dir/$tag.json" 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	grep -q '"type":"interval"' "$dir/$tag.json" ||
		tb_fail "$tag: mqcount did not start: $(cat "$dir/$tag.err")"

	touch "$dir/go"
	tb_tx ping -n -c "$NPING" -i 0.2 -W 1 "$RX_IP" > "$dir/$tag.ping" 2>&1
	tb_tx ping -n -6 -c "$NPING" -i 0.2 -W 1 "$RX_IP6" > "$dir/$tag.ping6" 2>&1
	wait "$client"
	kill -INT "$pid"
	wait "$pid" || tb_fail "$tag: mqcount failed: $(cat "$dir/$tag.err")"
	tb_log "$tag: $(grep -h 'packets transmitted' "$dir/$tag.ping" "$dir/$tag.ping6" | tr '\n' ';') $(tr '\n' ';' < "$dir/$tag.tcp")"
	tb_log "$tag: stderr: $(cat "$dir/$tag.err")"
}

# field TAG EXPR: a value from the summary line, by a Python expression over it (s)
field() {
	python3 - "$dir/$1.json" "$2" <<'EOF'
import json, sys
s = [json.loads(l) for l in open(sys.argv[1]) if '"summary"' in l][-1]
v = eval(sys.argv[2])
print('null' if v is None else v)
EOF
}
answered() { sed -n 's/.* \([0-9]*\) received.*/\1/p' "$1"; }

run_case default "$RX_DEV"
tb_log "default: $(field default 's["backend_reason"]')"
check "default: AF_PACKET" [ "$(field default 's["backend"]')" = packet ]
check "default: the reason says the device carries the host's traffic" \
	grep -q "carries the host's traffic (address $RX_IP/24" <(field default 's["backend_reason"]')
check "default: no stack warning in the summary" [ "$(field default 's["stack_warning"]')" = null ]
check "default: no warning printed" bash -c "! grep -q warning '$dir/default.err'"
check "default: every IPv4 ping answered" [ "$(answered "$dir/default.ping")" = "$NPING" ]
check "default: every IPv6 ping answered" [ "$(answered "$dir/default.ping6")" = "$NPING" ]
check "default: the open TCP connection echoed every line" grep -q '^echoed 5 of 5' "$dir/default.tcp"
check "default: a new TCP connection opened" grep -q '^reconnect ok' "$dir/default.tcp"
check "default: the capture counted each echo request" \
	[ "$(field default 's["total"]["received"]')" = "$NPING" ]

run_case exclusive "$RX_DEV" --exclusive
check "exclusive: AF_XDP" grep -q '^xdp' <(field exclusive 's["backend"]')
check "exclusive: the warning names $RX_IP" grep -q "warning: .*$RX_IP/24" "$dir/exclusive.err"
check "exclusive: the warning names $RX_IP6" grep -q "warning: .*$RX_IP6/64" "$dir/exclusive.err"
check "exclusive: the summary keeps the warning" grep -q "$RX_IP/24" <(field exclusive 's["stack_warning"]')
check "exclusive: no IPv4 ping answered" [ "$(answered "$dir/exclusive.ping")" = 0 ]
check "exclusive: no IPv6 ping answered" [ "$(answered "$dir/exclusive.ping6")" = 0 ]
check "exclusive: the open TCP connection echoed nothing" grep -q '^echoed 0 of 5' "$dir/exclusive.tcp"
check "exclusive: no new TCP connection" grep -q '^reconnect failed' "$dir/exclusive.tcp"
check "exclusive: the capture counted each echo request" \
	[ "$(field exclusive 's["total"]["received"]')" = "$NPING" ]
check "exclusive: nothing passed to the network stack" \
	[ "$(field exclusive 's["total"]["passed_stack"]')" = 0 ]

# One queue: RSS puts every echo request (one 2-tuple) on one queue, the one that counted them.
icmpq=$(field default '[q["queue"] for q in s["queues"] if q["received"] > 0][0].split("@")[1]')
otherq=$(( (icmpq + 1) % QUEUES ))
tb_log "the echo requests arrive on queue $icmpq"
run_case other "$RX_DEV@$otherq" --exclusive
check "exclusive on queue $otherq: the warning is printed" grep -q "warning: .*$RX_IP/24" "$dir/other.err"
check "exclusive on queue $otherq: every IPv4 ping answered" [ "$(answered "$dir/other.ping")" = "$NPING" ]
check "exclusive on queue $otherq: no echo request captured" [ "$(field other 's["total"]["received"]')" = 0 ]
run_case pingq "$RX_DEV@$icmpq" --exclusive
check "exclusive on queue $icmpq: no IPv4 ping answered" [ "$(answered "$dir/pingq.ping")" = 0 ]
check "exclusive on queue $icmpq: the capture counted each echo request" \
	[ "$(field pingq 's["total"]["received"]')" = "$NPING" ]

# The libpcap wrapper follows the same default: unmodified tcpdump on RX_DEV@q (the queue of the
# echo requests) through mqcap-pcap captures them and the host keeps answering; asking for
# xdp: takes them away, and tcpdump prints the library's warning.
WRAP="$MQCAP_BUILD/pcap/mqcap-pcap"
[ -x "$WRAP" ] || tb_fail "mqcap-pcap not built at $WRAP"
pcap_case() { # pcap_case TAG NAME: tcpdump through mqcap-pcap on NAME while pings run
	local tag=$1 name=$2 pid
	ip netns exec "$RX_NS" "$WRAP" tcpdump -n -i "$name" -w "$dir/$tag.pcap" icmp \
		> "$dir/$tag.out" 2> "$dir/$tag.err" &
	pid=$!
	tb_on_exit "grep -qa tcpdump /proc/$pid/cmdline && kill -9 $pid"
	for _ in $(seq 100); do grep -q 'listening on' "$dir/$tag.err" && break; sleep 0.05; done
	grep -q 'listening on' "$dir/$tag.err" || tb_fail "$tag: tcpdump did not start: $(cat "$dir/$tag.err")"
	tb_tx ping -n -c "$NPING" -i 0.2 -W 1 "$RX_IP" > "$dir/$tag.ping" 2>&1
	sleep 0.5
	kill -INT "$pid"
	wait "$pid" || tb_fail "$tag: tcpdump exited $?: $(cat "$dir/$tag.err")"
	tb_log "$tag: $(grep 'packets transmitted' "$dir/$tag.ping"); tcpdump: $(grep -h 'captured\|warning' "$dir/$tag.err" | tr '\n' ';')"
}
captured() { sed -n 's/^\([0-9]*\) packets\{0,1\} captured.*/\1/p' "$1"; }
pcap_case wrap "$RX_DEV@$icmpq"
check "mqcap-pcap tcpdump -i $RX_DEV@$icmpq: every IPv4 ping answered" [ "$(answered "$dir/wrap.ping")" = "$NPING" ]
check "mqcap-pcap tcpdump -i $RX_DEV@$icmpq: captured each echo request" \
	[ "$(captured "$dir/wrap.err")" = "$NPING" ]
check "mqcap-pcap tcpdump -i $RX_DEV@$icmpq: no warning" not_grep warning "$dir/wrap.err"
pcap_case wrapx "xdp:$RX_DEV@$icmpq"
check "mqcap-pcap tcpdump -i xdp:$RX_DEV@$icmpq: no IPv4 ping answered" [ "$(answered "$dir/wrapx.ping")" = 0 ]
check "mqcap-pcap tcpdump -i xdp:$RX_DEV@$icmpq: the warning names the address" \
	grep -q "$RX_IP/24" "$dir/wrapx.err"
check "mqcap-pcap tcpdump -i xdp:$RX_DEV@$icmpq: captured each echo request" \
	[ "$(captured "$dir/wrapx.err")" = "$NPING" ]

# After the capture the host has its traffic back.
tb_tx ping -n -c 2 -i 0.2 -W 1 "$RX_IP" > "$dir/after.ping" 2>&1
check "after: pings answered again" [ "$(answered "$dir/after.ping")" = 2 ]

[ "$fails" -eq 0 ] || tb_fail "$fails check(s) failed"
echo "PASS"
