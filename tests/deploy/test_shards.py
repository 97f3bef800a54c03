#!/usr/bin/env python3
"""Scale-out through nginx: three heaplab shards behind deploy/nginx/heaplab.conf.

Starts three heaplab processes (--shard s0/s1/s2) and an nginx with a
private prefix, all on loopback ports, then checks that heaps are created on
every shard, that every request about a heap is served by its owner, and
that stopping one shard makes only its heaps answer 503 problem+json while
the others keep working.  Prints one line per check and `N passed, N failed`.
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ADMIN = "admin-secret-for-the-shard-test"
SHARDS = ["s0", "s1", "s2"]
results = {"passed": 0, "failed": 0}


def check(ok, what, detail=""):
    results["passed" if ok else "failed"] += 1
    print(("ok " if ok else "FAIL ") + what + ("" if ok else ": " + detail))
    return ok


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(base, method, path, body=None, token=ADMIN):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + token)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            raw = r.read()
            return r.status, r.headers.get("Content-Type", ""), json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = raw.decode(errors="replace")
        return e.code, e.headers.get("Content-Type", ""), parsed


def wait_http(base, what, proc):
    for _ in range(200):
        if proc.poll() is not None:
            sys.exit("test_shards: %s exited early" % what)
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1):
                return
        except (OSError, urllib.error.HTTPError):
            time.sleep(0.05)
    sys.exit("test_shards: %s did not come up" % what)


def nginx_conf(prefix, repo, port, shard_ports):
    ups = []
    for shard, p in shard_ports.items():
        ups.append("upstream heaplab_%s { server 127.0.0.1:%d; keepalive 8; }" % (shard, p))
    ups.append("upstream heaplab_any {\n%s\n    keepalive 8;\n}" %
               "\n".join("    server 127.0.0.1:%d;" % p for p in shard_ports.values()))
    open(os.path.join(prefix, "upstreams.conf"), "w").write("\n".join(ups) + "\n")
    routing = open(os.path.join(repo, "deploy/nginx/heaplab.conf")).read()
    # The only change to the shipped file: this test's loopback port.
    routing = routing.replace("listen 8080;", "listen 127.0.0.1:%d;" % port).replace("listen [::]:8080;", "")
    open(os.path.join(prefix, "heaplab.conf"), "w").write(routing)
    main = """
daemon off;
worker_processes 1;
pid %(p)s/nginx.pid;
error_log %(p)s/error.log warn;
user root root;
events { worker_connections 256; }
http {
    access_log %(p)s/access.log;
    client_body_temp_path %(p)s/body;
    proxy_temp_path %(p)s/proxy;
    fastcgi_temp_path %(p)s/fastcgi;
    uwsgi_temp_path %(p)s/uwsgi;
    scgi_temp_path %(p)s/scgi;
    include %(p)s/upstreams.conf;
    include %(p)s/heaplab.conf;
}
""" % {"p": prefix}
    path = os.path.join(prefix, "nginx.conf")
    open(path, "w").write(main)
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--repo", required=True)
    ap.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    args = ap.parse_args()
    if not os.path.exists(args.nginx):
        sys.exit("test_shards: nginx not found (deploy/setup test installs nginx-light)")
    prefix = tempfile.mkdtemp(prefix="heaplab-nginx-")
    procs = {}
    shard_ports = {s: free_port() for s in SHARDS}
    try:
        for s, p in shard_ports.items():
            procs[s] = subprocess.Popen([args.binary, "--port", str(p), "--shard", s, "--admin-token", ADMIN],
                                        stderr=subprocess.DEVNULL)
            wait_http("http://127.0.0.1:%d" % p, "shard " + s, procs[s])
        port = free_port()
        conf = nginx_conf(prefix, args.repo, port, shard_ports)
        nginx = subprocess.Popen([args.nginx, "-p", prefix, "-c", conf], stderr=subprocess.PIPE)
        procs["nginx"] = nginx
        base = "http://127.0.0.1:%d" % port
        wait_http(base, "nginx", nginx)
        run_checks(base, shard_ports, procs)
    finally:
        for name, p in procs.items():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM if name != "nginx" else signal.SIGQUIT)
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(prefix, ignore_errors=True)
    print("%d passed, %d failed" % (results["passed"], results["failed"]))
    return 1 if results["failed"] else 0


def run_checks(base, shard_ports, procs):
    heaps = {s: [] for s in SHARDS}
    for _ in range(60):
        status, _, body = request(base, "POST", "/v1/heaps", {"name": "lab"})
        if status != 201:
            check(False, "create a heap through nginx", "status %d: %s" % (status, body))
            return
        shard = body["id"].split("-", 1)[0]
        heaps[shard].append(body)
        if all(len(v) >= 2 for v in heaps.values()):
            break
    check(all(len(v) >= 2 for v in heaps.values()), "new heaps land on every shard",
          str({s: len(v) for s, v in heaps.items()}))

    # Every heap is served by its owner, through nginx, with its own token.
    for shard, hs in heaps.items():
        for h in hs:
            path = "/v1/heaps/%s/objects" % h["id"]
            st, _, obj = request(base, "POST", path, {"type": "list", "name": "a"}, token=h["token"])
            ok = st == 201
            st2, _, got = request(base, "GET", "/v1/heaps/%s" % h["id"], token=h["token"])
            ok = ok and st2 == 200 and got["objects"] == 1
            owner = "http://127.0.0.1:%d" % shard_ports[shard]
            st3, _, _ = request(owner, "GET", "/v1/heaps/%s" % h["id"], token=h["token"])
            others = [request("http://127.0.0.1:%d" % p, "GET", "/v1/heaps/%s" % h["id"])[0]
                      for s, p in shard_ports.items() if s != shard]
            check(ok and st3 == 200 and others == [404, 404],
                  "heap %s is served by its owner %s only" % (h["id"], shard),
                  "through nginx %s/%s, owner %s, others %s" % (st, st2, st3, others))

    check_sse_through_nginx(base, heaps["s2"][0])

    st, ctype, body = request(base, "GET", "/v1/heaps/zz9-nosuchheap0")
    check(st in (404, 503) and "problem+json" in ctype, "an id of an unknown shard gets a problem", "%s %s" % (st, body))
    st, ctype, body = request(base, "GET", "/v1/heaps/nodash")
    check(st == 404 and "problem+json" in ctype and "shard" in json.dumps(body),
          "an id without a shard gets a clear 404", "%s %s" % (st, body))

    # One shard stops: only its heaps answer 503, the rest keep working.
    procs["s1"].send_signal(signal.SIGTERM)
    procs["s1"].wait(timeout=15)
    for shard, hs in heaps.items():
        for h in hs:
            st, ctype, body = request(base, "GET", "/v1/heaps/%s" % h["id"], token=h["token"])
            if shard == "s1":
                check(st == 503 and "problem+json" in ctype and "not answering" in body.get("detail", ""),
                      "heap %s on the stopped shard answers 503 problem+json" % h["id"], "%s %s" % (st, body))
            else:
                check(st == 200, "heap %s on live shard %s still answers" % (h["id"], shard), "%s %s" % (st, body))
    created = [request(base, "POST", "/v1/heaps", {})[0] for _ in range(6)]
    check(created == [201] * 6, "new heaps are still created on the live shards", str(created))
    st, _, text = request_text(base, "/metrics")
    check(st == 200 and "heaplab_heaps" in text, "metrics show heaps per process", str(st))


def check_sse_through_nginx(base, heap):
    """An event must cross nginx as it happens: nothing may buffer it."""
    host, port = base[len("http://"):].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    conn.request("GET", "/v1/heaps/%s/events" % heap["id"],
                 headers={"Accept": "text/event-stream", "Authorization": "Bearer " + heap["token"]})
    resp = conn.getresponse()
    request(base, "POST", "/v1/heaps/%s/objects" % heap["id"], {"type": "list"}, token=heap["token"])
    start, seen = time.time(), b""
    try:
        while b"event: free" not in seen and time.time() - start < 3:
            seen += resp.fp.read1(4096)
    except socket.timeout:
        pass
    conn.close()
    check(b"event: free" in seen, "an SSE event crosses nginx unbuffered within 3 s", repr(seen[:200]))


def request_text(base, path):
    try:
        with urllib.request.urlopen(base + path, timeout=10) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, "", ""


if __name__ == "__main__":
    sys.exit(main())
