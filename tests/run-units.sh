#!/bin/bash
# Usage: tests/run-units.sh BIN...
#
# Runs each cmocka unit test binary, prints one line per binary and then
# "unit: N passed, N failed", counting test cases from cmocka's summary
# lines. A binary that exits non-zero although none of its cases failed
# (a crash, or a leak that AddressSanitizer reports at exit) counts as one
# more failed case. Exit status 1 if anything failed.
#
# PINFOLD_UNIT_TIMEOUT is the seconds one binary may take (default 300).
# The output of a failed binary is shown on stderr; with
# PINFOLD_UNIT_VERBOSE=1, that of every binary is, on stdout.
set -uo pipefail

timeout_s=${PINFOLD_UNIT_TIMEOUT:-300}
passed=0 failed=0

# The summary format parsed below is cmocka's plain one; an inherited
# CMOCKA_MESSAGE_OUTPUT=xml or tap would hide it.
export CMOCKA_MESSAGE_OUTPUT=stdout
unset CMOCKA_XML_FILE

# sum_counts LOG TAG: the total N over "[  TAG  ] N test(s)" lines.
sum_counts() {
	grep -aoE "\\[ +$2 +\\] [0-9]+ test\\(s\\)" "$1" |
		awk '{ n += $(NF - 1) } END { print n + 0 }'
}

if [ $# -eq 0 ]; then
	echo "run-units.sh: no unit test binaries given" >&2
fi

log=$(mktemp "${TMPDIR:-/tmp}/pinfold-unit.XXXXXX")
trap 'rm -f "$log"' EXIT

for bin in "$@"; do
	name=$(basename "$bin")
	if [ ! -x "$bin" ]; then
		failed=$((failed + 1))
		echo "FAIL $name: not an executable file: $bin"
		continue
	fi

	timeout --kill-after=10 "$timeout_s" "$bin" >"$log" 2>&1 </dev/null
	rc=$?
	np=$(sum_counts "$log" PASSED)
	nf=$(sum_counts "$log" FAILED)
	ns=$(sum_counts "$log" SKIPPED)
	skipped=""
	[ "$ns" -eq 0 ] || skipped=", $ns skipped"

	if [ "$rc" -ne 0 ] && [ "$nf" -eq 0 ]; then
		# Not a case that cmocka counted: the binary itself went wrong.
		nf=1
		case $rc in
		124 | 137) why="timed out after $timeout_s s" ;;
		*) why="exit status $rc" ;;
		esac
		[ "$np" -gt 0 ] && why="$why after $np passed"
	elif [ "$nf" -gt 0 ]; then
		why="$nf of $((np + nf)) failed"
	fi
	if [ "$rc" -eq 0 ] && [ "$np" -eq 0 ] && [ "$ns" -eq 0 ]; then
		# Not a cmocka binary, or it ran no case: count the binary.
		np=1
	fi
	passed=$((passed + np))
	failed=$((failed + nf))

	if [ "$rc" -eq 0 ] && [ "$nf" -eq 0 ]; then
		[ -z "${PINFOLD_UNIT_VERBOSE:-}" ] || sed 's/^/    /' "$log"
		echo "PASS $name ($np passed$skipped)"
	else
		echo "FAIL $name ($why$skipped)"
		echo "    output of $bin (last 60 lines):" >&2
		tail -n 60 "$log" | sed 's/^/    /' >&2
	fi
done

echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
