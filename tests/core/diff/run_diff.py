#!/usr/bin/env python3
"""Differential test: every scenario runs in the heaplab model (hl-scenario)
and, as the Python program hl-scenario writes, in CPython 3.11; the two
observation streams must be identical.

    run_diff.py --runner PATH/hl-scenario [--only NAME] [--seeds A..B]
                [--ops N] [--keep DIR] [--python python3] [-v]

Prints one line per scenario ("ok NAME" or "FAIL NAME: ...") and a last line
"N passed, N failed"; exits 1 when anything failed.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OP_RE = re.compile(r"^\s*# @op (\d+) tok (\d+): (.*)$")


def op_map(py_path):
    """[(first token index, op number, op text)] from the program's comments."""
    ops = []
    try:
        with open(py_path, encoding="utf-8", errors="replace") as f:
            for line in f:
                m = OP_RE.match(line)
                if m:
                    ops.append((int(m.group(2)), int(m.group(1)), m.group(3)))
    except OSError:
        pass
    return ops


def op_at(ops, tok_index):
    """The op whose tokens include line tok_index (0-based)."""
    best = None
    for first, num, text in ops:
        if first <= tok_index:
            best = (num, text)
        else:
            break
    return best


def compare(name, model, python, py_path, py_err):
    m = model.splitlines()
    p = python.splitlines()
    if m == p:
        return None
    n = 0
    while n < len(m) and n < len(p) and m[n] == p[n]:
        n += 1
    mx = m[n] if n < len(m) else "<end>"
    px = p[n] if n < len(p) else "<end>"
    lines = ["FAIL %s: first differing line %d: model %s python %s" % (name, n + 1, mx, px)]
    lo = max(0, n - 6)
    lines.append("    line  model            python")
    for i in range(lo, min(max(len(m), len(p)), n + 4)):
        a = m[i] if i < len(m) else ""
        b = p[i] if i < len(p) else ""
        lines.append("    %s%4d  %-16s %s" % (">" if i == n else " ", i + 1, a, b))
    ops = op_map(py_path)
    where = op_at(ops, n)
    if where:
        lines.append("    produced by op %d: %s" % where)
        # the Python statements of that op, for the reader
        try:
            with open(py_path, encoding="utf-8", errors="replace") as f:
                src = f.read().splitlines()
            start = None
            for i, line in enumerate(src):
                mm = OP_RE.match(line)
                if mm and int(mm.group(1)) == where[0]:
                    start = i
                elif start is not None and mm:
                    break
                elif start is not None:
                    shown = sum(1 for x in lines if x.startswith("      | "))
                    if shown < 12:
                        lines.append("      | " + line.strip())
        except OSError:
            pass
    if py_err.strip():
        tail = py_err.strip().splitlines()[-6:]
        lines.extend("    python stderr: " + t for t in tail)
    return "\n".join(lines)


def run_one(args, name, runner_args, workdir):
    py_path = os.path.join(workdir, name.replace("/", "_") + ".py")
    cmd = [args.runner] + [py_path if a == "OUT" else a for a in runner_args]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return False, "FAIL %s: hl-scenario timed out" % name
    if r.returncode != 0:
        err = r.stderr.strip().splitlines()
        return False, "FAIL %s: hl-scenario exit %d: %s" % (
            name, r.returncode, " / ".join(err[-3:]) if err else "(no message)")
    env = dict(os.environ)
    env["PYTHONHASHSEED"] = "0"
    env.pop("PYTHONSTARTUP", None)
    env.pop("PYTHONDEVMODE", None)
    env.pop("PYTHONMALLOC", None)
    try:
        p = subprocess.run([args.python, py_path], capture_output=True, text=True,
                           timeout=args.timeout, env=env)
    except subprocess.TimeoutExpired:
        return False, "FAIL %s: python timed out" % name
    diff = compare(name, r.stdout, p.stdout, py_path, p.stderr)
    if diff is None and p.returncode != 0:
        diff = "FAIL %s: python exit %d: %s" % (name, p.returncode, p.stderr.strip()[-300:])
    if diff:
        return False, diff
    return True, "ok %s" % name


def parse_seeds(text):
    m = re.fullmatch(r"(\d+)\.\.(\d+)", text)
    if m:
        return list(range(int(m.group(1)), int(m.group(2)) + 1))
    if re.fullmatch(r"\d+(,\d+)*", text):
        return [int(x) for x in text.split(",")]
    raise argparse.ArgumentTypeError("seeds are A..B or N[,N...]")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runner_pos", nargs="?", help="path to hl-scenario")
    ap.add_argument("--runner", help="path to hl-scenario")
    ap.add_argument("--only", action="append", help="run only this scenario (name or seed-N); repeatable")
    ap.add_argument("--seeds", type=parse_seeds, default=parse_seeds("1..20"))
    ap.add_argument("--ops", type=int, default=1000)
    ap.add_argument("--scenarios", default=os.path.join(HERE, "scenarios"))
    ap.add_argument("--python", default=os.environ.get("HL_DIFF_PYTHON", "python3"))
    ap.add_argument("--keep", help="keep generated programs in this directory")
    ap.add_argument("--timeout", type=float, default=120)
    args = ap.parse_args()
    args.runner = args.runner or args.runner_pos
    if not args.runner:
        ap.error("the path to hl-scenario is required (--runner)")

    # heaplab behaves like the interpreter it is compared with: its profile
    version = subprocess.run([args.python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True).stdout.strip()
    if version not in ("3.11", "3.12", "3.13"):
        ap.error("%s is Python %s; heaplab models 3.11, 3.12 and 3.13" % (args.python, version or "?"))
    profile = ["--profile", version]
    print("profile %s, compared with %s" % (version, args.python), flush=True)

    jobs = []
    if os.path.isdir(args.scenarios):
        for fn in sorted(os.listdir(args.scenarios)):
            if fn.endswith(".scn"):
                jobs.append((fn[:-4], profile + [os.path.join(args.scenarios, fn), "OUT"]))
    for s in args.seeds:
        jobs.append(("seed-%d" % s, profile + ["--random", str(s), "--ops", str(args.ops), "OUT"]))
    if args.only:
        jobs = [j for j in jobs if j[0] in args.only]

    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        workdir = args.keep
        tmp = None
    else:
        tmp = tempfile.TemporaryDirectory(prefix="hl-diff-")
        workdir = tmp.name
    passed = failed = 0
    for name, rargs in jobs:
        ok, msg = run_one(args, name, rargs, workdir)
        print(msg, flush=True)
        if ok:
            passed += 1
        else:
            failed += 1
    print("%d passed, %d failed" % (passed, failed), flush=True)
    if tmp:
        tmp.cleanup()
    return 1 if failed or not jobs else 0


if __name__ == "__main__":
    sys.exit(main())
