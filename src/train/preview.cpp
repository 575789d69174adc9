#include "elit/train/preview.h"

namespace elit::train {

torch::Tensor preview_samples(models::DiffusionModel& model, const torch::Tensor& noise,
                              const torch::Tensor& labels, const PreviewOptions& options) {
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  const auto condition = model.condition_for_labels(labels);
  const bool guided = options.cfg_scale != 1.0 && model.spec().num_classes > 0;
  // Conditional and unconditional halves in one batch: [2B, ...].
  const auto both =
      guided ? models::Condition::cat(condition, model.null_condition(condition)) : condition;
  auto x = noise.clone();
  const int64_t b = x.size(0);
  for (int64_t i = 0; i < options.steps; ++i) {
    const double t = 1.0 - static_cast<double>(i) / static_cast<double>(options.steps);
    const double dt = 1.0 / static_cast<double>(options.steps);
    const auto input = guided ? torch::cat({x, x}) : x;
    const auto v =
        model.forward(input, torch::full({input.size(0)}, t, x.options()), both, options.budget);
    const auto velocity =
        guided ? v.narrow(0, b, b) + options.cfg_scale * (v.narrow(0, 0, b) - v.narrow(0, b, b))
               : v;
    x = x - dt * velocity;  // dx/dt = v, integrated from t to t - dt
  }
  if (was_training) model.train();
  return x;
}

}  // namespace elit::train
