#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# test_privdrop - least privilege (issue 17 part 3), tried as a user would:
#   1. `mqcount -Z nobody -i xdp:DEV --verify` under traffic, stopped by SIGINT: while it
#      captures, every thread of the process (seen from outside, /proc/PID/task/*/status) is
#      uid/gid nobody with every capability set empty (bounding set included) and
#      no_new_privs; every frame sent is received or counted as a drop, the counters add up,
#      and after its end (as nobody) no XDP program and no XDP BPF link is left on the device;
#   2. the same killed with SIGKILL while it runs as nobody: nothing left attached;
#   3. `mqdump -Z nobody` rotating files (-C): every frame captured is written, every file (the
#      first ones too: they are created after the drop) belongs to nobody, nothing left attached;
#   4. -Z with a user that does not exist, or root: exit 2 before anything is opened;
#   5. no root at all: nobody with exactly the capabilities mqcount(8) documents (setpriv
#      --inh-caps/--ambient-caps/--bounding-set): xdp with CAP_NET_RAW, CAP_NET_ADMIN, CAP_BPF,
#      CAP_IPC_LOCK captures (counters add up); without any one of them the open fails with a
#      message naming it; packet with CAP_NET_RAW alone captures, without it fails;
#   6. tcpdump's own -Z through mqcap-pcap (the libpcap shim): `mqcap-pcap tcpdump -Z nobody
#      -i xdp:DEV -w F`, stopped by SIGINT: tcpdump runs as nobody without capabilities,
#      writes exactly the frames it says it captured, none dropped, and leaves nothing attached.
set -u
. "${MQCAP_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/system/lib/testbed.sh"
tb_require_root
tb_tool MQCOUNT mqcount
tb_tool MQDUMP mqdump
tb_tool MQSEND mqsend
tb_need python3 setpriv capinfos bpftool

dir=$(tb_tmpdir)
chmod 755 "$dir"
tb_up "$(tb_unique_name zpriv)" --queues 2
for ns in "$TX_NS" "$RX_NS"; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
done
ifindex=$(tb_rx cat "/sys/class/net/$RX_DEV/ifindex")
NOBODY=$(id -u nobody)
NOGROUP=$(id -g nobody)
# LeakSanitizer stops the world with ptrace, which a process that changed its uid refuses
# (it is no longer dumpable): leaks are checked by every other test.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

prog_count() { tb_rx ip link show "$RX_DEV" | grep -c 'prog/xdp'; }
# XDP links on the device, from the kernel's list of every BPF link
xdp_links() { bpftool -j link show 2>/dev/null | python3 -c '
import json, sys
print(sum(1 for l in json.load(sys.stdin) if l.get("type") == "xdp" and l.get("ifindex") == int(sys.argv[1])))' "$ifindex"; }
nothing_attached() {
	local what=$1 gone=0
	for _ in $(seq 40); do
		[ "$(prog_count)" = 0 ] && [ "$(xdp_links)" = 0 ] && { gone=1; break; }
		sleep 0.05
	done
	[ $gone = 1 ] || tb_fail "$what: XDP program or link left on $RX_DEV: $(tb_rx ip link show "$RX_DEV")"
	tb_log "ok: $what: no XDP program or link left"
}
send() { # COUNT
	tb_tx "$MQSEND" -i "$TX_DEV" -m qdisc -c "$1" -r 20k -s 128 -P udp --dst-mac "$RX_MAC" \
		--dst "$RX_IP" --sport 1000-1063 --dport 80 > "$dir/send" 2>&1 || tb_fail "mqsend: $(cat "$dir/send")"
}
# Ready to capture: the tool's threads exist, for xdp its program is attached, and with -Z the
# drop happened (it comes right after every handle is open); then a moment for the threads
# to reach their receive loop. (The JSON lines are not a signal: stdout to a file is
# block-buffered.)
wait_ready() { # PID BACKEND Z(0|1)
	for _ in $(seq 150); do
		kill -0 "$1" 2>/dev/null || return 1
		if [ "$(ls /proc/"$1"/task 2>/dev/null | wc -l)" -ge 3 ] &&
		   { [ "$2" != xdp ] || [ "$(prog_count)" = 1 ]; } &&
		   { [ "$3" = 0 ] || grep -q "^Uid:[[:space:]]*$NOBODY[[:space:]]" /proc/"$1"/status; }; then
			sleep 0.5
			return 0
		fi
		sleep 0.1
	done
	return 1
}
# Ctrl-C, as a user stops a capture, once the last frames had time to arrive; its exit status
stop() { # PID
	sleep 1
	kill -INT "$1"
	wait "$1"
}
# every thread of PID: uid/gid nobody, no capability in any set, no_new_privs
threads_dropped() {
	local pid=$1 n=0 t
	for t in /proc/"$pid"/task/*; do
		python3 - "$t/status" "$NOBODY" "$NOGROUP" <<'PY' || tb_fail "thread ${t##*/} of $pid kept privileges"
import sys
try:
    st = dict(l.rstrip('\n').split(':\t', 1) for l in open(sys.argv[1]) if ':\t' in l)
except FileNotFoundError:  # a thread that ended since the listing
    sys.exit(0)
uid, gid = sys.argv[2], sys.argv[3]
bad = [k for k in ('CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb') if int(st[k], 16)]
bad += ['Uid'] if st['Uid'].split() != [uid] * 4 else []
bad += ['Gid'] if st['Gid'].split() != [gid] * 4 else []
bad += ['NoNewPrivs'] if st['NoNewPrivs'].strip() != '1' else []
if bad:
    print(sys.argv[1], {k: st[k] for k in ('Uid', 'Gid', 'CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', 'NoNewPrivs')})
    sys.exit(1)
PY
		n=$((n + 1))
	done
	[ $n -ge 3 ] || tb_fail "expected the main thread and a worker per queue, found $n threads"
	tb_log "ok: all $n threads of $pid: uid/gid nobody, no capability, no_new_privs"
}
# summary of an mqcount --json output: adds up, received and verified payloads = SENT
check_count() { # FILE SENT WHAT
	python3 - "$1" "$2" "$3" <<'PY' || tb_fail "$3: counters (see above)"
import json, sys
s = [json.loads(l) for l in open(sys.argv[1]) if '"summary"' in l][-1]
sent, what = int(sys.argv[2]), sys.argv[3]
t, v = s['total'], s['verify']
errs = []
if not s['adds_up']: errs.append('summary does not add up')
# every frame sent is captured or counted as a drop (a loaded machine may drop some); a few
# frames the kernel sends by itself may come on top
if not sent <= t['received'] + t['dropped'] <= sent + 10:
    errs.append(f"received {t['received']} + dropped {t['dropped']} is not sent {sent}")
if v['payloads'] != t['received'] - v['foreign'] or v['duplicates'] or v['corrupt']:
    errs.append(f"verify: {v}")
if s.get('error'): errs.append('error: ' + s['error'])
for e in errs: print(what + ':', e)
print(f"# {what}: sent {sent}, received {t['received']}, dropped {t['dropped']}, payloads {v['payloads']}, lost {v['lost']}")
sys.exit(1 if errs else 0)
PY
}

# (ip netns exec and setpriv exec what follows, so $! is the tool itself)
# 1. mqcount -Z nobody, stopped by its duration
ip netns exec "$RX_NS" "$MQCOUNT" -Z nobody --json --verify -i "xdp:$RX_DEV" > "$dir/z.json" 2> "$dir/z.err" &
pid=$!
tb_on_exit "kill $pid 2>/dev/null"
wait_ready $pid xdp 1 || { cat "$dir/z.err"; tb_fail "mqcount -Z nobody did not start"; }
[ "$(prog_count)" = 1 ] || tb_fail "no XDP program while capturing"
threads_dropped $pid
send 20000
stop $pid
rc=$?
cat "$dir/z.err"
[ $rc -eq 0 ] || tb_fail "mqcount -Z nobody exited $rc"
check_count "$dir/z.json" 20000 "mqcount -Z nobody"
nothing_attached "mqcount -Z nobody, after its end"

# 2. SIGKILL while it runs as nobody
ip netns exec "$RX_NS" "$MQCOUNT" -Z nobody --json -i "xdp:$RX_DEV" > "$dir/k.json" 2> "$dir/k.err" &
pid=$!
tb_on_exit "kill $pid 2>/dev/null"
wait_ready $pid xdp 1 || { cat "$dir/k.err"; tb_fail "mqcount -Z nobody did not start"; }
threads_dropped $pid
[ "$(prog_count)" = 1 ] || tb_fail "no XDP program while capturing"
kill -9 $pid
wait $pid 2>/dev/null
nothing_attached "mqcount -Z nobody killed with SIGKILL"

# 3. mqdump -Z nobody, files rotated after the drop
out="$dir/out"
mkdir "$out" && chown nobody "$out"
ip netns exec "$RX_NS" "$MQDUMP" -Z nobody --json -i "xdp:$RX_DEV" -w "$out/%q-%n.pcapng" -C 200k \
	> "$dir/d.json" 2> "$dir/d.err" &
pid=$!
tb_on_exit "kill $pid 2>/dev/null"
wait_ready $pid xdp 1 || { cat "$dir/d.err"; tb_fail "mqdump -Z nobody did not start"; }
threads_dropped $pid
send 20000
stop $pid
rc=$?
cat "$dir/d.err"
[ $rc -eq 0 ] || tb_fail "mqdump -Z nobody exited $rc"
ls -l "$out"
total=0
for f in "$out"/*.pcapng; do
	n=$(capinfos -M -c -T "$f" | tail -1 | cut -f2)
	total=$((total + n))
done
python3 - "$dir/d.json" <<'PY' || tb_fail "mqdump -Z nobody: summary"
import json, sys
s = [json.loads(l) for l in open(sys.argv[1]) if '"summary"' in l][-1]
t = s['total']
print('# mqdump total', t)
sys.exit(0 if t['captured'] == t['written'] + t['write_drops'] and not t['write_drops'] and
         20000 <= t['captured'] + t['kernel_drops'] <= 20010 else 1)
PY
written=$(python3 -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1]) if "\"summary\"" in l][-1]["total"]["written"])' "$dir/d.json")
[ "$total" -eq "$written" ] && [ "$written" -gt 0 ] ||
	tb_fail "mqdump -Z nobody: $total frames in the files, the summary says $written written"
tb_log "ok: mqdump -Z nobody wrote $total frames (sent 20000)"
mine=$(find "$out" -name '*.pcapng' -user nobody | wc -l)
all=$(ls "$out" | wc -l)
[ "$mine" -ge 2 ] && [ "$mine" -eq "$all" ] ||
	tb_fail "mqdump -Z nobody: $mine of $all files belong to nobody (every file, the first included)"
tb_log "ok: all $all files were created by nobody, the first ones included"
nothing_attached "mqdump -Z nobody, after its end"

# 4. bad -Z: before anything is opened
for u in no-such-user-zz root 0; do
	tb_rx "$MQCOUNT" -Z "$u" -i "xdp:$RX_DEV" -d 1 > "$dir/e" 2>&1
	rc=$?
	[ $rc -eq 2 ] || tb_fail "-Z $u: exit $rc, expected 2: $(cat "$dir/e")"
	grep -q -- "-Z $u" "$dir/e" || tb_fail "-Z $u: the message does not name it: $(cat "$dir/e")"
	tb_rx "$MQDUMP" -Z "$u" -i "xdp:$RX_DEV" -w "$dir/x.pcapng" -d 1 > "$dir/e" 2>&1
	[ $? -eq 2 ] || tb_fail "mqdump -Z $u: expected exit 2: $(cat "$dir/e")"
done
nothing_attached "bad -Z"

# 5. No root at all: exactly the documented capabilities, as nobody.
# SP: setpriv's arguments for nobody with exactly CAPS (comma list, may be empty), as
# inheritable, ambient and bounding sets: what a service manager's AmbientCapabilities= gives.
setpriv_args() { # CAPS
	local c=""
	[ -n "$1" ] && c=",$(echo "$1" | sed 's/\(^\|,\)\([a-z_]\)/\1+\2/g')"
	SP=(setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all$c
	    --ambient-caps=-all$c --bounding-set=-all$c)
}
as_nobody_with() { # CAPS MQCOUNT-ARGS... (in the foreground)
	setpriv_args "$1"
	shift
	ip netns exec "$RX_NS" "${SP[@]}" "$MQCOUNT" "$@"
}
run_with() { # BACKEND CAPS WHAT
	setpriv_args "$2"
	ip netns exec "$RX_NS" "${SP[@]}" "$MQCOUNT" --json --verify -i "$1:$RX_DEV" \
		> "$dir/c.json" 2> "$dir/c.err" &
	pid=$!
	tb_on_exit "kill $pid 2>/dev/null"
	wait_ready $pid "$1" 0 || { cat "$dir/c.err"; tb_fail "$3: did not start"; }
	grep -E '^Cap(Eff|Bnd)' /proc/$pid/status | sed 's/^/# /'
	send 10000
	stop $pid
	rc=$?
	[ $rc -eq 0 ] || { cat "$dir/c.err"; tb_fail "$3: exit $rc"; }
	check_count "$dir/c.json" 10000 "$3"
}
XDP_CAPS=net_raw,net_admin,bpf,ipc_lock
run_with xdp "$XDP_CAPS" "xdp as nobody with $XDP_CAPS"
nothing_attached "xdp as nobody with $XDP_CAPS"
for drop in net_raw net_admin bpf ipc_lock; do
	caps=$(echo ",$XDP_CAPS," | sed "s/,$drop,/,/; s/^,//; s/,$//")
	as_nobody_with "$caps" -q -i "xdp:$RX_DEV" -d 1 > "$dir/f" 2>&1
	rc=$?
	[ $rc -eq 1 ] || tb_fail "xdp without $drop ($caps): exit $rc, expected 1: $(cat "$dir/f")"
	grep -q "CAP_${drop^^}" "$dir/f" ||
		tb_fail "xdp without $drop: the message does not name CAP_${drop^^}: $(cat "$dir/f")"
	tb_log "ok: xdp without cap_$drop fails: $(grep -m1 mqcount: "$dir/f")"
	nothing_attached "xdp without $drop"
done
run_with packet net_raw "packet as nobody with net_raw"
as_nobody_with "" -q -i "packet:$RX_DEV" -d 1 > "$dir/f" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q 'CAP_NET_RAW' "$dir/f" || tb_fail "packet without net_raw: exit $rc: $(cat "$dir/f")"
tb_log "ok: packet without cap_net_raw fails: $(grep -m1 mqcount: "$dir/f")"

# 6. tcpdump -Z through the libpcap shim
WRAP="$MQCAP_BUILD/pcap/mqcap-pcap"
[ -x "$WRAP" ] || tb_fail "mqcap-pcap not built at $WRAP"
tb_need tcpdump
td="$dir/td"
mkdir "$td" && chown nobody "$td"   # tcpdump opens -w after it dropped root
ip netns exec "$RX_NS" "$WRAP" tcpdump -n -Z nobody -i "xdp:$RX_DEV" -w "$td/t.pcap" \
	> "$dir/td.out" 2> "$dir/td.err" &
pid=$!
tb_on_exit "kill $pid 2>/dev/null"
for _ in $(seq 100); do
	grep -q 'listening on' "$dir/td.err" && break
	kill -0 $pid 2>/dev/null || { cat "$dir/td.err"; tb_fail "tcpdump -Z nobody through mqcap-pcap did not start"; }
	sleep 0.1
done
grep -q 'listening on' "$dir/td.err" || { cat "$dir/td.err"; tb_fail "tcpdump did not start listening"; }
[ "$(prog_count)" = 1 ] || tb_fail "tcpdump: no XDP program while capturing (not through mqcap?)"
st=$(grep -E '^(Uid|CapPrm|CapEff)' /proc/$pid/status | tr -s '\t\n' '  ')
tb_log "tcpdump while capturing: $st"
grep -q "^Uid:[[:space:]]*$NOBODY[[:space:]]" /proc/$pid/status || tb_fail "tcpdump -Z nobody: not nobody: $st"
for k in CapPrm CapEff; do
	[ "$(awk -v k="$k:" '$1 == k {print $2}' /proc/$pid/status)" = 0000000000000000 ] ||
		tb_fail "tcpdump -Z nobody kept capabilities: $st"
done
send 5000
stop $pid
rc=$?
cat "$dir/td.err"
[ $rc -eq 0 ] || tb_fail "tcpdump -Z nobody exited $rc"
n=$(capinfos -M -c -T "$td/t.pcap" | tail -1 | cut -f2)
captured=$(awk '/packets captured/ {print $1}' "$dir/td.err")
dropped=$(awk '/dropped by kernel/ {print $1}' "$dir/td.err")
[ "$n" = "$captured" ] && [ "$n" -gt 0 ] ||
	tb_fail "tcpdump -Z nobody: $n frames in the file, it says $captured captured"
[ $((n + dropped)) -ge 5000 ] || tb_fail "tcpdump -Z nobody: $n written + $dropped dropped < 5000 sent"
tb_log "ok: tcpdump -Z nobody through mqcap-pcap: $n frames written = captured, $dropped dropped (sent 5000)"
nothing_attached "tcpdump -Z nobody through mqcap-pcap"
tb_log "PASS"
