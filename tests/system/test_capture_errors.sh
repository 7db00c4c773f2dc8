#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Bad input to mqcap_open() on a 4-queue testbed: each is a clear error naming what is wrong,
# with the right errno, and nothing stays open (file descriptors counted inside the process
# around the failed open; device flags and XDP attachment checked after).
set -u
. "$MQCAP_SRC/tests/system/lib/testbed.sh"
tb_require_root
DUMP="$MQCAP_BUILD/tests/system/capture_dump"
[ -x "$DUMP" ] || tb_fail "capture_dump not built"
command -v setpriv >/dev/null || tb_fail "setpriv (util-linux) missing: cannot drop privileges"

dir=$(mktemp -d /tmp/mqcap-capXXXXXX)
tb_on_exit "rm -rf $dir"
tb_up "$(tb_unique_name capbad)" --queues 4
D=$RX_DEV
fails=0

# expect ERRNO MESSAGE-SUBSTRING capture_dump-args...
expect() {
	local errno=$1 msg=$2 out rc; shift 2
	out=$(tb_rx "$@" 2>&1); rc=$?
	if [ $rc -eq 1 ] && grep -q "^error errno=$errno msg=.*$msg.* fds_leaked=0\$" <<<"$out"; then
		echo "ok - ${*: -1}: $(sed -n 's/^error errno=\([A-Z]*\) msg=\(.*\) fds_leaked=0$/\1 "\2"/p' <<<"$out")"
	else
		echo "not ok - ${*: -1}: expected $errno '$msg', fds_leaked=0 and exit 1; got rc=$rc: $out"
		fails=$((fails + 1))
	fi
}
nobody=(setpriv --reuid 65534 --regid 65534 --clear-groups --inh-caps=-all --bounding-set=-all)

for be in packet auto; do
	expect ENODEV "no device named nosuchdev0 in this network namespace" "$DUMP" -b $be nosuchdev0
	expect ENODEV "$D has RX queues 0-3; queue 7 does not exist" "$DUMP" -b $be "$D@7"
	expect ENODEV "queue 4 does not exist" "$DUMP" -b $be "$D@2-5"
	expect EINVAL "$D@: missing queue number after '@'" "$DUMP" -b $be "$D@"
	expect EINVAL "$D@3-1: range end 1 below start 3" "$DUMP" -b $be "$D@3-1"
	expect EINVAL "filter 'tcp port': " "$DUMP" -b $be -f "tcp port" "$D"
	expect EINVAL "filter 'ip and fish': " "$DUMP" -b $be -f "ip and fish" "$D@1"
	expect EPERM "run as root" "${nobody[@]}" "$DUMP" -b $be -p "$D"
done
expect EINVAL "unknown backend prefix 'foo:'" "$DUMP" "foo:$D"
expect ENOENT "No such file" "$DUMP" "pcap:$dir/none.pcap"
printf 'not a capture file at all' > "$dir/junk.pcap"
expect EINVAL "unknown file format" "$DUMP" "pcap:$dir/junk.pcap"

# the literal names of the issue, on a machine without eth1: unknown device, not a crash
expect EINVAL "eth1@: missing queue number after '@'" "$DUMP" "eth1@"
expect EINVAL "eth1@3-1: range end 1 below start 3" "$DUMP" "eth1@3-1"

# backend auto: AF_XDP where native XDP works, AF_PACKET elsewhere (lo has no native XDP)
expect EOPNOTSUPP "no native XDP support" "$DUMP" -W 200 xdp:lo
out=$(tb_rx "$DUMP" -W 200 lo | head -1)
[ "$out" = "backend packet queues 1" ] && echo "ok - auto on lo falls back to packet" \
	|| { echo "not ok - auto on lo: $out"; fails=$((fails + 1)); }

# nothing left behind on the device: not promiscuous, no XDP program
flags=$(tb_rx ip -d link show dev "$D")
if ! grep -q 'promiscuity 0 ' <<<"$flags" || grep -q 'prog/xdp' <<<"$flags"; then
	echo "not ok - $D left promiscuous or with an XDP program: $flags"; fails=$((fails + 1))
else
	echo "ok - $D neither promiscuous nor carrying an XDP program after the failures"
fi

[ $fails -eq 0 ] || tb_fail "$fails checks failed"
echo "PASS"
