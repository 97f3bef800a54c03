#!/usr/bin/env bash
# The deployment files, checked without a cluster or an init system:
#   - deploy/k8s, compose.yaml, cloud-init.yaml: schema-aware checks (node)
#   - deploy/systemd/heaplab.service: systemd-analyze verify, then the
#     service's command run the way the unit runs it (its environment file,
#     an unprivileged user, a read-only view of the install) and probed
#   - deploy/install.sh: bash syntax
# Usage: test_deploy_files.sh REPO HEAPLAB_BINARY.  Prints `N passed, N failed`.
set -uo pipefail
repo=$1
binary=$(realpath "$2")
passed=0
failed=0
check() { # status description
    if [ "$1" -eq 0 ]; then passed=$((passed + 1)); echo "ok $2"; else failed=$((failed + 1)); echo "FAIL $2"; fi
}

work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null; rm -rf "$work"' EXIT

# --- YAML with the Kubernetes schemas ---
(cd "$repo/tests/deploy/k8s" && npm ci --no-audit --no-fund --silent >/dev/null 2>&1)
check $? "npm ci for the schema checker"
out=$(node "$repo/tests/deploy/k8s/validate.mjs" "$repo/deploy" 2>&1)
status=$?
echo "$out" | sed 's/^/  /'
check $status "deploy/ YAML validates (k8s schemas, compose, cloud-init)"

# --- systemd unit ---
sed "s#^ExecStart=.*#ExecStart=$binary#" "$repo/deploy/systemd/heaplab.service" >"$work/heaplab.service"
verify=$(systemd-analyze verify "$work/heaplab.service" 2>&1)
check $? "systemd-analyze verify heaplab.service"
[ -z "$verify" ]
check $? "systemd-analyze has no complaint${verify:+: $verify}"

# The unit's settings, applied by hand: environment file, no privileges.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed "s/^HEAPLAB_ADMIN_TOKEN=.*/HEAPLAB_ADMIN_TOKEN=unit-test-token/" "$repo/deploy/heaplab.env.example" >"$work/heaplab.env"
echo "HEAPLAB_PORT=$port" >>"$work/heaplab.env"
cp "$binary" "$work/heaplab"
chmod 0755 "$work" "$work/heaplab"
chmod 0644 "$work/heaplab.env"
# StateDirectory=: a directory of the service's own user.
install -d -o 65534 -g 65534 -m 0700 "$work/state"
env -i PATH=/usr/bin:/bin HEAPLAB_STATIC_DIR="$repo/static" HEAPLAB_OPENAPI="$repo/api/openapi.json" \
    HEAPLAB_DATA_DIR="$work/state" \
    setpriv --reuid=65534 --regid=65534 --clear-groups \
    bash -c "set -a; . $work/heaplab.env; set +a; exec $work/heaplab" 2>"$work/server.log" &
server=$!
healthy=1
for _ in $(seq 50); do
    if HEAPLAB_PORT=$port "$binary" --healthcheck 2>/dev/null; then healthy=0; break; fi
    sleep 0.1
done
check $healthy "the service command answers --healthcheck as an unprivileged user"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer unit-test-token" "http://127.0.0.1:$port/v1/heaps")
[ "$code" = 200 ]
check $? "the admin token from the environment file opens GET /v1/heaps (got $code)"
kill -TERM "$server"
wait "$server"
check $? "SIGTERM stops it with exit status 0"

bash -n "$repo/deploy/install.sh"
check $? "deploy/install.sh parses"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
