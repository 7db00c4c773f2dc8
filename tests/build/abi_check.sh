#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# abi_check.sh LIBMQCAP.so PROBE_1_0 PROBE_NOW PCAP INCLUDE_DIR - the library's ABI (MQCAP_1.0):
#   1. exports: libmqcap.so exports exactly the functions declared in include/mqcap/*.h (no
#      mqcap__* internal but the one ring.h's inline code calls), every one versioned MQCAP_1.x;
#   2. a program built against the frozen 1.0 headers (tests/build/abi-1.0), run on this
#      library, reads what one built against today's headers reads, field by field;
#   3. a struct grown past the library's gets zeros there; a size below 1.0's is refused.
# Why this and not abidiff against a stored dump: it needs no extra package and no debug
# information, and it runs what a user's old binary does instead of comparing type graphs.
set -uo pipefail
lib=$1 old=$2 now=$3 pcap=$4 inc=$5
rc=0

exported=$(objdump -T "$lib" | awk '$2 ~ /g/ && $4 == ".text" {print $6, $7}' | sort)
unversioned=$(awk '$2 == "" || $1 !~ /^MQCAP_1\./' <<<"$exported" | awk '{print $NF}')
[ -z "$unversioned" ] || { echo "FAIL: exported without a MQCAP_1.x version: $unversioned"; rc=1; }
names=$(awk '{print $2}' <<<"$exported" | sort)
declared=$(python3 - "$inc" <<'PY'
import re, sys, glob
names = set()
for h in glob.glob(sys.argv[1] + '/mqcap/*.h'):
    s = re.sub(r'/\*.*?\*/', ' ', open(h).read(), flags=re.S)
    s = re.sub(r'#ifdef __cplusplus.*?#endif', ' ', s, flags=re.S)
    s = re.sub(r'(?m)^\s*#(.*\\\n)*.*$', ' ', s)          # preprocessor lines, continued ones too
    flat, depth = [], 0                                       # drop every {...}: bodies, structs
    for ch in s:
        if ch == '{':
            depth += 1
            if depth == 1:
                flat.append('{;')
        elif ch == '}':
            depth -= 1
        elif depth == 0:
            flat.append(ch)
    s = ''.join(flat)
    for m in re.finditer(r'([^;{}]*?)\(?\b(mqcap_\w+)\)?\s*\(([^;{}]*?)\)\s*(__attribute__\s*\(\(.*?\)\))?\s*([;{])', s, re.S):
        head, name, end = m.group(1), m.group(2), m.group(5)
        if end == ';' and not re.search(r'\b(static|inline|typedef)\b', head) and 'MQCAP_RING_INLINE' not in head:
            names.add(name)
print('\n'.join(sorted(names)))
PY
)
missing=$(comm -13 <(echo "$names") <(echo "$declared"))
extra=$(comm -23 <(echo "$names") <(echo "$declared"))
[ -z "$missing" ] || { echo "FAIL: declared in include/mqcap but not exported (add to src/libmqcap.map):"; echo "$missing"; rc=1; }
[ -z "$extra" ] || { echo "FAIL: exported but not declared in include/mqcap (internal: keep it local):"; echo "$extra"; rc=1; }
[ $rc -eq 0 ] && echo "ok - exports: $(wc -l <<<"$names") functions, all declared in include/mqcap, all MQCAP_1.x"
[ "$(wc -l <<<"$names")" -ge 100 ] || { echo "FAIL: only $(wc -l <<<"$names") exports"; rc=1; }

out_old=$("$old" "$pcap") || { echo "FAIL: the 1.0 probe failed:"; echo "$out_old"; rc=1; }
out_now=$("$now" "$pcap") || { echo "FAIL: the probe built now failed:"; echo "$out_now"; rc=1; }
if [ "$out_old" = "$out_now" ]; then
	echo "ok - a 1.0 program reads the same as one built now ($(wc -l <<<"$out_now") lines)"
else
	echo "FAIL: built against 1.0 vs now:"; diff <(echo "$out_old") <(echo "$out_now"); rc=1
fi
grep -q "^handle received [1-9]" <<<"$out_now" || { echo "FAIL: the probe read no packet"; rc=1; }
grep -q "^mqcap_queue_info(7) -22 message ." <<<"$out_now" ||
	{ echo "FAIL: mqcap_queue_info of a queue that does not exist: $(grep 'info(7)' <<<"$out_now")"; rc=1; }
"$now" "$pcap" --grown || rc=1
[ $rc -eq 0 ] && echo "PASS"
exit $rc
