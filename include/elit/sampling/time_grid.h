// Time grids of the published samplers (samplers.py): rectified-flow time from t = 1 (noise) to
// t = 0 (data), in float64 exactly as torch.linspace computes them.
#pragma once
#include <cstdint>
#include <vector>

namespace elit::sampling {

// Euler / Heun ODE: linspace(1, 0, steps + 1). Throws elit::Error for steps < 1.
std::vector<double> ode_time_grid(int64_t steps);

// Euler–Maruyama SDE: linspace(1, 0.04, steps) followed by 0. The published sampler stops the
// noisy steps at t = 0.04 (the score is singular at t = 0) and takes one last noise-free step to
// 0, so `steps` model evaluations in all. Throws elit::Error for steps < 1.
std::vector<double> sde_time_grid(int64_t steps);

}  // namespace elit::sampling
