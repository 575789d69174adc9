// Sampling many images in batches: the library side of `elit sample`, `elit budgets` and
// `elit guidance`. Sample i gets initial noise (and SDE noise) from sample_seed(seed, i), so the
// result does not depend on the batch size.
#pragma once
#include <functional>

#include "elit/models/diffusion_model.h"
#include "elit/sampling/sampler.h"

namespace elit::sampling {

struct GenerateOptions {
  SamplerKind sampler = SamplerKind::euler;
  int64_t steps = 50;  // published default num_steps
  SamplerOptions options;
  uint64_t seed = 0;
  int64_t first_index = 0;  // index of the first sample (its seed), for resuming or sharding
  int64_t batch_size = 16;
  torch::Dtype dtype = torch::kFloat32;  // compute dtype of the model
  torch::Device device = torch::kCPU;
};

// Called after every sampler step of every batch: (samples finished before this batch, rows in
// this batch, the step).
using GenerateProgress = std::function<void(int64_t done, int64_t batch_rows, const StepInfo&)>;

// condition: N rows (on any device) -> samples [N, C, H, W] float64 on the CPU. Throws
// elit::Error for steps < 1, batch_size < 1, or an invalid budget before any forward runs.
torch::Tensor generate(models::DiffusionModel& model, const models::Condition& condition,
                       const GenerateOptions& options, const GenerateProgress& progress = {});

// Rank `rank` of `world`'s share of n images drawn in batches of `batch_size`: whole batches,
// contiguous and in order ([begin, end) of the images), so that every image is computed in the
// very batch a single process computes it in (the same result, bit for bit, at the same thread
// count) and concatenating the shares in rank order gives the single-process output.
struct Share {
  int64_t begin = 0, end = 0;
};
Share rank_share(int64_t n, int64_t batch_size, int rank, int world);

}  // namespace elit::sampling
