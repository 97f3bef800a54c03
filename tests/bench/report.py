#!/usr/bin/env python3
"""report.py — turns a driver.py run (results/results.json) into
results/report.md (results/report-quick.md for --quick) with PNG plots
drawn by gnuplot.  The targets of the benchmark issue are checked here;
for a missed one after a full run, profile.py explains it with callgrind.

    report.py [--profile] [results/results.json]   rewrites the report of a saved run
                                                   (--profile: runs the callgrind profiles again)"""
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RUN = "tests/bench/run"


def find(rows, bench, peer=None, param=None):
    return [r for r in rows if r["bench"] == bench and (peer is None or r["peer"] == peer)
            and (param is None or r["param"] == param)]


def fmt(x):
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}" if abs(x) < 10 else f"{x:.1f}"


def mm(s):
    return f"{fmt(s['median'])} ({fmt(s['min'])}–{fmt(s['max'])})" if s["n"] > 1 else fmt(s["median"])


# ---- the targets: (text, rows selector, goal on the ratio ours/peer, how to show it, profile) ----
def targets(rows):
    out = []

    def speed(bench, peer, need, label):
        rs = find(rows, bench, peer)
        if not rs:
            return
        r = rs[0]["ratio"]
        out.append({"target": label, "measured": f"{1 / r['median']:.2f}× as fast "
                    f"(ratio {r['median']:.3f}, {r['min']:.3f}–{r['max']:.3f})",
                    "goal": f"ratio ≤ {1 / need:.3f}", "met": r["median"] <= 1 / need, "profile": "alloc"})

    speed("alloc.pairs", "cpython", 1.5, "alloc (a) pairs ≥ 1.5× CPython PyObject_Malloc")
    speed("alloc.window", "cpython", 1.5, "alloc (b) window ≥ 1.5× CPython PyObject_Malloc")
    speed("alloc.pairs", "mimalloc", 1.0, "alloc (a) pairs ≥ 1.0× mimalloc")
    speed("alloc.window", "mimalloc", 1.0, "alloc (b) window ≥ 1.0× mimalloc")
    for shape, what in (("chain", "all alive, deep"), ("pairs", "half garbage in 2-cycles"),
                        ("ring", "one ring of garbage")):
        rs = sorted(find(rows, f"gc.{shape}", "cpython"), key=lambda r: int(r["param"]))
        if rs:
            worst = max(r["ratio"]["median"] for r in rs)
            out.append({"target": f"gc {shape} ({what}) ≤ 0.5× CPython's time per object, every size",
                        "measured": ", ".join(f"{int(r['param']):,}: {r['ratio']['median']:.2f}" for r in rs),
                        "goal": "every ratio ≤ 0.5", "met": worst <= 0.5, "profile": "gc"})
        big = {r["param"]: r for r in find(rows, f"gc.{shape}.scaling") if r["param"].endswith("10,000,000")}
        lo, mid = big.get("100,000->10,000,000"), big.get("1,000,000->10,000,000")
        if lo:
            s = lo["ours"]["median"]
            extra = f"; from 1M: {mid['ours']['median']:.2f}× (CPython {mid['peer_value']['median']:.2f}×)" if mid else ""
            out.append({"target": f"gc {shape} linear to 10M (ns/object at 10M over 100k)",
                        "measured": f"{s:.2f}× (CPython {lo['peer_value']['median']:.2f}×){extra}",
                        "goal": "≤ 1.5×", "met": s <= 1.5, "profile": "gc"})
    for peer, need, label in (("mhd-ceiling", 0.8, "http GET ≥ 80% of the bare libmicrohttpd ceiling"),
                              ("redis", 1.0, "http GET above redis-benchmark's GET rate")):
        rs = find(rows, "http.get", peer)
        if rs:
            r = rs[0]["ratio"]
            ok = r["median"] >= need if peer != "redis" else r["median"] > need
            out.append({"target": label, "measured": f"{r['median']:.3f} ({r['min']:.3f}–{r['max']:.3f})",
                        "goal": f"ratio {'≥' if peer != 'redis' else '>'} {need}", "met": ok, "profile": "http"})
    for bench, label in (("memory.accounted", "memory ≤ CPython bytes/object (allocator accounting vs tracemalloc)"),
                         ("memory.blocks", "memory ≤ CPython bytes/object (both in pymalloc blocks)"),
                         ("memory.rss", "memory ≤ CPython bytes/object (RSS growth)")):
        rs = find(rows, bench, "cpython")
        if rs:
            r = rs[0]
            out.append({"target": label, "measured": f"{r['ratio']['median']:.3f} ({fmt(r['ours']['median'])} vs "
                        f"{fmt(r['peer_value']['median'])} B)", "goal": "ratio ≤ 1.0 (±0.5%)",
                        "met": r["ratio"]["median"] <= 1.005, "profile": "memory"})
    return out


# ---- plots ----
def gnuplot(script, tmp):
    path = os.path.join(tmp, "plot.gp")
    with open(path, "w") as f:
        f.write(script)
    subprocess.run(["gnuplot", path], check=True, capture_output=True)


HEAD = 'set terminal pngcairo size 900,480 font "DejaVu Sans,10"\nset output "{out}"\nset title "{title}"\n'


def bars(rows_by_group, impls, out, title, ylabel, tmp, logy=False):
    """Clustered bars with min–max error bars: rows_by_group = [(group, {impl: stats})]."""
    dat = os.path.join(tmp, os.path.basename(out) + ".dat")
    with open(dat, "w") as f:
        for g, vals in rows_by_group:
            cols = []
            for i in impls:
                s = vals.get(i)
                cols += [s["median"], s["min"], s["max"]] if s else ["NaN"] * 3
            f.write('"%s" %s\n' % (g, " ".join(str(c) for c in cols)))
    plots = ", ".join(f'"{dat}" using {3 * k + 2}:{3 * k + 3}:{3 * k + 4}:xtic(1) title "{i}"'
                      for k, i in enumerate(impls))
    gnuplot(HEAD.format(out=out, title=title) +
            f'set ylabel "{ylabel}"\nset style data histogram\nset style histogram errorbars gap 1 lw 1\n'
            'set style fill solid 0.7 border -1\nset key top left\nset grid ytics\nset yrange [0:*]\n'
            + ("set logscale y\nset yrange [*:*]\nset key top right\n" if logy else "") + f"plot {plots}\n", tmp)


def plot_all(rows, extra, res, tmp):
    made = []
    allocs = ["heaplab", "cpython", "mimalloc", "jemalloc", "glibc"]

    def per_impl(bench):
        rs = find(rows, bench)
        if not rs:
            return None
        d = {"heaplab": rs[0]["ours"]}
        for r in rs:
            d[r["peer"]] = r["peer_value"]
        return d

    groups = [(m, per_impl("alloc." + m)) for m in ("pairs", "window", "build")]
    groups = [(g, v) for g, v in groups if v]
    if groups:
        bars(groups, allocs, os.path.join(res, "alloc.png"), "small-object allocation, 16-512 B (lower is better)",
             "ns per malloc+free (log scale)", tmp, logy=True)
        made.append("alloc.png")
    groups = [(m, per_impl("alloc." + m)) for m in ("peak_rss", "rss_free90_oldest", "rss_free90_scattered")]
    groups = [(g, v) for g, v in groups if v]
    if groups:
        bars(groups, allocs, os.path.join(res, "alloc_rss.png"), "RSS per block (1M blocks, mean 264 B asked)",
             "bytes per block", tmp)
        made.append("alloc_rss.png")
    gc = [r for r in rows if r["bench"] in ("gc.chain", "gc.pairs", "gc.ring") and r["peer"] == "cpython"]
    if gc:
        lines = []
        for shape in ("chain", "pairs", "ring"):
            rs = sorted((r for r in gc if r["bench"] == "gc." + shape), key=lambda r: int(r["param"]))
            for who in ("ours", "peer_value"):
                dat = os.path.join(tmp, f"gc.{shape}.{who}.dat")
                with open(dat, "w") as f:
                    for r in rs:
                        f.write(f"{r['param']} {r[who]['median']} {r[who]['min']} {r[who]['max']}\n")
                name = ("heaplab " if who == "ours" else "cpython ") + shape
                dt = 1 if who == "ours" else 2
                lines.append(f'"{dat}" using 1:2:3:4 with yerrorlines dt {dt} lw 2 title "{name}"')
        gnuplot(HEAD.format(out=os.path.join(res, "gc.png"), title="full collection, time per object (lower is better)")
                + 'set logscale x\nset xlabel "container objects in the graph"\nset ylabel "ns per object"\n'
                'set grid\nset key outside right\nset yrange [0:*]\nplot ' + ", ".join(lines) + "\n", tmp)
        made.append("gc.png")
    groups = []
    for kind in ("get", "post", "batch", "get-big"):
        rs = find(rows, "http." + kind)
        if rs:
            d = {"heaplab": rs[0]["ours"]}
            for r in rs:
                d[r["peer"]] = r["peer_value"]
            groups.append((kind, d))
    if groups:
        bars(groups, ["heaplab", "mhd-ceiling", "redis"], os.path.join(res, "http.png"),
             "loopback, 64 keep-alive connections (higher is better; post's redis bar is SET)",
             "requests/s (log scale)", tmp, logy=True)
        made.append("http.png")
    return made


# ---- the markdown ----
def buildtype(build):
    try:
        opts = json.loads(subprocess.run(["meson", "introspect", "--buildoptions", build], capture_output=True,
                                         text=True, timeout=30).stdout)
        return next(o["value"] for o in opts if o["name"] == "buildtype")
    except Exception:
        return "?"


def env_facts(meta):
    def out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
        except Exception:
            return "?"
    cpu = "?"
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except Exception:
        pass
    pkgs = out(["dpkg-query", "-W", "-f", "${Package} ${Version}\\n", "libmimalloc2.0", "libjemalloc2",
                "libpython3.11", "libmicrohttpd12", "redis-server", "wrk", "valgrind"])
    return [f"- CPU: {cpu}, {os.cpu_count()} cores; kernel {platform.release()}",
            f"- load average when the report was written: {out(['cat', '/proc/loadavg'])}",
            f"- compiler: {out(['cc', '--version']).splitlines()[0] if out(['cc', '--version']) else '?'}",
            f"- CPython peer: `{meta.get('peer_python', '?')}` {meta.get('peer_python_version', '?')}",
            "- packages: " + "; ".join(pkgs.splitlines())]


def table(rows, benches, title_peer=True):
    lines = ["| bench | param | heaplab | peer | peer's | unit | ratio ours/peer | better |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["bench"] in benches or any(r["bench"].startswith(b + ".") for b in benches):
            lines.append(f"| {r['bench']} | {r['param']} | {mm(r['ours'])} | {r['peer']} | {mm(r['peer_value'])} | "
                         f"{r['unit']} | {mm(r['ratio'])} | {r['better']} |")
    return "\n".join(lines)


SECTIONS = [
    ("alloc", "Small-object allocation", ["alloc"], ["alloc.png", "alloc_rss.png"],
     "Each allocator is its own binary (`bench_alloc_heaplab`, `_cpython` after `Py_InitializeEx(0)`, "
     "`_mimalloc`, `_jemalloc` — linking the library replaces malloc, which the binary checks — and `_glibc`), "
     "all on one precomputed sequence of sizes uniform in 16–512 bytes. One op = one allocation plus its free "
     "(heaplab's free is sized). (a) `pairs`: malloc then free at once; (b) `window`: 4,096 live blocks, a "
     "random one replaced each op; (c) `build`: 1M blocks allocated then all freed in order. pairs and window "
     "keep the best of three passes inside each process. Memory: RSS growth per block at 1M live blocks, "
     "then after freeing the oldest 90% (`rss_free90_oldest`) or nine blocks in ten spread over the range "
     "(`rss_free90_scattered`, survivors pin nearly every pool)."),
    ("gc", "Full collection", ["gc"], ["gc.png"],
     "`hl_op_collect(h, 2)` timed by the wall clock around it against `gc.collect()` timed inside python3 "
     "(built with `gc.disable()`, the interpreter's own objects set aside with `gc.freeze()`), on identical "
     "graphs of lists built by the same statements: `chain` (all alive, one structure n deep), `pairs` (n/2 "
     "2-cycles, every other one reachable from a root list: half garbage), `ring` (one ring of n lists, all "
     "garbage). The time includes freeing the garbage, as `gc.collect()`'s does. `gc.*.scaling` divides "
     "ns/object at the larger size by ns/object at the smaller (1.0 = linear); from 100k the graph still fits "
     "the caches, from 1M on it does not."),
    ("refcount", "Reference counting", ["refcount"], [],
     "`churn`: `a = []; b = a; del b`, N times at module level (each new list frees the one before); "
     "`cascade`: `del root` on a chain of N lists, which frees them all through the trashcan. Python runs the "
     "same statements with `exec` in a module namespace, so its figures include bytecode dispatch — as "
     "heaplab's include its op layer."),
    ("http", "HTTP", ["http"], ["http.png"],
     "wrk (one thread, 64 keep-alive connections, `--latency`) on loopback against `heaplab --threads 2` with "
     "the Lua scripts in `tests/bench/http/` carrying a heap's token: GET one object, POST create+bind "
     "(`x = []`), and a batch of 100 ops. The ceiling is `mhd_ceiling` (libmicrohttpd with heaplab's daemon "
     "flags, epoll internal thread + a pool of 2, answering a constant JSON body on the handler's second "
     "call) under the same script; redis is Debian's redis-server under redis-benchmark (64 clients, no "
     "pipelining: GET for get, SET for post). `get-big` GETs the same one object after the heap was filled "
     "with 50,000 more lists (one batch), against the same ceiling. Latency rows (`.p50`, `.p99`) are in ms. Load generator and "
     "server share the machine's 2 cores."),
    ("fsync", "Durability: what each fsync policy costs", ["fsync"], [],
     "The http POST load (create+bind, 64 connections on one heap) against `heaplab --data-dir` with each "
     "`--fsync` policy, every request committed to the heap's journal before its answer, side by side with "
     "redis-server under redis-benchmark SET with `appendonly yes` and the same `appendfsync`. The in-memory "
     "figures are the http section's `http.post`. Redis commits the writes of all clients of one event-loop "
     "pass with one fsync; heaplab fsyncs once per request under the heap's lock, so with `always` one "
     "heap's requests wait for each other's fsync (requests on different heaps do not)."),
    ("memory", "Memory per object", ["memory"], [],
     "N empty lists held by one list (`root.append([])`). `accounted`: heaplab's `hl_alloc_bytes_in_use` "
     "growth (whole size-class blocks) against tracemalloc's growth (bytes asked for); `blocks`: the same "
     "with CPython's tracemalloc sizes rounded up to pymalloc's 16-byte classes, the like-for-like figure; "
     "`rss`: process RSS growth."),
    ("scale", "Scale", ["scale"], [],
     "1,000 heaps of 10,000 objects each in one process (the `pairs` shape, half garbage) against one heap "
     "of the same 10M objects: RSS growth, creation time (heap + graph) and one full collection in every "
     "heap, all per object. A full collection of one 10M-object heap is in the gc section (param 10000000)."),
]


def portable(cmd, build):
    """A command as anyone can type it: BUILD/ for the build dir, paths from the checkout's top."""
    cmd = cmd.replace(build.rstrip("/") + "/", "BUILD/")
    cmd = re.sub(r"(?<!\S)" + re.escape(build.rstrip("/")) + r"(?=\s|$)", "BUILD", cmd)
    cmd = re.sub(r"(?<!\S)/\S*/(python3(\.\d+)?)(?=\s)", r"\1", cmd)
    return re.sub(r"(?<!\S)/\S*?/tests/bench/", "tests/bench/", cmd)


def write(doc, res, profile=False):
    meta, rows, extra = doc["meta"], doc["rows"], doc.get("extra", [])
    quick = meta.get("quick")
    suffix = "-quick" if quick else ""
    cmd = RUN + (" --quick" if quick else "")
    with tempfile.TemporaryDirectory(prefix="hl-report-") as tmp:
        plots = plot_all(rows, extra, res, tmp) if shutil.which("gnuplot") and not quick else []
    tg = targets(rows)
    missed = sorted({t["profile"] for t in tg if not t["met"]} & {"alloc", "gc", "http"})
    profiles = doc.get("profiles", {})   # kept in results.json, so a rewrite keeps them
    if profile and missed and shutil.which("valgrind"):
        import profile as prof
        profiles = prof.run(missed, meta["build_dir"])
        doc["profiles"] = profiles
        with open(os.path.join(res, "results-quick.json" if quick else "results.json"), "w") as f:
            json.dump(doc, f, indent=1)
    L = [f"# heaplab benchmarks{' (quick run)' if quick else ''}", "",
         f"Written by `{cmd}` on {time.strftime('%Y-%m-%d %H:%M %Z')}; the run took {meta['seconds']:.0f} s. "
         f"Every figure below is reproduced by `{RUN} --only BENCH` (the section says which); "
         "`tests/bench/results/results.json` keeps every sample.", "",
         "**Method.** Each case runs heaplab's program and its peers' one after the other, in reversed order "
         "every other round, on a machine shared with other work. Figures are medians over the rounds with "
         "min–max in brackets; a ratio is ours/peer taken inside one round, then its median (so it is not the "
         "ratio of the two medians). `better` says which way the unit is good.", ""]
    L += env_facts(meta) + [f"- heaplab and the bench programs built with meson buildtype `{buildtype(meta['build_dir'])}`", ""]
    L += ["## Targets", "", "| target | measured | goal | met |", "|---|---|---|---|"]
    for t in tg:
        L.append(f"| {t['target']} | {t['measured']} | {t['goal']} | {'yes' if t['met'] else '**no**'} |")
    L.append("")
    status = meta.get("status", {})
    failed = [b for b, s in status.items() if not s["ok"]]
    if failed:
        L += ["**Benches that crashed:** " + ", ".join(f"{b} ({status[b].get('error', '')[:300]})" for b in failed), ""]
    for key, title, benches, pngs, text in SECTIONS:
        if key not in status:
            continue
        L += [f"## {title}", "", f"Reproduce: `{RUN} --only {key}{' --quick' if quick else ''}`", "", text, ""]
        for p in pngs:
            if p in plots:
                L += [f"![{p}]({p})", ""]
        L += [table(rows, benches), ""]
        cmds = sorted({portable(c, meta["build_dir"]) for r in rows if r["bench"].split(".")[0] == key for c in r["commands"]
                       if not c.startswith("derived")})
        if cmds:
            L += ["<details><summary>programs run</summary>", "", "```"] + cmds + ["```", "", "</details>", ""]
        if key == "memory":
            rss = find(rows, "memory.rss", "cpython")
            acc = find(rows, "memory.blocks", "cpython")
            if rss and acc:
                over = rss[0]["ours"]["median"] - acc[0]["ours"]["median"]
                L += [f"heaplab's RSS exceeds its block accounting by {over:.1f} bytes per object: the id map "
                      "(core/idmap.c: one 8-byte slot per id, in 32 KiB pages) is that overhead; CPython has no "
                      "id table (an object's id is its address).", ""]
    if profiles or missed:
        L += ["## Why targets are missed (callgrind)", "",
              "Instruction counts from `valgrind --tool=callgrind` on small inputs (perf is not available); "
              f"rerun with `python3 tests/bench/profile.py --build-dir BUILD {' '.join(missed)}`.", ""]
        for name in missed:
            L += [f"### {name}", "", profiles.get(name, "(not profiled in this run)"), ""]
        if "memory" in {t["profile"] for t in tg if not t["met"]}:
            L += ["### memory", "", "No profile needed: the allocator accounting is equal to CPython's once both "
                  "count whole blocks (`memory.blocks`); the RSS gap is heaplab's id map, 8 bytes per object "
                  "(see the memory section).", ""]
    path = os.path.join(res, f"report{suffix}.md")
    with open(path, "w") as f:
        f.write("\n".join(L))
    print(f"report: {path}", file=sys.stderr)
    return path


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--profile"]
    src = args[0] if args else os.path.join(HERE, "results", "results.json")
    with open(src) as f:
        d = json.load(f)
    write(d, os.path.dirname(os.path.abspath(src)), profile="--profile" in sys.argv)
