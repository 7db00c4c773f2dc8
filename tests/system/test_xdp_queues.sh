#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# test_xdp_queues - per-queue exactness of the xdp: backend on a 4-queue RSS testbed.
#   xdp:DEV         every frame, each reported on the queue the RSS emulation predicts,
#                   none twice, none missing, payloads intact, timestamps within the run
#   xdp:DEV@q       exactly the frames RSS sends to q (every q); the other queues' frames
#                   still reach the network stack (a UDP socket counts them)
#   xdp:DEV@0-1     exactly the union of queues 0 and 1
#   xdp:DEV@0 .. @3 one handle per queue, one thread each, in one process: all frames
#   a filter        the frames of the flows it selects; the others counted as filtered
#   busy polling    the same frames with SO_PREFER_BUSY_POLL
set -u
. "$(dirname "$0")/xdp_common.sh"

N=8000          # frames per run: 125 per flow, well within what a ring holds at 40 kpps
xdp_testbed --queues 4
RSS=(-K "$RSS_KEY" -Q "$RSS_TABLE")

# 1. The whole device.
probe_start "$TMPD/all" "${RSS[@]}" -i 1500 "xdp:$RX_DEV" || tb_fail "open: $(cat "$TMPD/all")"
send $N
probe_wait
cat "$TMPD/all"
grep -q '^open .*mode=xdp (copy)' "$TMPD/all" || tb_fail "mode is not 'xdp (copy)' on veth"
expect_eq "frames with an intact payload" "$(kv "$TMPD/all" check payload_ok)" $N
expect_eq "frames on a queue RSS did not pick" "$(kv "$TMPD/all" check mispredicted)" 0
expect_eq "duplicates" "$(kv "$TMPD/all" check dup)" 0
expect_eq "timestamps outside the run" "$(kv "$TMPD/all" check ts_bad)" 0
expect_eq "received counter" "$(sum_kv "$TMPD/all" queue received)" \
	"$(kv "$TMPD/all" check received)"
declare -a E
for q in 0 1 2 3; do
	E[$q]=$(kv "$TMPD/all" "qcheck q=$q " payload_ok)
	[ "${E[$q]}" -gt 0 ] || tb_fail "queue $q received nothing: RSS spread is broken"
done
tb_log "frames per queue: ${E[*]}"

# 2. One queue at a time; the rest go to the stack.
for q in 0 1 2 3; do
	rm -f "$TMPD/udp_ready"
	ip netns exec "$RX_NS" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind(("0.0.0.0", 80)); s.settimeout(2.0); open(sys.argv[1], "w").close(); n = 0
try:
    while True: s.recv(4096); n += 1
except socket.timeout: pass
print(n)' "$TMPD/udp_ready" >"$TMPD/udp" &
	udp_pid=$!
	kill_ours $udp_pid python3
	# the listener first: the probe gives up after 1.5 s without a frame, and python3 can
	# take longer than that to start on a loaded machine
	for _ in $(seq 200); do [ -e "$TMPD/udp_ready" ] && break; sleep 0.05; done
	[ -e "$TMPD/udp_ready" ] || tb_fail "the UDP listener did not start within 10 s"
	probe_start "$TMPD/q$q" "${RSS[@]}" -i 1500 "xdp:$RX_DEV@$q" || tb_fail "open: $(cat "$TMPD/q$q")"
	send $N
	probe_wait
	wait $udp_pid
	expect_eq "xdp:$RX_DEV@$q frames" "$(kv "$TMPD/q$q" check payload_ok)" "${E[$q]}"
	expect_eq "xdp:$RX_DEV@$q mispredicted" "$(kv "$TMPD/q$q" check mispredicted)" 0
	expect_eq "xdp:$RX_DEV@$q duplicates" "$(kv "$TMPD/q$q" check dup)" 0
	expect_eq "frames of the other queues delivered to the stack" "$(cat "$TMPD/udp")" \
		$((N - E[q]))
done

# 3. A set of queues.
probe_start "$TMPD/q01" "${RSS[@]}" -i 1500 "xdp:$RX_DEV@0-1" || tb_fail "open: $(cat "$TMPD/q01")"
send $N
probe_wait
expect_eq "xdp:$RX_DEV@0-1 frames" "$(kv "$TMPD/q01" check payload_ok)" $((E[0] + E[1]))
expect_eq "xdp:$RX_DEV@0-1 mispredicted" "$(kv "$TMPD/q01" check mispredicted)" 0
expect_eq "xdp:$RX_DEV@0-1 duplicates" "$(kv "$TMPD/q01" check dup)" 0

# 4. The runtime's model: one handle per queue, one thread each, one program per device.
probe_start "$TMPD/thr" "${RSS[@]}" -i 1500 \
	"xdp:$RX_DEV@0" "xdp:$RX_DEV@1" "xdp:$RX_DEV@2" "xdp:$RX_DEV@3" ||
	tb_fail "open: $(cat "$TMPD/thr")"
progs=$(ip netns exec "$RX_NS" ip link show "$RX_DEV" | grep -c 'prog/xdp')
expect_eq "XDP programs on $RX_DEV with 4 handles open" "$progs" 1
send $N
probe_wait
expect_eq "4 handles: frames" "$(kv "$TMPD/thr" check payload_ok)" $N
expect_eq "4 handles: mispredicted" "$(kv "$TMPD/thr" check mispredicted)" 0
expect_eq "4 handles: duplicates" "$(kv "$TMPD/thr" check dup)" 0
progs=$(ip netns exec "$RX_NS" ip link show "$RX_DEV" | grep -c 'prog/xdp')
expect_eq "XDP programs on $RX_DEV after the last handle closed" "$progs" 0

# 5. A user-space filter: 2 of the 64 flows.
probe_start "$TMPD/flt" -f "udp and (src port 1000 or src port 1001)" -i 1500 "xdp:$RX_DEV" ||
	tb_fail "open: $(cat "$TMPD/flt")"
send $N
probe_wait
expect_eq "filtered capture: frames" "$(kv "$TMPD/flt" check payload_ok)" $((2 * N / 64))
# Every frame the program saw is either received or filtered (stray frames of the namespace,
# e.g. IPv6 neighbour discovery, may add to both sides).
filtered=$(sum_kv "$TMPD/flt" queue filtered)
expect_eq "filtered capture: seen = received + filtered" "$(sum_kv "$TMPD/flt" queue kernel_seen)" \
	$(( $(sum_kv "$TMPD/flt" queue received) + filtered ))
[ "$filtered" -ge $((N - 2 * N / 64)) ] || tb_fail "only $filtered frames counted as filtered"

# 6. Busy polling (SO_PREFER_BUSY_POLL + budget): the same frames.
probe_start "$TMPD/bp" "${RSS[@]}" -P -i 1500 "xdp:$RX_DEV" || tb_fail "open: $(cat "$TMPD/bp")"
send $N
probe_wait
expect_eq "busy polling: frames" "$(kv "$TMPD/bp" check payload_ok)" $N
expect_eq "busy polling: mispredicted" "$(kv "$TMPD/bp" check mispredicted)" 0
echo "PASS: test_xdp_queues"
