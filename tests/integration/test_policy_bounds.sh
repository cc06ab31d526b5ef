#!/bin/bash
# Dispatcher bounds and conditions against the real kernel. An agent
# dispatched by an unprivileged user runs as that user: its own policy
# grants reading all of the homes directory, yet another user's private
# file stays unreadable, and a setuid-root program gains nothing. A user
# no bound names cannot launch it. A network grant whose time window
# closes during the session is withdrawn from the kernel's map at the
# boundary: the same loopback connect succeeds before and fails after.
# Users are numeric uids with no passwd entry, run with setpriv.
# shellcheck disable=SC2016 # ${workspace} in single quotes is the policy's
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent.sh"

require_root
require_cmd python3 setpriv
install_probe

DEV=60501 OTHER=60502 STRANGER=60503
CONF=$TEST_TMP/etc
STATE=$TEST_TMP/state
HOMES=$TEST_TMP/homes
mkdir -p "$CONF/agents.d" "$CONF/users.d" "$HOMES/dev" "$HOMES/other" "$TEST_TMP/ws"
chmod 0755 "$HOMES" "$HOMES/dev" "$HOMES/other"
echo mine >"$HOMES/dev/notes"
echo secret >"$HOMES/other/private"
chown "$DEV:$DEV" "$HOMES/dev/notes"
chown "$OTHER:$OTHER" "$HOMES/other/private"
chmod 0600 "$HOMES/dev/notes" "$HOMES/other/private"
chown "$DEV:$DEV" "$TEST_TMP/ws"
chmod 0700 "$TEST_TMP/ws"
# A root-owned file only root may write, and a setuid-root probe.
echo root >"$TEST_TMP/rootonly"
chmod 0600 "$TEST_TMP/rootonly"
install -m 4755 -o root "$PROBE" "$TEST_TMP/bin/suid-probe"

port=$(free_port)
tcp_listener 127.0.0.1 "$port"
# The window: from a minute ago to 4 s from now, in UTC.
from=$(date -u -d '-60 sec' +%H:%M:%S)
to=$(date -u -d '+4 sec' +%H:%M:%S)
case $from in 23:5* | 00:0*) skip "too near midnight UTC for a one-day window" ;; esac

{
	echo '[exec]'
	probe_exec_grants
	echo "allow = $TEST_TMP/bin/suid-probe"
	echo 'allow = /usr/bin/sh'
	echo 'allow = /usr/bin/dash'
	echo 'allow = /usr/bin/sleep'
	echo '[files]'
	probe_file_grants
	echo "read = $HOMES"
	echo "read = $TEST_TMP"
	echo "write = $TEST_TMP/rootonly"
	echo 'read = ${workspace}'
	echo 'write = ${workspace}'
	echo '[network]'
	echo "connect = 127.0.0.1/32 $port when time.hours in $from-$to and time.zone = UTC"
} >"$CONF/agents.d/homes.ini"
{
	echo '[bound]'
	echo "users = $DEV"
	echo 'agents = homes'
	echo '[exec]'
	echo 'allow = /usr'
	echo "allow = $TEST_TMP"
	echo '[files]'
	echo 'read = /'
	echo "write = $TEST_TMP"
	echo "deny = $TEST_TMP/bound-denied"
	echo '[network]'
	echo 'connect = 127.0.0.0/8 *'
} >"$CONF/users.d/dev.ini"
# The dispatcher's own file in a directory the bound denies: the agent's
# grant of all of TEST_TMP covers it, Unix permissions allow it, and the
# bound's denial, carved out of the Landlock rules, refuses it.
mkdir -p "$TEST_TMP/bound-denied"
echo own >"$TEST_TMP/bound-denied/own"
chown -R "$DEV:$DEV" "$TEST_TMP/bound-denied"
"$BUILD/pinfold" policy check --config-dir "$CONF" || fail "the test configuration does not check"

start_daemon "$CONF" "$STATE"
chmod 0755 "$STATE"

as_user() {
	local u=$1
	shift
	setpriv --reuid="$u" --regid="$u" --clear-groups "$BUILD/pinfold" --socket "$SOCK" "$@"
}
run_dev() {
	as_user "$DEV" run --agent homes --workspace "$TEST_TMP/ws" -- "$@"
}

# The agent runs as its dispatcher: its own file reads, another's does not.
assert_eq ok "$(run_dev "$PROBE" read "$HOMES/dev/notes")" "the dispatcher's own file"
assert_eq EACCES "$(run_dev "$PROBE" read "$HOMES/other/private" || true)" \
	"another user's private file"
assert_eq EACCES "$(run_dev "$PROBE" read "$TEST_TMP/bound-denied/own" || true)" \
	"the dispatcher's own file under the bound's denial"
assert_eq own "$(as_uid "$DEV" cat "$TEST_TMP/bound-denied/own")" \
	"the same file read by the user without pinfold"
chain_has "$STATE" '(r["type"] == "decision" and r["action"] == "open" and
	r["object"] == "'"$TEST_TMP/bound-denied/own"'" and r["decision"] == "deny" and
	r["layer"] == "dispatcher bound" and r["rule"].startswith("users.d/dev.ini:"))' \
	>/dev/null || fail "the bound's refusal is not in the chain with its layer and rule"
chain_has "$STATE" '(r["type"] == "session-start" and r["runs_as"] == "dispatcher uid" and
	r["uid"] == '"$DEV)" >/dev/null || fail "the session did not run as the dispatcher's uid"

# The setuid bit gives nothing under no_new_privs: the write fails as the
# user's would.
assert_eq EACCES "$(run_dev "$TEST_TMP/bin/suid-probe" write "$TEST_TMP/rootonly" || true)" \
	"a setuid-root program run by the agent"
assert_eq root "$(cat "$TEST_TMP/rootonly")" "the root-only file"

# A user no bound names is refused before anything runs.
rc=0
out=$(as_user "$STRANGER" run --agent homes -- "$PROBE" read /etc/hostname 2>&1) || rc=$?
assert_eq 125 "$rc" "exit status for a user with no bound"
case $out in *"may not launch agent 'homes'"*) ;; *) fail "refusal said: $out" ;; esac

# The window closes during the session: the connect works before the
# boundary and gets EPERM from the kernel after it.
out=$(run_dev /usr/bin/sh -c "$PROBE connect 127.0.0.1 $port; sleep 7; $PROBE connect 127.0.0.1 $port" || true)
assert_eq "ok EPERM" "$(echo $out)" "connects before and after the window closes"
wait_until 5 chain_has "$STATE" '(r["type"] == "session-condition" and
	r["action"] == "network withdrawn in the kernel")' >/dev/null ||
	fail "no session-condition record for the closed window"
chain_has "$STATE" '(r["type"] == "decision" and r["action"] == "connect" and
	r["decision"] == "deny" and r["object"] == "127.0.0.1:'"$port"'" and
	r["layer"] == "condition" and r["rule"].startswith("agents.d/homes.ini:"))' \
	>/dev/null || fail "the refused connect is not in the chain with its layer and grant"

# on_revoke = freeze: a path grant whose window closes cannot be taken
# back from Landlock, so the session is frozen at the boundary.
to=$(date -u -d '+3 sec' +%H:%M:%S)
{
	echo '[agent]'
	echo 'on_revoke = freeze'
	echo '[exec]'
	echo 'allow = /usr/bin/sleep'
	echo "allow = $LOADER"
	echo '[files]'
	echo 'read = /usr'
	echo 'read = /etc'
	echo "read = $TEST_TMP when time.hours in $from-$to and time.zone = UTC"
} >"$CONF/agents.d/frz.ini"
kill -HUP "$PINFOLDD_PID"
wait_until 5 chain_has "$STATE" '(r["type"] == "policy-load" and r["reason"] == "reload")' \
	>/dev/null || fail "no policy-load record after adding the frz agent"
spawn pf run --agent frz --workspace "$TEST_TMP/wsf" -- /usr/bin/sleep 30
wait_until 5 chain_has "$STATE" '(r["type"] == "session-start" and r["agent"] == "frz")' \
	>/dev/null || fail "the frz session did not start"
fsid=$(last_session "$STATE")
wait_until 10 chain_has "$STATE" '(r["type"] == "session-condition" and
	r["session"] == '"$fsid"' and r["action"] == "frozen")' >/dev/null ||
	fail "the frz session was not frozen when its window closed"
assert_eq 1 "$(cat "$(cg2_mount)/pinfold/frz/$fsid/cgroup.freeze")" "cgroup.freeze of the session"

# A reload with that session running: its Landlock rules cannot move, and
# the record and pinfold status say so.
echo '; a comment changes the hash' >>"$CONF/agents.d/frz.ini"
kill -HUP "$PINFOLDD_PID"
wait_until 5 chain_has "$STATE" '(r["type"] == "policy-load" and
	'"$fsid"' in r.get("landlock_unchanged", []))' >/dev/null ||
	fail "the policy-load record does not name the session whose Landlock rules stay"
pf status >"$TEST_TMP/status.out"
assert_contains "$TEST_TMP/status.out" "still those of policy"
assert_contains "$TEST_TMP/status.out" "frozen"
stop_daemon
"$BUILD/chain-verify" "$STATE/audit" >/dev/null || fail "chain-verify failed"
