// The elastic planner, the cost table and the batching rule, on synthetic tables: ordering
// properties (tighter deadlines or more work ahead never raise the budget), not wall times.
#include <gtest/gtest.h>

#include "elit/runtime/error.h"
#include "elit/serve/job.h"
#include "serve/tiny_server.h"

namespace elit::serve {
namespace {

PlanBatch batch(int64_t images, int64_t evaluations, std::optional<double> deadline_s) {
  PlanBatch b;
  b.images = images;
  b.evaluations = evaluations;
  b.deadline_s = deadline_s;
  return b;
}

TEST(CostTable, InterpolatesRowsAndRoundsBudgetsUp) {
  const auto t = testing::synthetic_table(10.0);  // 10 ms x budget x rows
  EXPECT_DOUBLE_EQ(t.forward_ms(1.0, 4), 40.0);
  EXPECT_DOUBLE_EQ(t.forward_ms(0.5, 3), 15.0);    // between measured 2 and 4 rows
  EXPECT_DOUBLE_EQ(t.forward_ms(0.5, 32), 160.0);  // beyond 16: extrapolated
  EXPECT_DOUBLE_EQ(t.forward_ms(0.4, 1), 5.0);     // 0.4 costs like the next budget, 0.5
  EXPECT_DOUBLE_EQ(t.evaluation_ms(1.0, 2, /*cfg=*/true, std::nullopt), 40.0);
  EXPECT_DOUBLE_EQ(t.evaluation_ms(1.0, 2, /*cfg=*/true, 0.25), 20.0 + 5.0);
}

TEST(CostTable, JsonRoundTripAndClearErrors) {
  const auto t = testing::synthetic_table(3.0);
  const auto back = CostTable::from_json(t.to_json());
  EXPECT_EQ(back.budgets, t.budgets);
  EXPECT_EQ(back.ms, t.ms);
  auto bad = t.to_json();
  bad["forward_ms"][1].erase(0);
  EXPECT_THROW(CostTable::from_json(bad), Error);
  EXPECT_THROW(CostTable::from_json(nlohmann::json{{"budgets", {1.0}}}), Error);
  auto decoded = t;
  decoded.decode_ms = {1, 2, 4, 8, 16};
  EXPECT_EQ(CostTable::from_json(decoded.to_json()).decode_ms, decoded.decode_ms);
  auto short_decode = decoded.to_json();
  short_decode["decode_ms"].erase(0);
  EXPECT_THROW(CostTable::from_json(short_decode), Error);
}

TEST(Planner, ADecoderAddsItsTimeOncePerBatchAndCanLowerTheBudget) {
  auto t = testing::synthetic_table(10.0);
  // 4 evaluations of 2 images at budget 1: 80 ms of sampling.
  const std::vector<PlanBatch> order{batch(2, 4, 0.1)};
  EXPECT_DOUBLE_EQ(finish_times(order, t, 1.0)[0], 0.08);
  EXPECT_DOUBLE_EQ(plan_budget(order, t).budget, 1.0);
  t.decode_ms = {15, 30, 60, 120, 240};  // 15 ms per image, decoded once after the last step
  EXPECT_DOUBLE_EQ(finish_times(order, t, 1.0)[0], 0.08 + 0.03);
  EXPECT_LT(plan_budget(order, t).budget, 1.0);  // 110 ms > 100 ms: a lower budget fits
}

TEST(Planner, EmptyOrRelaxedQueueRunsAtFullBudget) {
  const auto t = testing::synthetic_table(10.0);
  EXPECT_DOUBLE_EQ(plan_budget({}, t).budget, 1.0);
  EXPECT_DOUBLE_EQ(plan_budget({batch(1, 10, 10.0)}, t).budget, 1.0);  // 0.1 s of 10 s
  EXPECT_DOUBLE_EQ(plan_budget({batch(1, 10, std::nullopt)}, t).budget, 1.0);
}

TEST(Planner, TighterDeadlinesNeverRaiseTheBudget) {
  const auto t = testing::synthetic_table(10.0);
  double previous = 2.0;
  std::vector<double> chosen;
  for (double deadline : {1.0, 0.101, 0.08, 0.06, 0.04, 0.03, 0.026}) {
    const auto plan = plan_budget({batch(1, 10, deadline)}, t);  // 10 evaluations x 10 ms x b
    EXPECT_LE(plan.budget, previous) << deadline;
    EXPECT_TRUE(plan.feasible) << deadline;
    previous = plan.budget;
    chosen.push_back(plan.budget);
  }
  EXPECT_DOUBLE_EQ(chosen.front(), 1.0);
  EXPECT_DOUBLE_EQ(chosen.back(), 0.25);
  EXPECT_TRUE(
      meets_deadlines({batch(1, 10, 0.05)}, t, plan_budget({batch(1, 10, 0.05)}, t).budget));
}

TEST(Planner, MoreWorkAheadLowersTheBudgetForEveryone) {
  const auto t = testing::synthetic_table(10.0);
  std::vector<PlanBatch> order;
  double previous = 2.0;
  for (int n = 1; n <= 6; ++n) {
    order.push_back(batch(1, 10, 0.29));  // every request due in 0.29 s
    const auto plan = plan_budget(order, t);
    EXPECT_LE(plan.budget, previous) << n;
    previous = plan.budget;
  }
  EXPECT_LT(previous, 1.0);
}

TEST(Planner, InfeasibleQueueIsReportedAtTheLowestBudget) {
  const auto t = testing::synthetic_table(10.0);
  const auto plan = plan_budget({batch(1, 10, 0.001)}, t);
  EXPECT_FALSE(plan.feasible);
  EXPECT_DOUBLE_EQ(plan.budget, 0.25);
}

TEST(Planner, PinnedBatchesCostTheirOwnBudgetAndDelayLaterOnes) {
  const auto t = testing::synthetic_table(10.0);
  auto pinned = batch(1, 10, std::nullopt);
  pinned.fixed_budget = 1.0;  // 100 ms whatever the plan
  const auto alone = plan_budget({batch(1, 10, 0.16)}, t);
  const auto behind = plan_budget({pinned, batch(1, 10, 0.16)}, t);
  EXPECT_DOUBLE_EQ(alone.budget, 1.0);
  EXPECT_DOUBLE_EQ(behind.budget, 0.5);  // 100 ms + 10 x 5 ms fits 160 ms; 0.75 does not
  const auto finish = finish_times({pinned, batch(1, 10, 0.16)}, t, 0.25);
  EXPECT_NEAR(finish[0], 0.1, 1e-12);
  EXPECT_NEAR(finish[1], 0.125, 1e-12);
}

std::shared_ptr<Job> job(int64_t num, int64_t steps, std::optional<double> fixed = std::nullopt) {
  auto j = std::make_shared<Job>();
  j->request.num = num;
  j->request.steps = steps;
  j->fixed_budget = fixed;
  return j;
}

TEST(Batching, CompatibleRequestsShareABatchUpToTheImageLimit) {
  const std::vector<std::shared_ptr<Job>> queue{job(2, 4), job(3, 8), job(4, 4), job(3, 4),
                                                job(1, 4, 0.5)};
  const auto batches = group_batches(queue, /*max_images=*/6);
  // 0 (2 images) + 2 (4) = 6; 3 (3 images) would exceed; 1 has other steps; 4 is pinned.
  ASSERT_EQ(batches.size(), 4u);
  EXPECT_EQ(batches[0], (std::vector<size_t>{0, 2}));
  EXPECT_EQ(batches[1], (std::vector<size_t>{1}));
  EXPECT_EQ(batches[2], (std::vector<size_t>{3}));
  EXPECT_EQ(batches[3], (std::vector<size_t>{4}));
  auto heun = job(1, 5);
  heun->request.sampler = sampling::SamplerKind::heun;
  EXPECT_EQ(heun->evaluations(), 9);  // no correction on the last step
}

}  // namespace
}  // namespace elit::serve
