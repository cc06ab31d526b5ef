# shellcheck shell=bash
# Helpers for the tests that run agents; sourced after lib.sh:
#
#	. "$(dirname "$0")/lib.sh"
#	. "$(dirname "$0")/agent.sh"

# The dynamic loader by its real path: the kernel opens it for execution
# with every dynamically linked program.
LOADER=/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2

# install_probe: copy build/probe to $TEST_TMP/bin/probe and set PROBE.
# The agent runs as an unprivileged uid, and a checkout may sit below a
# directory it cannot traverse (a clone in root's 0700 home, say); TEST_TMP
# is 0755, so a copy there is reachable wherever the checkout is.
install_probe() {
	[ -x "$BUILD/probe" ] || fail "no '$BUILD/probe' (run make $BUILD/probe)"
	[ -x "$LOADER" ] || skip "no dynamic loader at '$LOADER'"
	mkdir -p "$TEST_TMP/bin"
	chmod 0755 "$TEST_TMP/bin"
	install -m 0755 "$BUILD/probe" "$TEST_TMP/bin/probe"
	PROBE=$TEST_TMP/bin/probe
}

# probe_exec_grants, probe_file_grants: the [exec] and [files] lines an
# agent needs to run $PROBE: the file itself, the loader, the libraries and
# /etc/ld.so.cache, and /proc for `probe cgroup` (a grant of /proc/self
# would name the daemon's own /proc/PID, which the daemon resolves when it
# builds the ruleset).
probe_exec_grants() {
	printf 'allow = %s\nallow = %s\n' "$PROBE" "$LOADER"
}

probe_file_grants() {
	printf 'read = %s\nread = /usr\nread = /etc\nread = /proc\n' "$PROBE"
}

# rule_of FILE TEXT: print "agents.d/NAME.ini:LINE" for the first line of
# the agent file FILE that is exactly TEXT, the name a decision record
# gives the grant on that line.
rule_of() {
	local n
	n=$(grep -n -x -F -e "$2" "$1" | head -n 1 | cut -d: -f1)
	[ -n "$n" ] || fail "rule_of: no line '$2' in '$1'"
	echo "agents.d/$(basename "$1"):$n"
}

# last_session STATE_DIR: the id of the newest session-start record. The
# daemon writes it, synced, before it answers `run`.
last_session() {
	local id
	id=$(chain_show "$1" 'r["type"] == "session-start"' | tail -n 1 |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["session"])') ||
		fail "last_session: no session-start record in '$1'"
	echo "$id"
}

# agent_uid STATE_DIR NAME: the uid the daemon allocated to agent NAME.
agent_uid() {
	local u
	u=$(awk -v n="$2" '$1 == n { print $2; exit }' "$1/uids" 2>/dev/null)
	[ -n "$u" ] || fail "agent_uid: no uid for agent '$2' in '$1/uids'"
	echo "$u"
}

# as_uid UID CMD...: CMD as UID without pinfold, the control that shows a
# denial is pinfold's and not the file's mode.
as_uid() {
	local u=$1
	shift
	setpriv --reuid="$u" --regid="$u" --clear-groups "$@"
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# tcp_listener ADDR PORT: listen on ADDR:PORT in the background (tracked),
# accepting and closing connections, and wait until it listens.
tcp_listener() {
	local ready=$TEST_TMP/.listen.$2
	rm -f "$ready"
	spawn python3 -c '
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(16)
open(sys.argv[3], "w").close()
while True:
    c, _ = s.accept()
    c.close()
' "$1" "$2" "$ready"
	wait_until 5 test -e "$ready" || fail "listener on $1:$2 did not start"
}

# test_dirs: set CONF, STATE and WS below TEST_TMP and make CONF/agents.d.
test_dirs() {
	CONF=$TEST_TMP/etc
	STATE=$TEST_TMP/state
	WS=$TEST_TMP/ws
	mkdir -p "$CONF/agents.d"
}

# shell_agent_grants: the [exec] and [files] sections of an agent that
# runs dash, sleep and true in its workspace.
# shellcheck disable=SC2016 # ${workspace} is the policy's variable
shell_agent_grants() {
	echo '[exec]'
	echo "allow = $LOADER"
	printf 'allow = /usr/bin/%s\n' dash sleep true
	echo '[files]'
	printf 'read = %s\n' /usr /etc '${workspace}'
	echo 'write = ${workspace}'
}

# session_cgroup SID: the cgroup of running session SID, from pf sessions.
session_cgroup() {
	pf sessions --json | python3 -c '
import json, sys
for s in json.load(sys.stdin):
    if s["session"] == int(sys.argv[1]):
        print(s["cgroup"])' "$1"
}

# held_id OBJECT: wait up to 5 s for a pending request whose object is
# OBJECT, print its id.
held_id() {
	local id i
	for i in $(seq 50); do
		id=$(pf approvals --json | python3 -c '
import json, sys
for a in json.load(sys.stdin):
    if a["object"] == sys.argv[1]:
        print(a["request"]); break' "$1")
		[ -n "$id" ] && { echo "$id"; return 0; }
		sleep 0.1
	done
	fail "no pending request for '$1'"
}
