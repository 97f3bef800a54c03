#!/usr/bin/env bash
# tests/tsan/run.sh — api/ + core/ built with ThreadSanitizer and driven by
# tests/tsan/tsan_api.c (many threads on many heaps, several on one heap,
# SSE streams opened, read, notified and closed meanwhile).
#
# A direct compile rather than a third meson build directory: only api/,
# core/ and one test are needed, and meson's b_sanitize=thread would build
# the server and every test too.  Env: TSAN_BUILD (default build-tsan/),
# CC (default clang-14, else clang, else gcc).  Zero TSan reports are
# required: halt_on_error=1 turns the first into a failure.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${TSAN_BUILD:-$repo/build-tsan}
cc=${CC:-}
if [ -z "$cc" ]; then
    for c in clang-14 clang gcc; do command -v $c >/dev/null && { cc=$c; break; }; done
fi
mkdir -p "$out"
echo "== tsan: building api + core + tests/tsan/tsan_api.c with $cc -fsanitize=thread"
if ! "$cc" -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -fsanitize=thread \
    -I"$repo/core" -I"$repo/api" "$repo"/core/*.c "$repo"/api/*.c "$here/tsan_api.c" \
    -ljansson -lpthread -lm -o "$out/tsan_api" >"$out/build.log" 2>&1; then
    cat "$out/build.log"
    echo "tsan: 0 passed, 1 failed"
    exit 1
fi
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:history_size=4:exitcode=66 ${TSAN_OPTIONS:-}"
"$out/tsan_api" >"$out/tsan.log" 2>&1
rc=$?
if grep -q 'WARNING: ThreadSanitizer' "$out/tsan.log" || ((rc == 66)); then
    grep -v '^tsan: ' "$out/tsan.log" | head -80
    echo "ThreadSanitizer reported (full log: $out/tsan.log)"
    echo "tsan: 0 passed, 1 failed"
    exit 1
fi
cat "$out/tsan.log"
((rc == 0)) || { grep -q '^tsan: ' "$out/tsan.log" || echo "tsan: 0 passed, 1 failed (exit $rc)"; exit 1; }
