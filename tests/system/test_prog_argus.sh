#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# argus, a flow monitor (Debian's argus-server, unmodified; its records read with argus-client's
# ra), one instance per RX queue through mqcap-pcap, on both backends, two queues daemonized
# (-d) and two in the foreground: prog_common.sh says what a round does and checks. argus looks
# its device up by name (ioctl SIOCGIFFLAGS and others on "DEV@q") and ends, silently, when the
# kernel does not know it. Its configuration is reset (-X: Debian's /etc/argus.conf would add
# an output file) and given a flow status interval of 2 s, so that it writes records during
# the idle periods; every record carries the packets since the last one, so ra's records add
# up to the packets, and their distinct 5-tuples are the flows. SIGTERM ends it; it writes what
# it holds first. The reference is argus on the whole device through plain libpcap.
set -u
PROG=argus
. "$MQCAP_SRC/tests/system/prog_common.sh"
tb_need argus ra
prog_testbed

prog_start_one() {
	local tag=$1 backend=$2 dev=$3 mode=$4 args
	mkdir -p "$DIR/$tag.run"
	printf '%s\n' ARGUS_SET_PID=yes "ARGUS_PID_PATH=$DIR/$tag.run" ARGUS_FLOW_STATUS_INTERVAL=2 \
		> "$DIR/$tag.conf"
	# -P 0: no remote access port (every instance would want 561)
	args=(-X -F "$DIR/$tag.conf" -i "$dev" -w "$DIR/$tag.argus" -P 0 tcp and dst port 80)
	if [ "$mode" = daemon ]; then
		# its pid file is named after the device: the only file in its own folder
		prog_launch "$tag" "$backend" "$DIR/$tag.run/*.pid" argus -d "${args[@]}"
	else
		prog_launch "$tag" "$backend" - argus "${args[@]}"
	fi
}

prog_signal_one() { kill -TERM "${PIDS[$1]}"; }
prog_stop_one() { prog_end "$1" -; }

prog_count_one() {
	ra -r "$DIR/$1.argus" -n -c , -s saddr daddr sport dport pkts - tcp |
		awk -F, '$5 ~ /^[0-9]+$/ {p += $5; f[$1 " " $2 " " $3 " " $4] = 1}
			END {print p + 0, length(f)}'
}

prog_round packet ref
prog_round xdp
prog_finish
