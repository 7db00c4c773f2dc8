# SPDX-License-Identifier: BSD-2-Clause
# mqdump_lib.sh - what the mqdump tests (test_mqdump*.sh) share. Source it after `set -u`:
#   $MQDUMP, $DUMP (capture_dump: libpcap reads a file back), $CHECK (mqdump_check.py: the strict
#   reader), $dir (a directory removed on exit)
#   ok NAME / nok NAME / check NAME CMD...   one result line; failures counted in $fails
#   mqd_done                   fail if any check failed, else print PASS
#   readable FILE...           tshark, capinfos and libpcap count what the strict reader counts
#   start TAG ARGS...          mqdump ARGS in the receiver namespace, in the background, output in
#                              $dir/TAG.out and .err; returns once it captures
#   stop_all                   SIGINT every started mqdump, wait; non-zero if one exited non-zero
. "$MQCAP_SRC/tests/system/lib/testbed.sh"
tb_require_root
tb_need tshark capinfos python3
tb_tool MQDUMP mqdump
DUMP="$MQCAP_BUILD/tests/system/capture_dump"
CHECK="$MQCAP_SRC/tests/system/mqdump_check.py"
[ -x "$DUMP" ] || tb_fail "capture_dump not built"
dir=$(tb_tmpdir)

fails=0
ok() { echo "ok - $*"; }
nok() { echo "not ok - $*"; fails=$((fails + 1)); }
check() { local name=$1; shift; if "$@"; then ok "$name"; else nok "$name"; fi; }
mqd_done() {
	[ $fails -eq 0 ] || tb_fail "$fails checks failed"
	echo "PASS"
}

readable() {
	local f n t c l
	for f in "$@"; do
		n=$(python3 "$CHECK" count "$f") || { echo "  $f: malformed"; return 1; }
		t=$(tshark -r "$f" -T fields -e frame.number 2>/dev/null | wc -l)
		c=$(capinfos -c -M "$f" 2>/dev/null | awk -F: '/Number of packets/ {gsub(/ /, "", $2); print $2}')
		l=$("$DUMP" -q "pcap:$f" | awk '$1 == "total" {sub("received=", "", $2); print $2}')
		[ "$n" = "$t" ] && [ "$n" = "${c:-x}" ] && [ "$n" = "${l:-x}" ] \
			|| { echo "  $f: $n packets, tshark $t, capinfos ${c:-?}, libpcap ${l:-?}"; return 1; }
	done
}

pids=()
start() {
	local tag=$1; shift
	# not through tb_rx: a function in the background is a subshell, and $! must be mqdump
	ip netns exec "$RX_NS" "$MQDUMP" -l 10s "$@" > "$dir/$tag.out" 2> "$dir/$tag.err" &
	pids+=($!)
	tb_on_exit "kill $! 2>/dev/null"
	for _ in $(seq 100); do
		grep -q '^capturing from' "$dir/$tag.out" && return 0
		kill -0 "${pids[-1]}" 2>/dev/null || break
		sleep 0.05
	done
	tb_fail "mqdump $tag did not start: $(cat "$dir/$tag.err")"
}
stop_all() {
	local p rc=0
	for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	pids=()
	return $rc
}
