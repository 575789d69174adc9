#include "elit/sampling/seeds.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "elit/runtime/error.h"
#include "elit/runtime/splitmix64.h"

namespace elit::sampling {
namespace {

std::vector<at::Generator> make_generators(uint64_t seed, int64_t first, int64_t count,
                                           uint64_t stream) {
  check(first >= 0 && count >= 0, "invalid sample range [", first, ", ", first + count, ")");
  std::vector<at::Generator> out;
  out.reserve(count);
  for (int64_t i = 0; i < count; ++i) {
    out.push_back(at::detail::createCPUGenerator(sample_seed(seed, first + i, stream)));
  }
  return out;
}

torch::Tensor draw(std::vector<at::Generator>& generators, at::IntArrayRef sample_shape,
                   torch::Dtype dtype) {
  if (generators.empty()) {
    std::vector<int64_t> shape{0};
    shape.insert(shape.end(), sample_shape.begin(), sample_shape.end());
    return torch::empty(shape, torch::dtype(dtype));
  }
  std::vector<torch::Tensor> rows;
  rows.reserve(generators.size());
  for (auto& g : generators) rows.push_back(torch::randn(sample_shape, g, torch::dtype(dtype)));
  return torch::stack(rows);
}

}  // namespace

uint64_t sample_seed(uint64_t seed, int64_t index, uint64_t stream) {
  return splitmix64(splitmix64(splitmix64(seed) ^ static_cast<uint64_t>(index)) ^ stream);
}

torch::Tensor initial_noise(uint64_t seed, int64_t first, int64_t count,
                            const std::vector<int64_t>& chw, torch::Dtype dtype) {
  check(chw.size() == 3, "initial noise needs a [C, H, W] sample shape");
  auto generators = make_generators(seed, first, count, /*stream=*/0);
  return draw(generators, chw, torch::kFloat32).to(dtype);
}

PerSampleNoise::PerSampleNoise(uint64_t seed, int64_t first, int64_t count)
    : generators_(make_generators(seed, first, count, /*stream=*/1)) {}

torch::Tensor PerSampleNoise::operator()(const torch::Tensor& like) {
  check(like.size(0) == static_cast<int64_t>(generators_.size()), "SDE noise for ", like.size(0),
        " samples requested from generators of ", generators_.size());
  return draw(generators_, like.sizes().slice(1), torch::kFloat64).to(like.device());
}

}  // namespace elit::sampling
