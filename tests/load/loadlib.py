#!/usr/bin/env python3
"""Helpers shared by the load scripts (standard library only).

As a command:
  loadlib.py setup  --port P --admin T --heaps N --out FILE   create N heaps, write "ID TOKEN" lines
  loadlib.py check  --port P --file FILE [--admin T]          every heap's /check is {"ok":true}
  loadlib.py metric --port P --name NAME                            print one /metrics value (sum over labels)
"""
import argparse
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time


def call(port, method, path, body=None, token=None, timeout=30):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {}
        if token:
            headers["Authorization"] = "Bearer " + token
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        c.request(method, path, body=data, headers=headers)
        r = c.getresponse()
        raw = r.read()
        ctype = r.getheader("Content-Type", "")
        return r.status, (json.loads(raw) if raw and "json" in ctype else raw)
    finally:
        c.close()


class Server:
    """heaplab on an OS-chosen port (--port 0); stderr to a log file."""

    def __init__(self, binary, args, log=None):
        self.binary, self.args = binary, list(args)
        self.log = log or tempfile.NamedTemporaryFile(prefix="heaplab-load-", suffix=".log", delete=False).name
        self.proc, self.port = None, None

    def start(self):
        self.logf = open(self.log, "wb")
        self.proc = subprocess.Popen([self.binary, "--port", "0"] + self.args,
                                     stdout=subprocess.DEVNULL, stderr=self.logf)
        deadline = time.time() + 15
        while time.time() < deadline:
            m = re.search(r"listening on http://[^:]+:(\d+)/", self.log_text())
            if m:
                self.port = int(m.group(1))
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("server did not start:\n" + self.log_text())

    def alive(self):
        return self.proc.poll() is None

    def log_text(self):
        with open(self.log, encoding="utf-8", errors="replace") as f:
            return f.read()

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return -9


def create_heaps(port, n, admin=None, prefix="load"):
    heaps = []
    for i in range(n):
        st, j = call(port, "POST", "/v1/heaps", {"name": "%s-%d" % (prefix, i)}, token=admin)
        if st != 201:
            raise RuntimeError("creating heap %d: %d %r" % (i, st, j))
        st, o = call(port, "POST", "/v1/heaps/%s/objects" % j["id"], {"type": "list", "name": "root"},
                     token=j["token"])
        if st != 201 or o.get("id") != 1:
            raise RuntimeError("heap %s: root list is not object 1: %d %r" % (j["id"], st, o))
        heaps.append((j["id"], j["token"]))
    return heaps


def write_heaps(path, heaps):
    with open(path, "w") as f:
        for hid, tok in heaps:
            f.write("%s %s\n" % (hid, tok))


def read_heaps(path):
    with open(path) as f:
        return [tuple(line.split()[:2]) for line in f if line.strip()]


def check_heaps(port, heaps):
    """Returns a list of failure strings (empty when every /check passes)."""
    bad = []
    for hid, tok in heaps:
        st, j = call(port, "GET", "/v1/heaps/%s/check" % hid, token=tok)
        if st != 200 or j != {"ok": True}:
            bad.append("%s: %d %r" % (hid, st, j))
    return bad


def metrics(port):
    st, raw = call(port, "GET", "/metrics")
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, val = line.rpartition(" ")
        try:
            out[key] = float(val)
        except ValueError:
            pass
    return out


def metric_sum(m, name):
    return sum(v for k, v in m.items() if k == name or k.startswith(name + "{"))


def parse_wrk_result(text):
    for line in text.splitlines():
        if line.startswith("RESULT "):
            return {k: float(v) for k, v in (kv.split("=") for kv in line.split()[1:])}
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["setup", "check", "metric"])
    ap.add_argument("--name")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--admin")
    ap.add_argument("--heaps", type=int, default=100)
    ap.add_argument("--out")
    ap.add_argument("--file")
    a = ap.parse_args()
    if a.cmd == "setup":
        write_heaps(a.out, create_heaps(a.port, a.heaps, a.admin))
        return 0
    if a.cmd == "metric":
        print(int(metric_sum(metrics(a.port), a.name)))
        return 0
    heaps = read_heaps(a.file)
    bad = check_heaps(a.port, heaps)
    for b in bad[:10]:
        print("check failed:", b)
    print("%d heaps checked, %d inconsistent" % (len(heaps), len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
