#include "elit/sampling/budget_schedule.h"

#include <cmath>
#include <sstream>

#include "elit/models/budget.h"
#include "elit/runtime/error.h"

namespace elit::sampling {
namespace {

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, separator)) parts.push_back(part);
  if (!text.empty() && text.back() == separator) parts.emplace_back();
  return parts;
}

double parse_number(const std::string& text, const std::string& whole) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  check(used > 0 && used == text.size(), "budget schedule '", whole, "': '", text,
        "' is not a number (expected e.g. 0.5, '0.25,0.5,1' or '0.25>0.3,1')");
  check(std::isfinite(value), "budget schedule '", whole, "': '", text, "' is not a finite number");
  return value;
}

std::string format(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

}  // namespace

void check_budget(const models::ModelSpec& spec, double budget, const std::string& what) {
  try {
    if (!spec.elit) {
      check(budget == 1.0, "model '", spec.name,
            "' has no latent interface; only budget 1 is valid, got ", budget);
    } else {
      models::keep_from_budget(budget, spec.tokens_per_group, spec.latent_tokens);
    }
  } catch (const Error& e) {
    fail(what, ": ", e.what());
  }
}

BudgetSchedule BudgetSchedule::constant(double budget) {
  BudgetSchedule s;
  s.constant_ = budget;
  return s;
}

BudgetSchedule BudgetSchedule::per_step(std::vector<double> budgets) {
  check(!budgets.empty(), "a per-step budget schedule needs at least one budget");
  BudgetSchedule s;
  s.kind_ = Kind::per_step;
  s.steps_ = std::move(budgets);
  return s;
}

BudgetSchedule BudgetSchedule::by_time(std::vector<std::pair<double, double>> tiers,
                                       double final_budget) {
  double previous = 1.0;
  for (const auto& [budget, threshold] : tiers) {
    check(threshold > 0 && threshold < 1 && threshold < previous, "budget schedule: threshold ",
          threshold, " must be in (0, 1) and below the previous one (", previous, ")");
    previous = threshold;
  }
  BudgetSchedule s;
  s.kind_ = tiers.empty() ? Kind::constant : Kind::by_time;
  s.tiers_ = std::move(tiers);
  s.constant_ = final_budget;
  return s;
}

BudgetSchedule BudgetSchedule::parse(const std::string& text) {
  const auto parts = split(text, ',');
  check(!parts.empty(), "empty budget schedule (expected e.g. 0.5, '0.25,0.5,1' or '0.25>0.3,1')");
  if (text.find('>') == std::string::npos) {
    std::vector<double> budgets;
    for (const auto& p : parts) budgets.push_back(parse_number(p, text));
    return budgets.size() == 1 ? constant(budgets[0]) : per_step(budgets);
  }
  std::vector<std::pair<double, double>> tiers;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    const auto pair = split(parts[i], '>');
    check(pair.size() == 2, "budget schedule '", text, "': '", parts[i],
          "' must read BUDGET>THRESHOLD (e.g. 0.25>0.3: budget 0.25 while t > 0.3)");
    tiers.emplace_back(parse_number(pair[0], text), parse_number(pair[1], text));
  }
  check(parts.back().find('>') == std::string::npos, "budget schedule '", text,
        "' must end with the budget used near t = 0 (e.g. '0.25>0.3,1')");
  return by_time(std::move(tiers), parse_number(parts.back(), text));
}

double BudgetSchedule::at(int64_t step, double t) const {
  switch (kind_) {
    case Kind::constant:
      return constant_;
    case Kind::per_step:
      check(step >= 0 && step < static_cast<int64_t>(steps_.size()), "budget schedule has ",
            steps_.size(), " per-step budgets; step ", step, " has none");
      return steps_[step];
    case Kind::by_time:
      for (const auto& [budget, threshold] : tiers_) {
        if (t > threshold) return budget;
      }
      return constant_;
  }
  return constant_;
}

std::vector<double> BudgetSchedule::resolve(const std::vector<double>& grid,
                                            const models::ModelSpec& spec) const {
  check(grid.size() >= 2, "a time grid needs at least two points");
  const int64_t steps = static_cast<int64_t>(grid.size()) - 1;
  check(kind_ != Kind::per_step || static_cast<int64_t>(steps_.size()) == steps,
        "budget schedule '", describe(), "' lists ", steps_.size(), " budgets but sampling takes ",
        steps, " steps");
  for (double b : budgets()) check_budget(spec, b, "budget schedule '" + describe() + "'");
  std::vector<double> out;
  for (int64_t i = 0; i < steps; ++i) out.push_back(at(i, grid[i]));
  return out;
}

std::vector<double> BudgetSchedule::budgets() const {
  if (kind_ == Kind::per_step) return steps_;
  std::vector<double> out;
  for (const auto& tier : tiers_) out.push_back(tier.first);
  out.push_back(constant_);
  return out;
}

std::string BudgetSchedule::describe() const {
  std::string out;
  if (kind_ == Kind::per_step) {
    for (double b : steps_) out += (out.empty() ? "" : ",") + format(b);
    return out;
  }
  for (const auto& [budget, threshold] : tiers_) {
    out += format(budget) + ">" + format(threshold) + ",";
  }
  return out + format(constant_);
}

}  // namespace elit::sampling
