#!/bin/bash
# The identity provider sync against a real daemon: a SCIM export in
# Okta's shape makes agents appear (a hand-written agents.d file of the
# same name wins, and the conflict is chained), a malformed, truncated or
# duplicate document changes nothing and says what and where, Entra's
# change set disables an agent at once so that `pinfold run` is refused,
# the --url path fetches every page from a loopback HTTPS service with a
# bearer token, the daemon syncs on its interval, and past max_age the
# provider's agents are disabled. `pinfold agents` names who may launch
# each agent as users.d says, and the daemon lets exactly those launch.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent.sh"

require_root
require_cmd python3 openssl
test_dirs
FIX=$REPO/tests/fixtures/scim
IDP_STATE=$STATE/idp/state.json

cat >"$CONF/pinfoldd.conf" <<'INI'
[idp]
agents_group = pinfold-agents
agents_user_type = Agent
role_map = Build Agents -> builder
INI
printf '[agent]\ndescription = hand-written\n' >"$CONF/agents.d/review-bot.ini"
# One user (by number) and one group (by name) may launch review-bot,
# and nothing else; root, whom no bound names, may launch anything.
DISPATCHER=60511 MEMBER=60512
mkdir -p "$CONF/users.d"
printf '[bound]\nusers = %s\ngroups = users\nagents = review-bot\n' "$DISPATCHER" \
	>"$CONF/users.d/reviewers.ini"
USERS_GID=$(getent group users | cut -d: -f3)
[ -n "$USERS_GID" ] || skip "needs a group named 'users'"
mkdir -p "$CONF/roles.d"
shell_agent_grants >"$CONF/roles.d/builder.ini"
cat "$FIX/okta-users.json" "$FIX/okta-groups.json" >"$TEST_TMP/okta.json"
start_daemon "$CONF" "$STATE"
chmod 0755 "$STATE"

agents_json() { pf agents --json >"$TEST_TMP/agents.json"; }
# agent_field NAME EXPR: a Python expression on agent a of pf agents.
agent_field() {
	python3 -c 'import json, sys
a = [x for x in json.load(open(sys.argv[1])) if x["name"] == sys.argv[2]]
print(eval(sys.argv[3], {"a": a[0]}) if a else "absent")' "$TEST_TMP/agents.json" "$1" "$2"
}

okta_export() {
	pf idp sync --scim "$TEST_TMP/okta.json" >"$TEST_TMP/sync.out"
	assert_contains "$TEST_TMP/sync.out" '^sync 1 \(complete\): 2 change'
	assert_contains "$TEST_TMP/sync.out" 'conflict +review-bot +agents.d/review-bot.ini wins'
	agents_json
	assert_eq active "$(agent_field build-bot 'a["status"]')" "build-bot status"
	assert_eq "idp 00u1buildbot" "$(agent_field build-bot 'a["source"]["kind"] + " " + \
a["source"]["key"]')" "build-bot source"
	assert_eq "['builder']" "$(agent_field build-bot 'a["roles"]')" "build-bot roles"
	assert_eq file "$(agent_field review-bot 'a["source"]["kind"]')" "review-bot source"
	chain_has "$STATE" "r['type'] == 'idp-sync' and r['sync'] == 1 and r['complete']"
	chain_has "$STATE" "r['type'] == 'idp-agent' and r['event'] == 'added' and \
r['name'] == 'build-bot' and r['sync'] == 1"
	chain_has "$STATE" "r['type'] == 'idp-conflict' and r['agent'] == 'review-bot' and \
r['file'] == 'agents.d/review-bot.ini'"
	grep -q build-bot "$IDP_STATE" || fail "no build-bot in '$IDP_STATE'"
	! grep -rq build-bot "$CONF" || fail "the sync wrote into the configuration directory"
}
row okta-export okta_export

# The inventory names review-bot's dispatchers as users.d writes them,
# and root alone for build-bot.
dispatchers() {
	agents_json
	assert_eq "['root', '$DISPATCHER', '@users']" "$(agent_field review-bot 'a["dispatchers"]')" \
		"review-bot's dispatchers"
	assert_eq "['root']" "$(agent_field build-bot 'a["dispatchers"]')" "build-bot's dispatchers"
	pf agents >"$TEST_TMP/agents.txt"
	assert_contains "$TEST_TMP/agents.txt" "^  dispatchers +root $DISPATCHER @users\$"
}
row dispatchers dispatchers

# UID GROUPS: the daemon lets that user (GROUPS is setpriv's option for
# its groups) start review-bot, whose session is chained (it has no
# grants, so its command fails to exec: 126), and refuses it build-bot
# before anything runs.
may_dispatch() {
	local rc=0
	setpriv --reuid="$1" --regid="$1" "$2" "$BUILD/pinfold" --socket "$SOCK" \
		run --agent review-bot -- /usr/bin/true 2>"$TEST_TMP/run.err" || rc=$?
	assert_eq 126 "$rc" "exit status of review-bot launched by uid $1"
	chain_has "$STATE" "r['type'] == 'session-start' and r['agent'] == 'review-bot' and \
r['dispatcher_uid'] == $1"
	rc=0
	setpriv --reuid="$1" --regid="$1" "$2" "$BUILD/pinfold" --socket "$SOCK" \
		run --agent build-bot -- /usr/bin/true 2>"$TEST_TMP/run.err" || rc=$?
	assert_eq 125 "$rc" "exit status of build-bot launched by uid $1"
	assert_contains "$TEST_TMP/run.err" "uid $1 may not launch agent 'build-bot'"
}
table may_dispatch <<TAB
dispatch-user   $DISPATCHER  --clear-groups
dispatch-group  $MEMBER      --groups=$USERS_GID
TAB

# A session of build-bot (its role gives it a shell), then a complete
# export saying it is inactive ("false", a string, as some providers send
# it): every process of the session is gone within a second, and a new
# run is refused.
deprovision() {
	local sid cg rc=0 t0 t1
	spawn "$BUILD/pinfold" --socket "$SOCK" run --agent build-bot --workspace "$WS/build-bot" -- \
		/usr/bin/dash -c ': >started; /usr/bin/sleep 60 & /usr/bin/sleep 60' \
		>/dev/null 2>&1 </dev/null
	wait_until 5 test -e "$WS/build-bot/started" || fail "build-bot's session never started"
	sid=$(last_session "$STATE")
	cg=$(session_cgroup "$sid")
	wait_until 5 test "$(wc -l <"$cg/cgroup.procs")" -ge 2 || fail "not 2 processes in '$cg'"
	python3 "$REPO/tests/integration/scim_deactivate.py" 00u1buildbot '"false"' \
		<"$TEST_TMP/okta.json" >"$TEST_TMP/inactive.json"
	t0=$(date +%s%N)
	pf idp sync --scim "$TEST_TMP/inactive.json" >"$TEST_TMP/sync.out"
	wait_until 1 test ! -s "$cg/cgroup.procs" 2>/dev/null ||
		[ ! -e "$cg/cgroup.procs" ] || fail "processes left in '$cg' a second after the sync"
	t1=$(date +%s%N)
	log "deprovisioned in $(((t1 - t0) / 1000000)) ms (sync to last process gone)"
	assert_contains "$TEST_TMP/sync.out" 'disabled +build-bot +00u1buildbot: active is false'
	chain_has "$STATE" "r['type'] == 'idp-agent' and r['event'] == 'disabled' and \
r['name'] == 'build-bot' and r['sessions'] == [$sid] and r['sync'] == 2"
	chain_has "$STATE" "r['type'] == 'session-end' and r['session'] == $sid and \
r['reason'] == 'agent disabled by the identity provider'"
	pf run --agent build-bot --workspace "$WS/build-bot" -- /usr/bin/true 2>"$TEST_TMP/err" || rc=$?
	assert_eq 125 "$rc" "exit status of a run after deprovisioning"
	assert_contains "$TEST_TMP/err" "agent 'build-bot' is disabled by the identity provider: active is false at the provider \\(sync 2\\)"
	# A review by agent finds the disabling next to the session it ended.
	"$BUILD/chain-verify" -q --agent build-bot --json "$STATE/audit" >"$TEST_TMP/review"
	python3 - "$TEST_TMP/review" "$sid" <<'PY' || fail "chain-verify --agent misses build-bot's records"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
types = {(r["type"], r.get("event")) for r in recs}
assert ("idp-agent", "disabled") in types, types
assert any(r["type"] == "session-end" and r["session"] == int(sys.argv[2]) for r in recs), types
assert all(r.get("agent", r.get("name")) == "build-bot" for r in recs), recs
PY
}
row deprovision deprovision

# FILE PATTERN: a sync that must change nothing and say why.
check_rejected() {
	local before rc=0
	before=$(sha256sum "$IDP_STATE")
	pf idp sync --scim "$1" 2>"$TEST_TMP/rej.err" || rc=$?
	assert_eq 125 "$rc" "exit status"
	assert_contains "$TEST_TMP/rej.err" "$2"
	assert_eq "$before" "$(sha256sum "$IDP_STATE")" "state file after a rejected sync"
	chain_has "$STATE" "r['type'] == 'idp-sync-rejected' and r['source'] == '$1'"
}
printf '{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":1,"Resources":[{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"z"}]}' \
	>"$TEST_TMP/no-username.json"
table check_rejected <<TAB
truncated    $FIX/truncated.json          truncated.json: document 1, line [0-9]+, column [0-9]+: premature end
duplicate    $FIX/duplicate.json          duplicate userName 'Twin@Example.com': users 'u1' and 'u2'
no-username  $TEST_TMP/no-username.json   document 1: Resources\\[0\\]: no "userName" string
TAB

entra_change_set() {
	local rc=0
	pf idp sync --scim "$FIX/entra-users.json" >/dev/null
	# Its session starts; it has no roles, so its exec is refused.
	pf run --agent deployagent --workspace "$WS/deployagent" -- /usr/bin/true 2>"$TEST_TMP/run.err" || rc=$?
	assert_eq 126 "$rc" "exit status of an agent with no grants"
	chain_has "$STATE" "r['type'] == 'session-start' and r['agent'] == 'deployagent'"
	pf idp sync --scim "$FIX/entra-changes.json" >"$TEST_TMP/sync.out"
	assert_contains "$TEST_TMP/sync.out" '^sync [0-9]+ \(partial\)'
	assert_contains "$TEST_TMP/sync.out" 'disabled +deployagent +entra-oid-0001: active is false'
	chain_has "$STATE" "r['type'] == 'idp-agent' and r['event'] == 'disabled' and \
r['name'] == 'deployagent' and r['sessions'] == []"
	rc=0
	pf run --agent deployagent --workspace "$WS/deployagent" -- /usr/bin/true 2>"$TEST_TMP/run.err" || rc=$?
	assert_eq 125 "$rc" "exit status of a disabled agent's run"
	assert_contains "$TEST_TMP/run.err" "agent 'deployagent' is disabled by the identity provider"
	chain_has "$STATE" "r['type'] == 'run-refused' and r['agent'] == 'deployagent'"
	agents_json
	assert_eq disabled "$(agent_field deployagent 'a["status"]')" "deployagent status"
	assert_eq "entra-oid-0001" "$(agent_field deployagent 'a["source"]["externalId"]')"
}
row entra-change-set entra_change_set

stop_daemon

# --url: a loopback HTTPS service, one resource a page, a bearer token.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$TEST_TMP/key.pem" \
	-out "$TEST_TMP/cert.pem" 2>/dev/null
echo "s3cret-token" >"$TEST_TMP/token"
spawn python3 "$REPO/tests/integration/scim_server.py" "$TEST_TMP/cert.pem" "$TEST_TMP/key.pem" \
	s3cret-token "$TEST_TMP/requests.log" "$TEST_TMP/port" "$FIX/okta-users.json" \
	"$FIX/okta-groups.json"
wait_until 10 test -s "$TEST_TMP/port" || fail "the SCIM server did not start"
URL=https://127.0.0.1:$(cat "$TEST_TMP/port")/scim/v2

STATE=$TEST_TMP/state2
start_daemon "$CONF" "$STATE"
url_paging() {
	pf idp sync --url "$URL" --token-file "$TEST_TMP/token" --ca-file "$TEST_TMP/cert.pem" \
		>"$TEST_TMP/sync.out"
	assert_contains "$TEST_TMP/sync.out" '^sync 1 \(complete\): 2 change'
	assert_eq 3 "$(grep -c '^/scim/v2/Users ' "$TEST_TMP/requests.log")" "pages of Users"
	assert_eq 2 "$(grep -c '^/scim/v2/Groups ' "$TEST_TMP/requests.log")" "pages of Groups"
	assert_contains "$TEST_TMP/requests.log" '^/scim/v2/Users startIndex=3&count=[0-9]+ Bearer s3cret-token$'
	chain_has "$STATE" "r['type'] == 'idp-sync' and r['source'] == '$URL' and r['documents'] == 5"
}
row url-paging url_paging

url_refused() { # what: a bad token, and no trust in the certificate
	local rc=0
	echo wrong >"$TEST_TMP/bad-token"
	pf idp sync --url "$URL" --token-file "$TEST_TMP/bad-token" --ca-file "$TEST_TMP/cert.pem" \
		2>"$TEST_TMP/err" || rc=$?
	assert_eq 125 "$rc" "exit status with a wrong token"
	assert_contains "$TEST_TMP/err" 'Users\?startIndex=1&count=[0-9]+: HTTP status 401'
	rc=0
	pf idp sync --url "$URL" --token-file "$TEST_TMP/token" 2>"$TEST_TMP/err" || rc=$?
	assert_eq 125 "$rc" "exit status with an untrusted certificate"
	assert_contains "$TEST_TMP/err" 'certificate'
}
row url-refused url_refused
stop_daemon

# The daemon's own interval sync, then max_age passing with no good sync.
cat >>"$CONF/pinfoldd.conf" <<INI
url = $URL
token_file = $TEST_TMP/token
ca_file = $TEST_TMP/cert.pem
interval = 1
INI
STATE=$TEST_TMP/state3
start_daemon "$CONF" "$STATE"
interval_sync() {
	chain_has "$STATE" "r['type'] == 'idp-sync' and r['source'] == '$URL' and r['sync'] == 2" 10
}
row interval-sync interval_sync
stop_daemon

sed -i -e '/^interval = /d' -e '/^url = /d' "$CONF/pinfoldd.conf"
printf 'max_age = 2\non_stale = disable\n' >>"$CONF/pinfoldd.conf"
start_daemon "$CONF" "$STATE"
stale() {
	chain_has "$STATE" "r['type'] == 'idp-stale' and r['action'] == 'disable'" 10
	local rc=0
	pf run --agent build-bot --workspace "$WS/build-bot" -- /usr/bin/true 2>"$TEST_TMP/err" || rc=$?
	assert_eq 125 "$rc" "exit status of a run past max_age"
	assert_contains "$TEST_TMP/err" 'older than max_age'
	pf idp sync --scim "$TEST_TMP/okta.json" >/dev/null
	chain_has "$STATE" "r['type'] == 'idp-sync' and r.get('was_stale') == True"
	pf run --agent build-bot --workspace "$WS/build-bot" -- /usr/bin/true ||
		fail "build-bot refused after a good sync"
}
row stale stale
stop_daemon
