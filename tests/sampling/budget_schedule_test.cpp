// Budget schedules: text forms, resolution on time grids, and that every resolved budget is one
// the model accepts.
#include "elit/sampling/budget_schedule.h"

#include <gtest/gtest.h>

#include "elit/models/budget.h"
#include "elit/runtime/error.h"
#include "elit/sampling/time_grid.h"
#include "support/error_of.h"

namespace elit::sampling {
namespace {

models::ModelSpec elit_spec(int64_t tokens_per_group) {
  models::ModelSpec s;
  s.name = "test";
  s.elit = true;
  s.tokens_per_group = tokens_per_group;
  s.latent_tokens = 16 * tokens_per_group;
  return s;
}

using elit::testing::error_of;

TEST(BudgetSchedule, DefaultIsTheFullBudget) {
  const BudgetSchedule s;
  EXPECT_TRUE(s.is_constant());
  EXPECT_EQ(s.resolve(ode_time_grid(3), elit_spec(4)), (std::vector<double>{1, 1, 1}));
}

TEST(BudgetSchedule, PerStepList) {
  const auto s = BudgetSchedule::parse("0.25,0.5,0.75,1");
  EXPECT_EQ(s.resolve(ode_time_grid(4), elit_spec(4)), (std::vector<double>{0.25, 0.5, 0.75, 1}));
  EXPECT_EQ(s.describe(), "0.25,0.5,0.75,1");
  const auto wrong = error_of([&] { s.resolve(ode_time_grid(5), elit_spec(4)); });
  EXPECT_NE(wrong.find("4 budgets but sampling takes 5 steps"), std::string::npos) << wrong;
}

TEST(BudgetSchedule, LowBudgetWhileTIsLarge) {
  const auto s = BudgetSchedule::parse("0.25>0.6,0.5>0.3,1");
  // Grid 1, .9, ..., .1: t > .6 -> .25 (1, .9, .8, .7), t > .3 -> .5 (.6 is not > .6), then 1.
  const auto budgets = s.resolve(ode_time_grid(10), elit_spec(16));
  const std::vector<double> expected{0.25, 0.25, 0.25, 0.25, 0.5, 0.5, 0.5, 1, 1, 1};
  EXPECT_EQ(budgets, expected);
  EXPECT_EQ(s.at(0, 0.3), 1.0);  // a pure function of (step, t)
  EXPECT_EQ(s.at(7, 0.95), 0.25);
  EXPECT_EQ(BudgetSchedule::parse(s.describe()).describe(), s.describe());
}

TEST(BudgetSchedule, ResolvedBudgetsAreValidForTheModel) {
  for (int64_t T : {4, 16}) {
    for (const auto* text : {"1", "0.25>0.5,1", "0.5,1,0.25,1", "0.75>0.9,0.5>0.2,1"}) {
      const auto s = BudgetSchedule::parse(text);
      const auto grid = ode_time_grid(4);
      for (double b : s.resolve(grid, elit_spec(T))) {
        const int64_t keep = models::keep_from_budget(b, T, 16 * T);
        EXPECT_GE(keep, 1);
        EXPECT_LE(keep, T);
      }
    }
  }
  // 0.1 keeps no latent of 4: refused when resolving, naming the schedule.
  const auto e =
      error_of([] { BudgetSchedule::parse("0.1>0.5,1").resolve(ode_time_grid(4), elit_spec(4)); });
  EXPECT_NE(e.find("budget schedule '0.1>0.5,1'"), std::string::npos) << e;
  EXPECT_NE(e.find("keeps no latent"), std::string::npos) << e;
  // Budget out of range.
  EXPECT_NE(error_of([] {
              BudgetSchedule::constant(1.5).resolve(ode_time_grid(2), elit_spec(4));
            }).find("integer"),
            std::string::npos);
  EXPECT_FALSE(error_of([] {
                 BudgetSchedule::constant(0).resolve(ode_time_grid(2), elit_spec(4));
               }).empty());
  // A model without a latent interface runs at budget 1 only.
  models::ModelSpec plain;
  plain.name = "plain";
  EXPECT_NE(error_of([&] {
              BudgetSchedule::constant(0.5).resolve(ode_time_grid(2), plain);
            }).find("no latent interface"),
            std::string::npos);
}

TEST(BudgetSchedule, MalformedTextIsAClearError) {
  for (const auto* text : {"", "abc", "0.5,", "0.25>0.3", "0.25>0.3>0.1,1", "0.25>x,1",
                           "0.5>0.3,0.25>0.6,1", "0.5>1.5,1"}) {
    const auto e = error_of([&] { BudgetSchedule::parse(text); });
    EXPECT_FALSE(e.empty()) << "'" << text << "' was accepted";
  }
  EXPECT_NE(error_of([] { BudgetSchedule::parse("0.25>0.3"); }).find("must end with"),
            std::string::npos);
}

}  // namespace
}  // namespace elit::sampling
