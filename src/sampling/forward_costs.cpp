#include "elit/sampling/forward_costs.h"

#include <torch/cuda.h>
#include <torch/torch.h>

#include <algorithm>

#include "elit/metrics/flops.h"
#include "elit/metrics/flops_counter.h"
#include "elit/runtime/error.h"
#include "elit/runtime/timing.h"
#include "elit/sampling/cost.h"

namespace elit::sampling {
namespace {

torch::TensorOptions model_options(models::DiffusionModel& model) {
  for (const auto& p : model.parameters()) return p.options();
  return torch::TensorOptions();
}

}  // namespace

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

ForwardCosts::ForwardCosts(models::DiffusionModel& model, nlohmann::json config)
    : model_(model),
      spec_(model.spec()),
      config_(std::move(config)),
      source_(metrics::has_analytic_flops(config_) ? "analytic" : "measured") {}

int64_t ForwardCosts::flops(double budget) {
  auto it = flops_.find(budget);
  if (it != flops_.end()) return it->second;
  int64_t f = 0;
  if (source_ == "analytic") {
    metrics::ForwardFlopsOptions o;
    o.budget = budget;
    f = metrics::analytic_forward_flops(config_, o).total();
  } else {
    f = measured_flops(budget);
  }
  return flops_[budget] = f;
}

int64_t ForwardCosts::measured_flops(double budget) {
  auto it = measured_.find(budget);
  if (it != measured_.end()) return it->second;
  const auto f = metrics::measure_forward_flops(model_, 1, model_budget(spec_, budget));
  return measured_[budget] = f;
}

std::vector<std::vector<ForwardTiming>> ForwardCosts::time_grid(
    const std::vector<double>& budgets, const std::vector<int64_t>& rows, int min_rounds,
    int max_rounds, double target_spread, const std::function<void(int round)>& on_round) {
  check(!budgets.empty() && !rows.empty() && min_rounds >= 1 && max_rounds >= min_rounds,
        "invalid timing plan: ", budgets.size(), " budgets, ", rows.size(), " batch sizes, ",
        min_rounds, "..", max_rounds, " rounds");
  const auto options = model_options(model_);
  struct Input {
    torch::Tensor x, t;
    models::Condition cond;
  };
  std::vector<Input> inputs;
  for (const int64_t r : rows) {
    check(r >= 1, "invalid timing plan: batch size ", r);
    inputs.push_back(
        {torch::zeros({r, spec_.in_channels, spec_.height, spec_.width}, options),
         torch::full({r}, 0.5, options),
         model_.condition_for_labels(torch::zeros({r}, options.dtype(torch::kInt64)))});
  }
  torch::NoGradGuard no_grad;
  auto forward = [&](double budget, const Input& in) {
    const Stopwatch watch;
    model_.forward(in.x, in.t, in.cond, model_budget(spec_, budget));
    synchronize(options.device());
    return watch.seconds();
  };
  for (double b : budgets) {  // warm-up: first-call allocations and caches
    for (const auto& in : inputs) forward(b, in);
  }
  auto quantile = [](std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    const double pos = q * static_cast<double>(v.size() - 1);
    const auto lo = static_cast<size_t>(pos);
    const size_t hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
  };
  std::vector<std::vector<std::vector<double>>> samples(
      budgets.size(), std::vector<std::vector<double>>(rows.size()));
  std::vector<std::vector<ForwardTiming>> out(budgets.size(),
                                              std::vector<ForwardTiming>(rows.size()));
  for (int round = 1; round <= max_rounds; ++round) {
    bool settled = round >= min_rounds;
    for (size_t k = 0; k < budgets.size(); ++k) {
      for (size_t j = 0; j < rows.size(); ++j) {
        samples[k][j].push_back(forward(budgets[k], inputs[j]));
        auto& cell = out[k][j];
        cell.budget = budgets[k];
        cell.rows = rows[j];
        cell.rounds = round;
        cell.median_s = quantile(samples[k][j], 0.5);
        cell.spread =
            cell.median_s > 0
                ? (quantile(samples[k][j], 0.75) - quantile(samples[k][j], 0.25)) / cell.median_s
                : 0.0;
        settled = settled && cell.spread <= target_spread;
      }
    }
    if (on_round) on_round(round);
    if (settled) break;
  }
  return out;
}

std::vector<ForwardTiming> ForwardCosts::time_budgets(const std::vector<double>& budgets,
                                                      int64_t rows, int min_rounds, int max_rounds,
                                                      double target_spread) {
  std::vector<ForwardTiming> out;
  for (auto& row : time_grid(budgets, {rows}, min_rounds, max_rounds, target_spread))
    out.push_back(row.front());
  return out;
}

double ForwardCosts::step_seconds(const GuidanceOptions& guidance, double budget, int repeats) {
  const auto options = model_options(model_);
  const auto x = torch::zeros({1, spec_.in_channels, spec_.height, spec_.width},
                              options.dtype(torch::kFloat64));
  const auto cond = model_.condition_for_labels(torch::zeros({1}, options.dtype(torch::kInt64)));
  const auto null_cond = guidance.scale > 1 && !guidance.autoguidance ? model_.null_condition(cond)
                                                                      : models::Condition();
  const double t = std::clamp(0.5, guidance.low, guidance.high);  // inside the interval
  torch::NoGradGuard no_grad;
  return median_seconds(
      [&] {
        guided_velocity(model_, x, t, cond, null_cond, budget, guidance,
                        options.dtype().toScalarType());
        synchronize(options.device());
      },
      /*warmup=*/1, repeats);
}

}  // namespace elit::sampling
