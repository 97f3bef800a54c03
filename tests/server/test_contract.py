#!/usr/bin/env python3
"""HTTP integration tests for heaplab's v1 API contract.

Starts the real binary on free loopback ports (with an admin token), runs
every case over real HTTP, and stops it with SIGTERM (exit status 0).
Every case that changes a heap ends by asking GET /v1/heaps/{h}/check
(core's invariant checker) and requiring {"ok": true}.  Sizes are compared
with python3's sys.getsizeof: the heap is CPython-faithful.

Prints one line per case and a final "N passed, N failed" line; exits 1
when a case fails.  Python standard library only.
"""
import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

ADMIN = "contract-admin-token-9f8e7d6c5b4a"
MAIN_MAX_BODY = 2 * 1024 * 1024

# ---------------------------------------------------------------- plumbing


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One heaplab process on a free loopback port; stderr to a log file."""
    all = []

    def __init__(self, binary, args):
        self.binary, self.args = binary, args
        self.proc = None
        self.log = tempfile.NamedTemporaryFile(prefix="heaplab-contract-", suffix=".log", delete=False)
        Server.all.append(self)

    def start(self):
        for _ in range(5):
            self.port = free_port()
            self.proc = subprocess.Popen([self.binary, "--port", str(self.port)] + self.args,
                                         stdout=subprocess.DEVNULL, stderr=self.log)
            if self._wait_ready():
                return self
        raise RuntimeError("server did not start; log:\n" + self.log_text())

    def _wait_ready(self):
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False  # most likely the port was taken meanwhile: retry
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return True
            except OSError:
                time.sleep(0.05)
        self.proc.kill()
        self.proc.wait()
        return False

    def stop(self, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log_text(self):
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    def conn(self, timeout=30):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)


class Resp:
    def __init__(self, method, path, status, headers, body):
        self.method, self.path = method, path
        self.status, self.headers, self.body = status, headers, body

    @property
    def json(self):
        return json.loads(self.body) if self.body else None

    def __repr__(self):
        return "%s %s -> %d %r" % (self.method, self.path, self.status, self.body[:300])


def encode_body(body):
    if body is None or isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


def call(srv, method, path, body=None, token=None, headers=None, conn=None):
    """One request; token None sends no Authorization.  conn: reuse it."""
    h = dict(headers or {})
    data = encode_body(body)
    if token is not None:
        h["Authorization"] = "Bearer " + token
    if data is not None:
        h.setdefault("Content-Type", "application/json")
    c = conn or srv.conn()
    try:
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        return Resp(method, path, r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        if conn is None:
            c.close()


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def expect(r, status):
    check(r.status == status, "%r: want %d" % (r, status))
    return r.json if r.body and r.headers.get("content-type", "").startswith("application/") else r.body


def expect_problem(r, status, slug=None, **fields):
    """A problem+json answer with type/title/status/detail."""
    check(r.status == status, "%r: want %d" % (r, status))
    check(r.headers.get("content-type", "").startswith("application/problem+json"),
          "%r: content-type %r" % (r, r.headers.get("content-type")))
    p = r.json
    check(isinstance(p, dict), "%r: problem is not an object" % r)
    for k in ("type", "title", "status", "detail"):
        check(k in p and p[k] not in ("", None), "%r: problem lacks %r" % (r, k))
    check(p["status"] == status, "%r: body status %r" % (r, p["status"]))
    if slug is not None:
        check(p["type"] == "/problems/" + slug, "%r: type %r, want /problems/%s" % (r, p["type"], slug))
    for k, v in fields.items():
        check(p.get(k) == v, "%r: %s=%r, want %r" % (r, k, p.get(k), v))
    return p


class Heap:
    """A heap on a server, with its token."""

    def __init__(self, srv, hid, token, name=None):
        self.srv, self.id, self.token, self.name = srv, hid, token, name
        self.base = "/v1/heaps/" + hid

    def r(self, method, sub="", body=None, token="own", headers=None, conn=None):
        return call(self.srv, method, self.base + sub, body,
                    token=self.token if token == "own" else token, headers=headers, conn=conn)

    def create(self, type_, status=201, **fields):
        body = dict(fields, type=type_)
        r = self.r("POST", "/objects", body)
        j = expect(r, status)
        if status == 201 and j.get("alive"):
            check(r.headers.get("location") == "%s/objects/%d" % (self.base, j["id"]),
                  "%r: Location %r" % (r, r.headers.get("location")))
        return j

    def obj(self, oid):
        return expect(self.r("GET", "/objects/%d" % oid), 200)

    def names(self):
        return expect(self.r("GET", "/names"), 200)["names"]

    def info(self):
        return expect(self.r("GET"), 200)

    def count(self):
        return self.info()["objects"]

    def next_seq(self):
        """The seq the next event will get."""
        since = 0
        while True:
            j = expect(self.r("GET", "/events?since=%d&limit=10000" % since), 200)
            if not j["events"]:
                return j["next"]
            since = j["next"]

    def events(self, since=0):
        out = []
        while True:
            j = expect(self.r("GET", "/events?since=%d&limit=10000" % since), 200)
            out += j["events"]
            if not j["events"]:
                return out
            since = j["next"]

    def ref(self, oid, status=200, **body):
        return expect(self.r("POST", "/objects/%d/refs" % oid, body), status)

    def unref(self, oid, query, status=200):
        return expect(self.r("DELETE", "/objects/%d/refs?%s" % (oid, query)), status)

    def bind(self, name, oid):
        return expect(self.r("PUT", "/names/" + name, {"id": oid}), 200)

    def unbind(self, name):
        expect(self.r("DELETE", "/names/" + name), 204)

    def collect(self, generation=None):
        body = {} if generation is None else {"generation": generation}
        return expect(self.r("POST", "/gc/collect", body), 200)

    def check(self):
        r = self.r("GET", "/check")
        check(r.status == 200 and r.json == {"ok": True}, "heap %s check failed: %r" % (self.id, r))

    def snapshot(self):
        i = self.info()
        return {"names": self.names(), "objects": i["objects"], "bytes": i["bytes"]}


def new_heap(srv, body=None, status=201):
    r = call(srv, "POST", "/v1/heaps", body if body is not None else {})
    j = expect(r, status)
    if status != 201:
        return r
    return Heap(srv, j["id"], j["token"], j.get("name"))


def kinds(events):
    return [e["kind"] for e in events]


def find(events, kind, pred=lambda e: True):
    for i, e in enumerate(events):
        if e["kind"] == kind and pred(e):
            return i
    return -1


def python_sizes(code):
    """Runs code in CPython 3.11, the version heaplab models (python3.11 if installed, else
    python3), and returns the JSON object it prints."""
    exe = shutil.which("python3.11") or shutil.which("python3") or sys.executable
    p = subprocess.run([exe, "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"],
                       capture_output=True, text=True, timeout=30)
    check(p.stdout.split() == ["3", "11"], "%s is Python %s; heaplab models CPython 3.11" % (exe, p.stdout.strip()))
    p = subprocess.run([exe, "-c", code], capture_output=True, text=True, timeout=30)
    check(p.returncode == 0, "%s failed: %s" % (exe, p.stderr))
    return json.loads(p.stdout)


# ---------------------------------------------------------------- case 1: the whole contract


def t_heaps_lifecycle(ctx):
    s = ctx["main"]
    r = call(s, "POST", "/v1/heaps", {"name": "contract"})  # no token needed
    j = expect(r, 201)
    check(set(j) >= {"id", "token", "name"}, "create answer %r" % j)
    check(j["name"] == "contract", "name %r" % j)
    check(re.fullmatch(r"[0-9a-f]{64}", j["token"]), "token %r is not 256-bit hex" % j["token"])
    check(r.headers.get("location") == "/v1/heaps/" + j["id"], "Location %r" % r.headers.get("location"))
    h = Heap(s, j["id"], j["token"])
    info = h.info()
    for k in ("id", "name", "objects", "bytes", "names", "gc", "memory"):
        check(k in info, "GET heap lacks %r: %r" % (k, info))
    check(info["id"] == h.id and info["name"] == "contract" and info["objects"] == 0 and info["names"] == 0,
          "fresh heap %r" % info)
    check(info["gc"]["thresholds"] == [700, 10, 10] and info["gc"]["enabled"] is True, "gc %r" % info["gc"])
    check(set(info["memory"]) >= {"arenas_in_use", "pools_in_use", "bytes_in_use", "large_blocks"},
          "memory summary %r" % info["memory"])
    # an empty body is fine too
    h2 = new_heap(s, b"")
    lst = expect(call(s, "GET", "/v1/heaps", token=ADMIN), 200)["heaps"]
    ids = {e["id"]: e for e in lst}
    check(h.id in ids and h2.id in ids, "admin list %r lacks the new heaps" % lst)
    check(set(ids[h.id]) >= {"id", "name", "objects", "bytes"} and ids[h.id]["name"] == "contract",
          "list entry %r" % ids[h.id])
    h.create("list", name="x")
    h.check()
    check(h.info()["objects"] == 1 and h.info()["names"] == 1, "one object, one name")
    r = h.r("DELETE")
    check(r.status == 204 and r.body == b"", "%r: want 204 with no body" % r)
    expect_problem(h.r("GET"), 404, "no-such-heap")
    expect_problem(h.r("GET", "/objects"), 404, "no-such-heap")
    expect_problem(h.r("DELETE"), 404, "no-such-heap")
    lst = expect(call(s, "GET", "/v1/heaps", token=ADMIN), 200)["heaps"]
    check(h.id not in {e["id"] for e in lst}, "deleted heap still listed")
    expect(h2.r("DELETE", token=ADMIN), 204)


def t_object_types(ctx):
    h = new_heap(ctx["main"], {"name": "types"})
    i = h.create("int", value=1000, name="i")
    check(i["type"] == "int" and i["value"] == 1000 and i["alive"] is True and i["refcount"] == 1 and
          i["tracked"] is False, "int %r" % i)
    neg = h.create("int", value=-(2 ** 63), name="neg")
    check(neg["value"] == -(2 ** 63), "int64 min %r" % neg)
    f = h.create("float", value=1.5, name="f")
    check(f["type"] == "float" and f["value"] == 1.5, "float %r" % f)
    s = h.create("str", value="h\u00e9llo \u20ac \U0001F600", name="s")
    check(s["type"] == "str" and s["value"] == "h\u00e9llo \u20ac \U0001F600", "str %r" % s)
    b = h.create("bytes", value="abc", name="b")
    check(b["type"] == "bytes" and b["value"] == "abc", "bytes value %r" % b)
    bz = h.create("bytes", size=10, name="bz")
    check(bz["type"] == "bytes" and bz["value"] == "\0" * 10 and bz["length"] == 10, "bytes size %r" % bz)
    big = h.create("bytes", size=100000, name="big")
    check(big["size_class"] is None, "a 100 kB bytes is not a small block: %r" % {k: big[k] for k in big if k != "value"})
    t = h.create("tuple", items=[i["id"], f["id"]], name="t")
    check(t["type"] == "tuple" and t["items"] == [i["id"], f["id"]] and t["length"] == 2, "tuple %r" % t)
    lst = h.create("list", items=[i["id"], s["id"], i["id"]], name="l")
    check(lst["items"] == [i["id"], s["id"], i["id"]] and lst["tracked"] is True, "list %r" % lst)
    d = h.create("dict", items={"a": i["id"], "b": s["id"]}, name="d")
    check(d["type"] == "dict" and d["items"] == {"a": i["id"], "b": s["id"]}, "dict %r" % d)
    st = h.create("set", items=[i["id"], s["id"], i["id"]], name="st")
    check(st["type"] == "set" and sorted(st["items"]) == sorted([i["id"], s["id"]]) and st["length"] == 2,
          "set %r" % st)
    inst = h.create("instance", **{"class": "Point", "attrs": {"x": i["id"], "y": f["id"]}, "finalizer": True,
                                   "name": "p"})
    check(inst["type"] == "instance" and inst["class"] == "Point" and
          inst["attrs"] == {"x": i["id"], "y": f["id"]} and inst["finalizer"] is True and
          inst["finalized"] is False, "instance %r" % inst)
    res = h.create("instance", **{"class": "Phoenix", "finalizer": {"resurrect": "back"}, "name": "phoenix"})
    check(res["finalizer"] is True, "resurrecting instance %r" % res)
    plain = h.create("instance", name="plain")
    check(plain["type"] == "instance" and plain["finalizer"] is False, "plain instance %r" % plain)
    # i is held by its name, t, l (twice), d, st and p
    gi = h.obj(i["id"])
    check(gi["refcount"] == 7, "int refcount %d, want 7" % gi["refcount"])
    check(sorted(gi["referrers"]) == sorted([t["id"], lst["id"], d["id"], st["id"], inst["id"]]),
          "referrers %r" % gi["referrers"])
    check(gi["names"] == ["i"], "names %r" % gi["names"])
    # unnamed objects die at once (refcount 0), like a CPython temporary
    tmp = h.create("list")
    check(tmp["alive"] is False and tmp["refcount"] == 0, "unnamed object %r" % tmp)
    # the resurrecting finalizer: dying binds 'back' again, and PEP 442 runs it only once
    seq = h.next_seq()
    h.unbind("phoenix")
    back = h.obj(res["id"])
    check(back["finalized"] is True and h.names().get("back") == res["id"], "resurrected %r" % back)
    h.unbind("back")
    ev = h.events(seq)
    check(kinds(ev) == ["finalize", "resurrect", "free"], "resurrection events %r" % ev)
    expect_problem(h.r("GET", "/objects/%d" % res["id"]), 404, "object-freed")
    # weakrefs are made at /weakrefs, not /objects
    expect_problem(h.r("POST", "/objects", {"type": "weakref"}), 400)
    h.check()


def t_object_shape(ctx):
    h = new_heap(ctx["main"])
    i = h.create("int", value=123456, name="i")
    l = h.create("list", items=[i["id"]], name="l")
    for oid, atom in ((i["id"], True), (l["id"], False)):
        o = h.obj(oid)
        want = {"id", "type", "refcount", "size", "alive", "tracked", "generation", "address", "size_class",
                "referents", "referrers", "names"}
        check(set(o) >= want, "object %d lacks %r" % (oid, want - set(o)))
        check(("value" in o) == atom, "value present=%r for %r" % ("value" in o, o))
        check(o["id"] == oid and o["alive"] is True and isinstance(o["size"], int) and o["size"] > 0,
              "object %r" % o)
        check(re.fullmatch(r"0x[0-9a-f]+", o["address"]), "address %r" % o["address"])
        check(isinstance(o["size_class"], int) and 0 <= o["size_class"] < 32, "size_class %r" % o["size_class"])
        check((o["size"] + 15) // 16 - 1 == o["size_class"], "size %d in class %d" % (o["size"], o["size_class"]))
    oi, ol = h.obj(i["id"]), h.obj(l["id"])
    check(oi["value"] == 123456 and oi["generation"] is None and oi["tracked"] is False, "int %r" % oi)
    check(oi["referrers"] == [l["id"]] and oi["referents"] == [] and oi["refcount"] == 2, "int refs %r" % oi)
    check(ol["referents"] == [i["id"]] and ol["referrers"] == [] and ol["names"] == ["l"] and
          ol["generation"] == 0 and ol["tracked"] is True, "list %r" % ol)
    expect_problem(h.r("GET", "/objects/%d" % 999), 404, "no-such-object")
    h.check()


def t_listing(ctx):
    h = new_heap(ctx["main"])
    lists = [h.create("list", name="l%d" % k)["id"] for k in range(7)]
    ints = [h.create("int", value=5000 + k, name="i%d" % k)["id"] for k in range(3)]
    full = expect(h.r("GET", "/objects?limit=1000"), 200)
    check(full["next"] is None, "one page holds everything: %r" % full["next"])
    all_ids = [o["id"] for o in full["objects"]]
    check(all_ids == sorted(lists + ints), "listing %r" % all_ids)
    for o in full["objects"]:
        check(set(o) >= {"id", "type", "refcount", "size", "alive"}, "listed object %r" % o)
    only = expect(h.r("GET", "/objects?type=list"), 200)
    check([o["id"] for o in only["objects"]] == lists and all(o["type"] == "list" for o in only["objects"]),
          "type=list %r" % only)
    only = expect(h.r("GET", "/objects?type=int&limit=2"), 200)
    got = [o["id"] for o in only["objects"]]
    while only["next"] is not None:
        only = expect(h.r("GET", "/objects?type=int&limit=2&cursor=%d" % only["next"]), 200)
        got += [o["id"] for o in only["objects"]]
    check(got == ints, "paged type=int %r" % got)
    for limit in (1, 3, 10):
        got, cursor, pages = [], None, 0
        while True:
            q = "/objects?limit=%d" % limit + ("&cursor=%d" % cursor if cursor else "")
            page = expect(h.r("GET", q), 200)
            check(len(page["objects"]) <= limit, "page over limit")
            got += [o["id"] for o in page["objects"]]
            pages += 1
            cursor = page["next"]
            if cursor is None:
                break
            check(pages < 50, "paging does not end")
        check(got == all_ids, "limit=%d paging %r" % (limit, got))
    for q in ("type=bogus", "limit=0", "limit=1001", "limit=x", "cursor=abc", "cursor=-1"):
        expect_problem(h.r("GET", "/objects?" + q), 400, "invalid-query")
    h.check()


def t_refs(ctx):
    h = new_heap(ctx["main"])
    a, b, c = (h.create("int", value=7000 + k, name=n)["id"] for k, n in enumerate("abc"))
    L = h.create("list", name="L")["id"]
    r = h.ref(L, target=a)
    check(r["id"] == L and r["length"] == 1 and r["target"] == {"id": a, "alive": True, "refcount": 2},
          "append %r" % r)
    h.ref(L, target=b)
    r = h.ref(L, target=c, index=0)  # L[0] = c
    check(r["length"] == 2 and h.obj(L)["items"] == [c, b] and h.obj(a)["refcount"] == 1, "L[0] = c: %r" % r)
    h.ref(L, target=a, index=-1)  # L[-1] = a
    check(h.obj(L)["items"] == [c, a], "L[-1] = a")
    expect_problem(h.r("POST", "/objects/%d/refs" % L, {"target": a, "index": 5}), 404, "index-error")
    h.unref(L, "index=0")
    check(h.obj(L)["items"] == [a] and h.obj(c)["refcount"] == 1, "del L[0]")
    h.ref(L, target=b)
    r = h.unref(L, "target=%d" % a)  # L.remove(a)
    check(h.obj(L)["items"] == [b] and r["target"]["refcount"] == 1, "L.remove(a): %r" % r)
    expect_problem(h.r("DELETE", "/objects/%d/refs?target=%d" % (L, a)), 404)
    D = h.create("dict", name="D")["id"]
    r = h.ref(D, target=a, key="k")
    check(h.obj(D)["items"] == {"k": a} and r["target"]["refcount"] == 2, "D['k'] = a: %r" % r)
    h.ref(D, target=b, key="k")
    check(h.obj(D)["items"] == {"k": b} and h.obj(a)["refcount"] == 1, "D['k'] = b")
    expect_problem(h.r("POST", "/objects/%d/refs" % D, {"target": a}), 400, "invalid-field")
    h.unref(D, "key=k")
    check(h.obj(D)["items"] == {}, "del D['k']")
    expect_problem(h.r("DELETE", "/objects/%d/refs?key=k" % D), 404, "key-error")
    S = h.create("set", name="S")["id"]
    h.ref(S, target=a)
    h.ref(S, target=a)
    r = h.ref(S, target=b)
    check(sorted(h.obj(S)["items"]) == sorted([a, b]) and r["length"] == 2, "S.add: %r" % r)
    h.unref(S, "target=%d" % a)
    check(h.obj(S)["items"] == [b] and h.obj(a)["refcount"] == 1, "S.remove(a)")
    expect_problem(h.r("DELETE", "/objects/%d/refs?target=%d" % (S, a)), 404)
    expect_problem(h.r("POST", "/objects/%d/refs" % S, {"target": L}), 409, "unhashable")
    I = h.create("instance", **{"class": "Node", "name": "I"})["id"]
    h.ref(I, target=a, attr="x")
    check(h.obj(I)["attrs"] == {"x": a}, "I.x = a")
    expect_problem(h.r("POST", "/objects/%d/refs" % I, {"target": a}), 400, "invalid-field")
    h.unref(I, "attr=x")
    check(h.obj(I)["attrs"] == {} and h.obj(a)["refcount"] == 1, "del I.x")
    expect_problem(h.r("DELETE", "/objects/%d/refs?attr=x" % I), 404, "attribute-error")
    T = h.create("tuple", items=[a], name="T")["id"]
    expect_problem(h.r("POST", "/objects/%d/refs" % T, {"target": b}), 409, "immutable")
    expect_problem(h.r("POST", "/objects/%d/refs" % a, {"target": b}), 409, "immutable")
    expect_problem(h.r("DELETE", "/objects/%d/refs" % L), 400, "invalid-field")  # which reference?
    expect_problem(h.r("DELETE", "/objects/%d/refs?index=0&target=%d" % (L, b)), 400, "invalid-field")
    # a self-reference: the lesson in the README
    check(h.ref(L, target=L)["refcount"] == 2, "L.append(L)")
    h.unbind("L")
    check(h.obj(L)["refcount"] == 1, "cycle survives del")
    check(h.collect()["collected"] >= 1, "collect reclaims the cycle")
    expect_problem(h.r("GET", "/objects/%d" % L), 404, "object-freed")
    h.check()


def t_names(ctx):
    h = new_heap(ctx["main"])
    x = h.create("list", name="x")["id"]
    y = h.create("dict", name="y")["id"]
    r = h.bind("z", x)
    check(r == {"name": "z", "id": x}, "PUT %r" % r)
    check(expect(h.r("GET", "/names/z"), 200) == {"name": "z", "id": x}, "GET name")
    check(h.names() == {"x": x, "y": y, "z": x}, "names %r" % h.names())
    check(h.obj(x)["refcount"] == 2 and sorted(h.obj(x)["names"]) == ["x", "z"], "two names")
    h.bind("z", y)  # rebinding moves the reference
    check(h.obj(x)["refcount"] == 1 and h.obj(y)["refcount"] == 2, "rebinding")
    h.unbind("z")
    expect_problem(h.r("GET", "/names/z"), 404, "name-error")
    expect_problem(h.r("DELETE", "/names/z"), 404, "name-error")
    expect_problem(h.r("PUT", "/names/q", {"id": 9999}), 404, "no-such-object")
    expect_problem(h.r("PUT", "/names/q", {}), 400, "invalid-id")
    expect_problem(h.r("PUT", "/names/q", {"id": 0}), 400, "invalid-id")
    check(h.info()["names"] == 2, "two names left")
    h.unbind("x")
    expect_problem(h.r("GET", "/objects/%d" % x), 404, "object-freed")
    h.check()


def t_weakrefs(ctx):
    h = new_heap(ctx["main"])
    t = h.create("instance", **{"class": "T", "name": "t"})["id"]
    s = h.create("set", name="s")["id"]
    r = h.r("POST", "/weakrefs", {"target": t, "callback": True, "name": "w"})
    w = expect(r, 201)
    check(w["type"] == "weakref" and w["target"] == t and w["callback"] is True and w["alive"] is True,
          "weakref %r" % w)
    check(h.obj(t)["refcount"] == 1, "a weak reference does not count")
    w2 = expect(h.r("POST", "/weakrefs", {"target": s, "name": "w2"}), 201)
    check(w2["callback"] is False and w2["target"] == s, "plain weakref %r" % w2)
    for bad in ({"target": h.create("int", value=4242, name="n")["id"]},
                {"target": h.create("list", name="nl")["id"]}):
        expect_problem(h.r("POST", "/weakrefs", bad), 409, "not-weakrefable")
    expect_problem(h.r("POST", "/weakrefs", {"target": t, "callback": 1}), 400, "invalid-field")
    expect_problem(h.r("POST", "/weakrefs", {"target": t, "bogus": 1}), 400, "unknown-field")
    expect_problem(h.r("GET", "/weakrefs"), 405)
    seq = h.next_seq()
    h.unbind("t")
    ev = h.events(seq)
    check(kinds(ev) == ["weakref_callback", "free"], "events %r" % ev)
    check(ev[0]["ids"] == [w["id"]] and ev[0]["target"] == t and ev[1]["ids"] == [t], "event ids %r" % ev)
    check(h.obj(w["id"])["target"] is None, "dead weakref target %r" % h.obj(w["id"]))
    seq = h.next_seq()
    h.unbind("s")
    check(kinds(h.events(seq)) == ["free"], "no callback for a plain weakref")
    h.check()


def t_gc(ctx):
    h = new_heap(ctx["main"], {"gc": {"thresholds": [500, 5, 5], "enabled": True}})
    g = expect(h.r("GET", "/gc"), 200)
    for k in ("enabled", "thresholds", "count", "stats", "frozen", "generation_sizes", "long_lived_total",
              "long_lived_pending", "last_collection"):
        check(k in g, "gc lacks %r: %r" % (k, g))
    check(g["thresholds"] == [500, 5, 5] and g["last_collection"] is None and len(g["stats"]) == 3, "gc %r" % g)
    g = expect(h.r("PATCH", "/gc", {"thresholds": [100, 3, 2], "enabled": False}), 200)
    check(g["thresholds"] == [100, 3, 2] and g["enabled"] is False, "PATCH %r" % g)
    g = expect(h.r("PATCH", "/gc", {"thresholds": [700]}), 200)
    check(g["thresholds"] == [700, 3, 2], "gc.set_threshold(700) keeps the rest: %r" % g["thresholds"])
    g = expect(h.r("PATCH", "/gc", {"enabled": True, "thresholds": [700, 10, 10]}), 200)
    check(g["enabled"] is True, "re-enabled")
    expect_problem(h.r("PATCH", "/gc", {"thresholds": [1, 2, 3, 4]}), 400, "invalid-field")
    expect_problem(h.r("PATCH", "/gc", {"enabled": "yes"}), 400, "invalid-field")
    # two cycles, then a young collection and a full one
    for n in ("c1", "c2"):
        c = h.create("list", name=n)["id"]
        h.ref(c, target=c)
        h.unbind(n)
    seq = h.next_seq()
    r = h.collect(0)
    check(r["generation"] == 0 and r["collected"] == 2 and r["automatic"] is False, "collect(0) %r" % r)
    for k in ("collected", "uncollectable", "generation", "duration_us", "examined", "automatic"):
        check(k in r, "collect answer lacks " + k)
    ev = h.events(seq)
    check(kinds(ev) == ["free", "collect"] and ev[0]["count"] == 2 and ev[1]["collected"] == 2 and
          ev[1]["generation"] == 0, "collect events %r" % ev)
    g = expect(h.r("GET", "/gc"), 200)
    check(g["stats"][0]["collections"] == 1 and g["stats"][0]["collected"] == 2 and
          g["last_collection"]["collected"] == 2, "gc stats %r" % g)
    keep = h.create("list", name="keep")["id"]
    h.create("list", name="keep2")
    h.create("dict", name="untracked")  # an empty dict is not tracked, as in CPython
    g = expect(h.r("POST", "/gc/freeze"), 200)
    check(g["frozen"] == 2 and g["generation_sizes"] == [0, 0, 0], "freeze %r" % g)
    check(h.obj(keep)["generation"] == "permanent", "frozen object generation %r" % h.obj(keep)["generation"])
    expect_problem(h.r("POST", "/gc/freeze", {"x": 1}), 400, "unknown-field")
    g = expect(h.r("POST", "/gc/unfreeze"), 200)
    check(g["frozen"] == 0 and g["generation_sizes"][2] == 2, "unfreeze %r" % g)
    r = h.collect()
    check(r["generation"] == 2 and r["collected"] == 0, "full collect %r" % r)
    expect_problem(h.r("POST", "/gc/collect", {"generation": 3}), 400, "invalid-field")
    expect_problem(h.r("GET", "/gc/collect"), 405)
    expect_problem(h.r("POST", "/gc/bogus"), 404)
    h.check()


def t_memory(ctx):
    h = new_heap(ctx["main"])
    for k in range(20):
        h.create("str", value="memory-%d" % k, name="m%d" % k)
    h.create("bytes", size=10000, name="large")
    m = expect(h.r("GET", "/memory"), 200)
    for k in ("arenas", "pools", "size_classes", "large", "bytes_in_use", "allocated_blocks", "overhead"):
        check(k in m, "memory lacks %r" % k)
    check(m["arenas"]["size"] == 1 << 20 and m["pools"]["size"] == 16 << 10, "arena/pool sizes %r" % m)
    # allocated_blocks counts like sys.getallocatedblocks(): pool blocks and large ones
    check(m["large"]["count"] == 1 and m["allocated_blocks"] == 21, "blocks %r" % m)
    check(m["bytes_in_use"] == h.info()["bytes"] == h.info()["memory"]["bytes_in_use"], "bytes disagree")
    check(sum(c["used_blocks"] for c in m["size_classes"]) == 20, "size classes %r" % m["size_classes"])
    check(m == expect(h.r("GET", "/memory?format=json"), 200), "format=json is the default")
    r = h.r("GET", "/memory?format=text")
    check(r.status == 200 and r.headers.get("content-type", "").startswith("text/plain"), "text %r" % r)
    text = r.body.decode()
    check("# arenas allocated current" in text and "# bytes in allocated blocks" in text, "text %r" % text[:400])
    # the text is sys._debugmallocstats(): "label = 1,234" rows, numbers with thousands separators
    rows = {k.strip(): int(v.strip().replace(",", "")) for k, v in re.findall(r"^([^=\n]+)=\s*([\d,]+)$", text, re.M)}
    small = m["bytes_in_use"] - m["large"]["bytes"]
    for label, want in (("# bytes in allocated blocks", small),
                        ("# bytes in available blocks", m["overhead"]["available_blocks"]),
                        ("# arenas allocated current", m["arenas"]["in_use"]),
                        ("# bytes lost to pool headers", m["overhead"]["pool_headers"]),
                        ("# bytes lost to quantization", m["overhead"]["quantization"]),
                        ("%d unused pools * 16384 bytes" % m["pools"]["empty"], m["overhead"]["unused_pools"])):
        check(rows.get(label) == want, "text %r = %r, JSON says %r" % (label, rows.get(label), want))
    expect_problem(h.r("GET", "/memory?format=xml"), 400, "invalid-query")
    h.check()


def t_batch(ctx):
    h = new_heap(ctx["main"])
    # "$N" names what op N created (an unnamed create dies at once, so name it)
    ops = [{"op": "create", "type": "list", "name": "lst"},
           {"op": "create", "type": "str", "value": "kept", "name": "s"},
           {"op": "ref", "id": "$0", "target": "$1"},
           {"op": "ref", "id": "$0", "target": "$0"},
           {"op": "bind", "name": "alias", "id": "$0"},
           {"op": "create", "type": "instance", "name": "obj"},
           {"op": "weakref", "target": "$5", "name": "w"},
           {"op": "create", "type": "dict", "items": {"k": "$1"}, "name": "d"},
           {"op": "unref", "id": "$0", "index": 1},
           {"op": "unbind", "name": "alias"},
           {"op": "gc", "thresholds": [700, 10, 10]},
           {"op": "collect", "generation": 0},
           {"op": "freeze"},
           {"op": "unfreeze"}]
    j = expect(h.r("POST", "/batch", {"ops": ops}), 200)
    res = j["results"]
    check(len(res) == len(ops), "results %r" % res)
    lst, s, obj, w, d = (res[k]["id"] for k in (0, 1, 5, 6, 7))
    check(res[6]["type"] == "weakref" and res[6]["target"] == obj, "weakref result %r" % res[6])
    check(res[9] is None and "collected" in res[11] and "frozen" in res[12], "results %r" % res[8:])
    want = {"lst": lst, "s": s, "obj": obj, "w": w, "d": d}
    check(h.names() == want, "names %r" % h.names())
    check(h.obj(lst)["items"] == [s] and h.obj(d)["items"] == {"k": s}, "batch structure")
    expect_problem(h.r("POST", "/batch", {"ops": [{"op": "ref", "id": "$0", "target": lst}]}), 400,
                   "invalid-reference", index=0)
    expect_problem(h.r("POST", "/batch", {"ops": [{"op": "explode"}]}), 400, "invalid-op", index=0)
    expect_problem(h.r("POST", "/batch", {"ops": [5]}), 400, "invalid-op", index=0)
    check(expect(h.r("POST", "/batch", {"ops": []}), 200) == {"results": []}, "empty batch")
    expect_problem(h.r("POST", "/batch", {"ops": {}}), 400, "invalid-body")
    expect_problem(h.r("POST", "/batch", {"ops": [], "x": 1}), 400, "invalid-body")
    expect_problem(h.r("POST", "/batch", {"ops": [{"op": "unbind", "name": "s", "x": 1}]}), 400,
                   "unknown-field", index=0)
    expect_problem(h.r("POST", "/batch", {"ops": [{"op": "weakref", "target": "$0"}]}), 400,
                   "invalid-reference", index=0)
    expect_problem(h.r("POST", "/batch", {"ops": [{"op": "weakref", "target": s}]}), 409, "not-weakrefable",
                   index=0)
    check(h.names() == want, "failed batches changed names")
    h.check()


def t_events_order(ctx):
    h = new_heap(ctx["main"])
    j = expect(h.r("GET", "/events"), 200)
    check(j == {"events": [], "next": 1}, "fresh events %r" % j)
    # an instance with a finalizer and a callback weakref dies by refcount: finalize, then the callback
    inst = h.create("instance", **{"class": "F", "finalizer": True, "name": "f"})["id"]
    w = expect(h.r("POST", "/weakrefs", {"target": inst, "callback": True, "name": "w"}), 201)["id"]
    h.unbind("f")
    ev = h.events(1)
    check(kinds(ev) == ["finalize", "weakref_callback", "free"], "refcount death %r" % ev)
    check(ev[0]["ids"] == [inst] and ev[1]["ids"] == [w] and ev[1]["target"] == inst and
          ev[2]["ids"] == [inst] and ev[2]["type"] == "instance" and ev[2]["count"] == 1, "ids %r" % ev)
    check([e["seq"] for e in ev] == [1, 2, 3], "seqs %r" % ev)
    for e in ev:
        check(isinstance(e["time_ms"], int) and e["time_ms"] > 1.5e12, "time_ms %r" % e)
    # the same in a cycle, dying by gc: callbacks first, then finalizers, then frees, then the collect record
    inst = h.create("instance", **{"class": "G", "finalizer": True, "name": "g"})["id"]
    h.ref(inst, target=inst, attr="me")
    w = expect(h.r("POST", "/weakrefs", {"target": inst, "callback": True, "name": "w2"}), 201)["id"]
    h.unbind("g")
    seq = h.next_seq()
    h.collect()
    ev = h.events(seq)
    check(kinds(ev) == ["weakref_callback", "finalize", "free", "collect"], "gc death %r" % ev)
    check(ev[3]["collected"] == 1 and ev[3]["generation"] == 2 and ev[3]["automatic"] is False, "collect %r" % ev)
    # a chain freed in one operation folds into one free record
    items = [h.create("int", value=90000 + k, name="k%d" % k)["id"] for k in range(12)]
    lst = h.create("list", items=items, name="chain")["id"]
    for k in range(12):
        h.unbind("k%d" % k)
    seq = h.next_seq()
    h.unbind("chain")
    ev = h.events(seq)
    check(kinds(ev) == ["free"] and ev[0]["count"] == 13 and len(ev[0]["ids"]) == 8 and
          ev[0]["id_min"] == min(items + [lst]) and ev[0]["id_max"] == max(items + [lst]), "folded %r" % ev)
    # since / limit paging
    allev = h.events(0)
    page = expect(h.r("GET", "/events?since=2&limit=2"), 200)
    check([e["seq"] for e in page["events"]] == [2, 3] and page["next"] == 4, "page %r" % page)
    check([e["seq"] for e in allev] == list(range(1, len(allev) + 1)), "seqs %r" % allev)
    for q in ("since=x", "since=-1", "limit=0", "limit=10001"):
        expect_problem(h.r("GET", "/events?" + q), 400, "invalid-query")
    h.check()


def t_missed_events(ctx):
    """A small event ring reports what a poller missed."""
    s = Server(ctx["binary"], ["--admin-token", ADMIN, "--event-ring", "4"]).start()
    try:
        h = new_heap(s)
        for k in range(6):
            h.create("list", name="x")  # rebinding frees the previous list
        j = expect(h.r("GET", "/events?since=1"), 200)
        check(len(j["events"]) == 4 and j["missed"] == {"from": 1, "to": 1} and j["next"] == 6, "missed %r" % j)
        h.check()
    finally:
        check(s.stop() == 0, "exit status %s" % s.proc.returncode)


# ---------------------------------------------------------------- case 2: sizes match CPython


def t_sizes_match_cpython(ctx):
    want = python_sizes(r"""
import json, sys
class C: pass
a, b, c = 1000, 2.5, 'xyz!'
lst3 = [a, b, c]
v = [10**6 + k for k in range(6)]
d6 = {'k0': v[0], 'k1': v[1], 'k2': v[2], 'k3': v[3], 'k4': v[4], 'k5': v[5]}
s5 = set()
for k in range(5):
    s5.add(10**6 + 100 + k)
l5 = []
for k in range(5):
    l5.append(a)
d8 = {}
for k in range(8):
    d8['key%d' % k] = a
inst = C(); inst.x = a; inst.y = b
out = {
  'int1000': sys.getsizeof(1000), 'int2**40': sys.getsizeof(2**40), 'float': sys.getsizeof(2.5),
  'str_ascii': sys.getsizeof('hello'), 'str_latin1': sys.getsizeof('h\xe9llo'),
  'str_ucs2': sys.getsizeof('h\u20acllo'), 'str_ucs4': sys.getsizeof('h\U0001F600llo'),
  'bytes10': sys.getsizeof(b'\0' * 10), 'tuple3': sys.getsizeof((a, b, c)),
  'list_empty': sys.getsizeof([]), 'list3': sys.getsizeof(lst3), 'list5appends': sys.getsizeof(l5),
  'dict_empty': sys.getsizeof({}), 'dict6': sys.getsizeof(d6), 'dict8sets': sys.getsizeof(d8),
  'set_empty': sys.getsizeof(set()), 'set5adds': sys.getsizeof(s5), 'instance': sys.getsizeof(inst),
}
print(json.dumps(out))
""")
    h = new_heap(ctx["main"])
    a = h.create("int", value=1000, name="a")
    b = h.create("float", value=2.5, name="b")
    c = h.create("str", value="xyz!", name="c")
    got = {"int1000": a["size"], "float": b["size"]}
    got["int2**40"] = h.create("int", value=2 ** 40, name="big")["size"]
    for key, text in (("str_ascii", "hello"), ("str_latin1", "h\xe9llo"), ("str_ucs2", "h\u20acllo"),
                      ("str_ucs4", "h\U0001F600llo")):
        got[key] = h.create("str", value=text, name=key)["size"]
    got["bytes10"] = h.create("bytes", size=10, name="b10")["size"]
    abc = [a["id"], b["id"], c["id"]]
    got["tuple3"] = h.create("tuple", items=abc, name="t3")["size"]
    got["list_empty"] = h.create("list", name="le")["size"]
    got["list3"] = h.create("list", items=abc, name="l3")["size"]
    l5 = h.create("list", name="l5")["id"]
    for _ in range(5):
        h.ref(l5, target=a["id"])
    got["list5appends"] = h.obj(l5)["size"]
    got["dict_empty"] = h.create("dict", name="de")["size"]
    v = [h.create("int", value=10 ** 6 + k, name="v%d" % k)["id"] for k in range(6)]
    got["dict6"] = h.create("dict", items={"k%d" % k: v[k] for k in range(6)}, name="d6")["size"]
    d8 = h.create("dict", name="d8")["id"]
    for k in range(8):
        h.ref(d8, target=a["id"], key="key%d" % k)
    got["dict8sets"] = h.obj(d8)["size"]
    got["set_empty"] = h.create("set", name="se")["size"]
    s5 = h.create("set", name="s5")["id"]
    for k in range(5):
        m = h.create("int", value=10 ** 6 + 100 + k, name="m%d" % k)["id"]
        h.ref(s5, target=m)
    got["set5adds"] = h.obj(s5)["size"]
    got["instance"] = h.create("instance", **{"class": "C", "attrs": {"x": a["id"], "y": b["id"]},
                                              "name": "inst"})["size"]
    bad = {k: (got.get(k), want[k]) for k in want if got.get(k) != want[k]}
    check(not bad, "heaplab vs sys.getsizeof (got, want): %r" % bad)
    h.check()


# ---------------------------------------------------------------- case 3: auth


def t_auth(ctx):
    s = ctx["main"]
    A, B = new_heap(s, {"name": "A"}), new_heap(s, {"name": "B"})
    A.create("list", name="x")
    expect_problem(A.r("GET", token=None), 401, "unauthorized")
    expect_problem(A.r("GET", headers={"Authorization": "Basic dXNlcjpwYXNz"}, token=None), 401, "unauthorized")
    for sub in ("", "/objects", "/names", "/check", "/events", "/memory", "/gc"):
        expect_problem(A.r("GET", sub, token=B.token), 403, "forbidden")
        expect_problem(A.r("GET", sub, token="0" * 64), 403, "forbidden")
        expect_problem(A.r("GET", sub, token=None), 401, "unauthorized")
    expect_problem(A.r("POST", "/objects", {"type": "list", "name": "evil"}, token=B.token), 403)
    expect_problem(A.r("DELETE", "/names/x", token=B.token), 403)
    expect_problem(A.r("DELETE", token=B.token), 403)
    expect_problem(A.r("DELETE", token=None), 401)
    expect_problem(A.r("GET", "/events", token=B.token, headers={"Accept": "text/event-stream"}), 403)
    expect_problem(A.r("GET", token=ADMIN[:-1]), 403)
    expect_problem(A.r("GET", token=ADMIN + "x"), 403)
    check(A.names() == {"x": A.obj(A.names()["x"])["id"]}, "A unchanged")
    # the admin token opens any heap; lowercase "bearer" is fine (auth schemes are case-insensitive)
    check(expect(A.r("GET", token=ADMIN), 200)["id"] == A.id, "admin GET")
    check(expect(B.r("GET", token=ADMIN), 200)["id"] == B.id, "admin GET B")
    check(expect(A.r("GET", token=None, headers={"Authorization": "bearer " + A.token}), 200)["id"] == A.id,
          "lowercase bearer")
    expect(A.r("POST", "/objects", {"type": "list", "name": "y"}, token=ADMIN), 201)
    # POST /v1/heaps needs no token; listing needs the admin token
    new_heap(s)
    expect_problem(call(s, "GET", "/v1/heaps"), 401, "unauthorized")
    expect_problem(call(s, "GET", "/v1/heaps", token=A.token), 403, "forbidden")
    expect_problem(call(s, "GET", "/v1/heaps", token="nope"), 403, "forbidden")
    expect(call(s, "GET", "/v1/heaps", token=ADMIN), 200)
    # a deleted heap's token opens nothing
    expect(B.r("DELETE", token=ADMIN), 204)
    expect_problem(B.r("GET"), 404, "no-such-heap")
    expect_problem(A.r("GET", token=B.token), 403)
    A.check()


def t_auth_challenge(ctx):
    # Every 401 carries "WWW-Authenticate: Bearer" (RFC 9110 section 11.6.1).
    s = ctx["main"]
    A = new_heap(s)
    for label, r in (("no token", A.r("GET", token=None)),
                     ("Basic", A.r("GET", headers={"Authorization": "Basic dXNlcjpwYXNz"}, token=None)),
                     ("list heaps", call(s, "GET", "/v1/heaps")),
                     ("stream", A.r("GET", "/events", token=None, headers={"Accept": "text/event-stream"}))):
        expect_problem(r, 401, "unauthorized")
        check(r.headers.get("www-authenticate", "").startswith("Bearer"),
              "%s: 401 without WWW-Authenticate: Bearer (headers %r)" % (label, sorted(r.headers)))
    r = A.r("GET", token=A.token + "0")
    expect_problem(r, 403, "forbidden")
    check("www-authenticate" not in r.headers or r.headers["www-authenticate"].startswith("Bearer"),
          "403 challenge %r" % r.headers.get("www-authenticate"))


# ---------------------------------------------------------------- case 4: limits


def t_limit_max_objects(ctx):
    h = new_heap(ctx["main"], {"limits": {"max_objects": 5}})
    ids = [h.create("list", name="l%d" % k)["id"] for k in range(5)]
    before = h.snapshot()
    p = expect_problem(h.r("POST", "/objects", {"type": "list", "name": "l5"}), 507, "memory-error")
    check("5" in p["detail"] or "limit" in p["detail"].lower(), "detail %r" % p["detail"])
    expect_problem(h.r("POST", "/objects", {"type": "int", "value": 99999, "name": "l0"}), 507, "memory-error")
    p = expect_problem(h.r("POST", "/batch", {"ops": [{"op": "create", "type": "dict", "name": "z"}]}), 507,
                       "memory-error", index=0)
    check(h.snapshot() == before and h.count() == 5, "heap changed by refused creates")
    check(h.names()["l0"] == ids[0], "l0 was not rebound")
    h.check()
    h.unbind("l4")
    h.create("list", name="l5")
    check(h.count() == 5, "room again after a free")
    h.check()
    for bad in ({"limits": {"max_objects": 0}}, {"limits": {"max_objects": "5"}}, {"limits": 5},
                {"limits": {"max_objects": -1}}):
        expect_problem(call(ctx["main"], "POST", "/v1/heaps", bad), 400, "invalid-field")


def t_limit_max_bytes(ctx):
    h = new_heap(ctx["main"], {"limits": {"max_bytes": 4096}})
    h.create("bytes", size=1000, name="a")
    before = h.snapshot()
    expect_problem(h.r("POST", "/objects", {"type": "bytes", "size": 5000, "name": "b"}), 507, "memory-error")
    check(h.snapshot() == before, "heap changed by a refused create")
    h.check()


def t_limit_server(ctx):
    s = Server(ctx["binary"], ["--admin-token", ADMIN, "--max-body", "1024", "--max-heaps", "2"]).start()
    try:
        # exactly 1024 bytes is fine
        body = b'{"name": "one"}'
        body += b" " * (1024 - len(body))
        r = call(s, "POST", "/v1/heaps", body)
        h1 = expect(r, 201)
        # one byte more: 413, decided from Content-Length before the body is read
        r = call(s, "POST", "/v1/heaps", body + b" ")
        expect_problem(r, 413)
        with socket.create_connection(("127.0.0.1", s.port), timeout=5) as c:
            c.sendall(b"POST /v1/heaps HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 2000\r\n\r\n")
            raw = read_head(c)
            check(raw.startswith(b"HTTP/1.1 413"), "413 before the body: %r" % raw[:100])
        hb = Heap(s, h1["id"], h1["token"])
        r = hb.r("POST", "/objects", {"type": "str", "value": "x" * 2000, "name": "s"})
        expect_problem(r, 413)
        check(hb.count() == 0, "an oversized body changed the heap")
        hb.check()
        h2 = new_heap(s, {"name": "two"})
        r = call(s, "POST", "/v1/heaps", {"name": "three"})
        expect_problem(r, 503, "too-many-heaps")
        check(len(expect(call(s, "GET", "/v1/heaps", token=ADMIN), 200)["heaps"]) == 2, "two heaps")
        expect(h2.r("DELETE"), 204)
        new_heap(s, {"name": "three"})
        expect_problem(call(s, "POST", "/v1/heaps", {}), 503, "too-many-heaps")
        hb.check()
    finally:
        code = s.stop()
    check(code == 0, "exit status %s" % code)


def read_head(sock, seconds=5):
    raw, deadline = b"", time.time() + seconds
    while b"\r\n\r\n" not in raw and time.time() < deadline:
        b = sock.recv(65536)
        if not b:
            break
        raw += b
    return raw


# ---------------------------------------------------------------- case 5: SSE


class SSE:
    """A raw-socket event stream, chunked encoding undone."""

    def __init__(self, srv, path, token):
        self.sock = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n"
                           "Authorization: Bearer %s\r\n\r\n" % (path, token)).encode())
        raw = read_head(self.sock)
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        self.chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
        self.raw, self.data, self.ended = rest, b"", False
        self._decode()

    def _decode(self):
        if not self.chunked:
            self.data += self.raw
            self.raw = b""
            return
        while True:
            line, sep, rest = self.raw.partition(b"\r\n")
            if not sep:
                return
            size = int(line.split(b";")[0], 16)
            if size == 0:
                self.ended = True
                self.raw = b""
                return
            if len(rest) < size + 2:
                return
            self.data += rest[:size]
            self.raw = rest[size + 2:]

    def read_until(self, pred, seconds):
        deadline = time.time() + seconds
        while not pred(self.data) and not self.ended and time.time() < deadline:
            self.sock.settimeout(max(0.02, deadline - time.time()))
            try:
                b = self.sock.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                b = b""
            if not b:
                self.ended = True
                break
            self.raw += b
            self._decode()
        return pred(self.data)

    def frames(self):
        out = []
        for block in self.data.decode().split("\n\n"):
            f = {}
            for line in block.split("\n"):
                if line.startswith(":") or not line:
                    continue
                k, _, v = line.partition(": ")
                f[k] = v
            if "event" in f:
                f["data"] = json.loads(f.get("data", "null"))
                out.append(f)
        return out

    def close(self):
        self.sock.close()


def frames_of(data):
    """The complete event frames in decoded stream bytes."""
    return [b for b in data.split(b"\n\n")[:-1] if (b"\n" + b).find(b"\nevent: ") >= 0]


def t_sse(ctx):
    s = ctx["main"]
    h = new_heap(s)
    st = SSE(s, h.base + "/events", h.token)
    try:
        check(st.status == 200 and st.headers.get("content-type", "").startswith("text/event-stream"),
              "stream %d %r" % (st.status, st.headers))
        other = s.conn()
        try:
            lst = expect(h.r("POST", "/objects", {"type": "list", "name": "a"}, conn=other), 201)["id"]
            t0 = time.time()
            expect(h.r("DELETE", "/names/a", conn=other), 204)
            check(st.read_until(lambda d: b"event: free\n" in d and d.endswith(b"\n\n"), 2.0),
                  "no free frame within 2 s: %r" % st.data)
            check(time.time() - t0 < 2.0, "free frame late")
            fr = st.frames()
            check(len(fr) == 1 and fr[0]["event"] == "free" and fr[0]["data"]["ids"] == [lst] and
                  int(fr[0]["id"]) == fr[0]["data"]["seq"], "free frame %r" % fr)
            check(not st.ended, "stream ended after one event")
            # a cycle, collected: free and collect frames on the same stream
            c = expect(h.r("POST", "/objects", {"type": "list", "name": "c"}, conn=other), 201)["id"]
            h.ref(c, target=c)
            expect(h.r("DELETE", "/names/c", conn=other), 204)
            expect(h.r("POST", "/gc/collect", {}, conn=other), 200)
            check(st.read_until(lambda d: b"event: collect\n" in d and d.endswith(b"\n\n"), 2.0),
                  "no collect frame within 2 s: %r" % st.data)
            fr = st.frames()
            check([f["event"] for f in fr] == ["free", "free", "collect"], "frames %r" % fr)
            check(fr[1]["data"]["ids"] == [c] and fr[2]["data"]["collected"] == 1, "frames %r" % fr)
            seqs = [int(f["id"]) for f in fr]
            check(seqs == sorted(seqs) and len(set(seqs)) == 3, "ids %r" % seqs)
            check(not st.ended, "stream ended after collect")
            # a second stream at the same time sees new events only
            st2 = SSE(s, h.base + "/events", ADMIN)
            try:
                expect(h.r("POST", "/objects", {"type": "dict", "name": "d"}, conn=other), 201)
                expect(h.r("DELETE", "/names/d", conn=other), 204)
                check(st2.read_until(lambda d: b"event: free\n" in d and d.endswith(b"\n\n"), 2.0),
                      "second stream: %r" % st2.data)
                check(len(st2.frames()) == 1, "second stream replayed history: %r" % st2.frames())
                check(st.read_until(lambda d: len(frames_of(d)) == 4, 2.0), "first stream missed it")
            finally:
                st2.close()
            h.check()
            # a stream resumes from ?since=
            st3 = SSE(s, h.base + "/events?since=1", h.token)
            try:
                check(st3.read_until(lambda d: len(frames_of(d)) == 4, 2.0), "since=1 replay %r" % st3.data)
            finally:
                st3.close()
            expect(h.r("DELETE", conn=other), 204)
        finally:
            other.close()
        check(st.read_until(lambda d: False, 3.0) is False and st.ended, "stream did not end with its heap")
    finally:
        st.close()
    r = call(s, "GET", "/v1/heaps/%s/events" % h.id, token=ADMIN, headers={"Accept": "text/event-stream"})
    expect_problem(r, 404, "no-such-heap")




def t_sse_auth(ctx):
    s = ctx["main"]
    h = new_heap(s)
    r = call(s, "GET", h.base + "/events", headers={"Accept": "text/event-stream"})
    expect_problem(r, 401, "unauthorized")


# ---------------------------------------------------------------- case 6: bad input


def fixture(srv):
    h = new_heap(srv, {"name": "fixture"})
    i = h.create("int", value=4711, name="i")["id"]
    l = h.create("list", items=[i], name="l")["id"]
    h.create("dict", items={"k": l}, name="d")
    gone = h.create("list", name="gone")["id"]
    h.unbind("gone")
    return h, l, gone


def raw_request(srv, data, seconds=5):
    with socket.create_connection(("127.0.0.1", srv.port), timeout=seconds) as c:
        c.sendall(data)
        raw = b""
        deadline = time.time() + seconds
        while time.time() < deadline:
            try:
                b = c.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not b:
                break
            raw += b
            head, sep, body = raw.partition(b"\r\n\r\n")
            m = re.search(rb"(?i)content-length:\s*(\d+)", head)
            if sep and m and len(body) >= int(m.group(1)):
                break
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    status = int(lines[0].split()[1]) if lines[0].startswith("HTTP/") else 0
    return Resp("RAW", data[:40], status, headers, body)


def t_bad_input(ctx):
    s = ctx["main"]
    h, l, gone = fixture(s)
    snap = h.snapshot()
    POST = lambda body, sub="/objects": h.r("POST", sub, body)  # noqa: E731

    cases = [
        ("malformed JSON", POST(b'{"type": "int", "value": }'), 400, "invalid-json"),
        ("truncated JSON", POST(b'{"type": "list"'), 400, "invalid-json"),
        ("JSON array body", POST(b'[{"type": "list"}]'), 400, "invalid-body"),
        ("JSON string body", POST(b'"list"'), 400, None),
        ("empty body", POST(b""), 400, "invalid-body"),
        ("type: 5", POST({"type": 5, "name": "q"}), 400, "invalid-field"),
        ("type: bogus", POST({"type": "frozenset", "name": "q"}), 400, "invalid-field"),
        ("items: x", POST({"type": "list", "items": "x", "name": "q"}), 400, "invalid-field"),
        ("items of strings", POST({"type": "list", "items": ["1"], "name": "q"}), 400, "invalid-id"),
        ("items of 0", POST({"type": "list", "items": [0], "name": "q"}), 400, "invalid-id"),
        ("$N outside a batch", POST({"type": "list", "items": ["$0"], "name": "q"}), 400, "invalid-id"),
        ("int value as string", POST({"type": "int", "value": "5", "name": "q"}), 400, "invalid-field"),
        ("float value as string", POST({"type": "float", "value": "1.5", "name": "q"}), 400, "invalid-field"),
        ("int with a float value", POST({"type": "int", "value": 1.5, "name": "q"}), 400, "invalid-field"),
        ("list with a value", POST({"type": "list", "value": 1, "name": "q"}), 400, "invalid-field"),
        ("bytes with size and value", POST({"type": "bytes", "size": 3, "value": "x", "name": "q"}), 400,
         "invalid-field"),
        ("bytes with negative size", POST({"type": "bytes", "size": -1, "name": "q"}), 400, "invalid-field"),
        ("attrs on a list", POST({"type": "list", "attrs": {}, "name": "q"}), 400, "invalid-field"),
        ("finalizer: 1", POST({"type": "instance", "finalizer": 1, "name": "q"}), 400, "invalid-field"),
        ("class: empty", POST({"type": "instance", "class": "", "name": "q"}), 400, "invalid-field"),
        ("name: 5", POST({"type": "list", "name": 5}), 400, "invalid-field"),
        ("name: empty", POST({"type": "list", "name": ""}), 400, "invalid-field"),
        ("generation: '2'", POST({"generation": "2"}, "/gc/collect"), 400, "invalid-field"),
        ("generation: -1", POST({"generation": -1}, "/gc/collect"), 400, "invalid-field"),
        ("gc enabled: 1", h.r("PATCH", "/gc", {"enabled": 1}), 400, "invalid-field"),
        ("thresholds: string", h.r("PATCH", "/gc", {"thresholds": "700"}), 400, "invalid-field"),
        ("thresholds: negative", h.r("PATCH", "/gc", {"thresholds": [-1]}), 400, "invalid-field"),
        ("unknown field (create)", POST({"type": "list", "name": "q", "colour": "red"}), 400, "unknown-field"),
        ("unknown field (collect)", POST({"gen": 1}, "/gc/collect"), 400, "unknown-field"),
        ("unknown field (gc)", h.r("PATCH", "/gc", {"threshold": [1]}), 400, "unknown-field"),
        ("unknown field (bind)", h.r("PUT", "/names/q", {"id": l, "x": 1}), 400, "unknown-field"),
        ("unknown field (ref)", POST({"target": l, "slot": 1}, "/objects/%d/refs" % l), 400, "unknown-field"),
        ("duplicate key", POST(b'{"type": "list", "name": "q", "name": "r"}'), 400, "invalid-json"),
        ("40-digit integer", POST(b'{"type": "int", "name": "q", "value": 1234567890123456789012345678901234567890}'),
         400, "invalid-json"),
        ("2**63", POST(b'{"type": "int", "name": "q", "value": 9223372036854775808}'), 400, "invalid-json"),
        ("1e400", POST(b'{"type": "float", "name": "q", "value": 1e400}'), 400, "invalid-json"),
        ("-1e400", POST(b'{"type": "float", "name": "q", "value": -1e400}'), 400, "invalid-json"),
        ("NaN", POST(b'{"type": "float", "name": "q", "value": NaN}'), 400, "invalid-json"),
        ("huge id", POST({"type": "list", "name": "q", "items": [10 ** 18]}), 404, "no-such-object"),
        ("freed id as item", POST({"type": "list", "name": "q", "items": [gone]}), 404, "no-such-object"),
        ("freed id as ref target", POST({"target": gone}, "/objects/%d/refs" % l), 404, "no-such-object"),
        ("freed object's refs", POST({"target": l}, "/objects/%d/refs" % gone), 404, "no-such-object"),
        ("bind to freed id", h.r("PUT", "/names/q", {"id": gone}), 404, "no-such-object"),
        ("weakref to freed id", POST({"target": gone}, "/weakrefs"), 404, "no-such-object"),
        ("never-used id", h.r("GET", "/objects/987654"), 404, "no-such-object"),
        ("never-used refs", POST({"target": l}, "/objects/987654/refs"), 404, "no-such-object"),
        ("deep nesting", POST(b"[" * 100000), 400, "invalid-json"),
        ("deep object nesting", POST(b'{"a":' * 50000), 400, "invalid-json"),
        ("invalid UTF-8 str", POST(b'{"type": "str", "name": "q", "value": "\xff\xfeab\xc3"}'), 400, "invalid-json"),
        ("overlong UTF-8", POST(b'{"type": "str", "name": "q", "value": "\xc0\xaf"}'), 400, "invalid-json"),
        ("lone surrogate escape", POST(b'{"type": "str", "name": "q", "value": "\\ud800"}'), 400, "invalid-json"),
        ("NUL in name", POST(b'{"type": "list", "name": "a\\u0000b"}'), 400, None),
        ("NUL in str value", POST(b'{"type": "str", "name": "q", "value": "a\\u0000b"}'), 400, None),
        ("NUL in weakref name", POST(b'{"target": %d, "name": "w\\u0000"}' % l, "/weakrefs"), 400, None),
        ("NUL in batch bind name", POST(b'{"ops": [{"op": "bind", "name": "l\\u0000x", "id": %d}]}' % l,
                                        "/batch"), 400, None),
        ("NUL in batch unbind name", POST(b'{"ops": [{"op": "unbind", "name": "l\\u0000x"}]}', "/batch"), 400, None),
        ("NUL in dict key", POST(b'{"target": %d, "key": "k\\u0000"}' % l, "/objects/%d/refs" % h.names()["d"]),
         400, None),
        ("/objects/-1", h.r("GET", "/objects/-1"), 404, "no-such-object"),
        ("/objects/0", h.r("GET", "/objects/0"), 404, "no-such-object"),
        ("/objects/abc", h.r("GET", "/objects/abc"), 404, "no-such-object"),
        ("/objects/1abc", h.r("GET", "/objects/1abc"), 404, "no-such-object"),
        ("/objects/+1", h.r("GET", "/objects/+1"), 404, "no-such-object"),
        ("/objects/0x1", h.r("GET", "/objects/0x1"), 404, "no-such-object"),
        ("/objects/2**64", h.r("GET", "/objects/18446744073709551616"), 404, "no-such-object"),
        ("/objects/-1/refs", POST({"target": l}, "/objects/-1/refs"), 404, "no-such-object"),
        ("/objects/abc/refs DELETE", h.r("DELETE", "/objects/abc/refs?index=0"), 404, "no-such-object"),
        ("refs index=abc", h.r("DELETE", "/objects/%d/refs?index=abc" % l), 400, "invalid-field"),
        ("refs target=-3", h.r("DELETE", "/objects/%d/refs?target=-3" % l), 400, "invalid-id"),
        ("refs index: '0'", POST({"target": l, "index": "0"}, "/objects/%d/refs" % l), 400, "invalid-field"),
        ("unknown route under heap", h.r("GET", "/bogus"), 404, "not-found"),
        ("unknown route under object", h.r("GET", "/objects/%d/bogus" % l), 404, "not-found"),
        ("too deep route", h.r("GET", "/objects/%d/refs/1" % l), 404, None),
        ("unknown heap", call(s, "GET", "/v1/heaps/nosuchheap/objects", token=ADMIN), 404, "no-such-heap"),
        ("unknown top route", call(s, "GET", "/v1/bogus", token=ADMIN), 404, None),
        ("very long path", call(s, "GET", "/v1/heaps/" + "a/" * 600, token=ADMIN), 404, None),
        ("many segments", call(s, "GET", h.base + "/objects" + "/x" * 10, token=ADMIN), 404, None),
    ]
    # oversized body: larger than --max-body, sent in full
    big = b'{"type": "str", "name": "q", "value": "' + b"x" * MAIN_MAX_BODY + b'"}'
    try:
        r = POST(big)
    except (BrokenPipeError, ConnectionResetError):
        r = raw_request(s, b"POST %s/objects HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                        b"Content-Length: %d\r\n\r\n" % (h.base.encode(), h.token.encode(), len(big)))
    cases.append(("oversized body", r, 413, None))
    failures = []
    for label, r, status, slug in cases:
        try:
            expect_problem(r, status, slug)
            check(s.proc.poll() is None, "the server died")
            h.check()
            now = h.snapshot()
            check(now == snap, "heap changed: %r -> %r" % (snap, now))
        except AssertionError as e:
            failures.append("%s: %s" % (label, e))
    p = expect_problem(h.r("POST", "/objects", b'{"type": "int",\n "value": }'), 400, "invalid-json")
    check(isinstance(p.get("position"), int) and p.get("line") == 2 and isinstance(p.get("column"), int),
          "malformed JSON problem lacks position/line/column: %r" % p)
    p = expect_problem(h.r("GET", "/objects/%d" % gone), 404, "object-freed")
    check("freed" in p["detail"] and p.get("freed") is True and isinstance(p.get("freed_at_seq"), int),
          "freed detail %r" % p)
    p = expect_problem(h.r("GET", "/objects/987654"), 404, "no-such-object")
    check("freed" not in p["detail"], "a never-used id is not 'freed': %r" % p["detail"])
    check(not failures, "%d bad inputs mishandled:\n    %s" % (len(failures), "\n    ".join(failures)))
    h.check()


def t_wrong_methods(ctx):
    s = ctx["main"]
    h, l, _ = fixture(s)
    snap = h.snapshot()
    cases = [
        ("PUT", "/v1/heaps", "GET, POST"),
        ("DELETE", "/v1/heaps", "GET, POST"),
        ("POST", h.base, "GET, DELETE"),
        ("PATCH", h.base, "GET, DELETE"),
        ("PUT", h.base + "/objects", "GET, POST"),
        ("DELETE", h.base + "/objects", "GET, POST"),
        ("POST", h.base + "/objects/%d" % l, "GET"),
        ("DELETE", h.base + "/objects/%d" % l, "GET"),
        ("GET", h.base + "/objects/%d/refs" % l, "POST, DELETE"),
        ("POST", h.base + "/names", "GET"),
        ("PATCH", h.base + "/names/l", "GET, PUT, DELETE"),
        ("POST", h.base + "/names/l", "GET, PUT, DELETE"),
        ("PUT", h.base + "/gc", "GET, PATCH"),
        ("GET", h.base + "/gc/freeze", "POST"),
        ("GET", h.base + "/batch", "POST"),
        ("DELETE", h.base + "/memory", "GET"),
        ("POST", h.base + "/events", "GET"),
        ("POST", h.base + "/check", "GET"),
        ("GET", h.base + "/weakrefs", "POST"),
    ]
    answers = [(method, path, allow, call(s, method, path, token=h.token)) for method, path, allow in cases]
    for method, path, allow, r in answers:
        p = expect_problem(r, 405, "method-not-allowed")
        check(allow in p["detail"], "%s %s: detail %r does not name %s" % (method, path, p["detail"], allow))
    check(h.snapshot() == snap, "wrong methods changed the heap")
    h.check()
    return answers


def t_allow_header(ctx):
    # Every 405 from /v1 carries the right Allow (RFC 9110 section 15.5.6).
    answers = t_wrong_methods(ctx)
    bad = ["%s %s: Allow %r, want %r" % (m, p, r.headers.get("allow"), allow)
           for m, p, allow, r in answers if r.headers.get("allow") != allow]
    check(not bad, "%d of %d 405s lack the right Allow:\n    %s" % (len(bad), len(answers), "\n    ".join(bad[:4])))


def t_nul_in_path_name(ctx):
    # A percent-encoded NUL must not cut a name short: PUT /names/l%00x must not
    # rebind 'l', DELETE /names/d%00x must not unbind 'd'.
    h, l, _ = fixture(ctx["main"])
    snap = h.snapshot()
    i = snap["names"]["i"]
    r1 = h.r("PUT", "/names/l%00x", {"id": i})
    r2 = h.r("DELETE", "/names/d%00x")
    now = h.snapshot()
    h.check()
    check(now == snap, "names with an encoded NUL changed other names: %r -> %r" % (snap["names"], now["names"]))
    check(400 <= r1.status < 500 and 400 <= r2.status < 500, "want 4xx: %r, %r" % (r1, r2))


def t_batch_partial(ctx):
    h, l, gone = fixture(ctx["main"])
    before = h.snapshot()
    ops = [{"op": "create", "type": "list", "name": "b0"},
           {"op": "create", "type": "int", "value": 8080, "name": "b1"},
           {"op": "ref", "id": "$0", "target": "$1"},
           {"op": "ref", "id": "$0", "target": gone},
           {"op": "create", "type": "list", "name": "never"}]
    p = expect_problem(h.r("POST", "/batch", {"ops": ops}), 404, "no-such-object", index=3, applied=3)
    check(len(p["results"]) == 3 and p["results"][0]["type"] == "list" and p["results"][2]["length"] == 1,
          "results %r" % p["results"])
    check("op 3" in p["detail"], "detail %r" % p["detail"])
    b0, b1 = p["results"][0]["id"], p["results"][1]["id"]
    names = h.names()
    check(names.get("b0") == b0 and names.get("b1") == b1 and "never" not in names, "names %r" % names)
    check(h.obj(b0)["items"] == [b1] and h.obj(b1)["refcount"] == 2, "ops 0..2 applied")
    check(h.count() == before["objects"] + 2, "count %d" % h.count())
    # a failing op 0 applies nothing; a bad $N fails at its index
    p = expect_problem(h.r("POST", "/batch", {"ops": [{"op": "create", "type": "list", "name": "z"},
                                                      {"op": "ref", "id": "$5", "target": "$0"}]}),
                       400, "invalid-reference", index=1, applied=1)
    check("z" in h.names(), "op 0 of the second batch stays applied")
    h.check()


# ---------------------------------------------------------------- case 7: concurrency


def t_concurrency(ctx):
    s = ctx["main"]
    heaps = [new_heap(s, {"name": "conc%d" % k}) for k in range(4)]
    errors, models = [], {}
    lock = threading.Lock()

    def worker(t):
        h = heaps[t % 4]
        rng = random.Random(1000 + t)
        names = {}           # name -> id
        contents = {}        # list id -> [ids]
        kinds_ = {}          # id -> "list" | "int"
        conn = s.conn()
        seq = 0

        def req(method, sub, body=None, status=200):
            r = h.r(method, sub, body, conn=conn)
            if r.status != status:
                raise AssertionError("thread %d: %r, want %d" % (t, r, status))
            return r.json if r.body else None

        def reachable():
            live, todo = set(), list(names.values())
            while todo:
                o = todo.pop()
                if o not in live:
                    live.add(o)
                    todo += contents.get(o, [])
            return live

        def refcount_of(oid):
            n = sum(1 for v in names.values() if v == oid)
            return n + sum(contents[o].count(oid) for o in reachable() if o in contents)

        try:
            for k in range(200):
                seq += 1
                choice = rng.random()
                lists = [n for n, v in names.items() if kinds_[v] == "list"]
                ints = [n for n, v in names.items() if kinds_[v] == "int"]
                if choice < 0.2 or not names:
                    name = "t%d_%d" % (t, seq)
                    if rng.random() < 0.5:
                        j = req("POST", "/objects", {"type": "list", "name": name}, 201)
                        kinds_[j["id"]], contents[j["id"]] = "list", []
                    else:
                        j = req("POST", "/objects", {"type": "int", "value": 10 ** 9 + t * 10 ** 6 + seq,
                                                     "name": name}, 201)
                        kinds_[j["id"]] = "int"
                    names[name] = j["id"]
                elif choice < 0.35 and lists and ints:
                    L, I = names[rng.choice(lists)], names[rng.choice(ints)]
                    req("POST", "/objects/%d/refs" % L, {"target": I})
                    contents[L].append(I)
                elif choice < 0.5:
                    name = rng.choice(sorted(names))
                    req("DELETE", "/names/" + name, None, 204)
                    del names[name]
                elif choice < 0.6:
                    oid = rng.choice(sorted(names.values()))
                    # every object this thread keeps is reachable from its names
                    j = req("GET", "/objects/%d" % oid)
                    if j["refcount"] != refcount_of(oid):
                        raise AssertionError("thread %d: object %d refcount %d, model %d" %
                                             (t, oid, j["refcount"], refcount_of(oid)))
                elif choice < 0.7:
                    name = "t%d_b%d" % (t, seq)
                    j = req("POST", "/batch", {"ops": [
                        {"op": "create", "type": "int", "value": 2 * 10 ** 9 + t * 10 ** 6 + seq,
                         "name": name + "i"},
                        {"op": "create", "type": "list", "items": ["$0", "$0"], "name": name + "l"},
                        {"op": "create", "type": "list", "name": name + "c"},
                        {"op": "ref", "id": "$2", "target": "$2"},
                        {"op": "unbind", "name": name + "c"}]})
                    i, lo = j["results"][0]["id"], j["results"][1]["id"]
                    kinds_[i], kinds_[lo], contents[lo] = "int", "list", [i, i]
                    names[name + "i"], names[name + "l"] = i, lo
                elif choice < 0.78:
                    req("POST", "/gc/collect", {"generation": rng.choice([0, 1, 2])})
                elif choice < 0.86:
                    req("GET", "/objects?limit=%d" % rng.randint(1, 50))
                elif choice < 0.92:
                    j = req("GET", "/check")
                    if j != {"ok": True}:
                        raise AssertionError("check %r" % j)
                else:
                    req("GET", "/events?limit=100")
                    req("GET", "")
            # what this thread keeps alive: everything reachable from its names
            with lock:
                models[t] = (len(reachable()), dict(names))
        except Exception as e:  # noqa: BLE001
            with lock:
                errors.append("thread %d: %s" % (t, e))
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    check(not any(th.is_alive() for th in threads), "threads still running")
    check(not errors, "; ".join(errors[:5]))
    for k, h in enumerate(heaps):
        h.collect()
        h.check()
        want_count = sum(models[t][0] for t in range(8) if t % 4 == k)
        want_names = {}
        for t in range(8):
            if t % 4 == k:
                want_names.update(models[t][1])
        got = h.info()
        check(got["objects"] == want_count, "heap %d: %d objects, threads keep %d" % (k, got["objects"], want_count))
        check(h.names() == want_names, "heap %d: names disagree" % k)


# ---------------------------------------------------------------- case 8: graceful shutdown


def read_http_response(sock, seconds=60):
    """Reads one whole response (Content-Length or chunked) or until the peer closes."""
    raw, deadline = b"", time.time() + seconds
    while time.time() < deadline:
        head, sep, payload = raw.partition(b"\r\n\r\n")
        if sep:
            m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            if m and len(payload) >= int(m.group(1)):
                break
            if re.search(rb"(?im)^transfer-encoding:\s*chunked", head) and payload.endswith(b"0\r\n\r\n"):
                break
        sock.settimeout(max(0.05, deadline - time.time()))
        try:
            b = sock.recv(1 << 20)
        except socket.timeout:
            break
        if not b:
            break
        raw += b
    head, _, payload = raw.partition(b"\r\n\r\n")
    if re.search(rb"(?im)^transfer-encoding:\s*chunked", head):
        out, rest = b"", payload
        while rest:
            size_s, _, rest = rest.partition(b"\r\n")
            size = int(size_s.split(b";")[0], 16)
            if size == 0:
                break
            out, rest = out + rest[:size], rest[size + 2:]
        payload = out
    return head, payload


def t_graceful_shutdown(ctx):
    """SIGTERM with two batches in flight: a 100,000-op one still uploading (its last
    byte held back until after the signal) and a 10,000-op one sent whole just before
    it.  Both complete with 200, then the process exits 0.  (No check afterwards: the
    server is gone; the results themselves show every op applied.)  The server gives
    in-flight requests 10 s (DRAIN_TIMEOUT_MS); these take well under 1 s unloaded."""
    s = Server(ctx["binary"], ["--admin-token", ADMIN]).start()
    try:
        h = new_heap(s)
        n = 100000

        def batch_body(name, base, count):
            ops = [{"op": "create", "type": "list", "name": name}]
            ops += [{"op": "create", "type": "int", "value": base + k} if k % 2 else
                    {"op": "ref", "id": "$0", "target": "$0"} for k in range(count - 1)]
            return json.dumps({"ops": ops}).encode()

        def start(body):
            c = socket.create_connection(("127.0.0.1", s.port), timeout=30)
            c.sendall(b"POST %s/batch HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                      b"Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                      % (h.base.encode(), h.token.encode(), len(body)))
            return c

        slow_body, fast_body = batch_body("slow", 10 ** 6, n), batch_body("fast", 2 * 10 ** 6, n // 10)
        slow = start(slow_body)
        slow.sendall(slow_body[:-1])
        fast = start(fast_body)
        fast.sendall(fast_body)
        time.sleep(0.02)
        s.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        check(s.proc.poll() is None, "exited (%s) with a request in flight" % s.proc.returncode)
        slow.sendall(slow_body[-1:])
        for label, c, count in (("uploading", slow, n), ("processing", fast, n // 10)):
            head, payload = read_http_response(c)
            c.close()
            check(head.startswith(b"HTTP/1.1 200"), "%s batch answered %r" % (label, head[:200]))
            res = json.loads(payload)["results"]
            check(len(res) == count, "%s batch: %d results" % (label, len(res)))
            check(res[-1]["refcount"] == count // 2 + 1 and res[-1]["length"] == count // 2,
                  "%s: %r" % (label, res[-1]))
        code = s.proc.wait(timeout=30)
        check(code == 0, "exit status %s after draining" % code)
    finally:
        s.kill()


def t_main_sigterm(ctx):
    code = ctx["main"].stop()
    check(code == 0, "exit status %s" % code)


TESTS = [t_heaps_lifecycle, t_object_types, t_object_shape, t_listing, t_refs, t_names, t_weakrefs, t_gc,
         t_memory, t_batch, t_events_order, t_missed_events, t_sizes_match_cpython, t_auth, t_auth_challenge, t_limit_max_objects,
         t_limit_max_bytes, t_limit_server, t_sse, t_sse_auth, t_bad_input, t_wrong_methods, t_allow_header, t_nul_in_path_name,
         t_batch_partial, t_concurrency, t_graceful_shutdown, t_main_sigterm]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("-k", help="run only cases whose name contains this")
    args = ap.parse_args()
    main_srv = Server(args.binary, ["--admin-token", ADMIN, "--max-body", str(MAIN_MAX_BODY)]).start()
    ctx = {"binary": args.binary, "main": main_srv}
    passed = failed = 0
    try:
        for t in TESTS:
            if args.k and args.k not in t.__name__ and t is not t_main_sigterm:
                continue
            t0 = time.time()
            try:
                t(ctx)
                print("PASS %s (%.2fs)" % (t.__name__[2:], time.time() - t0), flush=True)
                passed += 1
            except Exception as e:  # noqa: BLE001
                print("FAIL %s: %s" % (t.__name__[2:], e), flush=True)
                if not isinstance(e, AssertionError):
                    traceback.print_exc()
                failed += 1
            if main_srv.proc.poll() is not None and t is not t_main_sigterm:
                print("the main server exited (%s); log:\n%s" % (main_srv.proc.returncode, main_srv.log_text()[-2000:]))
                failed += 1
                break
    finally:
        for srv in Server.all:
            srv.kill()
            srv.log.close()
            if failed:
                print("server log kept: %s" % srv.log.name)
            else:
                os.unlink(srv.log.name)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
