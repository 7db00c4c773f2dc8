#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tshark (Debian's package, unmodified), one instance per RX queue through mqcap-pcap, each
# writing its queue's frames to a file (-w, capture filter -f): prog_common.sh says what a
# round does and checks. tshark has no daemon mode: all four run in the foreground, together,
# and end on SIGINT; the frames in each file are counted, with their flows. The reference is
# tshark on the whole device through plain libpcap.
# packet: only. tshark captures through its dumpcap child, and dumpcap keeps only CAP_NET_RAW
# and CAP_NET_ADMIN before it opens a device, even as root: AF_XDP needs CAP_BPF as well, and
# xdp: is refused with the reason (test_pcap_tshark checks that).
set -u
PROG=tshark PROG_DAEMON=no
. "$MQCAP_SRC/tests/system/prog_common.sh"
tb_need tshark
prog_testbed

prog_start_one() {
	prog_launch "$1" "$2" - tshark -i "$3" -n -q -f 'tcp dst port 80' -w "$DIR/$1.pcapng"
}

prog_ready_one() {
	prog_wait_for 30 grep -q 'Capturing on' "$DIR/$1.err" || { echo "  $1: $(tail -c 300 "$DIR/$1.err")"; return 1; }
}

prog_signal_one() { kill -INT "${PIDS[$1]}"; }

prog_stop_one() {
	prog_end "$1" - || return 1
	echo "  $1: $(grep -E 'packets? (captured|received|dropped)' "$DIR/$1.err" | tr '\n' ' ')"
}

prog_count_one() { prog_count_frames "$DIR/$1.pcapng"; }

prog_round packet ref
prog_finish
