// The float32 linears of an ELIT-SiT-S/2 block at 32x32x4, batch 8 (2048 rows): the models' own
// path (arg 1: oneDNN's sgemm where libtorch loaded oneDNN, the bias filled first) against
// libtorch's nn::Linear (arg 0: addmm on the BLAS). Shapes (arg 0 of the pair): 0 qkv 384->1152,
// 1 fc1 384->1536, 2 fc2 1536->384, 3 proj 384->384.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <array>

#include "elit/models/flat_linear.h"

namespace {

constexpr std::array<std::array<int64_t, 2>, 4> kShapes = {
    {{384, 1152}, {384, 1536}, {1536, 384}, {384, 384}}};

void Linear(benchmark::State& state) {
  torch::NoGradGuard no_grad;
  const auto [in, out] = kShapes[static_cast<size_t>(state.range(0))];
  torch::nn::Linear linear(in, out);
  const auto x = torch::randn({2048, in});
  const bool own = state.range(1) != 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(own ? elit::models::linear_rows(linear, x) : linear(x));
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * 2048 * in * out, benchmark::Counter::kIsIterationInvariantRate,
                         benchmark::Counter::kIs1000);
}
BENCHMARK(Linear)
    ->ArgsProduct({{0, 1, 2, 3}, {1, 0}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
