#!/usr/bin/env bash
# run_load.sh — wrk against heaplab on loopback (part of the test suite, suite 'load').
#
#   tests/load/run_load.sh --binary build/server/heaplab [--duration 20] [--connections 256] [--heaps 100]
#
# Installs wrk with apt-get when it is missing (skips, exit 77, when it cannot),
# starts the server with --max-connections 512, creates the heaps, runs
# tests/load/mix.lua (reads and batch writes across every heap with its own
# token), then requires: zero 5xx (from wrk's response() and /metrics), zero
# socket errors, the server still alive, and every heap's /check passing.
# Prints requests/s and p99 latency.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
binary="" duration=20 connections=256 nheaps=100 threads=2
while [ $# -gt 0 ]; do
    case "$1" in
        --binary) binary=$2; shift 2 ;;
        --duration) duration=$2; shift 2 ;;
        --connections) connections=$2; shift 2 ;;
        --heaps) nheaps=$2; shift 2 ;;
        --threads) threads=$2; shift 2 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
[ -x "$binary" ] || { echo "--binary: '$binary' is not an executable" >&2; exit 2; }

if ! command -v wrk >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        echo "installing wrk"
        (apt-get install -y -q wrk >/dev/null 2>&1 ||
         { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q wrk >/dev/null 2>&1; }) || true
    fi
fi
command -v wrk >/dev/null 2>&1 || { echo "SKIP: wrk is not installed and could not be installed"; exit 77; }

work=$(mktemp -d /tmp/heaplab-load.XXXXXX)
admin="load-admin-$(date +%s%N)"
log=$work/server.log
"$binary" --port 0 --admin-token "$admin" --max-connections $((connections * 2)) --idle-timeout 30 \
    2>"$log" >/dev/null &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
port=""
for _ in $(seq 1 200); do
    port=$(sed -n 's|.*listening on http://[^:]*:\([0-9]*\)/.*|\1|p' "$log" | head -1)
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
done
[ -n "$port" ] || { echo "FAIL: the server did not start"; cat "$log"; exit 1; }

python3 "$here/loadlib.py" setup --port "$port" --admin "$admin" --heaps "$nheaps" --out "$work/heaps.txt"
echo "server pid $pid on port $port, $nheaps heaps; wrk -t$threads -c$connections -d${duration}s"

HEAPS_FILE=$work/heaps.txt wrk -t"$threads" -c"$connections" -d"${duration}s" --timeout 10s \
    -s "$here/mix.lua" "http://127.0.0.1:$port" | tee "$work/wrk.out"

fail=0
result=$(grep '^RESULT ' "$work/wrk.out" || true)
[ -n "$result" ] || { echo "FAIL: wrk printed no RESULT line"; exit 1; }
val() { echo "$result" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
for k in connect_errors read_errors write_errors timeouts status5xx status4xx status1xx; do
    v=$(val $k)
    if [ "${v%.*}" != 0 ]; then echo "FAIL: $k=$v (want 0)"; fail=1; fi
done
[ "$(val requests)" != 0 ] || { echo "FAIL: no requests completed"; fail=1; }
m5=$(python3 "$here/loadlib.py" metric --port "$port" --name heaplab_http_requests_total || echo "?")
m5xx=$(python3 - "$port" "$here" <<'PY'
import sys; sys.path.insert(0, sys.argv[2]); import loadlib
m = loadlib.metrics(int(sys.argv[1]))
print(int(sum(v for k, v in m.items() if k.startswith("heaplab_http_requests_total{") and 'code="5xx"' in k)))
PY
)
[ "$m5xx" = 0 ] || { echo "FAIL: /metrics counts $m5xx 5xx responses"; fail=1; }
kill -0 "$pid" 2>/dev/null || { echo "FAIL: the server died"; tail -20 "$log"; exit 1; }
python3 "$here/loadlib.py" check --port "$port" --file "$work/heaps.txt" || fail=1
grep -v '" [1-4][0-9][0-9] ' "$log" | grep -v 'listening on' | head -5 || true
echo "LOAD requests/s=$(val rps) p50=$(val p50_ms)ms p99=$(val p99_ms)ms max=$(val max_ms)ms requests=$(val requests) (server counted $m5 HTTP requests)"
if [ $fail = 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; fi
exit $fail
