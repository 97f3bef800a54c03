#!/usr/bin/env python3
"""GET /v1/heaps/{h}/graph over real HTTP (suite 'server').

A heap of 1,000,000 objects (a root list holding 999,999 small lists, so
one object has 999,999 references) is exported while the server's RSS is
sampled every 50 ms: the export must be chunked (no Content-Length), valid
JSON with every node and edge, and the server must not grow by anything
like the document's size.  A client that reads slowly and hangs up must
neither grow the server nor leave the heap locked.  Prints the figures
(export size, seconds, peak RSS growth) for the notes.

Prints one line per case and a final "N passed, N failed".
"""
import argparse
import http.client
import json
import sys
import threading
import time

from harness import Server, report, run_case

ADMIN = "graph-admin-token-5e4d3c2b1a"
OBJECTS = 1_000_000
PER_BATCH = 125_000          # objects per batch request: two ops each, well under --max-body
RSS_LIMIT = 32 * 1024 * 1024


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def request(srv, method, path, token, body=None):
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=120)
    try:
        headers = {"Authorization": "Bearer " + token}
        if body is not None:
            headers["Content-Type"] = "application/json"
        c.request(method, path, body=body, headers=headers)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def rss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


class RssSampler(threading.Thread):
    """The server's peak RSS, sampled every 50 ms until stopped."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.base = pid, rss(pid)
        self.peak, self.done = self.base, threading.Event()

    def run(self):
        while not self.done.wait(0.05):
            self.peak = max(self.peak, rss(self.pid))

    def growth(self):
        self.done.set()
        self.join()
        return self.peak - self.base


class Prober(threading.Thread):
    """Another client's request on the same heap every 20 ms: the slowest
    answer shows how long the export keeps the heap's lock at a time."""

    def __init__(self, srv, heap, token):
        super().__init__(daemon=True)
        self.args, self.done, self.slowest, self.count = (srv, heap, token), threading.Event(), 0.0, 0

    def run(self):
        srv, heap, token = self.args
        while not self.done.wait(0.02):
            t0 = time.monotonic()
            status, _ = request(srv, "GET", "/v1/heaps/%s/names/root" % heap, token)
            check(status == 200, "probe: %d" % status)
            self.slowest, self.count = max(self.slowest, time.monotonic() - t0), self.count + 1

    def stop(self):
        self.done.set()
        self.join()
        return self.slowest


def build(srv, heap, token):
    """root = []; then 999,999 times: t = []; root.append(t)."""
    status, body = request(srv, "POST", "/v1/heaps/%s/objects" % heap, token, b'{"type": "list", "name": "root"}')
    check(status == 201, "create root: %d %r" % (status, body[:200]))
    root = json.loads(body)["id"]
    left = OBJECTS - 1
    while left:
        n = min(PER_BATCH, left)
        op = '{"op":"create","type":"list","name":"t"},{"op":"ref","id":%d,"target":"$%%d"}' % root
        ops = ",".join(op % (2 * i) for i in range(n))
        status, body = request(srv, "POST", "/v1/heaps/%s/batch" % heap, token, ('{"ops":[%s]}' % ops).encode())
        check(status == 200, "batch: %d %r" % (status, body[:300]))
        left -= n
    return root


def nodes_and_edges(data):
    """Parses the export (all of it: json.loads fails on anything invalid)
    keeping only node ids and edge ends, or Python would need gigabytes."""
    def small(pairs):
        if pairs and pairs[0][0] == "id":
            return pairs[0][1]
        if pairs and pairs[0][0] == "from":
            return (pairs[0][1], pairs[1][1], pairs[3][1] if pairs[2][1] == "index" else None)
        return dict(pairs)
    return json.loads(data, object_pairs_hook=small)


def case_million(ctx):
    srv, heap, token, root = ctx["srv"], ctx["heap"], ctx["token"], ctx["root"]
    sampler, prober = RssSampler(srv.proc.pid), Prober(srv, heap, token)
    sampler.start()
    prober.start()
    start = time.monotonic()
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=120)
    c.request("GET", "/v1/heaps/%s/graph" % heap, headers={"Authorization": "Bearer " + token})
    r = c.getresponse()
    headers = {k.lower(): v for k, v in r.getheaders()}
    chunks = []
    while True:
        b = r.read(1 << 20)
        if not b:
            break
        chunks.append(b)
    c.close()
    seconds = time.monotonic() - start
    growth, slowest = sampler.growth(), prober.stop()
    check(r.status == 200, "status %d" % r.status)
    check(headers.get("transfer-encoding") == "chunked", "not chunked: %r" % headers)
    check("content-length" not in headers, "a Content-Length: %r" % headers)
    check(headers.get("content-type") == "application/json", "content type %r" % headers.get("content-type"))
    data = b"".join(chunks)
    doc = nodes_and_edges(data)
    nodes, edges = doc["nodes"], doc["edges"]
    check(len(nodes) == OBJECTS, "%d nodes" % len(nodes))
    check(all(a < b for a, b in zip(nodes, nodes[1:])), "nodes not in id order")
    check(len(edges) == OBJECTS - 1, "%d edges" % len(edges))
    check(all(e[0] == root and e[2] == i for i, e in enumerate(edges)), "edges are not root[0..]")
    check(sorted(e[1] for e in edges) == [n for n in nodes if n != root], "edge targets are not the lists")
    check(doc["complete"] is True and "changed_during_export" not in doc, "not complete: %r" % doc.get("complete"))
    check(growth < RSS_LIMIT, "the server grew by %.1f MiB" % (growth / 2**20))
    check(prober.count > 0 and slowest < 1.0, "other requests waited %.0f ms" % (slowest * 1000))
    return ("%.1f MB in %.1f s (%.0f MB/s), server RSS %.0f MiB + peak growth %.1f MiB, "
            "%d requests meanwhile, slowest %.0f ms") % (
        len(data) / 1e6, seconds, len(data) / 1e6 / seconds, sampler.base / 2**20, growth / 2**20, prober.count,
        slowest * 1000)


def case_slow_client_hangs_up(ctx):
    """Backpressure: a reader that takes little makes the server make little."""
    srv, heap, token = ctx["srv"], ctx["heap"], ctx["token"]
    sampler = RssSampler(srv.proc.pid)
    sampler.start()
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    c.request("GET", "/v1/heaps/%s/graph?format=dot" % heap, headers={"Authorization": "Bearer " + token})
    r = c.getresponse()
    check(r.status == 200 and r.getheader("content-type") == "text/vnd.graphviz; charset=utf-8",
          "status %d, %r" % (r.status, r.getheader("content-type")))
    first = r.read(100_000)
    check(first.startswith(b"digraph heap {\n"), "not DOT: %r" % first[:40])
    time.sleep(1.0)
    c.close()
    growth = sampler.growth()
    check(growth < RSS_LIMIT, "the server grew by %.1f MiB" % (growth / 2**20))
    # The export let go of the heap's lock between batches and after the hang-up.
    t0 = time.monotonic()
    status, body = request(srv, "POST", "/v1/heaps/%s/objects" % heap, token, b'{"type": "int", "value": 1, "name": "x"}')
    check(status == 201, "create after the hang-up: %d %r" % (status, body[:200]))
    return "peak RSS growth %.1f MiB, next request %.0f ms" % (growth / 2**20, (time.monotonic() - t0) * 1000)


def case_change_during_export(ctx):
    """A request while the export runs goes through, and the export says so."""
    srv, heap, token = ctx["srv"], ctx["heap"], ctx["token"]
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
    c.request("GET", "/v1/heaps/%s/graph" % heap, headers={"Authorization": "Bearer " + token})
    r = c.getresponse()
    head = r.read(1 << 20)
    status, _ = request(srv, "POST", "/v1/heaps/%s/objects" % heap, token, b'{"type": "list", "name": "during"}')
    check(status == 201, "create during the export: %d" % status)
    doc = nodes_and_edges(head + r.read())
    c.close()
    check(doc["complete"] is False and doc["changed_during_export"] is True, "complete: %r" % doc.get("complete"))


CASES = [case_million, case_slow_client_hangs_up, case_change_during_export]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    a = ap.parse_args()
    srv = Server(a.binary, name="graph", args=["--admin-token", ADMIN, "--data-dir", "none"]).start()
    passed = failed = 0
    try:
        t0 = time.monotonic()
        status, body = request(srv, "POST", "/v1/heaps", ADMIN, b'{"name": "graph", "gc": {"enabled": false}}')
        check(status == 201, "create heap: %d" % status)
        h = json.loads(body)
        ctx = {"srv": srv, "heap": h["id"], "token": h["token"]}
        ctx["root"] = build(srv, ctx["heap"], ctx["token"])
        print("built %d objects in %.1f s" % (OBJECTS, time.monotonic() - t0), flush=True)
        for t in CASES:
            ok = run_case(srv, t.__name__, lambda t=t: t(ctx))
            passed, failed = passed + ok, failed + (not ok)
    finally:
        code = srv.stop()
    return report(srv, code, passed, failed)


if __name__ == "__main__":
    sys.exit(main())
