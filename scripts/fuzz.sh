#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang + ASan + UBSan) and runs each on its seed corpus.
#   scripts/fuzz.sh [--seconds N] [--runs N] [TARGET...]
#     --seconds N  time per target (default 20: what CI runs)
#     --runs N     stop a target after N executions instead (e.g. 1000000)
#     TARGET       safetensors pickle zip npy gzip idx config image tokenizer request
#                  (default: all)
# The seed corpora live in fuzz/corpus/<target>/ (written by the project's own writers, see
# tests/io/fuzz_seeds_test.cpp); what a run learns goes to build-fuzz/corpus/<target>/ and any
# crash, leak or timeout to build-fuzz/findings/<target>/. Prints one line per target:
#   <target> execs=<N> exec/s=<N> corpus=<files> findings=<N>
# and exits non-zero when any target found something.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=20 runs=-1 targets=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --runs) runs="$2"; seconds=0; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
((${#targets[@]})) || targets=(safetensors pickle zip npy gzip idx config image tokenizer request)
build=${ELIT_BUILD_DIR:-build}
fuzz_build=${ELIT_FUZZ_BUILD_DIR:-build-fuzz}
jobs=${ELIT_JOBS:-2}

# The targets link an ordinary build's library for everything they do not fuzz.
[[ -f "$build/build.ninja" || -f "$build/Makefile" ]] ||
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -t elit -j "$jobs"
[[ -f "$fuzz_build/CMakeCache.txt" ]] ||
  cmake -S fuzz -B "$fuzz_build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ \
    -DELIT_LIBRARY="$PWD/$build/libelit.a"
cmake --build "$fuzz_build" -t fuzz_all -j "$jobs"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export OMP_NUM_THREADS=1
status=0
for t in "${targets[@]}"; do
  corpus="$fuzz_build/corpus/$t" findings="$fuzz_build/findings/$t"
  mkdir -p "$corpus" "$findings"
  log="$fuzz_build/$t.log"
  limit=(-max_total_time="$seconds")
  ((runs >= 0)) && limit=(-runs="$runs")
  # New inputs go to the first folder; the committed seeds are read only.
  if ! "$fuzz_build/fuzz_$t" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$findings/" "$corpus" "fuzz/corpus/$t" > "$log" 2>&1; then
    status=1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  found=$(find "$findings" -type f | wc -l)
  ((found == 0)) || status=1
  echo "$t execs=$execs exec/s=$speed corpus=$(find "$corpus" -type f | wc -l)" \
    "seeds=$(find "fuzz/corpus/$t" -type f | wc -l) findings=$found"
done
exit $status
