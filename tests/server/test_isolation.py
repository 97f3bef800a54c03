#!/usr/bin/env python3
"""Heap isolation (suite 'hostile').

Two heaps A and B are built the same way, so the same object ids exist in
both.  A's token must never read or change B through any route: heap,
objects, path, refs (with target ids that exist in both heaps), names,
weakrefs, gc, memory, batch (with "$N" and with B's raw ids), events
(polling and SSE), check, DELETE.  Requests on A that name ids must act on
A's objects only.  Tokens never appear in the server's log (stderr) or in
any problem body; admin routes refuse heap tokens.

Prints one line per case and a final "N passed, N failed".
"""
import argparse
import http.client
import json
import socket
import sys
import time

from harness import Server, report, run_case

ADMIN = "isolation-admin-token-4b1d9e0a7c"




class Resp:
    def __init__(self, method, path, status, headers, body):
        self.method, self.path, self.status, self.headers, self.body = method, path, status, headers, body

    @property
    def json(self):
        return json.loads(self.body) if self.body else None

    def __repr__(self):
        return "%s %s -> %d %r" % (self.method, self.path, self.status, self.body[:300])


SEEN = []  # every response, for the token-leak scan


def call(srv, method, path, body=None, token=None, headers=None):
    h = dict(headers or {})
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    if token is not None:
        h["Authorization"] = "Bearer " + token
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    try:
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        resp = Resp(method, path, r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        c.close()
    SEEN.append(resp)
    return resp


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def expect(r, status):
    check(r.status == status, "want %d: %r" % (status, r))
    return r.json if r.headers.get("content-type", "").startswith("application/") else r.body


def expect_problem(r, status, slug):
    check(r.status == status, "want %d %s: %r" % (status, slug, r))
    check(r.headers.get("content-type", "").startswith("application/problem+json"), "not a problem: %r" % r)
    p = r.json
    check(p.get("type") == "/problems/" + slug, "type %r, want %s: %r" % (p.get("type"), slug, r))
    return p


class Heap:
    def __init__(self, srv, name):
        j = expect(call(srv, "POST", "/v1/heaps", {"name": name}), 201)
        self.srv, self.id, self.token, self.name = srv, j["id"], j["token"], name
        self.base = "/v1/heaps/" + self.id

    def r(self, method, sub="", body=None, token="own", headers=None):
        return call(self.srv, method, self.base + sub, body, self.token if token == "own" else token, headers)

    def check(self):
        check(expect(self.r("GET", "/check"), 200) == {"ok": True}, "/check")

    def snapshot(self):
        """Everything observable about the heap, for 'did it change?'."""
        objs = expect(self.r("GET", "/objects?limit=1000"), 200)["objects"]
        return {"heap": {k: v for k, v in expect(self.r("GET"), 200).items() if k != "gc"},
                "objects": [(o["id"], o["type"], o["refcount"], o.get("items"), o.get("length")) for o in objs],
                "names": expect(self.r("GET", "/names"), 200)["names"],
                "gc": expect(self.r("GET", "/gc"), 200),
                "events": expect(self.r("GET", "/events?since=0"), 200)["next"]}


def build(h):
    """The same structure in every heap: ids 1..7, object 7 freed."""
    ops = [{"op": "create", "type": "list", "name": "l"},                       # 1
           {"op": "create", "type": "dict", "name": "d"},                       # 2
           {"op": "create", "type": "int", "value": 77777, "name": "i"},        # 3
           {"op": "create", "type": "instance", "class": "C", "name": "o"},     # 4
           {"op": "create", "type": "set", "name": "s"},                        # 5
           {"op": "create", "type": "str", "value": "secret-of-" + h.name, "name": "t"},  # 6
           {"op": "create", "type": "list", "name": "g"},                       # 7
           {"op": "ref", "id": "$0", "target": "$2"},
           {"op": "unbind", "name": "g"}]
    res = expect(h.r("POST", "/batch", {"ops": ops}), 200)["results"]
    ids = [x["id"] for x in res[:7]]
    check(ids == list(range(1, 8)), "ids %r" % ids)


class SSE:
    def __init__(self, srv, path, token):
        self.sock = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n"
                           "Authorization: Bearer %s\r\n\r\n" % (path, token)).encode())
        raw = b""
        while b"\r\n\r\n" not in raw:
            b = self.sock.recv(65536)
            if not b:
                break
            raw += b
        head, _, self.data = raw.partition(b"\r\n\r\n")
        self.status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/") else 0
        self.head = head

    def read_for(self, seconds):
        end = time.time() + seconds
        while time.time() < end:
            self.sock.settimeout(max(0.02, end - time.time()))
            try:
                b = self.sock.recv(65536)
            except socket.timeout:
                break
            if not b:
                break
            self.data += b
        return self.data

    def close(self):
        self.sock.close()


# ---------------------------------------------------------------- cases


def cross_requests(A, B):
    """Every route of heap B, with A's token."""
    b = B.base
    return [
        ("GET", b, None), ("DELETE", b, None),
        ("GET", b + "/objects", None), ("GET", b + "/objects?type=str", None),
        ("POST", b + "/objects", {"type": "list", "name": "evil"}),
        ("GET", b + "/objects/1", None), ("GET", b + "/objects/6", None), ("GET", b + "/objects/7", None),
        ("GET", b + "/objects/999", None), ("GET", b + "/objects/1/path", None),
        ("POST", b + "/objects/1/refs", {"target": 1}), ("DELETE", b + "/objects/1/refs?index=0", None),
        ("DELETE", b + "/objects/1/refs?target=3", None),
        ("GET", b + "/names", None), ("GET", b + "/names/l", None), ("PUT", b + "/names/l", {"id": 2}),
        ("DELETE", b + "/names/l", None), ("DELETE", b + "/names/nope", None),
        ("POST", b + "/weakrefs", {"target": 4, "name": "w"}),
        ("GET", b + "/gc", None), ("PATCH", b + "/gc", {"enabled": False}),
        ("POST", b + "/gc/collect", {}), ("POST", b + "/gc/freeze", None), ("POST", b + "/gc/unfreeze", None),
        ("GET", b + "/memory", None), ("GET", b + "/memory?format=text", None), ("GET", b + "/memory?map=1", None),
        ("POST", b + "/batch", {"ops": [{"op": "create", "type": "list", "name": "x"},
                                        {"op": "ref", "id": 1, "target": "$0"}]}),
        ("POST", b + "/batch", {"ops": [{"op": "unbind", "name": "l"}]}),
        ("GET", b + "/events", None), ("GET", b + "/events?since=0&limit=10000", None),
        ("GET", b + "/check", None), ("GET", b + "/bogus", None), ("PUT", b + "/objects", {}),
    ]


def t_cross_heap_routes(ctx):
    A, B = ctx["A"], ctx["B"]
    before = B.snapshot()
    leaks = []
    for method, path, body in cross_requests(A, B):
        r = call(ctx["srv"], method, path, body, A.token)
        p = expect_problem(r, 403, "forbidden")
        for secret in ("secret-of-b", B.token, "77777"):
            if secret in r.body.decode("utf-8", "replace"):
                leaks.append("%s %s leaks %r" % (method, path, secret))
        check(set(p) <= {"type", "title", "status", "detail"}, "extra problem members %r" % p)
    check(not leaks, "\n".join(leaks))
    check(B.snapshot() == before, "B changed under A's token")
    B.check()
    return "%d routes" % len(cross_requests(A, B))


def t_cross_heap_other_credentials(ctx):
    # No token, a malformed header, B's token with a typo, A's token + B's id
    # in the query: never B's data.
    A, B = ctx["A"], ctx["B"]
    before = B.snapshot()
    for hdr, want, slug in [(None, 401, "unauthorized"), ("Bearer", 401, "unauthorized"),
                            ("Basic " + B.token, 401, "unauthorized"), ("Bearer " + B.token[:-1], 403, "forbidden"),
                            ("Bearer " + A.token + B.token, 403, "forbidden"),
                            ("Bearer " + B.token.upper(), 403, "forbidden")]:
        headers = {"Authorization": hdr} if hdr else {}
        for sub in ("/objects/6", "/names", "/batch"):
            r = call(ctx["srv"], "POST" if sub == "/batch" else "GET", B.base + sub,
                     {"ops": [{"op": "unbind", "name": "l"}]} if sub == "/batch" else None, None, headers)
            expect_problem(r, want, slug)
    check(B.snapshot() == before, "B changed")


def t_same_ids_act_on_own_heap(ctx):
    # Ids 1..6 exist in both heaps: with A's token they mean A's objects.
    A, B = ctx["A"], ctx["B"]
    before = B.snapshot()
    a0 = A.snapshot()
    r = expect(A.r("POST", "/objects/1/refs", {"target": 6}), 200)
    check(r["target"]["id"] == 6 and r["target"]["refcount"] == 2, "A's 6: %r" % r)
    expect(A.r("PUT", "/names/alias", {"id": 2}), 200)
    expect(A.r("POST", "/objects/2/refs", {"key": "k", "target": 4}), 200)
    expect(A.r("POST", "/objects/4/refs", {"attr": "a", "target": 5}), 200)
    expect(A.r("POST", "/objects/5/refs", {"target": 3}), 200)
    w = expect(A.r("POST", "/weakrefs", {"target": 4, "name": "wr"}), 201)
    expect(A.r("DELETE", "/objects/1/refs?target=6"), 200)
    res = expect(A.r("POST", "/batch", {"ops": [
        {"op": "create", "type": "list", "items": [1, 2, 3, 4, 5, 6], "name": "all"},
        {"op": "ref", "id": 1, "target": "$0"},
        {"op": "ref", "id": "$0", "target": 2},
        {"op": "unref", "id": 1, "target": "$0"},
        {"op": "bind", "name": "l2", "id": 1},
        {"op": "weakref", "target": 4},
        {"op": "collect"}]}), 200)["results"]
    check(len(res) == 7, "batch results %r" % res)
    expect(A.r("DELETE", "/names/alias"), 204)
    expect(A.r("POST", "/gc/collect", {}), 200)
    check(A.snapshot() != a0, "A did not change")
    check(B.snapshot() == before, "B changed by operations on A with ids that exist in both")
    b1 = expect(B.r("GET", "/objects/1"), 200)
    check(b1["items"] == [3] and b1["refcount"] == 1, "B's list 1: %r" % b1)
    A.check()
    B.check()
    return "weakref %d in A" % w["id"]


def t_raw_ids_of_other_heap(ctx):
    # Objects that exist only in B: A's batch and routes must not find them.
    A, B = ctx["A"], ctx["B"]
    only_b = [x["id"] for x in expect(B.r("POST", "/batch", {"ops": [
        {"op": "create", "type": "set", "name": "bx%d" % k} for k in range(30)]}), 200)["results"]]
    before = B.snapshot()
    a_next = max(o[0] for o in A.snapshot()["objects"])
    top = only_b[-1]
    check(top > a_next, "B's ids %r overlap A's live ones (A's top %d)" % (only_b[-3:], a_next))
    expect_problem(A.r("GET", "/objects/%d" % top), 404, "no-such-object")
    expect_problem(A.r("GET", "/objects/%d/path" % top), 404, "no-such-object")
    expect_problem(A.r("POST", "/objects/1/refs", {"target": top}), 404, "no-such-object")
    expect_problem(A.r("POST", "/objects/%d/refs" % top, {"target": 1}), 404, "no-such-object")
    expect_problem(A.r("PUT", "/names/stolen", {"id": top}), 404, "no-such-object")
    expect_problem(A.r("POST", "/weakrefs", {"target": top}), 404, "no-such-object")
    expect_problem(A.r("POST", "/objects", {"type": "list", "items": [top], "name": "z"}), 404, "no-such-object")
    for ops in ([{"op": "ref", "id": 1, "target": top}],
                [{"op": "ref", "id": top, "target": 1}],
                [{"op": "bind", "name": "stolen", "id": top}],
                [{"op": "unref", "id": top, "index": 0}],
                [{"op": "weakref", "target": top}],
                [{"op": "create", "type": "dict", "items": {"k": top}, "name": "z"}]):
        p = expect_problem(A.r("POST", "/batch", {"ops": ops}), 404, "no-such-object")
        check(p.get("index") == 0, "index %r" % p)
    # "$N" names this batch's own ops only, never another heap's objects
    p = expect_problem(A.r("POST", "/batch", {"ops": [{"op": "ref", "id": 1, "target": "$0"}]}), 400,
                       "invalid-reference")
    res = expect(A.r("POST", "/batch", {"ops": [{"op": "create", "type": "list", "name": "own"},
                                                {"op": "ref", "id": "$0", "target": "$0"}]}), 200)["results"]
    check(res[1]["id"] == res[0]["id"], "$0 is A's new list: %r" % res)
    check(B.snapshot() == before, "B changed")
    A.check()
    B.check()


def t_events_isolated(ctx):
    A, B = ctx["A"], ctx["B"]
    a_next = expect(A.r("GET", "/events?since=0"), 200)["next"]
    sa = SSE(ctx["srv"], A.base + "/events", A.token)
    sb_cross = SSE(ctx["srv"], B.base + "/events", A.token)
    try:
        check(sa.status == 200, "A's stream: %r" % sa.head)
        check(sb_cross.status == 403 and b"text/event-stream" not in sb_cross.head,
              "B's stream with A's token: %r" % sb_cross.head)
        # activity in B: frees, a collection, a weakref callback
        expect(B.r("POST", "/batch", {"ops": [
            {"op": "create", "type": "list", "name": "cyc"}, {"op": "ref", "id": "$0", "target": "$0"},
            {"op": "create", "type": "instance", "name": "victim"},
            {"op": "weakref", "target": "$2", "callback": True, "name": "wv"},
            {"op": "unbind", "name": "cyc"}, {"op": "unbind", "name": "victim"}, {"op": "collect"}]}), 200)
        expect(B.r("DELETE", "/names/t"), 204)
        data = sa.read_for(1.0)
        check(b"event:" not in data, "A's stream shows B's events: %r" % data[:300])
        check(expect(A.r("GET", "/events?since=0"), 200)["next"] == a_next, "A's event ring grew from B's work")
        evs = expect(B.r("GET", "/events?since=0"), 200)["events"]
        check(any(e["kind"] == "collect" for e in evs), "B has its own events: %r" % evs[-3:])
        # and A's own activity shows on A's stream, not B's data
        expect(A.r("POST", "/objects", {"type": "list", "name": "tmp"}), 201)
        expect(A.r("DELETE", "/names/tmp"), 204)
        data = sa.read_for(1.0)
        check(b"event: free" in data, "A's stream missed A's own free: %r" % data[:300])
        # a stream opened by A on B with Last-Event-ID: still refused
        r = call(ctx["srv"], "GET", B.base + "/events", None, A.token,
                 {"Accept": "text/event-stream", "Last-Event-ID": "1"})
        expect_problem(r, 403, "forbidden")
    finally:
        sa.close()
        sb_cross.close()


def t_delete_isolated(ctx):
    srv = ctx["srv"]
    C, D = Heap(srv, "c"), Heap(srv, "d")
    build(C)
    build(D)
    expect_problem(call(srv, "DELETE", D.base, None, C.token), 403, "forbidden")
    expect(call(srv, "GET", D.base, None, D.token), 200)
    expect(call(srv, "DELETE", C.base, None, C.token), 204)
    # C's token now opens nothing; D is intact
    expect_problem(call(srv, "GET", C.base, None, C.token), 404, "no-such-heap")
    expect_problem(call(srv, "GET", D.base, None, C.token), 403, "forbidden")
    expect_problem(call(srv, "DELETE", D.base, None, C.token), 403, "forbidden")
    check(expect(call(srv, "GET", D.base + "/names", None, D.token), 200)["names"]["l"] == 1, "D intact")
    D.check()
    expect(call(srv, "DELETE", D.base, None, ADMIN), 204)


def t_admin_routes(ctx):
    srv, A, B = ctx["srv"], ctx["A"], ctx["B"]
    for tok, want, slug in [(A.token, 403, "forbidden"), (B.token, 403, "forbidden"), (None, 401, "unauthorized"),
                            (ADMIN[:-1], 403, "forbidden"), (ADMIN + "x", 403, "forbidden")]:
        p = expect_problem(call(srv, "GET", "/v1/heaps", None, tok), want, slug)
        check(A.id not in p["detail"] and B.id not in p["detail"], "heap ids leak: %r" % p)
    lst = expect(call(srv, "GET", "/v1/heaps", None, ADMIN), 200)["heaps"]
    check({A.id, B.id} <= {h["id"] for h in lst}, "admin list %r" % lst)
    check(all("token" not in h for h in lst), "the admin list shows tokens: %r" % lst)
    # /metrics and /healthz never carry per-heap secrets
    m = call(srv, "GET", "/metrics").body.decode()
    check(A.token not in m and B.token not in m and A.id not in m, "metrics leak")


def t_tokens_not_in_problems_or_log(ctx):
    srv, A, B = ctx["srv"], ctx["A"], ctx["B"]
    # tokens sent where they do not belong
    call(srv, "GET", A.base + "/objects?token=" + B.token, None, None)
    call(srv, "GET", A.base + "/objects?access_token=" + B.token + "&x=1", None, A.token)
    call(srv, "GET", A.base + "/names/" + "n", None, "Bearer-" + B.token)
    call(srv, "GET", "/v1/heaps", None, B.token)
    call(srv, "POST", A.base + "/objects", {"type": "list", "name": "q", "token": B.token}, A.token)
    tokens = [A.token, B.token, ADMIN, ctx["dead_token"]]
    leaks = []
    for r in SEEN:
        if r.method == "POST" and r.path == "/v1/heaps" and r.status == 201:
            continue  # the creator's own token, returned once by design
        text = r.body.decode("utf-8", "replace")
        for t in tokens:
            if t in text:
                leaks.append("%r shows a token" % r)
        for k, v in r.headers.items():
            if any(t in v for t in tokens):
                leaks.append("%s %s: header %s shows a token" % (r.method, r.path, k))
    log = srv.log_text()
    for t in tokens:
        if t in log:
            line = next(line for line in log.splitlines() if t in line)
            leaks.append("the log shows a token: %s" % line[:200])
    check(not leaks, "\n".join(leaks[:10]))
    return "%d responses and %d log lines scanned" % (len(SEEN), len(log.splitlines()))


TESTS = [t_cross_heap_routes, t_cross_heap_other_credentials, t_same_ids_act_on_own_heap, t_raw_ids_of_other_heap,
         t_events_isolated, t_delete_isolated, t_admin_routes, t_tokens_not_in_problems_or_log]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    a = ap.parse_args()
    srv = Server(a.binary, name="isolation", args=["--admin-token", ADMIN, "--idle-timeout", "5"]).start()
    passed = failed = 0
    try:
        A, B = Heap(srv, "a"), Heap(srv, "b")
        build(A)
        build(B)
        dead = Heap(srv, "dead")
        expect(dead.r("DELETE"), 204)
        ctx = {"srv": srv, "A": A, "B": B, "dead_token": dead.token}
        for t in TESTS:
            ok = run_case(srv, t.__name__, lambda t=t: t(ctx))
            passed, failed = passed + ok, failed + (not ok)
    finally:
        code = srv.stop()
    return report(srv, code, passed, failed)


if __name__ == "__main__":
    sys.exit(main())
