// The elastic planner, the cost table and the batching rule, on synthetic tables: ordering
// properties (tighter deadlines or more work ahead never raise the budget), not wall times.
#include <gtest/gtest.h>

#include "elit/runtime/error.h"
#include "elit/serve/job.h"
#include "serve/tiny_server.h"

namespace elit::serve {
namespace {

const Batching kContinuous{/*max_images=*/16, /*lockstep=*/false};

// A request of its own kind: it shares no forward, so requests like it run one after the other.
PlanRequest batch(int64_t images, int64_t evaluations, std::optional<double> deadline_s) {
  static int64_t kinds = 100;
  PlanRequest r;
  r.images = images;
  r.evaluations = evaluations;
  r.deadline_s = deadline_s;
  r.kind = ++kinds;
  return r;
}

PlanRequest of_kind(PlanRequest r, int64_t kind, bool running = false) {
  r.kind = kind;
  r.running = running;
  return r;
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

TEST(Planner, ADecoderAddsItsTimeOncePerRequestAndCanLowerTheBudget) {
  auto t = testing::synthetic_table(10.0);
  // 4 evaluations of 2 images at budget 1: 80 ms of sampling.
  const std::vector<PlanRequest> order{batch(2, 4, 0.1)};
  EXPECT_DOUBLE_EQ(finish_times(order, t, 1.0, kContinuous)[0], 0.08);
  EXPECT_DOUBLE_EQ(plan_budget(order, t, kContinuous).budget, 1.0);
  t.decode_ms = {15, 30, 60, 120, 240};  // 15 ms per image, decoded once after the last step
  EXPECT_DOUBLE_EQ(finish_times(order, t, 1.0, kContinuous)[0], 0.08 + 0.03);
  EXPECT_LT(plan_budget(order, t, kContinuous).budget,
            1.0);  // 110 ms > 100 ms: a lower budget fits
}

TEST(Planner, EmptyOrRelaxedQueueRunsAtFullBudget) {
  const auto t = testing::synthetic_table(10.0);
  EXPECT_DOUBLE_EQ(plan_budget({}, t, kContinuous).budget, 1.0);
  EXPECT_DOUBLE_EQ(plan_budget({batch(1, 10, 10.0)}, t, kContinuous).budget, 1.0);  // 0.1 s of 10 s
  EXPECT_DOUBLE_EQ(plan_budget({batch(1, 10, std::nullopt)}, t, kContinuous).budget, 1.0);
}

TEST(Planner, TighterDeadlinesNeverRaiseTheBudget) {
  const auto t = testing::synthetic_table(10.0);
  double previous = 2.0;
  std::vector<double> chosen;
  for (double deadline : {1.0, 0.101, 0.08, 0.06, 0.04, 0.03, 0.026}) {
    const auto plan =
        plan_budget({batch(1, 10, deadline)}, t, kContinuous);  // 10 evaluations x 10 ms x b
    EXPECT_LE(plan.budget, previous) << deadline;
    EXPECT_TRUE(plan.feasible) << deadline;
    previous = plan.budget;
    chosen.push_back(plan.budget);
  }
  EXPECT_DOUBLE_EQ(chosen.front(), 1.0);
  EXPECT_DOUBLE_EQ(chosen.back(), 0.25);
  EXPECT_EQ(count_late({batch(1, 10, 0.05)}, t,
                       plan_budget({batch(1, 10, 0.05)}, t, kContinuous).budget, kContinuous),
            0);
}

TEST(Planner, MoreWorkAheadLowersTheBudgetForEveryone) {
  const auto t = testing::synthetic_table(10.0);
  std::vector<PlanRequest> order;
  double previous = 2.0;
  for (int n = 1; n <= 6; ++n) {
    order.push_back(batch(1, 10, 0.29));  // every request due in 0.29 s
    const auto plan = plan_budget(order, t, kContinuous);
    EXPECT_LE(plan.budget, previous) << n;
    previous = plan.budget;
  }
  EXPECT_LT(previous, 1.0);
}

TEST(Planner, InfeasibleQueueIsReportedAtTheLowestBudget) {
  const auto t = testing::synthetic_table(10.0);
  const auto plan = plan_budget({batch(1, 10, 0.001)}, t, kContinuous);
  EXPECT_FALSE(plan.feasible);
  EXPECT_DOUBLE_EQ(plan.budget, 0.25);
}

TEST(Planner, PinnedBatchesCostTheirOwnBudgetAndDelayLaterOnes) {
  const auto t = testing::synthetic_table(10.0);
  auto pinned = batch(1, 10, std::nullopt);
  pinned.fixed_budget = 1.0;  // 100 ms whatever the plan
  const auto alone = plan_budget({batch(1, 10, 0.16)}, t, kContinuous);
  const auto behind = plan_budget({pinned, batch(1, 10, 0.16)}, t, kContinuous);
  EXPECT_DOUBLE_EQ(alone.budget, 1.0);
  EXPECT_DOUBLE_EQ(behind.budget, 0.5);  // 100 ms + 10 x 5 ms fits 160 ms; 0.75 does not
  const auto finish = finish_times({pinned, batch(1, 10, 0.16)}, t, 0.25, kContinuous);
  EXPECT_NEAR(finish[0], 0.1, 1e-12);
  EXPECT_NEAR(finish[1], 0.125, 1e-12);
}

TEST(Planner, QueuedRequestsJoinTheRunningOnesUpToTheImageLimitAndSlowThemDown) {
  const auto t = testing::synthetic_table(10.0);  // 10 ms x budget x rows
  const std::vector<PlanRequest> order{of_kind(batch(2, 4, std::nullopt), 0, /*running=*/true),
                                       of_kind(batch(3, 2, std::nullopt), 0),
                                       of_kind(batch(4, 1, std::nullopt), 0)};
  // Continuous: the 3 images join at once (5 of 6); the 4 wait until 3 leave, then join.
  // 50 ms, 50 ms (3 done at 0.10), 60 ms (4 done at 0.16), 20 ms (2 done at 0.18).
  const auto joined = finish_times(order, t, 1.0, {6, /*lockstep=*/false});
  EXPECT_NEAR(joined[0], 0.18, 1e-12);
  EXPECT_NEAR(joined[1], 0.10, 1e-12);
  EXPECT_NEAR(joined[2], 0.16, 1e-12);
  // Lockstep: the running request alone (4 x 20 ms), then 3 images (2 x 30), then 4 (40 ms).
  const auto lockstep = finish_times(order, t, 1.0, {6, /*lockstep=*/true});
  EXPECT_NEAR(lockstep[0], 0.08, 1e-12);
  EXPECT_NEAR(lockstep[1], 0.14, 1e-12);
  EXPECT_NEAR(lockstep[2], 0.18, 1e-12);
}

TEST(Planner, SharingForwardsKeepsABudgetThatOneAfterTheOtherWouldLower) {
  // A machine where a forward costs the same for any batch size up to 16 rows.
  auto t = testing::synthetic_table(10.0);
  for (size_t b = 0; b < t.budgets.size(); ++b) {
    for (auto& ms : t.ms[b]) ms = 10.0 * t.budgets[b];
  }
  const std::vector<PlanRequest> order{of_kind(batch(1, 10, 0.12), 0, /*running=*/true),
                                       of_kind(batch(1, 10, 0.12), 0)};
  EXPECT_DOUBLE_EQ(plan_budget(order, t, kContinuous).budget, 1.0);  // both done at 0.1 s
  EXPECT_DOUBLE_EQ(plan_budget(order, t, {16, /*lockstep=*/true}).budget, 0.5);  // 0.05 + 0.05
  // Another kind cannot join: it waits for the running request, as in lockstep.
  EXPECT_DOUBLE_EQ(plan_budget({order[0], of_kind(order[1], 1)}, t, kContinuous).budget, 0.5);
}

TEST(Planner, ExpectedArrivalsJoinOnceTheyArriveAndTheWorkerIdlesUntilThen) {
  const auto t = testing::synthetic_table(10.0);  // 10 ms x budget x rows
  auto soon = of_kind(batch(1, 4, std::nullopt), 0);
  soon.arrival_s = 0.035;
  // A runs alone (10 ms per evaluation) until the boundary at 40 ms, where B has arrived and
  // joins: 4 evaluations of 2 rows (B done at 120 ms), then A's last 2 alone (140 ms).
  const auto f = finish_times({of_kind(batch(1, 10, std::nullopt), 0, /*running=*/true), soon}, t,
                              1.0, kContinuous);
  EXPECT_NEAR(f[0], 0.14, 1e-12);
  EXPECT_NEAR(f[1], 0.12, 1e-12);
  // Nothing running: the worker waits for the arrival, then runs it.
  auto later = batch(1, 4, std::nullopt);
  later.arrival_s = 0.5;
  EXPECT_NEAR(finish_times({later}, t, 1.0, kContinuous)[0], 0.54, 1e-12);
}

// Expected arrivals every `gap_s`, each 10 evaluations of one image due 120 ms after it arrives.
std::vector<PlanRequest> expected_every(double gap_s, int count) {
  std::vector<PlanRequest> out;
  for (int k = 1; k <= count; ++k) {
    auto r = of_kind(batch(1, 10, std::nullopt), 0);
    r.arrival_s = k * gap_s;
    r.deadline_s = r.arrival_s + 0.12;
    out.push_back(r);
  }
  return out;
}

TEST(Planner, RoomForExpectedArrivalsLowersTheBudgetOnlyWhenTheyWouldNotFit) {
  // A machine where a forward costs the same for 1..16 rows: 10 ms x budget.
  auto t = testing::synthetic_table(10.0);
  for (size_t b = 0; b < t.budgets.size(); ++b) {
    for (auto& ms : t.ms[b]) ms = 10.0 * t.budgets[b];
  }
  const std::vector<PlanRequest> order{of_kind(batch(1, 10, 0.12), 0, /*running=*/true)};
  EXPECT_DOUBLE_EQ(plan_budget(order, t, kContinuous).budget, 1.0);  // done at 100 ms
  // Arrivals that can share its forwards cost nothing: the budget stays.
  EXPECT_DOUBLE_EQ(plan_budget(order, t, kContinuous, expected_every(0.025, 4)).budget, 1.0);
  // Arrivals of another kind wait for it, then run one after the other: at budget 1 the first
  // would finish at 200 ms (> 145 ms), at 0.5 at 100 ms; the running request is lowered to
  // leave them room.
  auto other = expected_every(0.025, 1);
  other[0].kind = 1;
  EXPECT_DOUBLE_EQ(plan_budget(order, t, kContinuous, other).budget, 0.5);
  // A burst that fits only if the running request runs at the lowest budget (batches of 16
  // from 25 ms on, every 25 ms): the budget is the lowest.
  auto burst = expected_every(0.001, 40);
  for (auto& r : burst) r.kind = 1;
  const auto plan = plan_budget(order, t, kContinuous, burst);
  EXPECT_TRUE(plan.feasible);
  EXPECT_DOUBLE_EQ(plan.budget, 0.25);
  EXPECT_EQ(count_late(order, t, plan.budget, kContinuous), 0);
  // Arrivals late even at the lowest budget (due 30 ms after arriving) will be refused: no room
  // is made for them.
  for (auto& r : burst) r.deadline_s = r.arrival_s + 0.03;
  EXPECT_DOUBLE_EQ(plan_budget(order, t, kContinuous, burst).budget, 1.0);
}

TEST(Planner, TheSustainableBudgetIsTheLargestTheArrivalRateLeavesTheWorkerTimeFor) {
  const auto t = testing::synthetic_table(10.0);  // 10 ms x budget per image at any batch
  const auto typical = batch(1, 10, 0.5);         // 100 ms x budget of forwards per request
  EXPECT_DOUBLE_EQ(sustainable_budget(t, 5.0, typical, 8), 1.0);    // half the time at 1
  EXPECT_DOUBLE_EQ(sustainable_budget(t, 15.0, typical, 8), 0.5);   // 1.5 / 1.125 / 0.75
  EXPECT_DOUBLE_EQ(sustainable_budget(t, 50.0, typical, 8), 0.25);  // none: the lowest
  EXPECT_DOUBLE_EQ(sustainable_budget(t, 0.0, typical, 8), 1.0);
  // Forwards that cost the same for any batch: full batches of 8 share the cost.
  auto flat = t;
  for (size_t b = 0; b < flat.budgets.size(); ++b) {
    for (auto& ms : flat.ms[b]) ms = 10.0 * flat.budgets[b];
  }
  EXPECT_DOUBLE_EQ(sustainable_budget(flat, 15.0, typical, 8), 1.0);  // 15 x 10 x 1.25 ms
  // A decoder's 150 ms per request counts too: 5 x (100 b + 150) ms fits a second at b = 0.5.
  auto decoded = t;
  decoded.decode_ms = {150, 300, 600, 1200, 2400};
  EXPECT_DOUBLE_EQ(sustainable_budget(t, 5.0, typical, 8), 1.0);
  EXPECT_DOUBLE_EQ(sustainable_budget(decoded, 5.0, typical, 8), 0.5);
}

TEST(Planner, ArrivalsAreExpectedOnlyWhileTheRateOutrunsTheFullBudget) {
  const auto t = testing::synthetic_table(10.0);       // 10 ms x budget per image at any batch
  const auto typical = of_kind(batch(1, 10, 0.5), 3);  // 100 ms of forwards at budget 1
  EXPECT_TRUE(expected_arrivals(t, 5.0, typical, 0.5, 8).empty());  // half the worker's time
  EXPECT_TRUE(expected_arrivals(t, 0.0, typical, 0.5, 8).empty());
  // 20 per second need twice the worker's time at budget 1: those within 0.5 s, 50 ms apart.
  const auto expected = expected_arrivals(t, 20.0, typical, 0.5, 8);
  ASSERT_EQ(expected.size(), 10u);
  for (size_t k = 0; k < expected.size(); ++k) {
    EXPECT_NEAR(expected[k].arrival_s, 0.05 * static_cast<double>(k + 1), 1e-12);
    EXPECT_NEAR(*expected[k].deadline_s, expected[k].arrival_s + 0.5, 1e-12);
    EXPECT_EQ(expected[k].kind, 3);
    EXPECT_EQ(expected[k].evaluations, 10);
  }
  EXPECT_EQ(expected_arrivals(t, 1000.0, typical, 0.5, 8).size(), 64u);  // capped
}

TEST(Batching, HeunEvaluatesTwicePerStepButTheLast) {
  Job heun;
  heun.request.steps = 5;
  heun.request.sampler = sampling::SamplerKind::heun;
  EXPECT_EQ(heun.evaluations(), 9);
}

}  // namespace
}  // namespace elit::serve
