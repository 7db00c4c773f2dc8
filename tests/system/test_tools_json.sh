#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# test_tools_json - the tools' JSON stays JSON whatever a device is called (issue 11, item
# 8): Linux allows '"' and '\' in interface names, and mqtune --json and mqsend --json
# printed them unescaped. A veth named a"b\c in a namespace of our own; both
# tools' output must parse, and carry the name back exactly.
set -u
: "${MQCAP_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${MQCAP_BUILD:=$MQCAP_SRC/build}"
. "$MQCAP_SRC/tests/system/lib/testbed.sh"
tb_require_root
MQTUNE="$MQCAP_BUILD/tools/mqtune/mqtune"
MQSEND="$MQCAP_BUILD/tools/mqsend/mqsend"
NS=$(tb_unique_name json)
DEV='a"b\c'
dir=$(mktemp -d /tmp/mqcap-json.XXXXXX)
tb_on_exit "rm -rf $dir"
ip netns add "$NS" || tb_fail "cannot create namespace $NS"
tb_on_exit "ip netns del $NS"
ip -n "$NS" link add "$DEV" type veth peer name jpeer || tb_fail "cannot create a veth named $DEV"
ip -n "$NS" link set "$DEV" up && ip -n "$NS" link set jpeer up || tb_fail "cannot bring $DEV up"

check() { # WHAT FILE PYTHON-EXPR-ON-d
	python3 - "$2" "$3" <<'PY' || tb_fail "$1: $(cat "$2")"
import json, sys
d = json.loads(open(sys.argv[1]).read().splitlines()[-1])
if not eval(sys.argv[2]):
    print('the JSON parses, but does not say what it should')
    sys.exit(1)
PY
	tb_log "ok: $1"
}

ip netns exec "$NS" "$MQTUNE" --json "$DEV" >"$dir/tune.json" 2>"$dir/tune.err" ||
	tb_fail "mqtune --json failed: $(cat "$dir/tune.err")"
check 'mqtune --json: the device name, escaped' "$dir/tune.json" \
	'd["devices"][0]["name"] == "a\"b\\c" and d["plan"][0]["dev"] == "a\"b\\c"'

ip netns exec "$NS" "$MQSEND" -i "$DEV" -c 10 -s 64 -P udp --dst 198.18.0.2 \
	--dst-mac 02:00:00:00:00:02 --json >"$dir/send.json" 2>"$dir/send.err" ||
	tb_fail "mqsend --json failed: $(cat "$dir/send.err")"
check 'mqsend --json: the device name, escaped' "$dir/send.json" \
	'd["device"] == "a\"b\\c" and d["packets"] == 10'
echo "PASS: test_tools_json"
