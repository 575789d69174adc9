// One sampling run advanced one model evaluation at a time. The samplers (sampler.h) are this
// loop for one run; the server steps many runs together so that runs at different steps share a
// forward (continuous batching). Updates as published (samplers.py):
//   * euler / heun: x <- x + (t_next - t) d, Heun correcting with d at t_next on every step but
//     the last;
//   * sde (Euler-Maruyama, diffusion 2t): drift from the velocity's score, noise on every step
//     but the last.
// The state is float64 whatever the model runs in, as published.
#pragma once
#include <torch/types.h>

#include <vector>

#include "elit/sampling/sampler.h"

namespace elit::sampling {

class SamplerState {
 public:
  // x0: [B, C, H, W] noise at grid[0]; `noise` (SDE only; unset: torch::randn_like) draws the
  // Brownian increments.
  SamplerState(SamplerKind kind, std::vector<double> grid, const torch::Tensor& x0,
               NoiseFn noise = {});

  bool done() const { return step_ >= steps(); }
  int64_t steps() const { return static_cast<int64_t>(grid_.size()) - 1; }
  int64_t step() const { return step_; }  // the step the next evaluation belongs to
  // Heun's correction: the next evaluation is the step's second one (at t_next).
  bool correcting() const { return correcting_; }
  // The next evaluation: the model is asked for the velocity of input() ([B, C, H, W] float64)
  // at time t().
  const torch::Tensor& input() const { return correcting_ ? x_next_ : x_; }
  double t() const { return grid_[step_ + (correcting_ ? 1 : 0)]; }
  double t_step() const { return grid_[step_]; }  // the step's start and end times
  double t_next() const { return grid_[step_ + 1]; }
  // Takes the velocity at input(); returns true when the step is complete (x() moved to
  // t_next() of that step and step() to the next one).
  bool advance(const torch::Tensor& velocity);
  const torch::Tensor& x() const { return x_; }

 private:
  SamplerKind kind_;
  std::vector<double> grid_;
  NoiseFn noise_;
  torch::Tensor x_, x_next_, d_;  // state; Heun: the Euler prediction and its slope
  int64_t step_ = 0;
  bool correcting_ = false;
};

}  // namespace elit::sampling
