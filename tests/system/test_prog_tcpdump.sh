#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tcpdump (Debian's package, unmodified), one instance per RX queue through mqcap-pcap, on both
# backends, each writing its queue's frames to a file (-w) with a filter in the kernel or the
# shim: prog_common.sh says what a round does and checks. tcpdump has no daemon mode: all four
# run in the foreground, together (on xdp: four processes on one device at once), and end on
# SIGINT; the frames in each file are counted, with their flows. The reference is tcpdump on
# the whole device through plain libpcap.
set -u
PROG=tcpdump PROG_DAEMON=no
. "$MQCAP_SRC/tests/system/prog_common.sh"
tb_need tcpdump
prog_testbed

prog_start_one() {
	prog_launch "$1" "$2" - tcpdump -i "$3" -n -w "$DIR/$1.pcap" tcp dst port 80
}

prog_ready_one() {
	prog_wait_for 10 grep -q 'listening on' "$DIR/$1.err" || { echo "  $1: $(tail -c 300 "$DIR/$1.err")"; return 1; }
}

prog_signal_one() { kill -INT "${PIDS[$1]}"; }

prog_stop_one() {
	prog_end "$1" - || return 1
	echo "  $1: $(grep -E 'packets? (captured|received|dropped)' "$DIR/$1.err" | tr '\n' ' ')"
}

prog_count_one() { prog_count_frames "$DIR/$1.pcap"; }

prog_round packet ref
prog_round xdp
prog_finish
