"""harness.py — starting and stopping a real heaplab process for the HTTP
test suites of this folder (hostile inputs, isolation)."""
import signal
import socket
import subprocess
import tempfile
import time


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
