// The budget table's and the server calibration's timing: every budget is warmed up before any is
// timed, rounds interleave the budgets, and the batch asked for is the batch timed. (Whether
// latency falls with the budget is a benchmark's question: `elit budgets` prints it.)
#include "elit/sampling/forward_costs.h"

#include <gtest/gtest.h>

#include "elit/runtime/error.h"
#include "sampling/recording_model.h"

namespace elit::sampling {
namespace {

TEST(ForwardCosts, WarmsUpEveryBudgetThenTimesInInterleavedRounds) {
  testing::RecordingModel model;
  ForwardCosts costs(model, {{"family", "test"}});
  const auto timings = costs.time_budgets({0.25, 1.0}, 3, /*min_rounds=*/2, /*max_rounds=*/2);
  ASSERT_EQ(timings.size(), 2u);
  EXPECT_EQ(timings[0].budget, 0.25);
  EXPECT_EQ(timings[1].rounds, 2);
  // Warm-ups (one per budget, before any timed forward), then round 1, then round 2.
  std::vector<double> budgets;
  for (const auto& c : model.calls) {
    budgets.push_back(c.budget.value_or(1.0));
    EXPECT_EQ(c.rows, 3);  // timed at the batch asked for, not at 1
  }
  EXPECT_EQ(budgets, (std::vector<double>{0.25, 1, 0.25, 1, 0.25, 1}));
  // An unreachable spread target runs the most rounds allowed.
  model.calls.clear();
  const auto longest = costs.time_budgets({0.5}, 1, 1, 4, /*target_spread=*/-1.0);
  EXPECT_EQ(longest[0].rounds, 4);
  EXPECT_EQ(model.calls.size(), 5u);
  EXPECT_GE(longest[0].spread, 0.0);
  EXPECT_THROW(costs.time_budgets({1.0}, 0, 1, 1), Error);
}

// The server's calibration grid: every (budget, batch size) cell is warmed up, then each round
// times every cell once, so a drift of the machine's speed hits all cells alike.
TEST(ForwardCosts, GridWarmsUpEveryCellThenTimesEveryCellPerRound) {
  testing::RecordingModel model;
  ForwardCosts costs(model, {{"family", "test"}});
  std::vector<int> rounds;
  const auto grid = costs.time_grid({0.5, 1.0}, {1, 4}, /*min_rounds=*/2, /*max_rounds=*/2, 0.1,
                                    [&](int round) { rounds.push_back(round); });
  ASSERT_EQ(grid.size(), 2u);
  ASSERT_EQ(grid[0].size(), 2u);
  EXPECT_EQ(grid[1][0].budget, 1.0);
  EXPECT_EQ(grid[1][0].rows, 1);
  EXPECT_EQ(grid[0][1].rows, 4);
  EXPECT_EQ(grid[0][1].rounds, 2);
  EXPECT_EQ(rounds, (std::vector<int>{1, 2}));
  std::vector<std::pair<double, int64_t>> cells;
  for (const auto& c : model.calls) cells.emplace_back(c.budget.value_or(1.0), c.rows);
  const std::vector<std::pair<double, int64_t>> one_pass = {{0.5, 1}, {0.5, 4}, {1, 1}, {1, 4}};
  std::vector<std::pair<double, int64_t>> expected;
  for (int pass = 0; pass < 3; ++pass)  // the warm-up, then two rounds
    expected.insert(expected.end(), one_pass.begin(), one_pass.end());
  EXPECT_EQ(cells, expected);
  for (const auto& row : grid)
    for (const auto& cell : row) EXPECT_GT(cell.median_s, 0.0);
  EXPECT_THROW(costs.time_grid({1.0}, {}, 1, 1), Error);
  EXPECT_THROW(costs.time_grid({1.0}, {2, 0}, 1, 1), Error);
}

}  // namespace
}  // namespace elit::sampling
