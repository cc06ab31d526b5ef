#!/bin/bash
# Kernel enforcement of an agent's policy: each row has the agent try one
# action with probe, checks what the kernel answered, and checks the
# decision record the daemon chained for it. Every target a denied row
# tries is one that Unix permissions alone would let the agent's uid reach
# (the "control" row shows that), so each denial is pinfold's.
# shellcheck disable=SC2016 # ${workspace} in single quotes is the policy's
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent.sh"

require_root
require_cmd python3 setpriv
install_probe

CONF=$TEST_TMP/etc
STATE=$TEST_TMP/state
WS=$TEST_TMP/ws
AGENT=enf
INI=$CONF/agents.d/$AGENT.ini

# A second copy of probe, granted for exec on a line of its own, so that an
# allowed exec names a rule other than the one that let probe start.
EXEC2=$TEST_TMP/bin/probe-exec
install -m 0755 "$PROBE" "$EXEC2"

# Targets outside every grant that any uid may read or write.
SECRET=$TEST_TMP/secret.txt
echo "not for agents" >"$SECRET"
chmod 0644 "$SECRET"
DROP=$(mktemp -d "$TEST_TMP/drop.XXXXXX")
chmod 1777 "$DROP"
# A granted directory, for an allowed read outside the workspace.
PUB=$TEST_TMP/pub
mkdir -p "$PUB"
echo "for agents" >"$PUB/file.txt"
mkdir -p "$PUB/sub"
chmod 0755 "$PUB" "$PUB/sub"
chmod 0644 "$PUB/file.txt"
# Links outside every grant into the granted directory: a path through
# them leads into a grant although it does not read so, as /lib/... does
# into /usr on Debian.
mkdir -p "$TEST_TMP/links"
ln -s "$PUB" "$TEST_TMP/links/to-pub"
ln -s "$PUB/sub" "$TEST_TMP/links/to-pubsub"

mkdir -p "$CONF/agents.d"
{
	echo '[agent]'
	echo 'description = enforcement rows'
	echo '[exec]'
	probe_exec_grants
	echo "allow = $EXEC2"
	echo '[files]'
	probe_file_grants
	echo "read = $EXEC2"
	echo "read = $PUB"
	echo 'read = ${workspace}'
	echo 'write = ${workspace}'
	echo '[network]'
	echo 'connect = 127.0.0.1/32 1024-65535'
} >"$INI"

declare -A RULE
RULE[net]=$(rule_of "$INI" 'connect = 127.0.0.1/32 1024-65535')
RULE[pub]=$(rule_of "$INI" "read = $PUB")
RULE[ws-write]=$(rule_of "$INI" 'write = ${workspace}')
RULE[exec2]=$(rule_of "$INI" "allow = $EXEC2")

start_daemon "$CONF" "$STATE"

# The first run makes the workspace (owned by the agent's uid) and
# allocates that uid.
assert_eq ok "$(pf run --agent "$AGENT" --workspace "$WS" -- "$PROBE" write "$WS/first")" \
	"first write into the workspace"
UID_AGENT=$(agent_uid "$STATE" "$AGENT")
# A link the agent may follow lexically (it is in its workspace) to a file
# it may not read.
ln -s "$SECRET" "$WS/link-to-secret"

DENIED_PORT=$(free_port)
LISTEN_PORT=$(free_port)
tcp_listener 127.0.0.1 "$LISTEN_PORT"

# The same targets as the agent's uid, outside pinfold.
control() {
	assert_eq ok "$(as_uid "$UID_AGENT" "$PROBE" read "$SECRET")" "uid $UID_AGENT reads the secret"
	assert_eq ok "$(as_uid "$UID_AGENT" "$PROBE" read "$WS/link-to-secret")" \
		"uid $UID_AGENT reads through the link"
	assert_eq ok "$(as_uid "$UID_AGENT" "$PROBE" write "$DROP/control")" \
		"uid $UID_AGENT writes into '$DROP'"
	as_uid "$UID_AGENT" /usr/bin/id >/dev/null || fail "uid $UID_AGENT cannot run /usr/bin/id"
	assert_eq ECONNREFUSED "$(as_uid "$UID_AGENT" "$PROBE" connect 127.0.0.2 "$DENIED_PORT")" \
		"uid $UID_AGENT connects to 127.0.0.2:$DENIED_PORT"
	assert_eq ECONNREFUSED "$(as_uid "$UID_AGENT" "$PROBE" connect ::1 "$DENIED_PORT")" \
		"uid $UID_AGENT connects to [::1]:$DENIED_PORT"
}
row control control

subst() {
	local s=$1
	s=${s//@PORT@/$DENIED_PORT}
	s=${s//@LPORT@/$LISTEN_PORT}
	s=${s//@TMP@/$TEST_TMP}
	s=${s//@WS@/$WS}
	s=${s//@SECRET@/$SECRET}
	s=${s//@DROP@/$DROP}
	s=${s//@PUB@/$PUB}
	s=${s//@EXEC2@/$EXEC2}
	printf '%s\n' "$s"
}

# EXPECTED ACTION DECISION OBJECT RULE PROBE-ARGS...
# RULE is a key of RULE[] (the grant an allow names), default-deny, or
# kernel (the path fell under a grant as written, and the kernel refused
# what it resolved to).
check_action() {
	local want=$1 action=$2 decision=$3 object rule=$5 out rc sid expr a want_rc=1
	local -a args=()
	object=$(subst "$4")
	shift 5
	for a in "$@"; do
		args+=("$(subst "$a")")
	done

	rc=0
	out=$(pf run --agent "$AGENT" --workspace "$WS" -- "$PROBE" "${args[@]}") || rc=$?
	assert_eq "$want" "$out" "probe ${args[*]}"
	[ "$want" = ok ] && want_rc=0
	assert_eq "$want_rc" "$rc" "exit status of probe ${args[*]}"

	sid=$(last_session "$STATE")
	expr="r['type'] == 'decision' and r['session'] == $sid and r['action'] == '$action'"
	expr+=" and r['decision'] == '$decision' and r['object'] == '$object'"
	expr+=" and r['outcome'] == '$want' and r['uid'] == $UID_AGENT"
	case $rule in
	default-deny) expr+=" and r['rule'] == 'default-deny'" ;;
	kernel) expr+=" and r['rule'].startswith('kernel:')" ;;
	*)
		[ -n "${RULE[$rule]:-}" ] || fail "row names unknown rule '$rule'"
		expr+=" and r['rule'] == '${RULE[$rule]}'"
		;;
	esac
	chain_has "$STATE" "$expr"
	# A denied action is never also recorded as allowed, nor the reverse.
	expr="r['type'] == 'decision' and r['session'] == $sid and r['action'] == '$action'"
	chain_lacks "$STATE" "$expr and r['object'] == '$object' and r['decision'] != '$decision'"
}

table check_action <<'EOF'
# name           expected   action  decision object              rule          probe args
v4-denied        EPERM      connect deny     127.0.0.2:@PORT@    default-deny  connect 127.0.0.2 @PORT@
v6-denied        EPERM      connect deny     [::1]:@PORT@        default-deny  connect ::1 @PORT@
v4mapped-denied  EPERM      connect deny     127.0.0.2:@PORT@    default-deny  connect ::ffff:127.0.0.2 @PORT@
v4-allowed       ok         connect allow    127.0.0.1:@LPORT@   net           connect 127.0.0.1 @LPORT@
v4mapped-allowed ok         connect allow    127.0.0.1:@LPORT@   net           connect ::ffff:127.0.0.1 @LPORT@
udp-denied       EPERM      sendto  deny     127.0.0.2:@PORT@    default-deny  udp 127.0.0.2 @PORT@
udp6-denied      EPERM      sendto  deny     [::1]:@PORT@        default-deny  udp ::1 @PORT@
read-denied      EACCES     open    deny     @SECRET@            default-deny  read @SECRET@
read-allowed     ok         open    allow    @PUB@/file.txt      pub           read @PUB@/file.txt
write-denied     EACCES     open    deny     @DROP@/agent        default-deny  write @DROP@/agent
write-allowed    ok         open    allow    @WS@/out            ws-write      write @WS@/out
exec-denied      EACCES     exec    deny     /usr/bin/id         default-deny  exec /usr/bin/id
exec-allowed     ok         exec    allow    @EXEC2@             exec2         exec @EXEC2@ sleep 0
symlink-denied   EACCES     open    deny     @WS@/link-to-secret kernel        read @WS@/link-to-secret
# A missing file is no refusal: the record judges where the path leads.
enoent-granted   ENOENT     open    allow    @PUB@/none          pub           read @PUB@/none
enoent-via-link  ENOENT     open    allow    @TMP@/links/to-pub/none pub       read @TMP@/links/to-pub/none
enoent-dotdot    ENOENT     open    allow    @TMP@/links/to-pubsub/../none pub read @TMP@/links/to-pubsub/../none
enoent-outside   ENOENT     open    deny     @TMP@/links/none    default-deny  read @TMP@/links/none
EOF

# Nothing a denied row tried took effect.
no_effect() {
	[ ! -e "$DROP/agent" ] || fail "'$DROP/agent' exists after a denied write"
}
row no-effect no_effect

stop_daemon
