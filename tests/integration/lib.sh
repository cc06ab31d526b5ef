# shellcheck shell=bash
# Helpers for pinfold's integration tests; sourced by each test_*.sh:
#
#	. "$(dirname "$0")/lib.sh"
#
# run.sh sets BUILD, REPO and TEST_TMP. A test run by hand
# (`bash tests/integration/test_x.sh`) gets defaults: REPO from this file's
# place, BUILD=$REPO/build, and a fresh TEST_TMP that is removed at exit
# (kept with KEEP_TMP=1); a failed row then makes the test exit 1.
#
# Exit status of a test: 0 pass, 77 skip (after one line on stderr saying
# why), anything else fail. The helpers work with and without `set -eu`.
#
# Checks (assert_*, chain_has, chain_lacks, start_daemon, stop_daemon) end
# the test through fail when they do not hold. Inside a row they end only
# that row.

# The directory of this file, so REPO can be found when run by hand.
_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=${REPO:-$(cd "$_lib_dir/../.." && pwd -P)}
BUILD=${BUILD:-$REPO/build}
export REPO BUILD

_lib_own_tmp=0
if [ -z "${TEST_TMP:-}" ]; then
	TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/pinfold-it.XXXXXX")
	chmod 0755 "$TEST_TMP"
	_lib_own_tmp=1
fi
export TEST_TMP

# Bookkeeping lives in files, not shell variables, so that pids recorded in
# a row's subshell are still known to the cleanup of the main shell.
_lib_state=$TEST_TMP/.lib
mkdir -p "$_lib_state"
: >"$_lib_state/pids"
_lib_rows_failed=0

PINFOLDD_PID=
SOCK=

# ---- outcome ---------------------------------------------------------------

# Record the first reason given, for run.sh's one-line summary.
_lib_reason() {
	if [ -n "${PINFOLD_REASON:-}" ] && [ ! -s "$PINFOLD_REASON" ]; then
		printf '%s\n' "$*" >"$PINFOLD_REASON"
	fi
}

# fail MSG...: the test (or the current row) fails with MSG.
fail() {
	echo "FAIL: $*" >&2
	[ -n "${_lib_in_row:-}" ] || _lib_reason "$*"
	exit 1
}

# skip MSG...: the test (or the current row) is skipped because of MSG.
skip() {
	echo "SKIP: $*" >&2
	[ -n "${_lib_in_row:-}" ] || _lib_reason "$*"
	exit 77
}

# log MSG...: a progress line on stderr, which run.sh keeps in the log.
log() {
	echo "-- $*" >&2
}

require_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
}

# require_cmd NAME...: skip unless each command is on PATH.
require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "needs '$c'"
	done
}

# ---- checks ----------------------------------------------------------------

# assert_eq EXPECTED ACTUAL [WHAT]
assert_eq() {
	[ $# -ge 2 ] || fail "assert_eq: needs EXPECTED ACTUAL"
	[ "$1" = "$2" ] || fail "${3:-value}: expected '$1', got '$2'"
}

# assert_ne UNWANTED ACTUAL [WHAT]
assert_ne() {
	[ $# -ge 2 ] || fail "assert_ne: needs UNWANTED ACTUAL"
	[ "$1" != "$2" ] || fail "${3:-value}: expected anything but '$1'"
}

# assert_contains FILE PATTERN: some line of FILE matches the extended
# regular expression PATTERN.
assert_contains() {
	[ $# -eq 2 ] || fail "assert_contains: needs FILE PATTERN"
	[ -r "$1" ] || fail "assert_contains: cannot read '$1'"
	grep -Eq -e "$2" "$1" || {
		tail -n 20 "$1" | sed 's/^/    | /' >&2
		fail "'$1' has no line matching '$2'"
	}
}

# assert_not_contains FILE PATTERN: no line of FILE matches PATTERN.
assert_not_contains() {
	[ $# -eq 2 ] || fail "assert_not_contains: needs FILE PATTERN"
	[ -r "$1" ] || fail "assert_not_contains: cannot read '$1'"
	if grep -Eq -e "$2" "$1"; then
		grep -E -e "$2" "$1" | head -n 5 | sed 's/^/    | /' >&2
		fail "'$1' has a line matching '$2'"
	fi
}

# wait_until SECONDS CMD...: run CMD every 0.1 s until it succeeds; returns
# 1 if it never did within SECONDS.
wait_until() {
	local limit=$(($1 * 10)) i=0
	shift
	while ! "$@"; do
		i=$((i + 1))
		[ "$i" -lt "$limit" ] || return 1
		sleep 0.1
	done
}

# ---- cgroup v2 -------------------------------------------------------------

# cg2_mount: print where the cgroup v2 hierarchy is mounted (skip if it is
# not). Hybrid hosts have it at /sys/fs/cgroup/unified, others at
# /sys/fs/cgroup, containers elsewhere; mountinfo is the only sure source.
cg2_mount() {
	local m
	m=$(awk '{
		for (i = 7; i <= NF; i++) if ($i == "-") break
		if ($(i + 1) != "cgroup2") next
		if ($4 == "/") { print $5; exit }
		if (other == "") other = $5
	} END { if (other != "") print other }' /proc/self/mountinfo | head -n 1)
	[ -n "$m" ] || skip "no cgroup v2 mount in /proc/self/mountinfo"
	# mountinfo escapes space, tab, newline and backslash as octal.
	printf '%b\n' "$m"
}

# ---- the daemon ------------------------------------------------------------

# start_daemon CONFIG_DIR STATE_DIR [ARGS...]: start $BUILD/pinfoldd in the
# background, its stderr in STATE_DIR/pinfoldd.log, and wait up to 10 s for
# its socket. Sets SOCK and PINFOLDD_PID. Must run in the test's main shell
# (not in a row or $(...)), so that stop_daemon can collect the exit status.
start_daemon() {
	[ $# -ge 2 ] || fail "start_daemon: needs CONFIG_DIR STATE_DIR"
	local config=$1 state=$2 i
	shift 2
	require_root
	[ -x "$BUILD/pinfoldd" ] || fail "no daemon binary '$BUILD/pinfoldd' (run make)"
	[ -z "$PINFOLDD_PID" ] || fail "start_daemon: a daemon (pid $PINFOLDD_PID) is running"
	mkdir -p "$state"
	SOCK=$state/pinfoldd.sock
	rm -f "$SOCK"

	"$BUILD/pinfoldd" --config-dir "$config" --state-dir "$state" --socket "$SOCK" -v "$@" \
		</dev/null >>"$state/pinfoldd.log" 2>&1 &
	PINFOLDD_PID=$!
	echo "$PINFOLDD_PID $state" >"$_lib_state/daemon"

	for i in $(seq 100); do
		[ -S "$SOCK" ] && return 0
		if ! _lib_alive "$PINFOLDD_PID"; then
			local rc=0
			wait "$PINFOLDD_PID" || rc=$?
			PINFOLDD_PID=
			rm -f "$_lib_state/daemon"
			_lib_daemon_tail "$state"
			fail "pinfoldd exited with status $rc before its socket appeared"
		fi
		[ "$i" -lt 100 ] && sleep 0.1
	done
	# The exit trap stops the daemon and shows its log.
	fail "pinfoldd (pid $PINFOLDD_PID): no socket '$SOCK' after 10 s"
}

# stop_daemon: SIGTERM the daemon started by start_daemon, wait up to 10 s,
# and fail unless it exited with status 0.
stop_daemon() {
	[ -n "$PINFOLDD_PID" ] || fail "stop_daemon: no daemon was started"
	local pid=$PINFOLDD_PID state rc
	state=$(cut -d' ' -f2- "$_lib_state/daemon")
	PINFOLDD_PID=
	rm -f "$_lib_state/daemon"

	kill -TERM "$pid" 2>/dev/null || true
	if ! wait_until 10 _lib_dead "$pid"; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		_lib_daemon_tail "$state"
		fail "pinfoldd (pid $pid) still running 10 s after SIGTERM; killed"
	fi
	rc=0
	wait "$pid" || rc=$?
	if [ "$rc" -ne 0 ]; then
		_lib_daemon_tail "$state"
		fail "pinfoldd (pid $pid) exited with status $rc after SIGTERM"
	fi
}

# pf ARGS...: the CLI, talking to the daemon of this test.
pf() {
	[ -n "$SOCK" ] || fail "pf: no daemon socket (call start_daemon first)"
	"$BUILD/pinfold" --socket "$SOCK" "$@"
}

# ---- background processes --------------------------------------------------

# track_pid PID...: kill PID when the test ends, if it is still running.
track_pid() {
	local p
	for p in "$@"; do
		echo "$p" >>"$_lib_state/pids"
	done
}

# spawn CMD...: run CMD in the background, tracked; its pid is left in $!.
spawn() {
	"$@" &
	track_pid "$!"
}

# ---- the audit chain -------------------------------------------------------

# The records of STATE_DIR/audit/chain.jsonl, each as a dict r, filtered by
# a Python expression. A line the daemon has not finished writing (no
# newline yet) is left out. A record without a key the expression uses
# does not match; any other error in the expression is an error.
_lib_chain_query() {
	local py=python3
	# Debian's own interpreter when there is one, not whatever a version
	# manager put first on PATH.
	[ -x /usr/bin/python3 ] && py=/usr/bin/python3
	"$py" - "$@" <<'EOF'
import json, sys

mode, state, expr = sys.argv[1], sys.argv[2], sys.argv[3]
path = state.rstrip("/") + "/audit/chain.jsonl"
try:
    code = compile(expr, "<expression>", "eval")
except SyntaxError as e:
    sys.exit(f"chain: bad expression {expr!r}: {e.msg}")
try:
    with open(path, "rb") as f:
        data = f.read()
except OSError as e:
    sys.exit(f"chain: cannot read '{path}': {e.strerror}")

total = matched = 0
for n, raw in enumerate(data.split(b"\n")[:-1], 1):
    try:
        r = json.loads(raw)
    except ValueError as e:
        sys.exit(f"chain: {path}:{n}: not JSON: {e}")
    total += 1
    try:
        hit = eval(code, {"__builtins__": __builtins__}, {"r": r})
    except (KeyError, IndexError, TypeError):
        hit = False
    if hit:
        matched += 1
        if mode == "show":
            print(raw.decode(errors="replace"))

if mode == "count":
    print(matched)
elif mode == "total":
    print(total)
EOF
}

# chain_count STATE_DIR EXPR: print how many records r match EXPR, e.g.
#	chain_count "$state" 'r["type"] == "decision" and r["action"] == "connect"'
# Exits non-zero (and prints why) if the chain or EXPR cannot be read.
chain_count() {
	[ $# -eq 2 ] || fail "chain_count: needs STATE_DIR EXPR"
	_lib_chain_query count "$1" "$2"
}

# chain_show STATE_DIR EXPR: print the matching records, one a line.
chain_show() {
	[ $# -eq 2 ] || fail "chain_show: needs STATE_DIR EXPR"
	_lib_chain_query show "$1" "$2"
}

# chain_has STATE_DIR EXPR [SECONDS]: fail unless a record matches EXPR
# within SECONDS (default 5), since the daemon writes records in batches.
chain_has() {
	[ $# -ge 2 ] || fail "chain_has: needs STATE_DIR EXPR [SECONDS]"
	local n i limit=$((${3:-5} * 10))
	for i in $(seq "$limit"); do
		n=$(_lib_chain_query count "$1" "$2") || fail "chain_has: cannot query the chain"
		[ "$n" -gt 0 ] && return 0
		[ "$i" -lt "$limit" ] && sleep 0.1
	done
	tail -n 5 "$1/audit/chain.jsonl" 2>/dev/null | sed 's/^/    | /' >&2
	fail "no chain record matches: $2"
}

# chain_lacks STATE_DIR EXPR: fail if a record matches EXPR now. The chain
# must hold at least one record, so an unreadable or empty chain, or an
# expression that could never match, is not taken for a pass.
chain_lacks() {
	[ $# -eq 2 ] || fail "chain_lacks: needs STATE_DIR EXPR"
	local n total
	total=$(_lib_chain_query total "$1" "True") || fail "chain_lacks: cannot query the chain"
	[ "$total" -gt 0 ] || fail "chain_lacks: '$1/audit/chain.jsonl' has no records"
	n=$(_lib_chain_query count "$1" "$2") || fail "chain_lacks: cannot query the chain"
	if [ "$n" -ne 0 ]; then
		_lib_chain_query show "$1" "$2" | head -n 5 | sed 's/^/    | /' >&2
		fail "$n chain record(s) match: $2"
	fi
}

# ---- tables ----------------------------------------------------------------

# row NAME CMD...: run one case of a table in a subshell and record its
# outcome (CMD's exit status: 0 pass, 77 skip, else fail) for run.sh, which
# reports each row as TEST/NAME. A failing row does not stop the test.
row() {
	[ $# -ge 2 ] || fail "row: needs NAME CMD..."
	local name=$1 rc reason status errf errexit=0
	shift
	errf=$_lib_state/row.err
	# A failing row must not end a test that runs under set -e, but the
	# row itself keeps the caller's set -e.
	case $- in
	*e*) errexit=1 ;;
	esac
	set +e
	(
		[ "$errexit" -eq 0 ] || set -e
		_lib_in_row=1
		export ROW_NAME=$name
		"$@"
	) 2>"$errf"
	rc=$?
	[ "$errexit" -eq 0 ] || set -e
	cat "$errf" >&2
	reason=$(grep -v -e '^[[:space:]]*$' -e '^    | ' "$errf" | tail -n 1 |
		sed -e 's/^FAIL: //' -e 's/^SKIP: //') || true
	case $rc in
	0)
		status=pass
		reason=
		;;
	77) status=skip ;;
	*)
		status=fail
		_lib_rows_failed=$((_lib_rows_failed + 1))
		[ -n "$reason" ] || reason="exit status $rc"
		;;
	esac
	if [ -n "${PINFOLD_RESULTS:-}" ]; then
		printf '%s\t%s\t%s\n' "$status" "$name" "$reason" >>"$PINFOLD_RESULTS"
	else
		echo "row $name: $status${reason:+ ($reason)}" >&2
	fi
	return 0
}

# table FUNC: run FUNC once per line of standard input as a row. A line is
# "NAME ARG...", split on blanks; blank lines and lines starting with # are
# left out. FUNC gets the ARGs, and the name in ROW_NAME.
#
#	check_connect() { # ADDR PORT EXPECTED
#		assert_eq "$3" "$(pf run --agent ci -- "$BUILD/probe" connect "$1" "$2")"
#	}
#	table check_connect <<'EOF'
#	v4-denied      10.0.0.1          80  EPERM
#	mapped-denied  ::ffff:10.0.0.1   80  EPERM
#	EOF
table() {
	[ $# -eq 1 ] || fail "table: needs FUNC"
	local func=$1 line
	local -a fields
	while IFS= read -r line || [ -n "$line" ]; do
		case $line in
		'' | '#'*) continue ;;
		esac
		read -r -a fields <<<"$line"
		[ "${#fields[@]}" -gt 0 ] || continue
		row "${fields[0]}" "$func" "${fields[@]:1}" </dev/null
	done
}

# ---- cleanup ---------------------------------------------------------------

# on_exit CMD: run CMD (a string, eval'd) at exit, before the daemon stops.
_lib_on_exit=()
on_exit() {
	_lib_on_exit+=("$1")
}

# True while pid runs; an exited child that is not yet reaped is a zombie
# that kill -0 still reports, so /proc's state field is read instead.
_lib_alive() {
	local st
	st=$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

_lib_dead() {
	! _lib_alive "$1"
}

_lib_daemon_tail() {
	[ -f "$1/pinfoldd.log" ] || return 0
	echo "    pinfoldd.log (last 30 lines):" >&2
	tail -n 30 "$1/pinfoldd.log" | sed 's/^/    | /' >&2
}

_lib_cleanup() {
	local rc=$? c p state pid

	set +e
	for c in "${_lib_on_exit[@]}"; do
		eval "$c"
	done

	if [ -s "$_lib_state/pids" ]; then
		while read -r p; do
			_lib_alive "$p" && kill -TERM "$p" 2>/dev/null
		done <"$_lib_state/pids"
		while read -r p; do
			wait_until 2 _lib_dead "$p" || kill -KILL "$p" 2>/dev/null
		done <"$_lib_state/pids"
	fi

	if [ -f "$_lib_state/daemon" ]; then
		read -r pid state <"$_lib_state/daemon"
		if _lib_alive "$pid"; then
			kill -TERM "$pid" 2>/dev/null
			wait_until 10 _lib_dead "$pid" || {
				echo "pinfoldd (pid $pid) ignored SIGTERM at exit; killed" >&2
				kill -KILL "$pid" 2>/dev/null
			}
		fi
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
			_lib_daemon_tail "$state"
		fi
	fi

	if [ "$rc" -eq 0 ] && [ "$_lib_rows_failed" -gt 0 ] && [ -z "${PINFOLD_RESULTS:-}" ]; then
		rc=1
	fi
	# A bind mount left below TEST_TMP would let rm -rf delete the tree
	# it shows; detach them, deepest first, before anything is removed.
	awk -v d="$TEST_TMP" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo |
		sort -r | while read -r m; do
		umount -l "$(printf '%b' "$m")" || echo "cannot unmount '$m'" >&2
	done
	if [ "$_lib_own_tmp" -eq 1 ]; then
		if [ "${KEEP_TMP:-0}" = 1 ]; then
			echo "kept $TEST_TMP" >&2
		else
			rm -rf --one-file-system "$TEST_TMP"
		fi
	fi
	exit "$rc"
}

trap _lib_cleanup EXIT
# Without these a signal would end the shell without running the EXIT trap.
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
