#include "elit/sampling/guidance.h"

#include <torch/torch.h>

#include <cmath>

#include "elit/runtime/error.h"

namespace elit::sampling {

void GuidanceOptions::validate() const {
  check(std::isfinite(scale) && scale >= 0, "invalid guidance scale ", scale,
        ": must be a finite number >= 0 (guidance applies above 1)");
  check(std::isfinite(low) && std::isfinite(high) && low <= high, "invalid guidance interval [",
        low, ", ", high, "]: need low <= high");
  check(!uncond_budget || std::isfinite(*uncond_budget), "invalid --uncond-budget ",
        uncond_budget.value_or(0), ": must be a finite number");
  check(!autoguidance || uncond_budget.has_value(),
        "autoguidance needs a budget for the guiding branch (--uncond-budget), e.g. 0.25");
}

std::string GuidanceOptions::mode() const {
  if (scale <= 1.0) return "none";
  if (!uncond_budget) return "cfg";
  return autoguidance ? "autoguidance" : "ccfg";
}

std::optional<double> model_budget(const models::ModelSpec& spec, double budget) {
  if (!spec.elit && budget == 1.0) return std::nullopt;
  return budget;
}

torch::Tensor guided_velocity(models::DiffusionModel& model, const torch::Tensor& x, double t,
                              const models::Condition& cond, const models::Condition& null_cond,
                              double budget, const GuidanceOptions& g, torch::Dtype dtype,
                              GuidedCall* call, TeaCache* cache) {
  // Published: t_in = ones(B, float64) * t.
  return guided_velocity(model, x, torch::ones({x.size(0)}, torch::kFloat64) * t, cond, null_cond,
                         budget, g, dtype, call, cache);
}

torch::Tensor guided_velocity(models::DiffusionModel& model, const torch::Tensor& x,
                              const torch::Tensor& t_rows, const models::Condition& cond,
                              const models::Condition& null_cond, double budget,
                              const GuidanceOptions& g, torch::Dtype dtype, GuidedCall* call,
                              TeaCache* cache) {
  const auto spec = model.spec();
  const int64_t B = x.size(0);
  check(t_rows.dim() == 1 && t_rows.size(0) == B, "guided_velocity: ", B,
        " rows need [B] times, got ", t_rows.sizes());
  const double t = t_rows.max().item<double>(), t_min = t_rows.min().item<double>();
  check(g.active(t) == g.active(t_min), "rows at times ", t_min, " and ", t,
        " disagree on whether guidance applies in [", g.low, ", ", g.high, "]");
  check(!cache || t == t_min, "TeaCache needs every row at one time");
  // The model runs on the rows' times cast to its dtype, on x's device.
  const auto t_in = t_rows.to(x.device()).to(dtype);
  auto times = [&](int64_t n) { return n == B ? t_in : torch::cat({t_in, t_in}); };
  // `branches`: TeaCache's branch ids of the rows of `in`, in order.
  auto run = [&](const torch::Tensor& in, const models::Condition& c, double b,
                 const std::vector<int>& branches) {
    const auto xd = in.to(dtype);
    if (!cache) {
      return model.forward(xd, times(in.size(0)), c, model_budget(spec, b)).to(torch::kFloat64);
    }
    std::vector<TeaCache::Branch> uses;
    for (int id : branches) uses.push_back({id, b});
    auto forward = cache->forward(uses);
    return model.forward_cached(xd, times(in.size(0)), c, model_budget(spec, b), forward)
        .to(torch::kFloat64);
  };
  GuidedCall info;
  info.budget = budget;
  info.guided = g.active(t);
  torch::Tensor v;
  if (!info.guided) {
    v = run(x, cond, budget, {0});
    info.forwards = 1;
    info.rows = B;
  } else if (g.uncond_budget) {
    // CCFG / autoguidance: two forwards, since the branches run at different budgets; a model
    // may share work between them (ELIT-SiT batches their spatial blocks).
    const auto xd = x.to(dtype);
    std::optional<TeaCache::Forward> cache_cond, cache_guide;
    if (cache) {
      cache_cond.emplace(cache->forward({{0, budget}}));
      cache_guide.emplace(cache->forward({{1, *g.uncond_budget}}));
    }
    const auto [cond_out, guide_out] = model.forward_branches(
        xd, times(B), cond, model_budget(spec, budget), g.autoguidance ? cond : null_cond,
        model_budget(spec, *g.uncond_budget), cache ? &*cache_cond : nullptr,
        cache ? &*cache_guide : nullptr);
    const auto v_cond = cond_out.to(torch::kFloat64);
    const auto v_guide = guide_out.to(torch::kFloat64);
    v = v_guide + g.scale * (v_cond - v_guide);
    info.forwards = 2;
    info.rows = 2 * B;
    info.guide_budget = *g.uncond_budget;
  } else {
    // CFG: both branches in one batch [cond; uncond], as published.
    const auto both =
        run(torch::cat({x, x}, 0), models::Condition::cat(cond, null_cond), budget, {0, 1});
    const auto parts = both.chunk(2, 0);
    v = parts[1] + g.scale * (parts[0] - parts[1]);
    info.forwards = 1;
    info.rows = 2 * B;
    info.guide_budget = budget;
  }
  if (call) *call = info;
  return v;
}

}  // namespace elit::sampling
