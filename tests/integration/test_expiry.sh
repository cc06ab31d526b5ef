#!/bin/bash
# An agent's `expires`: a session running when the moment comes is killed
# by the daemon's timer (no request, no event needed), the expiry is
# chained with the sessions it ended, and every later launch is refused
# and chained as refused. An agent already past its expiry when the daemon
# starts never runs; moving `expires` on with a reload lets it run again.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent.sh"

require_root
require_cmd python3
test_dirs

agent_ini() { # EXPIRES
	echo '[agent]'
	echo "expires = $1"
	shell_agent_grants
}
agent_ini 2999-01-01 >"$CONF/agents.d/temp.ini"
agent_ini 2020-01-01 >"$CONF/agents.d/old.ini"
start_daemon "$CONF" "$STATE"

# Three seconds from now, to the second, in UTC, written with an offset,
# which must mean the same; a reload arms the timer for it.
soon=$(date -u -d '+3 seconds' +%Y-%m-%dT%H:%M:%SZ)
soon_offset=$(TZ=Etc/GMT-2 date -d "$soon" +%Y-%m-%dT%H:%M:%S+02:00)
agent_ini "$soon_offset" >"$CONF/agents.d/temp.ini"
pf reload >/dev/null

spawn "$BUILD/pinfold" --socket "$SOCK" run --agent temp --workspace "$WS" -- \
	/usr/bin/dash -c ': >started; exec /usr/bin/sleep 60' >/dev/null 2>&1 </dev/null
run_pid=$!
wait_until 5 test -e "$WS/started" || fail "the session never started"
sid=$(last_session "$STATE")
cg=$(session_cgroup "$sid")

expired_kills() {
	local deadline
	deadline=$(date -d "$soon" +%s)
	# Gone within 2 s of the expiry (whole seconds), by the timer alone.
	wait_until 10 test ! -d "$cg" || fail "session cgroup '$cg' still there"
	[ "$(date +%s)" -le $((deadline + 2)) ] || fail "session outlived its expiry by over 2 s"
	[ "$(date +%s)" -ge "$deadline" ] || fail "session ended before the expiry"
	chain_has "$STATE" "r['type'] == 'agent-expired' and r['agent'] == 'temp' and \
r['sessions'] == [$sid] and r['expires'] == '$soon'"
	chain_has "$STATE" "r['type'] == 'session-end' and r['session'] == $sid and \
r['reason'] == 'agent expired'"
	wait_until 5 _lib_dead "$run_pid" || fail "pinfold run still waits"
}
row expired-kills expired_kills

check_refused() { # AGENT PATTERN
	local rc=0
	pf run --agent "$1" --workspace "$WS" -- /usr/bin/true 2>"$TEST_TMP/err" || rc=$?
	assert_eq 125 "$rc" "exit status of a run of agent $1"
	assert_contains "$TEST_TMP/err" "$2"
	chain_has "$STATE" "r['type'] == 'run-refused' and r['agent'] == '$1' and \
'expired at' in r['reason'] and r['dispatcher_uid'] == 0"
}
table check_refused <<'TAB'
after-expiry   temp  ^pinfold: agent 'temp' expired at 20[0-9-]+T[0-9:]+Z
expired-early  old   ^pinfold: agent 'old' expired at 2020-01-01T00:00:00Z
TAB

expired_once() {
	assert_eq 1 "$(chain_count "$STATE" "r['type'] == 'agent-expired' and r['agent'] == 'old'")"
}
row expired-at-start expired_once

renewed() {
	agent_ini 2999-01-01 >"$CONF/agents.d/old.ini"
	kill -HUP "$PINFOLDD_PID"
	chain_has "$STATE" "r['type'] == 'policy-load' and r['reason'] == 'reload'"
	pf run --agent old --workspace "$WS-old" -- /usr/bin/true || fail "renewed agent refused"
}
row renewed renewed

stop_daemon
