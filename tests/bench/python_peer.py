#!/usr/bin/env python3
"""python_peer.py — the CPython side of the gc, refcount and memory benches.

Builds the same graphs as tests/bench/graph.c, with the same statements run
at module level (names are globals there as in heaplab), and prints samples
in bench.h's format:

    python_peer.py gc chain|pairs|ring N    one gc.collect(), ns per object
    python_peer.py refcount churn N         a = []; b = a; del b   N times
    python_peer.py refcount cascade N       del root, root a chain of N lists
    python_peer.py memory N                 N empty lists in one list: RSS growth,
                                            tracemalloc growth (bytes asked for) and
                                            the same rounded up to pymalloc's blocks

The collector is disabled while building (gc.disable()) and the interpreter's
own objects are moved out of the way first (gc.freeze()), so a collection
sees only the graph, as heaplab's does.  The process leaves with os._exit:
tearing millions of objects down is not measured.
"""
import gc
import json
import os
import sys
import time

CHAIN = """
root = []
for _ in range(n - 1):
    root = [root]
"""
PAIRS = """
root = []
for k in range(n // 2):
    a = []
    b = [a]
    a.append(b)
    if k % 2 == 0:
        root.append(a)
if n >= 2:
    del a, b
"""
RING = """
first = []
cur = first
for _ in range(1, n):
    cur = [cur]
first.append(cur)
del first, cur
"""
SHAPES = {"chain": (CHAIN, lambda n: 0), "pairs": (PAIRS, lambda n: (n // 2 // 2) * 2), "ring": (RING, lambda n: n)}
CHURN = """
for _ in range(n):
    a = []
    b = a
    del b
"""
CONTAINERS = """
root = []
for _ in range(n):
    c = []
    root.append(c)
del c
"""


def emit(metric, param, value, unit):
    print(json.dumps({"metric": metric, "impl": "cpython", "param": str(param), "value": value, "unit": unit}),
          flush=True)


def module(n):
    """A fresh module namespace holding n."""
    return {"__name__": "__bench__", "n": n}


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def bench_gc(shape, n):
    code, garbage = SHAPES[shape]
    gc.disable()
    gc.freeze()
    g = module(n)
    exec(code, g)
    t0 = time.perf_counter_ns()
    collected = gc.collect()
    dt = time.perf_counter_ns() - t0
    if collected != garbage(n):
        sys.exit(f"python_peer: gc {shape} {n} collected {collected}, expected {garbage(n)}")
    emit("gc." + shape, n, dt / n, "ns/object")


def bench_refcount(kind, n):
    gc.disable()
    g = module(n)
    if kind == "churn":
        code = compile(CHURN, "<churn>", "exec")
        t0 = time.perf_counter_ns()
        exec(code, g)
        emit("refcount.churn", n, (time.perf_counter_ns() - t0) / n, "ns/iteration")
    else:
        exec(CHAIN, g)
        code = compile("del root", "<cascade>", "exec")
        t0 = time.perf_counter_ns()
        exec(code, g)
        emit("refcount.cascade", n, (time.perf_counter_ns() - t0) / n, "ns/object")


def bench_memory(n):
    import tracemalloc
    gc.disable()
    param = f"{n} lists"
    g = module(n)
    code = compile(CONTAINERS, "<containers>", "exec")
    rss0 = rss_bytes()
    exec(code, g)
    rss1 = rss_bytes()
    del g["root"]
    tracemalloc.start()
    g = module(n)
    before = tracemalloc.get_traced_memory()[0]
    exec(code, g)
    after = tracemalloc.get_traced_memory()[0]
    # tracemalloc counts the bytes asked for; pymalloc hands out whole 16-byte
    # size classes up to 512 bytes, as heaplab's hl_alloc_bytes_in_use counts.
    traces = tracemalloc.take_snapshot().traces._traces
    blocks = sum((t[1] + 15) // 16 * 16 if t[1] <= 512 else t[1] for t in traces)
    tracemalloc.stop()
    emit("memory.accounted", param, (after - before) / n, "bytes/object")
    emit("memory.blocks", param, blocks / n, "bytes/object")
    emit("memory.rss", param, (rss1 - rss0) / n, "bytes/object")


def count(s):
    s = s.lower()
    mult = 1000 if s.endswith("k") else 1000000 if s.endswith("m") else 1
    return int(float(s.rstrip("km")) * mult)


def main(argv):
    if len(argv) == 4 and argv[1] == "gc" and argv[2] in SHAPES:
        bench_gc(argv[2], count(argv[3]))
    elif len(argv) == 4 and argv[1] == "refcount" and argv[2] in ("churn", "cascade"):
        bench_refcount(argv[2], count(argv[3]))
    elif len(argv) == 3 and argv[1] == "memory":
        bench_memory(count(argv[2]))
    else:
        sys.exit(__doc__)
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv)
