#include "elit/sampling/time_grid.h"

#include <torch/torch.h>

#include "elit/runtime/error.h"

namespace elit::sampling {
namespace {

std::vector<double> linspace(double start, double end, int64_t points) {
  // torch's own linspace so that every grid value is bit-identical to the published one.
  auto grid = torch::linspace(start, end, points, torch::kFloat64).contiguous();
  return {grid.data_ptr<double>(), grid.data_ptr<double>() + points};
}

void check_steps(int64_t steps) {
  check(steps >= 1, "invalid number of sampling steps ", steps, ": must be at least 1");
}

}  // namespace

std::vector<double> ode_time_grid(int64_t steps) {
  check_steps(steps);
  return linspace(1.0, 0.0, steps + 1);
}

std::vector<double> sde_time_grid(int64_t steps) {
  check_steps(steps);
  auto grid = linspace(1.0, 0.04, steps);
  grid.push_back(0.0);
  return grid;
}

}  // namespace elit::sampling
