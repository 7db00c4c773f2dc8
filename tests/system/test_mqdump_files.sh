#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# mqdump's files, fed from a pcap file through the same runtime (pcap:FILE), so every count
# is exact (issue 14):
#  - -C: no file passes the size, every file complete, together every packet in order;
#  - --file-packets: every file but the last holds exactly N packets;
#  - -W 3: only the 3 newest files remain; -z ran once per finished file, on its final name;
#  - disk full (a 192 KiB tmpfs): exit 1 with the reason, no .part left, the file closed valid
#    (tshark, libpcap), captured = written + write drops with drops > 0 (pcapng and pcap);
#  - bad input: read-only and missing directories, unknown pattern conversions, an existing
#    file without --force (left untouched), -W without rotation: clear errors, no files made.
set -u
. "$MQCAP_SRC/tests/system/mqdump_lib.sh"
python3 - "$dir/in.pcap" <<PY || tb_fail "cannot write the input pcap"
import sys
sys.path.insert(0, "$MQCAP_SRC/tests/system/lib")
import pktlib as p
p.write_pcap(sys.argv[1], p.flow_frames(2600, 300, "udp", size=200)
             + p.flow_frames(400, 40, "tcp", vlan=(7,), size=120))
PY
# The pcap backend reads every packet as queue 0: predict queue 0 for all.
RSS_KEY=$(printf '6d5a%.0s' $(seq 20)) RSS_TABLE=$(printf '0%.0s,' $(seq 127))0 \
	"$DUMP" -P "pcap:$dir/in.pcap" > "$dir/sent.txt" || tb_fail "reading in.pcap"
nsent=$(grep -c '^pkt' "$dir/sent.txt")
[ "$nsent" -eq 3000 ] || tb_fail "expected 3000 input frames, got $nsent"

md() { "$MQDUMP" -q -i "pcap:$dir/in.pcap" "$@"; }

# ---- -C: size ----
mkdir "$dir/c"
md -w "$dir/c/s.pcapng" -C 100k > "$dir/c.out" || nok "-C run failed: $(cat "$dir/c.out")"
files=$(ls "$dir"/c/* | sort)
n=$(wc -w <<<"$files"); big=$(stat -c %s $files | awk '$1 > 100000' | wc -l)
[ "$n" -ge 6 ] && [ "$big" -eq 0 ] && ok "-C 100k: $n files, none over 100000 bytes ($(stat -c %s $files | sort -n | tail -1) the largest)" \
	|| nok "-C 100k: $n files, $big over 100000 bytes"
check "-C: together every packet, in order" python3 "$CHECK" frames "$dir/sent.txt" all $files
check "-C: every file readable by tshark, capinfos and libpcap" readable $files
[ "$(basename "$(head -1 <<<"$files")")" = s_00000.pcapng ] && ok "-C: file numbers go before the extension (s_00000.pcapng)" \
	|| nok "-C: first file is $(head -1 <<<"$files")"

# ---- --file-packets ----
mkdir "$dir/p"
md -w "$dir/p/%n.pcapng" --file-packets 700 > "$dir/p.out" || nok "--file-packets run failed"
counts=$(for f in $(ls "$dir"/p/* | sort); do python3 "$CHECK" count "$f"; done | tr '\n' ' ')
[ "$counts" = "700 700 700 700 200 " ] && ok "--file-packets 700: files of $counts" || nok "--file-packets 700: files of $counts"
check "--file-packets: together every packet, in order" python3 "$CHECK" frames "$dir/sent.txt" all $(ls "$dir"/p/* | sort)

# ---- -W ring and -z ----
mkdir "$dir/w"
md -w "$dir/w/r.pcap" -F pcap --file-packets 500 -W 3 -z "echo >> $dir/z.log" > "$dir/w.out" || nok "-W run failed"
left=$(cd "$dir/w" && ls | tr '\n' ' ')
[ "$left" = "r_00003.pcap r_00004.pcap r_00005.pcap " ] && ok "-W 3: the three newest files remain: $left" || nok "-W 3: left $left"
zl=$(sed "s|$dir/w/||" "$dir/z.log" | tr '\n' ' ')
[ "$zl" = "r_00000.pcap r_00001.pcap r_00002.pcap r_00003.pcap r_00004.pcap r_00005.pcap " ] \
	&& ok "-z ran on each finished file, by its final name: $zl" || nok "-z log: $zl"
check "-W: the files left are readable" readable "$dir"/w/*

# ---- disk full ----
for fmt in pcapng pcap; do
	m="$dir/full-$fmt"
	mkdir "$m" && mount -t tmpfs -o size=192k mqdump-test "$m" || tb_fail "cannot mount a tmpfs"
	tb_on_exit "umount $m"
	"$MQDUMP" -i "pcap:$dir/in.pcap" -w "$m/%q.$fmt" -F "$fmt" --json > "$dir/full.out" 2> "$dir/full.err"; rc=$?
	grep -q 'No space left on device' "$dir/full.err" && [ $rc -eq 1 ] \
		&& ok "disk full ($fmt): exit 1, '$(head -1 "$dir/full.err")'" || nok "disk full ($fmt): rc $rc, $(cat "$dir/full.err")"
	read -r cap wr wd < <(python3 -c '
import json, sys
s = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")][-1]["total"]
print(s["captured"], s["written"], s["write_drops"])' "$dir/full.out")
	inf=$(python3 "$CHECK" count "$m/0.$fmt" 2>/dev/null)
	[ "$cap" -eq $((wr + wd)) ] && [ "$wd" -gt 0 ] && [ "${inf:-x}" = "$wr" ] \
		&& ok "disk full ($fmt): captured $cap = written $wr + write drops $wd, and the file holds $inf" \
		|| nok "disk full ($fmt): captured $cap written $wr drops $wd, file ${inf:-unreadable}"
	[ ! -e "$m/0.$fmt.part" ] && readable "$m/0.$fmt" && ok "disk full ($fmt): file completed and readable to its last packet" \
		|| nok "disk full ($fmt): $(ls "$m")"
	[ "$fmt" = pcapng ] && { python3 "$CHECK" frames "$dir/sent.txt" all "$m/0.$fmt" >/dev/null; \
		python3 "$CHECK" read "$m/0.$fmt" | grep -q '^isb' && echo "  (its ISB made it too)"; }
	umount "$m"
done

# ---- bad input ----
bad() { # bad NAME WANT_RC WANT_MSG ARGS...
	local name=$1 want=$2 msg=$3 rc; shift 3
	md "$@" > "$dir/bad.out" 2> "$dir/bad.err"; rc=$?
	if [ $rc -eq "$want" ] && grep -q -- "$msg" "$dir/bad.err"; then ok "$name: '$(head -1 "$dir/bad.err")'"
	else nok "$name: rc $rc, '$(cat "$dir/bad.err")'"; fi
}
mkdir "$dir/ro" && mount -t tmpfs -o ro,size=64k mqdump-ro "$dir/ro" || tb_fail "cannot mount a read-only tmpfs"
tb_on_exit "umount $dir/ro"
bad "unwritable directory" 1 "Read-only file system" -w "$dir/ro/x.pcapng"
bad "missing directory" 1 "No such file or directory" -w "$dir/nowhere/x.pcapng"
bad "unknown conversion" 2 "'%k' is not a conversion" -w "$dir/x%k.pcapng"
bad "a lone % at the end" 2 "is not a conversion" -w "$dir/x%"
bad "-W without rotation" 2 "-W needs a rotation" -w "$dir/x.pcapng" -W 3
bad "bad format" 2 "expected pcapng or pcap" -w "$dir/x.pcapng" -F pcapx
bad "no -w" 2 "give -w PATTERN"
echo keep > "$dir/exists.pcapng"
bad "existing file without --force" 1 "exists (use --force" -w "$dir/exists.pcapng"
[ "$(cat "$dir/exists.pcapng")" = keep ] && ok "the existing file is untouched" || nok "the existing file was changed"
made=$(ls "$dir" | grep -c -e '^x' -e '\.part$')
[ "$made" -eq 0 ] && ok "no file was made by a refused run" || nok "$made files made by refused runs: $(ls "$dir")"
md -w "$dir/exists.pcapng" --force > /dev/null && readable "$dir/exists.pcapng" \
	&& ok "--force overwrites it with a valid file" || nok "--force"

mqd_done
