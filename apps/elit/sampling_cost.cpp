#include "sampling_cost.h"

#include <torch/cuda.h>
#include <torch/torch.h>

#include "elit/metrics/flops.h"
#include "elit/metrics/flops_counter.h"
#include "elit/runtime/timing.h"
#include "elit/sampling/cost.h"

namespace elit::app {
namespace {

torch::TensorOptions model_options(models::DiffusionModel& model) {
  for (const auto& p : model.parameters()) return p.options();
  return torch::TensorOptions();
}

}  // namespace

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

ForwardCosts::ForwardCosts(const LoadedModel& model)
    : m_(model),
      source_(metrics::has_analytic_flops(model.file.config) ? "analytic" : "measured") {}

int64_t ForwardCosts::flops(double budget) {
  auto it = flops_.find(budget);
  if (it != flops_.end()) return it->second;
  int64_t f = 0;
  if (source_ == "analytic") {
    metrics::ForwardFlopsOptions o;
    o.budget = budget;
    f = metrics::analytic_forward_flops(m_.file.config, o).total();
  } else {
    f = measured_flops(budget);
  }
  return flops_[budget] = f;
}

int64_t ForwardCosts::measured_flops(double budget) {
  auto it = measured_.find(budget);
  if (it != measured_.end()) return it->second;
  const auto f =
      metrics::measure_forward_flops(*m_.model, 1, sampling::model_budget(m_.spec, budget));
  return measured_[budget] = f;
}

double ForwardCosts::forward_seconds(double budget, int64_t rows, int repeats) {
  const auto options = model_options(*m_.model);
  const auto x = torch::zeros({rows, m_.spec.in_channels, m_.spec.height, m_.spec.width}, options);
  const auto t = torch::full({rows}, 0.5, options);
  const auto cond =
      m_.model->condition_for_labels(torch::zeros({rows}, options.dtype(torch::kInt64)));
  const auto b = sampling::model_budget(m_.spec, budget);
  torch::NoGradGuard no_grad;
  return median_seconds(
      [&] {
        m_.model->forward(x, t, cond, b);
        synchronize(options.device());
      },
      /*warmup=*/1, repeats);
}

double ForwardCosts::step_seconds(const sampling::GuidanceOptions& guidance, double budget,
                                  int repeats) {
  const auto options = model_options(*m_.model);
  const auto x = torch::zeros({1, m_.spec.in_channels, m_.spec.height, m_.spec.width},
                              options.dtype(torch::kFloat64));
  const auto cond = m_.model->condition_for_labels(torch::zeros({1}, options.dtype(torch::kInt64)));
  const auto null_cond = guidance.scale > 1 && !guidance.autoguidance
                             ? m_.model->null_condition(cond)
                             : models::Condition();
  const double t = std::clamp(0.5, guidance.low, guidance.high);  // inside the interval
  torch::NoGradGuard no_grad;
  return median_seconds(
      [&] {
        sampling::guided_velocity(*m_.model, x, t, cond, null_cond, budget, guidance,
                                  options.dtype().toScalarType());
        synchronize(options.device());
      },
      /*warmup=*/1, repeats);
}

}  // namespace elit::app
