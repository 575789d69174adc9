#include "elit/sampling/sampler_state.h"

#include <torch/torch.h>

#include <cmath>

#include "elit/runtime/error.h"

namespace elit::sampling {

SamplerState::SamplerState(SamplerKind kind, std::vector<double> grid, const torch::Tensor& x0,
                           NoiseFn noise)
    : kind_(kind), grid_(std::move(grid)), noise_(std::move(noise)) {
  check(grid_.size() >= 2, "a time grid needs at least two points (one step), got ", grid_.size());
  check(x0.dim() == 4, "sampler input must be [B, C, H, W], got ", x0.sizes());
  x_ = x0.to(torch::kFloat64);
}

bool SamplerState::advance(const torch::Tensor& v) {
  check(!done(), "the sampling run is complete");
  const double t = grid_[step_], t_next = grid_[step_ + 1];
  const bool last = step_ == steps() - 1;
  if (kind_ == SamplerKind::sde) {
    const double dt = t_next - t;
    const double diffusion = 2.0 * t;  // published compute_diffusion
    // Linear path score from the velocity (published get_score_from_velocity with alpha = 1 - t,
    // sigma = t); guidance is linear in v, so the drift of the guided velocity equals the
    // published guided combination of per-branch drifts.
    const double ratio = (1.0 - t) / -1.0;
    const double var = t * t - ratio * 1.0 * t;
    const auto score = (ratio * v - x_) / var;
    const auto drift = v - 0.5 * diffusion * score;
    if (!last) {
      const auto eps = noise_ ? noise_(x_) : torch::randn_like(x_);
      check(eps.sizes() == x_.sizes(), "SDE noise has shape ", eps.sizes(), ", expected ",
            x_.sizes());
      x_ =
          x_ + drift * dt + std::sqrt(diffusion) * (eps.to(x_.options()) * std::sqrt(std::abs(dt)));
    } else {
      x_ = x_ + dt * drift;  // published: the last step takes the mean, without noise
    }
  } else if (!correcting_) {
    const auto x_next = x_ + (t_next - t) * v;
    // Published: no correction on the last step (t_next = 0, where Heun would need v at t = 0).
    if (kind_ == SamplerKind::heun && !last) {
      d_ = v;
      x_next_ = x_next;
      correcting_ = true;
      return false;
    }
    x_ = x_next;
  } else {
    x_ = x_ + (t_next - t) * (0.5 * d_ + 0.5 * v);
    correcting_ = false;
    d_ = x_next_ = torch::Tensor();
  }
  ++step_;
  return true;
}

}  // namespace elit::sampling
