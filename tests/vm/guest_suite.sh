#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Runs inside the guest (tests/vm/test_vm_guest.sh boots it once for all of these): each step
# checks mqcap on the real virtio-net driver and prints one STEP line (guest_lib.sh). A step
# that fails does not stop the others. Arguments: the source tree, the build tree.
# Each "# step NAME:" line below names a step the host side expects a report from.
SRC=$1 BUILD=$2
export MQCAP_SRC=$SRC MQCAP_BUILD=$BUILD
. "$SRC/tests/vm/guest_lib.sh"
DEV=eth0
Q=4
ROUNDS=2                       # packets per flow of mqsend --paper's 4096 flows
NPKT=$((4096 * ROUNDS))
RATE=2k                        # TCG: a rate the guest takes without loss
MQCOUNT=$BUILD/tools/mqcount/mqcount
MQTUNE=$BUILD/tools/mqtune/mqtune
CHECK="python3 $SRC/tests/vm/guest_check.py"
W=$(mktemp -d)
guest_ctl_open || { echo "guest: no control channel"; exit 1; }

# The driver's own per-queue RX counters, one number per queue.
driver_counts() {
	ethtool -S "$DEV" | awk -v n="$Q" '{for (i = 0; i < n; i++) if ($1 == "rx_queue_" i "_packets:") c[i] = $2}
		END {for (i = 0; i < n; i++) printf "%d ", c[i]}'
}
# Wait until the driver's counters stop moving (TCG delivers late), at most 30 s.
settle() {
	local a b i
	a=$(driver_counts)
	for i in $(seq 30); do
		sleep 1; b=$(driver_counts)
		[ "$a" = "$b" ] && return 0
		a=$b
	done
}
delta() { local -a x=($1) y=($2); local i; for ((i = 0; i < ${#x[@]}; i++)); do printf '%d ' $((y[i] - x[i])); done; }
# Toeplitz prediction for the paper workload with the key and table the device reports.
predict() {
	ethtool -x "$DEV" > "$W/x" || return 1
	set -- $($CHECK ethtool-x "$W/x") || return 1
	python3 "$SRC/tests/system/test_mqsend_check.py" paper-rss "$1" "$2" "$Q" "$ROUNDS"
}
# Start mqcount in the background (JSON in $W/$1.json), once its first interval is out.
MQPID=
mqcount_start() {
	local label=$1 i; shift
	"$MQCOUNT" --json -l 500ms "$@" > "$W/$label.json" 2> "$W/$label.err" &
	MQPID=$!
	for i in $(seq 120); do
		grep -q '"type":"interval"' "$W/$label.json" 2>/dev/null && return 0
		kill -0 "$MQPID" 2>/dev/null || return 1
		sleep 0.5
	done
	return 1
}
mqcount_stop() { kill -INT "$MQPID"; wait "$MQPID"; }

echo "guest: $(uname -r), $(nproc) CPUs, $DEV: $(ethtool -i $DEV | sed -n 's/^driver: //p')"
ip link set "$DEV" up

# step nic: the NIC is virtio-net with 4 combined channels, 4 RX queues and one MSI-X vector per RX queue
drv=$(ethtool -i "$DEV" | sed -n 's/^driver: //p')
ch=$(ethtool -l "$DEV" | awk '/^Combined:/ {c = $2} END {print c}')
nq=$(ls -d /sys/class/net/$DEV/queues/rx-* | wc -l)
ni=$(grep -c "virtio[0-9]*-input\.[0-9]" /proc/interrupts)
if [ "$drv" = virtio_net ] && [ "$ch" = "$Q" ] && [ "$nq" = "$Q" ] && [ "$ni" = "$Q" ]; then
	step_pass nic "driver $drv, $ch channels, $nq RX queues, $ni input interrupts"
else
	step_fail nic "driver $drv, $ch channels, $nq RX queues, $ni input interrupts (wanted virtio_net, $Q each)"
fi

# step rss: the device's RSS is real Toeplitz: an uneven table (weights 1 0 2 3) and the Microsoft key set with ethtool -X, read back, and the driver's per-queue counters match the prediction
MSKEY=6d:5a:56:da:25:5b:0e:c2:41:67:25:3d:43:a3:8f:b0:d0:ca:2b:cb:ae:7b:30:b4:77:cb:2d:a3:80:30:f2:0c:6a:42:b7:3b:be:ac:01:fa
if ethtool -X "$DEV" weight 1 0 2 3 hkey "$MSKEY" && pred=$(predict); then
	c0=$(driver_counts)
	host send --paper -c "$NPKT" -r "$RATE"; sent=$?
	settle
	got=$(delta "$c0" "$(driver_counts)")
	if [ "$sent" -eq 0 ] && [ "$got" = "$pred " ]; then
		step_pass rss "per queue $got= prediction"
	else
		step_fail rss "driver counted $got, Toeplitz predicts $pred (mqsend status $sent)"
	fi
else
	step_fail rss "ethtool -X or -x failed"
fi
ethtool -X "$DEV" default

# capture_case STEP BACKEND: mqcount on every queue with --verify while the host sends the
# paper workload: each queue exactly what the driver's own per-queue counter says arrived, no
# loss. (Not against the Toeplitz prediction: 6.1's driver tells the device a queue count when
# XDP comes or goes, which turns qemu's RSS off, and with qemu's software RSS on and AF_XDP
# attached the tap stopped being read under load: docs/kernel-notes.md.)
capture_case() {
	local step=$1 backend=$2 c0 c1 mode
	c0=$(driver_counts)
	if ! mqcount_start "$step" -i "$backend:$DEV" --verify; then
		step_fail "$step" "mqcount did not start: $(tail -3 "$W/$step.err")"; return
	fi
	mode=$(ip -d link show "$DEV" | grep -o 'xdp[a-z]*' | head -1)
	host send --paper -c "$NPKT" -r "$RATE" || { step_fail "$step" "mqsend failed"; mqcount_stop; return; }
	settle
	mqcount_stop
	c1=$(driver_counts)
	if [ "$backend" = xdp ] && [ "$mode" != xdp ]; then
		step_fail "$step" "XDP attached as '$mode', not native (driver) mode"
	elif $CHECK summary "$W/$step.json" "$(delta "$c0" "$c1")" "$NPKT" $DROPS_OK > "$W/$step.check"; then
		cat "$W/$step.check"
		step_pass "$step" "$NPKT packets, every queue's received + dropped = the driver's counter, verify clean${mode:+, XDP mode $mode}$(sed -n 's/^# drops: /; dropped: /p' "$W/$step.check")"
	else
		cat "$W/$step.check"
		step_fail "$step" "per-queue counts wrong (above); stderr: $(tail -2 "$W/$step.err")"
	fi
}
# step count_xdp: AF_XDP in native driver mode, every queue exact with --verify
capture_case count_xdp xdp
# step count_packet: AF_PACKET, every queue exact with --verify (received + dropped; the ASan build under TCG drops some)
DROPS_OK=drops-ok capture_case count_packet packet

# irq_count IRQ CPU: interrupts of IRQ on CPU so far (/proc/interrupts column CPU).
irq_count() { awk -v irq="$1:" -v c="$2" '$1 == irq {print $(c + 2)}' /proc/interrupts; }
# One flow per queue: the destination of a paper flow RSS sends to each queue (RSS on again).
ethtool -X "$DEV" equal "$Q"
ethtool -x "$DEV" > "$W/x"
read -r -a FLOW <<<"$(python3 "$SRC/tests/vm/guest_check.py" flows $($CHECK ethtool-x "$W/x") "$Q")"

# step mqtune_irqs: mqtune names each RX queue's interrupt (virtioN-input.Q, by name, confirmed by the PCI function's MSI vectors) and its CPU
"$MQTUNE" --json "$DEV" > "$W/tune.json" 2> "$W/tune.err"
if $CHECK tune-irqs "$W/tune.json" "$Q"; then
	step_pass mqtune_irqs "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["devices"][0]; print(", ".join("%d:%s" % (q["queue"], q["interrupt"]["name"]) for q in d["queues"]))' "$W/tune.json")"
else
	step_fail mqtune_irqs "see above; $(cat "$W/tune.err")"
fi

# step kernel_facts: without netdev queue-get/napi-get (6.1) the library says where its facts come from (the /proc fallback, interrupts by name), and per-queue threaded control fails with a message naming what the kernel lacks
kernel_facts() {
	local probe=$BUILD/tests/system/queue_probe out rc
	out=$("$probe" "$DEV" 2>&1) || { step_fail kernel_facts "queue_probe: $out"; return; }
	if ! grep -q "^count $Q" <<<"$out" ||
	   [ "$(grep -c "^queue .* irq [0-9].* irq_source proc" <<<"$out")" != "$Q" ]; then
		step_fail kernel_facts "queue_probe: $(tr '\n' ';' <<<"$out")"; return
	fi
	out=$("$probe" -t 0 on "$DEV" 2>&1); rc=$?
	if [ "$rc" -ne 3 ] || ! grep -qi "netdev\|netlink" <<<"$out"; then
		step_fail kernel_facts "per-queue threaded on 6.1: exit $rc, '$out' (wanted 3, EOPNOTSUPP naming the netdev family)"; return
	fi
	step_pass kernel_facts "pollers: $(sed -n 's/^queue 0 .*source \([a-z-]*\) .*/\1/p' <<<"$out$(printf '\n')$("$probe" "$DEV")" | head -1), interrupts by name; per-queue threaded: $(head -c 120 <<<"$out")"
}
kernel_facts

# apply_case STEP [--threaded]: mqtune --apply puts each queue's interrupt (and thread) on the
# plan's CPU, beside its consumer; then, one flow at a time, the queue's own interrupt fires
# on that CPU (and, threaded, mqtune's thread for the queue is the one that runs); --restore
# puts the saved affinities back.
apply_case() {
	local step=$1 why applied q irq cpu before after; shift
	"$MQTUNE" --apply --save "$W/$step.saved" --json "$@" "$DEV" > "$W/$step.json" 2> "$W/$step.err" ||
		{ step_fail "$step" "mqtune --apply failed: $(cat "$W/$step.err")"; return; }
	"$MQTUNE" --json "$DEV" > "$W/$step.after.json"
	if ! applied=$($CHECK tune-applied "$W/$step.after.json" "$Q" "$*"); then
		step_fail "$step" "$applied"; return
	fi
	for q in $(seq 0 $((Q - 1))); do
		set -- $($CHECK tune-queue "$W/$step.after.json" "$q")   # irq cpu pid
		irq=$1 cpu=$2
		before="$(irq_count "$irq" "$cpu") $(awk '{print $2}' /proc/$3/schedstat 2>/dev/null)"
		local others0; others0=$($CHECK thread-runs "$W/$step.after.json")
		host send --dst "${FLOW[q]}" -c 50 -r 500 || { step_fail "$step" "mqsend failed"; return; }
		settle
		after="$(irq_count "$irq" "$cpu")"
		if [ "${after:-0}" -le "${before%% *}" ]; then
			step_fail "$step" "queue $q's flow ($(printf %s "${FLOW[q]}")): irq $irq did not fire on CPU $cpu"; return
		fi
		if [ "$#" -ge 3 ] && [ "$3" -gt 0 ] &&
		   ! why=$($CHECK thread-ran "$W/$step.after.json" "$q" "$others0"); then
			step_fail "$step" "$why"; return
		fi
	done
	"$MQTUNE" --restore "$W/$step.saved" > "$W/$step.restore" 2>&1 ||
		{ step_fail "$step" "--restore failed: $(cat "$W/$step.restore")"; return; }
	if ! why=$($CHECK restored "$W/$step.saved"); then
		step_fail "$step" "$why"; return
	fi
	step_pass "$step" "$applied; each queue's flow fired its own interrupt there; restored"
}
# step apply_softirq: mqtune --apply in softirq mode: each interrupt on its consumer's CPU, each flow fires its queue's interrupt there, --restore undoes it
# all four on CPU 0 first, so that --apply has something to move and --restore something to undo
for irq in $(grep "virtio[0-9]*-input\." /proc/interrupts | awk -F: '{print $1}'); do
	echo 0 > "/proc/irq/$irq/smp_affinity_list"
done
apply_case apply_softirq --repin
# step apply_threaded: mqtune --apply --threaded: each queue's NAPI thread on its interrupt's CPU, and the thread mqtune names is the one that runs for the queue's flow
apply_case apply_threaded --threaded
# step xsk_napi: a kernel fact for which NAPI polls which queue on 6.1 (no netdev queue-get): an AF_XDP socket bound to queue q alone records the NAPI id of the frames it receives (SO_INCOMING_NAPI_ID), and it is the id of the thread the library ranks as queue q's
xsk_napi() {
	local q got want ids=""
	for q in $(seq 0 $((Q - 1))); do
		mqcount_start "xsk$q" -i "xdp:$DEV@$q" || { step_fail xsk_napi "mqcount on queue $q did not start"; return; }
		ethtool -X "$DEV" equal "$Q"   # XDP's arrival turned qemu's RSS off (kernel-notes)
		host send --dst "${FLOW[q]}" -c 20 -r 500; settle
		got=$("$BUILD/tests/vm/xsk_napi" "$MQPID" | awk '{print $2}')
		mqcount_stop
		want=$("$BUILD/tests/system/queue_probe" "$DEV" | awk -v q="$q" '$1 == "queue" && $2 == q {print $4}')
		if [ -z "$got" ] || [ "$got" != "$want" ]; then
			step_fail xsk_napi "queue $q: its socket recorded NAPI id '${got}', the library ranks $want as queue $q's"; return
		fi
		ids+="$q:$got "
	done
	step_pass xsk_napi "NAPI ids recorded per queue ${ids}= the library's ranking"
}
xsk_napi
echo 0 > "/sys/class/net/$DEV/threaded"

# step channels: ethtool -L under capture: with AF_XDP sockets bound the kernel refuses to shrink and the capture stays exact; with AF_PACKET the device shrinks to 2 and grows back to 4 while mqcount keeps every frame
channels() {
	local sent=0 part
	# a table set with ethtool -X pins the queue count (ethtool refuses to go below it)
	ethtool -X "$DEV" default
	if ! mqcount_start chx -i "xdp:$DEV" --verify; then step_fail channels "mqcount xdp did not start"; return; fi
	if ethtool -L "$DEV" combined 2 2> "$W/chx.ethtool"; then
		mqcount_stop; step_fail channels "ethtool -L went through with AF_XDP sockets bound"; return
	fi
	host send --paper -c 2048 -r "$RATE"; settle; mqcount_stop
	$CHECK total "$W/chx.json" 2048 || { step_fail channels "xdp: capture not exact after the refused -L"; return; }
	mqcount_start chp -i "packet:$DEV" --verify || { step_fail channels "mqcount packet did not start"; return; }
	# each send its own sender id: --verify tells the three runs' sequences apart
	for part in 2 4; do
		host send --paper -c 2048 -r "$RATE" --sender-id "$part"; settle; sent=$((sent + 2048))
		ethtool -L "$DEV" combined "$part" || { mqcount_stop; step_fail channels "ethtool -L $part failed"; return; }
		sleep 2
	done
	host send --paper -c 2048 -r "$RATE" --sender-id 8; settle; sent=$((sent + 2048))
	kill -0 "$MQPID" || { step_fail channels "mqcount died during ethtool -L"; return; }
	mqcount_stop || { step_fail channels "mqcount exited $?: $(tail -2 "$W/chp.err")"; return; }
	if $CHECK total "$W/chp.json" "$sent" > "$W/chp.total"; then
		step_pass channels "xdp: -L refused ($(head -c 80 "$W/chx.ethtool" | tr '\n' ' ')), 2048 exact; packet: 4->2->4 queues, $(sed -n 's/^# //p' "$W/chp.total")"
	else
		step_fail channels "packet: capture across ethtool -L not exact"
	fi
}
channels

# step dump_queue: mqdump and `mqcap-pcap tcpdump` on queue 1 each write exactly the frames the driver counted on queue 1
dump_queue() {
	local c0 c1 want got tool
	# one after the other: one process at a time captures a device over AF_XDP (afxdp-multi)
	for tool in mqdump tcpdump; do
		c0=$(driver_counts)
		if [ "$tool" = mqdump ]; then
			"$BUILD/tools/mqdump/mqdump" -i "$DEV@1" -w "$W/q1.$tool" > "$W/$tool.out" 2> "$W/$tool.err" &
		else
			"$BUILD/pcap/mqcap-pcap" tcpdump -i "$DEV@1" -w "$W/q1.$tool" -U > "$W/$tool.out" 2> "$W/$tool.err" &
		fi
		local pid=$! i
		for i in $(seq 40); do [ -s "$W/q1.$tool" ] && break; sleep 0.5; done
		sleep 1
		host send --paper -c 2048 -r "$RATE"; settle
		kill -INT "$pid"; wait "$pid"
		c1=$(driver_counts)
		want=$(delta "$c0" "$c1" | awk '{print $2}')
		got=$(tcpdump -r "$W/q1.$tool" 2>/dev/null | wc -l)
		if [ "$got" != "$want" ] || [ "$want" -eq 0 ]; then
			step_fail dump_queue "$tool: queue 1: the driver counted $want, the file holds $got; $(tail -2 "$W/$tool.err")"
			return
		fi
	done
	step_pass dump_queue "queue 1: mqdump and tcpdump each wrote exactly the $want frames the driver counted"
}
dump_queue

# step sigkill: a SIGKILLed AF_XDP capture leaves no XDP program on the NIC
if mqcount_start kill -i "xdp:$DEV"; then
	kill -KILL "$MQPID"; wait "$MQPID" 2>/dev/null
	for i in $(seq 10); do ip link show "$DEV" | grep -q xdp || break; sleep 0.5; done
	if ip link show "$DEV" | grep -q xdp; then
		step_fail sigkill "$(ip link show "$DEV" | grep -o 'prog/xdp.*')"
	else
		step_pass sigkill "no XDP program left after SIGKILL"
	fi
else
	step_fail sigkill "mqcount did not start"
fi

rm -rf "$W"
exit "$STEP_FAILED"
