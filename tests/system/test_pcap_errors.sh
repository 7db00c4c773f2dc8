#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Bad input through mqcap-pcap (issue 13): a queue that does not exist, a malformed name, a
# device another process captures over AF_XDP, a filter that does not compile, no
# privileges, a bad MQCAP_PCAP_BACKEND. Each program (tcpdump, tshark, pcap_open_live in
# pcap_probe) prints libpcap's usual form of the error with mqcap's reason, exits with its
# usual failure status within seconds (no crash, no hang), and nothing stays attached.
set -u
. "$MQCAP_SRC/tests/system/pcap_common.sh"
tb_need tcpdump tshark setpriv
pcap_testbed 200
D=$RX_DEV
nobody=(setpriv --reuid 65534 --regid 65534 --clear-groups --inh-caps=-all --bounding-set=-all)

# expect RC PATTERN... -- CMD...: CMD (in the receiver namespace, 20 s at most) exits with RC
# and its output matches every PATTERN (grep -E)
expect() {
	local want=$1 pats=() out rc p; shift
	while [ "$1" != "--" ]; do pats+=("$1"); shift; done; shift
	out=$(timeout -k 5 20 ip netns exec "$RX_NS" "$@" 2>&1); rc=$?
	for p in "${pats[@]}"; do
		grep -qE -- "$p" <<<"$out" || { rc="$rc, no '$p'"; break; }
	done
	if [ "$rc" = "$want" ]; then
		echo "ok - ${*:2}: $(grep -vE 'Running as user|^$' <<<"$out" | head -3 | tr '\n' ' ')"
	else
		echo "not ok - ${*:2}: expected exit $want; got $rc: $out"
		fails=$((fails + 1))
	fi
}
TD=("$WRAP" tcpdump -n -c 1 -w /dev/null)

expect 1 "$D@7: No such device exists" "queue 7 does not exist" -- "${TD[@]}" -i "$D@7"
expect 1 "$D@7: No such device exists" "queue 7 does not exist" -- "${TD[@]}" -i "xdp:$D@7"
expect 1 "No such device exists" "no device named nosuchdev0" -- "${TD[@]}" -i "nosuchdev0@1"
expect 1 "$D@: missing queue number after '@'" -- "${TD[@]}" -i "$D@"
expect 1 "queue 4 does not exist" -- "${TD[@]}" -i "packet:$D@2-5"
expect 1 "syntax error" -- "${TD[@]}" -i "xdp:$D@1" "tcp port"
expect 1 "syntax error" -- "${TD[@]}" -i "packet:$D@1" "ip and fish"
expect 1 "You don't have permission" "CAP_" -- "${nobody[@]}" "${TD[@]}" -i "xdp:$D@1"
expect 1 "You don't have permission" "CAP_NET_RAW|root" -- "${nobody[@]}" "${TD[@]}" -i "$D@1"
expect 1 "MQCAP_PCAP_BACKEND=foo: expected auto, xdp or packet" -- \
	env MQCAP_PCAP_BACKEND=foo "${TD[@]}" -i "$D@1"
expect 1 "^error status=-1 msg=$D@9: No such device exists \(.*queue 9 does not exist" -- \
	"$WRAP" "$PROBE" -m open "$D@9"
expect 1 "^error status=-1 msg=.*missing queue number" -- "$WRAP" "$PROBE" -m open "xdp:$D@"
expect 1 "queue 9 does not exist" -- "$WRAP" tshark -i "$D@9" -c 1 -w "$DIR/t9.pcapng"

# a queue captured over AF_XDP by another process: busy, naming the queue and the process
# (another queue of the device opens: test_xdp_multiproc.sh)
pcap_start holder "$WRAP" "$PROBE" -m nextex -W 30000 -i 30000 "xdp:$D@1"
expect 1 "$D@1 is busy: pid ${PIDS[holder]} \\(pcap_probe\\) captures this queue" -- "${TD[@]}" -i "xdp:$D@1"
kill -TERM "${PIDS[holder]}"; pcap_wait holder   # (background jobs of a script ignore SIGINT)

check "nothing of mqcap left on $D after the failures (no XDP program, not promiscuous)" pcap_clean
[ $fails -eq 0 ] || tb_fail "$fails checks failed"
echo "PASS"
