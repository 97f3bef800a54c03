#!/usr/bin/env python3
"""GET /v1/heaps/{h}/objects/{id}/path on random graphs, against a
breadth-first search of our own over the heap's edges (from GET .../graph).

For every live object of several random heaps: a reachable answer must be a
real chain (it starts at a name bound to its first object, each step is an
edge of the graph with the label the graph gives it, it ends at the object)
and as short as the shortest chain our BFS finds; an unreachable answer
must agree that no name reaches the object.  Asking must change nothing:
the heap's digest and gc counts are the same before and after.
"""
import argparse
import collections
import http.client
import json
import random
import sys

from harness import Server


class Client:
    def __init__(self, port):
        self.port = port

    def request(self, method, path, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            data = json.dumps(body) if body is not None else None
            c.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
            r = c.getresponse()
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
        finally:
            c.close()

    def ok(self, method, path, body=None):
        st, j = self.request(method, path, body)
        if st not in (200, 201, 204):
            raise AssertionError("%s %s -> %d %s" % (method, path, st, j))
        return j


def label(edge):
    slot = edge["slot"]
    if slot == "index":
        return "[%d]" % edge["index"]
    if slot == "key":
        return "['%s']" % edge["key"][:80]
    if slot == "attr":
        return ".%s" % edge["attr"][:80]
    if slot == "member":
        return "{member}"
    return "{key '%s'}" % edge["key"][:80]


def random_ops(rng, n):
    """Operations that all succeed (a batch stops at its first failure):
    every object is created under a name of its own, so it lives while
    references are added (only into containers that take them; set members
    only strs), then most names go, leaving chains, shared objects and
    unreachable cycles."""
    ops, made = [], []
    for i in range(n):
        containers = [m for m in made if m[1] in ("list", "dict", "instance", "set")]
        if rng.randrange(10) < 4 or len(made) < 3 or not containers:
            t = rng.choice(["list", "list", "tuple", "instance", "dict", "set", "str", "str"])
            k = len(ops)  # $k names this op's object
            o = {"op": "create", "type": t, "name": "n%d" % k}
            if t == "str":
                o["value"] = "s%d" % k
            elif t in ("list", "tuple") and made:
                o["items"] = ["$%d" % rng.choice(made)[0] for _ in range(rng.randrange(3))]
            elif t == "dict" and made:
                o["items"] = {"k%d" % j: "$%d" % rng.choice(made)[0] for j in range(rng.randrange(3))}
            made.append((k, t))
            ops.append(o)
            if t == "list" and rng.random() < 0.4:  # a = []; a.append(a): a cycle of its own
                ops.append({"op": "ref", "id": "$%d" % k, "target": "$%d" % k})
            continue
        c, t = rng.choice(containers)
        targets = [m for m in made if m[1] == "str"] if t == "set" else made
        if not targets:
            continue
        o = {"op": "ref", "id": "$%d" % c, "target": "$%d" % rng.choice(targets)[0]}
        if t == "dict":
            o["key"] = "k%d" % rng.randrange(4)
        elif t == "instance":
            o["attr"] = "a%d" % rng.randrange(4)
        ops.append(o)
    for k, _ in made:
        if rng.random() < 0.85:
            ops.append({"op": "unbind", "name": "n%d" % k})
    return ops


def build(srv, rng, token):
    srv.ok("POST", "/v1/heaps/%s/batch" % token, {"ops": random_ops(rng, 400)})


def bfs(graph, names):
    """Shortest chain length (in steps, the name's object counting 1) to every object."""
    out = collections.defaultdict(list)
    for e in graph["edges"]:
        out[e["from"]].append(e)
    dist = {}
    queue = collections.deque()
    for name, oid in names.items():
        if oid not in dist:
            dist[oid] = 1
            queue.append(oid)
    while queue:
        o = queue.popleft()
        for e in out[o]:
            if e["to"] not in dist:
                dist[e["to"]] = dist[o] + 1
                queue.append(e["to"])
    return dist, out


def check_heap(srv, h):
    graph = srv.ok("GET", "/v1/heaps/%s/graph" % h)
    names = srv.ok("GET", "/v1/heaps/%s/names" % h)["names"]
    dist, out = bfs(graph, names)
    before = (srv.ok("GET", "/v1/heaps/%s/digest" % h), srv.ok("GET", "/v1/heaps/%s/gc" % h)["count"])
    reachable = unreachable = 0
    for node in graph["nodes"]:
        oid = node["id"]
        p = srv.ok("GET", "/v1/heaps/%s/objects/%d/path" % (h, oid))
        if not p["reachable"]:
            assert oid not in dist, "object %d: path says unreachable, BFS reaches it in %d" % (oid, dist[oid])
            assert "only a collection can free it" in p["detail"], p
            unreachable += 1
            continue
        chain = p["path"]
        assert oid in dist, "object %d: path %s but no name reaches it" % (oid, chain)
        assert names.get(chain[0]["name"]) == chain[0]["id"], "first step %s is not a binding" % chain[0]
        for a, b in zip(chain, chain[1:]):
            labels = {label(e) for e in out[a["id"]] if e["to"] == b["id"]}
            assert b["via"] in labels, "step %s -> %s via %s: the graph has %s" % (a["id"], b["id"], b["via"], labels)
        assert chain[-1]["id"] == oid
        assert len(chain) == dist[oid], "object %d: chain of %d, shortest is %d" % (oid, len(chain), dist[oid])
        reachable += 1
    after = (srv.ok("GET", "/v1/heaps/%s/digest" % h), srv.ok("GET", "/v1/heaps/%s/gc" % h)["count"])
    assert before == after, "asking for paths changed the heap"
    return reachable, unreachable


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--heaps", type=int, default=12)
    args = ap.parse_args()
    server = Server(args.binary, ["--no-auth", "--data-dir", "none"], name="paths").start()
    srv = Client(server.port)
    failed = 0
    totals = [0, 0]
    try:
        for seed in range(args.heaps):
            rng = random.Random(seed)
            h = srv.ok("POST", "/v1/heaps", {"gc": {"enabled": False}})["id"]
            try:
                build(srv, rng, h)
                r, u = check_heap(srv, h)
                totals[0] += r
                totals[1] += u
                print("ok   seed %d: %d reachable, %d unreachable objects checked" % (seed, r, u), flush=True)
            except AssertionError as ex:
                failed += 1
                print("FAIL seed %d: %s" % (seed, ex), flush=True)
    finally:
        server.stop()
    print("paths: %d reachable and %d unreachable objects agree with the BFS" % tuple(totals))
    print("%d passed, %d failed" % (args.heaps - failed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
