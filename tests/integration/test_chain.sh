#!/bin/bash
# The audit chain and the daemon's clean stop: a chain written by a real
# run verifies; one flipped byte anywhere in it (every record at least
# once, plus random places) makes chain-verify report tampering; SIGTERM
# makes the daemon write a daemon-stop record, exit 0, detach its cgroup
# programs and remove <cg2>/pinfold. While it runs, a second daemon on the
# host refuses to start and leaves its programs alone.
# shellcheck disable=SC2016 # ${workspace} in single quotes is the policy's
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent.sh"

require_root
require_cmd python3 bpftool
install_probe
[ -x "$BUILD/chain-verify" ] || fail "no '$BUILD/chain-verify' (run make)"

CG2=$(cg2_mount)
CGROOT=$CG2/pinfold
CONF=$TEST_TMP/etc
STATE=$TEST_TMP/state
WS=$TEST_TMP/ws
AGENT=chn
SECRET=$TEST_TMP/secret.txt
echo "not for agents" >"$SECRET"
chmod 0644 "$SECRET"

mkdir -p "$CONF/agents.d"
# Every checkpoint also goes to a file and to a command, the anchors.
{
	echo '[daemon]'
	echo "anchor_file = $TEST_TMP/anchors.notes"
	echo "anchor_command = cat >> $TEST_TMP/command.notes"
} >"$CONF/pinfoldd.conf"
{
	echo '[agent]'
	echo 'description = writes a few decisions'
	echo '[exec]'
	probe_exec_grants
	echo '[files]'
	probe_file_grants
	echo 'read = ${workspace}'
	echo 'write = ${workspace}'
	echo '[network]'
	echo 'connect = 127.0.0.1/32 1024-65535'
} >"$CONF/agents.d/$AGENT.ini"

start_daemon "$CONF" "$STATE"
DAEMON_PID=$PINFOLDD_PID

# The ids of the programs this daemon holds, from its descriptors: other
# pinfoldd instances on the host hold their own.
daemon_prog_ids() {
	grep -h '^prog_id:' "/proc/$DAEMON_PID/fdinfo/"* 2>/dev/null | awk '{ print $2 }' | sort -un
}

# The ids of the programs attached to <cg2>/pinfold, one per line.
attached_ids() {
	bpftool -j cgroup show "$CGROOT" 2>/dev/null |
		python3 -c 'import json, sys; [print(p["id"]) for p in json.load(sys.stdin)]'
}

# While it runs, its four cgroup programs are attached: the later check
# that they are gone would otherwise prove nothing.
ATTACHED=$TEST_TMP/attached.ids
attached_before() {
	local types mine
	types=$(bpftool -j cgroup show "$CGROOT" |
		python3 -c 'import json, sys; print(" ".join(sorted(p["name"] for p in json.load(sys.stdin))))')
	log "attached to $CGROOT: $types"
	mine=$(comm -12 <(daemon_prog_ids) <(attached_ids | sort -un))
	[ -n "$mine" ] || fail "none of pinfoldd's programs is attached to '$CGROOT'"
	echo "$mine" >"$ATTACHED"
	assert_eq 4 "$(wc -l <"$ATTACHED")" "programs of this daemon attached to '$CGROOT'"
}
row attached-while-running attached_before

# A second daemon on the same host must not start: it would take this
# one's programs for stale, detach them, and remove the tree at its stop.
# This one's programs stay attached and its agents stay filtered.
second_daemon() {
	local dir=$TEST_TMP/second rc=0 id
	mkdir -p "$dir/etc/agents.d"
	timeout 10 "$BUILD/pinfoldd" --config-dir "$dir/etc" --state-dir "$dir/state" \
		--socket "$dir/pinfoldd.sock" </dev/null >/dev/null 2>"$dir/stderr" || rc=$?
	sed 's/^/    | /' "$dir/stderr" >&2
	[ "$rc" -ne 0 ] || fail "a second pinfoldd started beside pid $DAEMON_PID"
	[ "$rc" -ne 124 ] || fail "a second pinfoldd still ran after 10 s beside pid $DAEMON_PID"
	assert_contains "$dir/stderr" "another running pinfoldd"
	while read -r id; do
		attached_ids | grep -qx "$id" || fail "program id $id was detached by the second daemon"
	done <"$ATTACHED"
	[ -d "$CGROOT" ] || fail "'$CGROOT' was removed by the second daemon"
	assert_eq EPERM "$(pf run --agent "$AGENT" --workspace "$WS" -- "$PROBE" connect 127.0.0.2 9)" \
		"a denied connect after the second daemon's attempt"
}
row second-daemon-refused second_daemon

# Some decisions of every kind, allowed and denied.
pf run --agent "$AGENT" --workspace "$WS" -- "$PROBE" write "$WS/out" >/dev/null
pf run --agent "$AGENT" --workspace "$WS" -- "$PROBE" read "$WS/out" >/dev/null
pf run --agent "$AGENT" --workspace "$WS" -- "$PROBE" read "$SECRET" >/dev/null || true
pf run --agent "$AGENT" --workspace "$WS" -- "$PROBE" connect 127.0.0.2 9 >/dev/null || true
pf run --agent "$AGENT" --workspace "$WS" -- "$PROBE" exec /usr/bin/id >/dev/null || true
chain_has "$STATE" "r['type'] == 'decision' and r['decision'] == 'deny' and r['action'] == 'exec'"

stop_daemon

CHAIN=$STATE/audit/chain.jsonl

records() {
	chain_has "$STATE" "r['type'] == 'daemon-start' and r['pid'] == $DAEMON_PID" 1
	chain_has "$STATE" "r['type'] == 'policy-load' and r['reason'] == 'start'" 1
	chain_has "$STATE" "r['type'] == 'daemon-stop' and r['pid'] == $DAEMON_PID" 1
	assert_eq 1 "$(chain_count "$STATE" "r['type'] == 'daemon-stop'")" "daemon-stop records"
	local last
	last=$(tail -n 1 "$CHAIN" | python3 -c 'import json, sys; print(json.load(sys.stdin)["type"])')
	assert_eq daemon-stop "$last" "type of the last record"
	assert_ne 0 "$(chain_count "$STATE" "r['type'] == 'decision' and r['decision'] == 'allow'")" \
		"allow decisions"
	assert_ne 0 "$(chain_count "$STATE" "r['type'] == 'decision' and r['decision'] == 'deny'")" \
		"deny decisions"
}
row records records

verify_intact() {
	local rc=0
	"$BUILD/chain-verify" "$STATE/audit" || rc=$?
	assert_eq 0 "$rc" "chain-verify '$STATE/audit'"
	rc=0
	"$BUILD/chain-verify" -q "$CHAIN" || rc=$?
	assert_eq 0 "$rc" "chain-verify '$CHAIN'"
}
row verify-intact verify_intact

# The log is signed: `pinfold audit pubkey` gives the key, and with it
# chain-verify checks every checkpoint; the daemon's clean stop left one
# covering the last record. A key of another log is refused.
KEY=$TEST_TMP/audit.pub
signed_log() {
	local out rc=0
	"$BUILD/pinfold" audit pubkey --state-dir "$STATE" >"$KEY" || fail "pinfold audit pubkey"
	grep -Eq '^[^ +]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+$' "$KEY" || fail "not a key: $(cat "$KEY")"
	out=$("$BUILD/chain-verify" --key "$KEY" "$STATE/audit") || fail "chain-verify --key"
	log "$out"
	printf '%s\n' "$out" | grep -Eq '^chain-verify: verified [0-9]+ records, seq 0\.\.[0-9]+, last signed checkpoint at seq [0-9]+, 0 records after it unsigned$' ||
		fail "unexpected verdict '$out'"
	chain_has "$STATE" "r['type'] == 'genesis' and r['seq'] == 0 and r['format'] == 2"
	chain_has "$STATE" "r['type'] == 'decision' and 'boot' in r and 'mono' in r and 'host' in r"
	"$BUILD/pinfold" audit pubkey --state-dir "$TEST_TMP/second/state" >"$TEST_TMP/other.pub" ||
		fail "no key in the second daemon's state"
	"$BUILD/chain-verify" --key "$TEST_TMP/other.pub" "$STATE/audit" 2>"$TEST_TMP/wrong" || rc=$?
	assert_eq 1 "$rc" "chain-verify with another log's key"
	assert_contains "$TEST_TMP/wrong" "wrong public key"
}
row signed-log signed_log

# The anchors got every checkpoint: the file, the command and the journal
# (the daemon's stderr). With any of them, a copy of the log cut before
# the last checkpoint is caught even after its checkpoints are cut too.
anchors() {
	local a rc
	"$BUILD/chain-verify" -q --key "$KEY" --anchor "$TEST_TMP/anchors.notes" "$STATE/audit" ||
		fail "the log does not verify against its anchor file"
	wait_until 5 test -s "$TEST_TMP/command.notes" || fail "the anchor command got nothing"
	cmp "$TEST_TMP/anchors.notes" "$TEST_TMP/command.notes" ||
		fail "the anchor command and the anchor file got different checkpoints"
	mkdir -p "$TEST_TMP/cut"
	head -n 5 "$CHAIN" >"$TEST_TMP/cut/chain.jsonl"
	for a in "$TEST_TMP/anchors.notes" "$STATE/pinfoldd.log"; do
		rc=0
		"$BUILD/chain-verify" -q --key "$KEY" --anchor "$a" "$TEST_TMP/cut" 2>"$TEST_TMP/cut.err" ||
			rc=$?
		assert_eq 1 "$rc" "chain-verify of a cut copy with the anchor '$a'"
		assert_contains "$TEST_TMP/cut.err" "truncated before an anchor"
	done
}
row anchors anchors

# Review: the denials, as JSON lines that are the records' own bytes.
review() {
	local out
	out=$("$BUILD/chain-verify" -q --key "$KEY" --decision deny --json "$STATE/audit") ||
		fail "chain-verify --decision deny"
	[ -n "$out" ] || fail "no denials shown"
	printf '%s\n' "$out" | python3 -c '
import json, sys
log = set(open(sys.argv[1]).read().splitlines())
shown = sys.stdin.read().splitlines()
assert shown and all(json.loads(l)["decision"] == "deny" for l in shown), shown
assert all(l in log for l in shown), "a record shown is not a line of the log"' "$CHAIN" ||
		fail "--decision deny --json did not show the denials as they are in the log"
	out=$("$BUILD/chain-verify" -q --key "$KEY" --action exec --agent "$AGENT" "$STATE/audit")
	grep -q '/usr/bin/id' <<<"$out" || fail "--action exec --agent: no exec of id in '$out'"
}
row review review

# One byte of a copy changed at a time: one offset inside each record and
# each checkpoint line (their newlines included), the first and the last
# byte, and 50 random offsets of each file. Each flip XORs a non-zero
# mask, so the copy always differs. With the key, every flip must be
# caught, in the last record too: the final checkpoint covers it. The seed
# is logged, so a failure can be replayed with FLIP_SEED.
bit_flips() {
	local seed=${FLIP_SEED:-$RANDOM$RANDOM}
	mkdir -p "$TEST_TMP/flip"
	cp "$CHAIN" "$STATE/audit/checkpoints.jsonl" "$TEST_TMP/flip/"
	"$BUILD/chain-verify" -q --key "$KEY" "$TEST_TMP/flip" ||
		fail "the unchanged copy does not verify"
	log "flip seed $seed"
	python3 - "$BUILD/chain-verify" "$KEY" "$STATE/audit" "$TEST_TMP/flip" "$seed" <<'EOF' ||
import random, subprocess, sys

verify, key, src, copy, seed = sys.argv[1:5] + [int(sys.argv[5])]
rng = random.Random(seed)
missed, total = [], 0
for name in ("chain.jsonl", "checkpoints.jsonl"):
    data = open(f"{src}/{name}", "rb").read()
    offsets, start = [], 0
    for line in data.split(b"\n")[:-1]:
        offsets.append(start + rng.randrange(len(line) + 1))
        start += len(line) + 1
    offsets += [0, len(data) - 1] + [rng.randrange(len(data)) for _ in range(50)]
    for off in offsets:
        mask = rng.randrange(1, 256)
        b = bytearray(data)
        b[off] ^= mask
        open(f"{copy}/{name}", "wb").write(b)
        p = subprocess.run([verify, "-q", "--key", key, copy], capture_output=True, text=True)
        total += 1
        if p.returncode not in (1, 3):
            missed.append(f"{name} offset {off} ^ {mask:#04x}: exit {p.returncode}")
    open(f"{copy}/{name}", "wb").write(data)
print(f"-- {total} flips: {len(missed)} missed", file=sys.stderr)
for m in missed[:10]:
    print("    " + m, file=sys.stderr)
sys.exit(1 if missed else 0)
EOF
		fail "chain-verify did not catch every flipped byte (seed $seed)"
}
row bit-flips bit_flips

# Other pinfoldd instances (other tests, a developer's) share <cg2>/pinfold;
# with one running, the directory rightly stays and its programs stay
# attached, so only this daemon's programs can be checked.
other_daemons() {
	local p
	for p in $(pgrep -x pinfoldd); do
		[ "$p" != "$DAEMON_PID" ] && echo "$p"
	done
	return 0
}

progs_detached() {
	local id
	[ -s "$ATTACHED" ] || fail "no programs were recorded while the daemon ran"
	if [ -d "$CGROOT" ]; then
		for id in $(attached_ids); do
			! grep -qx "$id" "$ATTACHED" || fail "program id $id still attached to '$CGROOT'"
		done
	fi
	# Detached and no longer held, the programs are freed.
	while read -r id; do
		wait_until 5 sh -c "! bpftool prog show id $id >/dev/null 2>&1" ||
			fail "program id $id still exists after the daemon stopped"
	done <"$ATTACHED"
}
row progs-detached progs_detached

cgroot_removed() {
	local others
	others=$(other_daemons | paste -s -d ' ')
	[ -z "$others" ] || skip "another pinfoldd (pid $others) uses '$CGROOT'"
	[ ! -e "$CGROOT" ] || fail "'$CGROOT' still exists after the daemon stopped"
}
row cgroot-removed cgroot_removed
