// Budget schedules across sampling steps (the paper's budget-vs-step study): which budget the
// model runs at for each evaluation. A schedule is a pure function of (step, t); the default is
// the full budget at every step.
//
// Text form (CLI flag --budget, JSON "budget"):
//   "0.5"                 constant budget 0.5
//   "0.25,0.25,0.5,1"     one budget per step (exactly `steps` values)
//   "0.25>0.6,0.5>0.3,1"  0.25 while t > 0.6, then 0.5 while t > 0.3, then 1 near t = 0
// Budgets are fractions in (0, 1] or absolute latent counts > 1, as everywhere else.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "elit/models/diffusion_model.h"

namespace elit::sampling {

class BudgetSchedule {
 public:
  BudgetSchedule() = default;  // full budget everywhere
  static BudgetSchedule constant(double budget);
  // budgets[i] at step i; resolving against a grid with another step count is an error.
  static BudgetSchedule per_step(std::vector<double> budgets);
  // `tiers` = {(budget, threshold), ...} with strictly decreasing thresholds in (0, 1): the first
  // tier whose threshold t exceeds gives the budget; `final_budget` once t is at or below all.
  static BudgetSchedule by_time(std::vector<std::pair<double, double>> tiers, double final_budget);
  // The text form above; throws elit::Error naming the text and what was expected.
  static BudgetSchedule parse(const std::string& text);

  // Budget of a model evaluation at step `step` (0-based) and time t. For Heun's second
  // evaluation, `t` is the step's end time and `step` stays the same.
  double at(int64_t step, double t) const;
  // Budget of every step's first evaluation on a time grid of steps + 1 points; each budget is
  // checked against the model (keep_for_budget) so an invalid schedule fails before sampling.
  std::vector<double> resolve(const std::vector<double>& grid, const models::ModelSpec& spec) const;
  // The budgets the schedule can produce (for validation and cost tables).
  std::vector<double> budgets() const;
  bool is_constant() const { return kind_ == Kind::constant; }
  std::string describe() const;  // the text form

 private:
  enum class Kind { constant, per_step, by_time };
  Kind kind_ = Kind::constant;
  double constant_ = 1.0;
  std::vector<double> steps_;
  std::vector<std::pair<double, double>> tiers_;
};

// Checks a budget against a model (keep_for_budget) with `what` naming where it came from.
void check_budget(const models::ModelSpec& spec, double budget, const std::string& what);

}  // namespace elit::sampling
