#!/bin/bash
# pinfoldd killed with SIGKILL during heavy appends, CRASHES times (50):
# each time the restarted daemon recovers, a copy of the log taken once it
# is up verifies with the log's key (exit 0), and the bytes a kill left
# torn are all in quarantine files, each named by a recovery record with
# its length and SHA-256. After the last round a clean stop leaves a log
# that verifies to its last record.
# shellcheck disable=SC2016 # ${workspace} in single quotes is the policy's
set -eu
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/agent.sh"

require_root
require_cmd python3
install_probe

CRASHES=${CRASHES:-50}
CONF=$TEST_TMP/etc
STATE=$TEST_TMP/state
STORM=$TEST_TMP/storm
mkdir -p "$CONF/agents.d" "$STORM"
chmod 0755 "$STORM"
{
	echo '[exec]'
	probe_exec_grants
	echo '[files]'
	probe_file_grants
	echo "read = $STORM"
	echo 'read = ${workspace}'
	echo 'write = ${workspace}'
} >"$CONF/agents.d/crash.ini"
# A checkpoint every few hundred records, so kills land around them too.
printf '[daemon]\ncheckpoint_records = 300\n' >"$CONF/pinfoldd.conf"
CG2=$(cg2_mount)
KEY=$TEST_TMP/audit.pub
torn_total=0

# The bytes after the last newline of the dead daemon's chain (a torn
# record is far shorter than the 1 MiB read).
torn_bytes() {
	python3 -c '
import os, sys
f = open(sys.argv[1], "rb")
f.seek(max(0, os.fstat(f.fileno()).st_size - (1 << 20)))
d = f.read()
print(len(d) - (d.rfind(b"\n") + 1))' "$STATE/audit/chain.jsonl"
}

# The running daemon's log, verified while the daemon is stopped: it is
# then between system calls, so no write is half done.
verify_running() {
	local rc=0
	kill -STOP "$PINFOLDD_PID"
	"$BUILD/chain-verify" -q --key "$KEY" "$STATE/audit" 2>"$TEST_TMP/verify.err" || rc=$?
	kill -CONT "$PINFOLDD_PID"
	[ "$rc" -eq 0 ] || fail "round $1: the recovered log does not verify (exit $rc): $(cat "$TEST_TMP/verify.err")"
}

kill_sessions() {
	local d
	for d in "$CG2"/pinfold/crash/*/; do
		[ -d "$d" ] && echo 1 >"$d/cgroup.kill" 2>/dev/null
	done
	return 0
}

for round in $(seq "$CRASHES"); do
	start_daemon "$CONF" "$STATE"
	[ -s "$KEY" ] || "$BUILD/pinfold" audit pubkey --state-dir "$STATE" >"$KEY"
	verify_running "$round"
	spawn "$BUILD/pinfold" --socket "$SOCK" run --agent crash --workspace "$TEST_TMP/ws" -- \
		"$PROBE" openstorm "$STORM" 100000000
	client=$!
	sleep "$(printf '0.%02d' $((RANDOM % 16 + 5)))"
	kill -KILL "$PINFOLDD_PID"
	wait "$PINFOLDD_PID" 2>/dev/null || true
	PINFOLDD_PID=
	rm -f "$TEST_TMP/.lib/daemon"
	kill_sessions
	kill -KILL "$client" 2>/dev/null || true
	wait "$client" 2>/dev/null || true
	n=$(torn_bytes)
	torn_total=$((torn_total + n))
	# A torn tail alone is exit 3; the next start sets it aside.
	if [ "$n" -gt 0 ]; then
		rc=0
		"$BUILD/chain-verify" -q --key "$KEY" "$STATE/audit" 2>/dev/null || rc=$?
		assert_eq 3 "$rc" "round $round: chain-verify of a log with $n torn bytes"
	fi
done
log "$CRASHES kills, $torn_total bytes left torn"

start_daemon "$CONF" "$STATE"
stop_daemon
out=$("$BUILD/chain-verify" --key "$KEY" "$STATE/audit") || fail "the final log does not verify"
log "$out"
grep -q ', 0 records after it unsigned$' <<<"$out" || fail "the clean stop left no final checkpoint: $out"
starts=$(cat "$STATE"/audit/chain-*.jsonl "$STATE/audit/chain.jsonl" 2>/dev/null |
	grep -c '^{"seq":[0-9]*,"prev":"[0-9a-f]*","type":"daemon-start"')
assert_eq "$((CRASHES + 1))" "$starts" "daemon-start records in all segments"

# Every torn byte is in a quarantine file that a recovery record names,
# with the length and SHA-256 of what it holds.
python3 - "$STATE/audit" "$torn_total" <<'PY' || fail "quarantined bytes are not accounted for"
import hashlib, json, os, sys
d, torn = sys.argv[1], int(sys.argv[2])
names = sorted(f for f in os.listdir(d) if f.startswith("chain-")) + ["chain.jsonl"]
rec = [r for n in names for r in map(json.loads, open(os.path.join(d, n)))
       if r["type"] == "recovery"]
total = 0
for r in rec:
    data = open(os.path.join(d, r["quarantine"]), "rb").read()
    assert len(data) == r["length"], r
    assert hashlib.sha256(data).hexdigest() == r["sha256"], r
    total += r["length"] if r["file"] == "chain.jsonl" else 0
files = [f for f in os.listdir(d) if f.startswith("quarantine-")]
print(f"-- {len(rec)} recovery records, {total} bytes of chain set aside, {len(files)} files",
      file=sys.stderr)
sys.exit(0 if total == torn and len(files) == len(rec) else 1)
PY
