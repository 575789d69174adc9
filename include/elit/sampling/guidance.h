// Guidance as in the published samplers.py (_velocity_step):
//   * classifier-free guidance (CFG): v = v_uncond + s (v_cond - v_uncond), the unconditional
//     branch with the model's null condition, both branches in one batch at the same budget;
//   * cheap CFG (CCFG): the unconditional branch runs at its own, lower budget
//     (`uncond_budget`, e.g. 1/16) as a separate forward;
//   * autoguidance: like CCFG, but the guiding branch keeps the condition, so guidance comes from
//     the capacity gap between the two budgets rather than from dropping the class.
// Guidance is applied only for scale > 1 and t inside [low, high] (both ends inclusive); outside
// the interval a step costs one conditional forward.
#pragma once
#include <optional>
#include <string>

#include "elit/models/diffusion_model.h"
#include "elit/sampling/teacache.h"

namespace elit::sampling {

struct GuidanceOptions {
  double scale = 1.0;                   // published cfg_scale; guidance only when > 1
  double low = 0.0, high = 1.0;         // guidance interval on t (published guidance_low/high)
  std::optional<double> uncond_budget;  // CCFG / autoguidance: the guiding branch's budget
  bool autoguidance = false;            // guiding branch keeps the condition (needs uncond_budget)

  // Throws elit::Error for a negative or non-finite scale, an empty interval, or autoguidance
  // without an unconditional budget.
  void validate() const;
  bool active(double t) const { return scale > 1.0 && t <= high && t >= low; }
  // "none", "cfg", "ccfg" or "autoguidance".
  std::string mode() const;
};

// What one guided velocity evaluation ran: forwards and the budgets/conditions of each branch.
struct GuidedCall {
  bool guided = false;
  int64_t forwards = 0;       // model forward calls (1, or 2 for CCFG/autoguidance)
  int64_t rows = 0;           // samples through the model in total (B, or 2B when guided)
  double budget = 1.0;        // the conditional branch's budget
  double guide_budget = 1.0;  // the guiding branch's budget (when guided)
};

// The (guided) velocity at time t (published _velocity_step).
//   x: [B, C, H, W] sampler state (float64), cond/null_cond: B rows each,
//   dtype: what the model runs in -> velocity [B, C, H, W] float64.
// `null_cond` is the model's null condition for CFG/CCFG (unused for autoguidance and when
// guidance is off); the budget is dropped for models without a latent interface at budget 1.
// With `cache`, the forwards go through TeaCache (the conditional branch is its branch 0, the
// guiding branch 1).
torch::Tensor guided_velocity(models::DiffusionModel& model, const torch::Tensor& x, double t,
                              const models::Condition& cond, const models::Condition& null_cond,
                              double budget, const GuidanceOptions& guidance, torch::Dtype dtype,
                              GuidedCall* call = nullptr, TeaCache* cache = nullptr);
// The same with a time per row (t: [B] float64 on the CPU), so that rows of sampling runs at
// different steps share the forwards (the server's continuous batching). The rows must agree on
// whether guidance applies; with `cache`, they must share one time.
torch::Tensor guided_velocity(models::DiffusionModel& model, const torch::Tensor& x,
                              const torch::Tensor& t, const models::Condition& cond,
                              const models::Condition& null_cond, double budget,
                              const GuidanceOptions& guidance, torch::Dtype dtype,
                              GuidedCall* call = nullptr, TeaCache* cache = nullptr);

// The budget argument a model is given: unset (= full) for models without a latent interface.
std::optional<double> model_budget(const models::ModelSpec& spec, double budget);

}  // namespace elit::sampling
