#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# softflowd, a NetFlow/IPFIX exporter, with nfdump's nfcapd as its collector (Debian's packages,
# unmodified), one instance per RX queue through mqcap-pcap, on both backends, two queues
# daemonized (softflowd's default) and two in the foreground (-d): prog_common.sh says what a
# round does and checks. Each instance exports IPFIX to its own nfcapd on the receiver's
# loopback. Flow timeouts are short (tcp and general 2 s, checked every second), so softflowd
# expires and exports flows during the idle periods: a program that stops running its timers on
# an idle queue shows. At the end softflowctl must answer `expire-all` and `shutdown` within 5 s
# each; nfcapd ends on SIGTERM and nfdump reads the flows back: packets summed per queue, records
# counted (a flow the timeouts split in two counts twice: at least the flows sent).
# The reference is softflowd on the whole device through plain libpcap. It is not exact here:
# softflowd opens with no timeout (pcap_open_live's 0), and libpcap counts all 16384 frames
# received but hands over only 15516: its last TPACKET_V3 block, partly filled, never comes out
# (plain libpcap's matter, not mqcap's). So the queues are compared with what was sent only.
set -u
PROG=softflowd
. "$MQCAP_SRC/tests/system/prog_common.sh"
tb_need softflowd softflowctl nfcapd nfdump
prog_testbed
NEXT_PORT=9990

prog_start_one() {
	local tag=$1 backend=$2 dev=$3 mode=$4 port=$((NEXT_PORT++)) sf
	mkdir -p "$DIR/$tag.flows"
	# -B: the reference exports 4096 flows at once; a default socket buffer would drop some
	prog_launch "$tag.nf" libpcap "$DIR/$tag.nf.pid" nfcapd -D -b 127.0.0.1 -p "$port" \
		-B 4194304 -w "$DIR/$tag.flows" -P "$DIR/$tag.nf.pid" || return 1
	sf=(softflowd -i "$dev" -n "127.0.0.1:$port" -v 10 -c "$DIR/$tag.ctl" -p "$DIR/$tag.pid"
	    -t tcp=2 -t general=2 -t expint=1 tcp dst port 80)
	if [ "$mode" = fg ]; then
		prog_launch "$tag" "$backend" - "${sf[0]}" -d "${sf[@]:1}"
	else
		prog_launch "$tag" "$backend" "$DIR/$tag.pid" "${sf[@]}"
	fi || return 1
	prog_wait_for 10 test -S "$DIR/$tag.ctl" || { echo "  $tag: no control socket"; return 1; }
}

sf_ctl() { timeout 5 softflowctl -c "$DIR/$1.ctl" "$2" >> "$DIR/$1.ctl.out" 2>&1; }

prog_stop_one() {
	local tag=$1 ok=0
	sf_ctl "$tag" statistics &&
		echo "  $tag: $(grep -E '^(Packets processed|Packets received by libpcap|Packets dropped by libpcap)' \
			"$DIR/$tag.ctl.out" | tr '\n' ' ')"
	if ! sf_ctl "$tag" expire-all; then
		echo "  $tag: softflowctl expire-all: no answer within 5 s"; ok=1
	elif ! sf_ctl "$tag" shutdown || ! prog_wait_for 10 eval "! kill -0 ${PIDS[$tag]}"; then
		echo "  $tag: softflowctl shutdown: it did not end"; ok=1
	fi
	prog_alive "$tag" || wait "${PIDS[$tag]}" 2>/dev/null   # reap a foreground one
	sleep 0.5   # the last export datagrams on their way
	prog_end "$tag.nf" TERM || ok=1
	return $ok
}

prog_count_one() {
	nfdump -R "$DIR/$1.flows" -q -N -o 'fmt:%pkt' | awk '/^ *[0-9]+ *$/ {p += $1; n++} END {print p + 0, n + 0}'
}

prog_round packet ref
prog_round xdp
prog_finish
