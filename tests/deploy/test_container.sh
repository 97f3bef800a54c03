#!/usr/bin/env bash
# tests/deploy/test_container.sh [REPO] — build the Dockerfile with podman
# and test the image for real: health check, an API smoke test through a
# published loopback port, the admin token from the environment and from a
# mounted file, no token at all, and a clean SIGTERM stop.
#
# Needs root (apt-get, rootful podman). Installs podman, runc and debootstrap
# if missing. There is no registry here: a debian:bookworm base is built with
# debootstrap from Debian's archive, cached as a tarball in $HEAPLAB_BASE_CACHE
# (default /var/tmp/heaplab-base), imported once and tagged so that the
# Dockerfile's unchanged `FROM debian:bookworm` / `FROM debian:bookworm-slim`
# resolve locally (the build runs with --pull=never). Podman settings come
# from tests/deploy/containers.conf via CONTAINERS_CONF.
#
# Prints one line per check and a final `N passed, N failed`; exits non-zero
# on failure. The image localhost/heaplab:test and podman's layer cache are
# kept so the next run is warm (`podman image prune` reclaims old layers).
set -uo pipefail

repo=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
cache=${HEAPLAB_BASE_CACHE:-/var/tmp/heaplab-base}
image=localhost/heaplab:test
name=heaplab-test-$$
export CONTAINERS_CONF=$repo/tests/deploy/containers.conf

passed=0
failed=0
check() { # ok(0/1) what [detail]
    if [ "$1" = 0 ]; then
        echo "ok $2"
        passed=$((passed + 1))
    else
        echo "FAIL $2${3:+: $3}"
        failed=$((failed + 1))
    fi
}
finish() {
    echo "$passed passed, $failed failed"
    if [ "$failed" = 0 ]; then exit 0; else exit 1; fi
}
work=$(mktemp -d)
containers=()
cleanup() {
    for c in "${containers[@]}"; do podman rm -f -t 0 "$c" >/dev/null 2>&1; done
    rm -rf "$work"
}
trap cleanup EXIT
now() { date +%s; }

# --- tools ------------------------------------------------------------------
missing=()
for p in podman runc debootstrap; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; } \
        >"$work/apt.log" 2>&1
    check $? "installed ${missing[*]}" "$(tail -3 "$work/apt.log")"
else
    check 0 "podman, runc and debootstrap are installed"
fi
command -v podman >/dev/null || finish

# --- base image ---------------------------------------------------------------
# A minbase debootstrap trimmed like the official image (no apt lists, no
# .debs) with its sources: bookworm, bookworm-updates, bookworm-security.
make_base_tarball() {
    local root=$cache/rootfs.tmp
    rm -rf "$root"
    debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian || return 1
    rm -f "$root/etc/apt/sources.list"
    cat >"$root/etc/apt/sources.list.d/debian.sources" <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin
    tar --numeric-owner -C "$root" -cf "$cache/bookworm-minbase.tar.tmp" . || return 1
    mv "$cache/bookworm-minbase.tar.tmp" "$cache/bookworm-minbase.tar"
    rm -rf "$root"
}
base_tags=(localhost/debian:bookworm localhost/debian:bookworm-slim
           docker.io/library/debian:bookworm docker.io/library/debian:bookworm-slim)
t0=$(now)
if podman image exists localhost/debian:bookworm; then
    how="already in podman's storage"
else
    mkdir -p "$cache"
    how="imported from the cached $cache/bookworm-minbase.tar"
    if [ ! -s "$cache/bookworm-minbase.tar" ]; then
        how="debootstrapped into $cache/bookworm-minbase.tar and imported"
        make_base_tarball >"$work/debootstrap.log" 2>&1 \
            || { check 1 "debootstrap bookworm" "$(tail -3 "$work/debootstrap.log")"; finish; }
    fi
    podman import --change 'CMD ["bash"]' "$cache/bookworm-minbase.tar" localhost/debian:bookworm >/dev/null 2>"$work/import.log" \
        || { check 1 "podman import the base" "$(tail -3 "$work/import.log")"; finish; }
fi
for t in "${base_tags[@]}"; do podman tag localhost/debian:bookworm "$t"; done
ok=0
for t in debian:bookworm debian:bookworm-slim; do
    podman image exists "$t" || ok=1
done
check $ok "base debian:bookworm and debian:bookworm-slim resolve locally ($how, $(($(now) - t0))s)"

# --- build --------------------------------------------------------------------
# Built as a user would (no --build-arg): the Dockerfile's own default
# HEAPLAB_VERSION must match meson.build. --format docker: the OCI image
# format has no HEALTHCHECK.
# Local CA certificates (a TLS-intercepting proxy, as in some sandboxes and
# corporate networks) reach the build's RUN steps read-only, so the
# ca-certificates package that the vendor stage installs trusts them too and
# npm can fetch; nothing of them is committed to any layer.
build_mounts=()
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    build_mounts=(-v /usr/local/share/ca-certificates:/usr/local/share/ca-certificates:ro)
fi
t0=$(now)
podman build --format docker --pull=never "${build_mounts[@]}" \
    -t "$image" -f "$repo/Dockerfile" "$repo" >"$work/build.log" 2>&1
rc=$?
check $rc "podman build (its test suites included) in $(($(now) - t0))s" "$(tail -25 "$work/build.log")"
[ $rc = 0 ] || finish
summary=$(grep -E "^(Ok|Fail|Expected Fail|Skipped|Timeout): " "$work/build.log" | tr -s ' ' | paste -sd' ')
echo "   in-image tests: ${summary:-cached (nothing in the build context changed since they passed)}"

# --- image metadata -------------------------------------------------------------
inspect() { podman image inspect --format "$1" "$image"; }
base_size=$(podman image inspect --format '{{.Size}}' debian:bookworm-slim)
size=$(inspect '{{.Size}}')
delta=$((size - base_size))
echo "   image size: $size bytes; debian:bookworm-slim $base_size bytes; added $delta bytes ($((delta / 1024)) KiB)"
[ "$delta" -lt $((30 * 1000 * 1000)) ]
check $? "runtime image adds less than 30 MB to debian:bookworm-slim ($((delta / 1000)) kB)"
[ "$(inspect '{{.Config.User}}')" = "10001:10001" ]
check $? "runs as 10001:10001" "$(inspect '{{.Config.User}}')"
inspect '{{json .Config.ExposedPorts}}' | grep -q '"8080/tcp"'
check $? "exposes 8080/tcp" "$(inspect '{{json .Config.ExposedPorts}}')"
[ "$(inspect '{{.Config.StopSignal}}')" = "SIGTERM" ]
check $? "stop signal SIGTERM" "$(inspect '{{.Config.StopSignal}}')"
hc=$(inspect '{{json .Config.Healthcheck.Test}}' 2>/dev/null)
[ "$hc" = '["CMD","heaplab","--healthcheck"]' ]
check $? "HEALTHCHECK CMD [\"heaplab\", \"--healthcheck\"]" "$hc"
ok=0 missing_labels=""
for l in title description source licenses version; do
    v=$(inspect "{{index .Config.Labels \"org.opencontainers.image.$l\"}}")
    [ -n "$v" ] && [ "$v" != "<no value>" ] || { ok=1; missing_labels+=" $l"; }
done
check $ok "OCI labels title, description, source, licenses, version" "missing:$missing_labels"
label=$(inspect '{{index .Config.Labels "org.opencontainers.image.version"}}')
said=$(podman run --rm --no-healthcheck "$image" --version 2>"$work/version.err")
[ "$said" = "heaplab $label" ]
check $? "version label $label matches the binary" "binary says '$said'"
podman run --rm --no-healthcheck "$image" --no-auth >/dev/null 2>"$work/noauth.err"
[ $? != 0 ] && grep -q "refusing --no-auth" "$work/noauth.err"
check $? "--no-auth is refused on the container's 0.0.0.0 bind" "$(cat "$work/noauth.err")"
env=$(inspect '{{json .Config.Env}}')
ok=0
for e in HEAPLAB_BIND=0.0.0.0 HEAPLAB_PORT=8080 HEAPLAB_STATIC_DIR=/ HEAPLAB_OPENAPI=/; do
    [[ $env == *"\"$e"* ]] || ok=1
done
check $ok "image sets HEAPLAB_BIND=0.0.0.0, HEAPLAB_PORT=8080, HEAPLAB_STATIC_DIR, HEAPLAB_OPENAPI" "$env"

# --- run ----------------------------------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_healthy() { # container -> 0 when `podman healthcheck run` says healthy
    local i
    for i in $(seq 60); do
        podman healthcheck run "$1" >/dev/null 2>&1 && return 0
        [ "$(podman inspect --format '{{.State.Running}}' "$1" 2>/dev/null)" = true ] || return 1
        sleep 1
    done
    return 1
}
admin=$(python3 -c 'import secrets; print(secrets.token_hex(24))')
port=$(free_port)
containers+=("$name")
podman run -d --name "$name" -p "127.0.0.1:$port:8080" -e HEAPLAB_ADMIN_TOKEN="$admin" "$image" >/dev/null 2>"$work/run.err"
check $? "podman run -p 127.0.0.1:$port:8080 with HEAPLAB_ADMIN_TOKEN" "$(cat "$work/run.err")"
t0=$(now)
wait_healthy "$name"
check $? "healthy by podman healthcheck run after $(($(now) - t0))s" "$(podman logs --tail 5 "$name" 2>&1)"
status=$(podman inspect --format '{{.State.Health.Status}}' "$name" 2>/dev/null \
         || podman inspect --format '{{.State.Healthcheck.Status}}' "$name")
[ "$status" = healthy ]
check $? "podman inspect reports health status healthy" "$status"
uid=$(podman exec "$name" id -u 2>&1)
[ "$uid" = 10001 ]
check $? "the server runs as uid 10001, not root" "$uid"

# The smoke test: stdlib only, one line per check, the tally on its last line.
cat >"$work/smoke.py" <<'PY'
import json, sys, urllib.request, urllib.error
base, admin, mode, vendor = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
passed = failed = 0
def check(ok, what, detail=""):
    global passed, failed
    print(("ok " if ok else "FAIL ") + what + ("" if ok else ": " + str(detail)[:300]))
    passed += bool(ok); failed += not ok
def req(method, path, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    r = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        r.add_header("Content-Type", "application/json")
    if token:
        r.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(r, timeout=10) as resp:
            raw, status, ctype = resp.read(), resp.status, resp.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        raw, status, ctype = e.read(), e.code, e.headers.get("Content-Type", "")
    try:
        return status, json.loads(raw) if "json" in ctype else raw.decode()
    except ValueError:
        return status, raw.decode(errors="replace")
try:
    st, b = req("GET", "/healthz")
    check(st == 200, "[%s] GET /healthz through the published port" % mode, st)
    st, heap = req("POST", "/v1/heaps", {"name": "lesson"})
    check(st == 201 and "id" in heap and "token" in heap, "[%s] create a heap" % mode, (st, heap))
    h, tok = heap["id"], heap["token"]
    st, b = req("GET", "/v1/heaps/%s/names" % h)
    check(st == 401, "[%s] a heap without its token is refused" % mode, (st, b))
    if mode == "smoke":
        st, b = req("GET", "/", None)
        check(st == 200 and "<html" in b.lower(), "dashboard / served from HEAPLAB_STATIC_DIR", (st, b[:80]))
        missing = [f for f in vendor if req("GET", "/vendor/" + f)[0] != 200]
        check(vendor and not missing, "dashboard libraries served: " + " ".join("vendor/" + f for f in vendor),
              "missing %s" % missing if vendor else "static/ references no vendor/ file")
        st, b = req("GET", "/openapi.json")
        check(st == 200 and "/v1/heaps" in b.get("paths", {}), "/openapi.json served from HEAPLAB_OPENAPI", st)
        st, a = req("POST", "/v1/heaps/%s/objects" % h, {"type": "list", "name": "a"}, tok)
        check(st in (200, 201) and a.get("refcount") == 1, "a = []  => refcount 1", (st, a))
        aid = a["id"]
        st, b = req("POST", "/v1/heaps/%s/objects/%d/refs" % (h, aid), {"target": aid}, tok)
        check(st in (200, 201) and b.get("refcount") == 2, "a.append(a)  => refcount 2", (st, b))
        st, b = req("DELETE", "/v1/heaps/%s/names/a" % h, None, tok)
        check(st == 204, "del a  => 204", (st, b))
        st, b = req("GET", "/v1/heaps/%s/objects/%d" % (h, aid), None, tok)
        check(st == 200 and b.get("alive") is True and b.get("refcount") == 1,
              "after del the self-referencing list is alive with refcount 1", (st, b))
        st, b = req("POST", "/v1/heaps/%s/gc/collect" % h, None, tok)
        check(st == 200 and b.get("collected") == 1, "gc.collect()  => collected 1", (st, b))
        st, b = req("GET", "/v1/heaps/%s/objects/%d" % (h, aid), None, tok)
        check(st == 404 or (isinstance(b, dict) and b.get("alive") is False), "the list is freed", (st, b))
        st, b = req("GET", "/v1/heaps/%s/memory" % h, None, tok)
        check(st == 200 and b.get("arenas", {}).get("allocated", 0) >= 1 and "size_classes" in b,
              "GET /v1/heaps/{h}/memory reports arenas and size classes", (st, b))
        st, b = req("GET", "/metrics")
        check(st == 200 and "heaplab_build_info" in b and "heaplab_http_requests_total" in b,
              "GET /metrics in Prometheus text format", (st, b[:200]))
    if mode in ("smoke", "file"):
        st, b = req("GET", "/v1/heaps", None, admin)
        check(st == 200 and h in [x["id"] for x in b.get("heaps", [])],
              "[%s] the admin token lists every heap" % mode, (st, b))
        st, b = req("GET", "/v1/heaps/%s/names" % h, None, admin)
        check(st == 200, "[%s] the admin token opens a heap" % mode, (st, b))
    else:
        st, b = req("GET", "/v1/heaps/%s/names" % h, None, tok)
        check(st == 200, "[none] the heap's own token opens it", (st, b))
        st, b = req("GET", "/v1/heaps", None, "guess")
        check(st in (401, 403), "[none] without an admin token GET /v1/heaps is refused", (st, b))
except Exception as e:  # a crash is a failure, not a traceback without a tally
    check(False, "[%s] smoke test raised" % mode, repr(e))
print("%d passed, %d failed" % (passed, failed))
PY
smoke() { # base admin mode
    local out
    out=$(python3 "$work/smoke.py" "$@" 2>&1)
    echo "$out" | grep -vE '^[0-9]+ passed, [0-9]+ failed$'
    passed=$((passed + $(echo "$out" | grep -c '^ok ')))
    failed=$((failed + $(echo "$out" | grep -c '^FAIL ')))
    echo "$out" | grep -qE '^[0-9]+ passed, [0-9]+ failed$' || check 1 "[$3] smoke test ran" "$out"
}
# Every static/vendor/ file the dashboard references (the image builds them).
mapfile -t vendor < <(grep -rhoE 'vendor/[A-Za-z0-9._-]+\.(mjs|js|css)' "$repo/static/index.html" "$repo/static/js" \
                      | sed 's#.*vendor/##' | sort -u)
smoke "http://127.0.0.1:$port" "$admin" smoke "${vendor[@]}"

# The admin token from a mounted file (a secret), in a container locked down
# as deploy/compose.yaml runs it; and no admin token at all.
printf '%s\n' "$admin" >"$work/admin-token"
chmod 0644 "$work/admin-token"
port_file=$(free_port)
port_none=$(free_port)
containers+=("$name-file" "$name-none")
podman run -d --name "$name-file" -p "127.0.0.1:$port_file:8080" \
    --read-only --cap-drop ALL --security-opt no-new-privileges \
    -v "$work/admin-token:/run/secrets/heaplab_admin_token:ro" \
    -e HEAPLAB_ADMIN_TOKEN_FILE=/run/secrets/heaplab_admin_token "$image" >/dev/null 2>&1
podman run -d --name "$name-none" -p "127.0.0.1:$port_none:8080" "$image" >/dev/null 2>&1
wait_healthy "$name-file"
check $? "healthy with HEAPLAB_ADMIN_TOKEN_FILE on a mounted secret (--read-only, --cap-drop ALL)" "$(podman logs --tail 5 "$name-file" 2>&1)"
smoke "http://127.0.0.1:$port_file" "$admin" file
wait_healthy "$name-none"
check $? "starts and is healthy without any admin token" "$(podman logs --tail 5 "$name-none" 2>&1)"
smoke "http://127.0.0.1:$port_none" "" none

# --- stop -----------------------------------------------------------------------
t0=$(now)
podman stop -t 20 "$name" >/dev/null 2>&1
code=$(podman inspect --format '{{.State.ExitCode}}' "$name" 2>&1)
[ "$code" = 0 ]
check $? "podman stop (SIGTERM) ends the server with exit status 0 in $(($(now) - t0))s" \
    "exit $code; $(podman logs --tail 5 "$name" 2>&1)"
for c in "${containers[@]}"; do podman rm -f -t 0 "$c" >/dev/null 2>&1; done
containers=()
! podman container exists "$name" && ! podman container exists "$name-file" && ! podman container exists "$name-none"
check $? "containers removed"
finish
