#include "elit/sampling/sampler.h"

#include <torch/torch.h>

#include <cmath>

#include "elit/runtime/error.h"
#include "elit/sampling/time_grid.h"

namespace elit::sampling {
namespace {

// Everything a step needs, resolved once per sampling run.
struct Run {
  models::DiffusionModel& model;
  const models::Condition& cond;
  models::Condition null_cond;
  const SamplerOptions& options;
  torch::Dtype dtype;
  std::optional<TeaCache> cache;  // a fresh state per sampling run

  Run(models::DiffusionModel& m, const torch::Tensor& x, const models::Condition& c,
      const std::vector<double>& grid, const SamplerOptions& o)
      : model(m), cond(c), options(o), dtype(x.scalar_type()) {
    o.guidance.validate();
    check(x.dim() == 4, "sampler input must be [B, C, H, W], got ", x.sizes());
    check(c.batch() == x.size(0), "the condition has ", c.batch(), " rows for a batch of ",
          x.size(0));
    const auto spec = m.spec();
    // Fails on a bad schedule or guidance before any compute; steps then ask o.budget.at().
    o.budget.resolve(grid, spec);
    if (o.guidance.uncond_budget) {
      check_budget(spec, *o.guidance.uncond_budget, "unconditional (guiding) budget");
    }
    // The null condition is only needed (and only defined) for CFG/CCFG.
    if (o.guidance.scale > 1.0 && !o.guidance.autoguidance) null_cond = m.null_condition(c);
    if (o.teacache) cache.emplace(*o.teacache, o.teacache_log);
  }

  void begin_step(int64_t step, int64_t steps) {
    if (cache) cache->begin_step(step, steps);
  }

  torch::Tensor velocity(const torch::Tensor& x, int64_t step, double t, GuidedCall* call) {
    const double budget =
        options.budget_at ? options.budget_at(step, t) : options.budget.at(step, t);
    return guided_velocity(model, x, t, cond, null_cond, budget, options.guidance, dtype, call,
                           cache ? &*cache : nullptr);
  }
};

void report(const StepCallback& on_step, int64_t step, const std::vector<double>& grid,
            const GuidedCall& call, int64_t extra_forwards, int64_t extra_rows,
            const torch::Tensor& x) {
  if (!on_step) return;
  StepInfo info;
  info.step = step;
  info.steps = static_cast<int64_t>(grid.size()) - 1;
  info.t = grid[step];
  info.t_next = grid[step + 1];
  info.budget = call.budget;
  info.guided = call.guided;
  info.forwards = call.forwards + extra_forwards;
  info.rows = call.rows + extra_rows;
  info.x = &x;
  on_step(info);
}

void check_grid(const std::vector<double>& grid) {
  check(grid.size() >= 2, "a time grid needs at least two points (one step), got ", grid.size());
}

torch::Tensor ode_sampler(bool heun, models::DiffusionModel& model, const torch::Tensor& x0,
                          const models::Condition& condition, const std::vector<double>& grid,
                          const SamplerOptions& options, const StepCallback& on_step) {
  check_grid(grid);
  torch::NoGradGuard no_grad;
  Run run(model, x0, condition, grid, options);
  const int64_t steps = static_cast<int64_t>(grid.size()) - 1;
  auto x = x0.to(torch::kFloat64);
  for (int64_t i = 0; i < steps; ++i) {
    const double t = grid[i], t_next = grid[i + 1];
    GuidedCall call, second;
    run.begin_step(i, steps);
    const auto d = run.velocity(x, i, t, &call);
    auto x_next = x + (t_next - t) * d;
    // Published: no correction on the last step (t_next = 0, where Heun would need v at t = 0).
    if (heun && i < steps - 1) {
      const auto d_prime = run.velocity(x_next, i, t_next, &second);
      x_next = x + (t_next - t) * (0.5 * d + 0.5 * d_prime);
    }
    x = x_next;
    report(on_step, i, grid, call, second.forwards, second.rows, x);
  }
  return x;
}

}  // namespace

SamplerKind parse_sampler(const std::string& name) {
  if (name == "euler" || name == "ode") return SamplerKind::euler;
  if (name == "heun") return SamplerKind::heun;
  if (name == "sde" || name == "euler-maruyama") return SamplerKind::sde;
  fail("unknown sampler '", name, "' (expected euler, heun or sde)");
}

std::string sampler_name(SamplerKind kind) {
  switch (kind) {
    case SamplerKind::euler:
      return "euler";
    case SamplerKind::heun:
      return "heun";
    case SamplerKind::sde:
      return "sde";
  }
  return "?";
}

std::vector<double> time_grid(SamplerKind kind, int64_t steps) {
  return kind == SamplerKind::sde ? sde_time_grid(steps) : ode_time_grid(steps);
}

torch::Tensor euler_sampler(models::DiffusionModel& model, const torch::Tensor& x,
                            const models::Condition& condition, const std::vector<double>& grid,
                            const SamplerOptions& options, const StepCallback& on_step) {
  return ode_sampler(/*heun=*/false, model, x, condition, grid, options, on_step);
}

torch::Tensor heun_sampler(models::DiffusionModel& model, const torch::Tensor& x,
                           const models::Condition& condition, const std::vector<double>& grid,
                           const SamplerOptions& options, const StepCallback& on_step) {
  return ode_sampler(/*heun=*/true, model, x, condition, grid, options, on_step);
}

torch::Tensor euler_maruyama_sampler(models::DiffusionModel& model, const torch::Tensor& x0,
                                     const models::Condition& condition,
                                     const std::vector<double>& grid, const SamplerOptions& options,
                                     const StepCallback& on_step) {
  check_grid(grid);
  torch::NoGradGuard no_grad;
  Run run(model, x0, condition, grid, options);
  const int64_t steps = static_cast<int64_t>(grid.size()) - 1;
  auto x = x0.to(torch::kFloat64);
  for (int64_t i = 0; i < steps; ++i) {
    const double t = grid[i], dt = grid[i + 1] - grid[i];
    const double diffusion = 2.0 * t;  // published compute_diffusion
    GuidedCall call;
    run.begin_step(i, steps);
    const auto v = run.velocity(x, i, t, &call);
    // Linear path score from the velocity (published get_score_from_velocity with alpha = 1 - t,
    // sigma = t); guidance is linear in v, so the drift of the guided velocity equals the
    // published guided combination of per-branch drifts.
    const double ratio = (1.0 - t) / -1.0;
    const double var = t * t - ratio * 1.0 * t;
    const auto score = (ratio * v - x) / var;
    const auto drift = v - 0.5 * diffusion * score;
    if (i < steps - 1) {
      const auto eps = options.noise ? options.noise(x) : torch::randn_like(x);
      check(eps.sizes() == x.sizes(), "SDE noise has shape ", eps.sizes(), ", expected ",
            x.sizes());
      x = x + drift * dt + std::sqrt(diffusion) * (eps.to(x.options()) * std::sqrt(std::abs(dt)));
    } else {
      x = x + dt * drift;  // published: the last step takes the mean, without noise
    }
    report(on_step, i, grid, call, 0, 0, x);
  }
  return x;
}

torch::Tensor run_sampler(SamplerKind kind, models::DiffusionModel& model, const torch::Tensor& x,
                          const models::Condition& condition, const std::vector<double>& grid,
                          const SamplerOptions& options, const StepCallback& on_step) {
  switch (kind) {
    case SamplerKind::euler:
      return euler_sampler(model, x, condition, grid, options, on_step);
    case SamplerKind::heun:
      return heun_sampler(model, x, condition, grid, options, on_step);
    case SamplerKind::sde:
      return euler_maruyama_sampler(model, x, condition, grid, options, on_step);
  }
  fail("unknown sampler kind");
}

}  // namespace elit::sampling
