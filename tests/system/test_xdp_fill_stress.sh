#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# test_xdp_fill_stress - a small UMEM (64 frames per queue) under many bursts, every payload
# checked (issue 11, item 1). With so few frames, the reader often gives back frames while
# the kernel has published their RX descriptors but not yet released their fill-ring slots
# (src/xsk_fill_int.h): the fill ring looks full. A refill that wrote anyway handed frames
# to the kernel twice or lost them: duplicated packets, packets overwritten in the frame
# another packet still occupied (bad payloads), a queue that starves. Here every frame must
# arrive intact and once, and the counters must add up: what reached each queue's program =
# received + drops, and what mqsend got out = delivered + drops.
set -u
. "$(dirname "$0")/xdp_common.sh"

xdp_testbed --queues 2
for ns in "$TX_NS" "$RX_NS"; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
done
tx_sent() { ip netns exec "$TX_NS" cat /sys/class/net/"$TX_DEV"/statistics/tx_packets; }

# Runs until told to stop (a loaded machine may take seconds to start each mqsend).
probe_start "$TMPD/f" -F 64 -K "$RSS_KEY" -Q "$RSS_TABLE" -T 0 -i 0 "xdp:$RX_DEV" ||
	tb_fail "open: $(cat "$TMPD/f")"
tx_before=$(tx_sent)
# 20 bursts of 5000 frames at up to 1 Mpps, with pauses that let the queues
# drain to empty (the refill then restarts from a fill ring the kernel may still hold).
# Each burst has its own sender id: its frames are new flows, not repeats of the last burst's.
for b in $(seq 20); do
	send 5000 -r 1M --sender-id "$b"
	sleep 0.05
done
sleep 1
kill -TERM "$PROBE_PID"
probe_wait
tx_after=$(tx_sent)
cat "$TMPD/f"

drops=0
for k in drop_ring_full drop_fill_empty drop_no_socket drop_invalid passed_stack; do
	drops=$((drops + $(sum_kv "$TMPD/f" queue $k)))
done
for q in 0 1; do
	line=$(grep "^queue .* q=$q " "$TMPD/f")
	get() { tr ' ' '\n' <<<"$line" | sed -n "s/^$1=//p"; }
	expect_eq "queue $q: kernel_seen = received + filtered + drops + passed" "$(get kernel_seen)" \
		$(( $(get received) + $(get filtered) + $(get drop_ring_full) + $(get drop_fill_empty) +
		    $(get drop_no_socket) + $(get drop_invalid) + $(get passed_stack) ))
	[ "$(get received)" -gt 0 ] || tb_fail "queue $q received nothing"
done
delivered=$(kv "$TMPD/f" check payload_ok)
expect_eq "frames the sender put on the link = delivered + drops" $((tx_after - tx_before)) \
	$((delivered + drops))
expect_eq "duplicates" "$(kv "$TMPD/f" check dup)" 0
expect_eq "payloads broken" "$(kv "$TMPD/f" check payload_bad)" 0
expect_eq "frames that were not mqsend's" "$(kv "$TMPD/f" check other)" 0
expect_eq "mispredicted queues" "$(kv "$TMPD/f" check mispredicted)" 0
[ "$delivered" -ge 10000 ] || tb_fail "only $delivered of 100000 frames delivered: the queues starved"
tb_log "delivered $delivered of 100000 with a 64-frame UMEM per queue, $drops dropped (counted)"
echo "PASS: test_xdp_fill_stress"
