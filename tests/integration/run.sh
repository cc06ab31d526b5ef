#!/bin/bash
# Usage: tests/integration/run.sh [NAME...]
#
# Runs tests/integration/test_*.sh and tests/escape/test_*.sh in name order
# (or only those whose name
# contains one of the NAMEs), each as `bash test_x.sh` with its working
# directory and TEST_TMP a fresh temporary directory, and with
#
#	BUILD            absolute path of the build directory (default build/)
#	REPO             absolute path of the repository
#	TEST_TMP         the test's own directory, removed afterwards
#	PINFOLD_RESULTS  where lib.sh's `row` records each table row
#	PINFOLD_REASON   where lib.sh's fail/skip record the first reason
#
# Exit status of a test: 0 pass, 77 skip, anything else fail. A test that
# records rows is reported row by row, plus itself only when it did not
# exit 0. One line per test or row, then "integration: N passed, N failed,
# N skipped"; the exit status is 1 if anything failed.
#
# Environment: PINFOLD_REQUIRE_KERNEL=1 turns every skip into a failure
# (and an empty test list too); KEEP_TMP=1 keeps each TEST_TMP;
# PINFOLD_TEST_TIMEOUT is the seconds one test may take (default 600).
# Logs stay in $BUILD/integration/NAME.log.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd -P)
REPO=$(cd "$here/../.." && pwd -P)
BUILD=${BUILD:-build}
case $BUILD in
/*) ;;
*) BUILD=$REPO/$BUILD ;;
esac
mkdir -p "$BUILD"
BUILD=$(cd "$BUILD" && pwd -P)
export REPO BUILD

require_kernel=${PINFOLD_REQUIRE_KERNEL:-0}
timeout_s=${PINFOLD_TEST_TIMEOUT:-600}
logdir=$BUILD/integration
mkdir -p "$logdir"

passed=0 failed=0 skipped=0

# report STATUS NAME REASON: print one result line and count it.
report() {
	local status=$1 name=$2 reason=$3
	if [ "$status" = skip ] && [ "$require_kernel" = 1 ]; then
		status=fail
		reason="skipped, but PINFOLD_REQUIRE_KERNEL=1${reason:+: $reason}"
	fi
	case $status in
	pass)
		passed=$((passed + 1))
		echo "PASS $name"
		;;
	skip)
		skipped=$((skipped + 1))
		echo "SKIP $name${reason:+: $reason}"
		;;
	*)
		failed=$((failed + 1))
		echo "FAIL $name${reason:+: $reason}"
		;;
	esac
}

# Show the end of a failed test's log on stderr, out of the result lines.
show_log() {
	echo "    $1 (last 40 lines):" >&2
	tail -n 40 "$1" | sed 's/^/    /' >&2
}

# lib.sh unmounts what a test mounted below TEST_TMP; this is the check.
mounted_below() {
	awk -v d="$1" '$5 == d || index($5, d "/") == 1 { found = 1 } END { exit !found }' \
		/proc/self/mountinfo
}

selected() {
	local name=$1 want
	[ $# -gt 1 ] || return 0
	shift
	for want in "$@"; do
		case $name in
		*"$want"*) return 0 ;;
		esac
	done
	return 1
}

run_one() {
	local script=$1 name tmp log results reasonf reason rc status rname rreason
	local rows=0 row_failed=0
	name=$(basename "$script")
	log=$logdir/${name%.sh}.log
	results=$logdir/${name%.sh}.results
	reasonf=$logdir/${name%.sh}.reason
	: >"$results"
	: >"$reasonf"
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/pinfold-it.XXXXXX")
	# Agents run as their own unprivileged users and must reach the files
	# a test prepares for them; what they may write is the test's choice.
	chmod 0755 "$tmp"

	# timeout puts the test in a process group of its own (so that it can
	# end all of it), where a ^C on the terminal does not reach; the
	# signal trap below passes such a signal on through timeout.
	TEST_TMP=$tmp PINFOLD_RESULTS=$results PINFOLD_REASON=$reasonf PINFOLD_TEST_NAME=$name \
		timeout --kill-after=10 "$timeout_s" env -C "$tmp" bash "$script" \
		</dev/null >"$log" 2>&1 &
	child=$!
	rc=0
	while [ -n "$child" ]; do
		wait "$child"
		rc=$?
		# A trapped signal ends wait early with the child still running.
		kill -0 "$child" 2>/dev/null || child=
	done

	while IFS=$'\t' read -r status rname rreason; do
		[ -n "$status" ] || continue
		rows=$((rows + 1))
		[ "$status" = fail ] && row_failed=1
		report "$status" "$name/$rname" "$rreason"
	done <"$results"

	reason=$(head -n 1 "$reasonf")
	if [ -z "$reason" ]; then
		reason=$(grep -v '^[[:space:]]*$' "$log" | tail -n 1)
		reason=${reason#FAIL: }
		reason=${reason#SKIP: }
	fi
	case $rc in
	0) [ "$rows" -gt 0 ] || report pass "$name" "" ;;
	77) report skip "$name" "$reason" ;;
	124 | 137) report fail "$name" "timed out after $timeout_s s" ;;
	*) report fail "$name" "exit status $rc${reason:+: $reason}" ;;
	esac
	if { [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; } || [ "$row_failed" -eq 1 ]; then
		show_log "$log"
	fi

	if [ "${KEEP_TMP:-0}" = 1 ]; then
		echo "    kept TEST_TMP of $name: $tmp" >&2
	elif mounted_below "$tmp"; then
		# rm -rf would delete through a bind mount into the real tree.
		echo "    $name left mounts below $tmp; not removing it" >&2
	else
		rm -rf --one-file-system "$tmp"
	fi
}

child=
interrupted=0
on_signal() {
	interrupted=1
	[ -z "$child" ] || kill -TERM "$child" 2>/dev/null
}
trap on_signal HUP INT TERM

# The escape suite lives beside the integration tests and runs with them.
mapfile -t scripts < <(find "$here" "$here/../escape" -maxdepth 1 -name 'test_*.sh' -type f \
	2>/dev/null | LC_ALL=C sort)
ran=0
for script in "${scripts[@]}"; do
	selected "$(basename "$script")" "$@" || continue
	ran=$((ran + 1))
	run_one "$script"
	if [ "$interrupted" = 1 ]; then
		echo "integration: interrupted, later tests not run" >&2
		break
	fi
done

if [ "$ran" -eq 0 ]; then
	echo "integration: no test_*.sh selected in $here" >&2
	[ "$require_kernel" = 1 ] && report fail "(no tests)" "nothing ran under PINFOLD_REQUIRE_KERNEL=1"
fi

echo "integration: $passed passed, $failed failed, $skipped skipped"
[ "$interrupted" = 0 ] || exit 130
[ "$failed" -eq 0 ]
