#!/bin/bash
# Approvals under load: 200 connects held at once in one session, and 8
# uids flooding the control socket with hostile clients (oversized and
# malformed messages, refused verbs, silent connections), while an approver
# decides some of the held connects one at a time. Each `pinfold approve`,
# the whole command from start to exit as approver uid 4242 (its decision
# synced to disk before the reply), must come back within 50 ms; the
# approved connects must get out and the others must not.
# shellcheck disable=SC2016 # ${workspace} in single quotes is the policy's
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent.sh"

require_root
require_cmd python3 setpriv
install_probe

HELD=${APPROVAL_LOAD_HELD:-200}
DECIDED=20
LIMIT_MS=50
PORT0=23000
CONF=$TEST_TMP/etc
STATE=$TEST_TMP/state
WS=$TEST_TMP/ws
mkdir -p "$CONF/agents.d"
{
	echo '[exec]'
	probe_exec_grants
	echo '[files]'
	probe_file_grants
	echo 'read = ${workspace}'
	echo 'write = ${workspace}'
	echo '[network]'
	echo "approve = 127.0.0.1/32 $PORT0-$((PORT0 + HELD - 1))"
	echo '[approval]'
	echo 'approvers = 4242'
} >"$CONF/agents.d/ld.ini"

start_daemon "$CONF" "$STATE"

pending() {
	pf approvals --json | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))'
}

all_held() {
	[ "$(pending)" -eq "$HELD" ]
}

# Nothing listens on these ports: a connect that gets out is refused by
# the loopback stack (ECONNREFUSED), one that does not gets EPERM.
spawn "$BUILD/pinfold" --socket "$SOCK" run --agent ld --workspace "$WS" -- \
	"$PROBE" connectfan "$HELD" 127.0.0.1 "$PORT0" >"$TEST_TMP/fan.out" 2>/dev/null
fan=$!
wait_until 30 all_held || fail "only $(pending) of $HELD connects are held"

pf approvals --json >"$TEST_TMP/held.json"
mapfile -t ids < <(python3 -c '
import json, sys
for a in json.load(open(sys.argv[1]))[: int(sys.argv[2])]:
    print(a["request"], a["object"])' "$TEST_TMP/held.json" "$DECIDED")
[ "${#ids[@]}" -eq "$DECIDED" ] || fail "listed ${#ids[@]} requests, wanted $DECIDED"

python3 "$(dirname "$0")/control_clients.py" flood "$SOCK" 4 $(seq 60010 60017) \
	>"$TEST_TMP/flood.out" &
flood=$!
track_pid "$flood"
sleep 1
python3 - "$BUILD/pinfold" "$SOCK" "$LIMIT_MS" "${ids[@]}" <<'EOF' || fail "approvals were slow"
import subprocess, sys, time
cli, sock, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
times = []
for item in sys.argv[4:]:
    rid = item.split()[0]
    t0 = time.perf_counter()
    subprocess.run(["setpriv", "--reuid=4242", "--regid=4242", "--clear-groups",
                    cli, "--socket", sock, "approve", rid], check=True)
    times.append((time.perf_counter() - t0) * 1000)
times.sort()
print(f"approve with {len(times)} decided among the held: median {times[len(times) // 2]:.1f} ms, "
      f"max {times[-1]:.1f} ms", file=sys.stderr)
sys.exit(0 if times[-1] < limit else 1)
EOF

wait "$flood"
log "$(cat "$TEST_TMP/flood.out") hostile connects during the approvals"
chain_has "$STATE" "r['type'] == 'control-dropped'" >/dev/null ||
	fail "the flood left no control-dropped record"

# The approved connects got out; the rest are still held.
for item in "${ids[@]}"; do
	port=${item##*:}
	wait_until 5 grep -q "^$port " "$TEST_TMP/fan.out" || fail "approved connect to $port did not end"
	assert_eq "$port ECONNREFUSED" "$(grep "^$port " "$TEST_TMP/fan.out")" "approved connect"
done
assert_eq "$DECIDED" "$(grep -c ' ECONNREFUSED$' "$TEST_TMP/fan.out")" "connects that got out"
assert_eq "$((HELD - DECIDED))" "$(pending)" "requests still held"

# Ending the session ends what it held, each one recorded.
kill -TERM "$fan"
wait_until 10 _lib_dead "$fan" || fail "the session's client did not end"
chain_has "$STATE" "r['type'] == 'session-end'" 10
chain_has "$STATE" "r['type'] == 'approval-cancelled' and r['reason'] == 'session ended'" 10
assert_eq "$DECIDED" "$(chain_count "$STATE" "r['type'] == 'approval-decision' and r['decision'] == 'approve'")" \
	"approval records"
assert_eq "$HELD" "$(chain_count "$STATE" "r['type'] == 'approval-request'")" "request records"
all_cancelled() {
	[ "$(chain_count "$STATE" "r['type'] == 'approval-cancelled'")" -eq "$((HELD - DECIDED))" ]
}
wait_until 10 all_cancelled || fail "not every undecided request was recorded as cancelled"
assert_eq 0 "$(grep -c ' ok$' "$TEST_TMP/fan.out" || true)" "connects that reached a listener"
stop_daemon
"$BUILD/chain-verify" -q "$STATE/audit" || fail "the chain does not verify"
