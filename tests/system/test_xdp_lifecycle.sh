#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# test_xdp_lifecycle - who may capture what over AF_XDP, and what is left behind.
#   - a second process asking for a bound queue gets a clear "busy" error naming the queue
#     and the process that holds it, and the first capture keeps receiving every frame;
#     a queue nobody captures opens in that second process (test_xdp_multiproc.sh counts);
#   - two handles of one process on the same queue: the second gets "busy";
#   - a capture killed with SIGKILL leaves no XDP program (the BPF link dies with it), and
#     the next capture opens normally; nor a promiscuous device;
#   - zero-copy required on veth: a clear EOPNOTSUPP; a device without native XDP: xdp:
#     says so, and the default backend falls back to AF_PACKET;
#   - another XDP program already attached: busy, naming it;
#   - an MTU too large for XDP: EOPNOTSUPP saying so, and the default backend uses AF_PACKET.
set -u
. "$(dirname "$0")/xdp_common.sh"

xdp_testbed --queues 4
prog_count() { ip netns exec "$RX_NS" ip link show "$1" | grep -c 'prog/xdp'; }

# 1. A second process on a bound queue: busy; on a free queue of the same device: opens.
probe_start "$TMPD/a" -T 5000 -i 0 "xdp:$RX_DEV@1" || tb_fail "open: $(cat "$TMPD/a")"
a_pid=$PROBE_PID
before=$(tb_rx_queue_packets)
ip netns exec "$RX_NS" "$PROBE" -T 100 "xdp:$RX_DEV@1" >"$TMPD/b1" 2>&1
rc=$?
cat "$TMPD/b1"
expect_eq "second process on queue 1: exit status" $rc 1
expect_eq "second process on queue 1: errno" "$(kv "$TMPD/b1" error errno)" EBUSY
grep -q "$RX_DEV@1 is busy: pid $a_pid (xdp_probe)" "$TMPD/b1" ||
	tb_fail "the busy message does not name queue 1 and pid $a_pid"
ip netns exec "$RX_NS" "$PROBE" -T 100 "xdp:$RX_DEV@2" >"$TMPD/b2" 2>&1
rc=$?
cat "$TMPD/b2"
expect_eq "second process on queue 2: exit status" $rc 0
grep -q "^open .*mode=xdp" "$TMPD/b2" || tb_fail "queue 2 did not open over AF_XDP"
expect_eq "XDP programs with two processes on the device" "$(prog_count "$RX_DEV")" 1
send 4000
probe_wait
after=$(tb_rx_queue_packets)
cat "$TMPD/a"
sent_q1=$(( $(echo "$after" | cut -d' ' -f2) - $(echo "$before" | cut -d' ' -f2) ))
[ "$sent_q1" -gt 0 ] || tb_fail "no frames reached queue 1"
expect_eq "first capture: frames received (all that reached queue 1)" \
	"$(kv "$TMPD/a" "queue " received)" $sent_q1
expect_eq "first capture: kernel_seen" "$(kv "$TMPD/a" "queue " kernel_seen)" $sent_q1
expect_eq "XDP programs after the capture ended" "$(prog_count "$RX_DEV")" 0

# 2. Two handles of one process on one queue.
ip netns exec "$RX_NS" "$PROBE" -T 100 "xdp:$RX_DEV@1" "xdp:$RX_DEV@1" >"$TMPD/c" 2>&1
rc=$?
cat "$TMPD/c"
expect_eq "same queue twice in one process: exit status" $rc 1
expect_eq "same queue twice in one process: errno" "$(kv "$TMPD/c" error errno)" EBUSY
grep -q "queue 1 is busy" "$TMPD/c" || tb_fail "no 'queue 1 is busy' in the message"
expect_eq "XDP programs after the failed open" "$(prog_count "$RX_DEV")" 0

# 3. SIGKILL leaves nothing attached.
probe_start "$TMPD/k" -T 30000 -i 0 "xdp:$RX_DEV" || tb_fail "open: $(cat "$TMPD/k")"
expect_eq "XDP programs while capturing" "$(prog_count "$RX_DEV")" 1
kill -9 "$PROBE_PID"
wait "$PROBE_PID" 2>/dev/null
gone=0
for _ in $(seq 40); do
	[ "$(prog_count "$RX_DEV")" = 0 ] && { gone=1; break; }
	sleep 0.05
done
expect_eq "XDP program gone after SIGKILL" $gone 1
links=$(bpftool -j link show 2>/dev/null | grep -o '"type":"xdp"' | wc -l)
tb_log "XDP links left on the machine: $links"
probe_start "$TMPD/k2" -i 1000 "xdp:$RX_DEV@0-3" || tb_fail "open after SIGKILL: $(cat "$TMPD/k2")"
send 1000
probe_wait
expect_eq "capture after the SIGKILL: frames" "$(kv "$TMPD/k2" check payload_ok)" 1000

# 3b. Promiscuous mode lasts as long as the capture, SIGKILL included.
# (the kernel's promiscuity count: packet-socket memberships do not show as PROMISC flag)
promisc() { ip netns exec "$RX_NS" ip -d link show "$RX_DEV" | grep -o 'promiscuity [0-9]*' | cut -d' ' -f2; }
expect_eq "promiscuity before" "$(promisc)" 0
probe_start "$TMPD/p" -p -T 30000 -i 0 "xdp:$RX_DEV@0" || tb_fail "open: $(cat "$TMPD/p")"
[ "$(promisc)" -gt 0 ] || tb_fail "the device is not promiscuous while capturing"
tb_log "ok: promiscuity while capturing = $(promisc)"
kill -9 "$PROBE_PID"
wait "$PROBE_PID" 2>/dev/null
sleep 0.2
expect_eq "promiscuity after SIGKILL" "$(promisc)" 0

# 4. Zero-copy required on veth.
ip netns exec "$RX_NS" "$PROBE" -z -T 100 "xdp:$RX_DEV@0" >"$TMPD/z" 2>&1
cat "$TMPD/z"
expect_eq "zero-copy on veth: errno" "$(kv "$TMPD/z" error errno)" EOPNOTSUPP
grep -q "zero-copy" "$TMPD/z" || tb_fail "the message does not mention zero-copy"

# 5. A device without native XDP (a bridge).
br=xdpbr$$
ip netns exec "$RX_NS" ip link add "$br" type bridge || tb_skip "cannot create a bridge"
ip netns exec "$RX_NS" ip link set "$br" up
ip netns exec "$RX_NS" "$PROBE" -T 100 "xdp:$br" >"$TMPD/br" 2>&1
cat "$TMPD/br"
expect_eq "xdp: on a bridge: errno" "$(kv "$TMPD/br" error errno)" EOPNOTSUPP
grep -q "no native XDP" "$TMPD/br" || tb_fail "the message does not say native XDP is missing"
ip netns exec "$RX_NS" "$PROBE" -T 100 "$br" >"$TMPD/br2" 2>&1
cat "$TMPD/br2"
grep -q "^open .*mode=packet" "$TMPD/br2" || tb_fail "the default backend did not fall back to packet"
grep -q "^reason auto chose AF_PACKET: .*native XDP does not work there" "$TMPD/br2" ||
	tb_fail "the reason does not say native XDP failed"

# 6. Someone else's XDP program (attached without a link, the old way).
obj="$MQCAP_BUILD/bpf/xdp_redirect.bpf.o"
if ip netns exec "$RX_NS" ip link set dev "$RX_DEV" xdpdrv obj "$obj" sec xdp 2>"$TMPD/ip.err"; then
	ip netns exec "$RX_NS" "$PROBE" -T 100 "xdp:$RX_DEV@0" >"$TMPD/o" 2>&1
	cat "$TMPD/o"
	ip netns exec "$RX_NS" ip link set dev "$RX_DEV" xdpdrv off
	expect_eq "foreign XDP program: errno" "$(kv "$TMPD/o" error errno)" EBUSY
	grep -q "without a link" "$TMPD/o" || tb_fail "the message does not explain the program"
else
	tb_log "skipped the foreign-program case: ip could not attach one ($(cat "$TMPD/ip.err"))"
fi

# 7. A device that cannot run XDP as configured (MTU 9000 on veth): xdp: says why, and the
# default backend falls back to AF_PACKET. The default tries AF_XDP only on a dedicated
# capture port: the device's addresses go for that part (issue 18).
ip netns exec "$RX_NS" ip link set "$RX_DEV" mtu 9000
ip netns exec "$TX_NS" ip link set "$TX_DEV" mtu 9000   # veth checks its peer's MTU
ip netns exec "$RX_NS" "$PROBE" -T 100 "xdp:$RX_DEV" >"$TMPD/mtu" 2>&1
ip netns exec "$RX_NS" ip addr flush dev "$RX_DEV"
ip netns exec "$RX_NS" "$PROBE" -T 100 "$RX_DEV" >"$TMPD/mtu2" 2>&1
ip netns exec "$RX_NS" ip link set "$RX_DEV" mtu 1500
ip netns exec "$TX_NS" ip link set "$TX_DEV" mtu 1500
cat "$TMPD/mtu" "$TMPD/mtu2"
expect_eq "xdp: with MTU 9000: errno" "$(kv "$TMPD/mtu" error errno)" EOPNOTSUPP
grep -q "MTU" "$TMPD/mtu" || tb_fail "the message does not mention the MTU"
grep -q "^open .*mode=packet" "$TMPD/mtu2" || tb_fail "the default backend did not fall back to packet"
grep -q "^reason auto chose AF_PACKET: $RX_DEV is a dedicated capture port .*native XDP does not work there.*MTU" \
	"$TMPD/mtu2" || tb_fail "the reason does not say why AF_XDP was not used"
expect_eq "XDP programs left" "$(prog_count "$RX_DEV")" 0
echo "PASS: test_xdp_lifecycle"
