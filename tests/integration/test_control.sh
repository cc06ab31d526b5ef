#!/bin/bash
# The control socket lets in only who belongs: read-only verbs for the
# groups pinfoldd.conf names, mutating verbs for administrators, nothing
# for an agent's own processes even when its gid is an administrator's;
# and hostile clients (oversized and malformed messages, silent and
# piled-up connections, a flood from many uids) are refused or dropped,
# recorded, while a good client is still served and agents still governed.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent.sh"

require_root
require_cmd python3
require_cmd setpriv
install_probe

CONF=$TEST_TMP/etc
STATE=$TEST_TMP/state
CLIENTS=$(dirname "$0")/control_clients.py
# Numeric ids need no passwd or group entry: the kernel reports them as
# they are. Agent cc runs as AGENT_UID (its own gid too).
READER=60102 READ_GID=60100 ADMIN=60202 ADMIN_GID=60200 NOBODY=60001
AGENT_UID=61300
mkdir -p "$CONF/agents.d" "$STATE"
cat >"$CONF/pinfoldd.conf" <<CONF_EOF
[control]
read_groups = $READ_GID
admin_groups = $ADMIN_GID, $AGENT_UID
idle_timeout_s = 2
clients_per_uid = 8
CONF_EOF
{
	echo '[agent]'
	echo "uid = $AGENT_UID"
	echo '[exec]'
	probe_exec_grants
	echo '[files]'
	probe_file_grants
	echo '[network]'
	echo "unix = $STATE/pinfoldd.sock"
} >"$CONF/agents.d/cc.ini"
port=$(free_port)
tcp_listener 127.0.0.1 "$port"
start_daemon "$CONF" "$STATE"

as() {
	local uid=$1 groups=$2
	shift 2
	if [ -n "$groups" ]; then
		setpriv --reuid="$uid" --regid="$uid" --groups="$groups" "$@"
	else
		setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@"
	fi
}
pf_as() {
	local uid=$1 groups=$2
	shift 2
	as "$uid" "$groups" "$BUILD/pinfold" --socket "$SOCK" "$@"
}

no_group() {
	local out
	out=$(pf_as "$NOBODY" "" status 2>&1) && fail "uid $NOBODY was given status: $out"
	assert_contains <(echo "$out") "uid $NOBODY may not call 'status'"
	pf_as "$NOBODY" "" reload 2>/dev/null && fail "uid $NOBODY reloaded the policy"
	chain_has "$STATE" "(r['type'] == 'control-refused' and r['uid'] == $NOBODY and
		r['verb'] == 'reload')" >/dev/null
}

reader() {
	pf_as "$READER" "$READ_GID" status >/dev/null || fail "a read_groups member was refused status"
	pf_as "$READER" "$READ_GID" reload 2>/dev/null && fail "a read_groups member reloaded"
	chain_has "$STATE" "(r['type'] == 'control-refused' and r['uid'] == $READER and
		r['verb'] == 'reload' and 'admin access' in r['reason'])" >/dev/null
}

admin() {
	pf_as "$ADMIN" "$ADMIN_GID" reload || fail "an admin_groups member could not reload"
	chain_has "$STATE" "(r['type'] == 'policy-load' and
		r['reason'].startswith('reload by uid $ADMIN'))" >/dev/null
}

# The agent's gid is listed as an administrator's: only its cgroup tells it
# apart, and that is enough.
agent_refused() {
	local out
	out=$(pf run --agent cc -- "$PROBE" control "$SOCK" reload) && fail "the agent reloaded: $out"
	assert_contains <(echo "$out") "refused: pid [0-9]+ is an agent's process"
	out=$(pf run --agent cc -- "$PROBE" control "$SOCK" status) || true
	assert_contains <(echo "$out") "refused: .*agent's process"
	chain_has "$STATE" "(r['type'] == 'control-refused' and r['uid'] == $AGENT_UID and
		r['verb'] == 'reload')" >/dev/null
}

# Each bad frame gets its own reason, and the connection is closed: an
# oversized message, a truncated and a duplicate-key object, and a small
# good request with 4 and with 20 descriptors attached.
bad_frames() {
	local out
	out=$(python3 - "$SOCK" <<'PY'
import json, socket, sys
status = b'{"verb":"status"}'
for payload, nfds in ((b"x" * 70000, 0), (b"{\"verb\": ", 0),
                      (b'{"verb":"status","verb":"run"}', 0), (status, 4), (status, 20)):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sys.argv[1])
    socket.send_fds(s, [payload], [0] * nfds)
    print(json.loads(s.recv(65536))["error"])
    print("closed" if s.recv(65536) == b"" else "open")
PY
)
	assert_contains <(echo "$out") "^message larger than 64 KiB: connection closed$"
	assert_eq 2 "$(grep -c '^more than 3 descriptors attached: connection closed$' <<<"$out")" \
		"refusals of frames with too many descriptors"
	assert_eq 5 "$(grep -c '^closed$' <<<"$out")" "connections closed after a bad frame"
	chain_has "$STATE" "r['type'] == 'control-dropped' and 'larger than 64 KiB' in r['reason']" \
		>/dev/null
	chain_has "$STATE" "(r['type'] == 'control-dropped' and r['uid'] == 0 and
		r['reason'] == 'more than 3 descriptors attached')" >/dev/null
	pf status >/dev/null || fail "no status after the bad frames"
}

per_uid_limit() {
	local out
	out=$(as "$NOBODY" "" /usr/bin/python3 "$CLIENTS" hold "$SOCK" 12)
	assert_eq "kept 8 refused 4" "$out" "connections of one uid past clients_per_uid"
	chain_has "$STATE" "(r['type'] == 'control-dropped' and r['uid'] == $NOBODY and
		'clients_per_uid' in r['reason'])" >/dev/null
}

idle_closed() {
	local out
	out=$(as "$NOBODY" "" /usr/bin/python3 "$CLIENTS" idle "$SOCK" 10)
	assert_contains <(echo "$out") "^closed after [23] s$"
	chain_has "$STATE" "r['type'] == 'control-dropped' and r['reason'] == 'silent for 2 s'" \
		>/dev/null
}

# While 20 uids flood the socket, root's status requests are answered and
# an agent's forbidden connect is still refused in the kernel and recorded.
flood() {
	local flood_out good_out verdict
	python3 "$CLIENTS" flood "$SOCK" 6 $(seq 60010 60029) >"$TEST_TMP/flood.out" &
	local fpid=$!
	track_pid "$fpid"
	sleep 1
	good_out=$(python3 "$CLIENTS" good "$SOCK" 100)
	verdict=$(pf run --agent cc -- "$PROBE" connect 127.0.0.1 "$port" || true)
	wait "$fpid"
	flood_out=$(cat "$TEST_TMP/flood.out")
	log "$flood_out; good client: $good_out"
	assert_contains <(echo "$good_out") "^answered 100 of 100"
	assert_eq EPERM "$verdict" "an agent's forbidden connect during the flood"
	[ "${flood_out#flood }" -gt 1000 ] || fail "the flood tried only ${flood_out#flood } connects"
	chain_has "$STATE" "(r['type'] == 'decision' and r['action'] == 'connect' and
		r['decision'] == 'deny' and r['object'].endswith(':$port'))" >/dev/null
	chain_has "$STATE" "r.get('suppressed', 0) > 0" >/dev/null
}

call() { "$@"; }
table call <<'ROWS'
no-group-refused	no_group
read-group-status-only	reader
admin-group-reloads	admin
agent-process-refused	agent_refused
bad-frames-dropped	bad_frames
per-uid-connection-limit	per_uid_limit
silent-connection-closed	idle_closed
flood-good-client-served	flood
ROWS
