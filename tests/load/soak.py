#!/usr/bin/env python3
"""soak.py — long-running mix with heap churn; see soak.sh (not part of CI).

Rounds of --round seconds: each round creates --heaps fresh heaps, runs wrk
with tests/load/mix.lua against them (rate-limited with MIX_DELAY_MS), while
a churn thread creates, uses, checks and deletes short-lived heaps without
pause and a sampler records every --sample seconds: VmRSS, /metrics (heaps,
objects, allocator bytes, 5xx), the sum of arenas.allocated over the round's
heaps (GET /memory) and /check on every live heap.  After each round its
heaps are checked and deleted.  At the end every heap is deleted and the
server must return to its baseline:
  * heaplab_heaps, heaplab_objects and heaplab_heap_allocated_bytes are 0;
  * VmRSS at the end <= VmRSS baseline (after a warm-up round) + --rss-tolerance MiB.
Any 5xx, socket error, failed /check or a dead server fails the soak.
"""
import argparse
import csv
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loadlib  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ADMIN = "soak-admin-token-5f1e2d"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--minutes", type=float, default=10.5)
    ap.add_argument("--round", type=int, default=60, help="seconds per wrk round")
    ap.add_argument("--heaps", type=int, default=40, help="heaps per round")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--delay-ms", type=int, default=5, help="MIX_DELAY_MS for wrk")
    ap.add_argument("--sample", type=float, default=5.0)
    ap.add_argument("--rss-tolerance", type=float, default=16.0, help="MiB above the baseline")
    ap.add_argument("--csv", default="/tmp/heaplab-soak.csv")
    a = ap.parse_args()

    srv = loadlib.Server(a.binary, ["--admin-token", ADMIN, "--max-connections", "512"]).start()
    port = srv.port
    failures = []
    lock = threading.Lock()

    def fail(msg):
        with lock:
            if len(failures) < 50:
                failures.append(msg)
            print("FAIL:", msg, flush=True)

    rss_start = srv.rss_kib()
    # warm-up: the worker threads' malloc arenas and the first heap's arena
    warm = loadlib.create_heaps(port, 20, ADMIN, "warm")
    for hid, tok in warm:
        loadlib.call(port, "POST", "/v1/heaps/%s/batch" % hid, {"ops": [
            {"op": "create", "type": "int", "value": 123456, "name": "v"},
            {"op": "create", "type": "list", "items": ["$0"], "name": "w"}]}, token=tok)
        loadlib.call(port, "DELETE", "/v1/heaps/%s" % hid, token=tok)
    time.sleep(1)
    rss_base = srv.rss_kib()
    print("RSS start %d KiB, baseline after warm-up %d KiB" % (rss_start, rss_base), flush=True)

    live = {}          # heap id -> token, for the sampler's /check
    stop = threading.Event()
    churned = [0]

    def churn():
        i = 0
        while not stop.is_set():
            i += 1
            try:
                st, j = loadlib.call(port, "POST", "/v1/heaps", {"name": "churn-%d" % i}, token=ADMIN)
                if st != 201:
                    fail("churn create: %d %r" % (st, j))
                    time.sleep(1)
                    continue
                hid, tok = j["id"], j["token"]
                with lock:
                    live[hid] = tok
                ops = []
                for k in range(50):
                    ops += [{"op": "create", "type": "list", "name": "l%d" % k},
                            {"op": "ref", "id": "$%d" % len(ops), "target": "$%d" % len(ops)},
                            {"op": "create", "type": "str", "value": "x" * (k * 7), "name": "s%d" % k}]
                ops.append({"op": "collect"})
                st, r = loadlib.call(port, "POST", "/v1/heaps/%s/batch" % hid, {"ops": ops}, token=tok)
                if st != 200:
                    fail("churn batch: %d %r" % (st, str(r)[:200]))
                st, r = loadlib.call(port, "GET", "/v1/heaps/%s/check" % hid, token=tok)
                if st != 200:
                    fail("churn check: %d %r" % (st, r))
                with lock:
                    live.pop(hid, None)
                st, r = loadlib.call(port, "DELETE", "/v1/heaps/%s" % hid, token=tok)
                if st != 204:
                    fail("churn delete: %d %r" % (st, r))
                churned[0] += 1
                time.sleep(0.05)
            except Exception as e:  # noqa: BLE001
                fail("churn: %r" % e)
                time.sleep(1)

    samples = []
    round_heaps = []
    t0 = time.time()
    peak = [rss_base]

    def sample():
        m = loadlib.metrics(port)
        rss = srv.rss_kib()
        peak[0] = max(peak[0], rss)
        arenas = 0
        with lock:
            heaps = list(live.items())
        for hid, tok in heaps:
            st, j = loadlib.call(port, "GET", "/v1/heaps/%s/memory" % hid, token=tok)
            if st == 200:
                arenas += j["arenas"]["allocated"]
            st, j = loadlib.call(port, "GET", "/v1/heaps/%s/check" % hid, token=tok)
            if st == 200 and j != {"ok": True}:
                fail("check %s: %r" % (hid, j))
            elif st not in (200, 404):  # 404: a churn heap deleted meanwhile
                fail("check %s: %d %r" % (hid, st, j))
        m5 = sum(v for k, v in m.items() if k.startswith("heaplab_http_requests_total{") and 'code="5xx"' in k)
        row = {"t": round(time.time() - t0, 1), "rss_kib": rss, "heaps": int(loadlib.metric_sum(m, "heaplab_heaps")),
               "objects": int(loadlib.metric_sum(m, "heaplab_objects")),
               "alloc_bytes": int(loadlib.metric_sum(m, "heaplab_heap_allocated_bytes")),
               "arenas_allocated": arenas, "http_5xx": int(m5), "churned": churned[0]}
        samples.append(row)
        if m5:
            fail("/metrics counts %d 5xx" % m5)
        return row

    def sampler():
        while not stop.wait(a.sample):
            try:
                row = sample()
                if len(samples) % 6 == 1:
                    print("sample", row, flush=True)
            except Exception as e:  # noqa: BLE001
                fail("sampler: %r" % e)

    th = [threading.Thread(target=churn, daemon=True), threading.Thread(target=sampler, daemon=True)]
    for t in th:
        t.start()
    deadline = t0 + a.minutes * 60
    rnd = 0
    totals = {"requests": 0}
    while time.time() < deadline and srv.alive():
        rnd += 1
        secs = int(max(5, min(a.round, deadline - time.time())))
        round_heaps = loadlib.create_heaps(port, a.heaps, ADMIN, "soak%d" % rnd)
        with lock:
            live.update(dict(round_heaps))
        path = "/tmp/heaplab-soak-heaps.txt"
        loadlib.write_heaps(path, round_heaps)
        env = dict(os.environ, HEAPS_FILE=path, MIX_DELAY_MS=str(a.delay_ms))
        out = subprocess.run(["wrk", "-t1", "-c%d" % a.connections, "-d%ds" % secs, "--timeout", "10s",
                              "-s", os.path.join(HERE, "mix.lua"), "http://127.0.0.1:%d" % port],
                             env=env, capture_output=True, text=True)
        res = loadlib.parse_wrk_result(out.stdout)
        if res is None:
            fail("round %d: wrk printed no result: %s %s" % (rnd, out.stdout[-300:], out.stderr[-300:]))
        else:
            totals["requests"] += res["requests"]
            for k in ("connect_errors", "read_errors", "write_errors", "timeouts", "status5xx", "status4xx"):
                if res[k]:
                    fail("round %d: %s=%d" % (rnd, k, res[k]))
            print("round %d: %d requests, %.0f req/s, p99 %.2f ms, RSS %d KiB" %
                  (rnd, res["requests"], res["rps"], res["p99_ms"], srv.rss_kib()), flush=True)
        for b in loadlib.check_heaps(port, round_heaps):
            fail("round %d check: %s" % (rnd, b))
        with lock:
            for hid, _ in round_heaps:
                live.pop(hid, None)
        for hid, tok in round_heaps:
            st, _ = loadlib.call(port, "DELETE", "/v1/heaps/%s" % hid, token=tok)
            if st != 204:
                fail("delete %s: %d" % (hid, st))
    stop.set()
    for t in th:
        t.join(timeout=60)
    if not srv.alive():
        fail("the server died:\n" + srv.log_text()[-2000:])
    # every heap gone: the server must be back at its baseline
    st, j = loadlib.call(port, "GET", "/v1/heaps", token=ADMIN)
    for h in (j.get("heaps", []) if st == 200 else []):
        loadlib.call(port, "DELETE", "/v1/heaps/%s" % h["id"], token=ADMIN)
    time.sleep(2)
    end = sample()
    rss_end = end["rss_kib"]
    for k in ("heaps", "objects", "alloc_bytes"):
        if end[k] != 0:
            fail("after deleting every heap, %s = %d (want 0)" % (k, end[k]))
    if rss_end > rss_base + a.rss_tolerance * 1024:
        fail("RSS at the end %d KiB > baseline %d KiB + %.0f MiB" % (rss_end, rss_base, a.rss_tolerance))
    with open(a.csv, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(samples[0].keys()))
        w.writeheader()
        w.writerows(samples)
    code = srv.stop()
    if code != 0:
        fail("the server exited %r on SIGTERM" % code)
    print("SOAK %.1f min, %d rounds, %d wrk requests, %d churned heaps, %d samples (%s)" %
          (((time.time() - t0) / 60), rnd, totals["requests"], churned[0], len(samples), a.csv))
    print("SOAK RSS start %d KiB, baseline %d KiB, peak %d KiB, end %d KiB (tolerance +%.0f MiB over baseline)" %
          (rss_start, rss_base, peak[0], rss_end, a.rss_tolerance))
    print("%d passed, %d failed" % (0 if failures else 1, 1 if failures else 0))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
