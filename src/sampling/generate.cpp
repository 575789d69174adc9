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
  // Fail on a bad schedule or guidance before spending any compute.
  o.options.guidance.validate();
  o.options.budget.resolve(grid, spec);
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

}  // namespace elit::sampling
