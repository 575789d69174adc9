// Multi-budget training draws: only valid levels, every level over many draws, the same sequence
// for every rank given the seed, and the budget passed to the model keeps the published count.
#include <gtest/gtest.h>

#include <map>

#include "elit/models/budget.h"

namespace elit::train {
namespace {

TEST(BudgetDraws, ValidLevelsAllCoveredSameAcrossRanks) {
  for (int64_t group : {2, 3, 4}) {
    const int64_t T = group * group;
    const auto levels = models::training_mask_levels(0.0, std::nullopt, T);
    ASSERT_EQ(static_cast<int64_t>(levels.size()), T);  // 0, 1/T, ..., (T-1)/T
    models::BudgetSampler rank0(levels, 1234), rank1(levels, 1234);
    std::map<double, int> counts;
    for (int i = 0; i < 400 * T; ++i) {
      const double level = rank0.next();
      ASSERT_EQ(level, rank1.next()) << "draw " << i;
      ASSERT_NE(std::find(levels.begin(), levels.end(), level), levels.end());
      ++counts[level];
    }
    EXPECT_EQ(static_cast<int64_t>(counts.size()), T);
    for (const auto& [level, n] : counts) EXPECT_GT(n, 250) << "level " << level;
  }
}

TEST(BudgetDraws, BudgetKeepsThePublishedCount) {
  for (int64_t group : {2, 3, 4, 5, 8}) {
    const int64_t T = group * group;
    const auto levels = models::training_mask_levels(0.0, std::nullopt, T);
    const auto budgets = models::training_budgets(0.0, std::nullopt, T);
    ASSERT_EQ(budgets.size(), levels.size());
    for (size_t i = 0; i < levels.size(); ++i) {
      EXPECT_EQ(models::keep_from_budget(budgets[i], T, 16 * T),
                models::keep_from_mask_prob(levels[i], T))
          << "T " << T << " level " << levels[i];
    }
  }
}

TEST(BudgetDraws, SamplerStateResumesTheSequence) {
  const auto levels = models::training_mask_levels(0.25, 0.75, 4);
  models::BudgetSampler a(levels, 9);
  for (int i = 0; i < 17; ++i) a.next();
  models::BudgetSampler b(levels, 0);
  b.set_state(a.state());
  for (int i = 0; i < 50; ++i) EXPECT_EQ(a.next(), b.next());
}

}  // namespace
}  // namespace elit::train
