#!/bin/bash
# `pinfold run` as a command: the command's exit status and death by a
# signal come back as pinfold's own, signals sent to pinfold reach the
# command, stdio passes through, and a run that cannot happen fails with
# one line on stderr and status 125 without running anything. Each run
# that happens has one session-start and one session-end record.
# shellcheck disable=SC2016 # ${workspace} in single quotes is the policy's
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent.sh"

require_root
require_cmd python3
install_probe

CONF=$TEST_TMP/etc
STATE=$TEST_TMP/state
WS=$TEST_TMP/ws
AGENT=cli
EXIT_PINFOLD=125

# Where a command that should not have run would leave its mark; both
# agents may write there, so a missing marker means nothing ran.
MARKS=$TEST_TMP/marks
mkdir -p "$MARKS"
chmod 1777 "$MARKS"

mkdir -p "$CONF/agents.d"
agent_ini() { # DESCRIPTION ENABLED
	echo '[agent]'
	echo "description = $1"
	echo "enabled = $2"
	echo '[exec]'
	probe_exec_grants
	echo 'allow = /usr/bin/dash'
	echo 'allow = /usr/bin/cat'
	echo 'allow = /usr/bin/sleep'
	echo '[files]'
	probe_file_grants
	echo 'read = /dev/null'
	echo 'write = /dev/null'
	echo 'read = ${workspace}'
	echo 'write = ${workspace}'
	echo "write = $MARKS"
}
agent_ini "command line rows" yes >"$CONF/agents.d/$AGENT.ini"
agent_ini "switched off" no >"$CONF/agents.d/off.ini"

start_daemon "$CONF" "$STATE"

run_agent() {
	pf run --agent "$AGENT" --workspace "$WS" -- "$@"
}

# The session that the newest run opened must have ended with END, a
# Python expression on its session-end record r ('r["exit"] == 7').
check_session_end() {
	local sid
	sid=$(last_session "$STATE")
	[ "$(chain_count "$STATE" "r['type'] == 'session-start' and r['session'] == $sid")" = 1 ] ||
		fail "session $sid: not exactly one session-start record"
	chain_has "$STATE" "r['type'] == 'session-end' and r['session'] == $sid and ($1)"
	[ "$(chain_count "$STATE" "r['type'] == 'session-end' and r['session'] == $sid")" = 1 ] ||
		fail "session $sid: not exactly one session-end record"
}

# CODE: the command exits with CODE, and so does pinfold.
check_exit() {
	local rc=0
	run_agent /usr/bin/dash -c "exit $1" || rc=$?
	assert_eq "$1" "$rc" "exit status of pinfold run"
	check_session_end "r['exit'] == $1"
}
table check_exit <<'EOF'
exit-0    0
exit-7    7
exit-124  124
exit-126  126
EOF

# SIGNAL: the command kills itself with SIGNAL; pinfold must die of the
# same signal (a negative returncode in Python), which a shell sees as
# 128 + SIGNAL.
check_signal() {
	local sig=$1 num rc
	num=$(kill -l "$sig")
	rc=$(python3 -c 'import subprocess, sys; print(subprocess.run(sys.argv[1:]).returncode)' \
		"$BUILD/pinfold" --socket "$SOCK" run --agent "$AGENT" --workspace "$WS" -- \
		/usr/bin/dash -c "kill -$sig \$\$")
	assert_eq "-$num" "$rc" "pinfold's wait status (negative: killed by that signal)"
	rc=0
	run_agent /usr/bin/dash -c "kill -$sig \$\$" || rc=$?
	assert_eq "$((128 + num))" "$rc" "shell status of pinfold run"
	check_session_end "r['signal'] == $num and 'exit' not in r"
}
table check_signal <<'EOF'
signal-kill  KILL
signal-term  TERM
signal-usr1  USR1
signal-segv  SEGV
EOF

# SIGNAL sent to `pinfold run` reaches the command, which traps it and
# exits 42.
check_forward() {
	local sig=$1 ready=$WS/ready.$1 pid rc=0
	"$BUILD/pinfold" --socket "$SOCK" run --agent "$AGENT" --workspace "$WS" -- \
		/usr/bin/dash -c "trap 'exit 42' $sig; : >'$ready'; while :; do sleep 0.1; done" &
	pid=$!
	track_pid "$pid"
	wait_until 10 test -e "$ready" || fail "the command never started"
	kill "-$sig" "$pid"
	wait_until 10 _lib_dead "$pid" || fail "pinfold run still runs 10 s after SIG$sig"
	wait "$pid" || rc=$?
	assert_eq 42 "$rc" "exit status after SIG$sig"
	check_session_end "r['exit'] == 42"
}
table check_forward <<'EOF'
forward-term  TERM
forward-int   INT
forward-hup   HUP
forward-usr1  USR1
EOF

stdio() {
	local out err
	out=$(printf 'data\nmore data\n' | run_agent /usr/bin/cat)
	assert_eq "$(printf 'data\nmore data')" "$out" "stdin to stdout through cat"
	check_session_end "r['exit'] == 0"
	err=$(run_agent /usr/bin/dash -c 'echo to-stderr >&2; echo to-stdout' 2>&1 >/dev/null)
	assert_eq to-stderr "$err" "stderr of the command"
}
row stdio stdio

# HOW NAME: a run that must not happen. HOW is an agent name, or
# "nodaemon" for a socket nothing listens on. Exactly one line on stderr,
# nothing on stdout, status 125, and no marker.
check_refused() {
	local how=$1 name=$2 sock=$SOCK agent=$1 out=$TEST_TMP/refused.$2 rc=0 before n
	if [ "$how" = nodaemon ]; then
		sock=$TEST_TMP/no-such-dir/pinfoldd.sock
		agent=$AGENT
	fi
	before=$(chain_count "$STATE" "r['type'] == 'session-start'")
	"$BUILD/pinfold" --socket "$sock" run --agent "$agent" --workspace "$WS" -- \
		"$PROBE" write "$MARKS/$name" >"$out.stdout" 2>"$out.stderr" || rc=$?
	assert_eq "$EXIT_PINFOLD" "$rc" "exit status"
	n=$(wc -l <"$out.stderr")
	[ "$n" -eq 1 ] || {
		sed 's/^/    | /' "$out.stderr" >&2
		fail "stderr has $n lines, not one"
	}
	grep -q '^pinfold: ' "$out.stderr" || fail "stderr does not start with 'pinfold: '"
	[ ! -s "$out.stdout" ] || fail "stdout is not empty: $(head -c 200 "$out.stdout")"
	sleep 0.5
	[ ! -e "$MARKS/$name" ] || fail "the command ran: '$MARKS/$name' exists"
	assert_eq "$before" "$(chain_count "$STATE" "r['type'] == 'session-start'")" \
		"session-start records"
	log "stderr: $(cat "$out.stderr")"
}
table check_refused <<'EOF'
unknown-agent   nosuchagent  unknown
disabled-agent  off          disabled
no-daemon       nodaemon     nodaemon
EOF

# The markers above prove something only if the same command, allowed,
# leaves one.
marker_control() {
	assert_eq ok "$(run_agent "$PROBE" write "$MARKS/control")" "allowed marker write"
	[ -e "$MARKS/control" ] || fail "no '$MARKS/control' after an allowed write"
}
row marker-control marker_control

# Every session that started has ended, with exactly one record each.
balanced() {
	local starts ends
	starts=$(chain_count "$STATE" "r['type'] == 'session-start'")
	ends=$(chain_count "$STATE" "r['type'] == 'session-end'")
	assert_ne 0 "$starts" "session-start records"
	assert_eq "$starts" "$ends" "session-end records (one per session-start)"
}
row balanced balanced

stop_daemon
