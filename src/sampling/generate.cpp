#include "elit/sampling/generate.h"

#include <torch/torch.h>

#include "elit/runtime/error.h"
#include "elit/sampling/seeds.h"

namespace elit::sampling {

torch::Tensor generate(models::DiffusionModel& model, const models::Condition& condition,
                       const GenerateOptions& o, const GenerateProgress& progress) {
  check(o.batch_size >= 1, "invalid batch size ", o.batch_size, ": must be at least 1");
  const auto grid = time_grid(o.sampler, o.steps);
  const auto spec = model.spec();
  const int64_t n = condition.batch();
  const std::vector<int64_t> chw{spec.in_channels, spec.height, spec.width};
  std::vector<torch::Tensor> out;
  for (int64_t begin = 0; begin < n; begin += o.batch_size) {
    const int64_t rows = std::min(o.batch_size, n - begin);
    const auto cond = condition.narrow(begin, rows).to(o.device);
    const auto x = initial_noise(o.seed, o.first_index + begin, rows, chw, o.dtype).to(o.device);
    SamplerOptions options = o.options;
    if (o.sampler == SamplerKind::sde) {
      auto noise = std::make_shared<PerSampleNoise>(o.seed, o.first_index + begin, rows);
      options.noise = [noise](const torch::Tensor& like) { return (*noise)(like); };
    }
    StepCallback on_step;
    if (progress) on_step = [&](const StepInfo& s) { progress(begin, rows, s); };
    out.push_back(run_sampler(o.sampler, model, x, cond, grid, options, on_step).cpu());
  }
  if (out.empty())
    return torch::empty({0, spec.in_channels, spec.height, spec.width}, torch::kFloat64);
  return torch::cat(out, 0);
}

Share rank_share(int64_t n, int64_t batch_size, int rank, int world) {
  check(batch_size >= 1, "invalid batch size ", batch_size, ": must be at least 1");
  check(world >= 1 && rank >= 0 && rank < world, "invalid rank ", rank, " of ", world);
  const int64_t batches = (n + batch_size - 1) / batch_size;
  // Batches [b0, b1) of rank r: an even split, the first (batches mod world) ranks one more.
  const auto first_batch = [&](int64_t r) {
    return r * (batches / world) + std::min<int64_t>(r, batches % world);
  };
  return {std::min(n, first_batch(rank) * batch_size),
          std::min(n, first_batch(rank + 1) * batch_size)};
}

}  // namespace elit::sampling
