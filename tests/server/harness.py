"""harness.py — starting and stopping a real heaplab process for the HTTP
test suites of this folder, and the loop that runs their cases."""
import os
import signal
import socket
import subprocess
import tempfile
import time
import traceback


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One heaplab process on a free loopback port; stderr goes to a file."""

    def __init__(self, binary, args, name="server"):
        self.binary, self.args = binary, args
        self.log = tempfile.NamedTemporaryFile(prefix="heaplab-%s-" % name, suffix=".log", delete=False)
        self.proc = None
        self.port = None

    def start(self):
        # A port can be taken between asking for it and binding it: retry.
        for _ in range(5):
            self.port = free_port()
            self.proc = subprocess.Popen([self.binary, "--port", str(self.port)] + self.args,
                                         stdout=subprocess.DEVNULL, stderr=self.log)
            deadline = time.time() + 10
            while time.time() < deadline and self.proc.poll() is None:
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                        return self
                except OSError:
                    time.sleep(0.05)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        raise RuntimeError("server did not start")

    def stop(self, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def log_text(self):
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return f.read()


def run_case(srv, name, fn):
    """Runs one case: it fails on any exception, or when the server died
    meanwhile.  Prints "ok NAME (note)" or "FAIL NAME" with the traceback;
    True when it passed."""
    try:
        note = fn()
        if srv.proc.poll() is not None:
            raise AssertionError("the server died")
        print("ok   %s%s" % (name, " (%s)" % note if note else ""), flush=True)
        return True
    except Exception:  # noqa: BLE001
        print("FAIL %s\n%s" % (name, traceback.format_exc()), flush=True)
        return False


def report(srv, code, passed, failed):
    """The end of a suite: the server must have exited 0 on SIGTERM (code);
    prints the summary line, keeps the server's log only when something
    failed, and returns the exit status."""
    if code != 0:
        failed += 1
        print("FAIL the server exited %r on SIGTERM; log:\n%s" % (code, srv.log_text()[-2000:]))
    if failed:
        print("server log kept: %s" % srv.log.name)
    else:
        os.unlink(srv.log.name)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0
