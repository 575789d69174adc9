// A synthetic 10-class image problem a small CNN learns in seconds: class c is a bright
// horizontal bar at rows [2c + 4, 2c + 7) on a noisy dark background (uint8 [N, 28, 28, 1]).
#pragma once
#include <torch/types.h>

namespace elit::metrics::testing {

struct Labelled {
  torch::Tensor images, labels;
};

inline Labelled bar_images(int64_t n, uint64_t seed, int64_t size = 28) {
  auto gen = at::detail::createCPUGenerator(seed);
  Labelled d;
  d.labels = torch::arange(n, torch::kInt64).remainder(10);
  auto x = torch::rand({n, size, size}, gen) * 60;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t row = 2 * d.labels[i].item<int64_t>() + 4 + (size - 28) / 2;
    x[i].slice(0, row, row + 3) += 180;
  }
  d.images = x.clamp(0, 255).to(torch::kUInt8).unsqueeze(3);
  return d;
}

}  // namespace elit::metrics::testing
