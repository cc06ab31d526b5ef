#!/bin/bash
# pinfold policy check, explain and show on a configuration directory,
# with no daemon: the same library and the same answers as the daemon's.
set -eu
. "$(dirname "$0")/lib.sh"

EX=$REPO/policy/examples
pol() { "$BUILD/pinfold" policy "$@"; }

pol check --config-dir "$EX" || fail "the example configuration does not check clean"

BAD=$TEST_TMP/bad
mkdir -p "$BAD/agents.d"
printf '[network]\nconect = 10.0.0.0/8 443\n' >"$BAD/agents.d/ci.ini"
rc=0
out=$(pol check --config-dir "$BAD" 2>&1) || rc=$?
assert_eq 1 "$rc" "exit status of check on a bad configuration"
assert_eq "agents.d/ci.ini:2: unknown key 'conect' in [network]" "$out" "check's message"

# Each row: the expected exit status, the start of the answer (_ for a
# space), and what is asked.
explain_row() {
	local want_rc=$1 want=${2//_/ } out rc=0
	shift 2
	out=$(pol explain --config-dir "$EX" --agent demo "$@") || rc=$?
	assert_eq "$want_rc" "$rc" "exit status of explain $*"
	case $out in "$want"*) ;; *) fail "explain $*: '$out', expected '$want...'" ;; esac
}
table explain_row <<ROWS
git-exec 0 allow:_agents.d/demo.ini --exec /usr/bin/git
id-exec 1 deny: --exec /usr/bin/id
shadow-write 1 deny: --open /etc/shadow --write
etc-read 0 allow: --open /etc/hostname
metadata 1 deny: --connect 169.254.169.254:80
loopback6 0 allow: --connect [::1]:8080
mapped 0 allow: --connect [::ffff:127.0.0.1]:8080
low-port 1 deny: --connect 127.0.0.1:80
ROWS

# check takes the directory as an operand too, and reports the corpus's
# dead grant with its file:line.
pol check "$EX" || fail "check $EX (operand) is not clean"
rc=0
out=$(pol check "$REPO/tests/fixtures/policy/malformed/dead-grant" 2>&1) || rc=$?
assert_eq 1 "$rc" "exit status of check on the dead-grant fixture"
case $out in "agents.d/ci.ini:3: 'read = /opt/data' is outside the bound"*) ;;
*) fail "check's message for a dead grant: $out" ;; esac

# The refusing layer, for roles and for the dispatcher's bound.
layer_row() {
	local want_rule=${1//_/ } want_layer=${2//_/ } out rc=0
	shift 2
	out=$(pol explain --config-dir "$EX" "$@") || rc=$?
	assert_eq 1 "$rc" "exit status of explain $*"
	case $out in "deny: $want_rule"*"layer: $want_layer"*) ;;
	*) fail "explain $*: '$out', expected '$want_rule' refused by '$want_layer'" ;; esac
}
table layer_row <<ROWS
role-deny roles.d/reader.ini:24 role --agent reviewer --open /etc/shadow
role-deny-exec roles.d/reader.ini:15 role --agent reviewer --user 1000 --exec /usr/bin/curl
no-bound-user uid_1234 dispatcher_bound --agent demo --user 1234 --exec /usr/bin/git
ROWS

# show prints the permission of a user who may launch the agent, and for
# one no bound lets launch it only explain's refusal, with explain's exit
# status: no permission lines, since the daemon would start no session.
show_row() {
	local want_rc=$1 want=${2//_/ } out rc=0
	shift 2
	out=$(pol show --config-dir "$EX" --agent demo "$@") || rc=$?
	assert_eq "$want_rc" "$rc" "exit status of show $*"
	# shellcheck disable=SC2254 # want is a pattern
	case $out in $want) ;; *) fail "show $*: '$out', expected '$want'" ;; esac
}
table show_row <<ROWS
show-root 0 agent_demo_(agents.d/demo.ini)*everything_else_is_denied
show-bounded 0 agent_demo_(agents.d/demo.ini)*runs_as_uid_1000*everything_else_is_denied --user 1000
show-no-bound 1 deny:_uid_1234_may_not_launch_agent_'demo'_(layer:_dispatcher_bound) --user 1234
ROWS

# Exit 2, not a deny's 1, when there is nothing to judge: an agent the
# configuration does not have, or a configuration that does not load.
config_error_row() {
	local dir=$1 want=${2//_/ } out rc=0
	shift 2
	out=$(pol "$@" --config-dir "$dir" 2>&1) || rc=$?
	assert_eq 2 "$rc" "exit status of $* --config-dir $dir"
	assert_eq "$want" "$out" "message of $*"
}
table config_error_row <<ROWS
explain-unknown-agent $EX pinfold:_no_agent_'nosuch'_in_the_configuration_'$EX' explain --agent nosuch --exec /usr/bin/git
show-unknown-agent $EX pinfold:_no_agent_'nosuch'_in_the_configuration_'$EX' show --agent nosuch
explain-bad-config $BAD agents.d/ci.ini:2:_unknown_key_'conect'_in_[network] explain --agent ci --exec /usr/bin/git
show-bad-config $BAD agents.d/ci.ini:2:_unknown_key_'conect'_in_[network] show --agent ci
ROWS
