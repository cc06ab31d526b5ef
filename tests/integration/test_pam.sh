#!/bin/bash
# pam_pinfold.so through a PAM service file in a directory of the test's
# (pam_start_confdir; the host's /etc/pam.d is not touched): a login of an
# agent's service account runs its command tagged in the agent's session
# cgroup, under the agent's network rules and no_new_privs, with the
# session chained; an account that is no agent's is left alone; a
# disabled or expired agent is refused at the account stage.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent.sh"

require_root
require_cmd python3 useradd userdel
[ -x "$BUILD/pam_harness" ] || fail "no '$BUILD/pam_harness' (run make $BUILD/pam_harness)"
[ -f "$BUILD/pam_pinfold.so" ] || fail "no '$BUILD/pam_pinfold.so' (run make)"
install_probe
test_dirs

# The service account, removed however the test ends.
SVC=pfpam$$
useradd --system --no-create-home --no-user-group --home-dir /nonexistent \
	--shell /usr/sbin/nologin "$SVC"
on_exit "userdel '$SVC' 2>/dev/null"

PORT=$(free_port)
tcp_listener 127.0.0.1 "$PORT"
agent_ini() { # EXTRA_AGENT_LINE
	echo '[agent]'
	echo "unix_user = $SVC"
	echo "$1"
	echo '[network]'
	echo "connect = 127.0.0.1/32 $PORT"
}
agent_ini 'description = service account' >"$CONF/agents.d/svc.ini"
start_daemon "$CONF" "$STATE"

mkdir -p "$TEST_TMP/pam.d"
cat >"$TEST_TMP/pam.d/pinfold-test" <<PAM
account  required $BUILD/pam_pinfold.so socket=$SOCK
account  required pam_permit.so
session  required $BUILD/pam_pinfold.so socket=$SOCK
session  required pam_permit.so
PAM

login() { # USER CMD...
	local u=$1
	shift
	"$BUILD/pam_harness" "$TEST_TMP/pam.d" pinfold-test "$u" "$@"
}

# USER ACTION... EXPECTED: what ACTION of probe gives after a login.
check_login() {
	local u=$1 want=${*: -1} got
	[ "$u" = svc ] && u=$SVC
	got=$(login "$u" "$PROBE" "${@:2:$#-2}" 2>"$TEST_TMP/err") || true
	case $want in
	/*) [[ $got == *"$want"* ]] || fail "got '$got', want a cgroup under '$want'" ;;
	*) assert_eq "$want" "$got" "probe ${*:2:$#-2}" ;;
	esac
}
table check_login <<TAB
tagged          svc     cgroup                    /pinfold/svc/
net-granted     svc     connect 127.0.0.1 $PORT   ok
net-denied      svc     connect 10.255.255.1 80   EPERM
not-an-agent    nobody  cgroup                    0::/
TAB

env_and_privs() {
	login "$SVC" /usr/bin/env >"$TEST_TMP/env"
	assert_contains "$TEST_TMP/env" '^PINFOLD_AGENT=svc$'
	assert_contains "$TEST_TMP/env" '^PINFOLD_SESSION=[0-9]+$'
	login "$SVC" /usr/bin/grep NoNewPrivs /proc/self/status >"$TEST_TMP/nnp"
	assert_contains "$TEST_TMP/nnp" '^NoNewPrivs:[[:space:]]+1$'
	chain_has "$STATE" "r['type'] == 'session-start' and r['agent'] == 'svc' and \
r.get('via') == 'pam' and r['uid'] == $(id -u "$SVC")"
	chain_has "$STATE" "r['type'] == 'session-end' and r['agent'] == 'svc' and \
r['reason'] == 'login process exited'"
}
row env-and-privs env_and_privs

# LINE STATUS MESSAGE: the agent file gets LINE; the login must end at the
# account stage with MESSAGE and no session.
check_refused() {
	local before rc=0
	agent_ini "$1" >"$CONF/agents.d/svc.ini"
	pf reload >/dev/null
	before=$(chain_count "$STATE" "r['type'] == 'session-start'")
	login "$SVC" "$PROBE" cgroup >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
	assert_eq 3 "$rc" "exit status (3: refused at the account stage)"
	assert_contains "$TEST_TMP/err" "^account: $2"
	assert_contains "$TEST_TMP/err" "^pam: agent 'svc' $3"
	[ ! -s "$TEST_TMP/out" ] || fail "the command ran: $(cat "$TEST_TMP/out")"
	assert_eq "$before" "$(chain_count "$STATE" "r['type'] == 'session-start'")"
	chain_has "$STATE" "r['type'] == 'run-refused' and r['agent'] == 'svc'"
}
table check_refused <<'TAB'
disabled  enabled=no           Permission.denied        is.disabled
expired   expires=2020-01-01   User.account.has.expired expired.at.2020-01-01
TAB

stop_daemon
