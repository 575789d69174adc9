// The published samplers (samplers.py), all with one signature:
//   (model, x, condition, time grid, options, per-step callback) -> sample
//   * euler_sampler: Euler ODE on a grid from t = 1 to 0 (ode_time_grid);
//   * heun_sampler: Heun's second-order correction on every step but the last (published);
//   * euler_maruyama_sampler: the SDE with diffusion 2t on sde_time_grid, noise on every step
//     but the last.
// The state is kept in float64 and cast to x's dtype for every forward, as published, so passing
// x in float64 runs the model in float64 (the reference vectors) and float32 runs it in float32.
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "elit/models/diffusion_model.h"
#include "elit/sampling/budget_schedule.h"
#include "elit/sampling/guidance.h"

namespace elit::sampling {

enum class SamplerKind { euler, heun, sde };
SamplerKind parse_sampler(const std::string& name);  // euler|heun|sde (ode = euler)
std::string sampler_name(SamplerKind kind);
// The grid the sampler kind is published with (ode_time_grid / sde_time_grid).
std::vector<double> time_grid(SamplerKind kind, int64_t steps);

// Standard normal noise shaped like the argument (float64); the SDE's Brownian increments.
using NoiseFn = std::function<torch::Tensor(const torch::Tensor& like)>;

struct SamplerOptions {
  GuidanceOptions guidance;
  BudgetSchedule budget;  // default: full budget at every step
  NoiseFn noise;          // SDE only; unset = torch::randn_like (torch's global generator)
  // When set, replaces `budget`: asked before every evaluation (step, t), so a caller can pick
  // the budget of the remaining steps while sampling runs (the server's planner). The caller
  // checks the budgets it returns against the model.
  std::function<double(int64_t step, double t)> budget_at;
  // TeaCache (sampling/teacache.h); unset: every forward runs in full. What it did (and, when
  // recording, its calibration pairs) is appended to `teacache_log` when that is set.
  std::optional<TeaCacheOptions> teacache;
  std::shared_ptr<TeaCacheLog> teacache_log;
};

// Reported after every step, for progress bars, step-cost tables and tests.
struct StepInfo {
  int64_t step = 0, steps = 0;
  double t = 1.0, t_next = 0.0;
  double budget = 1.0;               // budget of the step's (conditional) evaluations
  bool guided = false;               // guidance was applied at t
  int64_t forwards = 0;              // model forward calls in this step
  int64_t rows = 0;                  // samples through the model in this step (2B for guided CFG)
  const torch::Tensor* x = nullptr;  // state after the step, float64
};
using StepCallback = std::function<void(const StepInfo&)>;

// x: [B, C, H, W] initial noise at t = grid[0] (its dtype is the model's compute dtype),
// condition: B rows -> sample at t = grid.back(), [B, C, H, W] float64.
torch::Tensor euler_sampler(models::DiffusionModel& model, const torch::Tensor& x,
                            const models::Condition& condition, const std::vector<double>& grid,
                            const SamplerOptions& options, const StepCallback& on_step = {});
torch::Tensor heun_sampler(models::DiffusionModel& model, const torch::Tensor& x,
                           const models::Condition& condition, const std::vector<double>& grid,
                           const SamplerOptions& options, const StepCallback& on_step = {});
torch::Tensor euler_maruyama_sampler(models::DiffusionModel& model, const torch::Tensor& x,
                                     const models::Condition& condition,
                                     const std::vector<double>& grid, const SamplerOptions& options,
                                     const StepCallback& on_step = {});

// The sampler of `kind`.
torch::Tensor run_sampler(SamplerKind kind, models::DiffusionModel& model, const torch::Tensor& x,
                          const models::Condition& condition, const std::vector<double>& grid,
                          const SamplerOptions& options, const StepCallback& on_step = {});

}  // namespace elit::sampling
