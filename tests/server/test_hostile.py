#!/usr/bin/env python3
"""Hostile inputs against the real heaplab binary (suite 'hostile').

A catalogue (CATALOGUE below: label, request, expected status, expected
problem type) of requests a hostile or broken client may send: malformed,
truncated and deeply nested JSON, wrong JSON types for every field of every
endpoint, duplicate and unknown keys, numbers past 2^63, floats as ids,
negative and huge sizes, NUL bytes and invalid UTF-8 in names (JSON and
path), 1 MB names, path traversal (static files and heap ids, %2e%2e, %2f),
unknown methods, missing and wrong Content-Type, Content-Length lies,
chunked bodies, Expect: 100-continue, slow clients, a connection flood,
batch references forward and to themselves, freed objects, other heaps'
tokens, no token and malformed Authorization headers.

Requests go over raw sockets (the framing is part of the test).  Expected
problem types: "/problems/<slug>" (the api), "about:blank" (the server
layer), MHD (libmicrohttpd's own error page: any body that is not a problem),
None (a success: no problem body) and status CLOSED (0: the server closed
the connection without an answer).

After EVERY case: the server still answers a valid request, /check passes on
every heap, and (unless the case is marked as changing the heap) neither
heap changed.  Prints one line per failure and "N passed, N failed".
"""
import argparse
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import time
import traceback

from harness import Server

ADMIN = "hostile-admin-token-c0ffee1234"
IDLE = 2          # --idle-timeout
MAX_CONN = 24     # --max-connections
MAX_BODY = 4 * 1024 * 1024
SECRET = "HOSTILE-SECRET-OUTSIDE-STATIC"
MHD = "mhd"       # libmicrohttpd's own error reply (not problem+json)
CLOSED = 0        # no response: the server closed the connection
P = "/problems/"




# ---------------------------------------------------------------- raw HTTP


class Resp:
    def __init__(self, status, headers, body, raw=b""):
        self.status, self.headers, self.body, self.raw = status, headers, body, raw

    @property
    def problem(self):
        if not self.headers.get("content-type", "").startswith("application/problem+json"):
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def __repr__(self):
        return "%d %r" % (self.status, self.body[:240])


def parse_first(raw):
    """The first response in raw bytes (Content-Length or chunked framing)."""
    if not raw.startswith(b"HTTP/"):
        return Resp(CLOSED, {}, b"", raw)
    head, _, rest = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3})", lines[0])
    status = int(m.group(1)) if m else -1
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    if status == 100:  # 100 Continue: the real answer follows
        return parse_first(rest)
    if "content-length" in headers:
        body = rest[:int(headers["content-length"])]
    elif "chunked" in headers.get("transfer-encoding", ""):
        body, r = b"", rest
        while True:
            line, sep, r = r.partition(b"\r\n")
            if not sep or not line:
                break
            n = int(line.split(b";")[0], 16)
            if n == 0:
                break
            body, r = body + r[:n], r[n + 2:]
    else:
        body = rest
    return Resp(status, headers, body, raw)


def exchange(port, data, timeout=8.0, pause=None):
    """Sends data (bytes, or a list of parts with `pause` seconds between)
    and reads until the server closes or the timeout."""
    parts = data if isinstance(data, list) else [data]
    chunks = []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            for i, p in enumerate(parts):
                if i and pause:
                    time.sleep(pause)
                s.sendall(p)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered early (e.g. 413) and closed
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not b:
                break
            chunks.append(b)
    return parse_first(b"".join(chunks))


class Ctx:
    pass


def request_bytes(ctx, method, path, body=None, tok="A", headers=(), ctype="application/json", cl=None,
                  close=True):
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: x"]
    token = {"A": ctx.ta, "B": ctx.tb, "admin": ADMIN, None: None}.get(tok, tok)
    if token is not None:
        lines.append("Authorization: Bearer " + token)
    if body is not None and ctype:
        lines.append("Content-Type: " + ctype)
    if body is not None or cl is not None:
        lines.append("Content-Length: %d" % (len(body or b"") if cl is None else cl))
    lines += list(headers)
    if close:
        lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + (body or b"")


class Req:
    """A request: method, path, body, tok ("A", "B", "admin", None or a literal token)."""

    def __init__(self, method, path, body=None, tok="A", headers=(), ctype="application/json", raw_path=None,
                 cl=None):
        self.method, self.path, self.body, self.tok = method, path, body, tok
        self.headers, self.ctype, self.raw_path, self.cl = headers, ctype, raw_path, cl

    def send(self, ctx):
        path = self.raw_path if self.raw_path is not None else self.path.encode("latin-1")
        data = request_bytes(ctx, self.method, "PATH", self.body, self.tok, self.headers, self.ctype, self.cl)
        return exchange(ctx.port, data.replace(b"PATH", path, 1))


class Raw:
    """Bytes as they are (a callable of ctx may build them)."""

    def __init__(self, data, timeout=8.0):
        self.data, self.timeout = data, timeout

    def send(self, ctx):
        data = self.data(ctx) if callable(self.data) else self.data
        return exchange(ctx.port, data, self.timeout)


class Fn:
    """A scenario that does its own exchange and returns a Resp."""

    def __init__(self, fn):
        self.fn = fn

    def send(self, ctx):
        return self.fn(ctx)


def J(**kw):
    return kw


def deep(n, open_="[", close="]"):
    return open_ * n + close * n


# ---------------------------------------------------------------- scenarios


def s_content_length_longer(ctx):
    # Content-Length promises 200 bytes, 20 arrive: the server waits, then
    # its idle timeout closes the connection (no request is dispatched).
    t0 = time.time()
    r = exchange(ctx.port, request_bytes(ctx, "POST", ctx.base + "/objects", b'{"type": "list", "n', cl=200),
                 timeout=IDLE + 6)
    took = time.time() - t0
    if took > IDLE + 4:
        return Resp(-2, {}, b"still open after %.1f s" % took)
    return r


def s_chunked_truncated(ctx):
    data = request_bytes(ctx, "POST", ctx.base + "/objects", None, headers=("Transfer-Encoding: chunked",))
    t0 = time.time()
    r = exchange(ctx.port, data + b"10\r\n{\"type\": \"list\",", timeout=IDLE + 6)
    if time.time() - t0 > IDLE + 4:
        return Resp(-2, {}, b"still open")
    return r


def s_expect_huge(ctx):
    # 100-continue with a length past --max-body: 413 at once, no 100.
    data = request_bytes(ctx, "POST", ctx.base + "/objects", None, cl=10 ** 12,
                         headers=("Expect: 100-continue",))
    with socket.create_connection(("127.0.0.1", ctx.port), timeout=5) as s:
        s.sendall(data)
        raw = b""
        deadline = time.time() + 3
        while b"\r\n\r\n" not in raw and time.time() < deadline:
            b = s.recv(65536)
            if not b:
                break
            raw += b
    if raw.startswith(b"HTTP/1.1 100"):
        return Resp(100, {}, raw)
    return parse_first(raw)


def s_expect_small(ctx):
    # 100-continue with an acceptable length: 100, then the body, then 201.
    body = json.dumps({"type": "list", "name": "via100"}).encode()
    data = request_bytes(ctx, "POST", ctx.base + "/objects", None, cl=len(body), headers=("Expect: 100-continue",))
    with socket.create_connection(("127.0.0.1", ctx.port), timeout=5) as s:
        s.sendall(data)
        first = s.recv(65536)
        if not first.startswith(b"HTTP/1.1 100"):
            return Resp(-3, {}, b"no 100 Continue: " + first[:100])
        s.sendall(body)
        raw = first.partition(b"\r\n\r\n")[2]
        while True:
            b = s.recv(65536)
            if not b:
                break
            raw += b
    return parse_first(raw)


def s_slowloris(ctx):
    # Five clients start a request and dribble one byte every IDLE+1.5 s.
    # Each must be closed after about IDLE seconds of silence, while
    # others are served meanwhile.
    req = request_bytes(ctx, "GET", ctx.base + "/objects/%d" % ctx.l, None)
    socks = []
    for _ in range(5):
        s = socket.create_connection(("127.0.0.1", ctx.port), timeout=1)
        s.sendall(req[:10])
        socks.append(s)
    t0 = time.time()
    served = exchange(ctx.port, request_bytes(ctx, "GET", ctx.base + "/gc", None), timeout=3)
    closed_at = {}
    i = 10
    while len(closed_at) < len(socks) and time.time() - t0 < IDLE + 8:
        time.sleep(IDLE + 1.5 if i == 10 else 0.2)
        for k, s in enumerate(socks):
            if k in closed_at:
                continue
            try:
                s.sendall(req[i:i + 1])
                s.settimeout(0.05)
                b = s.recv(100)
                if b == b"":
                    closed_at[k] = time.time() - t0
                elif b.startswith(b"HTTP/"):
                    closed_at[k] = -1  # answered: the dribble was not cut
            except socket.timeout:
                pass
            except OSError:
                closed_at[k] = time.time() - t0
        i += 1
    for s in socks:
        s.close()
    if served.status != 200:
        return Resp(-4, {}, b"not served during slowloris: %r" % served)
    if len(closed_at) < len(socks) or any(v < 0 for v in closed_at.values()):
        return Resp(-5, {}, ("slow clients not closed: %r" % closed_at).encode())
    return Resp(CLOSED, {}, b"")


def s_connection_flood(ctx):
    # MAX_CONN + 16 idle connections.  The server holds at most MAX_CONN of
    # them (the rest wait unaccepted in the kernel's backlog); its idle
    # timeout closes every one it holds, and then it serves again.
    socks = []
    for _ in range(MAX_CONN + 16):
        try:
            socks.append(socket.create_connection(("127.0.0.1", ctx.port), timeout=2))
        except OSError:
            pass  # refused outright: fine too
    time.sleep(IDLE + 0.8)
    closed = 0
    for s in socks:
        s.settimeout(0.01)
        try:
            if s.recv(10) == b"":
                closed += 1
        except socket.timeout:
            pass
        except OSError:
            closed += 1
    for s in socks:
        s.close()
    r = Resp(-7, {}, b"no answer")
    deadline = time.time() + IDLE + 3
    while time.time() < deadline:
        try:
            r = exchange(ctx.port, request_bytes(ctx, "GET", ctx.base + "/objects/%d" % ctx.l, None), timeout=3)
            if r.status == 200:
                break
        except OSError:
            pass
        time.sleep(0.2)
    if not 1 <= closed <= MAX_CONN:
        return Resp(-6, {}, ("%d of %d idle connections were held and closed by the idle timeout; want 1..%d"
                             % (closed, len(socks), MAX_CONN)).encode())
    return r


def s_pipelined_cl_short(ctx):
    # Content-Length shorter than the body: the server takes the first bytes
    # as the body (invalid JSON) and the rest as a next request, which is
    # not valid HTTP.  Keep-alive: read both answers.
    body = b'{"type": "list", "name": "cl-short"}'
    data = request_bytes(ctx, "POST", ctx.base + "/objects", body, cl=10, close=False)
    return exchange(ctx.port, data, timeout=IDLE + 4)


# ---------------------------------------------------------------- the catalogue


def catalogue(ctx):
    """(label, request, expected status, expected problem type[, flags]).
    flags: "m" = the case may change heap A (a success, or a partial batch)."""
    A, B, l, d, i, o, s, g = ctx.a, ctx.b, ctx.l, ctx.d, ctx.i, ctx.o, ctx.s, ctx.gone
    base, bbase = ctx.base, ctx.bbase
    obj = base + "/objects"
    refs = base + "/objects/%d/refs" % l
    drefs = base + "/objects/%d/refs" % d
    orefs = base + "/objects/%d/refs" % o
    batch = base + "/batch"
    MB = "x" * (1024 * 1024)
    IF, IB, II, UF, IR = P + "invalid-field", P + "invalid-body", P + "invalid-id", P + "unknown-field", \
        P + "invalid-reference"
    IJ, IQ = P + "invalid-json", P + "invalid-query"

    def post(body, path=obj, **kw):
        return Req("POST", path, body, **kw)

    def bop(*ops):
        return post({"ops": list(ops)}, batch)

    return [
        # ---- malformed and truncated JSON
        ("json: lone brace", post("{"), 400, IJ),
        ("json: truncated after key", post('{"type":'), 400, IJ),
        ("json: missing value", post('{"type": "int", "value": }'), 400, IJ),
        ("json: unterminated object", post('{"type": "list"'), 400, IJ),
        ("json: unterminated string", post('{"type": "li'), 400, IJ),
        ("json: trailing comma", post('{"type": "list",}'), 400, IJ),
        ("json: single quotes", post("{'type': 'list'}"), 400, IJ),
        ("json: trailing garbage", post('{"type": "list", "name": "q"} x'), 400, IJ),
        ("json: two documents", post('{"type": "list"}{"type": "list"}'), 400, IJ),
        ("json: comment", post('/* c */ {"type": "list"}'), 400, IJ),
        ("json: bad escape", post('{"type": "li\\x"}'), 400, IJ),
        ("json: bad unicode escape", post('{"type": "\\u00zz"}'), 400, IJ),
        ("json: bare word", post("nul"), 400, IJ),
        ("json: hex number", post('{"type": "int", "value": 0x10}'), 400, IJ),
        ("json: exponent without digits", post('{"type": "float", "value": 1e}'), 400, IJ),
        ("json: leading zeros", post('{"type": "int", "value": 007}'), 400, IJ),
        ("json: UTF-8 BOM", post(b'\xef\xbb\xbf{"type": "list"}'), 400, IJ),
        ("json: only whitespace", post("   \n\t "), 400, IJ),
        ("json: raw control char in string", post(b'{"type": "str", "name": "q", "value": "a\x01b"}'), 400, IJ),
        ("json: truncated batch", post('{"ops": [{"op": "create", "type"', batch), 400, IJ),
        ("json: truncated bind", Req("PUT", base + "/names/q", '{"id": '), 400, IJ),
        ("json: truncated ref", post('{"target": %d' % l, refs), 400, IJ),
        ("json: truncated weakref", post('{"target"', base + "/weakrefs"), 400, IJ),
        ("json: truncated gc patch", Req("PATCH", base + "/gc", '{"enabled": tr'), 400, IJ),
        ("json: truncated collect", post('{"generation": 1', base + "/gc/collect"), 400, IJ),
        ("json: truncated heap create", post('{"name": "x', "/v1/heaps"), 400, IJ),
        ("json: array body", post("[]"), 400, IB),
        ("json: number body", post("42"), 400, IB),
        ("json: null body", post("null"), 400, IB),
        ("json: empty body", post(b""), 400, IB),
        ("json: batch body is array", post([{"op": "collect"}], batch), 400, IB),
        ("json: bind body is string", Req("PUT", base + "/names/q", '"x"'), 400, IB),
        # ---- 10,000-deep nesting
        ("deep: 10k arrays", post(deep(10000)), 400, IJ),
        ("deep: 10k objects", post('{"a":' * 10000 + "1" + "}" * 10000), 400, IJ),
        ("deep: 10k arrays as items", post('{"type": "list", "name": "q", "items": %s}' % deep(10000)), 400, IJ),
        ("deep: 10k in a batch op", post('{"ops": [%s]}' % deep(10000), batch), 400, IJ),
        ("deep: 10k in heap create", post('{"name": %s}' % deep(10000), "/v1/heaps"), 400, IJ),
        ("deep: 10k unclosed", post("[" * 10000), 400, IJ),
        # ---- POST /v1/heaps: every field, wrong types
        ("heap: name 5", post({"name": 5}, "/v1/heaps"), 400, IF),
        ("heap: name null", post({"name": None}, "/v1/heaps"), 400, IF),
        ("heap: name list", post({"name": ["x"]}, "/v1/heaps"), 400, IF),
        ("heap: name 101 chars", post({"name": "n" * 101}, "/v1/heaps"), 400, IF),
        ("heap: name 1 MB", post({"name": MB}, "/v1/heaps"), 400, IF),
        ("heap: limits 5", post({"limits": 5}, "/v1/heaps"), 400, IF),
        ("heap: limits list", post({"limits": []}, "/v1/heaps"), 400, IF),
        ("heap: max_objects string", post({"limits": {"max_objects": "5"}}, "/v1/heaps"), 400, IF),
        ("heap: max_objects float", post({"limits": {"max_objects": 1.5}}, "/v1/heaps"), 400, IF),
        ("heap: max_objects 0", post({"limits": {"max_objects": 0}}, "/v1/heaps"), 400, IF),
        ("heap: max_objects true", post({"limits": {"max_objects": True}}, "/v1/heaps"), 400, IF),
        ("heap: max_bytes -1", post({"limits": {"max_bytes": -1}}, "/v1/heaps"), 400, IF),
        ("heap: max_bytes 2^63", post('{"limits": {"max_bytes": 9223372036854775808}}', "/v1/heaps"), 400, IJ),
        ("heap: gc string", post({"gc": "off"}, "/v1/heaps"), 400, IF),
        ("heap: thresholds string", post({"gc": {"thresholds": "700"}}, "/v1/heaps"), 400, IF),
        ("heap: thresholds empty", post({"gc": {"thresholds": []}}, "/v1/heaps"), 400, IF),
        ("heap: thresholds 4", post({"gc": {"thresholds": [1, 2, 3, 4]}}, "/v1/heaps"), 400, IF),
        ("heap: thresholds -1", post({"gc": {"thresholds": [-1]}}, "/v1/heaps"), 400, IF),
        ("heap: thresholds float", post({"gc": {"thresholds": [1.5]}}, "/v1/heaps"), 400, IF),
        ("heap: thresholds huge", post({"gc": {"thresholds": [10 ** 10]}}, "/v1/heaps"), 400, IF),
        ("heap: enabled 1", post({"gc": {"enabled": 1}}, "/v1/heaps"), 400, IF),
        ("heap: unknown field", post({"name": "x", "owner": "me"}, "/v1/heaps"), 400, UF),
        ("heap: unknown limits field", post({"limits": {"max_heaps": 1}}, "/v1/heaps"), 400, UF),
        ("heap: unknown gc field", post({"gc": {"debug": True}}, "/v1/heaps"), 400, UF),
        ("heap: duplicate key", post('{"name": "a", "name": "b"}', "/v1/heaps"), 400, IJ),
        # ---- POST /objects: type
        ("create: type 5", post(J(type=5, name="q")), 400, IF),
        ("create: type null", post(J(type=None, name="q")), 400, IF),
        ("create: type list-valued", post(J(type=["list"], name="q")), 400, IF),
        ("create: type missing", post(J(name="q")), 400, IF),
        ("create: type weakref", post(J(type="weakref", name="q")), 400, IF),
        ("create: type frozenset", post(J(type="frozenset", name="q")), 400, IF),
        ("create: type with NUL", post('{"type": "list\\u0000", "name": "q"}'), 400, IJ),
        # value / size
        ("create: int value string", post(J(type="int", value="5", name="q")), 400, IF),
        ("create: int value float", post(J(type="int", value=1.5, name="q")), 400, IF),
        ("create: int value 1.0", post('{"type": "int", "value": 1.0, "name": "q"}'), 400, IF),
        ("create: int value true", post(J(type="int", value=True, name="q")), 400, IF),
        ("create: int value null", post(J(type="int", value=None, name="q")), 400, IF),
        ("create: int value missing", post(J(type="int", name="q")), 400, IF),
        ("create: int 2^63", post('{"type": "int", "value": 9223372036854775808, "name": "q"}'), 400, IJ),
        ("create: int -2^63-1", post('{"type": "int", "value": -9223372036854775809, "name": "q"}'), 400, IJ),
        ("create: int 2^64", post('{"type": "int", "value": 18446744073709551616, "name": "q"}'), 400, IJ),
        ("create: float value string", post(J(type="float", value="1.5", name="q")), 400, IF),
        ("create: float value null", post(J(type="float", value=None, name="q")), 400, IF),
        ("create: float 1e400", post('{"type": "float", "value": 1e400, "name": "q"}'), 400, IJ),
        ("create: float NaN", post('{"type": "float", "value": NaN, "name": "q"}'), 400, IJ),
        ("create: float Infinity", post('{"type": "float", "value": Infinity, "name": "q"}'), 400, IJ),
        ("create: str value 5", post(J(type="str", value=5, name="q")), 400, IF),
        ("create: str value list", post(J(type="str", value=["a"], name="q")), 400, IF),
        ("create: str with size", post(J(type="str", value="a", size=1, name="q")), 400, IF),
        ("create: bytes value 5", post(J(type="bytes", value=5, name="q")), 400, IF),
        ("create: bytes size string", post(J(type="bytes", size="5", name="q")), 400, IF),
        ("create: bytes size -1", post(J(type="bytes", size=-1, name="q")), 400, IF),
        ("create: bytes size float", post(J(type="bytes", size=1.5, name="q")), 400, IF),
        ("create: bytes size 1e20", post('{"type": "bytes", "size": 1e20, "name": "q"}'), 400, IF),
        ("create: bytes size 64M+1", post(J(type="bytes", size=64 * 1024 * 1024 + 1, name="q")), 400, IF),
        ("create: bytes size 2^63-1", post(J(type="bytes", size=2 ** 63 - 1, name="q")), 400, IF),
        ("create: bytes size 2^64", post('{"type": "bytes", "size": 18446744073709551616, "name": "q"}'), 400, IJ),
        ("create: bytes size and value", post(J(type="bytes", size=3, value="x", name="q")), 400, IF),
        ("create: list with value", post(J(type="list", value=1, name="q")), 400, IF),
        ("create: list with size", post(J(type="list", size=1, name="q")), 400, IF),
        # items
        ("create: items string", post(J(type="list", items="x", name="q")), 400, IF),
        ("create: items object", post(J(type="list", items={}, name="q")), 400, IF),
        ("create: items on int", post(J(type="int", value=1, items=[], name="q")), 400, IF),
        ("create: items [null]", post(J(type="list", items=[None], name="q")), 400, II),
        ("create: items ['1']", post(J(type="list", items=["1"], name="q")), 400, II),
        ("create: items [1.0]", post('{"type": "list", "items": [%d.0], "name": "q"}' % l), 400, II),
        ("create: items [0]", post(J(type="list", items=[0], name="q")), 400, II),
        ("create: items [-1]", post(J(type="list", items=[-1], name="q")), 400, II),
        ("create: items [true]", post(J(type="list", items=[True], name="q")), 400, II),
        ("create: items [2^63-1]", post(J(type="list", items=[2 ** 63 - 1], name="q")), 404, P + "no-such-object"),
        ("create: items [2^63]", post('{"type": "list", "items": [9223372036854775808], "name": "q"}'), 400, IJ),
        ("create: items $0 outside batch", post(J(type="list", items=["$0"], name="q")), 400, II),
        ("create: items [freed]", post(J(type="tuple", items=[g], name="q")), 404, P + "no-such-object"),
        ("create: items of heap B only", post(J(type="list", items=[ctx.b_only], name="q")), 404,
         P + "no-such-object"),
        ("create: dict items list", post(J(type="dict", items=[l], name="q")), 400, IF),
        ("create: dict items value str", post(J(type="dict", items={"k": "x"}, name="q")), 400, II),
        ("create: dict key with NUL", post('{"type": "dict", "items": {"k\\u0000": %d}, "name": "q"}' % l), 400,
         IJ),
        # instances
        ("create: class 5", post(J(type="instance", **{"class": 5}, name="q")), 400, IF),
        ("create: class empty", post(J(type="instance", **{"class": ""}, name="q")), 400, IF),
        ("create: class on list", post(J(type="list", **{"class": "C"}, name="q")), 400, IF),
        ("create: attrs list", post(J(type="instance", attrs=[l], name="q")), 400, IF),
        ("create: attrs value 0", post(J(type="instance", attrs={"a": 0}, name="q")), 400, II),
        ("create: attrs on dict", post(J(type="dict", attrs={}, name="q")), 400, IF),
        ("create: 31 attrs", post(J(type="instance", attrs={"a%d" % k: l for k in range(31)}, name="q")), 422,
         P + "invalid-argument"),
        ("create: finalizer 1", post(J(type="instance", finalizer=1, name="q")), 400, IF),
        ("create: finalizer string", post(J(type="instance", finalizer="yes", name="q")), 400, IF),
        ("create: finalizer {}", post(J(type="instance", finalizer={}, name="q")), 400, IF),
        ("create: resurrect 5", post(J(type="instance", finalizer={"resurrect": 5}, name="q")), 400, IF),
        ("create: resurrect empty", post(J(type="instance", finalizer={"resurrect": ""}, name="q")), 400, IF),
        ("create: finalizer extra", post(J(type="instance", finalizer={"resurrect": "r", "x": 1}, name="q")), 400,
         IF),
        # name
        ("create: name 5", post(J(type="list", name=5)), 400, IF),
        ("create: name empty", post(J(type="list", name="")), 400, IF),
        ("create: name null", post(J(type="list", name=None)), 400, IF),
        ("create: name list", post(J(type="list", name=["q"])), 400, IF),
        ("create: name with NUL", post('{"type": "list", "name": "l\\u0000x"}'), 400, IJ),
        ("create: name invalid UTF-8", post(b'{"type": "list", "name": "\xff\xfe"}'), 400, IJ),
        ("create: name overlong UTF-8", post(b'{"type": "list", "name": "\xc0\xaf"}'), 400, IJ),
        ("create: name lone surrogate", post('{"type": "list", "name": "\\udc00"}'), 400, IJ),
        ("create: unknown field", post(J(type="list", name="q", colour="red")), 400, UF),
        ("create: unknown field 'op'", post(J(type="list", name="q", op="create")), 400, UF),
        ("create: duplicate key", post('{"type": "list", "type": "dict", "name": "q"}'), 400, IJ),
        ("create: duplicate nested key", post('{"type": "dict", "items": {"a": %d, "a": %d}, "name": "q"}'
                                              % (l, l)), 400, IJ),
        # ---- PUT /names/{name}
        ("bind: id string", Req("PUT", base + "/names/q", {"id": str(l)}), 400, II),
        ("bind: id float", Req("PUT", base + "/names/q", '{"id": %d.0}' % l), 400, II),
        ("bind: id 0", Req("PUT", base + "/names/q", {"id": 0}), 400, II),
        ("bind: id -1", Req("PUT", base + "/names/q", {"id": -1}), 400, II),
        ("bind: id null", Req("PUT", base + "/names/q", {"id": None}), 400, II),
        ("bind: id true", Req("PUT", base + "/names/q", {"id": True}), 400, II),
        ("bind: id missing", Req("PUT", base + "/names/q", {}), 400, II),
        ("bind: id 2^64", Req("PUT", base + "/names/q", '{"id": 18446744073709551616}'), 400, IJ),
        ("bind: id freed", Req("PUT", base + "/names/q", {"id": g}), 404, P + "no-such-object"),
        ("bind: unknown field", Req("PUT", base + "/names/q", {"id": l, "x": 1}), 400, UF),
        ("bind: duplicate key", Req("PUT", base + "/names/q", '{"id": %d, "id": %d}' % (l, d)), 400, IJ),
        ("bind: no body", Req("PUT", base + "/names/q"), 400, IB),
        ("bind: %00 in path name", Req("PUT", base + "/names/l%00x", {"id": d}), 400, "about:blank"),
                ("bind: invalid UTF-8 path name", Req("PUT", base + "/names/%ff%fe", {"id": d}), 400, IF),
                ("bind: raw 0xff in path name", Req("PUT", "", {"id": d}, raw_path=(base + "/names/\xff").encode("latin-1")),
         400, IF),
        ("bind: 1 MB path name", Req("PUT", base + "/names/" + MB, {"id": d}), 414, MHD),
                ("get name: invalid UTF-8", Req("GET", base + "/names/%c0%af"), 404, P + "name-error"),
        ("unbind: not bound", Req("DELETE", base + "/names/nope"), 404, P + "name-error"),
        ("unbind: %00", Req("DELETE", base + "/names/d%00"), 400, "about:blank"),
        # ---- POST /objects/{id}/refs
        ("ref: target string", post({"target": str(l)}, refs), 400, II),
        ("ref: target float", post('{"target": %d.0}' % l, refs), 400, II),
        ("ref: target 0", post({"target": 0}, refs), 400, II),
        ("ref: target null", post({"target": None}, refs), 400, II),
        ("ref: target list", post({"target": [l]}, refs), 400, II),
        ("ref: target missing", post({}, refs), 400, II),
        ("ref: target 2^63", post('{"target": 9223372036854775808}', refs), 400, IJ),
        ("ref: target freed", post({"target": g}, refs), 404, P + "no-such-object"),
        ("ref: target only in heap B", post({"target": ctx.b_only}, refs), 404, P + "no-such-object"),
        ("ref: index string", post({"target": l, "index": "0"}, refs), 400, IF),
        ("ref: index float", post({"target": l, "index": 0.5}, refs), 400, IF),
        ("ref: index null", post({"target": l, "index": None}, refs), 400, IF),
        ("ref: index 2^63-1", post({"target": l, "index": 2 ** 63 - 1}, refs), 404, P + "index-error"),
        ("ref: index -2^63", post({"target": l, "index": -2 ** 63}, refs), 404, P + "index-error"),
        ("ref: list with key", post({"target": l, "key": "k"}, refs), 400, IF),
        ("ref: dict without key", post({"target": l}, drefs), 400, IF),
        ("ref: dict key 5", post({"target": l, "key": 5}, drefs), 400, IF),
        ("ref: dict key empty", post({"target": l, "key": ""}, drefs), 400, IF),
        ("ref: dict key NUL", post('{"target": %d, "key": "k\\u0000"}' % l, drefs), 400, IJ),
        ("ref: dict key 1 MB", post({"target": i, "key": MB}, drefs), 200, None, "m"),
        ("ref: instance attr 5", post({"target": l, "attr": 5}, orefs), 400, IF),
        ("ref: instance without attr", post({"target": l}, orefs), 400, IF),
        ("ref: int container", post({"target": l}, base + "/objects/%d/refs" % i), 409, P + "immutable"),
        ("ref: freed container", post({"target": l}, base + "/objects/%d/refs" % g), 404, P + "no-such-object"),
        ("ref: container 2^64", post({"target": l}, base + "/objects/18446744073709551616/refs"), 404,
         P + "no-such-object"),
        ("ref: container 1.0", post({"target": l}, base + "/objects/%d.0/refs" % l), 404, P + "no-such-object"),
        ("ref: unknown field", post({"target": l, "slot": 1}, refs), 400, UF),
        ("ref: duplicate key", post('{"target": %d, "target": %d}' % (l, d), refs), 400, IJ),
        # DELETE refs (query)
        ("unref: no selector", Req("DELETE", refs), 400, IF),
        ("unref: two selectors", Req("DELETE", refs + "?index=0&target=%d" % l), 400, IF),
        ("unref: index abc", Req("DELETE", refs + "?index=abc"), 400, IF),
        ("unref: target -3", Req("DELETE", refs + "?target=-3"), 400, II),
        ("unref: target 1.5", Req("DELETE", refs + "?target=1.5"), 400, II),
        ("unref: target 2^64", Req("DELETE", refs + "?target=18446744073709551616"), 404, P + "no-such-object"),
        ("unref: index 99", Req("DELETE", refs + "?index=99"), 404, P + "index-error"),
        ("unref: key %00", Req("DELETE", drefs + "?key=a%00b"), 400, "about:blank"),
        ("unref: key on list", Req("DELETE", refs + "?key=a"), 409, P + "wrong-type"),
        # ---- weakrefs
        ("weakref: target string", post({"target": str(s)}, base + "/weakrefs"), 400, II),
        ("weakref: target null", post({"target": None}, base + "/weakrefs"), 400, II),
        ("weakref: target float", post('{"target": %d.0}' % s, base + "/weakrefs"), 400, II),
        ("weakref: callback 1", post({"target": s, "callback": 1}, base + "/weakrefs"), 400, IF),
        ("weakref: name 5", post({"target": s, "name": 5}, base + "/weakrefs"), 400, IF),
        ("weakref: name NUL", post('{"target": %d, "name": "w\\u0000"}' % s, base + "/weakrefs"), 400, IJ),
        ("weakref: to a list", post({"target": l, "name": "w"}, base + "/weakrefs"), 409, P + "not-weakrefable"),
        ("weakref: to freed", post({"target": g, "name": "w"}, base + "/weakrefs"), 404, P + "no-such-object"),
        ("weakref: unknown field", post({"target": s, "weak": True}, base + "/weakrefs"), 400, UF),
        ("weakref: empty body", post(b"", base + "/weakrefs"), 400, IB),
        # ---- gc
        ("collect: generation '2'", post({"generation": "2"}, base + "/gc/collect"), 400, IF),
        ("collect: generation 3", post({"generation": 3}, base + "/gc/collect"), 400, IF),
        ("collect: generation -1", post({"generation": -1}, base + "/gc/collect"), 400, IF),
        ("collect: generation 1.0", post('{"generation": 1.0}', base + "/gc/collect"), 400, IF),
        ("collect: generation null", post({"generation": None}, base + "/gc/collect"), 400, IF),
        ("collect: generation 2^63", post('{"generation": 9223372036854775808}', base + "/gc/collect"), 400, IJ),
        ("collect: unknown field", post({"gen": 1}, base + "/gc/collect"), 400, UF),
        ("collect: body array", post("[]", base + "/gc/collect"), 400, IB),
        ("gc: enabled 1", Req("PATCH", base + "/gc", {"enabled": 1}), 400, IF),
        ("gc: enabled 'true'", Req("PATCH", base + "/gc", {"enabled": "true"}), 400, IF),
        ("gc: thresholds string", Req("PATCH", base + "/gc", {"thresholds": "700"}), 400, IF),
        ("gc: thresholds []", Req("PATCH", base + "/gc", {"thresholds": []}), 400, IF),
        ("gc: thresholds x4", Req("PATCH", base + "/gc", {"thresholds": [1, 1, 1, 1]}), 400, IF),
        ("gc: thresholds [-1]", Req("PATCH", base + "/gc", {"thresholds": [-1]}), 400, IF),
        ("gc: thresholds [2^31]", Req("PATCH", base + "/gc", {"thresholds": [2 ** 31]}), 400, IF),
        ("gc: unknown field", Req("PATCH", base + "/gc", {"threshold": [1]}), 400, UF),
        ("freeze: with a field", post({"all": True}, base + "/gc/freeze"), 400, UF),
        ("gc: unknown sub-resource", post({}, base + "/gc/run"), 404, P + "not-found"),
        # ---- batch
        ("batch: ops string", post({"ops": "x"}, batch), 400, IB),
        ("batch: ops object", post({"ops": {}}, batch), 400, IB),
        ("batch: ops null", post({"ops": None}, batch), 400, IB),
        ("batch: extra top field", post({"ops": [], "atomic": True}, batch), 400, IB),
        ("batch: op is a number", bop(5), 400, P + "invalid-op"),
        ("batch: op is a string", bop("create"), 400, P + "invalid-op"),
        ("batch: op without op", bop({"type": "list"}), 400, P + "invalid-op"),
        ("batch: op 5", bop({"op": 5}), 400, P + "invalid-op"),
        ("batch: unknown op", bop({"op": "delete", "id": l}), 400, P + "invalid-op"),
        ("batch: forward reference", bop({"op": "ref", "id": l, "target": "$1"}, {"op": "create", "type": "list"}),
         400, IR),
        ("batch: self reference $0", bop({"op": "create", "type": "list", "items": ["$0"], "name": "q"}), 400, IR),
        ("batch: self reference at op 1", bop({"op": "create", "type": "list", "name": "bq"},
                                              {"op": "ref", "id": "$1", "target": "$0"}), 400, IR, "m"),
        ("batch: $N of a bind", bop({"op": "bind", "name": "q2", "id": l}, {"op": "ref", "id": l, "target": "$0"}),
         400, IR, "m"),
        ("batch: $-1", bop({"op": "ref", "id": "$-1", "target": l}), 400, IR),
        ("batch: $ alone", bop({"op": "ref", "id": "$", "target": l}), 400, IR),
        ("batch: $0x", bop({"op": "create", "type": "list", "name": "q"}, {"op": "ref", "id": "$0x", "target": l}),
         400, IR, "m"),
        ("batch: $ 2^64", bop({"op": "ref", "id": "$18446744073709551616", "target": l}), 400, IR),
        ("batch: id float", bop({"op": "ref", "id": float(l), "target": l}), 400, II),
        ("batch: raw id of heap B", bop({"op": "ref", "id": l, "target": ctx.b_only}), 404, P + "no-such-object"),
        ("batch: ref to freed", bop({"op": "ref", "id": l, "target": g}), 404, P + "no-such-object"),
        ("batch: bind without name", bop({"op": "bind", "id": l}), 400, IF),
        ("batch: bind name 5", bop({"op": "bind", "name": 5, "id": l}), 400, IF),
        ("batch: bind name NUL", post('{"ops": [{"op": "bind", "name": "l\\u0000x", "id": %d}]}' % d, batch),
         400, IJ),
        ("batch: unbind extra field", bop({"op": "unbind", "name": "l", "id": l}), 400, UF),
        ("batch: freeze extra field", bop({"op": "freeze", "x": 1}), 400, UF),
        ("batch: create unknown field", bop({"op": "create", "type": "list", "colour": 1}), 400, UF),
        ("batch: duplicate op key", post('{"ops": [{"op": "collect", "op": "freeze"}]}', batch), 400, IJ),
        ("batch: 100k ops of nothing", post('{"ops": [%s]}' % ",".join(["{}"] * 100000), batch), 400,
         P + "invalid-op"),
        # ---- queries
        ("list: limit 0", Req("GET", obj + "?limit=0"), 400, IQ),
        ("list: limit 1001", Req("GET", obj + "?limit=1001"), 400, IQ),
        ("list: limit -1", Req("GET", obj + "?limit=-1"), 400, IQ),
        ("list: limit 2^64", Req("GET", obj + "?limit=18446744073709551616"), 400, IQ),
        ("list: cursor abc", Req("GET", obj + "?cursor=abc"), 400, IQ),
                ("list: type bogus", Req("GET", obj + "?type=%ff"), 400, IQ),
        ("events: since -1", Req("GET", base + "/events?since=-1"), 400, IQ),
        ("events: limit 10001", Req("GET", base + "/events?limit=10001"), 400, IQ),
        ("memory: format xml", Req("GET", base + "/memory?format=xml"), 400, IQ),
        # ---- object ids in paths
        ("path: object 2^64", Req("GET", obj + "/18446744073709551616"), 404, P + "no-such-object"),
        ("path: object 2^63", Req("GET", obj + "/9223372036854775808"), 404, P + "no-such-object"),
        ("path: object 1.0", Req("GET", obj + "/1.0"), 404, P + "no-such-object"),
        ("path: object 1e3", Req("GET", obj + "/1e3"), 404, P + "no-such-object"),
        ("path: object -1", Req("GET", obj + "/-1"), 404, P + "no-such-object"),
        ("path: object freed", Req("GET", obj + "/%d" % g), 404, P + "object-freed"),
        ("path: object %00", Req("GET", obj + "/%d%%00" % l), 400, "about:blank"),
        ("path: too many segments", Req("GET", obj + "/1/refs/2/3/4/5/6/7"), 404, P + "not-found"),
        # ---- traversal: static files and heap ids
        ("static: ../", Req("GET", "/../secret.txt", tok=None), 404, "about:blank"),
        ("static: %2e%2e/", Req("GET", "/%2e%2e/secret.txt", tok=None), 404, "about:blank"),
        ("static: ..%2f", Req("GET", "/..%2fsecret.txt", tok=None), 404, "about:blank"),
        ("static: %2e%2e%2f", Req("GET", "/%2e%2e%2fsecret.txt", tok=None), 404, "about:blank"),
        ("static: sub/../../", Req("GET", "/sub/../../secret.txt", tok=None), 404, "about:blank"),
        ("static: sub/%2e%2e/%2e%2e", Req("GET", "/sub/%2e%2e/%2e%2e/secret.txt", tok=None), 404, "about:blank"),
        ("static: .%2e", Req("GET", "/.%2e/secret.txt", tok=None), 404, "about:blank"),
        ("static: backslash", Req("GET", "/..\\secret.txt", tok=None), 404, "about:blank"),
        ("static: %5c", Req("GET", "/..%5csecret.txt", tok=None), 404, "about:blank"),
        ("static: //etc/passwd", Req("GET", "//etc/passwd", tok=None), 404, "about:blank"),
        ("static: %2fetc%2fpasswd", Req("GET", "/%2fetc%2fpasswd", tok=None), 404, "about:blank"),
        ("static: absolute URI", Req("GET", "", tok=None, raw_path=b"http://x/../secret.txt"), 404, "about:blank"),
        ("static: %00", Req("GET", "/index.html%00.txt", tok=None), 400, "about:blank"),
        ("static: overlong dot %c0%ae", Req("GET", "/%c0%ae%c0%ae/secret.txt", tok=None), 404, "about:blank"),
        ("heap id: ..", Req("GET", "/v1/heaps/../heaps", tok="admin"), 404, P + "no-such-heap"),
        ("heap id: %2e%2e", Req("GET", "/v1/heaps/%2e%2e/objects"), 404, P + "no-such-heap"),
        ("heap id: B via A/..", Req("GET", base + "/../" + B + "/objects"), 404, P + "not-found"),
        ("heap id: B via A%2f..%2fB", Req("GET", base + "%2f..%2f" + B + "/objects"), 404, P + "not-found"),
        ("heap id: B%2fobjects with A's token", Req("GET", bbase + "%2fobjects"), 403, P + "forbidden"),
                ("heap id: %ff", Req("GET", "/v1/heaps/%ff/objects"), 404, P + "no-such-heap"),
        ("heap id: 1 KB", Req("GET", "/v1/heaps/" + "h" * 1000 + "/objects"), 404, P + "no-such-heap"),
        ("heap id: with %00", Req("GET", "/v1/heaps/" + A + "%00/objects"), 400, "about:blank"),
        ("heap id: case changed", Req("GET", "/v1/heaps/" + A.upper() + "/objects"), 404, P + "no-such-heap"),
        # ---- methods
        ("method: FOO on heaps", Req("FOO", "/v1/heaps", tok="admin"), 405, P + "method-not-allowed"),
        ("method: lowercase get", Req("get", obj), 405, P + "method-not-allowed"),
        ("method: TRACE on heap", Req("TRACE", base), 405, P + "method-not-allowed"),
        ("method: PROPFIND on object", Req("PROPFIND", obj + "/%d" % l), 405, P + "method-not-allowed"),
        ("method: PATCH on batch", Req("PATCH", batch, {"ops": []}), 405, P + "method-not-allowed"),
        ("method: DELETE on check", Req("DELETE", base + "/check"), 405, P + "method-not-allowed"),
        ("method: FOO on static", Req("FOO", "/index.html", tok=None), 405, "about:blank"),
        ("method: CONNECT", Raw(b"CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), 404,
         "about:blank"),
        ("method: invalid token", Raw(b"GE(T / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), (400, 405), None),
        ("http: not HTTP", Raw(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40), CLOSED, None),
        ("http: HTTP/2 preface", Raw(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505, MHD),
                ("http: HTTP/1.1 without Host", Raw(b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n"), 400, MHD),
        ("http: bare LF line ends", Raw(b"GET /healthz HTTP/1.1\nHost: x\nConnection: close\n\n"), (200, 400), None),
        ("http: header without colon", Raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\nBogus\r\nConnection: close\r\n\r\n"),
         400, MHD),
        ("http: 100 KB header", Raw(lambda c: b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100000 +
                                     b"\r\nConnection: close\r\n\r\n"), 431, MHD),
        # ---- Content-Type
        ("ctype: missing", post(J(type="list", name="ct1"), ctype=None), 201, None, "m"),
        ("ctype: text/plain", post(J(type="list", name="ct2"), ctype="text/plain"), 201, None, "m"),
        ("ctype: form", post(J(type="list", name="ct3"), ctype="application/x-www-form-urlencoded"), 201, None,
         "m"),
        ("ctype: form body", post("type=list&name=q", ctype="application/x-www-form-urlencoded"), 400, IJ),
        ("ctype: multipart body", post("--b\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\nlist\r\n--b--",
                                       ctype="multipart/form-data; boundary=b"), 400, IJ),
        # ---- Content-Length lies, chunked, Expect
        ("cl: shorter than body", Fn(s_pipelined_cl_short), 400, IJ),
        ("cl: longer than body", Fn(s_content_length_longer), CLOSED, None),
        ("cl: negative", Req("POST", obj, J(type="list", name="q"), cl=-1), 400, MHD),
        ("cl: not a number", Raw(lambda c: request_bytes(c, "POST", c.base + "/objects", None,
                                                         headers=("Content-Length: ten",))), 400, MHD),
        ("cl: past max-body", Req("POST", obj, J(type="list", name="q"), cl=MAX_BODY + 1), 413, "about:blank"),
        ("cl: 2^64", Raw(lambda c: request_bytes(c, "POST", c.base + "/objects", None,
                                                 headers=("Content-Length: 18446744073709551616",))), 413, MHD),
        ("cl: two different", Raw(lambda c: request_bytes(c, "POST", c.base + "/objects", b'{"type": "list"}',
                                                          headers=("Content-Length: 3",))), 400, "about:blank"),
        ("cl: with chunked (smuggling)", Raw(lambda c: request_bytes(
            c, "POST", c.base + "/objects", None, headers=("Content-Length: 4", "Transfer-Encoding: chunked"))
            + b"0\r\n\r\nGET /v1/heaps HTTP/1.1\r\nHost: x\r\n\r\n"), 400, IB),
        ("chunked: valid body", Raw(lambda c: request_bytes(c, "POST", c.base + "/objects", None,
                                                            headers=("Transfer-Encoding: chunked",)) +
                                    b'10\r\n{"type": "list",\r\n10\r\n "name": "chnk"}\r\n0\r\n\r\n'), 201, None, "m"),
        ("chunked: bad size", Raw(lambda c: request_bytes(c, "POST", c.base + "/objects", None,
                                                          headers=("Transfer-Encoding: chunked",)) + b"zz\r\nab\r\n"),
         400, MHD),
        ("chunked: huge size", Raw(lambda c: request_bytes(c, "POST", c.base + "/objects", None,
                                                           headers=("Transfer-Encoding: chunked",)) +
                                   b"ffffffffffffffffff\r\nab\r\n"), 413, MHD),
        ("chunked: past max-body", Raw(lambda c: request_bytes(c, "POST", c.base + "/objects", None,
                                                               headers=("Transfer-Encoding: chunked",)) +
                                       b"%x\r\n" % (MAX_BODY + 10) + b" " * (MAX_BODY + 10) + b"\r\n0\r\n\r\n"),
         413, "about:blank"),
        ("chunked: truncated", Fn(s_chunked_truncated), CLOSED, None),
        ("chunked: gzip coding", Raw(lambda c: request_bytes(c, "POST", c.base + "/objects", None,
                                                             headers=("Transfer-Encoding: gzip, chunked",)) +
                                     b"0\r\n\r\n"), CLOSED, None),
        ("expect: 100-continue, huge length", Fn(s_expect_huge), 413, "about:blank"),
        ("expect: 100-continue, small length", Fn(s_expect_small), 201, None, "m"),
        ("body on GET", Req("GET", obj + "/%d" % l, "garbage"), 200, None),
        # ---- slow and many clients
        ("slowloris: 5 dribbling clients", Fn(s_slowloris), CLOSED, None),
        ("flood: max-connections + 16", Fn(s_connection_flood), 200, None),
        # ---- freed objects
        ("freed: GET path", Req("GET", obj + "/%d/path" % g), 404, P + "object-freed"),
        ("freed: unref target", Req("DELETE", refs + "?target=%d" % g), 404, P + "no-such-object"),
        ("freed: as dict value", post(J(type="dict", items={"k": g}, name="q")), 404, P + "no-such-object"),
        ("freed: instance attr", post({"target": g, "attr": "a"}, orefs), 404, P + "no-such-object"),
        # ---- tokens and Authorization
        ("auth: no token", Req("GET", obj, tok=None), 401, P + "unauthorized"),
        ("auth: heap B's token", Req("GET", obj, tok="B"), 403, P + "forbidden"),
        ("auth: B's token writes A", post(J(type="list", name="evil"), tok="B"), 403, P + "forbidden"),
        ("auth: B's token deletes A", Req("DELETE", base, tok="B"), 403, P + "forbidden"),
        ("auth: Bearer without token", Req("GET", obj, tok=None, headers=("Authorization: Bearer",)), 401,
         P + "unauthorized"),
        ("auth: Bearer and spaces", Req("GET", obj, tok=None, headers=("Authorization: Bearer    ",)), 401,
         P + "unauthorized"),
        ("auth: empty header", Req("GET", obj, tok=None, headers=("Authorization:",)), 401, P + "unauthorized"),
        ("auth: Basic", Req("GET", obj, tok=None, headers=("Authorization: Basic YTpi",)), 401, P + "unauthorized"),
        ("auth: Token scheme", Req("GET", obj, tok=None, headers=("Authorization: Token " + ctx.ta,)), 401,
         P + "unauthorized"),
        ("auth: token without scheme", Req("GET", obj, tok=None, headers=("Authorization: " + ctx.ta,)), 401,
         P + "unauthorized"),
        ("auth: lowercase bearer", Req("GET", obj, tok=None, headers=("Authorization: bearer " + ctx.ta,)), 200,
         None),
        ("auth: token + trailing space", Req("GET", obj, tok=ctx.ta + " "), 403, P + "forbidden"),
        ("auth: token truncated", Req("GET", obj, tok=ctx.ta[:-1]), 403, P + "forbidden"),
        ("auth: token + 1 char", Req("GET", obj, tok=ctx.ta + "0"), 403, P + "forbidden"),
        ("auth: token upper-case", Req("GET", obj, tok=ctx.ta.upper()), 403, P + "forbidden"),
        ("auth: A's token twice", Req("GET", obj, tok=ctx.ta + " " + ctx.ta), 403, P + "forbidden"),
        ("auth: 8 KB token", Req("GET", obj, tok="t" * 8192), 403, P + "forbidden"),
        ("auth: non-ASCII token", Req("GET", obj, tok="\xff\xfe" + ctx.ta[2:]), 403, P + "forbidden"),
        ("auth: admin token prefix", Req("GET", obj, tok=ADMIN[:-1]), 403, P + "forbidden"),
        ("auth: two headers, B first", Req("GET", obj, tok="B", headers=("Authorization: Bearer " + ctx.ta,)),
         403, P + "forbidden"),
        ("auth: deleted heap's token", Req("GET", "/v1/heaps/%s/objects" % ctx.dead, tok=ctx.dead_token), 404,
         P + "no-such-heap"),
        ("auth: list heaps with A's token", Req("GET", "/v1/heaps"), 403, P + "forbidden"),
        ("auth: list heaps, no token", Req("GET", "/v1/heaps", tok=None), 401, P + "unauthorized"),
        ("auth: token in query", Req("GET", obj + "?token=" + ctx.ta, tok=None), 401, P + "unauthorized"),
    ]


# ---------------------------------------------------------------- fixture and run


def api(ctx, method, path, body=None, tok="A"):
    return exchange(ctx.port, request_bytes(ctx, method, path, body, tok))


def make_heap(ctx, name):
    r = api(ctx, "POST", "/v1/heaps", {"name": name}, tok=None)
    assert r.status == 201, r
    j = json.loads(r.body)
    return j["id"], j["token"]


def populate(ctx, hid, tok):
    ops = [{"op": "create", "type": "list", "name": "l"},
           {"op": "create", "type": "dict", "name": "d"},
           {"op": "create", "type": "int", "value": 4242, "name": "i"},
           {"op": "create", "type": "instance", "class": "C", "name": "o"},
           {"op": "create", "type": "set", "name": "s"},
           {"op": "create", "type": "list", "name": "g"},
           {"op": "unbind", "name": "g"}]
    r = api(ctx, "POST", "/v1/heaps/%s/batch" % hid, {"ops": ops}, tok=tok)
    assert r.status == 200, r
    return [x["id"] for x in json.loads(r.body)["results"][:6]]


def snapshot(ctx, hid, tok):
    r = api(ctx, "GET", "/v1/heaps/" + hid, tok=tok)
    n = api(ctx, "GET", "/v1/heaps/%s/names" % hid, tok=tok)
    if r.status != 200 or n.status != 200:
        return ("unreadable", r.status, n.status)
    j = json.loads(r.body)
    return j["objects"], j["bytes"], j["names"], json.loads(n.body)["names"]


def after_case(ctx):
    """The server still answers, and every heap passes /check."""
    problems = []
    if ctx.srv.proc.poll() is not None:
        return ["the server died (exit %r)" % ctx.srv.proc.returncode]
    r = api(ctx, "GET", "%s/objects/%d" % (ctx.base, ctx.l))
    if r.status != 200 or json.loads(r.body).get("id") != ctx.l:
        problems.append("next valid request: %r" % r)
    for hid, tok in ((ctx.a, ctx.ta), (ctx.b, ctx.tb)):
        r = api(ctx, "GET", "/v1/heaps/%s/check" % hid, tok=tok)
        if r.status != 200 or json.loads(r.body) != {"ok": True}:
            problems.append("/check %s: %r" % (hid, r))
    return problems


# Cases that once failed because of a server bug (all fixed; the cases now
# guard the fixes):
#   1: a name with invalid UTF-8 in the path was bound without an answer;
#   2: a problem whose detail echoed invalid UTF-8 lost its "detail";
#   3: two different Content-Length headers were accepted (smuggling);
#   4: an HTTP/1.1 request without Host was served.
KNOWN_BUGS = {}


def verify(resp, status, ptype):
    errs = []
    if isinstance(status, tuple):
        if resp.status not in status:
            errs.append("status %d, want one of %r" % (resp.status, status))
        return errs
    if resp.status != status:
        errs.append("status %d, want %d" % (resp.status, status))
    if ptype is None or status == CLOSED:
        return errs
    p = resp.problem
    if ptype == MHD:
        if p is not None:
            errs.append("a problem body from the server, want libmicrohttpd's own reply: %r" % p)
        return errs
    if p is None:
        errs.append("not a problem+json body (content-type %r)" % resp.headers.get("content-type"))
        return errs
    if p.get("type") != ptype:
        errs.append("type %r, want %r" % (p.get("type"), ptype))
    if p.get("status") != resp.status or not p.get("title") or not isinstance(p.get("detail"), str):
        errs.append("problem fields: %r" % p)
    if resp.headers.get("x-content-type-options") != "nosniff":
        errs.append("no nosniff")
    return errs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--only", help="run the cases whose label contains this")
    ap.add_argument("-v", action="store_true")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="heaplab-hostile-")
    www = os.path.join(tmp, "www")
    os.makedirs(os.path.join(www, "sub"))
    with open(os.path.join(www, "index.html"), "w") as f:
        f.write("<!doctype html><title>heaplab</title>")
    with open(os.path.join(www, "sub", "a.txt"), "w") as f:
        f.write("a")
    with open(os.path.join(tmp, "secret.txt"), "w") as f:
        f.write(SECRET)
    srv = Server(a.binary, name="hostile",
                 args=["--admin-token", ADMIN, "--idle-timeout", str(IDLE), "--max-connections", str(MAX_CONN),
                       "--max-body", str(MAX_BODY), "--static-dir", www]).start()
    ctx = Ctx()
    ctx.srv, ctx.port = srv, srv.port
    ctx.ta = ctx.tb = None
    ctx.a, ctx.ta = make_heap(ctx, "hostile-a")
    ctx.b, ctx.tb = make_heap(ctx, "hostile-b")
    ctx.dead, ctx.dead_token = make_heap(ctx, "dead")
    api(ctx, "DELETE", "/v1/heaps/" + ctx.dead, tok=ctx.dead_token)
    ctx.l, ctx.d, ctx.i, ctx.o, ctx.s, ctx.gone = populate(ctx, ctx.a, ctx.ta)
    populate(ctx, ctx.b, ctx.tb)
    # an id that is live in heap B but was never used in heap A
    r = api(ctx, "POST", "/v1/heaps/%s/batch" % ctx.b,
            {"ops": [{"op": "create", "type": "list", "name": "b%d" % k} for k in range(5)]}, tok="B")
    ctx.b_only = json.loads(r.body)["results"][-1]["id"]
    ctx.base, ctx.bbase = "/v1/heaps/" + ctx.a, "/v1/heaps/" + ctx.b
    cases = catalogue(ctx)
    print("catalogue: %d hostile requests" % len(cases), flush=True)
    passed = failed = 0
    snaps = {h: snapshot(ctx, h, t) for h, t in ((ctx.a, ctx.ta), (ctx.b, ctx.tb))}
    try:
        for case in cases:
            label, req, status, ptype = case[:4]
            flags = case[4] if len(case) > 4 else ""
            if a.only and a.only not in label:
                continue
            errs = []
            try:
                resp = req.send(ctx)
                errs += verify(resp, status, ptype)
                if SECRET.encode() in resp.raw or SECRET.encode() in resp.body:
                    errs.append("the secret outside the static directory was served")
                errs += after_case(ctx)
                for h, t in ((ctx.a, ctx.ta), (ctx.b, ctx.tb)):
                    now = snapshot(ctx, h, t)
                    if now != snaps[h] and not ("m" in flags and h == ctx.a):
                        errs.append("heap %s changed: %r -> %r" % (h, str(snaps[h])[:200], str(now)[:200]))
                    snaps[h] = now
            except Exception:  # noqa: BLE001
                errs.append(traceback.format_exc())
                try:
                    errs += after_case(ctx)
                except Exception:  # noqa: BLE001
                    errs.append("the server does not answer")
            if errs:
                failed += 1
                note = "  # FAILS until %s is fixed" % KNOWN_BUGS[label] if label in KNOWN_BUGS else ""
                print("FAIL %s: %s%s" % (label, "; ".join(errs), note), flush=True)
                if a.v:
                    print("     response: %r" % (resp if "resp" in dir() else None))
            else:
                passed += 1
                if a.v:
                    print("ok   %s" % label, flush=True)
            if srv.proc.poll() is not None:
                print("FAIL the server died; stopping. Log tail:\n" + srv.log_text()[-2000:])
                failed += 1
                break
    finally:
        code = srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    if code != 0:
        failed += 1
        print("FAIL the server exited %r on SIGTERM" % code)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
