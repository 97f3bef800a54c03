#!/usr/bin/env bash
# tests/fuzz/run.sh — build heaplab's libFuzzer targets with clang and run
# each for a bounded time.
#
#   tests/fuzz/run.sh [target...]     default: fuzz_api fuzz_ops fuzz_alloc
#
# Env: FUZZ_SECONDS (default 40) per target; FUZZ_BUILD (default
# build-fuzz/ under the repository); CC (default clang-14, else clang).
#
# core/*.c and api/*.c are compiled into the targets with
# -fsanitize=fuzzer-no-link,address,undefined, so the project's own code is
# coverage-instrumented and checked; each target links with
# -fsanitize=fuzzer.  A target passes when it first replays its seed corpus
# and regression inputs (tests/fuzz/corpus/<t>/, tests/fuzz/regress/<t>/)
# without a crash, then fuzzes FUZZ_SECONDS without finding one.
#
# tests/fuzz/regress/*.c are reproducers of bugs found here that need more
# than a fuzz input can hold (e.g. a 120,000-deep structure); each is built
# with ASan+UBSan against core/ and api/ and passes when it exits 0.  Those
# whose first line says KNOWN FAILING fail until the bug is fixed.  New
# corpus entries go to the build directory, never into the committed seeds.
# Crash inputs are kept under $FUZZ_BUILD/artifacts/<t>/.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${FUZZ_BUILD:-$repo/build-fuzz}
seconds=${FUZZ_SECONDS:-40}
cc=${CC:-}
if [ -z "$cc" ]; then
    if command -v clang-14 >/dev/null; then cc=clang-14; else cc=clang; fi
fi
targets=("$@")
((${#targets[@]})) || targets=(fuzz_api fuzz_ops fuzz_alloc fuzz_durable)

mkdir -p "$out/obj"
cflags=(-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer
        -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
        -I"$repo/core" -I"$repo/api")
ldflags=(-fsanitize=fuzzer,address,undefined -ljansson -lpthread -lm)

build() {
    local objs=() src obj
    for src in "$repo"/core/*.c "$repo"/api/*.c; do
        obj="$out/obj/$(basename "$(dirname "$src")")_$(basename "$src" .c).o"
        if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ "$0" -nt "$obj" ] ||
            [ -n "$(find "$repo/core" "$repo/api" -name '*.h' -newer "$obj" -print -quit)" ]; then
            "$cc" "${cflags[@]}" -c "$src" -o "$obj" || return 1
        fi
        objs+=("$obj")
    done
    local t
    for t in "${targets[@]}"; do
        "$cc" "${cflags[@]}" "$here/$t.c" "${objs[@]}" "${ldflags[@]}" -o "$out/$t" || return 1
    done
}

echo "== fuzz: building ${targets[*]} with $cc"
if ! build >"$out/build.log" 2>&1; then
    cat "$out/build.log"
    echo "fuzz: 0 passed, ${#targets[@]} failed"
    exit 1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
passed=0
failed=0
for t in "${targets[@]}"; do
    work="$out/corpus/$t"
    art="$out/artifacts/$t/"
    mkdir -p "$work" "$art"
    log="$out/$t.log"
    seeds=("$here/corpus/$t")
    [ -d "$here/regress/$t" ] && seeds+=("$here/regress/$t")
    # 1. replay seeds and regression inputs (a crash here is a known bug)
    status=ok
    if ! "$out/$t" -runs=0 -artifact_prefix="$art" "${seeds[@]}" >"$log.replay" 2>&1; then
        status="failed replaying seeds/regressions (see $log.replay)"
    fi
    # 2. fuzz for a bounded time
    if [ "$status" = ok ]; then
        dict=()
        [ -f "$here/$t.dict" ] && dict=(-dict="$here/$t.dict")
        "$out/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
            -print_final_stats=1 -artifact_prefix="$art" "${dict[@]}" "$work" "${seeds[@]}" >"$log" 2>&1
        rc=$?
        ((rc == 0)) || status="failed: libFuzzer exited $rc (see $log, inputs in $art)"
    fi
    stats_log=$log
    [ -f "$log" ] && [ "$status" = ok ] || stats_log="$log.replay"
    execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$stats_log" 2>/dev/null | grep -oE '[0-9]+$' | tail -1)
    cov=$(grep -oE ' cov: [0-9]+' "$stats_log" 2>/dev/null | tail -1 | grep -oE '[0-9]+')
    ft=$(grep -oE ' ft: [0-9]+' "$stats_log" 2>/dev/null | tail -1 | grep -oE '[0-9]+')
    corp=$(find "$work" -type f | wc -l)
    if [ "$status" = ok ]; then
        passed=$((passed + 1))
        echo "ok   $t: ${seconds}s, ${execs:-0} executions, cov: ${cov:-?} ft: ${ft:-?}, corpus $corp"
    else
        failed=$((failed + 1))
        echo "FAIL $t: ${execs:-0} executions, cov: ${cov:-?}: $status"
        grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz_[a-z]+:|.*runtime error)' "$stats_log" | head -5 | sed 's/^/     /'
    fi
done
# reproducers too big for a fuzz input
for src in "$here"/regress/*.c; do
    [ -f "$src" ] || continue
    name=$(basename "$src" .c)
    bin="$out/regress_$name"
    known=""
    # optional "regress-sources:" (more project files) and "regress-flags:" lines in the header
    extra_src=()
    for f in $(sed -n 's/^ \* regress-sources: //p' "$src" | head -1); do extra_src+=("$repo/$f"); done
    read -r -a extra_flags <<<"$(sed -n 's/^ \* regress-flags: //p' "$src" | head -1)"
    head -1 "$src" | grep -q 'KNOWN FAILING' && known=" (KNOWN FAILING: see $src)"
    if ! "$cc" -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
        -fno-sanitize-recover=undefined -I"$repo/core" -I"$repo/api" -I"$repo/server" "${extra_flags[@]}" \
        "$src" "${extra_src[@]}" "$out"/obj/*.o \
        -ljansson -lpthread -lm -o "$bin" >"$bin.log" 2>&1; then
        failed=$((failed + 1))
        echo "FAIL regress/$name: does not build (see $bin.log)"
        continue
    fi
    if timeout 300 "$bin" >"$bin.log" 2>&1; then
        passed=$((passed + 1))
        echo "ok   regress/$name"
    else
        failed=$((failed + 1))
        echo "FAIL regress/$name$known"
        grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)|^ +#[0-3] ' "$bin.log" | head -6 | sed 's/^/     /'
    fi
done
echo "fuzz: $passed passed, $failed failed"
((failed == 0))
