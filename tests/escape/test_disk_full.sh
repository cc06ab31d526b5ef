#!/bin/bash
# A full disk under the audit log. The log's directory is a 64 MiB tmpfs in
# a private mount namespace (the host's mounts are untouched), filled up
# while an agent floods opens. With the default on_write_error=freeze the
# daemon freezes every agent session until the log can be written again,
# then thaws them; with on_write_error=deny it refuses new sessions
# instead. Each action and its end are records of the chain, which
# verifies afterwards.
# shellcheck disable=SC2016 # ${workspace} in single quotes is the policy's
set -eu
if [ -z "${PINFOLD_MOUNT_NS:-}" ] && [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null; then
	PINFOLD_MOUNT_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/agent.sh"

require_root
require_cmd python3 unshare
[ -n "${PINFOLD_MOUNT_NS:-}" ] || skip "no private mount namespace (unshare -m)"
install_probe

CONF=$TEST_TMP/etc
STATE=$TEST_TMP/state
STORM=$TEST_TMP/storm
mkdir -p "$CONF/agents.d" "$STORM" "$STATE/audit"
chmod 0755 "$STORM"
{
	echo '[exec]'
	probe_exec_grants
	echo '[files]'
	probe_file_grants
	echo "read = $STORM"
	echo 'read = ${workspace}'
	echo 'write = ${workspace}'
} >"$CONF/agents.d/full.ini"
mount -t tmpfs -o size=64m,mode=0700 pinfold-test "$STATE/audit" ||
	skip "cannot mount a tmpfs in the private namespace"
CG2=$(cg2_mount)
LOG=$STATE/pinfoldd.log

# Whether the log says writes work again after its line $1 (a write that
# fits the last page can work in between, so earlier lines prove nothing).
resumed_after() {
	tail -n "+$(($1 + 1))" "$LOG" | grep -q "can be written again"
}

# All but 48 KiB of the tmpfs taken by a file the log does not know.
fill() {
	local avail
	avail=$(df --output=avail -B1 "$STATE/audit" | tail -n 1)
	head -c "$((avail - 48 * 1024))" /dev/zero >"$STATE/audit/filler" 2>/dev/null || true
}

frozen() {
	grep -qx "frozen $1" "$CG2/pinfold/cgroup.events"
}

# Distinct opens, COUNT of them; enough to fill what the log has left.
flood() {
	spawn "$BUILD/pinfold" --socket "$SOCK" run --agent full --workspace "$TEST_TMP/ws" -- \
		"$PROBE" openstorm "$STORM" "$1" >/dev/null
}

end_sessions() {
	local d
	for d in "$CG2"/pinfold/full/*/; do
		[ -d "$d" ] && echo 1 >"$d/cgroup.kill" 2>/dev/null
	done
	return 0
}

start_daemon "$CONF" "$STATE"
"$BUILD/pinfold" audit pubkey --state-dir "$STATE" >"$TEST_TMP/audit.pub"

freeze_row() {
	local mark
	fill
	flood 100000000
	wait_until 30 grep -q "cannot write the audit log" "$LOG" ||
		fail "the disk filled, and the daemon did not say so"
	wait_until 5 frozen 1 || fail "the agent sessions were not frozen"
	grep -q 'on_write_error=freeze' "$LOG" || fail "the log does not name the action"
	mark=$(wc -l <"$LOG")
	rm -f "$STATE/audit/filler"
	wait_until 10 resumed_after "$mark" || fail "writes did not resume"
	wait_until 5 frozen 0 || fail "the agent sessions stayed frozen"
	end_sessions
}
row freeze freeze_row

deny_row() {
	local out rc=0 mark
	printf '[daemon]\non_write_error = deny\n' >"$CONF/pinfoldd.conf"
	kill -HUP "$PINFOLDD_PID"
	wait_until 10 chain_has "$STATE" "r['type'] == 'policy-load' and r['reason'] == 'reload'" \
		>/dev/null || fail "the reload was not recorded"
	fill
	# Bounded: under deny the session runs on, and its events would
	# keep the daemon busy long after the disk is free again.
	flood 20000
	wait_until 30 grep -q "on_write_error=deny" "$LOG" || fail "the disk filled unnoticed"
	out=$(pf run --agent full --workspace "$TEST_TMP/ws" -- "$PROBE" read /etc/hostname 2>&1) ||
		rc=$?
	assert_eq 125 "$rc" "a new session while the log cannot be written"
	grep -q "audit log cannot be written" <<<"$out" || fail "refused without the reason: $out"
	frozen 0 || fail "deny froze the sessions"
	end_sessions
	mark=$(wc -l <"$LOG")
	rm -f "$STATE/audit/filler"
	wait_until 10 resumed_after "$mark" || fail "writes did not resume"
	assert_eq ok "$(pf run --agent full --workspace "$TEST_TMP/ws" -- "$PROBE" read /etc/hostname)" \
		"a session once the log can be written"
}
row deny deny_row

stop_daemon
records() {
	chain_has "$STATE" "r['type'] == 'audit-write-error' and r['action'] == 'freeze' and r['error'] == 'ENOSPC'"
	chain_has "$STATE" "r['type'] == 'audit-write-recovered' and r['action'] == 'freeze'"
	chain_has "$STATE" "r['type'] == 'audit-write-error' and r['action'] == 'deny'"
	chain_has "$STATE" "r['type'] == 'audit-write-recovered' and r['action'] == 'deny'"
	"$BUILD/chain-verify" -q --key "$TEST_TMP/audit.pub" "$STATE/audit" ||
		fail "the log does not verify after the full disk"
}
row records records
