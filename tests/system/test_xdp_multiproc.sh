#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# test_xdp_multiproc - one process per RX queue of one device over AF_XDP, at the same time
# (the deployment "one instance per queue"):
#   - four mqcount -b xdp, one per queue of a 4-queue testbed, capture together, and each
#     queue's received + dropped equals what Toeplitz RSS predicts for mqsend --paper;
#   - one XDP program on the device for all of them;
#   - a fifth process on a queue already captured gets a clear error naming the queue and
#     the holder's pid; with the automatic backend it falls back to AF_PACKET and says why;
#   - a process without CAP_SYS_ADMIN cannot join the program: a clear error, and auto
#     falls back to AF_PACKET;
#   - SIGKILL one of them: the three others keep capturing every frame of their queues, a
#     new process takes the freed queue and counts exactly its share of what follows;
#   - the last one out (by SIGINT, or by SIGKILL) leaves no XDP program on the device.
# On the code before the shared program, the second process failed ("DEV is busy: another
# mqcap capture (pid N) holds its XDP program").
set -u
. "${MQCAP_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/system/lib/testbed.sh"
tb_require_root
tb_tool MQCOUNT mqcount
tb_tool MQSEND mqsend
tb_need python3 setpriv

ROUNDS=${ROUNDS:-4}          # packets per flow of mqsend --paper's 4096 flows, per send
NPKT=$((4096 * ROUNDS))
dir=$(tb_tmpdir)
tb_up "$(tb_unique_name mproc)" --queues 4
# A dedicated capture port (no address of its own), so that the automatic backend picks
# AF_XDP and its fallback can be seen; the workload goes to the receiver's MAC.
tb_rx ip addr flush dev "$RX_DEV"
expect=$(python3 "$MQCAP_SRC/tests/system/test_mqsend_check.py" paper-rss "$RSS_KEY" "$RSS_TABLE" \
	4 "$ROUNDS") || tb_fail "prediction failed"
read -r -a E <<<"$expect"
tb_log "predicted per queue for $NPKT packets: $expect"
prog_count() { tb_rx ip link show "$RX_DEV" | grep -c 'prog/xdp'; }

# Only the workload counts: the sender's kernel adds IPv6 neighbour discovery of its own.
FILTER=(tcp dst port 80)
declare -A PIDS
# start LABEL NAME: an mqcount on NAME, in the background, returning once it reports.
start() {
	local label="$1" name="$2" i
	# ip netns exec execs mqcount, so $! is mqcount itself (SIGINT and SIGKILL reach it)
	ip netns exec "$RX_NS" "$MQCOUNT" --json --verify -i "$name" "${FILTER[@]}" \
		>"$dir/$label.json" 2>"$dir/$label.err" &
	PIDS[$label]=$!
	tb_on_exit "grep -qa mqcount /proc/${PIDS[$label]}/cmdline && kill -9 ${PIDS[$label]}"
	for i in $(seq 100); do
		grep -q '"type":"interval"' "$dir/$label.json" 2>/dev/null && return 0
		kill -0 "${PIDS[$label]}" 2>/dev/null ||
			tb_fail "$label ($name) exited early: $(cat "$dir/$label.err")"
		sleep 0.1
	done
	tb_fail "$label ($name) did not report within 10 s"
}
stop() {
	kill -INT "${PIDS[$1]}"
	wait "${PIDS[$1]}" || tb_fail "$1 exited $?: $(cat "$dir/$1.err")"
}
send() {
	tb_tx "$MQSEND" -i "$TX_DEV" -m qdisc --paper -c "$NPKT" -r 40k --dst-mac "$RX_MAC" \
		>"$dir/send.out" 2>&1 || tb_fail "mqsend failed: $(cat "$dir/send.out")"
	sleep 1
}
# check LABEL QUEUE ROUNDS_SEEN: the summary of LABEL shows queue QUEUE only, over AF_XDP,
# with received + dropped = ROUNDS_SEEN sends' prediction for that queue, and sums that add up.
check() {
	python3 - "$dir/$1.json" "$1" "$2" "$(( ${E[$2]} * $3 ))" <<'EOF' || tb_fail "$1: counts wrong (see above)"
import json, os, sys
sys.path.insert(0, os.environ['MQCAP_SRC'] + '/tests/system')
from summary_sums import check_sums
out, label, queue, want = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s = [json.loads(l) for l in open(out) if '"summary"' in l][-1]
ok = True
def check(cond, msg):
    global ok
    if not cond:
        ok = False
        print('FAIL %s: %s' % (label, msg))
check(s['backend'].startswith('xdp'), 'backend %s' % s['backend'])
check([q['queue'].rsplit('@', 1)[1] for q in s['queues']] == [str(queue)], 'queues %s' % s['queues'])
q = s['queues'][0]
got = q['received'] + q['dropped']
check(got == want, '%s: received %d + dropped %d != predicted %d' % (q['queue'], q['received'], q['dropped'], want))
check_sums(s, check)
v = s['verify']
check(v['corrupt'] == 0 and v['foreign'] == 0, 'verify: corrupt %d foreign %d' % (v['corrupt'], v['foreign']))
print('# %s %s: received %d dropped %d predicted %d' % (label, q['queue'], q['received'], q['dropped'], want))
sys.exit(0 if ok else 1)
EOF
}

# 1. Four processes, one per queue, all at once.
for q in 0 1 2 3; do start "q$q" "xdp:$RX_DEV@$q"; done
[ "$(prog_count)" = 1 ] || tb_fail "$(prog_count) XDP programs on $RX_DEV with four captures"
tb_log "ok: four processes capture $RX_DEV@0..3 through one XDP program"

# 2. The same queue again: a clear error naming the queue and the holder; auto falls back.
if tb_rx "$MQCOUNT" -q -d 1 -i "xdp:$RX_DEV@2" >"$dir/dup.out" 2>&1; then
	tb_fail "a second capture of $RX_DEV@2 over AF_XDP opened: $(cat "$dir/dup.out")"
fi
cat "$dir/dup.out"
grep -q "$RX_DEV@2 is busy: pid ${PIDS[q2]} (mqcount) captures this queue" "$dir/dup.out" ||
	tb_fail "the error does not name $RX_DEV@2 and pid ${PIDS[q2]}"
tb_rx "$MQCOUNT" -d 1 -i "$RX_DEV@2" >"$dir/auto.out" 2>&1 ||
	tb_fail "the automatic backend failed on a queue another process captures: $(cat "$dir/auto.out")"
grep "^backend" "$dir/auto.out"
grep -q "^backend: auto chose AF_PACKET: .*AF_XDP could not be opened there.*$RX_DEV@2 is busy: pid ${PIDS[q2]}" \
	"$dir/auto.out" || tb_fail "the automatic backend does not say it fell back to AF_PACKET, and why"
tb_log "ok: the same queue twice is refused over xdp: and falls back to AF_PACKET with auto"

# Joining another process's program takes CAP_SYS_ADMIN (the kernel hands out a link and maps
# by id to it only): without it, a clear error, and auto falls back to AF_PACKET.
caps=",+net_raw,+net_admin,+bpf,+ipc_lock"
nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all$caps
	--ambient-caps=-all$caps --bounding-set=-all$caps)
if tb_rx "${nobody[@]}" "$MQCOUNT" -q -d 1 -i "xdp:$RX_DEV@2" >"$dir/nocap.out" 2>&1; then
	tb_fail "joined the XDP program without CAP_SYS_ADMIN: $(cat "$dir/nocap.out")"
fi
cat "$dir/nocap.out"
grep -q "sharing it needs CAP_SYS_ADMIN" "$dir/nocap.out" || tb_fail "the error does not say CAP_SYS_ADMIN"
tb_rx "${nobody[@]}" "$MQCOUNT" -d 1 -i "$RX_DEV@2" >"$dir/nocap-auto.out" 2>&1 ||
	tb_fail "auto without CAP_SYS_ADMIN failed: $(cat "$dir/nocap-auto.out")"
grep -q "^backend: auto chose AF_PACKET: .*sharing it needs CAP_SYS_ADMIN" "$dir/nocap-auto.out" ||
	tb_fail "auto without CAP_SYS_ADMIN: $(grep '^backend' "$dir/nocap-auto.out")"
tb_log "ok: without CAP_SYS_ADMIN, xdp: says so and auto uses AF_PACKET"

send

# 3. SIGKILL the capture of queue 1; the others go on; a new process takes queue 1.
kill -9 "${PIDS[q1]}"
wait "${PIDS[q1]}" 2>/dev/null
start q1b "xdp:$RX_DEV@1"
send
for q in 0 2 3; do stop "q$q"; done
stop q1b
for q in 0 2 3; do check "q$q" $q 2; done
check q1b 1 1
expect_gone() {
	local i
	for i in $(seq 40); do
		[ "$(prog_count)" = 0 ] && { tb_log "ok: no XDP program on $RX_DEV $1"; return 0; }
		sleep 0.05
	done
	tb_fail "an XDP program is still on $RX_DEV $1: $(tb_rx ip link show "$RX_DEV")"
}
expect_gone "after the last capture stopped"

# 4. The last ones out killed: nothing stays attached (the kernel closes their link fds).
start k0 "xdp:$RX_DEV@0"
start k3 "xdp:$RX_DEV@3"
kill -9 "${PIDS[k0]}"
wait "${PIDS[k0]}" 2>/dev/null
[ "$(prog_count)" = 1 ] || tb_fail "the program went away with the first of two captures"
kill -9 "${PIDS[k3]}"
wait "${PIDS[k3]}" 2>/dev/null
expect_gone "after both captures were killed"
links=$(bpftool -j link show 2>/dev/null | python3 -c '
import json, sys
print(sum(1 for l in json.load(sys.stdin) if l.get("type") == "xdp" and l.get("ifindex") == int(sys.argv[1])))' \
	"$(tb_rx cat /sys/class/net/"$RX_DEV"/ifindex)")
[ "$links" = 0 ] || tb_fail "$links XDP links left on $RX_DEV"
echo "PASS: test_xdp_multiproc"
