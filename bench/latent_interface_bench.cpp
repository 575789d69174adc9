// The latent interface of ELIT-SiT-S/2 at 32x32x4, group 4 (16 groups of 16 latents): grouped
// Read and Write cross-attention, and keeping/restoring latents for a budget.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "elit/models/latent_interface.h"

namespace {

using elit::models::GroupLayout;

struct Interface {
  elit::models::Read read{384, 6, 4, 4096};
  elit::models::Write write{384, 6, 4, 1};
  GroupLayout layout{16, 16, 4};
  torch::Tensor x = torch::randn({8, 256, 384});
  torch::Tensor c = torch::randn({8, 384});
  Interface() {
    torch::NoGradGuard no_grad;
    // Non-zero output layers, as in a trained model.
    for (auto& p : write->parameters()) p.normal_(0, 0.02);
    for (auto& p : read->parameters()) p.normal_(0, 0.02);
  }
};

void GroupedRead(benchmark::State& state) {
  torch::NoGradGuard no_grad;
  Interface m;
  for (auto _ : state) benchmark::DoNotOptimize(m.read->forward(m.x, m.c, m.layout, 16).latents);
}
BENCHMARK(GroupedRead)->Unit(benchmark::kMillisecond);

void GroupedWrite(benchmark::State& state) {
  torch::NoGradGuard no_grad;
  Interface m;
  const auto read = m.read->forward(m.x, m.c, m.layout, state.range(0));
  const auto core = read.kept();
  for (auto _ : state) benchmark::DoNotOptimize(m.write->forward(core, read));
}
BENCHMARK(GroupedWrite)->Arg(16)->Arg(4)->Arg(1)->Unit(benchmark::kMillisecond);

void KeepAndRestore(benchmark::State& state) {
  torch::NoGradGuard no_grad;
  Interface m;
  const auto read = m.read->forward(m.x, m.c, m.layout, state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(read.restore(read.kept()));
}
BENCHMARK(KeepAndRestore)->Arg(16)->Arg(8)->Arg(1)->Unit(benchmark::kMicrosecond);

}  // namespace
