#!/usr/bin/env python3
"""Durability of heaps across restarts, crashes, torn and corrupted files and
full disks, tested against the real server.

Each case starts heaplab with its own --data-dir, drives it over HTTP, stops
it (SIGTERM or kill -9), starts it again on the same directory and compares
what the API shows: digests, objects, names, gc state.  Prints one line per
case and a summary with the figures the issue asks for (kill -9 rounds,
operations acknowledged and lost).
"""
import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import http.client

FAILED = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary, data_dir, *extra, env=None):
        self.port = free_port()
        self.log = tempfile.TemporaryFile()
        e = dict(os.environ)
        e.pop("HEAPLAB_DATA_DIR", None)
        e.update(env or {})
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--no-auth", "--data-dir", data_dir, *extra],
            stdout=self.log, stderr=subprocess.STDOUT, env=e)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                if self.request("GET", "/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("server did not start:\n" + self.output())

    def request(self, method, path, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            data = json.dumps(body) if body is not None else None
            c.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
            r = c.getresponse()
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
        finally:
            c.close()

    def ok(self, method, path, body=None, want=(200, 201, 204)):
        st, j = self.request(method, path, body)
        if st not in want:
            raise AssertionError(f"{method} {path} -> {st} {j}")
        return j

    def output(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        self.proc.wait(timeout=20)
        return self.proc.returncode


def case(fn):
    def run(args):
        t0 = time.time()
        try:
            fn(args)
            print(f"ok   {fn.__name__} ({time.time() - t0:.1f}s)", flush=True)
        except Exception as ex:  # a failing case must not hide the others
            FAILED.append(fn.__name__)
            print(f"FAIL {fn.__name__}: {ex}", flush=True)
    return run


# ---- building heaps ----

def random_ops(rng, n):
    """A batch of operations of every kind, many referring back ($N)."""
    ops = []
    for i in range(n):
        k = rng.randrange(10)
        ref = lambda: f"${rng.randrange(i)}" if i and rng.random() < 0.7 else rng.randrange(1, 60)  # noqa: E731
        if k < 3:
            t = rng.choice(["int", "str", "list", "dict", "tuple", "float", "bytes", "set"])
            o = {"op": "create", "type": t, "name": rng.choice(["a", "b", "c", "d", None])}
            if t == "int":
                o["value"] = rng.randrange(-10, 10**6)
            elif t == "str":
                o["value"] = "v" * rng.randrange(0, 90)
            elif t == "float":
                o["value"] = rng.random()
            elif t == "bytes":
                o["value"] = "x" * rng.randrange(0, 700)
            if o["name"] is None:
                del o["name"]
            ops.append(o)
        elif k < 6:
            ops.append({"op": "create", "type": "instance", "name": rng.choice(["n1", "n2", "n3"])})
        elif k < 8:
            ops.append({"op": "ref", "id": ref(), "target": ref(), "key": "k", "attr": "k"})
        elif k == 8:
            ops.append({"op": "unbind", "name": rng.choice(["a", "b", "n1", "n2"])})
        else:
            ops.append({"op": "collect", "generation": rng.randrange(3)})
    return ops


def build(srv, rng, batches=6, size=60, profile="3.11"):
    h = srv.ok("POST", "/v1/heaps", {"name": "durable", "profile": profile})["id"]
    for _ in range(batches):
        srv.request("POST", f"/v1/heaps/{h}/batch", {"ops": random_ops(rng, size)})
    for i in range(30):  # single requests too: each one a journal commit
        srv.request("POST", f"/v1/heaps/{h}/objects", {"type": "list", "name": f"l{i % 7}"})
    return h


def without_durations(j):
    if isinstance(j, dict):
        return {k: without_durations(v) for k, v in j.items() if k != "duration_us"}
    if isinstance(j, list):
        return [without_durations(v) for v in j]
    return j


def view(srv, h):
    """Everything the API shows about a heap, real addresses aside."""
    out = {"digest": srv.ok("GET", f"/v1/heaps/{h}/digest")}
    heap = srv.ok("GET", f"/v1/heaps/{h}")
    heap.pop("version", None)
    out["heap"] = heap
    out["names"] = srv.ok("GET", f"/v1/heaps/{h}/names")
    out["gc"] = srv.ok("GET", f"/v1/heaps/{h}/gc")
    objs = []
    for i in range(1, out["digest"]["next_id"]):
        st, j = srv.request("GET", f"/v1/heaps/{h}/objects/{i}")
        if st == 200:
            j.pop("address", None)
            objs.append(j)
    out["objects"] = objs
    return without_durations(out)


def same(a, b, what):
    if a != b:
        for k in a:
            if a[k] != b.get(k):
                raise AssertionError(f"{what}: '{k}' differs:\n  before {str(a[k])[:300]}\n  after  {str(b.get(k))[:300]}")
        raise AssertionError(f"{what}: views differ")


# ---- cases ----

@case
def restart_keeps_every_heap(args):
    with tempfile.TemporaryDirectory() as d:
        rng = random.Random(1)
        srv = Server(args.binary, d, "--fsync", "always", "--snapshot-after", "1K")
        heaps = [build(srv, rng, profile=p) for p in ("3.11", "3.12", "3.13")]
        before = {h: view(srv, h) for h in heaps}
        assert [before[h]["heap"]["profile"] for h in heaps] == ["3.11", "3.12", "3.13"]
        assert srv.stop() == 0, "SIGTERM did not exit 0"
        snaps = sum(1 for h in heaps for f in os.listdir(f"{d}/heaps/{h}") if f.startswith("snapshot."))
        assert snaps > 0, "no heap was snapshotted; the test must cover snapshot + journal"
        srv = Server(args.binary, d)
        for h in heaps:
            same(before[h], view(srv, h), f"heap {h} after restart")
            assert srv.ok("GET", f"/v1/heaps/{h}/check")["ok"]
        srv.ok("POST", f"/v1/heaps/{heaps[0]}/gc/collect", {})
        srv.stop()


@case
def tokens_survive(args):
    with tempfile.TemporaryDirectory() as d:
        e = dict(os.environ)
        e.pop("HEAPLAB_DATA_DIR", None)
        port = free_port()
        p = subprocess.Popen([args.binary, "--port", str(port), "--data-dir", d, "--admin-token", "A" * 32],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=e)
        time.sleep(0.4)
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("POST", "/v1/heaps", body="{}", headers={"Content-Type": "application/json"})
        j = json.loads(c.getresponse().read())
        p.send_signal(signal.SIGTERM)
        p.wait()
        p = subprocess.Popen([args.binary, "--port", str(port), "--data-dir", d, "--admin-token", "A" * 32],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=e)
        time.sleep(0.4)
        for tok, want in ((j["token"], 200), ("0" * 64, 403)):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("GET", f"/v1/heaps/{j['id']}", headers={"Authorization": f"Bearer {tok}"})
            st = c.getresponse().status
            assert st == want, f"token {tok[:6]}... -> {st}, want {want}"
        p.send_signal(signal.SIGTERM)
        p.wait()


def writer(srv, h, name, acked, stop):
    """Creates objects bound to fresh names; records each one acknowledged."""
    i = 0
    while not stop.is_set():
        n = f"{name}_{i}"
        try:
            st, j = srv.request("POST", f"/v1/heaps/{h}/objects", {"type": "int", "value": i, "name": n})
        except OSError:
            return
        if st == 201:
            acked.append((n, j["id"], i))
        i += 1


@case
def kill9_loses_nothing_acknowledged(args):
    rounds, total_acked, lost = args.rounds, 0, 0
    with tempfile.TemporaryDirectory() as d:
        rng = random.Random(2)
        acked = []
        srv = Server(args.binary, d, "--fsync", "always", "--snapshot-after", "16K")
        heaps = [srv.ok("POST", "/v1/heaps", {})["id"] for _ in range(2)]
        srv.stop(signal.SIGKILL)
        for r in range(rounds):
            srv = Server(args.binary, d, "--fsync", "always", "--snapshot-after", "16K")
            stop = threading.Event()
            ts = [threading.Thread(target=writer, args=(srv, heaps[k % 2], f"r{r}w{k}", acked, stop))
                  for k in range(4)]
            for t in ts:
                t.start()
            time.sleep(rng.uniform(0.05, 0.4))
            srv.proc.kill()
            srv.proc.wait()
            stop.set()
            for t in ts:
                t.join()
        srv = Server(args.binary, d)
        names = {}
        for h in heaps:
            names[h] = srv.ok("GET", f"/v1/heaps/{h}/names")
            assert srv.ok("GET", f"/v1/heaps/{h}/check")["ok"]
        bound = {}
        for h in heaps:
            bound.update(names[h]["names"])
        for n, oid, _ in acked:
            total_acked += 1
            if n not in bound or int(bound[n]) != int(oid):
                lost += 1
        srv.stop()
    print(f"     kill -9 rounds: {rounds}, operations acknowledged: {total_acked}, lost: {lost}")
    assert total_acked > 0, "nothing was acknowledged: the test proved nothing"
    assert lost == 0, f"{lost} acknowledged operations lost with --fsync always"


def unsynced_age(srv):
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    for line in text.splitlines():
        if line.startswith("heaplab_journal_unsynced_age_seconds "):
            return float(line.split()[1])
    raise AssertionError("no heaplab_journal_unsynced_age_seconds in /metrics")


@case
def everysec_loss_window(args):
    """everysec promises at most about a second of answered changes at risk
    on a machine crash; /metrics says how old the oldest unsynced one is."""
    with tempfile.TemporaryDirectory() as d:
        worst = {}
        for policy in ("always", "everysec"):
            srv = Server(args.binary, d + "/" + policy, "--fsync", policy)
            h = srv.ok("POST", "/v1/heaps", {})["id"]
            acked, stop = [], threading.Event()
            ts = [threading.Thread(target=writer, args=(srv, h, f"w{k}", acked, stop)) for k in range(2)]
            for t in ts:
                t.start()
            samples = []
            end = time.time() + 3.0
            while time.time() < end:
                samples.append(unsynced_age(srv))
                time.sleep(0.05)
            stop.set()
            for t in ts:
                t.join()
            # a process crash loses nothing under any policy: the page cache has it
            srv.proc.kill()
            srv.proc.wait()
            srv = Server(args.binary, d + "/" + policy)
            bound = srv.ok("GET", f"/v1/heaps/{h}/names")["names"]
            lost = sum(1 for n, oid, _ in acked if bound.get(n) != oid)
            srv.stop()
            assert lost == 0, f"{policy}: {lost} of {len(acked)} answered writes lost to kill -9"
            worst[policy] = max(samples)
            if policy == "always":
                assert worst[policy] == 0, f"always: an answered write was unsynced for {worst[policy]} s"
            else:
                assert 0 < worst[policy] < 2.5, f"everysec: loss window reached {worst[policy]:.3f} s"
        print(f"     loss window (oldest answered write not yet fsynced): always {worst['always']:.3f} s, "
              f"everysec {worst['everysec']:.3f} s")


def last_journal(d, h):
    gens = [f for f in os.listdir(f"{d}/heaps/{h}") if f.startswith("journal.")]
    return f"{d}/heaps/{h}/" + max(gens, key=lambda f: int(f.split(".")[1]))


@case
def torn_tail_is_cut_and_corruption_refused(args):
    with tempfile.TemporaryDirectory() as d:
        rng = random.Random(3)
        srv = Server(args.binary, d, "--fsync", "always", "--snapshot-after", "0")
        good, torn, bad = (build(srv, rng, batches=2) for _ in range(3))
        views = {h: view(srv, h) for h in (good, torn)}
        srv.stop()
        # torn: a crash in the middle of the last record's write
        j = last_journal(d, torn)
        size = os.path.getsize(j)
        with open(j, "ab") as f:
            f.write(b"\x40\x00\x00\x00\x12\x34")
        # corrupt: one byte flipped well before the end
        jb = last_journal(d, bad)
        with open(jb, "r+b") as f:
            f.seek(40)
            b = f.read(1)
            f.seek(40)
            f.write(bytes([b[0] ^ 0x55]))
        srv = Server(args.binary, d)
        same(views[good], view(srv, good), "untouched heap")
        same(views[torn], view(srv, torn), "heap with a torn tail")
        assert os.path.getsize(j) == size, "the torn tail was not cut from the journal"
        st, p = srv.request("GET", f"/v1/heaps/{bad}")
        assert st == 503 and "could not be loaded" in p["detail"], f"corrupt heap answered {st} {p}"
        log = srv.output()
        assert "torn" in log and bad in log, "recovery did not log what it did:\n" + log
        srv.stop()


@case
def every_truncation_of_the_last_record(args):
    with tempfile.TemporaryDirectory() as d:
        srv = Server(args.binary, d, "--fsync", "always", "--snapshot-after", "0")
        h = srv.ok("POST", "/v1/heaps", {})["id"]
        srv.ok("POST", f"/v1/heaps/{h}/objects", {"type": "list", "name": "keep"})
        before = view(srv, h)
        first_end = os.path.getsize(last_journal(d, h))
        srv.ok("POST", f"/v1/heaps/{h}/objects", {"type": "str", "value": "the last record", "name": "last"})
        srv.stop()
        full = os.path.getsize(last_journal(d, h))
        for cut in range(first_end, full):
            shutil.copytree(d, d + ".try")
            with open(last_journal(d + ".try", h), "r+b") as f:
                f.truncate(cut)
            srv = Server(args.binary, d + ".try")
            st, _ = srv.request("GET", f"/v1/heaps/{h}/names/last")
            v = view(srv, h)
            srv.stop()
            shutil.rmtree(d + ".try")
            assert st == 404, f"cut at {cut} of {full} kept the record that was cut"
            same(before, v, f"cut at byte {cut}")
        assert full - first_end > 10
    print(f"     every cut of the last record ({full - first_end} offsets) recovered the state before it")


@case
def full_disk_answers_507_and_changes_nothing(args):
    with tempfile.TemporaryDirectory() as d:
        srv = Server(args.binary, d, "--fsync", "always", env={"HEAPLAB_FAULT_INJECTION": "1"})
        h = srv.ok("POST", "/v1/heaps", {})["id"]
        srv.ok("POST", f"/v1/heaps/{h}/objects", {"type": "list", "name": "x"})
        before = view(srv, h)
        for fault in ("enospc", "eio"):
            with open(f"{d}/FAULT", "w") as f:
                f.write(fault)
            for body in ({"type": "list", "name": "y"}, {"type": "int", "value": 5, "name": "x"}):
                st, p = srv.request("POST", f"/v1/heaps/{h}/objects", body)
                assert st == 507 and p["type"].endswith("insufficient-storage"), f"{fault}: {st} {p}"
            st, p = srv.request("POST", f"/v1/heaps/{h}/batch", {"ops": random_ops(random.Random(4), 40)})
            assert st == 507, f"{fault} batch: {st}"
            st, p = srv.request("POST", "/v1/heaps", {})
            assert st == 507, f"{fault} heap create: {st}"
            same(before, view(srv, h), f"after refused writes ({fault})")
        os.unlink(f"{d}/FAULT")
        srv.ok("POST", f"/v1/heaps/{h}/objects", {"type": "list", "name": "y"})
        after = view(srv, h)
        srv.stop()
        srv = Server(args.binary, d)
        same(after, view(srv, h), "after space came back and a restart")
        srv.stop()


@case
def real_full_tmpfs(args):
    if os.geteuid() != 0 or shutil.which("mount") is None:
        print("     (no tmpfs: not root) — the fault-injection case covers ENOSPC")
        return
    m = tempfile.mkdtemp()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", m],
                      stderr=subprocess.DEVNULL).returncode != 0:
        print("     (mounting tmpfs is not allowed here) — the fault-injection case covers ENOSPC")
        os.rmdir(m)
        return
    srv = None
    try:
        srv = Server(args.binary, m, "--fsync", "always", "--snapshot-after", "0")
        h = srv.ok("POST", "/v1/heaps", {})["id"]
        filler = f"{m}/filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:
            pass
        os.close(fd)
        # the journal's last page may still have room for a few records
        st, i = 201, 0
        while st == 201 and i < 500:
            st = srv.request("POST", f"/v1/heaps/{h}/objects", {"type": "str", "value": "z" * 300, "name": f"s{i}"})[0]
            i += 1
        assert st == 507, f"a full tmpfs answered {st} after {i} writes"
        before = view(srv, h)
        big = {"type": "str", "value": "z" * 300, "name": "t"}  # as large as the write the disk refused
        statuses = [srv.request("POST", f"/v1/heaps/{h}/objects", big)[0] for _ in range(10)]
        assert statuses.count(507) == 10, f"a full tmpfs answered {statuses}"
        same(before, view(srv, h), "reads while the disk is full")
        os.unlink(filler)
        srv.ok("POST", f"/v1/heaps/{h}/objects", {"type": "list", "name": "back"})
        after = view(srv, h)
        srv.stop()
        srv = Server(args.binary, m)
        same(after, view(srv, h), "tmpfs heap after restart")
    finally:
        if srv is not None and srv.proc.poll() is None:
            srv.stop()
        subprocess.run(["umount", m])
        os.rmdir(m)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--rounds", type=int, default=25)
    args = ap.parse_args()
    cases = (restart_keeps_every_heap, tokens_survive, kill9_loses_nothing_acknowledged, everysec_loss_window,
              torn_tail_is_cut_and_corruption_refused, every_truncation_of_the_last_record,
              full_disk_answers_507_and_changes_nothing, real_full_tmpfs)
    for c in cases:
        c(args)
    print(f"durability: {len(cases) - len(FAILED)} passed, {len(FAILED)} failed")
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
