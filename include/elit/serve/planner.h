// The elastic planner: which budget the next batch runs at so that every queued request still
// meets its deadline, from the measured cost table. Pure functions of the queue (in the order
// the server will run it) and the table, so they are tested with synthetic tables.
//
// Rule (issue #16): the largest budget at which every request, counting the work of everything
// ahead of it, finishes by its deadline. One budget is chosen for all planned work; batches
// with a fixed budget (an explicit `budget`, or no deadline) run at theirs.
#pragma once
#include <optional>
#include <vector>

#include "elit/serve/cost_table.h"

namespace elit::serve {

// One batch of the queue as the server will run it (the running batch first).
struct PlanBatch {
  int64_t images = 1;
  int64_t evaluations = 1;  // sampler evaluations still to run (Heun: two per step but the last)
  bool cfg = false;         // guided with the null class in the same forward (2x rows)
  std::optional<double> guide_budget;  // cheap CFG / autoguidance: the second forward's budget
  std::optional<double> fixed_budget;  // runs at this budget whatever the plan
  std::optional<double> deadline_s;    // seconds from now of its earliest deadline
};

struct Plan {
  double budget = 1.0;   // for the planned batches
  bool feasible = true;  // false: even the lowest budget misses a deadline (budget = lowest)
};

// Seconds from now at which each batch finishes when the planned ones run at `budget`.
std::vector<double> finish_times(const std::vector<PlanBatch>& order, const CostTable& table,
                                 double budget);
// True when every batch with a deadline finishes by it at `budget`.
bool meets_deadlines(const std::vector<PlanBatch>& order, const CostTable& table, double budget);
// The largest of table.budgets that meets every deadline (or the lowest, infeasible).
Plan plan_budget(const std::vector<PlanBatch>& order, const CostTable& table);

}  // namespace elit::serve
