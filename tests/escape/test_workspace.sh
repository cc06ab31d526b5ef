#!/bin/bash
# A workspace a caller names is made with the caller's own rights and never
# through a symlink: pinfoldd runs as root, and a dispatcher must not get a
# directory of its own planted where it could not make one itself.
set -eu
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/agent.sh"

require_root
require_cmd setpriv
install_probe

DEV=60601
CONF=$TEST_TMP/etc
STATE=$TEST_TMP/state
ROOTONLY=$TEST_TMP/rootonly
MINE=$TEST_TMP/mine
mkdir -p "$CONF/agents.d" "$CONF/users.d" "$ROOTONLY" "$MINE"
chmod 0755 "$ROOTONLY"
chown "$DEV:$DEV" "$MINE"
ln -s "$ROOTONLY" "$MINE/link"
{
	echo '[exec]'
	probe_exec_grants
	echo '[files]'
	probe_file_grants
	echo 'read = ${workspace}'
	echo 'write = ${workspace}'
} >"$CONF/agents.d/ws.ini"
{
	echo '[bound]'
	echo "users = $DEV"
	echo 'agents = ws'
	echo '[exec]'
	probe_exec_grants
	echo '[files]'
	probe_file_grants
	echo 'read = ${workspace}'
	echo 'write = ${workspace}'
} >"$CONF/users.d/dev.ini"
start_daemon "$CONF" "$STATE"

run_in() {
	setpriv --reuid="$DEV" --regid="$DEV" --clear-groups \
		"$BUILD/pinfold" --socket "$SOCK" run --agent ws --workspace "$1" -- \
		"$PROBE" write "$1/planted" 2>&1
}

in_root_dir() {
	local out
	out=$(run_in "$ROOTONLY/a/b") && fail "a workspace was made in a root-only directory: $out"
	assert_contains <(echo "$out") "with the caller's rights: Permission denied"
	[ ! -e "$ROOTONLY/a" ] || fail "'$ROOTONLY/a' was created"
}

through_symlink() {
	local out
	out=$(run_in "$MINE/link/x") && fail "a workspace was made through a symlink: $out"
	assert_contains <(echo "$out") "cannot enter 'link'.*not a directory, or a symlink"
	[ ! -e "$ROOTONLY/x" ] || fail "'$ROOTONLY/x' was created through the symlink"
}

own_dir() {
	local out
	out=$(run_in "$MINE/ws") || fail "a workspace in the caller's own directory: $out"
	assert_eq ok "$out" "the agent's write in its workspace"
	assert_eq "$DEV" "$(stat -c %u "$MINE/ws")" "the workspace's owner"
}

call() { "$@"; }
table call <<'ROWS'
workspace-in-root-only-dir	in_root_dir
workspace-through-symlink	through_symlink
workspace-in-own-dir	own_dir
ROWS
