#!/usr/bin/env bash
# make demo: start pinfoldd from the checkout, run the example "demo" agent
# through real work and four forbidden actions, show what was decided, and
# verify the audit chain. Run as root. DEMO_DIR=path keeps the state there.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$repo/build}
keep=${DEMO_DIR:+1}
dir=${DEMO_DIR:-$(mktemp -d /tmp/pinfold-demo.XXXXXX)}
daemon_pid=
web_pid=

if [ "$(id -u)" != 0 ]; then
	echo "demo: run as root (pinfoldd loads BPF programs and manages cgroups)" >&2
	exit 1
fi

cleanup() {
	[ -n "$web_pid" ] && kill "$web_pid" 2>/dev/null
	if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
		kill -TERM "$daemon_pid"
		wait "$daemon_pid" || true
	fi
	[ -z "$keep" ] && rm -rf "$dir"
	return 0
}
trap cleanup EXIT

# The agent must be able to walk to its workspace beneath the demo dir.
mkdir -p "$dir"
chmod 0755 "$dir"
rm -rf "$dir/etc" "$dir/state" "$dir/ws" "$dir/home"
mkdir -p "$dir/etc/pinfold" "$dir/home/dev/.ssh" "$dir/www"
cp -r "$repo/policy/examples/." "$dir/etc/pinfold/"

# Targets that Unix permissions alone would let any uid reach, so that each
# denial below is pinfold's: a world-readable private key, a world-writable
# policy directory (an agent that could write there could widen its own
# policy), and a world-writable scratch directory.
echo "-----BEGIN OPENSSH PRIVATE KEY----- (demo)" >"$dir/home/dev/.ssh/id_ed25519"
chmod 0755 "$dir/home" "$dir/home/dev" "$dir/home/dev/.ssh"
chmod 0644 "$dir/home/dev/.ssh/id_ed25519"
chmod 0777 "$dir/etc/pinfold/agents.d"
echo "hello from a loopback service" >"$dir/www/index.html"

sock=$dir/pinfoldd.sock
"$build/pinfoldd" --config-dir "$dir/etc/pinfold" --state-dir "$dir/state" \
	--socket "$sock" 2>"$dir/pinfoldd.log" &
daemon_pid=$!
for _ in $(seq 100); do
	[ -S "$sock" ] && break
	kill -0 "$daemon_pid" 2>/dev/null || { cat "$dir/pinfoldd.log" >&2; exit 1; }
	sleep 0.1
done
[ -S "$sock" ] || { echo "demo: pinfoldd did not start" >&2; cat "$dir/pinfoldd.log" >&2; exit 1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$dir/www" "$port" >/dev/null 2>&1 &
web_pid=$!
for _ in $(seq 100); do
	python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' \
		"$port" 2>/dev/null && break
	sleep 0.1
done

echo "== agent 'demo' at work (uid, workspace and restrictions set by pinfoldd)"
status=0
"$build/pinfold" --socket "$sock" run --agent demo --workspace "$dir/ws" -- \
	sh -s "$dir" "$port" <"$repo/tools/demo-task.sh" || status=$?
[ "$status" = 0 ] || echo "   $status step(s) did not go as expected"

kill -TERM "$daemon_pid"
wait "$daemon_pid" || { echo "demo: pinfoldd did not stop cleanly" >&2; exit 1; }
daemon_pid=

uid=$(python3 - "$dir/state/audit/chain.jsonl" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("type") == "session-start":
        print(r["uid"])
EOF
)

echo
echo "== the same forbidden file and exec steps as uid $uid without pinfold"
as_agent() { setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@" >/dev/null 2>&1; }
# Each must succeed, or the denial above was not pinfold's alone.
check() {
	if as_agent "${@:2}"; then
		echo "  ok      $1"
	else
		echo "  failed  $1   <- unexpected: Unix permissions refuse it too"
		status=$((status + 1))
	fi
}
check "read ~/.ssh/id_ed25519" cat "$dir/home/dev/.ssh/id_ed25519"
check "write a policy file into /etc/pinfold" sh -c "echo x > '$dir/etc/pinfold/agents.d/control.ini'"
check "write into /var/tmp" sh -c "touch /var/tmp/pinfold-demo-control && rm /var/tmp/pinfold-demo-control"
check "run /usr/bin/id" /usr/bin/id
echo "  (the metadata connect is not tried: no packet leaves this host)"
rm -f "$dir/etc/pinfold/agents.d/control.ini"

echo
echo "== decisions in the audit chain"
python3 "$repo/tools/demo-table.py" "$dir/state/audit/chain.jsonl"

echo
echo "== chain-verify, with the log's public key"
"$build/pinfold" audit pubkey --state-dir "$dir/state" >"$dir/audit.pub"
cat "$dir/audit.pub"
"$build/chain-verify" --key "$dir/audit.pub" "$dir/state/audit"
[ -n "$keep" ] && echo "state kept in $dir"
exit "$status"
