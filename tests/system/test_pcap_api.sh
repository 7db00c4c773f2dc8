#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The libpcap calls a program makes, through mqcap-pcap, with pcap_probe (a program of the
# tests' own that links libpcap only), on a 4-queue testbed (issue 13):
#   pcap_next_ex (zero-copy views, nanosecond stamps, pcap_dump)        xdp:RX@1
#   nonblocking pcap_dispatch(cnt 7) in a poll() loop on the selectable fd   packet:RX@2
#   the same with a filter (pcap_compile + pcap_setfilter)               packet:RX@0
#   pcap_breakloop from another thread, pcap_loop blocked with a 5 s timeout  xdp:RX@3,
#       packet:RX@3: pcap_loop returns PCAP_ERROR_BREAK at once
#   pcap_stats: recv = packets delivered, no drops
#   pcap_inject + pcap_sendpacket: the frames arrive at the device's peer
# and unchanged on a plain device name: libpcap's own handle (a packet socket), every frame.
set -u
. "$MQCAP_SRC/tests/system/pcap_common.sh"
pcap_testbed 2000
P=("$WRAP" "$PROBE")

# probe_ok TAG FILE WANT [open-line-regex]: the probe's file holds exactly WANT, its stats
# count what it got (recv = got, no drops), and its open line matches
probe_ok() {
	local tag=$1 f=$2 want=$3 re=${4:-}
	pcap_file_check "$f" "$want" || return 1
	grep -qE "^stats recv=([0-9]+) drop=0 ifdrop=0 got=\1\$" "$DIR/$tag.out" ||
		{ echo "  $tag: $(grep '^stats' "$DIR/$tag.out")"; return 1; }
	[ -z "$re" ] || grep -qE "^open .*$re" "$DIR/$tag.out" ||
		{ echo "  $tag: $(grep '^open' "$DIR/$tag.out")"; return 1; }
}

# ---- run 1 ----
pcap_start nx1 "${P[@]}" -m nextex -N -I -w "$DIR/nx1.pcap" "xdp:$RX_DEV@1"
pcap_start pl2 "${P[@]}" -m poll -k 7 -w "$DIR/pl2.pcap" "packet:$RX_DEV@2"
pcap_start pl0 "${P[@]}" -m poll -f "tcp or ip6" -w "$DIR/pl0.pcap" "packet:$RX_DEV@0"
pcap_send
for t in nx1 pl2 pl0; do
	pcap_wait $t || { echo "not ok - $t failed: $(cat "$DIR/$t.out" "$DIR/$t.err")"; fails=$((fails + 1)); }
done
check "pcap_next_ex on xdp:$RX_DEV@1: exactly queue 1's frames, stats agree, nano" \
	probe_ok nx1 "$DIR/nx1.pcap" "$(pcap_want 1)" 'fd=anon_inode:\[eventpoll\] datalink=1 snaplen=262144 precision=1 nonblock=0'
check "nonblocking pcap_dispatch(7) in a poll loop on packet:$RX_DEV@2: exactly queue 2's frames" \
	probe_ok pl2 "$DIR/pl2.pcap" "$(pcap_want 2)" 'datalink=1 snaplen=262144 precision=0 nonblock=1'
check "poll loop with a filter on packet:$RX_DEV@0: exactly queue 0's matching frames" \
	probe_ok pl0 "$DIR/pl0.pcap" "$(pcap_want 0 'tcp or ip6')"

# ---- run 2: pcap_breakloop from another thread while pcap_loop waits (timeout 5 s) ----
for be in xdp packet; do
	pcap_start br$be "${P[@]}" -m break -t 5000 -i 800 -c "$(wc -l < "$(pcap_want 3)")" "$be:$RX_DEV@3"
	pcap_send
	pcap_wait br$be; rc=$?
	ms=$(sed -n 's/^end reason=break rc=-2 ms=\([0-9]*\)$/\1/p' "$DIR/br$be.out")
	got=$(sed -n 's/^stats .* got=\([0-9]*\)$/\1/p' "$DIR/br$be.out")
	check "$be:$RX_DEV@3: pcap_breakloop from a thread ends a blocked pcap_loop with -2 in ${ms:-?} ms ($got packets before)" \
		eval '[ $rc -eq 0 ] && [ -n "$ms" ] && [ "$ms" -lt 1000 ] && [ "${got:-0}" -ge "$(wc -l < "$(pcap_want 3)")" ]'
done

# pcap_inject / pcap_sendpacket on a handle of mqcap: the frames leave on the device and
# arrive at its peer (captured there by libpcap)
ip netns exec "$TX_NS" tcpdump -n -c 25 -i "$TX_DEV" -w "$DIR/inj.pcap" 'ether proto 0x88b5' 2> "$DIR/inj.err" &
ipid=$!
tb_on_exit "kill $ipid 2>/dev/null"
for _ in $(seq 100); do grep -q "listening on" "$DIR/inj.err" && break; sleep 0.05; done
out=$(tb_rx "${P[@]}" -m inject -c 25 "xdp:$RX_DEV@2" 2>&1)
for _ in $(seq 200); do kill -0 $ipid 2>/dev/null || break; sleep 0.05; done   # -c 25: ends by itself
kill -INT $ipid 2>/dev/null; wait $ipid
n=$("$DUMP" "pcap:$DIR/inj.pcap" | grep -c "^pkt")
check "pcap_inject + pcap_sendpacket on xdp:$RX_DEV@2: 25 sent, 25 arrive at the peer (got $n; $(echo $out | tail -c 200))" \
	eval 'grep -q "^inject sent=25" <<<"$out" && [ "$n" -eq 25 ]'

check "nothing of mqcap left on $RX_DEV (no XDP program, not promiscuous)" pcap_clean

# ---- run 3: a plain name is libpcap's, untouched ----
# The same calls reach libpcap's own handle (a packet socket, not mqcap's epoll set) and work
# as libpcap makes them work (every frame of a plain name through tcpdump: test_pcap_tcpdump).
pcap_start plain "${P[@]}" -m nextex -c 500 "$RX_DEV"   # libpcap's blocking pcap_next_ex
							     # does not return on its timeout here
pcap_start plainpoll "${P[@]}" -m poll -I -k 7 "$RX_DEV"
check "no XDP program while libpcap captures $RX_DEV" pcap_no_xdp
pcap_send
pcap_wait plain; pcap_wait plainpoll
for t in plain plainpoll; do
	check "plain $RX_DEV ($t): libpcap's own handle receives, its pcap_stats count it" eval \
		'grep -q "^open fd=socket datalink=1" "$DIR/$t.out" &&
		 grep -qE "^stats recv=[0-9]+ drop=[0-9]+ ifdrop=[0-9]+ got=[1-9][0-9]{2,}" "$DIR/$t.out"'
done
out=$(tb_rx env MQCAP_PCAP_ALL=1 "${P[@]}" -m open "$RX_DEV" 2>&1)
check "MQCAP_PCAP_ALL=1: the plain name $RX_DEV is mqcap's: $out" grep -q "^open fd=anon_inode:\[eventpoll\]" <<<"$out"
out=$(tb_rx env MQCAP_PCAP_ALL=1 "${P[@]}" -m open any 2>&1)
check "MQCAP_PCAP_ALL=1: 'any' stays libpcap's: $out" grep -q "^open fd=socket" <<<"$out"
pcap_start plainbr "${P[@]}" -m break -I -t 5000 -i 800 "$RX_DEV"
pcap_send
pcap_wait plainbr; rc=$?
check "plain $RX_DEV: pcap_breakloop from a thread (libpcap's) returns -2" grep -q "^end reason=break rc=-2" "$DIR/plainbr.out"

[ $fails -eq 0 ] || { tail -n 3 "$DIR"/*.out; tb_fail "$fails checks failed"; }
echo "PASS"
