#include "elit/serve/planner.h"

namespace elit::serve {

std::vector<double> finish_times(const std::vector<PlanBatch>& order, const CostTable& table,
                                 double budget) {
  std::vector<double> out;
  double t = 0;
  for (const auto& b : order) {
    const double at = b.fixed_budget.value_or(budget);
    t += 1e-3 * (static_cast<double>(b.evaluations) *
                     table.evaluation_ms(at, b.images, b.cfg, b.guide_budget) +
                 table.decode_batch_ms(b.images));
    out.push_back(t);
  }
  return out;
}

bool meets_deadlines(const std::vector<PlanBatch>& order, const CostTable& table, double budget) {
  const auto finish = finish_times(order, table, budget);
  for (size_t i = 0; i < order.size(); ++i) {
    if (order[i].deadline_s && finish[i] > *order[i].deadline_s) return false;
  }
  return true;
}

Plan plan_budget(const std::vector<PlanBatch>& order, const CostTable& table) {
  // Budgets ascend, and a lower budget never costs more in a measured table that is monotone;
  // scanning from the top returns the largest feasible one even where noise breaks monotonicity.
  for (auto it = table.budgets.rbegin(); it != table.budgets.rend(); ++it) {
    if (meets_deadlines(order, table, *it)) return {*it, true};
  }
  return {table.budgets.front(), false};
}

}  // namespace elit::serve
