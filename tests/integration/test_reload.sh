#!/bin/bash
# SIGHUP reloads the configuration. A good one takes effect (a new network
# grant works at once, in the kernel's map); a bad one is rejected whole:
# the daemon names file:line, keeps the last good policy in force, and the
# chain says so with a policy-rejected record.
# shellcheck disable=SC2016 # ${workspace} in single quotes is the policy's
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent.sh"

require_root
require_cmd python3
install_probe

CONF=$TEST_TMP/etc
STATE=$TEST_TMP/state
INI=$CONF/agents.d/rl.ini
mkdir -p "$CONF/agents.d"
write_policy() {
	{
		echo '[exec]'
		probe_exec_grants
		echo '[files]'
		probe_file_grants
		echo '[network]'
		echo "connect = $1"
	} >"$INI"
}

port=$(free_port)
tcp_listener 127.0.0.1 "$port"
write_policy "127.0.0.2/32 $port"
start_daemon "$CONF" "$STATE"

connect() {
	pf run --agent rl --workspace "$TEST_TMP/ws" -- "$PROBE" connect 127.0.0.1 "$port" || true
}
hash_in_force() {
	chain_show "$STATE" 'r["type"] in ("policy-load", "policy-rejected")' | tail -n 1 |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["policy"])'
}

assert_eq EPERM "$(connect)" "connect before the reload"
first=$(hash_in_force)

write_policy "127.0.0.1/32 $port"
kill -HUP "$PINFOLDD_PID"
wait_until 5 chain_has "$STATE" 'r["type"] == "policy-load" and r["reason"] == "reload"' \
	>/dev/null || fail "no policy-load record after SIGHUP"
assert_eq ok "$(connect)" "connect after a good reload"
second=$(hash_in_force)
assert_ne "$first" "$second" "policy hash after a good reload"

# A typo: the whole file is rejected, the grant stays as it was.
echo 'conect = 10.0.0.0/8 443' >>"$INI"
kill -HUP "$PINFOLDD_PID"
wait_until 5 chain_has "$STATE" 'r["type"] == "policy-rejected"' >/dev/null ||
	fail "no policy-rejected record after a bad reload"
assert_contains "$STATE/pinfoldd.log" "agents.d/rl.ini:[0-9]+: unknown key 'conect'"
assert_eq "$second" "$(hash_in_force)" "the policy in force after a bad reload"
assert_eq ok "$(connect)" "connect after a bad reload (the good policy stays)"
chain_has "$STATE" '(r["type"] == "decision" and r["action"] == "connect" and
	r["decision"] == "allow" and r["policy"] == "'"$second"'")'
stop_daemon
