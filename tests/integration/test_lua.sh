#!/bin/bash
# A real third-party workload under a least-privilege policy: the agent
# copies Lua 5.4's source into its workspace, builds it with make and gcc,
# and runs the interpreter it built. All of it must work with not one
# denial in the chain; and the same agent, in a second run, still cannot
# write outside its workspace.
#
# The source comes from Debian's lua5.4 source package through
# lua-source.sh, cached in ${PINFOLD_CACHE:-build/cache}/lua across runs.
# Without a mirror to fetch from, the test is skipped, never passed.
# shellcheck disable=SC2016 # ${workspace} in single quotes is the policy's
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent.sh"

require_root
require_cmd python3 make gcc setpriv

CACHE=${PINFOLD_CACHE:-$REPO/build/cache}/lua
if ! tree=$("$REPO/tests/integration/lua-source.sh" "$CACHE" 2>"$TEST_TMP/lua-source.err"); then
	sed 's/^/    | /' "$TEST_TMP/lua-source.err" >&2
	skip "no Lua source: $(tail -n 1 "$TEST_TMP/lua-source.err")"
fi
[ -f "$tree/src/lua.c" ] || fail "lua-source.sh gave '$tree', which has no src/lua.c"

# The agent reads the source where it is when every uid can; a cache
# below a directory other uids cannot traverse is copied into TEST_TMP.
if setpriv --reuid=65534 --regid=65534 --clear-groups test -r "$tree/src/lua.c" 2>/dev/null; then
	SRC=$tree
else
	SRC=$TEST_TMP/src/$(basename "$tree")
	mkdir -p "$TEST_TMP/src"
	cp -a "$tree" "$SRC"
	chmod -R a+rX "$TEST_TMP/src"
	log "'$tree' is not readable by other uids; the agent reads a copy in '$SRC'"
fi

CONF=$TEST_TMP/etc
STATE=$TEST_TMP/state
WS=$TEST_TMP/ws
AGENT=build
DROP=$(mktemp -d "$TEST_TMP/drop.XXXXXX")
chmod 1777 "$DROP"

# The policy of policy/examples/agents.d/build.ini, plus the source, plus
# /proc/filesystems: coreutils' cp loads libselinux, whose start-up reads
# it (and /proc/mounts when it cannot) to look for selinuxfs.
mkdir -p "$CONF/agents.d"
cat >"$CONF/agents.d/$AGENT.ini" <<EOF
[agent]
description = builds Lua from source in its workspace, offline

[exec]
allow = /usr/bin
allow = /usr/lib/gcc
allow = /usr/libexec
allow = $LOADER
allow = /usr/lib64
allow = \${workspace}

[files]
read = /usr
read = /etc
read = /dev/null
read = /dev/urandom
read = /proc/filesystems
read = $SRC
read = \${workspace}
write = \${workspace}
write = /dev/null
EOF

start_daemon "$CONF" "$STATE"

build() {
	local out rc=0 sid denials
	out=$(pf run --agent "$AGENT" --workspace "$WS" -- /usr/bin/sh -c \
		'cp -a "$1" lua && make -C lua linux -j2 >build.log 2>&1 && lua/src/lua -e "print(1+1)"' \
		sh "$SRC" 2>"$TEST_TMP/build.stderr") || rc=$?
	sid=$(last_session "$STATE")
	if [ "$rc" -ne 0 ]; then
		sed 's/^/    | /' "$TEST_TMP/build.stderr" >&2
		tail -n 20 "$WS/build.log" 2>/dev/null | sed 's/^/    | /' >&2
		chain_show "$STATE" "r['type'] == 'decision' and r['session'] == $sid and \
r['decision'] == 'deny'" | head -n 10 | sed 's/^/    | /' >&2
		fail "the build failed with status $rc"
	fi
	assert_eq 2 "$out" "what the built lua prints for 1+1"
	[ -x "$WS/lua/src/lua" ] || fail "no '$WS/lua/src/lua'"

	chain_has "$STATE" "r['type'] == 'session-end' and r['session'] == $sid and r['exit'] == 0"
	denials=$(chain_count "$STATE" "r['type'] == 'decision' and r['session'] == $sid and \
r['decision'] == 'deny'")
	if [ "$denials" -ne 0 ]; then
		chain_show "$STATE" "r['type'] == 'decision' and r['session'] == $sid and \
r['decision'] == 'deny'" | head -n 10 | sed 's/^/    | /' >&2
		fail "$denials deny decision(s) in the build's session $sid"
	fi
	chain_lacks "$STATE" "r['type'] == 'loss'"
	# cc1, as, ld and the rest each exec'd, and every source file opened.
	local execs opens
	execs=$(chain_count "$STATE" "r['type'] == 'decision' and r['session'] == $sid and \
r['action'] == 'exec' and r['decision'] == 'allow'")
	opens=$(chain_count "$STATE" "r['type'] == 'decision' and r['session'] == $sid and \
r['action'] == 'open' and r['decision'] == 'allow'")
	log "build session $sid: $execs allowed execs, $opens allowed opens"
	[ "$execs" -ge 50 ] || fail "only $execs allowed exec records for the build"
	[ "$opens" -ge 200 ] || fail "only $opens allowed open records for the build"
	chain_has "$STATE" "r['type'] == 'decision' and r['session'] == $sid and \
r['action'] == 'exec' and r.get('resolved', r['object']).endswith('/cc1')"
	chain_has "$STATE" "r['type'] == 'decision' and r['session'] == $sid and \
r['action'] == 'open' and r['object'].endswith('/lua.c')"
}
row build build

# The same agent, in a second run, fails to write outside its workspace
# into a directory any uid may write, and the denial is chained.
write_outside() {
	local out rc=0 sid
	out=$(pf run --agent "$AGENT" --workspace "$WS" -- /usr/bin/touch "$DROP/escaped" 2>&1) ||
		rc=$?
	sid=$(last_session "$STATE")
	assert_ne 0 "$rc" "exit status of touch '$DROP/escaped'"
	case $out in
	*"Permission denied"*) ;;
	*) fail "touch said '$out', not Permission denied (EACCES)" ;;
	esac
	[ ! -e "$DROP/escaped" ] || fail "'$DROP/escaped' was created"
	chain_has "$STATE" "r['type'] == 'decision' and r['session'] == $sid and \
r['action'] == 'open' and r['object'] == '$DROP/escaped' and r['decision'] == 'deny' and \
r['outcome'] == 'EACCES'"
	# What the agent cannot do is pinfold's doing: its uid alone may.
	as_uid "$(agent_uid "$STATE" "$AGENT")" touch "$DROP/control" ||
		fail "the agent's uid cannot write into '$DROP' even without pinfold"
}
row write-outside write_outside

stop_daemon
