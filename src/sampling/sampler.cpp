#include "elit/sampling/sampler.h"

#include <torch/torch.h>

#include <cmath>

#include "elit/runtime/error.h"
#include "elit/sampling/sampler_state.h"
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

// The loop every sampler is: one SamplerState, one (guided) velocity per evaluation.
torch::Tensor sample(SamplerKind kind, models::DiffusionModel& model, const torch::Tensor& x0,
                     const models::Condition& condition, const std::vector<double>& grid,
                     const SamplerOptions& options, const StepCallback& on_step) {
  torch::NoGradGuard no_grad;
  SamplerState state(kind, grid, x0, options.noise);
  Run run(model, x0, condition, grid, options);
  GuidedCall first;
  while (!state.done()) {
    const int64_t i = state.step();
    const bool correcting = state.correcting();
    if (!correcting) run.begin_step(i, state.steps());
    GuidedCall call;
    const auto v = run.velocity(state.input(), i, state.t(), &call);
    if (!state.advance(v)) {  // Heun: the correction follows
      first = call;
      continue;
    }
    if (correcting) {
      report(on_step, i, grid, first, call.forwards, call.rows, state.x());
    } else {
      report(on_step, i, grid, call, 0, 0, state.x());
    }
  }
  return state.x();
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
  return sample(SamplerKind::euler, model, x, condition, grid, options, on_step);
}

torch::Tensor heun_sampler(models::DiffusionModel& model, const torch::Tensor& x,
                           const models::Condition& condition, const std::vector<double>& grid,
                           const SamplerOptions& options, const StepCallback& on_step) {
  return sample(SamplerKind::heun, model, x, condition, grid, options, on_step);
}

torch::Tensor euler_maruyama_sampler(models::DiffusionModel& model, const torch::Tensor& x,
                                     const models::Condition& condition,
                                     const std::vector<double>& grid, const SamplerOptions& options,
                                     const StepCallback& on_step) {
  return sample(SamplerKind::sde, model, x, condition, grid, options, on_step);
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
