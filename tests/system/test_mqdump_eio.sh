#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# mqdump when the disk fails with EIO mid-capture (issue 14), made by eio_shim.so (LD_PRELOAD,
# test-only: write() or fsync() of the files whose path matches fail with EIO):
#  - write() of queue 2's file fails after 100 kB, on a 4-queue testbed with one file per
#    queue: mqdump stops by itself, exits 1 with a message naming the file and the error; every
#    file, queue 2's included, is complete under its final name and read back to its last
#    packet by tshark, capinfos and libpcap; per queue captured = written + write drops (queue
#    2's drops > 0, the others' 0), and each file holds exactly what the summary says written;
#  - fsync() of the second file of a rotation (-C) fails (pcap:FILE source): exit 1, the
#    message names the file and the error, that file keeps its .part name (its data may not
#    be on the disk) and is still readable, the first file is complete, the counters add up.
set -u
. "$MQCAP_SRC/tests/system/mqdump_lib.sh"
SHIM="$MQCAP_BUILD/tests/system/eio_shim.so"
[ -f "$SHIM" ] || tb_fail "eio_shim.so not built"
# A sanitized mqdump needs its runtime first among the preloaded objects.
asan=$(ldd "$MQDUMP" | awk '/libasan/ {print $3}')
PRELOAD="${asan:+$asan }$SHIM"

# row OUT NAME: "captured written write_drops" of the summary's row NAME ("- - -" if none)
row() { awk -v n="$2" '$1 == n && $2 ~ /^[0-9]+$/ {r = $2 " " $3 " " $4} END {print r ? r : "- - -"}' "$1"; }
num() { for x; do [[ "$x" =~ ^[0-9]+$ ]] || return 1; done; }

# ---- write() fails with EIO on queue 2's file, mid-capture ----
tb_up "$(tb_unique_name mqe)" --queues 4
python3 - "$dir/traffic.pcap" <<PY || tb_fail "cannot write the traffic pcap"
import sys
sys.path.insert(0, "$MQCAP_SRC/tests/system/lib")
import pktlib as p
p.write_pcap(sys.argv[1], p.flow_frames(1600, 256, "udp", size=700))
PY
"$DUMP" -P "pcap:$dir/traffic.pcap" > "$dir/sent.txt" || tb_fail "reading traffic.pcap"
tb_log "per predicted queue: $(grep -o 'rssq=[0-9]*' "$dir/sent.txt" | sort | uniq -c | tr '\n' ' ')"
mkdir "$dir/w"
ip netns exec "$RX_NS" env LD_PRELOAD="$PRELOAD" EIO_SHIM_MATCH="$dir/w/q2.pcapng.part" \
	EIO_SHIM_AFTER=100000 "$MQDUMP" -i "packet:$RX_DEV" -w "$dir/w/q%q.pcapng" --buffer 16k \
	--flush-ms 50 -l 10s > "$dir/w.out" 2> "$dir/w.err" &
pid=$!
tb_on_exit "kill $pid 2>/dev/null"
for _ in $(seq 100); do grep -q '^capturing from' "$dir/w.out" && break; sleep 0.05; done
grep -q '^capturing from' "$dir/w.out" || tb_fail "mqdump did not start: $(cat "$dir/w.err")"
tb_tx python3 "$PKTLIB" send -i "$TX_DEV" -r 3000 "$dir/traffic.pcap" >/dev/null || tb_fail "sending failed"
# mqdump must stop by itself on the error
for _ in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
if kill -0 $pid 2>/dev/null; then
	nok "write EIO: mqdump still runs 10 s after the traffic; stopping it"
	kill -INT $pid
fi
wait $pid; rc=$?
msg=$(grep -m1 'Input/output error' "$dir/w.err")
[ $rc -eq 1 ] && grep -q "writing $dir/w/q2.pcapng.part: Input/output error" <<<"$msg" \
	&& ok "write EIO: exit 1, '$msg'" || nok "write EIO: rc $rc, stderr: $(cat "$dir/w.err")"
left=$(ls "$dir/w" | tr '\n' ' ')
[ "$left" = "q0.pcapng q1.pcapng q2.pcapng q3.pcapng " ] && ok "write EIO: every file complete under its final name: $left" \
	|| nok "write EIO: files $left"
readable "$dir"/w/q*.pcapng && ok "write EIO: tshark, capinfos and libpcap read every file to its last packet" \
	|| nok "write EIO: a file is not readable"
for q in 0 1 2 3; do
	read -r c w d < <(row "$dir/w.out" "$RX_DEV@$q")
	n=$(python3 "$CHECK" count "$dir/w/q$q.pcapng" 2>/dev/null)
	if [ "$q" = 2 ]; then want="$d -gt 0"; else want="$d -eq 0"; fi
	num "$c" "$w" "$d" && [ "$c" -eq $((w + d)) ] && [ $want ] && [ "${n:-x}" = "$w" ] \
		&& ok "write EIO: queue $q: captured $c = written $w + write drops $d; the file holds $n" \
		|| nok "write EIO: queue $q: captured '$c' written '$w' drops '$d', file '$n'"
done
grep -q 'write drops [1-9][0-9]*, for every queue' "$dir/w.out" && ok "write EIO: the summary says it adds up" \
	|| nok "write EIO: summary: $(grep '^captured' "$dir/w.out")"

# ---- fsync() of the second file of a rotation fails ----
python3 - "$dir/in.pcap" <<PY || tb_fail "cannot write the input pcap"
import sys
sys.path.insert(0, "$MQCAP_SRC/tests/system/lib")
import pktlib as p
p.write_pcap(sys.argv[1], p.flow_frames(3000, 300, "udp", size=200))
PY
mkdir "$dir/f"
LD_PRELOAD="$PRELOAD" EIO_SHIM_CALL=fsync EIO_SHIM_MATCH=s_00001 \
	"$MQDUMP" -q -i "pcap:$dir/in.pcap" -w "$dir/f/s.pcapng" -C 300k > "$dir/f.out" 2> "$dir/f.err"; rc=$?
msg=$(grep -m1 'Input/output error' "$dir/f.err")
[ $rc -eq 1 ] && grep -q "fsync $dir/f/s_00001.pcapng.part: Input/output error" <<<"$msg" \
	&& ok "fsync EIO: exit 1, '$msg'" || nok "fsync EIO: rc $rc, stderr: $(cat "$dir/f.err")"
[ -f "$dir/f/s_00000.pcapng" ] && [ -f "$dir/f/s_00001.pcapng.part" ] && [ ! -e "$dir/f/s_00001.pcapng" ] \
	&& ok "fsync EIO: the first file complete, the second kept as .part: $(ls "$dir/f" | tr '\n' ' ')" \
	|| nok "fsync EIO: files $(ls "$dir/f" | tr '\n' ' ')"
readable "$dir"/f/* && ok "fsync EIO: every file (.part too) readable to its last packet" || nok "fsync EIO: unreadable"
read -r c w d < <(row "$dir/f.out" total)
n=$(python3 "$CHECK" count "$dir"/f/* 2>/dev/null)
num "$c" "$w" "$d" && [ "$c" -eq $((w + d)) ] && [ "${n:-x}" = "$w" ] \
	&& ok "fsync EIO: captured $c = written $w + write drops $d; the files hold $n" \
	|| nok "fsync EIO: captured '$c' written '$w' drops '$d', files '$n'"

mqd_done
