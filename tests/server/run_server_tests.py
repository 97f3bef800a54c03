#!/usr/bin/env python3
"""Server-level tests for the heaplab binary (not the API contract).

Starts the real binary on free loopback ports with a temporary static
directory, checks what the server itself promises (routing, problems,
static files, body limits, keep-alive, CORS, timeouts, metrics, config,
logs, draining with an open event stream), and stops it with SIGTERM.
Prints one line per test and a final "N passed, N failed" line.
"""
import argparse
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

ADMIN = "test-admin-token-0123456789"
ORIGIN = "http://ok.example"
MAX_BODY = 4096
SECRET = "TOP-SECRET-OUTSIDE-STATIC"

FLAGS = ["--port", "--bind", "--admin-token", "--admin-token-file", "--threads", "--no-auth",
         "--allow-origin", "--max-body", "--max-heaps", "--max-objects", "--max-bytes",
         "--max-connections", "--connection-memory", "--idle-timeout", "--event-ring",
         "--static-dir", "--openapi", "--help", "--version"]

STATIC = {
    "index.html": ("<!doctype html><title>heaplab</title>", "text/html"),
    "style.css": ("body{}", "text/css"),
    "app.js": ("console.log(1)", "text/javascript"),
    "mod.mjs": ("export {}", "text/javascript"),
    "data.json": ("{}", "application/json"),
    "icon.svg": ("<svg/>", "image/svg+xml"),
    "img.png": ("PNG", "image/png"),
    "favicon.ico": ("ICO", "image/x-icon"),
    "notes.txt": ("notes", "text/plain"),
    "font.woff2": ("wOF2", "font/woff2"),
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One heaplab process; stderr goes to a file for the log checks."""

    def __init__(self, binary, args, env=None):
        self.binary, self.args, self.env = binary, args, env or {}
        self.proc = None
        self.log = tempfile.NamedTemporaryFile(prefix="heaplab-", suffix=".log", delete=False)

    def start(self):
        for _ in range(5):
            self.port = free_port()
            env = dict(os.environ, **self.env)
            self.proc = subprocess.Popen([self.binary, "--port", str(self.port)] + self.args,
                                         stdout=subprocess.DEVNULL, stderr=self.log, env=env)
            if self._wait_ready():
                return self
        raise RuntimeError("server did not start; log:\n" + self.log_text())

    def _wait_ready(self):
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False  # most likely the port was taken meanwhile: retry
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return True
            except OSError:
                time.sleep(0.05)
        self.proc.kill()
        return False

    def stop(self, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def log_text(self):
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    def conn(self, timeout=10):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None):
        c = self.conn()
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()


def raw_exchange(port, data, timeout=5.0):
    """Sends bytes as they are and reads until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            if not b:
                break
            chunks.append(b)
    return parse_response(b"".join(chunks))


def parse_response(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3})", lines[0]) if lines else None
    status = int(m.group(1)) if m else 0
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


def get_raw(port, target):
    req = "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % target
    return raw_exchange(port, req.encode())


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def check_problem(status, headers, body, want):
    check(status == want, "status %d, want %d: %r" % (status, want, body[:200]))
    check(headers.get("content-type", "").startswith("application/problem+json"),
          "content-type %r" % headers.get("content-type"))
    p = json.loads(body)
    check(p.get("status") == want and p.get("type") == "about:blank" and p.get("title"),
          "problem body %r" % p)
    check(headers.get("x-content-type-options") == "nosniff", "no nosniff header")


# ---- the tests; each takes the shared context ----

def t_health_ready(ctx):
    s = ctx["main"]
    st, h, b = s.request("GET", "/healthz")
    check(st == 200 and json.loads(b) == {"status": "ok"}, "healthz %d %r" % (st, b))
    check(h.get("x-content-type-options") == "nosniff", "healthz lacks nosniff")
    st, h, b = s.request("GET", "/readyz")
    check(st == 200 and json.loads(b) == {"ready": True}, "readyz %d %r" % (st, b))


def t_not_found(ctx):
    for path in ["/nope", "/v2/heaps", "/healthz/extra", "/sub/"]:
        st, h, b = ctx["main"].request("GET", path)
        check_problem(st, h, b, 404)


def t_method_not_allowed(ctx):
    for method, path in [("POST", "/healthz"), ("DELETE", "/metrics"), ("PUT", "/readyz"),
                         ("POST", "/openapi.json"), ("POST", "/index.html")]:
        st, h, b = ctx["main"].request(method, path)
        check_problem(st, h, b, 405)
        check("GET" in h.get("allow", ""), "%s %s: Allow %r" % (method, path, h.get("allow")))


def t_static_types(ctx):
    for name, (content, ctype) in STATIC.items():
        st, h, b = ctx["main"].request("GET", "/" + name)
        check(st == 200 and b.decode() == content, "%s: %d %r" % (name, st, b[:80]))
        check(h.get("content-type", "").startswith(ctype), "%s: type %r" % (name, h.get("content-type")))
        check(h.get("x-content-type-options") == "nosniff", name + ": no nosniff")


def t_static_index_csp(ctx):
    st, h, b = ctx["main"].request("GET", "/")
    check(st == 200 and b"<title>heaplab</title>" in b, "index: %d %r" % (st, b[:80]))
    check("default-src 'self'" in h.get("content-security-policy", ""), "CSP %r" % h)
    st, h, b = ctx["main"].request("HEAD", "/style.css")
    check(st == 200 and b == b"" and h.get("content-length") == "6", "HEAD: %d %r %r" % (st, h, b))
    st, h, b = ctx["main"].request("GET", "/inside-link.css")
    check(st == 200 and b == b"body{}", "symlink inside the dir: %d" % st)


def t_static_traversal(ctx):
    targets = ["/..%2fsecret.txt", "/..%2F..%2Fsecret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt",
               "/../secret.txt", "//etc/passwd", "/escape.txt", "/sub/../../secret.txt",
               "/.hidden", "/sub", "/sub/", "/%2fetc%2fpasswd", "/..\\secret.txt", "/.%2e/secret.txt"]
    for t in targets:
        st, h, b = get_raw(ctx["main"].port, t)
        check(st in (400, 403, 404), "%s: status %d" % (t, st))
        check(SECRET.encode() not in b and b"root:" not in b, "%s leaked a file" % t)


def t_413_before_body(ctx):
    port = ctx["main"].port
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"POST /v1/heaps HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 10000000000\r\n\r\n")
        raw = b""
        while b"\r\n\r\n" not in raw:
            b = s.recv(65536)
            check(b, "connection closed without an answer")
            raw += b
        st, h, _ = parse_response(raw)
    check(st == 413, "status %d, want 413 before the body" % st)
    check(h.get("content-type", "").startswith("application/problem+json"), "413 type %r" % h)


def t_413_expect_continue(ctx):
    req = ("POST /v1/heaps HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
           "Content-Length: %d\r\n\r\n" % (MAX_BODY + 1)).encode()
    st, h, b = raw_exchange(ctx["main"].port, req, timeout=3)
    check_problem(st, h, b, 413)


def t_413_chunked(ctx):
    chunk = b"x" * 1024
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(MAX_BODY // 1024 + 2))
    req = (b"POST /v1/heaps HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + body + b"0\r\n\r\n")
    st, h, b = raw_exchange(ctx["main"].port, req)
    check_problem(st, h, b, 413)


def t_keep_alive(ctx):
    c = ctx["main"].conn()
    try:
        seen = []
        for path in ["/healthz", "/nope", "/style.css", "/readyz"]:
            c.request("GET", path)
            r = c.getresponse()
            r.read()
            check(not r.will_close, "%s: server closes the connection" % path)
            seen.append(c.sock)
        check(all(x is seen[0] and x is not None for x in seen), "a new connection was opened")
    finally:
        c.close()


def t_cors(ctx):
    s = ctx["main"]
    pre = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
           "Access-Control-Request-Headers": "authorization, content-type"}
    st, h, b = s.request("OPTIONS", "/v1/heaps", headers=pre)
    check(st == 204, "preflight status %d" % st)
    check(h.get("access-control-allow-origin") == ORIGIN, "ACAO %r" % h)
    check("Origin" in h.get("vary", ""), "no Vary: Origin")
    for m in ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]:
        check(m in h.get("access-control-allow-methods", ""), "Allow-Methods lacks " + m)
    allow_h = h.get("access-control-allow-headers", "").lower()
    check("authorization" in allow_h and "content-type" in allow_h, "Allow-Headers %r" % allow_h)
    check(h.get("access-control-max-age", "").isdigit(), "no Max-Age")
    st, h, b = s.request("OPTIONS", "/v1/heaps", headers=dict(pre, Origin="http://evil.example"))
    check_problem(st, h, b, 403)
    check("access-control-allow-origin" not in h, "refused preflight has ACAO")
    st, h, b = s.request("GET", "/healthz", headers={"Origin": ORIGIN})
    check(h.get("access-control-allow-origin") == ORIGIN, "simple request lacks ACAO")
    st, h, b = s.request("GET", "/healthz", headers={"Origin": "http://evil.example"})
    check(st == 200 and "access-control-allow-origin" not in h, "foreign origin got ACAO")


METRIC_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*"'
                         r'(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*")*\})? (\S+)$')


def metric_family(name, types):
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[:-len(suffix)]
        if name.endswith(suffix) and types.get(base) in ("histogram", "summary"):
            return base
    return name


def t_metrics(ctx):
    s = ctx["main"]
    s.request("GET", "/healthz")
    st, h, b = s.request("GET", "/metrics")
    check(st == 200, "metrics status %d" % st)
    check(h.get("content-type", "").startswith("text/plain; version=0.0.4"), "type %r" % h.get("content-type"))
    types, helps, samples = {}, set(), {}
    for line in b.decode().splitlines():
        if line.startswith("# HELP "):
            helps.add(line.split()[2])
        elif line.startswith("# TYPE "):
            _, _, name, typ = line.split()
            check(typ in ("counter", "gauge", "histogram", "summary", "untyped"), "bad TYPE " + line)
            check(name not in types, "TYPE twice for " + name)
            types[name] = typ
        else:
            m = METRIC_LINE.match(line)
            check(m, "unparsable line %r" % line)
            name, labels, value = m.group(1), m.group(2) or "", m.group(4)
            float(value)
            fam = metric_family(name, types)
            check(fam in types and fam in helps, "no TYPE/HELP before %r" % line)
            check(name.startswith("heaplab_"), "name without heaplab_: " + name)
            check(types[fam] != "counter" or name.endswith("_total"), "counter without _total: " + name)
            check("heap_id" not in labels and "heap=" not in labels, "per-heap label: " + line)
            samples[name + labels] = float(value)
    check(any(k.startswith('heaplab_http_requests_total{method="GET",code="2xx"') for k in samples),
          "no GET 2xx request counter")
    for name in ["heaplab_http_request_duration_seconds_count", "heaplab_http_open_connections",
                 "heaplab_heaps", "heaplab_objects", "heaplab_event_streams_open"]:
        check(name in samples, "missing " + name)
    buckets = [(k, v) for k, v in samples.items() if k.startswith("heaplab_http_request_duration_seconds_bucket")]
    values = [v for _, v in buckets]
    check(values == sorted(values), "histogram buckets not cumulative")
    check(buckets[-1][0].endswith('le="+Inf"}') and
          buckets[-1][1] == samples["heaplab_http_request_duration_seconds_count"], "+Inf != count")
    check(samples["heaplab_http_open_connections"] >= 1, "open connections should count this one")


def t_openapi(ctx):
    st, h, b = ctx["main"].request("GET", "/openapi.json")
    if st == 404:
        check_problem(st, h, b, 404)  # the document is optional until the api ships it
        return
    check(st == 200 and h.get("content-type", "").startswith("application/json"), "openapi %d" % st)
    json.loads(b)


def t_logs_no_secrets(ctx):
    s = ctx["main"]
    s.request("GET", "/v1/heaps?token=QUERYSECRET42", headers={"Authorization": "Bearer HEADERSECRET42"})
    s.request("GET", "/healthz?x=1")
    time.sleep(0.2)
    log = s.log_text()
    check("QUERYSECRET42" not in log and "HEADERSECRET42" not in log and ADMIN not in log,
          "a secret reached the log")
    check(re.search(r'"GET /healthz\?x=1" 200 \d+ [\d.]+ms', log), "no request line for /healthz")


def t_idle_timeout(ctx):
    s = Server(ctx["binary"], ["--idle-timeout", "1", "--admin-token", ADMIN]).start()
    try:
        with socket.create_connection(("127.0.0.1", s.port), timeout=6) as c:
            t0 = time.time()
            check(c.recv(1) == b"", "idle connection got data")
            check(time.time() - t0 < 5, "idle connection lasted %.1fs" % (time.time() - t0))
    finally:
        check(s.stop() == 0, "exit status")


def t_config_refusals(ctx):
    b = ctx["binary"]
    cases = [
        ([b, "--no-auth", "--bind", "0.0.0.0"], {}, "no-auth"),
        ([b], {"HEAPLAB_NO_AUTH": "1", "HEAPLAB_BIND": "0.0.0.0"}, "no-auth"),
        ([b, "--bogus"], {}, "--bogus"),
        ([b, "--port", "70000"], {}, "--port"),
        ([b, "--max-body", "lots"], {}, "--max-body"),
        ([b, "--threads"], {}, "--threads"),
        ([b, "--bind", "example.org"], {}, "--bind"),
        ([b], {"HEAPLAB_IDLE_TIMEOUT": "-1"}, "idle-timeout"),
        ([b, "--admin-token-file", "/nonexistent/token"], {}, "admin-token-file"),
    ]
    for argv, env, word in cases:
        p = subprocess.run(argv, env=dict(os.environ, **env), capture_output=True, text=True, timeout=10)
        check(p.returncode == 2, "%s %s: exit %d" % (argv[1:], env, p.returncode))
        check(word in p.stderr, "%s: message %r" % (argv[1:], p.stderr))


def t_flag_beats_env(ctx):
    s = Server(ctx["binary"], ["--bind", "127.0.0.1", "--no-auth"],
               env={"HEAPLAB_BIND": "0.0.0.0", "HEAPLAB_NO_AUTH": "1"}).start()
    check(s.request("GET", "/healthz")[0] == 200, "healthz")
    check(s.stop() == 0, "exit status")


def t_help_version(ctx):
    p = subprocess.run([ctx["binary"], "--help"], capture_output=True, text=True, timeout=10)
    check(p.returncode == 0, "--help exit %d" % p.returncode)
    for flag in FLAGS:
        check(re.search(re.escape(flag) + r"\b", p.stdout), "--help lacks " + flag)
        if flag not in ("--help", "--version"):
            env = "HEAPLAB_" + flag[2:].upper().replace("-", "_")
            check(env in p.stdout, "--help lacks " + env)
    p = subprocess.run([ctx["binary"], "--version"], capture_output=True, text=True, timeout=10)
    check(p.returncode == 0 and re.match(r"heaplab \d+\.\d+", p.stdout), "--version %r" % p.stdout)


def create_heap(s):
    auth = {"Authorization": "Bearer " + ADMIN, "Content-Type": "application/json"}
    st, h, b = s.request("POST", "/v1/heaps", body=b"{}", headers=auth)
    check(st == 201, "POST /v1/heaps: %d %r" % (st, b[:200]))
    hid = json.loads(b).get("id") or h.get("location", "").rstrip("/").rsplit("/", 1)[-1]
    check(hid, "no heap id in %r" % b)
    return hid


def open_stream(s, path):
    c = socket.create_connection(("127.0.0.1", s.port), timeout=8)
    c.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nAuthorization: Bearer %s\r\n\r\n"
               % (path, ADMIN)).encode())
    raw = b""
    while b"\r\n\r\n" not in raw:
        b = c.recv(4096)
        check(b, "stream closed before its headers")
        raw += b
    st, h, rest = parse_response(raw)
    check(st == 200, "GET %s: status %d" % (path, st))
    check(h.get("content-type", "").startswith("text/event-stream"), "stream type %r" % h)
    check(h.get("cache-control") == "no-cache", "stream Cache-Control %r" % h.get("cache-control"))
    return c, rest


def read_until(c, pred, data, seconds):
    deadline = time.time() + seconds
    while not pred(data) and time.time() < deadline:
        c.settimeout(max(0.05, deadline - time.time()))
        try:
            b = c.recv(4096)
        except socket.timeout:
            break
        if not b:
            return data, True
        data += b
    return data, False


def t_sse_keepalive_and_drain(ctx):
    s = Server(ctx["binary"], ["--idle-timeout", "2", "--admin-token", ADMIN]).start()
    try:
        hid = create_heap(s)
        c, data = open_stream(s, "/v1/heaps/%s/events" % hid)
        with c:
            data, closed = read_until(c, lambda d: b": keep-alive" in d, data, 5)
            check(not closed and b": keep-alive" in data, "no keep-alive on an idle stream: %r" % data)
            time.sleep(2.5)  # longer than the idle timeout: the stream must survive
            s.proc.send_signal(signal.SIGTERM)
            t0 = time.time()
            data, closed = read_until(c, lambda d: d.endswith(b"0\r\n\r\n"), data, 8)
            check(closed or data.endswith(b"0\r\n\r\n"), "stream did not end on SIGTERM")
            check(time.time() - t0 < 8, "stream took too long to end")
        check(s.proc.wait(timeout=15) == 0, "exit status %s" % s.proc.returncode)
    finally:
        if s.proc.poll() is None:
            s.proc.kill()


def t_drain_waits_for_requests(ctx):
    s = Server(ctx["binary"], ["--admin-token", ADMIN]).start()
    try:
        keep = s.conn()
        keep.request("GET", "/healthz")
        keep.getresponse().read()
        slow = socket.create_connection(("127.0.0.1", s.port), timeout=8)
        slow.sendall(("POST /v1/heaps HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                      "Content-Type: application/json\r\nContent-Length: 10\r\n"
                      "Connection: close\r\n\r\n{}   " % ADMIN).encode())
        time.sleep(0.3)
        s.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        keep.request("GET", "/readyz")
        r = keep.getresponse()
        body = r.read()
        check(r.status == 503 and json.loads(body) == {"ready": False}, "readyz while draining: %d" % r.status)
        check(r.will_close, "answers while draining should close the connection")
        check(s.proc.poll() is None, "exited with a request in flight")
        slow.sendall(b"     ")
        st, h, b = parse_response(read_until(slow, lambda d: False, b"", 5)[0])
        check(100 <= st < 600, "the request in flight got no answer")
        slow.close()
        check(s.proc.wait(timeout=15) == 0, "exit status %s" % s.proc.returncode)
    finally:
        if s.proc.poll() is None:
            s.proc.kill()


def t_main_sigterm(ctx):
    check(ctx["main"].stop() == 0, "exit status %s" % ctx["main"].proc.returncode)
    check("draining" in ctx["main"].log_text(), "no drain in the log")


TESTS = [t_health_ready, t_not_found, t_method_not_allowed, t_static_types, t_static_index_csp,
         t_static_traversal, t_413_before_body, t_413_expect_continue, t_413_chunked, t_keep_alive,
         t_cors, t_metrics, t_openapi, t_logs_no_secrets, t_idle_timeout, t_config_refusals,
         t_flag_beats_env, t_help_version, t_sse_keepalive_and_drain, t_drain_waits_for_requests,
         t_main_sigterm]


def make_static(root):
    static = os.path.join(root, "static")
    os.makedirs(os.path.join(static, "sub"))
    for name, (content, _) in STATIC.items():
        with open(os.path.join(static, name), "w") as f:
            f.write(content)
    with open(os.path.join(root, "secret.txt"), "w") as f:
        f.write(SECRET)
    with open(os.path.join(static, ".hidden"), "w") as f:
        f.write(SECRET)
    with open(os.path.join(static, "sub", "x.txt"), "w") as f:
        f.write("x")
    os.symlink(os.path.join(root, "secret.txt"), os.path.join(static, "escape.txt"))
    os.symlink("style.css", os.path.join(static, "inside-link.css"))
    return static


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("-k", help="run only tests whose name contains this")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="heaplab-srv-") as root:
        static = make_static(root)
        main_srv = Server(args.binary, ["--static-dir", static, "--allow-origin", ORIGIN + ",http://b.example",
                                        "--max-body", str(MAX_BODY), "--admin-token", ADMIN]).start()
        ctx = {"binary": args.binary, "main": main_srv}
        passed = failed = 0
        try:
            for t in TESTS:
                if args.k and args.k not in t.__name__ and t is not t_main_sigterm:
                    continue
                try:
                    t(ctx)
                    print("PASS " + t.__name__[2:], flush=True)
                    passed += 1
                except Exception as e:
                    print("FAIL %s: %s" % (t.__name__[2:], e), flush=True)
                    if not isinstance(e, AssertionError):
                        traceback.print_exc()
                    failed += 1
        finally:
            if main_srv.proc.poll() is None:
                main_srv.proc.kill()
        print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
