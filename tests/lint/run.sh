#!/usr/bin/env bash
# tests/lint/run.sh — cppcheck and clang-tidy over core/ api/ server/.
#
#   tests/lint/run.sh [build-dir]   default build/ (its compile_commands.json
#                                   gives clang-tidy the real flags; made with
#                                   meson if missing)
#
# The enabled checks and the reasons for each exclusion are in
# tests/lint/clang-tidy.yaml and at the cppcheck call below; findings are
# suppressed only in tests/lint/cppcheck.supp and tests/lint/clang-tidy.supp,
# one reasoned line per finding.  Fixes nothing in the sources.
# Prints "cppcheck: N passed, N failed", "clang-tidy: N passed, N failed",
# and "lint: N passed, N failed" (each file is one check per tool).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bdir=${1:-$repo/build}
cd "$repo"
[ -f "$bdir/compile_commands.json" ] || meson setup "$bdir" >/dev/null || exit 1
out=$repo/build-lint
mkdir -p "$out"
mapfile -t srcs < <(ls core/*.c api/*.c server/*.c)
printf '%s\n' "${srcs[@]}" >"$out/files.txt"

# --- cppcheck -------------------------------------------------------------
# Families: error (always on: undefined behaviour, leaks, out-of-bounds),
# warning (likely bugs), portability (64-bit/sign assumptions), performance,
# style (unused members, const-correctness, redundant code: small here and
# it caught a dead struct member).  Not "information" (include-path chatter:
# missingIncludeSystem is suppressed because system headers are not
# analysed, by design).  The -D values stand in for the paths meson passes
# to server/config.c (#error without them).
echo "== lint: cppcheck $(cppcheck --version | awk '{print $2}')"
cppcheck -q --std=c11 --enable=style,warning,portability,performance \
    --inline-suppr --suppress=missingIncludeSystem --suppressions-list="$here/cppcheck.supp" \
    -D_GNU_SOURCE -DHEAPLAB_STATIC_DIR='"static"' -DHEAPLAB_OPENAPI_FILE='"openapi.json"' \
    -Icore -Iapi -Iserver -j 2 \
    --template='{file}:{line}: {severity}:{id}: {message}' "${srcs[@]}" >"$out/cppcheck.txt" 2>&1
cp_bad=$(grep -E '^[a-z]+/[^:]+\.[ch]:[0-9]+: ' "$out/cppcheck.txt" | cut -d: -f1 | sort -u | wc -l)
grep -E '^[a-z]+/[^:]+\.[ch]:[0-9]+: ' "$out/cppcheck.txt"
# unmatched suppressions are listed by cppcheck itself as "unmatchedSuppression"
echo "cppcheck: $((${#srcs[@]} - cp_bad)) passed, $cp_bad failed"

# --- clang-tidy -------------------------------------------------------------
tidy=clang-tidy-14
command -v $tidy >/dev/null || tidy=clang-tidy
echo "== lint: $tidy ($(sed -n 's/^  \([a-z-]*\*\),*$/\1/p' "$here/clang-tidy.yaml" | paste -sd' '))"
printf '%s\n' "${srcs[@]}" | xargs -P 2 -n 4 "$tidy" -p "$bdir" --quiet \
    --config-file="$here/clang-tidy.yaml" >"$out/clang-tidy.txt" 2>"$out/clang-tidy.err"
python3 "$here/tidy_filter.py" "$out/clang-tidy.txt" "$here/clang-tidy.supp" "$repo" "$bdir" "$out/files.txt" \
    >"$out/clang-tidy-filtered.txt"
tidy_rc=$?
cat "$out/clang-tidy-filtered.txt"
tidy_line=$(tail -1 "$out/clang-tidy-filtered.txt")
read -r tp tf < <(echo "$tidy_line" | sed -E 's/.* ([0-9]+) passed, ([0-9]+) failed/\1 \2/')
cp_pass=$((${#srcs[@]} - cp_bad))
echo "lint: $((cp_pass + tp)) passed, $((cp_bad + tf)) failed"
((cp_bad == 0 && tidy_rc == 0))
