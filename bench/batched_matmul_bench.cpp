// Group-attention-sized batched products: elit's batched_matmul against torch::bmm (libtorch 1.x
// wraps every matrix of the batch in tensor selects before its BLAS call). Shapes [batch, m, k] @
// [batch, k, n] of the Fashion-MNIST model's Read/Write (batch 64 x 16 groups x 4 heads, 2x2
// groups, head width 32).
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "elit/models/batched_matmul.h"

namespace {

template <bool kTorchBmm>
void GroupProduct(benchmark::State& state) {
  torch::NoGradGuard no_grad;
  const int64_t batch = 4096, m = state.range(0), k = state.range(1), n = state.range(2);
  auto a = torch::randn({batch, m, k}), b = torch::randn({batch, k, n});
  for (auto _ : state) {
    benchmark::DoNotOptimize(kTorchBmm ? torch::bmm(a, b) : elit::models::batched_matmul(a, b));
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * batch * m * k * n * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}
// Scores (4 queries x 4 keys over 32 dims) and weighted values (4x4 weights x 4x32 values).
BENCHMARK_TEMPLATE(GroupProduct, true)
    ->Args({4, 32, 4})
    ->Args({4, 4, 32})
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(GroupProduct, false)
    ->Args({4, 32, 4})
    ->Args({4, 4, 32})
    ->Unit(benchmark::kMillisecond);

}  // namespace
