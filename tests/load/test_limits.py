#!/usr/bin/env python3
"""Limits under pressure (suite 'load').

* A heap at its object limit, and another at its byte limit, keep answering
  reads (200) while many threads hammer them with writes, every one of which
  is refused with 507 /problems/memory-error; nothing changes, /check passes.
* The server at --max-heaps refuses new heaps with 503 /problems/too-many-heaps
  while clients keep working on the heaps it holds; deleting one makes room.

Prints one line per case and a final "N passed, N failed".
"""
import argparse
import os
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loadlib  # noqa: E402

ADMIN = "limits-admin-token-77aa"
MAX_HEAPS = 6


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


class Heap:
    def __init__(self, port, hid, token):
        self.port, self.id, self.token = port, hid, token
        self.base = "/v1/heaps/" + hid

    def r(self, method, sub="", body=None):
        return loadlib.call(self.port, method, self.base + sub, body, token=self.token)

    def check(self):
        st, j = self.r("GET", "/check")
        check(st == 200 and j == {"ok": True}, "%s /check: %d %r" % (self.id, st, j))

    def snapshot(self):
        st, j = self.r("GET")
        check(st == 200, "GET heap: %d" % st)
        st2, n = self.r("GET", "/names")
        return j["objects"], j["bytes"], n["names"]


def new_heap(port, body):
    st, j = loadlib.call(port, "POST", "/v1/heaps", body)
    check(st == 201, "create heap: %d %r" % (st, j))
    return Heap(port, j["id"], j["token"])


def is_memory_error(st, j):
    return st == 507 and isinstance(j, dict) and j.get("type") == "/problems/memory-error" and j.get("status") == 507


def pressure(h, writes, reads, seconds=4.0, nthreads=8):
    """Writers send writes that must all be 507; readers must all get 200."""
    stop = time.time() + seconds
    bad, counts = [], {"w": 0, "r": 0}
    lock = threading.Lock()

    def writer(k):
        i = 0
        while time.time() < stop:
            method, sub, body = writes[(i + k) % len(writes)]
            i += 1
            st, j = h.r(method, sub, body)
            with lock:
                counts["w"] += 1
                if not is_memory_error(st, j) and len(bad) < 10:
                    bad.append("write %s %s: %d %r" % (method, sub, st, str(j)[:200]))

    def reader(k):
        i = 0
        while time.time() < stop:
            sub = reads[(i + k) % len(reads)]
            i += 1
            st, j = h.r("GET", sub)
            with lock:
                counts["r"] += 1
                if st != 200 and len(bad) < 10:
                    bad.append("read %s: %d %r" % (sub, st, str(j)[:200]))

    ts = [threading.Thread(target=writer, args=(k,)) for k in range(nthreads // 2)]
    ts += [threading.Thread(target=reader, args=(k,)) for k in range(nthreads // 2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    check(not bad, "under pressure:\n    " + "\n    ".join(bad))
    check(counts["w"] > 20 and counts["r"] > 20, "too few requests: %r" % counts)
    return counts


READS = ["", "/objects/1", "/objects", "/names", "/names/n0", "/gc", "/memory", "/memory?format=text",
         "/events?since=0&limit=10", "/check", "/objects/1/path"]


def t_object_limit(ctx):
    port = ctx["port"]
    h = new_heap(port, {"name": "objlimit", "limits": {"max_objects": 50}})
    for k in range(50):
        st, j = h.r("POST", "/objects", {"type": "set" if k == 0 else "list", "name": "n%d" % k})
        check(st == 201, "create %d: %d %r" % (k, st, j))
    st, j = h.r("POST", "/objects", {"type": "list", "name": "extra"})
    check(is_memory_error(st, j), "51st object: %d %r" % (st, j))
    before = h.snapshot()
    writes = [("POST", "/objects", {"type": "list", "name": "x"}),
              ("POST", "/objects", {"type": "int", "value": 987654, "name": "n0"}),
              ("POST", "/objects", {"type": "str", "value": "abc", "name": "y"}),
              ("POST", "/batch", {"ops": [{"op": "create", "type": "dict", "name": "z"}]}),
              ("POST", "/weakrefs", {"target": 1, "name": "w"}),  # object 1 is a set: weakrefable
              ("POST", "/objects", {"type": "tuple", "items": [1, 2], "name": "t"})]
    counts = pressure(h, writes, READS)
    check(h.snapshot() == before, "refused writes changed the heap")
    h.check()
    # room again once something is freed
    st, _ = h.r("DELETE", "/names/n49")
    check(st == 204, "unbind: %d" % st)
    st, j = h.r("POST", "/objects", {"type": "list", "name": "n49"})
    check(st == 201, "create after a free: %d %r" % (st, j))
    h.check()
    return "%d refused writes, %d reads" % (counts["w"], counts["r"])


def t_byte_limit(ctx):
    port = ctx["port"]
    h = new_heap(port, {"name": "bytelimit", "limits": {"max_bytes": 65536}})
    made, k = 0, 0
    while True:
        st, j = h.r("POST", "/objects", {"type": "bytes", "size": 4000, "name": "n%d" % k})
        if st != 201:
            check(is_memory_error(st, j), "at the byte limit: %d %r" % (st, j))
            break
        made, k = made + 1, k + 1
        check(k < 100, "65536 bytes never ran out")
    check(made >= 5, "only %d objects of 4000 bytes fit in 64 KiB" % made)
    before = h.snapshot()
    writes = [("POST", "/objects", {"type": "bytes", "size": 8000, "name": "big"}),
              ("POST", "/objects", {"type": "str", "value": "s" * 20000, "name": "n0"}),
              ("POST", "/batch", {"ops": [{"op": "create", "type": "bytes", "size": 30000, "name": "z"}]})]
    counts = pressure(h, writes, READS)
    check(h.snapshot() == before, "refused writes changed the heap")
    h.check()
    return "%d objects fit; %d refused writes, %d reads" % (made, counts["w"], counts["r"])


def t_max_heaps(ctx):
    port = ctx["port"]
    st, j = loadlib.call(port, "GET", "/v1/heaps", token=ADMIN)
    have = len(j["heaps"])
    heaps = [new_heap(port, {"name": "fill-%d" % i}) for i in range(MAX_HEAPS - have)]
    for h in heaps:
        st, j = h.r("POST", "/objects", {"type": "list", "name": "root"})
        check(st == 201, "root: %d" % st)
    stop = time.time() + 3
    bad, served = [], [0]
    lock = threading.Lock()

    def creator():
        while time.time() < stop:
            st, j = loadlib.call(port, "POST", "/v1/heaps", {"name": "one-too-many"})
            if not (st == 503 and j.get("type") == "/problems/too-many-heaps"):
                with lock:
                    bad.append("create at the limit: %d %r" % (st, j))
                    if st == 201:
                        loadlib.call(port, "DELETE", "/v1/heaps/" + j["id"], token=j["token"])

    def worker(h):
        i = 0
        while time.time() < stop:
            i += 1
            st, j = h.r("POST", "/batch", {"ops": [{"op": "create", "type": "int", "value": 1000 + i,
                                                     "name": "v%d" % (i % 5)}]})
            st2, _ = h.r("GET", "/objects/1")
            with lock:
                served[0] += 2
                if (st, st2) != (200, 200):
                    bad.append("work on %s at the heap limit: %d %d %r" % (h.id, st, st2, j))

    ts = [threading.Thread(target=creator) for _ in range(3)] + [threading.Thread(target=worker, args=(h,))
                                                                for h in heaps[:3]]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    check(not bad, "\n    ".join(bad[:10]))
    for h in heaps:
        h.check()
    st, _ = heaps[0].r("DELETE")
    check(st == 204, "delete: %d" % st)
    fresh = new_heap(port, {"name": "room-again"})
    st, j = loadlib.call(port, "POST", "/v1/heaps", {"name": "over"})
    check(st == 503 and j.get("type") == "/problems/too-many-heaps", "full again: %d %r" % (st, j))
    fresh.check()
    for h in heaps[1:] + [fresh]:
        h.r("DELETE")
    return "%d requests served while full" % served[0]


TESTS = [t_object_limit, t_byte_limit, t_max_heaps]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    a = ap.parse_args()
    srv = loadlib.Server(a.binary, ["--admin-token", ADMIN, "--max-heaps", str(MAX_HEAPS),
                                    "--max-connections", "64"]).start()
    ctx = {"port": srv.port}
    passed = failed = 0
    try:
        for t in TESTS:
            try:
                note = t(ctx)
                check(srv.alive(), "the server died")
                passed += 1
                print("ok   %s%s" % (t.__name__, " (%s)" % note if note else ""), flush=True)
            except Exception:  # noqa: BLE001
                failed += 1
                print("FAIL %s\n%s" % (t.__name__, traceback.format_exc()), flush=True)
    finally:
        code = srv.stop()
    if code != 0:
        failed += 1
        print("FAIL the server exited %r on SIGTERM" % code)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
