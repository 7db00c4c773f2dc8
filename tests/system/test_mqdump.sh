#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# mqdump on a 4-queue testbed with emulated RSS (issue 14):
#  - per-queue files (packet:) hold exactly the frames RSS maps to their queue, bytes identical
#    (VLAN and QinQ tags included), in the order sent; a merged pcapng holds every frame with
#    the right epb_queue; a merged classic pcap (nanosecond magic) holds every frame;
#  - while capturing only NAME.part files exist; after SIGINT only final names, and the
#    summary proves captured = written + write drops;
#  - tshark, capinfos and libpcap (capture_dump's pcap: backend) read every file back;
#  - -G 1 (xdp:, per queue): files cut at whole wall-clock seconds: every packet of a file
#    lies in the second its name says, and the files together hold every frame;
#  - SIGKILL mid-run with --file-packets: finished files and the file left as .part are
#    readable by libpcap and tshark, and together hold every frame that was flushed.
set -u
. "$MQCAP_SRC/tests/system/mqdump_lib.sh"

tb_up "$(tb_unique_name mqd)" --queues 4
tb_log "testbed $RX_NS/$RX_DEV, $QUEUES queues"

python3 - "$dir/traffic.pcap" <<PY || tb_fail "cannot write the traffic pcap"
import sys
sys.path.insert(0, "$MQCAP_SRC/tests/system/lib")
import pktlib as p
fr = (p.flow_frames(800, 256, "udp") + p.flow_frames(300, 64, "tcp", v6=True)
      + p.flow_frames(200, 32, "udp", vlan=(10,)) + p.flow_frames(100, 16, "tcp", vlan=(100, 20))
      + p.flow_frames(100, 50, "udp", size=700) + p.mixed_frames())
p.write_pcap(sys.argv[1], fr)
PY
"$DUMP" -P "pcap:$dir/traffic.pcap" > "$dir/sent.txt" || tb_fail "reading traffic.pcap"
tb_log "$(grep -c '^pkt' "$dir/sent.txt") frames; per predicted queue: $(grep -o 'rssq=[0-9]*' "$dir/sent.txt" | sort | uniq -c | tr '\n' ' ')"

send() { tb_tx python3 "$PKTLIB" send -i "$TX_DEV" -r "$1" "$dir/traffic.pcap" >/dev/null || tb_fail "sending failed"; }
balanced() { grep -q 'write drops 0, for every queue' "$1" && grep -q '^captured' "$1"; }

# ---- run 1: per-queue, merged pcapng, merged pcap at once (AF_PACKET allows several) ----
mkdir -p "$dir/pq" "$dir/m" "$dir/c"
start pq -i "packet:$RX_DEV" -w "$dir/pq/%d@%q.pcapng"
start m -i "packet:$RX_DEV" -w "$dir/m/all.pcapng"
start c -i "packet:$RX_DEV" -F pcap -w "$dir/c/all.pcap"
parts=$(cd "$dir" && ls pq m c | grep -c '\.part$'); finals=$(cd "$dir" && ls pq m c | grep -vc -e '\.part$' -e ':$' -e '^$')
[ "$parts" -eq 6 ] && [ "$finals" -eq 0 ] && ok "while capturing: 6 .part files, no final names" \
	|| nok "while capturing: $parts .part files, $finals final names"
send 20000
sleep 1.5
stop_all || nok "an mqdump exited non-zero: $(cat "$dir"/*.err)"
for t in pq m c; do check "$t: summary adds up" balanced "$dir/$t.out"; done
left=$(ls "$dir/pq" "$dir/m" "$dir/c" | grep -c '\.part$')
[ "$left" -eq 0 ] && ok "after SIGINT no .part file is left" || nok "$left .part files left"
for q in 0 1 2 3; do
	f="$dir/pq/$RX_DEV@$q.pcapng"
	check "queue $q file: exactly the frames RSS maps to queue $q, bytes and order" \
		python3 "$CHECK" frames "$dir/sent.txt" "$q" "$f"
done
check "merged pcapng: every frame once, epb_queue = predicted queue" \
	python3 "$CHECK" frames "$dir/sent.txt" all "$dir/m/all.pcapng"
check "merged classic pcap (nanosecond): every frame once" \
	python3 "$CHECK" frames "$dir/sent.txt" all "$dir/c/all.pcap"
nv=$(grep -c 'vlan=10 ' "$dir/sent.txt")
gv=$(tshark -r "$dir/m/all.pcapng" -Y 'vlan.id == 10' -T fields -e frame.number 2>/dev/null | wc -l)
[ "$gv" -eq "$nv" ] && ok "tshark sees the $nv VLAN 10 frames with their tags" || nok "tshark: $gv VLAN 10 frames, sent $nv"
# tshark's view of epb_queue agrees with the file's
tq=$(tshark -r "$dir/m/all.pcapng" -T fields -e frame.interface_queue 2>/dev/null | sort | uniq -c | awk '{print $2 ":" $1}' | tr '\n' ' ')
pq=$(python3 "$CHECK" read "$dir/m/all.pcapng" | grep -o ' queue=[0-9]*' | sort | uniq -c | awk '{sub("queue=","",$2); print $2 ":" $1}' | tr '\n' ' ')
[ -n "$tq" ] && [ "$tq" = "$pq" ] && ok "tshark's frame.interface_queue per queue: $tq" || nok "tshark queues '$tq', file '$pq'"
for f in "$dir"/pq/*.pcapng "$dir/m/all.pcapng" "$dir/c/all.pcap"; do
	n=$(python3 "$CHECK" count "$f")
	ci=$(capinfos -c -M "$f" 2>/dev/null | awk -F: '/Number of packets/ {gsub(/ /, "", $2); print $2}')
	lp=$("$DUMP" -q "pcap:$f" | awk '$1 == "total" {sub("received=", "", $2); print $2}')
	[ "$n" -eq "${ci:-x}" ] 2>/dev/null && [ "$n" -eq "${lp:-x}" ] 2>/dev/null \
		&& ok "$(basename "$f"): $n packets for capinfos and libpcap" \
		|| nok "$(basename "$f"): python $n, capinfos '${ci:-}', libpcap '${lp:-}'"
done
isb=$(python3 "$CHECK" read "$dir/m/all.pcapng" | grep '^isb')
total=$(python3 "$CHECK" count "$dir/m/all.pcapng")
grep -q "usrdeliv=$total\$" <<<"$isb" && ok "merged file closes with an ISB: $isb" || nok "ISB: '$isb', $total packets"

# ---- run 2: SIGKILL while writing: what was flushed stays readable ----
mkdir -p "$dir/k"
start k -i "packet:$RX_DEV" -w "$dir/k/q%q.pcapng" --file-packets 100 --flush-ms 100 -l 200ms
send 20000
# wait until every frame was captured (the live line), then for one more flush period
nsent=$(grep -c '^pkt' "$dir/sent.txt")
for _ in $(seq 50); do
	c=$(tail -1 "$dir/k.out" | grep -o 'cap [0-9]*' | awk '{s += $2} END {print s + 0}')
	[ "$c" -ge "$nsent" ] && break
	sleep 0.1
done
[ "$c" -ge "$nsent" ] || nok "SIGKILL run: only $c of $nsent frames captured"
sleep 0.5
kill -KILL "${pids[0]}"; wait "${pids[0]}" 2>/dev/null; pids=()
nparts=$(ls "$dir/k" | grep -c '\.part$'); nfin=$(ls "$dir/k" | grep -vc '\.part$')
tb_log "after SIGKILL: $nfin finished files, $nparts .part files"
[ "$nparts" -eq 4 ] && [ "$nfin" -ge 4 ] && ok "SIGKILL leaves one .part per queue beside $nfin finished files" \
	|| nok "SIGKILL: $nparts .part, $nfin finished files"
for q in 0 1 2 3; do
	files=$(ls "$dir"/k/q${q}_* | sort)
	check "SIGKILL: queue $q's finished files + .part hold all its flushed frames" \
		python3 "$CHECK" frames "$dir/sent.txt" "$q" $files
done
check "SIGKILL: tshark, capinfos and libpcap read every file, .part included, to the last packet" \
	readable "$dir"/k/*

# ---- run 3: xdp per queue, -G 1: files at whole seconds ----
mkdir -p "$dir/g"
start g -i "xdp:$RX_DEV" -w "$dir/g/q%q-%s.pcapng" -G 1
# The first packet 10 ms after a whole second, while the files opened at the start (named for
# a second before) are still empty: it must go to a file of its own second at once, whether
# or not the clock has closed the empty one yet.
tb_tx python3 "$PKTLIB" send -i "$TX_DEV" -r 700 --align 0.01 "$dir/traffic.pcap" >/dev/null ||
	tb_fail "sending failed"
sleep 1.2
stop_all || nok "mqdump -G exited non-zero: $(cat "$dir/g.err")"
check "-G 1: summary adds up" balanced "$dir/g.out"
check "-G 1: every frame once over the files of all queues" \
	python3 "$CHECK" frames "$dir/sent.txt" all $(ls "$dir"/g/*.pcapng | sort)
check "-G 1: every packet lies in the second its file is named for" python3 - "$CHECK" "$dir"/g/*.pcapng <<'PY'
import calendar, os, subprocess, sys, time
bad, files, pk = 0, 0, 0
for f in sys.argv[2:]:
    stamp = os.path.basename(f).split("-")[1].split(".")[0]
    t0 = int(stamp)
    out = subprocess.run([sys.executable, sys.argv[1], "read", f], capture_output=True, text=True).stdout
    for l in out.splitlines():
        if l.startswith("pkt "):
            ts = int(dict(x.split("=") for x in l.split()[1:])["ts"]) // 10**9
            pk += 1
            if ts != t0:
                bad += 1
                if bad <= 5:  # say which, to tell a late packet from a clock step
                    print("# %s: packet %d at %s" % (os.path.basename(f), pk, l.split()[1:3]))
    files += 1
print("%d files, %d packets, %d outside their second" % (files, pk, bad))
sys.exit(1 if bad or files < 3 else 0)
PY

mqd_done
