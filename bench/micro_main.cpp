// Google Benchmark main for the micro-benchmarks: fast BLAS kernels and every core, as `elit`
// runs. Run: build/bench/elit_micro_bench [--benchmark_filter=...] [--benchmark_format=json]
#include <benchmark/benchmark.h>

#include "elit/runtime/cpu.h"

int main(int argc, char** argv) {
  elit::ensure_fast_cpu_runtime(argc, argv);
  elit::set_threads(0);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
