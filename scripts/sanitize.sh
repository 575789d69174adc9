#!/usr/bin/env bash
# Builds elit with AddressSanitizer + UndefinedBehaviorSanitizer into build-asan/ and runs the
# fast test suite under it (issue 21). A cold build compiles the whole library again (tens of
# minutes on 2 cores); later runs are incremental.
#   scripts/sanitize.sh [ctest arguments]     default: -L fast
set -euo pipefail
cd "$(dirname "$0")/.."
build=${ELIT_ASAN_BUILD_DIR:-build-asan}
jobs=${ELIT_JOBS:-2}
# -O1 -g1: ASan's usual level with line tables for its reports; much faster to compile than -O2 -g
# (the whole library is compiled again). ccache, when installed, keeps objects between runs.
launcher=()
command -v ccache > /dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
[[ -f "$build/CMakeCache.txt" ]] ||
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -g1 -DNDEBUG" \
    -DELIT_SANITIZE=address,undefined -DELIT_BUILD_BENCH=OFF "${launcher[@]}"
# Everything labelled fast: the unit tests and the server's tests (their own executable).
targets=(elit_cli elit_fast_tests)
grep -q '^build elit_serve_tests' "$build/build.ninja" 2>/dev/null && targets+=(elit_serve_tests)
cmake --build "$build" -t "${targets[@]}" -j "$jobs"
# libtorch is not built with ASan: keep its one-off allocations out of the leak report, and
# let its allocator fail over to exceptions as it expects.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1:detect_odr_violation=0}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:suppressions=$PWD/fuzz/ubsan.supp}"
(($#)) || set -- -L fast
ctest --test-dir "$build" --output-on-failure -j "$jobs" "$@"
