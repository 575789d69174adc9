#include "elit/models/budget.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>

#include "elit/runtime/error.h"

namespace elit::models {
namespace {

TEST(Budget, FractionsKeepThePublishedCount) {
  // T = 4 (group 2) and T = 16 (group 4): int(T * (1 - (1 - b))).
  EXPECT_EQ(keep_from_budget(1.0, 4, 64), 4);
  EXPECT_EQ(keep_from_budget(0.75, 4, 64), 3);
  EXPECT_EQ(keep_from_budget(0.5, 4, 64), 2);
  EXPECT_EQ(keep_from_budget(0.25, 4, 64), 1);
  EXPECT_EQ(keep_from_budget(0.0625, 16, 64), 1);
  EXPECT_EQ(keep_from_budget(0.3, 16, 64), 4);  // 4.8 truncated
  EXPECT_EQ(keep_from_budget(0.99, 16, 64), 15);
  // Powers of two are exact: k/T keeps k.
  for (int64_t T : {1, 4, 16, 64}) {
    for (int64_t k = 1; k <= T; ++k) {
      EXPECT_EQ(keep_from_budget(static_cast<double>(k) / T, T, T * 16), k) << k << "/" << T;
    }
  }
  // Elsewhere the published double arithmetic can land one below: 1 - (1 - 1/3) < 1/3.
  EXPECT_EQ(keep_from_budget(1.0 / 3.0, 9, 81), 2);
}

TEST(Budget, AbsoluteCounts) {
  // 64 latents in groups of 4: 32 latents = half of every group.
  EXPECT_EQ(keep_from_budget(32, 4, 64), 2);
  EXPECT_EQ(keep_from_budget(64, 4, 64), 4);
  EXPECT_EQ(keep_from_budget(20, 4, 64), 1);  // 1.25 per group, truncated as published
}

TEST(Budget, InvalidBudgetsAreClearErrors) {
  auto message = [](double b, int64_t T, int64_t N) {
    try {
      keep_from_budget(b, T, N);
    } catch (const elit::Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(message(0, 4, 64).find("invalid budget"), std::string::npos);
  EXPECT_NE(message(-0.5, 4, 64).find("invalid budget"), std::string::npos);
  EXPECT_NE(message(std::nan(""), 4, 64).find("finite"), std::string::npos);
  EXPECT_NE(message(std::numeric_limits<double>::infinity(), 4, 64).find("finite"),
            std::string::npos);
  EXPECT_NE(message(65, 4, 64).find("64 latents"), std::string::npos);
  EXPECT_NE(message(2.5, 4, 64).find("integer"), std::string::npos);
  // 0.1 with 4 tokens per group keeps int(0.4) = 0: refused, as the published code refuses it.
  const auto zero = message(0.1, 4, 64);
  EXPECT_NE(zero.find("keeps no latent"), std::string::npos) << zero;
  EXPECT_NE(zero.find("1/4"), std::string::npos) << zero;
  EXPECT_NE(message(8, 4, 64).find("keeps no latent"), std::string::npos);
}

TEST(Budget, ValidBudgetsAreTheGroupFractions) {
  EXPECT_EQ(valid_budgets(4), (std::vector<double>{0.25, 0.5, 0.75, 1.0}));
  for (int64_t T : {4, 9, 16, 25, 49}) {
    const auto budgets = valid_budgets(T);
    ASSERT_EQ(budgets.size(), static_cast<size_t>(T));
    for (int64_t k = 1; k <= T; ++k) {
      EXPECT_EQ(keep_from_budget(budgets[k - 1], T, T), k) << k << "/" << T;
      EXPECT_NEAR(budgets[k - 1], static_cast<double>(k) / T, 1e-12);
    }
  }
}

TEST(Budget, TrainingLevelsFollowThePublishedStrategy) {
  // Single budget: max = min.
  EXPECT_EQ(training_mask_levels(std::nullopt, 0.0, 16), (std::vector<double>{0.0}));
  EXPECT_EQ(training_mask_levels(std::nullopt, 0.5, 4), (std::vector<double>{0.5}));
  // Multi-budget [0, 0.9375] with 16 tokens: all 16 levels.
  EXPECT_EQ(training_mask_levels(0.0, 0.9375, 16).size(), 16u);
  // max unset = up to 1 - 1/T.
  EXPECT_EQ(training_mask_levels(0.0, std::nullopt, 4), (std::vector<double>{0, 0.25, 0.5, 0.75}));
  EXPECT_EQ(training_mask_levels(0.25, 0.75, 4), (std::vector<double>{0.25, 0.5, 0.75}));
  EXPECT_THROW(training_mask_levels(0.6, 0.4, 4), elit::Error);
  EXPECT_THROW(training_mask_levels(0.3, 0.4, 4), elit::Error);  // no multiple of 1/4 inside
}

TEST(Budget, SamplerCoversLevelsAndIsReproducible) {
  const auto levels = training_mask_levels(0.0, 0.75, 4);
  BudgetSampler a(levels, 123), b(levels, 123);
  std::map<double, int> counts;
  for (int i = 0; i < 4000; ++i) {
    const double m = a.next();
    EXPECT_EQ(m, b.next());
    ++counts[m];
  }
  ASSERT_EQ(counts.size(), levels.size());
  for (const auto& [level, n] : counts) {
    EXPECT_TRUE(std::count(levels.begin(), levels.end(), level)) << level;
    EXPECT_NEAR(n, 1000, 150) << level;
  }
  // State save/restore continues the same sequence.
  BudgetSampler c(levels, 7);
  c.next();
  const auto state = c.state();
  const double expected = c.next();
  BudgetSampler d(levels, 99);
  d.set_state(state);
  EXPECT_EQ(d.next(), expected);
}

}  // namespace
}  // namespace elit::models
