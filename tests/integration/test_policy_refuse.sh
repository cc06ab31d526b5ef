#!/bin/bash
# A configuration with an error is refused whole: pinfoldd exits non-zero
# before it touches the host, names the file and line of the error on
# stderr, and leaves nothing in <cg2>/pinfold (no directory, no attached
# program, no socket, no state).
set -eu
. "$(dirname "$0")/lib.sh"

require_root
require_cmd bpftool timeout
[ -x "$BUILD/pinfoldd" ] || fail "no daemon binary '$BUILD/pinfoldd' (run make)"

CG2=$(cg2_mount)
CGROOT=$CG2/pinfold

# What <cg2>/pinfold holds: its directories and the programs attached to
# it. Another pinfoldd on the host may own it; then it must be unchanged.
cgroot_snapshot() {
	if [ -d "$CGROOT" ]; then
		find "$CGROOT" -type d | LC_ALL=C sort
		bpftool cgroup show "$CGROOT" 2>&1
	else
		echo "absent"
	fi
}

# SECTION LINE [BLAMED]: agents.d/bad.ini holds a valid agent plus LINE
# in [SECTION]; a valid agents.d/good.ini sits beside it. The error must be
# reported at the line that reads BLAMED (default: LINE).
check_refuse() {
	local section=$1 bad=$2 blamed=${3:-$2} dir=$TEST_TMP/$ROW_NAME line rc=0 before after
	mkdir -p "$dir/etc/agents.d"
	printf '[agent]\ndescription = fine\n[files]\nread = /usr\n' >"$dir/etc/agents.d/good.ini"
	{
		echo '[agent]'
		echo 'description = has one error'
		echo '[exec]'
		echo 'allow = /usr/bin/true'
		echo '[files]'
		echo 'read = /usr'
		echo '[network]'
		echo 'connect = 127.0.0.1/32 1024-65535'
		echo "[$section]"
		echo "$bad"
		echo '[files]'
		echo 'read = /etc'
	} >"$dir/etc/agents.d/bad.ini"
	line=$(grep -n -x -F -e "$blamed" "$dir/etc/agents.d/bad.ini" | head -n 1 | cut -d: -f1)

	before=$(cgroot_snapshot)
	timeout 10 "$BUILD/pinfoldd" --config-dir "$dir/etc" --state-dir "$dir/state" \
		--socket "$dir/pinfoldd.sock" </dev/null >"$dir/stdout" 2>"$dir/stderr" || rc=$?
	after=$(cgroot_snapshot)
	sed 's/^/    | /' "$dir/stderr" >&2

	[ "$rc" -ne 0 ] || fail "pinfoldd started with '$bad' in [$section]"
	[ "$rc" -ne 124 ] || fail "pinfoldd still ran 10 s after start with '$bad' in [$section]"
	assert_contains "$dir/stderr" "agents\.d/bad\.ini:$line: "
	assert_not_contains "$dir/stderr" 'agents\.d/good\.ini'
	[ "$before" = "$after" ] || {
		diff <(echo "$before") <(echo "$after") | sed 's/^/    | /' >&2
		fail "'$CGROOT' changed"
	}
	[ ! -e "$dir/pinfoldd.sock" ] || fail "a socket '$dir/pinfoldd.sock' was left"
	[ ! -e "$dir/state/audit/chain.jsonl" ] || fail "a chain was started in '$dir/state'"
}

row unknown-key           check_refuse network 'conect = 127.0.0.1/32 80'
row unknown-files-key     check_refuse files 'raed = /etc'
row unknown-agent-key     check_refuse agent 'workdir = /tmp'
row unknown-section       check_refuse netwrk 'connect = 127.0.0.1/32 80' '[netwrk]'
row bad-address           check_refuse network 'connect = 127.0.0.300/32 80'
row reversed-ports        check_refuse network 'connect = 127.0.0.1/32 90-80'
row relative-path         check_refuse files 'read = etc/passwd'
row root-uid              check_refuse agent 'uid = 0'
row bad-boolean           check_refuse agent 'enabled = maybe'
row not-a-key-line        check_refuse files 'this is not a key'

# The same directory without the error starts: the refusals above were
# for the error, not for something else in the test's configuration.
control() {
	local dir=$TEST_TMP/control rc=0
	mkdir -p "$dir/etc/agents.d"
	printf '[agent]\ndescription = fine\n[files]\nread = /usr\n' >"$dir/etc/agents.d/good.ini"
	printf '[agent]\ndescription = fine too\n[network]\nconnect = 127.0.0.1/32 80\n' \
		>"$dir/etc/agents.d/bad.ini"
	timeout --preserve-status -s TERM 3 "$BUILD/pinfoldd" --config-dir "$dir/etc" --state-dir "$dir/state" \
		--socket "$dir/pinfoldd.sock" </dev/null >/dev/null 2>"$dir/stderr" || rc=$?
	assert_eq 0 "$rc" "exit status of pinfoldd stopped by SIGTERM after 3 s"
	assert_not_contains "$dir/stderr" 'error'
}
row control control
