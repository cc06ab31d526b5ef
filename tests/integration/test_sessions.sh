#!/bin/bash
# pinfold sessions, kill, freeze and thaw against real sessions: the
# listing shows each session's processes, freeze really stops them
# (cgroup.events says frozen and a counter stops moving), thaw lets them
# go on, kill ends every process of the session, and each action is
# chained with who asked.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent.sh"

require_root
require_cmd python3
test_dirs
shell_agent_grants >"$CONF/agents.d/ops.ini"
start_daemon "$CONF" "$STATE"

# start_counter NAME: a session whose shell adds a line to a counter file
# in its workspace ten times a second (appended, so a reader never sees it
# half written); prints the session id.
start_counter() {
	local ws=$WS/$1
	spawn "$BUILD/pinfold" --socket "$SOCK" run --agent ops --workspace "$ws" -- \
		/usr/bin/dash -c 'while :; do echo . >>count; sleep 0.1; done' \
		>/dev/null 2>&1 </dev/null
	wait_until 10 test -s "$ws/count" || fail "session $1 never counted"
	last_session "$STATE"
}

count_of() { wc -l <"$WS/$1/count"; }

listing() {
	local sid
	sid=$(start_counter list)
	pf sessions --json >"$TEST_TMP/sessions.json"
	python3 - "$sid" "$TEST_TMP/sessions.json" <<'PY' || fail "session $sid not listed right"
import json, sys
sid, path = int(sys.argv[1]), sys.argv[2]
s = [x for x in json.load(open(path)) if x["session"] == sid][0]
assert s["agent"] == "ops", s
assert s["via"] == "run", s
assert not s["frozen"], s
comms = sorted(p["comm"] for p in s["processes"])
assert "dash" in comms, comms
assert all(p["pid"] > 0 for p in s["processes"]), s
PY
	pf sessions | grep -q "^$sid  *ops " || fail "plain listing lacks session $sid"
	pf kill "$sid"
}
row listing listing

freeze_thaw() {
	local sid cg a b
	sid=$(start_counter freeze)
	cg=$(session_cgroup "$sid")
	pf freeze "$sid"
	wait_until 5 grep -qx 'frozen 1' "$cg/cgroup.events" || fail "cgroup.events not frozen"
	a=$(count_of freeze)
	sleep 0.5
	b=$(count_of freeze)
	assert_eq "$a" "$b" "counter while frozen"
	# A reload re-judges every session; a freeze on request outlasts it.
	pf reload >/dev/null
	sleep 0.5
	assert_eq "$b" "$(count_of freeze)" "counter while frozen, after a reload"
	pf sessions --json | grep -q '"frozen": true' || fail "listing does not say frozen"
	pf thaw "$sid"
	wait_until 5 grep -qx 'frozen 0' "$cg/cgroup.events" || fail "cgroup.events still frozen"
	wait_until 5 test "$(count_of freeze)" -gt "$b" || fail "counter did not move after thaw"
	chain_has "$STATE" "r['type'] == 'session-freeze' and r['session'] == $sid and \
r['by_uid'] == 0 and r['by_user'] == 'root' and r['by_pid'] > 0"
	chain_has "$STATE" "r['type'] == 'session-thaw' and r['session'] == $sid and r['by_uid'] == 0"
	pf kill "$sid"
}
row freeze-thaw freeze_thaw

# A frozen session is killed as well as a running one.
kill_one() { # FREEZE_FIRST
	local sid cg
	sid=$(start_counter "kill$1")
	cg=$(session_cgroup "$sid")
	[ "$1" = no ] || pf freeze "$sid"
	pf kill "$sid"
	wait_until 2 test ! -d "$cg" || fail "session cgroup '$cg' still there 2 s after kill"
	chain_has "$STATE" "r['type'] == 'session-kill' and r['session'] == $sid and \
r['by_user'] == 'root'"
	chain_has "$STATE" "r['type'] == 'session-end' and r['session'] == $sid and \
r['reason'] == 'killed on request'"
}
table kill_one <<'TAB'
kill-running  no
kill-frozen   yes
TAB

kill_agent() {
	local a b
	a=$(start_counter agent1)
	b=$(start_counter agent2)
	pf kill --agent ops
	chain_has "$STATE" "r['type'] == 'session-end' and r['session'] == $a"
	chain_has "$STATE" "r['type'] == 'session-end' and r['session'] == $b"
	wait_until 2 test "$(pf sessions --json)" = "[]" || fail "sessions left: $(pf sessions)"
}
row kill-agent kill_agent

# Requests that name nothing that runs fail with one line and status 125.
check_bad() { # ARGS...
	local rc=0
	pf "$@" 2>"$TEST_TMP/bad.err" || rc=$?
	assert_eq 125 "$rc" "exit status of pinfold $*"
	assert_contains "$TEST_TMP/bad.err" '^pinfold: (no running session|agent .* has no running)'
}
table check_bad <<'TAB'
kill-none     kill 999999
freeze-none   freeze --agent nosuch
thaw-none     thaw 424242
TAB

stop_daemon
