#include "elit/sampling/cost.h"

#include "elit/runtime/error.h"

namespace elit::sampling {

int64_t evaluation_flops(const GuidanceOptions& g, double t, double budget,
                         const FlopsPerRow& flops) {
  if (!g.active(t)) return flops(budget);
  return flops(budget) + flops(g.uncond_budget.value_or(budget));
}

int64_t sampling_flops_per_image(SamplerKind kind, const std::vector<double>& grid,
                                 const SamplerOptions& o, const FlopsPerRow& flops) {
  check(grid.size() >= 2, "a time grid needs at least two points");
  const int64_t steps = static_cast<int64_t>(grid.size()) - 1;
  int64_t total = 0;
  for (int64_t i = 0; i < steps; ++i) {
    total += evaluation_flops(o.guidance, grid[i], o.budget.at(i, grid[i]), flops);
    if (kind == SamplerKind::heun && i < steps - 1) {
      total += evaluation_flops(o.guidance, grid[i + 1], o.budget.at(i, grid[i + 1]), flops);
    }
  }
  return total;
}

}  // namespace elit::sampling
