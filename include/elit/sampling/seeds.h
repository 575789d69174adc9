// Per-sample randomness: sample i of a run with seed s draws its initial noise (and its SDE
// noise) from its own generators, seeded from (s, i). An image therefore depends only on its seed
// and index, never on the batch it was drawn in, the batch size, or the device.
#pragma once
#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace elit::sampling {

// The seed of sample `index` in a run seeded with `seed` (splitmix64 mixing, so that nearby runs
// and nearby indices give unrelated streams). `stream` separates independent draws of a sample
// (0: initial noise, 1: SDE noise).
uint64_t sample_seed(uint64_t seed, int64_t index, uint64_t stream = 0);

// Initial noise for samples [first, first + count): [count, C, H, W] standard normal, drawn in
// float32 on the CPU (as the published scripts draw z) and cast to `dtype`.
torch::Tensor initial_noise(uint64_t seed, int64_t first, int64_t count,
                            const std::vector<int64_t>& chw, torch::Dtype dtype = torch::kFloat32);

// SDE noise for samples [first, first + count): each call returns the next draw of every
// sample's own generator, shaped and placed like the argument (float64).
class PerSampleNoise {
 public:
  PerSampleNoise(uint64_t seed, int64_t first, int64_t count);
  torch::Tensor operator()(const torch::Tensor& like);

 private:
  std::vector<at::Generator> generators_;
};

}  // namespace elit::sampling
