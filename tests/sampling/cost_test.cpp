// Sampling cost: FLOPs per step and per image follow the evaluations the samplers really run.
#include "elit/sampling/cost.h"

#include <gtest/gtest.h>

#include "elit/sampling/time_grid.h"
#include "sampling/recording_model.h"

namespace elit::sampling {
namespace {

// FLOPs per row: 1000 * budget, so budgets can be read back from the totals.
int64_t per_row(double budget) {
  return static_cast<int64_t>(1000 * budget);
}

// Rows the recording model saw, weighted by their budget: what the sampler really ran.
int64_t recorded_flops(const testing::RecordingModel& model, int64_t batch) {
  int64_t total = 0;
  for (const auto& c : model.calls) total += c.rows * per_row(c.budget.value_or(1.0));
  return total / batch;
}

TEST(Cost, FlopsPerImageMatchTheEvaluationsRun) {
  const auto cond = models::Condition::from_labels(torch::tensor({1, 2, 3}, torch::kInt64));
  for (auto kind : {SamplerKind::euler, SamplerKind::heun, SamplerKind::sde}) {
    for (const char* mode : {"none", "cfg", "ccfg", "autoguidance"}) {
      SamplerOptions o;
      o.budget = BudgetSchedule::parse("0.5>0.5,1");
      if (std::string(mode) != "none") {
        o.guidance.scale = 2;
        o.guidance.low = 0.3;
      }
      if (std::string(mode) == "ccfg" || std::string(mode) == "autoguidance") {
        o.guidance.uncond_budget = 0.25;
      }
      o.guidance.autoguidance = std::string(mode) == "autoguidance";
      testing::RecordingModel model;
      const auto grid = time_grid(kind, 6);
      run_sampler(kind, model, torch::randn({3, 1, 4, 4}), cond, grid, o);
      EXPECT_EQ(sampling_flops_per_image(kind, grid, o, per_row), recorded_flops(model, 3))
          << sampler_name(kind) << " " << mode;
    }
  }
}

TEST(Cost, PublishedCcfgSaving) {
  // CFG costs two full forwards per step; CCFG one full plus one at the guiding budget.
  GuidanceOptions cfg;
  cfg.scale = 4;
  GuidanceOptions ccfg = cfg;
  ccfg.uncond_budget = 0.0625;
  EXPECT_EQ(evaluation_flops(cfg, 0.5, 1.0, per_row), 2000);
  EXPECT_EQ(evaluation_flops(ccfg, 0.5, 1.0, per_row), 1062);
  EXPECT_EQ(evaluation_flops(GuidanceOptions{}, 0.5, 1.0, per_row), 1000);
}

}  // namespace
}  // namespace elit::sampling
