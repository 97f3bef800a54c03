#!/usr/bin/env python3
"""tidy_filter.py LOG SUPP REPO BUILDDIR FILES — applies clang-tidy.supp to clang-tidy output.

Prints every unsuppressed warning (with its source line), a note for each
suppression that matched nothing (the analyzer's path exploration is not
fully stable, so that is not a failure), and "clang-tidy: N passed, N
failed" where each source file is one check (failed = it has unsuppressed
warnings).  Exit 1 on any failure."""
import os
import re
import sys

log, supp_path, repo, bdir = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
files = [l.strip() for l in open(sys.argv[5])]

supps = []
for raw in open(supp_path):
    line = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
    if not line:
        continue
    # TEXT may itself contain '#' (e.g. "#define"): split the comment only after the third field
    parts = [p.strip() for p in raw.rstrip("\n").split("|", 2)]
    if len(parts) != 3:
        sys.exit(f"bad suppression line: {raw!r}")
    text = parts[2]
    # a trailing comment is " # ..." after the text; "#define" at the start is text
    m = re.match(r"(.*?\S)\s+#\s.*$", text)
    if m and not text.startswith("#"):
        text = m.group(1)
    supps.append({"file": parts[0], "check": parts[1], "text": text, "used": 0})

warn_re = re.compile(r"^(.*?):(\d+):(\d+): warning: (.*) \[([^\]]+)\]$")
seen = set()
bad_files = {}
for line in open(log, errors="replace"):
    m = warn_re.match(line.rstrip("\n"))
    if not m:
        continue
    path, lineno, col, msg, checks = m.groups()
    path = os.path.normpath(os.path.join(bdir, path))
    key = (path, lineno, col, checks)
    if key in seen:  # headers are reported once per including file
        continue
    seen.add(key)
    try:
        src = open(path, errors="replace").read().split("\n")[int(lineno) - 1]
    except (OSError, IndexError):
        src = ""
    checks_l = [c.strip() for c in checks.split(",")]
    hit = None
    for s in supps:
        if path.endswith(s["file"]) and s["check"] in checks_l and s["text"] in src:
            hit = s
            break
    if hit:
        hit["used"] += 1
        continue
    rel = path[len(repo) + 1:] if path.startswith(repo + "/") else path
    bad_files.setdefault(rel, []).append(f"{rel}:{lineno}:{col}: {msg} [{checks}]\n    {src.strip()}")

# clang-tidy's own errors (a file it could not parse) are failures too
for line in open(log, errors="replace"):
    m = re.match(r"^(.*?):(\d+):(\d+): error: (.*)$", line.rstrip("\n"))
    if m:
        path = os.path.normpath(os.path.join(bdir, m.group(1)))
        rel = path[len(repo) + 1:] if path.startswith(repo + "/") else path
        bad_files.setdefault(rel, []).append(f"{rel}:{m.group(2)}: error: {m.group(4)}")

for f, ws in sorted(bad_files.items()):
    for w in ws:
        print(w)
stale = [s for s in supps if not s["used"]]
for s in stale:
    print(f"note: suppression matched nothing (fixed? then remove it): {s['file']} | {s['check']} | {s['text']}")
failed = len(bad_files)
passed = max(len(files) - len(bad_files), 0)
print(f"clang-tidy: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
