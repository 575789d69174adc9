// The elementwise steps of an ELIT-SiT-S/2 block at 32x32x4, batch 8 (2048 tokens of width 384,
// MLP width 1536, 48 score matrices of 256x256), with the one-pass kernels (arg 1) and with
// libtorch's expressions (arg 0), in float32 and bfloat16.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "elit/models/attention.h"
#include "elit/models/fused_kernels.h"
#include "elit/models/mlp.h"
#include "elit/models/sit_block.h"

namespace {

namespace fused = elit::models::fused;

torch::Dtype dtype_of(const benchmark::State& state) {
  return state.range(1) ? torch::kBFloat16 : torch::kFloat32;
}

// Sets the kernels on or off for one benchmark and restores them afterwards.
struct Kernels {
  explicit Kernels(const benchmark::State& state) : before(fused::enabled()) {
    fused::set_enabled(state.range(0) != 0);
  }
  ~Kernels() { fused::set_enabled(before); }
  bool before;
};

void LayerNormModulate(benchmark::State& state) {
  torch::NoGradGuard no_grad;
  Kernels kernels(state);
  const auto x = torch::randn({8, 256, 384}).to(dtype_of(state));
  const auto shift = torch::randn({8, 384}).to(dtype_of(state));
  const auto scale = torch::randn({8, 384}).to(dtype_of(state));
  for (auto _ : state) benchmark::DoNotOptimize(elit::models::norm_modulate(x, shift, scale));
}
BENCHMARK(LayerNormModulate)->ArgsProduct({{1, 0}, {0, 1}})->Unit(benchmark::kMicrosecond);

void GatedResidual(benchmark::State& state) {
  torch::NoGradGuard no_grad;
  Kernels kernels(state);
  const auto x = torch::randn({8, 256, 384}).to(dtype_of(state));
  const auto y = torch::randn({8, 256, 384}).to(dtype_of(state));
  const auto gate = torch::randn({8, 384}).to(dtype_of(state));
  for (auto _ : state) benchmark::DoNotOptimize(elit::models::gated_residual(x, gate, y));
}
BENCHMARK(GatedResidual)->ArgsProduct({{1, 0}, {0, 1}})->Unit(benchmark::kMicrosecond);

// The MLP (two linears around the GELU): the GELU's share is the difference between the modes.
void MlpForward(benchmark::State& state) {
  torch::NoGradGuard no_grad;
  Kernels kernels(state);
  elit::models::Mlp mlp(384, 1536, 384);
  mlp->to(dtype_of(state));
  const auto x = torch::randn({8, 256, 384}).to(dtype_of(state));
  for (auto _ : state) benchmark::DoNotOptimize(mlp->forward(x));
}
BENCHMARK(MlpForward)->ArgsProduct({{1, 0}, {0, 1}})->Unit(benchmark::kMillisecond);

// The attention core of 48 (image, head) pairs over 256 tokens.
void AttentionSoftmaxPath(benchmark::State& state) {
  torch::NoGradGuard no_grad;
  Kernels kernels(state);
  const auto qkv = torch::randn({8, 256, 3, 6, 64}).to(dtype_of(state)).permute({2, 0, 3, 1, 4});
  for (auto _ : state) {
    benchmark::DoNotOptimize(elit::models::scaled_dot_product_attention(qkv[0], qkv[1], qkv[2]));
  }
}
BENCHMARK(AttentionSoftmaxPath)->ArgsProduct({{1, 0}, {0, 1}})->Unit(benchmark::kMillisecond);

}  // namespace
