// Attention of ELIT-SiT-S/2 at 32x32x4 (256 tokens, 6 heads of 64): the transformer blocks'
// self-attention over all tokens and over kept latents, in float32 and bfloat16.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "elit/models/attention.h"

namespace {

void SelfAttention(benchmark::State& state) {
  torch::NoGradGuard no_grad;
  const int64_t batch = 8, tokens = state.range(0), width = 384;
  const auto dtype = state.range(1) ? torch::kBFloat16 : torch::kFloat32;
  elit::models::SelfAttention attn(width, /*num_heads=*/6, /*qk_norm=*/false);
  attn->to(dtype);
  auto x = torch::randn({batch, tokens, width}).to(dtype);
  for (auto _ : state) benchmark::DoNotOptimize(attn->forward(x));
  // qkv + proj linears + scores + weighted values, 2*m*n*k each.
  const double flops =
      2.0 * batch * tokens * width * width * 4 + 4.0 * batch * tokens * tokens * width;
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(SelfAttention)->ArgsProduct({{256, 128, 64, 16}, {0, 1}})->Unit(benchmark::kMillisecond);

void AttentionCore(benchmark::State& state) {
  torch::NoGradGuard no_grad;
  const int64_t heads = 8 * 6, tokens = state.range(0), dim = 64;
  auto q = torch::randn({heads, tokens, dim}), k = torch::randn({heads, tokens, dim}),
       v = torch::randn({heads, tokens, dim});
  for (auto _ : state)
    benchmark::DoNotOptimize(elit::models::scaled_dot_product_attention(q, k, v));
  state.counters["GFLOP/s"] = benchmark::Counter(4.0 * heads * tokens * tokens * dim * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(AttentionCore)->Arg(256)->Arg(64)->Arg(16)->Unit(benchmark::kMillisecond);

}  // namespace
