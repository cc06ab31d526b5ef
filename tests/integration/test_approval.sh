#!/bin/bash
# Held actions: an exec of a program marked approve, and a connect to a
# destination marked approve, wait in the kernel until an approver
# decides. Each row checks the real effect (the program ran or did not,
# the connect got through or EPERM) and the chain records of the request
# and its decision. The approver is uid 4242, which has no passwd entry;
# root dispatches every session, so the four-eyes rule keeps it from
# approving unless the agent says self_approve = yes.
# shellcheck disable=SC2016 # ${workspace} in single quotes is the policy's
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent.sh"

require_root
require_cmd python3 setpriv
install_probe

CONF=$TEST_TMP/etc
STATE=$TEST_TMP/state
WS=$TEST_TMP/ws
WS2=$TEST_TMP/ws-self
WS3=$TEST_TMP/ws-viarole
BIN=$TEST_TMP/bin
APPROVER=4242
STRANGER=4343
# The held program is a copy of probe: if it runs, it writes what it is
# told to.
TOOL=$BIN/tool
install -m 0755 "$PROBE" "$TOOL"
# The CLI, where an agent may run it.
install -m 0755 "$BUILD/pinfold" "$BIN/pinfold"
HOOK_OUT=$TEST_TMP/hook.json
HOOK=$TEST_TMP/hook.sh
printf '#!/bin/sh\ncat >>%s\necho >>%s\n' "$HOOK_OUT" "$HOOK_OUT" >"$HOOK"
chmod 0755 "$HOOK"

mkdir -p "$CONF/agents.d"
printf '[daemon]\napproval_command = %s\n' "$HOOK" >"$CONF/pinfoldd.conf"
# The agent may execute everything in $BIN, so Landlock would let a file
# swapped in under the held program's name run: only the kernel side's
# approval check stands between it and a swap.
agent_file() { # NAME SELF_APPROVE
	{
		echo '[exec]'
		echo "allow = $BIN"
		echo "allow = $LOADER"
		echo 'allow = /usr/bin/true'
		echo "approve = $TOOL timeout=3s"
		echo '[files]'
		probe_file_grants
		echo "read = $BIN"
		echo 'read = ${workspace}'
		echo 'write = ${workspace}'
		echo '[network]'
		echo 'connect = 127.0.0.1/32 20000-20099'
		echo "unix = $STATE/pinfoldd.sock"
		echo 'approve = 127.0.0.1/32 21000-21099'
		echo '[approval]'
		echo "approvers = $APPROVER"
		echo "self_approve = $2"
	} >"$CONF/agents.d/$1.ini"
}
agent_file ap no
agent_file self yes
# The same program held through a role, whose approver is another uid.
mkdir -p "$CONF/roles.d"
printf '[exec]\napprove = %s timeout=3s\n[approval]\napprovers = %s\n' "$TOOL" "$STRANGER" \
	>"$CONF/roles.d/held.ini"
{
	echo '[agent]'
	echo 'roles = held'
	echo '[exec]'
	echo "allow = $BIN"
	echo "allow = $LOADER"
	echo '[files]'
	probe_file_grants
	echo "read = $BIN"
	echo 'read = ${workspace}'
	echo 'write = ${workspace}'
} >"$CONF/agents.d/viarole.ini"

start_daemon "$CONF" "$STATE"
UID_AGENT=

as_approver() { setpriv --reuid="$APPROVER" --regid="$APPROVER" --clear-groups "$@"; }

held_field() { # ID FIELD
	pf approvals --json | python3 -c '
import json, sys
for a in json.load(sys.stdin):
    if a["request"] == int(sys.argv[1]):
        print(a[sys.argv[2]])' "$1" "$2"
}

# run_bg NAME AGENT CMD...: run CMD as AGENT in the background, its
# stdout in $TEST_TMP/NAME.out and stderr in NAME.err.
run_bg() {
	local name=$1 agent=$2 ws=$WS
	shift 2
	[ "$agent" = ap ] || ws=$TEST_TMP/ws-$agent
	spawn "$BUILD/pinfold" --socket "$SOCK" run --agent "$agent" --workspace "$ws" -- "$@" \
		>"$TEST_TMP/$name.out" 2>"$TEST_TMP/$name.err"
	echo $! >"$TEST_TMP/$name.pid"
}

run_wait() { # NAME: wait for it, print its stdout
	local pid
	pid=$(cat "$TEST_TMP/$1.pid")
	wait_until 10 _lib_dead "$pid" || fail "$1: still running"
	wait "$pid" 2>/dev/null || true
	cat "$TEST_TMP/$1.out"
}

held_exec() { # NAME MARKER: the agent runs the held program to write MARKER
	run_bg "$1" ap "$PROBE" exec "$TOOL" write "$WS/$2"
	held_id "$TOOL"
}

first_run() {
	assert_eq ok "$(pf run --agent ap --workspace "$WS" -- "$PROBE" write "$WS/first")" \
		"a first run makes the workspace"
}
first_run
UID_AGENT=$(agent_uid "$STATE" ap)

row_exec_approve() {
	local id
	id=$(held_exec xa approved)
	assert_contains "$TEST_TMP/xa.err" "exec '$TOOL' is held for approval as request $id; an approver runs 'pinfold approve $id'"
	[ ! -e "$WS/approved" ] || fail "the held program ran before it was approved"
	as_approver "$BUILD/pinfold" --socket "$SOCK" approve "$id" --reason "ticket 7" ||
		fail "uid $APPROVER could not approve request $id"
	assert_eq ok "$(run_wait xa)" "the approved program's own output"
	[ -e "$WS/approved" ] || fail "the approved program did not run"
	chain_has "$STATE" "r['type'] == 'approval-request' and r['request'] == $id and r['object'] == '$TOOL'"
	chain_has "$STATE" "r['type'] == 'approval-decision' and r['request'] == $id and r['decision'] == 'approve' and r['approver_uid'] == $APPROVER and r['scope'] == 'once' and r['reason'] == 'ticket 7'"
	# The decision was on disk before the program ran: its record comes
	# first in the chain.
	python3 - "$STATE/audit/chain.jsonl" "$id" "$TOOL" <<-'EOF' || fail "the exec came before its approval record"
	import json, sys
	recs = [json.loads(l) for l in open(sys.argv[1])]
	dec = [r["seq"] for r in recs if r["type"] == "approval-decision" and r["request"] == int(sys.argv[2])]
	run = [r["seq"] for r in recs if r["type"] == "decision" and r["action"] == "exec"
	       and r["object"] == sys.argv[3] and r["outcome"] == "ok"]
	sys.exit(0 if dec and run and dec[0] < run[-1] else 1)
	EOF
	wait_until 5 grep -q "\"request\":$id" "$HOOK_OUT" || fail "approval_command did not get request $id"
}

row_exec_deny() {
	local id
	id=$(held_exec xd denied)
	as_approver "$BUILD/pinfold" --socket "$SOCK" deny "$id" --reason "not today" ||
		fail "uid $APPROVER could not deny request $id"
	assert_eq EACCES "$(run_wait xd)" "a denied exec"
	[ ! -e "$WS/denied" ] || fail "the denied program ran"
	assert_contains "$TEST_TMP/xd.err" "request $id denied"
	chain_has "$STATE" "r['type'] == 'approval-decision' and r['request'] == $id and r['decision'] == 'deny' and r['approver_uid'] == $APPROVER"
	chain_has "$STATE" "r['type'] == 'decision' and r['action'] == 'exec' and r['object'] == '$TOOL' and r['outcome'] == 'EACCES' and r['rule'] == 'approval: request $id not approved'"
}

row_exec_timeout() {
	local id
	id=$(held_exec xt timedout)
	assert_eq EACCES "$(run_wait xt)" "an exec whose request timed out"
	[ ! -e "$WS/timedout" ] || fail "the program ran after its request timed out"
	chain_has "$STATE" "r['type'] == 'approval-timeout' and r['request'] == $id and r['decision'] == 'deny'"
}

# SIGCONT, SIGSTOP then SIGCONT, and ptrace, all from the agent's own uid
# outside pinfold: none of them ends the wait.
row_no_release() {
	local id pid
	id=$(held_exec xr released)
	pid=$(held_field "$id" pid)
	as_uid "$UID_AGENT" kill -CONT "$pid" || fail "SIGCONT from uid $UID_AGENT was refused"
	as_uid "$UID_AGENT" kill -STOP "$pid" && sleep 0.2 && as_uid "$UID_AGENT" kill -CONT "$pid"
	as_uid "$UID_AGENT" /usr/bin/python3 -c '
import ctypes, sys, time
libc = ctypes.CDLL(None, use_errno=True)
pid = int(sys.argv[1])
if libc.ptrace(16, pid, 0, 0) == 0:      # PTRACE_ATTACH
    time.sleep(0.3)
    libc.ptrace(17, pid, 0, 0)           # PTRACE_DETACH
' "$pid"
	sleep 0.5
	[ ! -e "$WS/released" ] || fail "the held program ran after signals or ptrace"
	assert_eq "$id" "$(held_id "$TOOL")" "the request is still pending"
	as_approver "$BUILD/pinfold" --socket "$SOCK" deny "$id"
	# The attach left a SIGSTOP that takes effect once the call returns.
	sleep 0.2
	as_uid "$UID_AGENT" kill -CONT "$pid"
	assert_eq EACCES "$(run_wait xr)" "the exec after the signals, once denied"
	[ ! -e "$WS/released" ] || fail "the held program ran"
}

# The file is replaced after the request; the approval names the file the
# approver was shown, and what the kernel then starts under that path is
# another file: killed before its first instruction, the session with it.
row_swap() {
	local id
	id=$(held_exec xs swapped)
	install -m 0755 "$PROBE" "$TOOL.new"
	mv -f "$TOOL.new" "$TOOL"
	as_approver "$BUILD/pinfold" --socket "$SOCK" approve "$id"
	run_wait xs >/dev/null
	[ ! -e "$WS/swapped" ] || fail "the swapped-in program ran"
	chain_has "$STATE" "r['type'] == 'decision' and r['action'] == 'exec' and r['object'] == '$TOOL' and r['outcome'] == 'killed' and r['rule'].startswith('kernel: a program held')"
	chain_has "$STATE" "r['type'] == 'session-end' and r['reason'].startswith('exec of a program held')"
}

row_unauthorised() {
	local id out
	id=$(held_exec xu stranger)
	out=$(setpriv --reuid="$STRANGER" --regid="$STRANGER" --clear-groups \
		"$BUILD/pinfold" --socket "$SOCK" approve "$id" 2>&1) &&
		fail "uid $STRANGER approved request $id"
	grep -q "uid $STRANGER is not an approver of agent 'ap'" <<<"$out" || fail "refusal said: $out"
	out=$(as_uid "$UID_AGENT" "$BUILD/pinfold" --socket "$SOCK" approve "$id" 2>&1) &&
		fail "the agent's uid approved its own request"
	grep -q "an agent may not decide approvals" <<<"$out" || fail "refusal said: $out"
	# An approver's command run from inside a session is an agent's.
	out=$(pf run --agent self --workspace "$WS2" -- "$BIN/pinfold" --socket "$SOCK" \
		approve "$id" 2>&1) && fail "an agent process approved"
	grep -q "is an agent's process" <<<"$out" || fail "refusal said: $out"
	[ ! -e "$WS/stranger" ] || fail "the held program ran"
	assert_eq "$id" "$(held_id "$TOOL")" "the request is still pending"
	pf deny "$id"
	assert_eq EACCES "$(run_wait xu)" "the exec, denied by its dispatcher"
}

row_self_approve() {
	local id out
	id=$(held_exec xn own)
	out=$(pf approve "$id" 2>&1) && fail "the dispatcher approved its own request"
	grep -q "may not approve its requests (agent 'ap': self_approve = no)" <<<"$out" ||
		fail "refusal said: $out"
	pf deny "$id"
	run_wait xn >/dev/null
	run_bg xy self "$PROBE" exec "$TOOL" write "$WS2/own"
	id=$(held_id "$TOOL")
	pf approve "$id" || fail "self_approve = yes, and the dispatcher could not approve"
	assert_eq ok "$(run_wait xy)" "a self-approved exec"
	[ -e "$WS2/own" ] || fail "the self-approved program did not run"
	chain_has "$STATE" "r['type'] == 'approval-decision' and r['request'] == $id and r['approver_uid'] == 0"
}

# A connect goes to exactly the approved destination: the grant is
# for one address and port, judged by the cgroup hook on the kernel's own
# copy of the address.
row_connect() {
	local port=$((21000 + RANDOM % 50)) id out
	tcp_listener 127.0.0.1 "$port"
	run_bg ca ap "$PROBE" connect 127.0.0.1 "$port"
	id=$(held_id "127.0.0.1:$port")
	assert_contains "$TEST_TMP/ca.err" "connect '127.0.0.1:$port' is held for approval as request $id"
	as_approver "$BUILD/pinfold" --socket "$SOCK" approve "$id" --session
	assert_eq ok "$(run_wait ca)" "an approved connect"
	chain_has "$STATE" "r['type'] == 'approval-decision' and r['request'] == $id and r['scope'] == 'session'"
	chain_has "$STATE" "r['type'] == 'decision' and r['action'] == 'connect' and r['object'] == '127.0.0.1:$port' and r['decision'] == 'allow' and r['rule'] == '$(rule_of "$CONF/agents.d/ap.ini" 'approve = 127.0.0.1/32 21000-21099')'"
	# The grant was for that session and that port only.
	run_bg cb ap "$PROBE" connect 127.0.0.1 "$((port + 1))"
	id=$(held_id "127.0.0.1:$((port + 1))")
	as_approver "$BUILD/pinfold" --socket "$SOCK" deny "$id"
	assert_eq EPERM "$(run_wait cb)" "a denied connect"
	out=$(pf run --agent ap --workspace "$WS" -- "$PROBE" connect 127.0.0.1 20999) || true
	assert_eq EPERM "$out" "a connect neither granted nor approvable"
}

row_for_duration() {
	local port=$((21050 + RANDOM % 40)) id
	tcp_listener 127.0.0.1 "$port"
	run_bg cf ap "$PROBE" connect 127.0.0.1 "$port"
	id=$(held_id "127.0.0.1:$port")
	as_approver "$BUILD/pinfold" --socket "$SOCK" approve "$id" --for 1s
	assert_eq ok "$(run_wait cf)" "a connect approved for 1 s"
	chain_has "$STATE" "r['type'] == 'approval-decision' and r['request'] == $id and r['scope'] == 'for' and 'expires' in r"
}

# A second thread switches the exec's path between a program the agent
# may run and the held one while the exec is under way: whatever the
# daemon read, the held program never runs unapproved. Requests that do
# get made are denied as they come.
row_race() {
	local sid
	(
		while :; do
			pf approvals --json | python3 -c '
import json, sys
for a in json.load(sys.stdin):
    print(a["request"])' | while read -r id; do pf deny "$id" 2>/dev/null || true; done
			sleep 0.05
		done
	) &
	track_pid $!
	local denier=$!
	pf run --agent ap --workspace "$WS" -- "$PROBE" execrace 40 /usr/bin/true "$TOOL" \
		write "$WS/raced" >/dev/null 2>&1 || true
	kill "$denier"
	sid=$(last_session "$STATE")
	[ ! -e "$WS/raced" ] || fail "the held program ran under a racing thread"
	chain_lacks "$STATE" "r['type'] == 'decision' and r['session'] == $sid and r['action'] == 'exec' and r['outcome'] == 'ok' and '$TOOL' in (r['object'], r.get('resolved'))"
}

# A role's approve rule holds the exec, and the role's approver (a uid the
# agent file does not name) decides it.
row_role() {
	local id
	run_bg vr viarole "$PROBE" exec "$TOOL" write "$WS3/role"
	id=$(held_id "$TOOL")
	chain_has "$STATE" "r['type'] == 'approval-request' and r['request'] == $id and r['rule'].startswith('roles.d/held.ini:')"
	setpriv --reuid="$STRANGER" --regid="$STRANGER" --clear-groups \
		"$BUILD/pinfold" --socket "$SOCK" approve "$id" || fail "the role's approver was refused"
	assert_eq ok "$(run_wait vr)" "an exec a role holds, approved"
	[ -e "$WS3/role" ] || fail "the approved program did not run"
}

row exec-approve row_exec_approve
row exec-deny row_exec_deny
row exec-timeout row_exec_timeout
row sigcont-ptrace-no-release row_no_release
row swapped-binary-killed row_swap
row racing-thread row_race
row unauthorised-uid row_unauthorised
row dispatcher-self-approve row_self_approve
row connect-exact-destination row_connect
row approve-for-duration row_for_duration
row role-approve-rule row_role

# A stop with a request pending denies it and says so; a daemon that dies
# leaves the held call failing (its listener closes), and the next one
# says so in its chain.
run_bg st ap "$PROBE" exec "$TOOL" write "$WS/stop"
sid=$(held_id "$TOOL")
stop_daemon
[ ! -e "$WS/stop" ] || fail "the held program ran at daemon stop"
chain_has "$STATE" "r['type'] == 'approval-cancelled' and r['request'] == $sid and r['reason'].startswith('daemon stopping')"

start_daemon "$CONF" "$STATE"
run_bg cr ap "$PROBE" exec "$TOOL" write "$WS/crash"
cid=$(held_id "$TOOL")
kill -KILL "$PINFOLDD_PID"
wait "$PINFOLDD_PID" 2>/dev/null || true
PINFOLDD_PID=
rm -f "$TEST_TMP/.lib/daemon"
wait_until 5 grep -q . "$TEST_TMP/cr.out" || fail "the held exec did not end with its daemon"
assert_eq ENOSYS "$(cat "$TEST_TMP/cr.out")" "a held exec whose daemon died"
[ ! -e "$WS/crash" ] || fail "the held program ran when the daemon died"
start_daemon "$CONF" "$STATE"
chain_has "$STATE" "r['type'] == 'approval-cancelled' and r['request'] == $cid and r['reason'].startswith('daemon restarted')"
stop_daemon
"$BUILD/chain-verify" -q "$STATE/audit" || fail "the chain does not verify"
