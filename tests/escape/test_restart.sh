#!/bin/bash
# A daemon that dies mid-session: the session's processes stay tagged and
# restricted while it is away (Landlock and seccomp are theirs for life;
# the connect programs stay attached to the cgroup tree), the restarted
# daemon says in the chain that its predecessor did not stop cleanly, keeps
# the orphaned session's cgroup while a process is in it and sweeps it
# once it is empty. A torn last record is set aside and accounted for.
# shellcheck disable=SC2016 # ${workspace} in single quotes is the policy's
set -eu
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/agent.sh"

require_root
require_cmd python3 bpftool
install_probe

CONF=$TEST_TMP/etc
STATE=$TEST_TMP/state
mkdir -p "$CONF/agents.d"
PY=$(readlink -f /usr/bin/python3)
WS=$TEST_TMP/ws
{
	echo '[exec]'
	probe_exec_grants
	echo "allow = $PY"
	echo '[files]'
	probe_file_grants
	echo 'read = ${workspace}'
	echo 'write = ${workspace}'
	echo '[network]'
	echo 'connect = 127.0.0.1/32 *'
} >"$CONF/agents.d/rs.ini"

start_daemon "$CONF" "$STATE"
# The session waits for a trigger, then runs the loader as a program, a
# refusal that lives in the kernel side, and notes how that ended.
spawn "$BUILD/pinfold" --socket "$SOCK" run --agent rs --workspace "$WS" -- "$PY" -c '
import os, subprocess, sys, time
while not os.path.exists("trigger"):
    time.sleep(0.1)
r = subprocess.run([sys.argv[1], sys.argv[2], "cgroup"], capture_output=True)
open("result", "w").write("%d %s" % (r.returncode, r.stdout.decode().strip()))
time.sleep(30)' "$LOADER" "$PROBE"
wait_until 5 chain_has "$STATE" 'r["type"] == "session-start"' >/dev/null ||
	fail "the session did not start"
sid=$(last_session "$STATE")
agent_pid=$(chain_show "$STATE" 'r["type"] == "session-start"' | tail -n 1 |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["pid"])')
cg2=$(cg2_mount)
# The session outlives the daemon and so the harness's own tracking.
on_exit "kill -KILL $agent_pid 2>/dev/null"

# The daemon dies without a word.
kill -KILL "$PINFOLDD_PID"
wait "$PINFOLDD_PID" 2>/dev/null || true
PINFOLDD_PID=
rm -f "$TEST_TMP/.lib/daemon"

status=$(cat "/proc/$agent_pid/status") || fail "the agent died with the daemon"
grep -q '^NoNewPrivs:[[:space:]]*1' <<<"$status" || fail "no_new_privs lost: $status"
grep -q '^Seccomp:[[:space:]]*2' <<<"$status" || fail "seccomp lost: $status"
grep -qx "0::/pinfold/rs/$sid" "/proc/$agent_pid/cgroup" ||
	fail "the agent left its session cgroup: $(cat "/proc/$agent_pid/cgroup")"
n=$(bpftool cgroup show "$cg2/pinfold" 2>/dev/null | grep -c connect || true)
[ "$n" -ge 2 ] || fail "connect programs detached while the daemon was away ($n attached)"

# A crash mid-write leaves a torn last record: the next daemon sets it
# aside in a quarantine file and accounts for it in the chain.
printf '{"seq":999,"prev":"torn' >>"$STATE/audit/chain.jsonl"

start_daemon "$CONF" "$STATE"
chain_has "$STATE" '(r["type"] == "recovery" and r["length"] == 23 and
	r["quarantine"].startswith("quarantine-"))'
q=$(chain_show "$STATE" 'r["type"] == "recovery"' |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["quarantine"])')
assert_eq '{"seq":999,"prev":"torn' "$(cat "$STATE/audit/$q")" "the bytes set aside"
chain_has "$STATE" '(r["type"] == "daemon-start" and "previous" in r and
	r["previous"]["clean_stop"] is False)'
assert_contains "$STATE/pinfoldd.log" "did not stop cleanly"
[ -d "$cg2/pinfold/rs/$sid" ] || fail "the orphaned session's cgroup was removed with a process in it"

# The orphan is no session of this daemon, but is still in pinfold's tree:
# the loader run as a program is still killed before it runs.
touch "$WS/trigger"
wait_until 10 test -s "$WS/result" || fail "the orphan did not report"
assert_eq "-9" "$(cut -d' ' -f1 "$WS/result")" "the loader run by the orphaned session"

kill -KILL "$agent_pid"
wait_until 15 test ! -d "$cg2/pinfold/rs/$sid" ||
	fail "the orphaned session's cgroup stayed after its last process ended"
stop_daemon
chain_has "$STATE" '(r["type"] == "daemon-start" and "previous" in r and
	r["previous"]["clean_stop"] is False)'
"$BUILD/chain-verify" -q "$STATE/audit" || fail "chain-verify failed after the crash"
