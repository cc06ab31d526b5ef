#!/usr/bin/env bash
# make bench: pinfold's cost, measured side by side in one run.
#
# 1. Lua 5.4 builds as the same unprivileged uid, alternately without and
#    under pinfoldd (observing and enforcing), PAIRS times; prints the median
#    of the per-pair time ratios and their spread, and the events seen and
#    dropped during the builds.
# 2. An event storm: an agent opens distinct files and makes distinct
#    connects as fast as it can; prints events per second seen, decided and
#    chained end to end, and events dropped.
# 3. Policy decisions (build/bench_policy, first, since it needs no
#    daemon): the cost of one open, exec and connect decision from the
#    compiled structures at 10, 1,000 and 10,000 rules (median and 99th
#    percentile, ns), and the time to load and compile 10,000 rules.
# 4. The control socket: a good client's status round trips, alone and
#    while 20 uids flood the socket with hostile connections; prints the
#    median and p99 of each.
# 4. Deprovisioning: an identity provider agent runs 3 sessions of 2 or 3
#    processes; a SCIM export marking it inactive is synced; prints the
#    median and worst time from the start of `pinfold idp sync` to the last
#    of those processes gone, over DEPROVISION_ROUNDS rounds.
# 5. Approval round trip: an agent's connects are held for approval one
#    after another; each is approved with `pinfold approve`, and the time
#    from starting that command to the connect reaching a listener is
#    taken, ROUNDS times; prints the median and the 99th percentile.
#
# 3. The audit log: the append rate of a signed log with group commit
#    (bench_append, in process), and chain-verify's speed next to
#    `openssl speed -evp sha256` at 8 KiB blocks, alternating, VERIFY_PAIRS
#    (5) runs each. Both are bytes over wall-clock time: openssl speed
#    divides by its own CPU time unless given -elapsed, which on a shared
#    machine would set a rate no wall-clock figure can meet.
#    AUDIT_ONLY=1 runs only this part.
#
# Figures come from this run only; the machine is shared, so the ratio of
# each pair (run back to back) is what counts, not absolute times.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd -P)
build=$repo/build
pairs=${PAIRS:-7}
opens=${STORM_OPENS:-200000}
connects=${STORM_CONNECTS:-20000}
rounds=${APPROVAL_ROUNDS:-100}
cache=${PINFOLD_CACHE:-$build/cache}
tmp=$(mktemp -d /tmp/pinfold-bench.XXXXXX)
chmod 0755 "$tmp"
daemon_pid=

cleanup() {
	if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
		kill -TERM "$daemon_pid"
		wait "$daemon_pid" || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }

# Median of the numbers given.
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

bench_audit() {
	local records=${AUDIT_RECORDS:-1000000} out key v=() o=() p=() i
	echo "== audit log: $records decision records, signed, group commit every 10 ms"
	out=$("$build/bench_append" "$tmp/audit" "$records")
	printf '  append: %s\n' "$(head -n 1 <<<"$out")"
	key=$(sed -n 's/^key //p' <<<"$out")
	for i in $(seq "${VERIFY_PAIRS:-5}"); do
		o+=("$(openssl speed -elapsed -evp sha256 -bytes 8192 -seconds 1 2>/dev/null |
			awk '/^sha256/ { sub(/k$/, "", $2); print $2 / 1000 }')")
		v+=("$("$build/chain-verify" -v --key "$key" "$tmp/audit" |
			sed -n 's/.*(\([0-9.]*\) MB\/s).*/\1/p')")
		p+=("$(python3 -c "print(f'{${v[-1]} / ${o[-1]}:.2f}')")")
	done
	printf '  chain-verify: %s MB/s (runs: %s)\n' "$(median "${v[@]}")" "${v[*]}"
	printf '  openssl speed -elapsed -evp sha256 -bytes 8192: %s MB/s (runs: %s)\n' \
		"$(median "${o[@]}")" "${o[*]}"
	printf '  verify / openssl: %s, median of the pairs (%s), on %s CPUs (openssl uses one)\n' \
		"$(median "${p[@]}")" "${p[*]}" "$(nproc)"
	"$build/chain-verify" --key "$key" "$tmp/audit"
	rm -rf "$tmp/audit"
}

bench_audit
[ -z "${AUDIT_ONLY:-}" ] || exit 0
"$build/bench_policy"

tree=$("$repo/tests/integration/lua-source.sh" "$cache/lua")
mkdir -p "$tmp/etc/agents.d" "$tmp/storm"
cp "$build/probe" "$tmp/probe"
chmod 0755 "$tmp/probe"
cp -a "$tree" "$tmp/lua-src"
chmod -R a+rX "$tmp/lua-src"

cat >"$tmp/etc/agents.d/bench.ini" <<EOF
[agent]
description = builds Lua for the benchmark

[exec]
allow = /usr/bin
allow = /usr/lib/gcc
allow = /usr/libexec
allow = /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
allow = \${workspace}

[files]
read = /usr
read = /etc
read = /dev/null
read = /dev/urandom
read = $tmp/lua-src
read = \${workspace}
write = \${workspace}
write = /dev/null
EOF

cat >"$tmp/etc/agents.d/storm.ini" <<EOF
[agent]
description = generates events as fast as it can

[exec]
allow = $tmp/probe
allow = /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2

[files]
read = /usr
read = /etc
read = $tmp/storm

[network]
connect = 127.0.0.1/32 *
EOF

cat >"$tmp/etc/agents.d/held.ini" <<EOF
[agent]
description = each connect waits for an approver

[exec]
allow = $tmp/probe
allow = /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2

[files]
read = /usr
read = /etc

[network]
approve = 127.0.0.1/32 20000-$((20000 + rounds - 1))

[approval]
self_approve = yes
EOF

sock=$tmp/pinfoldd.sock
pf() { "$build/pinfold" --socket "$sock" "$@"; }
now_ns() { date +%s%N; }

daemon_start() {
	rm -f "$sock"
	"$build/pinfoldd" --config-dir "$tmp/etc" --state-dir "$tmp/state" --socket "$sock" \
		2>>"$tmp/pinfoldd.log" &
	daemon_pid=$!
	for _ in $(seq 100); do [ -S "$sock" ] && return 0; sleep 0.1; done
	cat "$tmp/pinfoldd.log" >&2
	exit 1
}

# Adds the daemon's event counters to seen and dropped, then stops it.
daemon_stop() {
	local s d
	read -r s d < <(pf status | awk '/^events/ { print $2, $4 }')
	seen=$((seen + s))
	dropped=$((dropped + d))
	kill -TERM "$daemon_pid"
	wait "$daemon_pid"
	daemon_pid=
}

# The workspace the daemon gives the agent, and a copy of the tree in it;
# the plain builds use their own copy, owned by the same uid.
seen=0 dropped=0
daemon_start
pf run --agent bench --workspace "$tmp/ws" -- cp -a "$tmp/lua-src" lua
daemon_stop
uid=$(stat -c %u "$tmp/ws")
cp -a "$tmp/lua-src" "$tmp/plain"
chown -R "$uid:$uid" "$tmp/plain"
as_uid() { setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@"; }

# Without pinfoldd at all: no programs loaded, nothing attached.
plain_build() {
	as_uid make -s -C "$tmp/plain" clean >/dev/null
	local t0; t0=$(now_ns)
	as_uid make -s -C "$tmp/plain" linux -j2 >/dev/null 2>&1
	echo $(( $(now_ns) - t0 )) >"$tmp/t"
}
pinfold_build() {
	daemon_start
	pf run --agent bench --workspace "$tmp/ws" -- make -s -C lua clean >/dev/null
	local t0; t0=$(now_ns)
	pf run --agent bench --workspace "$tmp/ws" -- make -s -C lua linux -j2 >/dev/null 2>&1
	echo $(( $(now_ns) - t0 )) >"$tmp/t"
	daemon_stop
}

bench_build() {
	echo "== Lua 5.4 build, $pairs pairs (without / under pinfold, order alternating)"
	seen=0 dropped=0
	ratios=()
	for i in $(seq "$pairs"); do
		if [ $((i % 2)) = 1 ]; then
			plain_build; a=$(cat "$tmp/t"); pinfold_build; b=$(cat "$tmp/t")
		else
			pinfold_build; b=$(cat "$tmp/t"); plain_build; a=$(cat "$tmp/t")
		fi
		ratios+=("$(python3 -c "print($b / $a)")")
		printf '  pair %d: %.2f s without, %.2f s under pinfold, ratio %.3f\n' "$i" \
			"$(python3 -c "print($a/1e9)")" "$(python3 -c "print($b/1e9)")" "${ratios[-1]}"
	done
	python3 - "${ratios[@]}" <<-'EOF'
	import statistics, sys
	r = sorted(float(x) for x in sys.argv[1:])
	print(f"  median ratio {statistics.median(r):.3f} (spread {r[0]:.3f} to {r[-1]:.3f})")
	EOF
	echo "  events during the builds: $seen seen, $dropped dropped"
}

# End to end is from the first storm session's start record to the last
# decision record, both stamped by the daemon as it chained them.
bench_storm() {
	echo "== event storm: $opens distinct opens, then $connects distinct connects"
	seen=0 dropped=0
	audit=$tmp/state/audit
	daemon_start
	# The log may span segments (chain-SEQ.jsonl, then chain.jsonl).
	before=$(cat "$audit"/chain*.jsonl | wc -l)
	pf run --agent storm --workspace "$tmp/storm-ws" -- "$tmp/probe" openstorm "$tmp/storm" "$opens" \
		>/dev/null || true
	pf run --agent storm --workspace "$tmp/storm-ws" -- "$tmp/probe" connectstorm "$connects" \
		>/dev/null || true
	daemon_stop
	python3 - "$audit" "$before" "$seen" "$dropped" <<-'EOF'
	import datetime, glob, itertools, json, os, sys
	audit, skip, seen, dropped = sys.argv[1], *map(int, sys.argv[2:])
	closed = sorted(glob.glob(os.path.join(audit, "chain-*.jsonl")),
	                key=lambda f: int(os.path.basename(f)[6:-6]))
	lines = itertools.chain(*(open(f) for f in closed + [os.path.join(audit, "chain.jsonl")]))
	def stamp(r):
	    return datetime.datetime.fromisoformat(r["time"].replace("Z", "+00:00")).timestamp()
	start, last, decided, order = {}, {}, {}, []
	for i, line in enumerate(lines):
	    if i < skip:
	        continue
	    r = json.loads(line)
	    if "session" not in r:
	        continue
	    if r["type"] == "session-start":
	        start[r["session"]] = stamp(r)
	        order.append((r["session"], r["cmd"][1]))
	    elif r["type"] == "decision":
	        decided[r["session"]] = decided.get(r["session"], 0) + 1
	        last[r["session"]] = stamp(r)
	for sid, what in order:
	    secs = last[sid] - start[sid]
	    print(f"  {what}: {decided[sid]} decided and chained in {secs:.2f} s: "
	          f"{decided[sid] / secs:,.0f} events/s end to end")
	total = sum(decided.values())
	secs = max(last.values()) - min(start.values())
	print(f"  both: {seen} events seen, {total} chained in {secs:.2f} s "
	      f"({total / secs:,.0f}/s), {dropped} dropped")
	EOF
	"$build/chain-verify" -q "$tmp/state/audit" && echo "  chain verified"
}

# The listener stamps each connection as it accepts it; the driver stamps
# the moment it starts `pinfold approve`. Both are CLOCK_REALTIME.
bench_approval() {
	echo "== approval round trip: $rounds connects, each held, then approved"
	daemon_start
	python3 - "$build/pinfold" "$sock" "$rounds" "$tmp" <<-'EOF'
	import json, selectors, socket, statistics, subprocess, sys, threading, time
	cli, sock, rounds, tmp = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
	accepted = {}
	sel = selectors.DefaultSelector()
	for i in range(rounds):
	    s = socket.socket()
	    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	    s.bind(("127.0.0.1", 20000 + i))
	    s.listen(4)
	    sel.register(s, selectors.EVENT_READ)
	def listen():
	    while len(accepted) < rounds:
	        for key, _ in sel.select(1):
	            c, _ = key.fileobj.accept()
	            accepted[key.fileobj.getsockname()[1]] = time.time_ns()
	            c.close()
	threading.Thread(target=listen, daemon=True).start()
	def pending():
	    c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
	    c.connect(sock)
	    c.send(b'{"verb":"approvals"}')
	    reply = json.loads(c.recv(65536))
	    c.close()
	    return reply["approvals"]
	agent = subprocess.Popen([cli, "--socket", sock, "run", "--agent", "held", "--workspace",
	                          tmp + "/held-ws", "--", tmp + "/probe", "connectstorm",
	                          str(rounds)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
	trips = []
	for i in range(rounds):
	    want = "127.0.0.1:%d" % (20000 + i)
	    deadline = time.monotonic() + 10
	    while True:
	        held = [a for a in pending() if a["object"] == want]
	        if held or time.monotonic() > deadline:
	            break
	        time.sleep(0.002)
	    if not held:
	        sys.exit("bench: the connect to %s was never held" % want)
	    t0 = time.time_ns()
	    subprocess.run([cli, "--socket", sock, "approve", str(held[0]["request"])], check=True)
	    while 20000 + i not in accepted and time.time_ns() - t0 < 5e9:
	        time.sleep(0.0002)
	    if 20000 + i not in accepted:
	        sys.exit("bench: the approved connect to %s never arrived" % want)
	    trips.append((accepted[20000 + i] - t0) / 1e6)
	agent.wait()
	trips.sort()
	p99 = trips[min(len(trips) - 1, int(len(trips) * 0.99))]
	print(f"  from `pinfold approve` to the connect arriving: median "
	      f"{statistics.median(trips):.1f} ms, p99 {p99:.1f} ms "
	      f"(min {trips[0]:.1f}, max {trips[-1]:.1f}, {len(trips)} rounds)")
	EOF
	daemon_stop
}

bench_control() {
	local clients=$repo/tests/integration/control_clients.py quiet loud fpid
	echo "== control socket: status round trips, alone and under a flood from 20 uids"
	daemon_start
	quiet=$(python3 "$clients" good "$sock" 500)
	python3 "$clients" flood "$sock" 8 $(seq 60010 60029) >"$tmp/flood.out" &
	fpid=$!
	sleep 1
	loud=$(python3 "$clients" good "$sock" 500)
	wait "$fpid"
	kill -TERM "$daemon_pid"
	wait "$daemon_pid"
	daemon_pid=
	echo "  alone:       $quiet"
	echo "  under flood: $loud ($(cat "$tmp/flood.out") connects tried in 8 s)"
}

# The sync is timed from its start to the moment every session cgroup's
# cgroup.procs is empty, polled each 0.2 ms.
bench_deprovision() {
	local fix=$repo/tests/fixtures/scim etc=$tmp/idp-etc rounds=${DEPROVISION_ROUNDS:-5} i runs
	echo "== deprovisioning: sync marking an agent inactive, to its last process gone"
	mkdir -p "$etc/roles.d" "$etc/agents.d"
	printf '[idp]\nagents_group = pinfold-agents\nrole_map = Build Agents -> builder\n' \
		>"$etc/pinfoldd.conf"
	printf '[exec]\nallow = /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2\n' \
		>"$etc/roles.d/builder.ini"
	printf 'allow = /usr/bin/dash\nallow = /usr/bin/sleep\n[files]\nread = /usr\n' \
		>>"$etc/roles.d/builder.ini"
	cat "$fix/okta-users.json" "$fix/okta-groups.json" >"$tmp/active.json"
	python3 "$repo/tests/integration/scim_deactivate.py" 00u1buildbot false \
		<"$tmp/active.json" >"$tmp/inactive.json"
	rm -f "$sock"
	"$build/pinfoldd" --config-dir "$etc" --state-dir "$tmp/idp-state" --socket "$sock" \
		2>>"$tmp/pinfoldd.log" &
	daemon_pid=$!
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
	for i in $(seq "$rounds"); do
		pf idp sync --scim "$tmp/active.json" >/dev/null
		runs=()
		for _ in 1 2 3; do
			pf run --agent build-bot --workspace "$tmp/idp-ws" -- /usr/bin/dash -c \
				'sleep 60 & sleep 60 & sleep 60' >/dev/null 2>&1 </dev/null &
			runs+=("$!")
		done
		python3 - "$sock" "$build/pinfold" "$tmp/inactive.json" <<-'EOF'
		import json, subprocess, sys, time
		sock, cli, doc = sys.argv[1:]
		def sessions():
		    out = subprocess.run([cli, "--socket", sock, "sessions", "--json"],
		                         capture_output=True, text=True).stdout
		    return [s for s in json.loads(out) if s["agent"] == "build-bot"]
		for _ in range(200):
		    ss = sessions()
		    if len(ss) == 3 and all(len(s["processes"]) >= 2 for s in ss):
		        break
		    time.sleep(0.05)
		procs = [s["cgroup"] + "/cgroup.procs" for s in ss]
		def alive():
		    n = 0
		    for p in procs:
		        try:
		            n += len(open(p).read().split())
		        except OSError:
		            pass
		    return n
		before = alive()
		t0 = time.monotonic()
		subprocess.run([cli, "--socket", sock, "idp", "sync", "--scim", doc],
		               stdout=subprocess.DEVNULL, check=True)
		while alive():
		    time.sleep(0.0002)
		print(f"{(time.monotonic() - t0) * 1000:.1f} {before}")
		EOF
		wait "${runs[@]}" || true
	done >"$tmp/deprov.out"
	kill -TERM "$daemon_pid"
	wait "$daemon_pid"
	daemon_pid=
	python3 - "$tmp/deprov.out" <<-'EOF'
	import statistics, sys
	rows = [line.split() for line in open(sys.argv[1])]
	ms = [float(r[0]) for r in rows]
	print(f"  {len(ms)} rounds of {rows[0][1]} processes in 3 sessions: median "
	      f"{statistics.median(ms):.1f} ms, worst {max(ms):.1f} ms from sync start to the "
	      f"last process gone")
	EOF
}

[ "$pairs" -gt 0 ] && bench_build
bench_storm
bench_control
bench_deprovision
[ "$rounds" -gt 0 ] && bench_approval
