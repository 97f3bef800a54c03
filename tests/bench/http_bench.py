#!/usr/bin/env python3
"""http_bench.py — one http measurement: start a server on loopback, load it, stop it.

    http_bench.py --build-dir B --duration S heaplab get|post|batch
    http_bench.py --build-dir B --duration S --big-heap N heaplab get-big
    http_bench.py --build-dir B --duration S [--label NAME] ceiling get|post|batch
    http_bench.py --build-dir B --duration S redis   get|set
    http_bench.py ... --fsync always|everysec|no heaplab post | redis set

--fsync: heaplab keeps its heaps in a scratch --data-dir with that fsync
policy, redis appends to its AOF with the same appendfsync (without it both
keep everything in memory), so the cost of each durability promise is
measured side by side with the classic peer that makes the same promises.

heaplab is build/server/heaplab with a heap made for the run (its token goes
to the wrk script; get-big first fills it with N more lists, held by one list
through one batch, then GETs the same one object); ceiling is tests/bench/mhd_ceiling (libmicrohttpd with
heaplab's daemon flags, one constant JSON body) loaded with the same wrk
script; redis is Debian's redis-server loaded by redis-benchmark (no
pipelining).  Both loads keep 64 connections alive and use one client thread;
both servers get THREADS worker threads (redis has its one).  Prints
samples in bench.h's format: http.KIND (requests/s), http.KIND.p50 and
http.KIND.p99 (ms), impl heaplab, mhd-ceiling or redis."""
import argparse
import json
import os
import tempfile
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
CONNECTIONS = 64


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            sys.exit(f"http_bench: server exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"http_bench: nothing listens on port {port}")


def post_json(url, body, token=None):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read())


def emit(kind, impl, rps, p50_ms, p99_ms):
    param = f"{CONNECTIONS} conns"
    name = kind if "." in kind else f"http.{kind}"  # a label with a dot names its own group
    for metric, value, unit in ((name, rps, "req/s"), (f"{name}.p50", p50_ms, "ms"), (f"{name}.p99", p99_ms, "ms")):
        print(json.dumps({"metric": metric, "impl": impl, "param": param, "value": value, "unit": unit}), flush=True)


def run_wrk(kind, port, duration, env):
    env = dict(env, BENCH_LUA_DIR=os.path.join(HERE, "http"))
    out = subprocess.run(["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{duration}s", "--latency",
                          "-s", os.path.join(HERE, "http", kind + ".lua"), f"http://127.0.0.1:{port}"],
                         env=env, capture_output=True, text=True, timeout=duration + 60)
    line = [l for l in out.stdout.splitlines() if l.startswith("{")]
    if out.returncode != 0 or not line:
        sys.exit(f"http_bench: wrk failed: {out.stdout}{out.stderr}")
    r = json.loads(line[-1])
    if r["errors"] or r["status_errors"] or r["requests"] == 0:
        sys.exit(f"http_bench: wrk saw errors: {r}")
    return r["rps"], r["p50_us"] / 1000.0, r["p99_us"] / 1000.0


def start(cmd, port):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_listening(port, proc)
    return proc


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def bench_heaplab(args, port):
    cmd = [os.path.join(args.build_dir, "server", "heaplab"), "--port", str(port), "--bind", "127.0.0.1",
           "--threads", str(args.threads), "--data-dir", args.scratch or "none"]
    if args.fsync:
        cmd += ["--fsync", args.fsync]
    proc = start(cmd, port)
    try:
        base = f"http://127.0.0.1:{port}/v1/heaps"
        heap = post_json(base, {"name": "bench"})
        obj = post_json(f"{base}/{heap['id']}/objects", {"type": "list", "name": "obj"}, heap["token"])
        if args.kind == "get-big":
            fill(f"{base}/{heap['id']}/batch", heap["token"], args.big_heap)
        env = dict(os.environ, HEAP_ID=heap["id"], HEAP_TOKEN=heap["token"], OBJECT_ID=str(obj["id"]))
        script = "get" if args.kind == "get-big" else args.kind
        emit(args.label or args.kind, "heaplab", *run_wrk(script, port, args.duration, env))
    finally:
        stop(proc)


def fill(url, token, n):
    """root = []; then n times: t = []; root.append(t) — one batch."""
    ops = [{"op": "create", "type": "list", "name": "root"}]
    for i in range(n):
        ops += [{"op": "create", "type": "list", "name": "t"}, {"op": "ref", "id": "$0", "target": f"${2 * i + 1}"}]
    post_json(url, {"ops": ops}, token)


def bench_ceiling(args, port):
    proc = start([os.path.join(args.build_dir, "tests", "bench", "mhd_ceiling"), str(port), str(args.threads)], port)
    try:
        env = dict(os.environ, HEAP_ID="h", HEAP_TOKEN="t", OBJECT_ID="1")
        emit(args.label or args.kind, "mhd-ceiling", *run_wrk(args.kind, port, args.duration, env))
    finally:
        stop(proc)


def bench_redis(args, port):
    aof = ["--appendonly", "yes", "--appendfsync", args.fsync, "--dir", args.scratch] if args.fsync else \
        ["--appendonly", "no"]
    proc = start(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", *aof,
                  "--protected-mode", "no"], port)
    try:
        n = max(10000, int(args.duration * 60000))
        out = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", str(CONNECTIONS),
                              "-n", str(n), "-t", args.kind, "-P", "1", "--csv"],
                             capture_output=True, text=True, timeout=args.duration * 10 + 60)
        rows = [l.replace('"', "").split(",") for l in out.stdout.splitlines()]
        head = next((r for r in rows if r[0] == "test"), None)
        row = next((r for r in rows if r[0].lower() == args.kind), None)
        if out.returncode != 0 or head is None or row is None:
            sys.exit(f"http_bench: redis-benchmark failed: {out.stdout}{out.stderr}")
        col = dict(zip(head, row))
        emit(args.label or ("get" if args.kind == "get" else "post"), "redis", float(col["rps"]), float(col["p50_latency_ms"]),
             float(col["p99_latency_ms"]))
    finally:
        stop(proc)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build-dir", required=True)
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--big-heap", type=int, default=50000, help="get-big: lists added to the heap first")
    p.add_argument("--label", help="the metric's name instead of the kind (http.LABEL)")
    p.add_argument("--fsync", choices=["always", "everysec", "no"], help="durable: journal (heaplab) / AOF (redis)")
    p.add_argument("server", choices=["heaplab", "ceiling", "redis"])
    p.add_argument("kind", choices=["get", "post", "batch", "set", "get-big"])
    args = p.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as scratch:
        args.scratch = scratch if args.fsync else None
        {"heaplab": bench_heaplab, "ceiling": bench_ceiling, "redis": bench_redis}[args.server](args, port)


if __name__ == "__main__":
    main()
