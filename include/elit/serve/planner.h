// The elastic planner: which budget the next evaluation runs at so that every queued request
// still meets its deadline, from the measured cost table. Pure functions of the work (in the order
// the server will run it) and the table, so they are tested with synthetic tables.
//
// Rule (issue #16): the largest budget at which every request, counting the work of everything
// ahead of it and of what shares its forwards, finishes by its deadline. One budget is chosen for
// all planned work; requests with a fixed budget (an explicit `budget`, or no deadline) run at
// theirs. Finish times come from simulating the worker's batching (Engine::admit_locked),
// including arrivals that are expected but not there yet.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "elit/serve/cost_table.h"

namespace elit::serve {

// One request as the planner sees it: the running ones first, then the queue in EDF order.
struct PlanRequest {
  int64_t images = 1;
  int64_t evaluations = 1;  // sampler evaluations still to run (Heun: two per step but the last)
  int64_t kind = 0;         // requests of one kind may run in one forward (Engine: same_forward,
                            // or same_batch when batches run in lockstep)
  bool running = false;     // already in the running group
  bool cfg = false;         // guided with the null class in the same forward (2x rows)
  std::optional<double> guide_budget;  // cheap CFG / autoguidance: the second forward's budget
  std::optional<double> fixed_budget;  // runs at this budget whatever the plan
  std::optional<double> deadline_s;    // seconds from now
  double arrival_s = 0;  // > 0: an arrival the planner expects this many seconds from now
};

// How the worker groups requests into forwards.
struct Batching {
  int64_t max_images = 16;  // images per forward (a larger request runs alone)
  // true: a group runs from start to end before the next starts (static batching, TeaCache);
  // false: at every evaluation boundary the queue's head joins while it shares the running
  // group's kind and fits (continuous batching), which also makes the running ones slower.
  bool lockstep = false;
};

struct Plan {
  double budget = 1.0;   // for the planned requests
  bool feasible = true;  // false: even the lowest budget misses a deadline (budget = lowest)
};

// Seconds from now at which each request finishes (its images decoded) when the planned ones run
// at `budget`.
std::vector<double> finish_times(const std::vector<PlanRequest>& order, const CostTable& table,
                                 double budget, const Batching& batching);
// How many requests with a deadline finish after it at `budget`.
int64_t count_late(const std::vector<PlanRequest>& order, const CostTable& table, double budget,
                   const Batching& batching);
// The largest of table.budgets with no request late (or the lowest, infeasible). `expected`:
// arrivals the planner expects (arrival_s > 0, after `order` in EDF order); a budget is then
// also refused when, with them, more requests would be late than at the lowest budget: the
// running requests' budget is not raised with the time that the next arrivals need.
Plan plan_budget(const std::vector<PlanRequest>& order, const CostTable& table,
                 const Batching& batching, const std::vector<PlanRequest>& expected = {});

// The largest budget at which `rate` requests per second like `typical` take at most the whole
// of the worker's time, with forwards of `max_images` images (the cheapest per image); the
// lowest when none does. A steady-state cap: above it the queue grows and requests are refused.
double sustainable_budget(const CostTable& table, double rate, const PlanRequest& typical,
                          int64_t max_images);
// The arrivals plan_budget makes room for: while `rate` requests per second like `typical` need
// more than the worker's time at the full budget (sustainable_budget below the highest), the
// ones expected within one deadline (`deadline_s` after arriving), evenly spaced at that rate,
// at most 64; none below that rate, where there is room anyway and a burst's estimate must not
// lower the budget.
std::vector<PlanRequest> expected_arrivals(const CostTable& table, double rate,
                                           const PlanRequest& typical, double deadline_s,
                                           int64_t max_images);

}  // namespace elit::serve
