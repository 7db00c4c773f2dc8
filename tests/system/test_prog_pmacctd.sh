#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# pmacctd, pmacct's flow accounting daemon (Debian's package, unmodified), one instance per RX
# queue through mqcap-pcap, on both backends, two queues daemonized (daemonize: true) and two in
# the foreground: prog_common.sh says what a round does and checks. Each instance aggregates by
# 5-tuple into its print plugin (CSV, no refresh during the run); on SIGINT the core process
# ends and the plugin writes its cache: one row per flow, with its packets. Aggregates never
# expire, so the rows are exactly the flows sent. (Its memory plugin is not used: a query of a
# few thousand rows is cut short when the client reads slower than the plugin writes.)
# The reference is pmacctd on the whole device through plain libpcap.
set -u
PROG=pmacctd
. "$MQCAP_SRC/tests/system/prog_common.sh"
tb_need pmacctd
prog_testbed

prog_start_one() {
	local tag=$1 backend=$2 dev=$3 mode=$4 daemonize=false pidfile=-
	[ "$mode" = daemon ] && { daemonize=true; pidfile=$DIR/$tag.pid; }
	cat > "$DIR/$tag.conf" <<-EOF
	daemonize: $daemonize
	pcap_interface: $dev
	pcap_filter: tcp dst port 80
	aggregate: src_host, dst_host, src_port, dst_port, proto
	plugins: print
	print_output: csv
	print_output_file: $DIR/$tag.csv
	print_refresh_time: 3600
	pidfile: $DIR/$tag.pid
	logfile: $DIR/$tag.log
	EOF
	prog_launch "$tag" "$backend" "$pidfile" pmacctd -f "$DIR/$tag.conf" ||
		{ echo "  $tag: its log says: $(tail -1 "$DIR/$tag.log")"; return 1; }
	# the plugin's pid file: it runs, and the core process has opened the device
	prog_wait_for 10 test -s "$DIR/$tag.pid-print-default_print" ||
		{ echo "  $tag: its print plugin did not start: $(tail -3 "$DIR/$tag.log")"; return 1; }
}

prog_signal_one() { kill -INT "${PIDS[$1]}"; }

prog_stop_one() {
	local plugin
	plugin=$(tr -dc 0-9 < "$DIR/$1.pid-print-default_print")
	prog_end "$1" - || return 1
	prog_wait_for 10 eval "! kill -0 $plugin" || { echo "  $1: the print plugin did not end"; return 1; }
}

# (and, on stderr, the first flows whose packets are not the BURSTS * ROUNDS sent)
# pmacctd itself now and then writes one packet too many into one flow at exit: 8 runs of 43
# showed one flow with want + 1, 6 of them in the reference on plain libpcap, with no mqcap
# loaded (mqcount --verify on the same traffic: 0 duplicates in 56 captures; the frames the
# shim handed over, decoded, held no repeat). Likely its core-to-plugin ring replaying its
# last slot at exit. One such flow per instance counts as sent, and is said; any other
# difference counts as it is.
prog_count_one() {
	awk -F, -v want=$((BURSTS * ROUNDS)) -v tag="$1" '
		NR > 1 && $6 == want + 1 && !extra++ {
			print "  " tag ": pmacctd counted one packet too many in " $0 \
				" (its own known overcount)" > "/dev/stderr"
			p += want; n++; next
		}
		NR > 1 {p += $6; n++; if ($6 != want && odd++ < 5) print "  " tag ": " $0 > "/dev/stderr"}
		END {print p + 0, n + 0}' "$DIR/$1.csv"
}

prog_round packet ref
prog_round xdp
prog_finish
