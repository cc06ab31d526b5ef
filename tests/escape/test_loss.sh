#!/bin/bash
# Events the kernel could not queue are counted and chained, never silently
# lost, and a flood hides no denial. With a ring buffer of one page, an
# agent floods distinct opens while it also tries a forbidden connect and a
# forbidden write: both fail in the kernel, the chain holds loss records,
# and their counts add up to the kernel's drop counter.
# shellcheck disable=SC2016 # ${workspace} in single quotes is the policy's
set -eu
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/agent.sh"

require_root
require_cmd python3
install_probe

CONF=$TEST_TMP/etc
STATE=$TEST_TMP/state
STORM=$TEST_TMP/storm
DROP=$(mktemp -d "$TEST_TMP/drop.XXXXXX")
chmod 1777 "$DROP"
mkdir -p "$CONF/agents.d" "$STORM"
chmod 0755 "$STORM"
{
	echo '[exec]'
	probe_exec_grants
	echo 'allow = /usr/bin/dash'
	echo '[files]'
	probe_file_grants
	echo "read = $STORM"
	echo 'read = ${workspace}'
	echo 'write = ${workspace}'
	echo 'write = /dev/null'
	# dash gives a background job /dev/null as its stdin.
	echo 'read = /dev/null'
	echo '[network]'
	echo 'connect = 127.0.0.1/32 *'
} >"$CONF/agents.d/flood.ini"

start_daemon "$CONF" "$STATE" --ringbuf-size 4096
port=$(free_port)
out=$(pf run --agent flood --workspace "$TEST_TMP/ws" -- /usr/bin/dash -c "
	'$PROBE' openstorm '$STORM' 200000 >/dev/null &
	'$PROBE' connect 127.0.0.2 $port
	'$PROBE' write '$DROP/planted'
	wait" 2>&1) || true
stop_daemon

printf '%s\n' "$out" | head -n 1 | grep -qx EPERM ||
	fail "forbidden connect during the flood: '$out', expected EPERM first"
printf '%s\n' "$out" | sed -n 2p | grep -qx EACCES ||
	fail "forbidden write during the flood: '$out', expected EACCES second"
[ ! -e "$DROP/planted" ] || fail "the forbidden write created '$DROP/planted'"

# The drop counter is per-CPU in the kernel; the loss records carry the
# running total and the increment, so the increments must add up to the
# last total, and it must be more than nothing.
python3 - "$STATE/audit/chain.jsonl" <<'EOF' || fail "loss records do not account for the drops"
import json, sys
loss = [r for r in map(json.loads, open(sys.argv[1])) if r["type"] == "loss"
        and "ring buffer" in r["reason"]]
total = max((r["total"] for r in loss), default=0)
counted = sum(r["count"] for r in loss)
print(f"{len(loss)} loss records, {counted} events counted, total {total}", file=sys.stderr)
sys.exit(0 if total > 0 and counted == total else 1)
EOF
"$BUILD/chain-verify" -q "$STATE/audit" || fail "chain-verify failed after the flood"
