#!/bin/bash
# Session tagging and the agent's identity: a process that double-forks
# and calls setsid stays in its session cgroup and under its restrictions;
# what a command leaves behind dies with it; the agent runs unprivileged
# (its own uid, no_new_privs, seccomp, no capabilities) and cannot move
# itself into another cgroup.
# shellcheck disable=SC2016 # ${workspace} in single quotes is the policy's
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent.sh"

require_root
require_cmd python3 setsid
install_probe

CG2=$(cg2_mount)
CONF=$TEST_TMP/etc
STATE=$TEST_TMP/state
WS=$TEST_TMP/ws
AGENT=tag
INI=$CONF/agents.d/$AGENT.ini

SECRET=$TEST_TMP/secret.txt
echo "not for agents" >"$SECRET"
chmod 0644 "$SECRET"

# The write grant on the cgroup tree is deliberately too broad: it leaves
# Landlock out of the cgroup rows, which then test what the uid and the
# cgroup's own permission checks hold on their own.
mkdir -p "$CONF/agents.d"
{
	echo '[agent]'
	echo 'description = tagging rows'
	echo '[exec]'
	probe_exec_grants
	echo 'allow = /usr/bin/dash'
	echo 'allow = /usr/bin/cat'
	echo 'allow = /usr/bin/setsid'
	echo 'allow = /usr/bin/python3.11'
	echo '[files]'
	probe_file_grants
	echo 'read = /dev/null'
	echo 'write = /dev/null'
	echo 'read = ${workspace}'
	echo 'write = ${workspace}'
	echo "write = $CG2"
	echo '[network]'
	echo 'connect = 127.0.0.1/32 1024-65535'
} >"$INI"

start_daemon "$CONF" "$STATE"
DENIED_PORT=$(free_port)

run_agent() {
	pf run --agent "$AGENT" --workspace "$WS" -- "$@"
}

# The field of session SID in its session-start record.
session_field() {
	chain_show "$STATE" "r['type'] == 'session-start' and r['session'] == $1" | head -n 1 |
		python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"
}

# EXPECTED PROBE-ACTION...: a grandchild in a session of its own tries the
# action; it must get EXPECTED, report the session's cgroup, and have its
# attempt chained under the session with its own pid.
check_doublefork() {
	local want=$1 out sid first cg main_pid
	shift
	out=$(run_agent "$PROBE" doublefork "$WS/doublefork.$ROW_NAME" "$@") || true
	sid=$(last_session "$STATE")
	first=$(sed -n 1p <<<"$out")
	cg=$(sed -n 2p <<<"$out")
	assert_eq "$want" "$first" "grandchild's $1"
	case $cg in
	0::*/pinfold/$AGENT/$sid) ;;
	*) fail "grandchild's cgroup line is '$cg', not one ending in /pinfold/$AGENT/$sid" ;;
	esac
	main_pid=$(session_field "$sid" pid)
	chain_has "$STATE" "r['type'] == 'decision' and r['session'] == $sid and \
r['decision'] == 'deny' and r['outcome'] == '$want' and r['pid'] != $main_pid"
}

table check_doublefork <<EOF
doublefork-connect EPERM  connect 127.0.0.2 $DENIED_PORT
doublefork-udp     EPERM  udp 127.0.0.2 $DENIED_PORT
doublefork-read    EACCES read $SECRET
EOF

# A process that daemonized itself (setsid, stdio away from the client) is
# still running when the command exits; it must be killed and the session
# cgroup removed.
leftover_killed() {
	local out pid sid cg
	out=$(run_agent /usr/bin/dash -c \
		'setsid "$0" sleep 600 </dev/null >/dev/null 2>&1 & echo $!' "$PROBE")
	pid=$out
	sid=$(last_session "$STATE")
	cg=$(session_field "$sid" cgroup)
	case $pid in
	'' | *[!0-9]*) fail "no pid from the command: '$out'" ;;
	esac
	wait_until 5 _lib_dead "$pid" || {
		track_pid "$pid"
		fail "pid $pid (setsid, left behind by session $sid) still runs 5 s after the command exited"
	}
	wait_until 5 test ! -e "$cg" || fail "session cgroup '$cg' still exists 5 s after the end"
	chain_has "$STATE" "r['type'] == 'session-end' and r['session'] == $sid and r['exit'] == 0"
}
row leftover-killed leftover_killed

# Identity and restrictions, as the agent's own process sees them.
identity() {
	local status uid
	status=$TEST_TMP/status.$ROW_NAME
	run_agent /usr/bin/cat /proc/self/status >"$status" || fail "cat /proc/self/status failed"
	uid=$(agent_uid "$STATE" "$AGENT")
	assert_ne 0 "$uid" "agent uid"
	assert_contains "$status" "^Uid:[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid\$"
	assert_contains "$status" "^Gid:[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid\$"
	assert_contains "$status" '^Groups:[[:space:]]*$'
	assert_contains "$status" '^NoNewPrivs:[[:space:]]+1$'
	assert_contains "$status" '^Seccomp:[[:space:]]+2$'
	local c
	for c in CapInh CapPrm CapEff CapBnd CapAmb; do
		assert_contains "$status" "^$c:[[:space:]]+0+\$"
	done
}
row identity identity

# TARGET (relative to the cgroup v2 mount): the agent writes its pid into TARGET/cgroup.procs and must be
# refused, and still be in its session cgroup afterwards.
check_cgroup_move() {
	local target=$1 out sid err cg
	out=$(run_agent /usr/bin/python3.11 -c '
import errno, os, sys
target = sys.argv[1]
try:
    with open(target + "/cgroup.procs", "w") as f:
        f.write(str(os.getpid()))
    print("ok")
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
print(open("/proc/self/cgroup").read().strip().splitlines()[-1])
' "$CG2${target%/}") || true
	sid=$(last_session "$STATE")
	err=$(sed -n 1p <<<"$out")
	cg=$(sed -n 2p <<<"$out")
	case $err in
	EACCES | EPERM) ;;
	*) fail "writing its pid into '$CG2${target%/}/cgroup.procs' gave '$err', not EACCES or EPERM" ;;
	esac
	case $cg in
	0::*/pinfold/$AGENT/$sid) ;;
	*) fail "after the attempt the agent is in '$cg', not in its session $sid" ;;
	esac
}

table check_cgroup_move <<EOF
cgroup-root          /
cgroup-pinfold       /pinfold
cgroup-agent-level   /pinfold/$AGENT
EOF

stop_daemon
