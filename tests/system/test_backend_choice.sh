#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The library says which backend it chose and why (issue 18): mqcap_backend_reason() and
# mqcap_stack_warning() through capture_dump, on the receiving device of a testbed as it is
# reconfigured (all through rtnetlink, as a user would with ip):
#   its addresses (the testbed's) -> auto: AF_PACKET, naming them; xdp: AF_XDP with a warning
#     naming them; packet: "as asked", no warning
#   no address at all, and only the kernel's own IPv6 link-local -> auto: AF_XDP, dedicated
#   a link-local address set by hand, a route, a nexthop, a bridge master, a macvlan with an
#     address stacked on it -> auto: AF_PACKET naming that; xdp: a warning naming the
#     addresses that stop receiving (the bridge's, the macvlan's)
set -u
. "${MQCAP_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/system/lib/testbed.sh"
tb_require_root
DUMP="$MQCAP_BUILD/tests/system/capture_dump"
[ -x "$DUMP" ] || tb_fail "capture_dump not built"

dir=$(tb_tmpdir)
tb_up "$(tb_unique_name bchoi)" --queues 2
D="$RX_DEV"
fails=0

# expect TAG NAME BACKEND-PREFIX REASON-REGEX WARNING-REGEX|-: open NAME, check the three lines
expect() {
	local tag="$1" name="$2" be="$3" reason="$4" warn="$5" out
	out=$(tb_rx "$DUMP" -q -W 100 "$name" 2>&1)
	tb_log "$tag: $(grep -E '^(reason|stack-warning|error)' <<<"$out" | tr '\n' '|')"
	if ! grep -qE "^backend $be" <<<"$out"; then
		echo "not ok - $tag: backend is not $be: $out"; fails=$((fails + 1)); return
	fi
	if ! grep -qE "^reason $reason" <<<"$out"; then
		echo "not ok - $tag: reason does not match '$reason'"; fails=$((fails + 1)); return
	fi
	if [ "$warn" = - ]; then
		grep -qx 'stack-warning -' <<<"$out" || { echo "not ok - $tag: unexpected warning"; fails=$((fails + 1)); return; }
	elif ! grep -qE "^stack-warning .*$warn" <<<"$out"; then
		echo "not ok - $tag: warning does not match '$warn'"; fails=$((fails + 1)); return
	fi
	echo "ok - $tag"
}

busy="carries the host's traffic"
expect "addresses, auto" "$D" packet "auto chose AF_PACKET: $D $busy \\(address $RX_IP/24, address $RX_IP6/64\\)" -
expect "addresses, xdp:" "xdp:$D@1" xdp "AF_XDP, as asked, although $D $busy" "addresses $RX_IP/24, $RX_IP6/64 stop receiving"
expect "addresses, packet:" "packet:$D" packet "AF_PACKET, as asked" -

tb_rx ip addr flush dev "$D"
expect "no address, auto" "$D" xdp "auto chose AF_XDP: $D is a dedicated capture port" -
expect "no address, xdp:" "xdp:$D" xdp "AF_XDP, as asked; $D is a dedicated capture port" -

# Down and up again: the kernel adds its own link-local address (IFA_PROTO kernel_ll).
tb_rx ip link set "$D" down
tb_rx ip link set "$D" up
for _ in $(seq 50); do tb_rx ip -6 addr show dev "$D" scope link 2>/dev/null | grep -q fe80 && break; sleep 0.1; done
if tb_rx ip -6 addr show dev "$D" scope link 2>/dev/null | grep -q fe80; then
	expect "kernel link-local only, auto" "$D" xdp "auto chose AF_XDP: $D is a dedicated capture port" -
elif [ "$(tb_rx sysctl -n "net.ipv6.conf.$D.disable_ipv6" 2>/dev/null || echo 1)" != 0 ]; then
	tb_skip_part "kernel link-local only: IPv6 is off here"
else
	echo "not ok - kernel link-local only: no IPv6 link-local address appeared in 5 s"
	fails=$((fails + 1))
fi
tb_rx ip addr flush dev "$D"

tb_rx ip addr add fe80::18/64 dev "$D"
expect "link-local set by hand, auto" "$D" packet "auto chose AF_PACKET: $D $busy \\(address fe80::18/64\\)" -
tb_rx ip addr flush dev "$D"

tb_rx ip route add 198.51.100.0/24 dev "$D"
expect "route, auto" "$D" packet "auto chose AF_PACKET: $D $busy \\(route 198.51.100.0/24\\)" -
expect "route, xdp:" "xdp:$D" xdp "AF_XDP, as asked, although $D $busy \\(route" "network stack, which uses them"
tb_rx ip route flush dev "$D"

if tb_rx ip nexthop add id 18 dev "$D" 2>/dev/null; then
	expect "nexthop, auto" "$D" packet "auto chose AF_PACKET: $D $busy \\(nexthop 18\\)" -
	tb_rx ip nexthop del id 18
else
	tb_skip_part "nexthop: this kernel has no nexthop objects"
fi

tb_rx ip link add mqbr18 type bridge
tb_rx ip link set "$D" master mqbr18
tb_rx ip addr add 198.18.5.1/24 dev mqbr18
expect "bridge port, auto" "$D" packet "auto chose AF_PACKET: $D $busy \\(port of mqbr18 \\(bridge\\)\\)" -
expect "bridge port, xdp:" "xdp:$D" xdp "AF_XDP, as asked" "addresses 198.18.5.1/24 stop receiving"
tb_rx ip link set "$D" nomaster
tb_rx ip link del mqbr18

if tb_rx ip link add link "$D" name mqmv18 type macvlan 2>/dev/null; then
	tb_rx ip link set mqmv18 addrgenmode none
	tb_rx ip link set mqmv18 up
	expect "macvlan without address, auto" "$D" xdp "auto chose AF_XDP" -
	tb_rx ip addr add 198.18.6.1/24 dev mqmv18
	expect "macvlan with address, auto" "$D" packet "auto chose AF_PACKET: $D $busy \\(mqmv18 \\(macvlan\\) stacked on it\\)" -
	expect "macvlan with address, xdp:" "xdp:$D" xdp "AF_XDP, as asked" "addresses 198.18.6.1/24 stop receiving"
	tb_rx ip link del mqmv18
else
	tb_skip_part "macvlan: this kernel has no macvlan"
fi

# Many addresses: the lines are cut short with "...", whole addresses only.
for i in $(seq 1 40); do tb_rx ip addr add "198.18.7.$i/32" dev "$D"; done
expect "40 addresses, auto" "$D" packet "auto chose AF_PACKET: $D $busy \\(address 198.18.7.1/32, .*198.18.7.[0-9]+/32, \\.\\.\\.\\)" -
expect "40 addresses, xdp:" "xdp:$D" xdp "AF_XDP, as asked" "addresses 198.18.7.1/32, .*198.18.7.[0-9]+/32, \\.\\.\\. stop receiving"
tb_rx ip addr flush dev "$D"

# Several devices: auto decides for the handle; one busy device makes it AF_PACKET.
expect "lo and a dedicated port, auto" "lo,$D" packet "auto chose AF_PACKET: lo $busy \\(lo: address 127.0.0.1/8" -

[ "$fails" -eq 0 ] || tb_fail "$fails check(s) failed"
tb_pass
