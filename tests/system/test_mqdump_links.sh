#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# test_mqdump_links - files created in a directory others can write (issue 26 part 1): a
# world-writable sticky directory (as /tmp) owned by nobody, where nobody planted symbolic links
# to a file of root's (the victim) at every name mqdump and the metrics writer use:
#   1. NAME.part: refused with a clear error ("exists"), the link and the victim untouched;
#      with --force the link (not its target) is removed and the file made;
#   2. the final NAME: refused without --force; with --force the link itself is replaced;
#   3. a rotated file's .part (the second file's): the run stops with the error, victim intact;
#   4. the metrics file's temporary name: mqdump is pid 1 in a PID namespace, so the old
#      FILE.tmp.PID was FILE.tmp.1: links at FILE.tmp.1..9 and at FILE: the victim untouched,
#      FILE a regular file with the metrics;
#   5. modes from the umask (027: 0640), as tcpdump's savefiles;
#   6. -Z nobody with rotation and a metrics file: every file of the run, the first included,
#      belongs to nobody; into a directory nobody cannot write, the run fails naming the file
#      and nothing is created (the files are not made by root).
# Reads a pcap file (pcap:FILE): no testbed needed.
set -u
. "$MQCAP_SRC/tests/system/mqdump_lib.sh"
tb_need unshare

python3 - "$dir/in.pcap" <<PY || tb_fail "cannot write the input pcap"
import sys
sys.path.insert(0, "$MQCAP_SRC/tests/system/lib")
import pktlib as p
p.write_pcap(sys.argv[1], p.flow_frames(3000, 100, "udp", size=200))
PY

S="$dir/shared"
V="$dir/victim"
mkdir "$S" && chown nobody "$S" && chmod 1777 "$S"
chmod 755 "$dir"
printf 'precious\n' > "$V"
plant() { ln -s "$V" "$S/$1" && chown -h nobody "$S/$1"; }
intact() { [ "$(cat "$V")" = precious ] && [ "$(stat -c %U "$V")" = root ]; }
is_link() { [ -L "$S/$1" ] && [ "$(readlink "$S/$1")" = "$V" ]; }
md() { "$MQDUMP" -q -i "pcap:$dir/in.pcap" "$@"; }
clean() { find "$S" -mindepth 1 -delete; }

# 1. NAME.part
plant a.pcapng.part
md -w "$S/a.pcapng" > "$dir/1.out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "a.pcapng.part exists" "$dir/1.out" && ok ".part link: refused, exit 1 ($(head -1 "$dir/1.out"))" ||
	nok ".part link: exit $rc: $(cat "$dir/1.out")"
check ".part link: the victim is untouched" intact
check ".part link: the link is still there, unchanged" is_link a.pcapng.part
[ ! -e "$S/a.pcapng" ] && ok ".part link: no final file" || nok ".part link: a.pcapng was made"
md -w "$S/a.pcapng" --force > "$dir/1f.out" 2>&1 && ok ".part link, --force: exit 0" ||
	nok ".part link, --force: $(cat "$dir/1f.out")"
check ".part link, --force: the victim is untouched" intact
[ -f "$S/a.pcapng" ] && [ ! -L "$S/a.pcapng" ] && [ ! -e "$S/a.pcapng.part" ] &&
	[ "$(python3 "$CHECK" count "$S/a.pcapng")" = 3000 ] &&
	ok ".part link, --force: a.pcapng is a regular file with the 3000 packets, no .part left" ||
	nok ".part link, --force: $(ls -l "$S")"
clean

# 2. the final name
plant b.pcapng
md -w "$S/b.pcapng" > "$dir/2.out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "b.pcapng exists" "$dir/2.out" && ok "final-name link: refused, exit 1" ||
	nok "final-name link: exit $rc: $(cat "$dir/2.out")"
check "final-name link: untouched" is_link b.pcapng
[ ! -e "$S/b.pcapng.part" ] && ok "final-name link: no .part left" || nok "final-name link: $(ls "$S")"
md -w "$S/b.pcapng" --force > "$dir/2f.out" 2>&1 && ok "final-name link, --force: exit 0" ||
	nok "final-name link, --force: $(cat "$dir/2f.out")"
[ -f "$S/b.pcapng" ] && [ ! -L "$S/b.pcapng" ] && ok "final-name link, --force: replaced by the file" ||
	nok "final-name link, --force: $(ls -l "$S")"
check "final-name link: the victim is untouched" intact
clean

# 3. a rotated file's .part
plant c_00001.pcapng.part
md -w "$S/c.pcapng" --file-packets 1000 > "$dir/3.out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "c_00001.pcapng.part exists" "$dir/3.out" &&
	ok "rotated .part link: the run stops with the error" || nok "rotated .part link: exit $rc: $(cat "$dir/3.out")"
check "rotated .part link: the victim is untouched" intact
check "rotated .part link: the link is unchanged" is_link c_00001.pcapng.part
clean

# 4. the metrics file: links at every name the old writer could use, and at the file itself
for i in $(seq 1 9); do plant "m.prom.tmp.$i"; done
plant m.prom
unshare --pid --fork --mount-proc "$MQDUMP" -q -i "pcap:$dir/in.pcap" -w "$S/m.pcapng" \
	--metrics-file "$S/m.prom" > "$dir/4.out" 2>&1 && ok "metrics: exit 0" || nok "metrics: $(cat "$dir/4.out")"
check "metrics: the victim is untouched" intact
[ -f "$S/m.prom" ] && [ ! -L "$S/m.prom" ] && grep -q '^mqcap_' "$S/m.prom" &&
	ok "metrics: m.prom is a regular file with the metrics" || nok "metrics: $(ls -l "$S")"
n=$(for i in $(seq 1 9); do is_link "m.prom.tmp.$i" && echo; done | wc -l)
[ "$n" -eq 9 ] && ok "metrics: the links at m.prom.tmp.1..9 are untouched" || nok "metrics: $n of 9 links left"
left=$(find "$S" -name 'm.prom.tmp.*' ! -type l | wc -l)
[ "$left" -eq 0 ] && ok "metrics: no temporary file left" || nok "metrics: $left temporary files left"
clean

# 5. modes from the umask
(umask 027 && md -w "$S/u.pcapng" --metrics-file "$S/u.prom") > "$dir/5.out" 2>&1 || nok "umask 027: $(cat "$dir/5.out")"
modes="$(stat -c %a "$S/u.pcapng") $(stat -c %a "$S/u.prom")"
[ "$modes" = "640 640" ] && ok "umask 027: the file and the metrics file are 0640" || nok "umask 027: modes $modes"
clean

# 6. -Z nobody: every file of the run is nobody's
md -Z nobody -w "$S/z.pcapng" --file-packets 700 --metrics-file "$S/z.prom" > "$dir/6.out" 2>&1 ||
	nok "-Z nobody: $(cat "$dir/6.out")"
ls -l "$S"
files=$(find "$S" -name 'z_*.pcapng' | wc -l)
others=$(find "$S" -mindepth 1 ! -user nobody | wc -l)
[ "$files" -eq 5 ] && [ "$others" -eq 0 ] && [ -f "$S/z.prom" ] &&
	ok "-Z nobody: the 5 files (first and rotated) and the metrics file all belong to nobody" ||
	nok "-Z nobody: $files files, $others not nobody's"
clean
R="$dir/rootonly"
mkdir "$R" && chmod 755 "$R"
md -Z nobody -w "$R/r.pcapng" > "$dir/6r.out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "cannot create $R/r.pcapng.part: Permission denied" "$dir/6r.out" &&
	ok "-Z nobody into root's directory: exit 1, '$(grep -m1 'cannot create' "$dir/6r.out")'" ||
	nok "-Z nobody into root's directory: exit $rc: $(cat "$dir/6r.out")"
[ -z "$(ls -A "$R")" ] && ok "-Z nobody into root's directory: nothing created" || nok "root's directory: $(ls -A "$R")"
check "the victim is untouched at the end" intact
mqd_done
