#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# A virtual device looks like a device to the calls programs make about it (issue 23, items 4
# and 5), through mqcap-pcap with pcap_probe (libpcap only) on a 4-queue testbed:
#   - ioctl SIOCGIFFLAGS, MTU, INDEX, HWADDR, ADDR, NETMASK, BRDADDR, if_nametoindex and
#     pcap_lookupnet on DEV@q answer what they answer on DEV (before: ENODEV from the
#     kernel, and a flow monitor exited); a queue DEV lacks, or a device that does not exist,
#     is still ENODEV; names with a backend prefix through if_nametoindex and pcap_lookupnet
#     (an ifreq holds 15 bytes of name: the prefixed names of this testbed do not fit);
#   - pcap_setdirection: IN and INOUT accepted on xdp: (an RX queue has incoming packets
#     only), OUT refused with a message; all three on packet:;
#   - xdp: on a device with addresses: pcap_activate returns 0 (not PCAP_WARNING, which
#     made a program exit 1), the warning on the standard error.
set -u
. "$MQCAP_SRC/tests/system/pcap_common.sh"
pcap_testbed 200
P=("$WRAP" "$PROBE")
D=$RX_DEV
[ ${#D} -le 13 ] || tb_fail "$D: the test needs DEV@q to fit an ifreq's 15 bytes"

ifreq() { tb_rx "${P[@]}" -m ifreq "$1" 2>&1; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

plain=$(ifreq "$D")
tb_log "$D: $plain"
check "plain $D: libc answers every field (flags, index, the address $RX_IP)" eval \
	'! grep -q "=E" <<<"$plain" && [ "$(field addr "$plain")" = "$RX_IP" ] &&
	 [ "$(field nametoindex "$plain")" != 0 ]'
for v in "$D@1" "$D@3" "$D@0-1" "$D@1,3"; do
	out=$(ifreq "$v")
	check "$v: the same answers as $D: ${out#ifreq }" [ "${out#ifreq }" = "${plain#ifreq }" ]
done
idx=$(field nametoindex "$plain")
ln=$(field lookupnet "$plain")
for v in "xdp:$D@2" "packet:$D@0-3" "packet:$D"; do
	out=$(ifreq "$v")
	check "$v: if_nametoindex $idx, pcap_lookupnet $ln: $(field nametoindex "$out"), $(field lookupnet "$out")" \
		eval '[ "$(field nametoindex "$out")" = "$idx" ] && [ "$(field lookupnet "$out")" = "$ln" ]'
done
for v in "$D@4" "nosuch0@1" "$D,lo@1"; do
	out=$(ifreq "$v")
	check "$v: still no such device: ${out#ifreq }" eval \
		'[ "$(field flags "$out")" = EENODEV ] && [ "$(field hwaddr "$out")" = EENODEV ] &&
		 [ "$(field nametoindex "$out")" = 0 ]'
done

# an ifreq holds 15 bytes of the name: a longer one only through if_nametoindex
out=$(ifreq "$D@1-7")
check "$D@1-7: if_nametoindex says no such device: $(field nametoindex "$out")" [ "$(field nametoindex "$out")" = 0 ]

# pcap_setdirection and the activation's warning
xdp_ok=1
out=$(tb_rx "${P[@]}" -m open "xdp:$D@1" 2>&1)
if grep -q "loading the XDP program failed" <<<"$out"; then
	xdp_ok=0   # the kernel lacks what the XDP program needs (test_pcap_read.sh says more)
	tb_log "SKIP the xdp: cases: this kernel does not load mqcap's XDP program: $out"
fi
dir() { tb_rx "${P[@]}" -m open -D "$1" "$2" 2>&1; }
for d in in inout out; do
	out=$(dir $d "packet:$D@1")
	check "packet:$D@1: pcap_setdirection($d) accepted: $(grep direction <<<"$out")" \
		grep -q "^direction rc=0 " <<<"$out"
done
if [ $xdp_ok = 1 ]; then
	for d in in inout; do
		out=$(dir $d "xdp:$D@1")
		check "xdp:$D@1: pcap_setdirection($d) accepted: $(grep direction <<<"$out")" \
			grep -q "^direction rc=0 " <<<"$out"
	done
	out=$(dir out "xdp:$D@1")
	check "xdp:$D@1: pcap_setdirection(out) refused, saying why: $(grep direction <<<"$out")" \
		grep -q "^direction rc=-1 msg=.*PCAP_D_OUT.*incoming packets only" <<<"$out"
	out=$(tb_rx "${P[@]}" -m nextex -W 500 "xdp:$D@1" 2>&1)
	check "xdp:$D@1 on a device with $RX_IP: pcap_activate returns 0, the warning on stderr: $(grep -E 'warning|^open' <<<"$out" | tr '\n' ' ')" \
		eval 'grep -q "^open .* activate=0$" <<<"$out" && grep -q "^mqcap-pcap: warning: .*$RX_IP/24" <<<"$out"'
else
	echo "ok - xdp: pcap_setdirection and the activation's warning # SKIP xdp unusable here"
fi

check "nothing of mqcap left on $D (no XDP program, not promiscuous)" pcap_clean
[ $fails -eq 0 ] || tb_fail "$fails checks failed"
echo "PASS"
