#!/usr/bin/env python3
"""driver.py — runs heaplab's benchmark suite (tests/bench/run calls it).

Every case is a group of programs (heaplab first, then its peers) that print
samples in bench.h's format.  A round runs each program of a case once, the
order reversed every other round so that neither side always runs on a
warmer or quieter machine; ratios are taken inside one round (ours / peer)
and their median reported with the median values.  One JSON line per peer
goes to stdout; results/results.json keeps every sample, min and max."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OURS = ("heaplab", "heaps")
UNPAIRED = ("alloc.payload",)   # the same for every allocator: kept for the report, not compared
BENCHES = ("alloc", "gc", "refcount", "http", "fsync", "memory", "scale")
# The CPython peer: Debian's python3.11 (built with PGO and LTO, the same 3.11 whose libpython the
# alloc bench embeds) rather than whatever python3 comes first in PATH.
PEER_PYTHON = "/usr/bin/python3.11" if os.path.exists("/usr/bin/python3.11") else sys.executable


class Sizes:
    def __init__(self, quick):
        q = quick
        self.rounds = 1 if q else 3         # big or slow cases
        self.small_rounds = 1 if q else 7   # cases of a second or less: more rounds tame a busy machine
        self.alloc_rounds = 1 if q else 7
        self.alloc_ops = "2M" if q else "10M"
        self.alloc_live = "200k" if q else "1M"
        self.gc_sizes = ["100k", "1M"] if q else ["100k", "1M", "3M"]
        self.gc_big = None if q else "10M"
        self.churn = "300k" if q else "2M"
        self.cascade = "300k" if q else "1M"
        self.memory = "300k" if q else "1M"
        self.heaps = "100" if q else "1000"
        self.http_seconds = 2 if q else 8
        self.big_heap = "20000" if q else "50000"


def cases(bench, s, build):
    """[(case label, [(impl, argv)], rounds)] of one bench."""
    b = os.path.join(build, "tests", "bench")
    py = [PEER_PYTHON, os.path.join(HERE, "python_peer.py")]
    http = [sys.executable, os.path.join(HERE, "http_bench.py"), "--build-dir", build,
            "--duration", str(s.http_seconds)]
    allocs = [a for a in ("heaplab", "cpython", "mimalloc", "jemalloc", "glibc")
              if os.path.exists(os.path.join(b, "bench_alloc_" + a))]
    out = []
    if bench == "alloc":
        for mode, n in (("pairs", s.alloc_ops), ("window", s.alloc_ops), ("build", s.alloc_live),
                        ("rss", s.alloc_live), ("rss-scattered", s.alloc_live)):
            out.append((f"alloc {mode}", [(a, [os.path.join(b, "bench_alloc_" + a), mode, n]) for a in allocs],
                        s.alloc_rounds))
    elif bench == "gc":
        for n in s.gc_sizes + ([s.gc_big] if s.gc_big else []):
            rounds = s.small_rounds if n in ("100k", "1M") else s.rounds
            for shape in ("chain", "pairs", "ring"):
                out.append((f"gc {shape} {n}", [("heaplab", [os.path.join(b, "bench_gc"), shape, n]),
                                                ("cpython", py + ["gc", shape, n])], rounds))
    elif bench == "refcount":
        for kind, n in (("churn", s.churn), ("cascade", s.cascade)):
            out.append((f"refcount {kind}", [("heaplab", [os.path.join(b, "bench_refcount"), kind, n]),
                                             ("cpython", py + ["refcount", kind, n])], s.small_rounds))
    elif bench == "http":
        for kind, redis in (("get", "get"), ("post", "set"), ("batch", None)):
            runs = [("heaplab", http + ["heaplab", kind]), ("mhd-ceiling", http + ["ceiling", kind])]
            if redis:
                runs.append(("redis", http + ["redis", redis]))
            out.append((f"http {kind}", runs, s.rounds))
        # GET one object of a heap that holds many more: shows what a request costs as the heap grows
        out.append(("http get-big", [("heaplab", http + ["--big-heap", s.big_heap, "heaplab", "get-big"]),
                                     ("mhd-ceiling", http + ["--label", "get-big", "ceiling", "get"])], s.rounds))
    elif bench == "fsync":
        # One POST = one journal commit: what each durability promise costs, next to Redis's AOF.
        for policy in ("no", "everysec", "always"):
            label = f"fsync.post-{policy}"
            out.append((f"fsync post {policy}", [("heaplab", http + ["--label", label, "--fsync", policy, "heaplab", "post"]),
                                          ("redis", http + ["--label", label, "--fsync", policy, "redis", "set"])],
                        s.rounds))
    elif bench == "memory":
        out.append(("memory", [("heaplab", [os.path.join(b, "bench_memory"), s.memory]),
                               ("cpython", py + ["memory", s.memory])], s.rounds))
    elif bench == "scale":
        out.append(("scale", [("heaps", [os.path.join(b, "bench_scale"), "heaps", s.heaps, "10k"]),
                              ("one-heap", [os.path.join(b, "bench_scale"), "one", s.heaps, "10k"])], s.rounds))
    return out


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run_program(argv, timeout):
    t0 = time.monotonic()
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    samples = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    if p.returncode != 0 or not samples:
        raise RuntimeError(f"{' '.join(argv)} exited {p.returncode}: {p.stderr.strip()[-2000:]}")
    return samples, time.monotonic() - t0


def better(unit):
    return "higher" if unit.endswith("/s") else "lower"


def stats(xs):
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def run_case(label, runs, rounds):
    """Returns result rows for one case, pairing ours with each peer round by round."""
    per_round = []
    for r in range(rounds):
        order = runs if r % 2 == 0 else list(reversed(runs))
        got = {}
        for impl, argv in order:
            samples, secs = run_program(argv, timeout=900)
            log(f"  [{label}] round {r + 1}/{rounds} {impl}: {secs:.1f}s")
            for smp in samples:
                got[(smp["metric"], smp["impl"], smp["param"])] = smp
        per_round.append(got)
    rows = []
    first = per_round[0]
    for (metric, impl, param), smp in first.items():
        if impl not in OURS or metric in UNPAIRED:
            continue
        for (m2, peer, p2) in first:
            if m2 != metric or p2 != param or peer in OURS:
                continue
            ours = [g[(metric, impl, param)]["value"] for g in per_round]
            theirs = [g[(metric, peer, param)]["value"] for g in per_round]
            ratios = [o / t if t else float("inf") for o, t in zip(ours, theirs)]
            rows.append({"bench": metric, "param": param, "unit": smp["unit"], "better": better(smp["unit"]),
                         "impl": impl, "peer": peer, "ours": stats(ours), "peer_value": stats(theirs),
                         "ratio": stats(ratios), "case": label,
                         "commands": [" ".join(a) for _, a in runs]})
    # metrics no peer measured (e.g. gc.*.reported, alloc.payload) are kept for the report
    extra = [{"bench": m, "param": p, "impl": i, "unit": first[(m, i, p)]["unit"],
              "value": stats([g[(m, i, p)]["value"] for g in per_round if (m, i, p) in g])}
             for (m, i, p) in first]
    return rows, extra


def scaling_rows(rows):
    """gc.SHAPE.scaling: ns/object at the largest size over ns/object at 100k, ours and CPython's."""
    out = []
    for shape in ("chain", "pairs", "ring"):
        by = {(r["param"], r["peer"]): r for r in rows if r["bench"] == f"gc.{shape}"}
        sizes = sorted({p for p, _ in by}, key=int)
        pairs = [(sizes[0], hi) for hi in sizes[1:]]
        if "1000000" in sizes:   # past the caches: how the per-object time grows from 1M on
            pairs += [("1000000", hi) for hi in sizes if int(hi) > 1000000]
        for lo, hi in pairs:
            if (lo, "cpython") not in by or (hi, "cpython") not in by:
                continue
            a, b = by[(lo, "cpython")], by[(hi, "cpython")]
            ours = b["ours"]["median"] / a["ours"]["median"]
            peer = b["peer_value"]["median"] / a["peer_value"]["median"]
            row = {"bench": f"gc.{shape}.scaling", "param": f"{int(lo):,}->{int(hi):,}", "unit": "x",
                   "better": "lower", "impl": "heaplab", "peer": "cpython", "ours": stats([ours]),
                   "peer_value": stats([peer]), "ratio": stats([ours / peer]), "case": "derived",
                   "commands": ["derived from the gc rows"]}
            out.append(row)
    return out


def public(row):
    return {"bench": row["bench"], "param": row["param"], "ours": round(row["ours"]["median"], 4),
            "peer": row["peer"], "peer_value": round(row["peer_value"]["median"], 4), "unit": row["unit"],
            "ratio": round(row["ratio"]["median"], 4), "better": row["better"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default=",".join(BENCHES), help="comma-separated benches (default: all)")
    ap.add_argument("--results", default=os.path.join(HERE, "results"))
    ap.add_argument("--no-profile", action="store_true", help="skip callgrind on missed targets")
    ap.add_argument("--no-report", action="store_true")
    args = ap.parse_args()
    only = [b for b in args.only.split(",") if b]
    for b in only:
        if b not in BENCHES:
            ap.error(f"unknown bench {b}; choose from {', '.join(BENCHES)}")
    sizes = Sizes(args.quick)
    t_start = time.monotonic()
    rows, extra, status = [], [], {}
    for bench in only:
        t0 = time.monotonic()
        log(f"[{bench}]")
        try:
            for label, runs, rounds in cases(bench, sizes, args.build_dir):
                r, e = run_case(label, runs, rounds)
                for row in r:
                    print(json.dumps(public(row)), flush=True)
                rows += r
                extra += e
            if bench == "gc":
                for row in scaling_rows(rows):
                    print(json.dumps(public(row)), flush=True)
                    rows.append(row)
            status[bench] = {"ok": True, "seconds": time.monotonic() - t0}
        except Exception as e:  # a crashed program fails its bench; the others still run
            log(f"[{bench}] FAILED: {e}")
            status[bench] = {"ok": False, "seconds": time.monotonic() - t0, "error": str(e)}
    os.makedirs(args.results, exist_ok=True)
    meta = {"quick": args.quick, "only": only, "seconds": time.monotonic() - t_start, "status": status,
            "argv": sys.argv[1:], "build_dir": args.build_dir, "peer_python": PEER_PYTHON,
            "peer_python_version": subprocess.run([PEER_PYTHON, "-c", "import sys; print(sys.version)"],
                                                  capture_output=True, text=True).stdout.strip()}
    doc = {"meta": meta, "rows": rows, "extra": extra}
    name = "results-quick.json" if args.quick else "results.json"
    with open(os.path.join(args.results, name), "w") as f:
        json.dump(doc, f, indent=1)
    if not args.no_report:
        import report
        report.write(doc, args.results, profile=not (args.quick or args.no_profile))
    passed = sum(1 for s in status.values() if s["ok"])
    failed = len(status) - passed
    log(f"suite took {time.monotonic() - t_start:.0f}s")
    print(f"{passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
