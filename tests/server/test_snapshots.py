#!/usr/bin/env python3
"""Snapshots against a shadow model (suite 'server').

Drives heaps at random over real HTTP - creates, binds, unbinds, references
added and removed, collections - and keeps its own model of which ids are
live, with the type, sys.getsizeof size and size class the API gave for
each object when it was made or last changed.  Frees come from the event
log; a record that folds more than 8 frees is resolved by GET -> 404.
Snapshots are taken at random points and the model copied: every snapshot's
object count and bytes, and every compare, must equal what the model says;
peaks must be at least the highest bytes in use and arenas observed since.

Prints one line per case and a final "N passed, N failed"; exits 1 when a
case fails.  --seed repeats a run.  Python standard library only.
"""
import argparse
import http.client
import json
import random
import sys
import time

from harness import Server, report, run_case

ADMIN = "snapshots-admin-token-5e6f7a8b9c"
TYPES = ["int", "float", "str", "bytes", "tuple", "list", "dict", "set", "instance", "weakref"]
NAMES = ["n%d" % i for i in range(16)]
KEYS = ["k%d" % i for i in range(5)]
ATTRS = ["x", "y", "z"]
MAX_SNAPSHOTS = 16


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


class Heap:
    """One heap over HTTP, with a new connection per request (a retried POST
    on a reused connection could apply twice)."""

    def __init__(self, srv, body):
        self.port = srv.port
        st, j = self.call("POST", "/v1/heaps", body)
        check(st == 201, "create heap: %s %r" % (st, j))
        self.base, self.token = "/v1/heaps/" + j["id"], j["token"]

    def call(self, method, path, body=None):
        headers = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if getattr(self, "token", None):
            headers["Authorization"] = "Bearer " + self.token
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            c.request(method, path, body=data, headers=headers)
            r = c.getresponse()
            raw = r.read()
        finally:
            c.close()
        return r.status, (json.loads(raw) if raw else None)

    def r(self, method, sub, body=None, want=None):
        st, j = self.call(method, self.base + sub, body)
        if want is not None:
            check(st == want, "%s %s -> %d (want %d): %r" % (method, sub, st, want, j))
        return j


# ---------------------------------------------------------------- the model


def diff(a, b):
    """What GET .../compare/{a}/{b} must say, from two copies of the model
    (id -> (type, size, size_class))."""
    types, classes = {}, {}

    def tally(groups, key):
        return groups.setdefault(key, {"added": 0, "freed": 0, "bytes_added": 0, "bytes_freed": 0, "growth": 0})

    def block(o):
        return o[1] if o[2] is None else (o[2] + 1) * 16

    def move(t, nbytes, side):
        t[side] += 1
        t["bytes_" + side] += nbytes

    for oid in a.keys() | b.keys():
        x, y = a.get(oid), b.get(oid)
        if y is None:
            move(tally(types, x[0]), x[1], "freed")
            move(tally(classes, x[2]), block(x), "freed")
        elif x is None:
            move(tally(types, y[0]), y[1], "added")
            move(tally(classes, y[2]), block(y), "added")
        else:
            # live in both: growth counts, and a block that changed class moved
            tally(types, y[0])["growth"] += y[1] - x[1]
            if x[2] != y[2]:
                move(tally(classes, x[2]), block(x), "freed")
                move(tally(classes, y[2]), block(y), "added")
            elif y[2] is None:
                tally(classes, None)["growth"] += y[1] - x[1]

    def size_diff(t):
        return t["bytes_added"] - t["bytes_freed"] + t["growth"]

    def changed(t):
        return t["added"] or t["freed"] or t["growth"]

    by_type = [{"type": name, "objects_added": t["added"], "objects_freed": t["freed"],
                "bytes_added": t["bytes_added"], "bytes_freed": t["bytes_freed"],
                "count_diff": t["added"] - t["freed"], "size_diff": size_diff(t)}
               for name in TYPES for t in [types.get(name)] if t and changed(t)]
    order = sorted(classes, key=lambda c: 99 if c is None else c)
    by_class = [{"size_class": c, "block_size": None if c is None else (c + 1) * 16,
                 "blocks_added": classes[c]["added"], "blocks_freed": classes[c]["freed"],
                 "bytes_diff": size_diff(classes[c])} for c in order if changed(classes[c])]
    growths = [("type:" + n, size_diff(t), t["added"] - t["freed"]) for n, t in types.items()]
    growths += [("size_class:" + ("large" if c is None else str(c)), size_diff(t), t["added"] - t["freed"])
                for c, t in classes.items()]
    growths = sorted((g for g in growths if g[1] > 0), key=lambda g: (-g[1], -g[2], g[0]))[:10]
    totals = {"objects_added": sum(t["added"] for t in types.values()),
              "objects_freed": sum(t["freed"] for t in types.values()),
              "size_diff": sum(size_diff(t) for t in types.values())}
    return {"by_type": by_type, "by_size_class": by_class,
            "largest_growths": [{"group": g, "size_diff": s, "count_diff": c} for g, s, c in growths],
            "totals": totals}


class Model:
    def __init__(self, heap, rnd):
        self.h, self.rnd = heap, rnd
        self.live = {}          # id -> (type, size, size_class)
        self.names = {}         # name -> id
        self.seq = 1            # the next event to read
        self.snaps = {}         # snapshot id -> copy of live
        self.seen = {}          # snapshot id (None: since creation) -> [most bytes, most arenas] observed
        self.seen[None] = [0, 0]
        self.compares = 0

    # ---- learning from the API

    def learn(self, oid, may_be_gone=False):
        """GET the object; note it and any referent the model lacks (dict
        keys are str objects the API makes itself).  A container whose last
        reference was its own item may be gone: settle() hears of that."""
        st, o = self.h.call("GET", "%s/objects/%d" % (self.h.base, oid))
        if st == 404 and may_be_gone:
            return None
        check(st == 200, "object %d: %d %r" % (oid, st, o))
        self.live[oid] = (o["type"], o["size"], o["size_class"])
        for ref in o.get("referents", []):
            if ref not in self.live:
                self.learn(ref)
        return o

    def settle(self, minted_from):
        """Drops what the event log says was freed; ids minted by this very
        operation may die in it unseen."""
        ev = self.h.r("GET", "/events?since=%d&limit=10000" % self.seq, want=200)
        self.seq = ev["next"]
        check("missed" not in ev, "events were missed: %r" % ev.get("missed"))
        for e in ev["events"]:
            if e["kind"] == "resurrect":
                raise AssertionError("no finalizer here resurrects: %r" % e)
            if e["kind"] != "free":
                continue
            if e["count"] <= len(e["ids"]):
                gone = e["ids"]
            else:
                lo, hi = e["id_min"], e["id_max"]
                gone = [i for i in list(self.live) if lo <= i <= hi
                        and self.h.call("GET", "%s/objects/%d" % (self.h.base, i))[0] == 404]
            for i in gone:
                check(i in self.live or i >= minted_from, "object %d freed, unknown to the model" % i)
                self.live.pop(i, None)
        for name, oid in list(self.names.items()):
            check(oid in self.live, "name %s holds %d, which the model thinks freed" % (name, oid))
        m = self.h.r("GET", "/memory", want=200)
        for s in self.seen.values():
            s[0] = max(s[0], m["bytes_in_use"])
            s[1] = max(s[1], m["arenas"]["in_use"])
        return m

    # ---- random operations

    def pick(self, types=None):
        ids = [i for i, o in self.live.items() if types is None or o[0] in types]
        return self.rnd.choice(ids) if ids else None

    def some(self, types=None, most=3):
        return [x for x in (self.pick(types) for _ in range(self.rnd.randint(0, most))) if x is not None]

    def op_create(self):
        rnd = self.rnd
        t = rnd.choice(TYPES[:9])
        body = {"type": t}
        if t == "int":
            body["value"] = rnd.choice([rnd.randint(-5, 256), rnd.randint(-10**12, 10**12)])
        elif t == "float":
            body["value"] = rnd.random() * 1000
        elif t == "str":
            body["value"] = "s" * rnd.choice([rnd.randint(0, 40), rnd.randint(400, 700)])
        elif t == "bytes":
            body["size"] = rnd.choice([rnd.randint(0, 100), rnd.randint(400, 3000)])
        elif t in ("tuple", "list"):
            body["items"] = self.some()
        elif t == "set":
            body["items"] = self.some({"int", "str", "bytes", "float"})
        elif t == "dict":
            body["items"] = {k: v for k, v in zip(rnd.sample(KEYS, 3), self.some())}
        else:
            body["class"] = rnd.choice(["Node", "Leaf"])
            body["attrs"] = {k: v for k, v in zip(rnd.sample(ATTRS, 2), self.some(most=2))}
            body["finalizer"] = rnd.random() < 0.2
        name = rnd.choice(NAMES) if rnd.random() < 0.9 else None
        if name:
            body["name"] = name
        j = self.h.r("POST", "/objects", body, want=201)
        if j["alive"] and name:
            self.names[name] = j["id"]
        if j["alive"]:
            self.learn(j["id"])
        return j["id"]

    def op_bind(self):
        oid, name = self.pick(), self.rnd.choice(NAMES)
        if oid is not None:
            self.h.r("PUT", "/names/" + name, {"id": oid}, want=200)
            self.names[name] = oid

    def op_unbind(self):
        if self.names:
            name = self.rnd.choice(sorted(self.names))
            self.h.r("DELETE", "/names/" + name, want=204)
            del self.names[name]

    def op_ref(self):
        c = self.pick({"list", "dict", "set", "instance"})
        if c is None:
            return
        kind = self.live[c][0]
        target = self.pick({"int", "str", "bytes", "float"} if kind == "set" else None)
        if target is None:
            return
        body = {"target": target}
        if kind == "dict":
            body["key"] = self.rnd.choice(KEYS)
        elif kind == "instance":
            body["attr"] = self.rnd.choice(ATTRS)
        st, j = self.h.call("POST", "%s/objects/%d/refs" % (self.h.base, c), body)
        check(st in (200, 409), "ref %r -> %d %r" % (body, st, j))  # 409: unhashable member
        self.learn(c, may_be_gone=True)  # d[k] = x may drop the last reference to d

    def op_unref(self):
        c = self.pick({"list", "dict", "set", "instance"})
        if c is None:
            return
        o = self.learn(c)
        kind = o["type"]
        if kind == "list" and o["items"]:
            q = "index=%d" % self.rnd.randrange(len(o["items"]))
        elif kind == "dict" and o["items"]:
            q = "key=" + self.rnd.choice(sorted(o["items"]))
        elif kind == "instance" and o["attrs"]:
            q = "attr=" + self.rnd.choice(sorted(o["attrs"]))
        elif kind == "set" and o["items"]:
            q = "target=%d" % self.rnd.choice(o["items"])
        else:
            return
        self.h.r("DELETE", "/objects/%d/refs?%s" % (c, q), want=200)
        self.learn(c, may_be_gone=True)

    def op_collect(self):
        self.h.r("POST", "/gc/collect", {"generation": self.rnd.randint(0, 2)}, want=200)

    # ---- snapshots

    def take(self):
        if len(self.snaps) == MAX_SNAPSHOTS:
            self.drop()
        j = self.h.r("POST", "/snapshots", want=201)
        check(j["objects"] == len(self.live), "snapshot %d holds %d objects, the model %d"
              % (j["id"], j["objects"], len(self.live)))
        check(j["bytes"] == sum(o[1] for o in self.live.values()), "snapshot bytes %r" % j)
        self.snaps[j["id"]] = dict(self.live)
        m = self.h.r("GET", "/memory", want=200)
        self.seen[j["id"]] = [m["bytes_in_use"], m["arenas"]["in_use"]]

    def drop(self):
        if self.snaps:
            sid = self.rnd.choice(sorted(self.snaps))
            self.h.r("DELETE", "/snapshots/%d" % sid, want=204)
            del self.snaps[sid]
            # its interval still counts for the snapshot before it
            before = max([s for s in self.snaps if s < sid], default=None)
            for k in (0, 1):
                self.seen[before][k] = max(self.seen[before][k], self.seen[sid][k])
            del self.seen[sid]

    def compare(self, a, b):
        got = self.h.r("GET", "/snapshots/%d/compare/%d" % (a, b), want=200)
        want = diff(self.snaps[a], self.snaps[b])
        want.update({"from": a, "to": b})
        peak = got.pop("peak")
        for k in want:
            check(got.get(k) == want[k], "compare %d/%d, %s:\n  got  %r\n  want %r" % (a, b, k, got.get(k), want[k]))
        check(set(got) == set(want), "compare members %r" % sorted(got))
        check(peak["since_snapshot"] == a, "peak %r" % peak)
        check(peak["bytes_in_use"] >= self.seen[a][0] and peak["arenas"] >= self.seen[a][1],
              "peak since %d: %r, but %r was observed" % (a, peak, self.seen[a]))
        self.compares += 1

    def compare_random(self):
        if self.snaps:
            self.compare(self.rnd.choice(sorted(self.snaps)), self.rnd.choice(sorted(self.snaps)))

    def check_memory_peak(self):
        peak = self.h.r("GET", "/memory", want=200)["peak"]
        latest = max(self.snaps, default=None)
        check(peak["since_snapshot"] == latest, "memory peak since %r, latest %r" % (peak, latest))
        check(peak["bytes_in_use"] >= self.seen[latest][0] and peak["arenas"] >= self.seen[latest][1],
              "memory peak %r below what was observed, %r" % (peak, self.seen[latest]))


OPS = [("op_create", 30), ("op_bind", 10), ("op_unbind", 16), ("op_ref", 16), ("op_unref", 8), ("op_collect", 5),
       ("take", 6), ("compare_random", 6), ("drop", 2), ("check_memory_peak", 1)]


def drive(srv, rnd, steps, gc_body):
    h = Heap(srv, {"name": "shadow", "gc": gc_body})
    m = Model(h, rnd)
    ops = [name for name, weight in OPS for _ in range(weight)]
    for _ in range(steps):
        minted = h.r("GET", "/digest", want=200)["next_id"]
        getattr(m, rnd.choice(ops))()
        m.settle(minted)
    m.take()
    for a in sorted(m.snaps):
        m.compare(a, max(m.snaps))
    m.check_memory_peak()
    check(h.r("GET", "/check", want=200) == {"ok": True}, "/check")
    return "%d live objects, %d snapshots kept, %d compares" % (len(m.live), len(m.snaps), m.compares)


def t_default_collector(srv, rnd):
    return drive(srv, rnd, 300, {"enabled": True})


def t_frequent_collections(srv, rnd):
    """Automatic collections inside creates free cycles the model only hears of from events."""
    return drive(srv, rnd, 300, {"enabled": True, "thresholds": [5, 2, 2]})


def t_collector_off(srv, rnd):
    return drive(srv, rnd, 200, {"enabled": False})


def t_peak_of_a_spike(srv, _rnd):
    """A 1 MB bytes object made and dropped between two snapshots shows in the peak of the first only."""
    h = Heap(srv, {"name": "spike"})
    h.r("POST", "/snapshots", want=201)
    base = h.r("GET", "/memory", want=200)["bytes_in_use"]
    h.r("POST", "/objects", {"type": "bytes", "size": 1 << 20, "name": "big"}, want=201)
    h.r("DELETE", "/names/big", want=204)
    h.r("POST", "/snapshots", want=201)
    p1 = h.r("GET", "/snapshots/1/compare/2", want=200)["peak"]
    p2 = h.r("GET", "/snapshots/2/compare/1", want=200)["peak"]
    check(p1["bytes_in_use"] >= base + (1 << 20), "peak since 1: %r" % p1)
    check(p2["bytes_in_use"] < base + (1 << 20), "peak since 2: %r" % p2)
    return "peak %d over a base of %d" % (p1["bytes_in_use"], base)


TESTS = [t_default_collector, t_frequent_collections, t_collector_off, t_peak_of_a_spike]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--seed", type=int, default=None)
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else int(time.time())
    print("seed %d (repeat with --seed %d)" % (seed, seed), flush=True)
    srv = Server(a.binary, name="snapshots", args=["--admin-token", ADMIN]).start()
    passed = failed = 0
    try:
        for i, t in enumerate(TESTS):
            ok = run_case(srv, t.__name__, lambda t=t, i=i: t(srv, random.Random(seed * 31 + i)))
            passed, failed = passed + ok, failed + (not ok)
    finally:
        code = srv.stop()
    return report(srv, code, passed, failed)


if __name__ == "__main__":
    sys.exit(main())
