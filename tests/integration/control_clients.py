#!/usr/bin/env python3
"""Clients of pinfoldd's control socket, for test_control.sh.

  control_clients.py flood SOCKET SECONDS UID...
      for SECONDS, one process per UID (dropped to that uid, no groups)
      opens connections up to and past the per-uid limit, sends oversized,
      malformed and unauthorised messages, leaves some connections silent,
      and reconnects; prints "flood N" with the number of connects tried.
  control_clients.py good SOCKET N
      N status requests one after another; prints
      "answered A of N, median M ms, p99 P ms, max X ms".
  control_clients.py hold SOCKET N
      opens N connections as the current uid and prints how many the
      daemon kept: "kept K refused R".
  control_clients.py idle SOCKET WAIT
      connects, sends nothing, and prints "closed after S s" when the
      daemon closes it, or "open after WAIT s".
"""
import json
import os
import socket
import sys
import time


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(5)
    s.connect(path)
    return s


def flood_one(path, seconds, uid):
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    deadline = time.monotonic() + seconds
    held, tries = [], 0
    payloads = [b"x" * 70000, b"{not json", b'{"verb":"reload"}', b'{"verb":"status"}',
                b"\xff" * 100, b"[]"]
    while time.monotonic() < deadline:
        try:
            s = connect(path)
            tries += 1
            s.send(payloads[tries % len(payloads)])
            if tries % 3 == 0:
                held.append(s)  # silent from now on
            else:
                s.close()
        except OSError:
            pass
        time.sleep(0.001)  # a flood, but not a CPU hog: that is the scheduler's to bound
        if len(held) > 40:
            for s in held[:20]:
                s.close()
            del held[:20]
    return tries


def flood(path, seconds, uids):
    pids = []
    for uid in uids:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            n = flood_one(path, seconds, uid)
            try:
                os.write(w, b"%d\n" % n)
            except BrokenPipeError:
                pass  # the parent was stopped early
            os._exit(0)
        os.close(w)
        pids.append((pid, r))
    total = 0
    for pid, r in pids:
        total += int(os.read(r, 64) or b"0")
        os.waitpid(pid, 0)
    print("flood %d" % total)


def connect_retry(path, deadline):
    """A full listen queue answers EAGAIN at once: a client tries again."""
    while True:
        try:
            return connect(path)
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.001)


def good(path, n):
    times = []
    for _ in range(n):
        t = time.monotonic()
        try:
            s = connect_retry(path, t + 5)
            s.send(b'{"verb":"status"}')
            m = json.loads(s.recv(65536))
            s.close()
            if m.get("ok"):
                times.append((time.monotonic() - t) * 1000)
        except (OSError, ValueError):
            pass
    times.sort()
    if not times:
        print("answered 0 of %d" % n)
        return
    pick = lambda q: times[min(len(times) - 1, int(q * len(times)))]
    print("answered %d of %d, median %.1f ms, p99 %.1f ms, max %.1f ms"
          % (len(times), n, pick(0.5), pick(0.99), times[-1]))


def hold(path, n):
    socks = [connect(path) for _ in range(n)]
    time.sleep(0.5)  # well inside the idle timeout
    kept, refused = 0, 0
    for s in socks:
        s.setblocking(False)
        try:
            m = json.loads(s.recv(65536))
            refused += "holds" in m.get("error", "")
        except BlockingIOError:
            kept += 1
    print("kept %d refused %d" % (kept, refused))


def idle(path, wait):
    s = connect(path)
    s.settimeout(wait)
    t = time.monotonic()
    try:
        while s.recv(65536):
            pass
        print("closed after %d s" % round(time.monotonic() - t))
    except socket.timeout:
        print("open after %d s" % wait)


def main():
    mode, path = sys.argv[1], sys.argv[2]
    if mode == "flood":
        flood(path, float(sys.argv[3]), [int(u) for u in sys.argv[4:]])
    elif mode == "good":
        good(path, int(sys.argv[3]))
    elif mode == "hold":
        hold(path, int(sys.argv[3]))
    elif mode == "idle":
        idle(path, float(sys.argv[3]))
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
