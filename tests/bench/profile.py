#!/usr/bin/env python3
"""profile.py — callgrind instruction counts behind the targets heaplab misses.

perf is not available here, so each profile runs the heaplab side (and where
it helps the peer) under valgrind --tool=callgrind on a small input, divides
instructions by operations, and names the functions with the most
instructions of their own (self cost).  Used by report.py after a full run;
also runnable alone:  profile.py --build-dir B alloc|gc|http"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LINE = re.compile(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(.*)$")


def callgrind(argv, out, cache=False, only=None):
    """Runs argv under callgrind into out (counting only inside function `only` if given)."""
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
    if cache:
        cmd.append("--cache-sim=yes")
    if only:
        cmd.append(f"--toggle-collect={only}")
    p = subprocess.run(cmd + argv, capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        raise RuntimeError(f"callgrind {' '.join(argv)}: {p.stderr[-1500:]}")
    return p.stdout


def annotate(out, inclusive=False, event="Ir"):
    """[(cost, function, object)] sorted by cost, and the program total."""
    p = subprocess.run(["callgrind_annotate", "--threshold=100", f"--inclusive={'yes' if inclusive else 'no'}",
                        f"--show={event}", f"--sort={event}", out], capture_output=True, text=True, check=True)
    rows, total = [], 0
    for line in p.stdout.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        cost, rest = int(m.group(1).replace(",", "")), m.group(2).strip()
        if rest.startswith("PROGRAM TOTALS"):
            total = cost
            continue
        fn = rest.split(":", 1)[1] if ":" in rest else rest
        obj = ""
        if " [" in fn:
            fn, obj = fn.split(" [", 1)
            obj = os.path.basename(obj.rstrip("]"))
        rows.append((cost, fn.strip(), obj))
    return rows, total


def cost_of(rows, names):
    return sum(c for c, fn, _ in rows if fn in names)


def top(rows, total, n=8, per=1.0, unit="op"):
    lines = ["| function (self) | object | share | instructions per " + unit + " |", "|---|---|---|---|"]
    for cost, fn, obj in rows[:n]:
        lines.append(f"| `{fn}` | {obj} | {100.0 * cost / total:.1f}% | {cost / per:.1f} |")
    return "\n".join(lines)


def profile_alloc(build, tmp):
    b = os.path.join(build, "tests", "bench")
    n = 200000
    ops = 3 * n   # pairs and window run three passes
    md = ["In *pairs* one block is live at a time, so every free empties its pool: each op hands the "
          "pool back to its arena (`release_pool` → `arena_gained_pool`, keeping `usable_arenas` and "
          "`nfp2lasta` sorted) and the next malloc takes one again (`take_pool` → `init_pool` → "
          "`carve_block`), the path CPython's pymalloc takes too. *window* mostly stays inside one pool's "
          "free list."]
    for mode in ("pairs", "window"):
        res = {}
        for impl, fns in (("heaplab", ("hl_alloc_malloc", "hl_alloc_free")),
                          ("cpython", ("PyObject_Malloc", "PyObject_Free")),
                          ("mimalloc", ("mi_malloc", "mi_free", "malloc", "free"))):
            exe = os.path.join(b, "bench_alloc_" + impl)
            if not os.path.exists(exe):
                continue
            out = os.path.join(tmp, f"alloc.{mode}.{impl}")
            callgrind([exe, mode, str(n)], out)
            incl, _ = annotate(out, inclusive=True)
            self_rows, total = annotate(out)
            res[impl] = (cost_of(incl, fns) / ops, self_rows, total)
        line = ", ".join(f"{k}: **{v[0]:.0f}**" for k, v in res.items())
        md.append(f"*{mode}* — instructions per op inside the allocator's malloc+free (inclusive): {line}.")
        if "heaplab" in res:
            _, rows, total = res["heaplab"]
            rows = [r for r in rows if r[1].startswith("hl_alloc")]
            md.append(top(rows, total, 2, per=ops) + "\n")
    return "\n\n".join(md)


def profile_gc(build, tmp):
    b = os.path.join(build, "tests", "bench")
    n = 200000
    md = []
    for shape in ("chain", "pairs", "ring"):
        out = os.path.join(tmp, f"gc.{shape}")
        callgrind([os.path.join(b, "bench_gc"), shape, str(n)], out, cache=True, only="hl_op_collect")
        rows, total = annotate(out)
        _, d1 = annotate(out, event="D1mr")
        _, ll = annotate(out, event="DLmr")
        md.append(f"*{shape}, {n:,} objects* — inside `hl_op_collect`: **{total / n:.0f}** instructions, "
                  f"{d1 / n:.2f} L1 and {ll / n:.3f} last-level data-read misses per object "
                  "(callgrind's cache model). Functions with the most instructions of their own "
                  "during the collection:\n\n" + top(rows, total, 10, per=n, unit="object") + "\n")
    return "\n\n".join(md)


def wait_port(port, timeout=60.0):
    import socket
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {port}")


def http_under_callgrind(name, argv, port, out, setup):
    sys.path.insert(0, HERE)
    import http_bench
    proc = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"] + argv,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        env = setup(port)
        env["BENCH_LUA_DIR"] = os.path.join(HERE, "http")
        p = subprocess.run(["wrk", "-t1", "-c4", "-d5s", "-s", os.path.join(HERE, "http", "get.lua"),
                            f"http://127.0.0.1:{port}"], env=env, capture_output=True, text=True, timeout=120)
        r = json.loads([l for l in p.stdout.splitlines() if l.startswith("{")][-1])
    finally:
        proc.terminate()
        proc.wait(timeout=120)
    return r["requests"]


def profile_http(build, tmp):
    sys.path.insert(0, HERE)
    import http_bench
    md = []
    port = http_bench.free_port()

    def heap_setup(port):
        base = f"http://127.0.0.1:{port}/v1/heaps"
        heap = http_bench.post_json(base, {"name": "profile"})
        obj = http_bench.post_json(f"{base}/{heap['id']}/objects", {"type": "list", "name": "obj"}, heap["token"])
        return dict(os.environ, HEAP_ID=heap["id"], HEAP_TOKEN=heap["token"], OBJECT_ID=str(obj["id"]))

    out = os.path.join(tmp, "http.heaplab")
    reqs = http_under_callgrind("heaplab", [os.path.join(build, "server", "heaplab"), "--port", str(port),
                                            "--threads", "2"], port, out, heap_setup)
    rows, total = annotate(out)
    incl, _ = annotate(out, inclusive=True)
    port2 = http_bench.free_port()
    out2 = os.path.join(tmp, "http.ceiling")
    reqs2 = http_under_callgrind("ceiling", [os.path.join(build, "tests", "bench", "mhd_ceiling"), str(port2), "2"],
                                 port2, out2, lambda p: dict(os.environ, HEAP_ID="h", HEAP_TOKEN="t", OBJECT_ID="1"))
    rows2, total2 = annotate(out2)
    memset = lambda rs: sum(c for c, fn, _ in rs if fn.startswith("__memset"))
    per, per2 = total / max(reqs, 1), total2 / max(reqs2, 1)
    md.append(f"*GET one object* — heaplab **{per:,.0f}** instructions per request ({reqs:,} requests, 4 "
              f"connections, under callgrind; start-up included), the bare libmicrohttpd ceiling **{per2:,.0f}** "
              f"({reqs2:,} requests). Of these, `memset` takes {memset(rows) / max(reqs, 1):,.0f} in heaplab and "
              f"{memset(rows2) / max(reqs2, 1):,.0f} in the ceiling: libmicrohttpd clearing the connection's "
              "memory pool (64 KiB, `--connection-memory`) between requests, a cost both servers pay. "
              "Functions with the most instructions of their own in heaplab's server:\n\n"
              + top(rows, total, 12, per=max(reqs, 1), unit="request"))
    skip = ("main", "(below main)", "start_thread", "clone3", "clone")
    mine = [r for r in incl if r[2] == "heaplab" and r[1] not in skip and not r[1].startswith("0x")]
    md.append("heaplab's own functions by inclusive cost (themselves and all they call) — where the "
              "difference to the ceiling goes:\n\n" + top(mine, total, 14, per=max(reqs, 1), unit="request")
              .replace("function (self)", "function (inclusive)"))
    return "\n\n".join(md)


PROFILES = {"alloc": profile_alloc, "gc": profile_gc, "http": profile_http}


def run(names, build):
    """{name: markdown} for the profiles asked for; a failing profile says why instead."""
    res = {}
    with tempfile.TemporaryDirectory(prefix="hl-callgrind-") as tmp:
        for name in names:
            t0 = time.monotonic()
            try:
                res[name] = PROFILES[name](build, tmp)
            except Exception as e:  # a profile is an explanation, not a bench: report and go on
                res[name] = f"(profile failed: {e})"
            print(f"  [profile {name}] {time.monotonic() - t0:.0f}s", file=sys.stderr, flush=True)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("names", nargs="+", choices=sorted(PROFILES))
    args = ap.parse_args()
    for name, text in run(args.names, args.build_dir).items():
        print(f"### {name}\n\n{text}\n")


if __name__ == "__main__":
    main()
