#!/usr/bin/env bash
# soak.sh — at least 10 minutes of the load mix with heaps created and
# deleted continuously.  NOT part of the test suite; run it by hand:
#
#   tests/load/soak.sh --binary build/server/heaplab [--minutes 10.5] [--csv /tmp/heaplab-soak.csv]
#
# Samples VmRSS (/proc/PID/status), /metrics and GET /memory (arenas) every
# 5 s, runs /check on every live heap throughout, and at the end, with every
# heap deleted, requires heaps/objects/allocator bytes back to 0 and VmRSS
# within 16 MiB of its baseline (taken after a 20-heap warm-up).  Needs wrk.
# Prints "SOAK RSS start ..., peak ..., end ..." and "N passed, N failed".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
command -v wrk >/dev/null 2>&1 || { echo "soak.sh needs wrk (apt-get install wrk)" >&2; exit 77; }
exec python3 "$here/soak.py" "$@"
