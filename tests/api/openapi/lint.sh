#!/usr/bin/env bash
# lint.sh — lints heaplab's OpenAPI document, api/openapi.json.
#
#   1. installs Redocly CLI (the version package-lock.json pins) with npm ci
#      into tests/api/openapi/node_modules;
#   2. `redocly lint` with the recommended ruleset (redocly.yaml): errors fail,
#      and so do warnings unless OPENAPI_LINT_ALLOW_WARNINGS=1;
#   3. a route check: every method+path the server implements is documented,
#      and the document has no operation the server does not implement.
#
# It counts as one test: the last line is "1 passed, 0 failed" when clean,
# "0 passed, 1 failed" otherwise (exit status 1).  Needs node, npm, python3.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
doc="$root/api/openapi.json"
failed=0

finish() {
    if [ "$failed" -eq 0 ]; then
        echo "1 passed, 0 failed"
        exit 0
    fi
    echo "0 passed, 1 failed"
    exit 1
}

# ---- 1. the linter
for tool in node npm python3; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "FAIL: $tool is not installed"
        failed=1
        finish
    fi
done
echo "== npm ci (@redocly/cli)"
if ! (cd "$here" && npm ci --no-audit --no-fund --loglevel=error); then
    echo "FAIL: npm ci in $here"
    failed=1
    finish
fi

# ---- 2. redocly lint
echo "== redocly lint api/openapi.json"
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$here/node_modules/.bin/redocly" lint --config "$here/redocly.yaml" --format=json "$doc" \
    >"$tmp/lint.json" 2>"$tmp/lint.err"
rc=$?
python3 - "$tmp/lint.json" "$rc" "${OPENAPI_LINT_ALLOW_WARNINGS:-0}" <<'PY'
import json, sys

path, rc, allow_warnings = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
try:
    with open(path) as f:
        report = json.load(f)
except (OSError, ValueError):
    print(f"redocly produced no report (exit status {rc})")
    sys.exit(2)
for p in report.get("problems", []):
    loc = p.get("location") or [{}]
    print(f"{p.get('severity', '?'):5} {p.get('ruleId', '?')}  {loc[0].get('pointer', '')}\n      {p.get('message', '')}")
totals = report.get("totals", {})
errors, warnings = totals.get("errors", 0), totals.get("warnings", 0)
print(f"redocly {report.get('version', '?')}: {errors} error(s), {warnings} warning(s)")
sys.exit(1 if rc != 0 or errors or (warnings and not allow_warnings) else 0)
PY
verdict=$?
if [ "$verdict" -eq 2 ]; then
    # No JSON report (the document did not parse, or redocly itself failed):
    # show what it said, without the boxed banners.
    grep -v '[║╔╚]' "$tmp/lint.err" | sed '/^[[:space:]]*$/d' | head -n 40
fi
if [ "$verdict" -ne 0 ]; then
    echo "FAIL: redocly lint"
    failed=1
fi

# ---- 3. routes
echo "== routes: the server's methods and paths against the document"
if ! python3 - "$doc" "$root" <<'PY'
import json, re, sys

doc_path, root = sys.argv[1], sys.argv[2]

# What the server answers, read from the source:
#   server/routes.c  SERVER_ROUTES (GET), the static directory (GET / and files)
#   api/api.c        /v1/heaps POST, GET; /v1/heaps/{h} GET, DELETE
#   api/objects.c    hl_api_heap_route and objects_route, names_route,
#                    gc_route, memory_route, events_route, check_route,
#                    digest_route
#   api/graph.c      GET .../graph
#   api/batch.c      POST .../batch
#   api/snapshots.c  .../snapshots GET, POST; .../snapshots/{a} GET, DELETE;
#                    .../snapshots/{a}/compare/{b} GET
H = "/v1/heaps/{heap}"
ROUTES = {
    ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"), ("GET", "/openapi.json"),
    ("GET", "/"), ("GET", "/{file}"),
    ("POST", "/v1/heaps"), ("GET", "/v1/heaps"),
    ("GET", H), ("DELETE", H), ("GET", H + "/check"), ("GET", H + "/digest"),
    ("GET", H + "/objects"), ("POST", H + "/objects"),
    ("GET", H + "/objects/{id}"), ("GET", H + "/objects/{id}/path"),
    ("POST", H + "/objects/{id}/refs"), ("DELETE", H + "/objects/{id}/refs"),
    ("GET", H + "/names"),
    ("GET", H + "/names/{name}"), ("PUT", H + "/names/{name}"), ("DELETE", H + "/names/{name}"),
    ("POST", H + "/weakrefs"),
    ("GET", H + "/gc"), ("PATCH", H + "/gc"),
    ("POST", H + "/gc/collect"), ("POST", H + "/gc/freeze"), ("POST", H + "/gc/unfreeze"),
    ("GET", H + "/memory"),
    ("GET", H + "/snapshots"), ("POST", H + "/snapshots"),
    ("GET", H + "/snapshots/{snapshot}"), ("DELETE", H + "/snapshots/{snapshot}"),
    ("GET", H + "/snapshots/{snapshot}/compare/{other}"),
    ("POST", H + "/batch"),
    ("GET", H + "/events"),
    ("GET", H + "/graph"),
}

def norm(path):
    return re.sub(r"\{[^}/]*\}", "{}", path)

problems = []
try:
    with open(doc_path) as f:
        doc = json.load(f)  # strict JSON: redocly would also take YAML
except (OSError, ValueError) as e:
    print(f"  api/openapi.json is not readable JSON: {e}")
    sys.exit(1)
methods = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
documented = {(m.upper(), norm(p)) for p, item in doc.get("paths", {}).items() for m in item if m in methods}
implemented = {(m, norm(p)) for m, p in ROUTES}
for m, p in sorted(implemented - documented, key=lambda r: (r[1], r[0])):
    problems.append(f"not documented: {m} {p}")
for m, p in sorted(documented - implemented, key=lambda r: (r[1], r[0])):
    problems.append(f"documented but not implemented: {m} {p}")

# The route list above must keep up with the source: every resource name the
# routers compare against, and every server route, must be a path segment of
# some route here.
segments = {s for _, p in ROUTES for s in p.strip("/").split("/")}
def source(rel):
    try:
        with open(f"{root}/{rel}") as f:
            return f.read()
    except OSError as e:
        problems.append(f"cannot read {rel}: {e.strerror}")
        return ""
api_src = source("api/api.c") + source("api/objects.c")
names = set(re.findall(r'strcmp\(\s*(?:what|seg\[\d+\])\s*,\s*"([^"]+)"\s*\)', api_src))
if not names:
    problems.append("found no resource names in api/api.c and api/objects.c (has the router changed?)")
for n in sorted(names - segments):
    problems.append(f"the api routes '{n}', which no route here has: add it to ROUTES and the document")
server_src = source("server/routes.c")
table = re.search(r"SERVER_ROUTES\[\]\s*=\s*\{(.*?)\};", server_src, re.S)
if table is None:
    problems.append("found no SERVER_ROUTES table in server/routes.c")
else:
    for p in re.findall(r'\{\s*"(/[^"]*)"\s*,', table.group(1)):
        if ("GET", p) not in ROUTES:
            problems.append(f"server/routes.c serves {p}, which no route here has")

for p in problems:
    print("  " + p)
print(f"{len(ROUTES)} routes, {len(documented)} documented operations, {len(problems)} problem(s)")
sys.exit(1 if problems else 0)
PY
then
    echo "FAIL: routes"
    failed=1
fi

finish
