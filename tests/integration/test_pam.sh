#!/bin/bash
# pam_pinfold.so through a PAM service file in a directory of the test's
# (pam_start_confdir; the host's /etc/pam.d is not touched): a login of an
# agent's service account runs its command tagged in the agent's session
# cgroup, under the agent's network rules, Landlock grants, seccomp filter
# and no_new_privs, with the session and its decisions chained; an
# account that is no agent's is left alone; a login that cannot be
# restricted is ended; an exec or connect held for approval waits for an
# approver; a disabled or expired agent is refused at the account stage.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent.sh"

require_root
require_cmd python3 useradd userdel setpriv
[ -x "$BUILD/pam_harness" ] || fail "no '$BUILD/pam_harness' (run make $BUILD/pam_harness)"
[ -f "$BUILD/pam_pinfold.so" ] || fail "no '$BUILD/pam_pinfold.so' (run make)"
install_probe
test_dirs

# The service account, removed however the test ends.
SVC=pfpam$$
useradd --system --no-create-home --no-user-group --home-dir /nonexistent \
	--shell /usr/sbin/nologin "$SVC"
on_exit "userdel '$SVC' 2>/dev/null"
SVC_UID=$(id -u "$SVC")
APPROVER=4242

# Outside every grant, readable by any uid; and a granted directory.
SECRET=$TEST_TMP/secret.txt
echo "not for agents" >"$SECRET"
PUB=$TEST_TMP/pub
mkdir -p "$PUB"
echo "for agents" >"$PUB/file.txt"
# Granted only to sessions launched one way: a login is launched "pam".
echo "for logins" >"$TEST_TMP/pam-only.txt"
echo "for runs" >"$TEST_TMP/run-only.txt"
chmod 0644 "$SECRET" "$PUB/file.txt" "$TEST_TMP/pam-only.txt" "$TEST_TMP/run-only.txt"
chmod 0755 "$PUB"
# A program held for approval: a copy of probe.
TOOL=$TEST_TMP/bin/tool
install -m 0755 "$PROBE" "$TOOL"

PORT=$(free_port)
tcp_listener 127.0.0.1 "$PORT"
HELD_PORT=$(free_port)
tcp_listener 127.0.0.1 "$HELD_PORT"
agent_ini() { # EXTRA_AGENT_LINE [EXTRA_EXEC_LINE [EXTRA_NETWORK_LINE]]
	echo '[agent]'
	echo "unix_user = $SVC"
	echo "$1"
	echo '[exec]'
	probe_exec_grants
	printf 'allow = /usr/bin/%s\n' env grep
	echo "${2:-}"
	echo '[files]'
	probe_file_grants
	echo "read = $PUB"
	echo "read = $TEST_TMP/pam-only.txt when session.launch = pam"
	echo "read = $TEST_TMP/run-only.txt when session.launch = run"
	echo '[network]'
	echo "connect = 127.0.0.1/32 $PORT"
	echo "${3:-}"
	echo '[approval]'
	echo "approvers = $APPROVER"
}
INI=$CONF/agents.d/svc.ini
agent_ini 'description = service account' >"$INI"
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

# Every target a denied row tries, the service account reaches without
# pinfold, so each denial below is pinfold's.
control() {
	assert_eq ok "$(as_uid "$SVC_UID" "$PROBE" read "$SECRET")" "uid $SVC_UID reads '$SECRET'"
	as_uid "$SVC_UID" /usr/bin/id >/dev/null || fail "uid $SVC_UID cannot run /usr/bin/id"
	assert_eq ok "$(as_uid "$SVC_UID" "$PROBE" unshare)" "uid $SVC_UID: a user namespace"
}
row control control

table check_login <<TAB
tagged          svc     cgroup                    /pinfold/svc/
net-granted     svc     connect 127.0.0.1 $PORT   ok
net-denied      svc     connect 10.255.255.1 80   EPERM
read-granted    svc     read $PUB/file.txt        ok
read-denied     svc     read $SECRET              EACCES
exec-denied     svc     exec /usr/bin/id          EACCES
syscall-denied  svc     unshare                   EPERM
launch-pam      svc     read $TEST_TMP/pam-only.txt  ok
launch-run      svc     read $TEST_TMP/run-only.txt  EACCES
not-an-agent    nobody  cgroup                    0::/
not-restricted  nobody  read $SECRET              ok
TAB

# The rows' records: each decision in a PAM session of the agent, with
# the rule that decided it, and each session's restrictions applied.
decisions() {
	local expr="r['type'] == 'decision' and r['agent'] == 'svc' and r['uid'] == $SVC_UID"
	chain_has "$STATE" "$expr and r['action'] == 'open' and r['object'] == '$SECRET' and \
r['decision'] == 'deny' and r['outcome'] == 'EACCES' and r['rule'] == 'default-deny'"
	chain_has "$STATE" "$expr and r['action'] == 'open' and r['object'] == '$PUB/file.txt' and \
r['decision'] == 'allow' and r['rule'] == '$(rule_of "$INI" "read = $PUB")'"
	chain_has "$STATE" "$expr and r['action'] == 'exec' and r['object'] == '/usr/bin/id' and \
r['decision'] == 'deny' and r['outcome'] == 'EACCES'"
	chain_has "$STATE" "$expr and r['action'] == 'syscall' and r['object'] == 'unshare' and \
r['decision'] == 'deny' and r['rule'] == 'seccomp'"
	chain_has "$STATE" "r['type'] == 'session-restrict' and r['agent'] == 'svc' and \
r['outcome'] == 'applied' and r['layers'] == ['no_new_privs', 'landlock', 'seccomp'] and \
r['approvals'] == 'none'"
	chain_lacks "$STATE" "r['type'] == 'session-restrict' and r['outcome'] != 'applied'"
}
row decisions decisions

env_and_privs() {
	login "$SVC" /usr/bin/env >"$TEST_TMP/env"
	assert_contains "$TEST_TMP/env" '^PINFOLD_AGENT=svc$'
	assert_contains "$TEST_TMP/env" '^PINFOLD_SESSION=[0-9]+$'
	login "$SVC" /usr/bin/grep -E 'NoNewPrivs|Seccomp:' /proc/self/status >"$TEST_TMP/nnp"
	assert_contains "$TEST_TMP/nnp" '^NoNewPrivs:[[:space:]]+1$'
	assert_contains "$TEST_TMP/nnp" '^Seccomp:[[:space:]]+2$'
	chain_has "$STATE" "r['type'] == 'session-start' and r['agent'] == 'svc' and \
r.get('via') == 'pam' and r['uid'] == $SVC_UID"
	chain_has "$STATE" "r['type'] == 'session-end' and r['agent'] == 'svc' and \
r['reason'] == 'login process exited'"
}
row env-and-privs env_and_privs

# A login's session, listed while it runs: `pinfold sessions` marks it
# as a PAM session (test_sessions.sh sees a run session marked "run").
svc_sessions() { # FIELD: that field of each listed session of agent svc
	pf sessions --json | python3 -c 'import json, sys
print(" ".join(str(s[sys.argv[1]]) for s in json.load(sys.stdin) if s["agent"] == "svc"))' "$1"
}
svc_listed() { [ -n "$(svc_sessions session)" ]; }
listed_via() {
	local sid
	spawn login "$SVC" "$PROBE" sleep 30 >/dev/null 2>&1 </dev/null
	wait_until 5 svc_listed || fail "the login's session is not listed"
	sid=$(svc_sessions session)
	assert_eq pam "$(svc_sessions via)" "via of the login's session $sid"
	pf kill "$sid" >/dev/null
}
row listed-via listed_via

# A login process that cannot take the restrictions (it already sits in
# Landlock's 16 nested domains, the most there may be) is ended: the
# command never runs, the reason is shown and chained.
NESTED='
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(38, 1, 0, 0, 0)                      # PR_SET_NO_NEW_PRIVS
attr = struct.pack("Q", 1 << 11)                # handles MAKE_BLOCK only
for _ in range(16):
    fd = libc.syscall(444, attr, len(attr), 0)  # landlock_create_ruleset
    if fd < 0 or libc.syscall(446, fd, 0) != 0: # landlock_restrict_self
        sys.exit("landlock: " + os.strerror(ctypes.get_errno()))
    os.close(fd)
os.execv(sys.argv[1], sys.argv[1:])
'
unrestrictable() {
	local rc=0
	python3 -c "$NESTED" "$BUILD/pam_harness" "$TEST_TMP/pam.d" pinfold-test "$SVC" \
		"$PROBE" write "$TEST_TMP/ran" >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
	assert_eq 137 "$rc" "exit status (137: killed by pinfoldd)"
	[ ! -e "$TEST_TMP/ran" ] || fail "the command ran"
	assert_contains "$TEST_TMP/err" "^pam: pinfold: agent 'svc': cannot apply its \
restrictions: landlock: Argument list too long$"
	chain_has "$STATE" "r['type'] == 'session-restrict' and r['agent'] == 'svc' and \
r['outcome'] == 'failed' and r['error'] == 'landlock: Argument list too long'"
	chain_has "$STATE" "r['type'] == 'session-end' and r['agent'] == 'svc' and \
r['reason'] == 'restrictions not applied'"
}
row unrestrictable unrestrictable

# A login that takes its session and never answers (it drops what
# pam-open sent) is ended as well.
SILENT='
import array, json, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.send(json.dumps({"verb": "pam-open", "user": sys.argv[2]}).encode())
msg, anc, _, _ = s.recvmsg(65536, socket.CMSG_SPACE(3 * 4))
fds = array.array("i")
for level, kind, data in anc:
    fds.frombytes(data[:len(data) - len(data) % 4])
print(json.loads(msg)["ok"], len(fds), flush=True)
for fd in fds:
    socket.close(fd)
time.sleep(10)
'
silent_login() {
	local rc=0
	python3 -c "$SILENT" "$SOCK" "$SVC" >"$TEST_TMP/out" 2>&1 || rc=$?
	assert_eq "True 3" "$(cat "$TEST_TMP/out")" "pam-open's reply: ok, and its descriptors"
	assert_eq 137 "$rc" "exit status (137: killed by pinfoldd)"
	chain_has "$STATE" "r['type'] == 'session-restrict' and r['outcome'] == 'failed' and \
r['error'].startswith('no answer from the login process')"
}
row silent-login silent_login

# A second agent naming the same account, or an agent naming root, is a
# policy the reload refuses whole: svc's logins still land in svc's session.
check_reload_refused() { # FILE LINE UNIX_USER MESSAGE
	local rc=0
	printf '[agent]\nunix_user = %s\n' "$3" >"$CONF/agents.d/$1"
	pf reload >"$TEST_TMP/out" 2>&1 || rc=$?
	rm -f "$CONF/agents.d/$1"
	assert_ne 0 "$rc" "status of a reload with agents.d/$1"
	assert_contains "$TEST_TMP/out" "the policy in force stays"
	assert_contains "$STATE/pinfoldd.log" "agents\.d/$1:$2: $4"
	check_login svc cgroup /pinfold/svc/
}
table check_reload_refused <<TAB
twice  zz.ini  2  $SVC  unix_user.'$SVC'.is.also.named.by.agent.'svc'..agents\.d/svc\.ini:2.
root   root.ini  2  root  bad.unix_user.'root':.uid.0.keeps.every.capability
TAB

# An account that became uid 0 after the policy named it is refused when
# its login opens a session (pam_syslog names why), and the command does
# not run.
LATE=pflate$$
on_exit "userdel -f '$LATE' 2>/dev/null"
root_since_load() {
	local late=$LATE rc=0
	printf '[agent]\nunix_user = %s\n[exec]\n' "$late" >"$CONF/agents.d/late.ini"
	probe_exec_grants >>"$CONF/agents.d/late.ini"
	pf reload >/dev/null
	useradd --non-unique --uid 0 --gid 0 --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin "$late"
	login "$late" "$PROBE" write "$TEST_TMP/late-ran" >/dev/null 2>"$TEST_TMP/err" || rc=$?
	# Every uid 0 process is the account's to userdel: -f, which removes
	# nothing else here (no home, no group of its name).
	userdel -f "$late"
	rm -f "$CONF/agents.d/late.ini"
	pf reload >/dev/null
	assert_ne 0 "$rc" "status of a login of uid 0 '$late'"
	[ ! -e "$TEST_TMP/late-ran" ] || fail "the command of uid 0 '$late' ran"
	assert_contains "$TEST_TMP/err" "^session: "
	assert_eq 0 "$(chain_count "$STATE" "r['type'] == 'session-start' and \
r['agent'] == 'late'")" "sessions of agent 'late'"
	chain_has "$STATE" "r['type'] == 'run-refused' and r['agent'] == 'late' and \
'uid 0' in r['reason']"
}
row root-since-load root_since_load

# The agent gains approve grants: the login process's seccomp filter
# sends execs and connects to pinfoldd, which holds the program and the
# destination marked approve until an approver decides.
pf_as_approver() { setpriv --reuid="$APPROVER" --regid="$APPROVER" --clear-groups \
	"$BUILD/pinfold" --socket "$SOCK" "$@"; }
# VERB OBJECT OUTPUT DECISION PROBE-ARGS...: the held OBJECT, decided by
# VERB, gives OUTPUT.
check_held() {
	local id pid verb=$1 object=$2 want=$3 decision=$4
	shift 4
	login "$SVC" "$PROBE" "$@" >"$TEST_TMP/held.out" 2>&1 &
	pid=$!
	track_pid "$pid"
	id=$(held_id "$object")
	[ ! -s "$TEST_TMP/held.out" ] || fail "ran before a decision: $(cat "$TEST_TMP/held.out")"
	pf_as_approver "$verb" "$id" >/dev/null || fail "uid $APPROVER could not $verb request $id"
	wait "$pid" || true
	case $want in
	/*) assert_contains "$TEST_TMP/held.out" "^0::.*$want" ;;
	*) assert_eq "$want" "$(cat "$TEST_TMP/held.out")" "the held action" ;;
	esac
	chain_has "$STATE" "r['type'] == 'approval-request' and r['request'] == $id and \
r['object'] == '$object' and r['agent'] == 'svc'"
	chain_has "$STATE" "r['type'] == 'approval-decision' and r['request'] == $id and \
r['decision'] == '$decision' and r['approver_uid'] == $APPROVER"
	chain_has "$STATE" "r['type'] == 'session-restrict' and r['outcome'] == 'applied' and \
r['approvals'] == 'held'"
}
agent_ini 'description = service account' "approve = $TOOL timeout=10s" \
	"approve = 127.0.0.1/32 $HELD_PORT timeout=10s" >"$INI"
pf reload >/dev/null
table check_held <<TAB
held-exec-ok      approve  $TOOL  /pinfold/svc/  approve  exec $TOOL cgroup
held-exec-denied  deny     $TOOL  EACCES         deny     exec $TOOL cgroup
held-connect-ok   approve  127.0.0.1:$HELD_PORT  ok     approve  connect 127.0.0.1 $HELD_PORT
held-connect-denied deny     127.0.0.1:$HELD_PORT  EPERM  deny     connect 127.0.0.1 $HELD_PORT
TAB
# The denied exec's record names the refusal.
row held-exec-denied-record chain_has "$STATE" "r['type'] == 'decision' and \
r['action'] == 'exec' and r['object'] == '$TOOL' and r['outcome'] == 'EACCES' and \
r['rule'].startswith('approval: request ')"

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
