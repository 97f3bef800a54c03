#!/usr/bin/env python3
"""Runs README.md's lesson blocks against a live server, so the docs cannot
drift from the code.

A lesson block sits between <!-- lesson --> and <!-- /lesson --> in a ```sh
fence.  Every command line runs in one bash session (variables carry over);
a following `# => TEXT` line says that command's output must contain TEXT.
Prints one line per check and a final `N passed, N failed` line.
"""
import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lesson_blocks(readme):
    text = open(readme, encoding="utf-8").read()
    blocks = re.findall(r"<!-- lesson -->\s*```sh\n(.*?)```\s*<!-- /lesson -->", text, re.S)
    if not blocks:
        sys.exit("run_readme: no lesson block in " + readme)
    return blocks


def compile_block(block, outdir):
    """Returns (bash script, [(step number, command, expectations)])."""
    lines, steps = ["set -e"], []
    for raw in block.splitlines():
        line = raw.strip()
        if line.startswith("# =>"):
            if not steps:
                sys.exit("run_readme: an expectation before any command")
            steps[-1][2].append(line[4:].strip())
        elif line and not line.startswith("#"):
            n = len(steps)
            steps.append((n, line, []))
            lines.append("{ %s ; } > %s/out.%d 2>&1" % (line, outdir, n))
    return "\n".join(lines) + "\n", steps


def wait_ready(base, proc):
    for _ in range(100):
        if proc.poll() is not None:
            sys.exit("run_readme: the server exited early")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    sys.exit("run_readme: the server did not come up")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--readme", required=True)
    args = ap.parse_args()
    port = free_port()
    base = "http://127.0.0.1:%d" % port
    proc = subprocess.Popen([args.binary, "--port", str(port)], stderr=subprocess.DEVNULL)
    passed = failed = 0
    try:
        wait_ready(base, proc)
        for i, block in enumerate(lesson_blocks(args.readme)):
            with tempfile.TemporaryDirectory() as tmp:
                script, steps = compile_block(block, tmp)
                run = subprocess.run(["bash", "-c", script], env=dict(os.environ, HEAPLAB=base),
                                     capture_output=True, text=True, timeout=120)
                for n, command, expects in steps:
                    path = os.path.join(tmp, "out.%d" % n)
                    out = open(path).read() if os.path.exists(path) else ""
                    for want in expects:
                        ok = want in out
                        passed += ok
                        failed += not ok
                        print("%s lesson %d: %s  =>  %s%s" % ("ok" if ok else "FAIL", i, command[:60], want,
                                                               "" if ok else "\n    got: " + out.strip()[:300]))
                if run.returncode != 0:
                    failed += 1
                    print("FAIL lesson %d: bash exited %d: %s" % (i, run.returncode, run.stderr.strip()[:300]))
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
