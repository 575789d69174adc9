// Guidance and samplers against a recording fake model: which branches run, with which labels
// and budgets, at which times; the guidance arithmetic; the interval edges.
#include <gtest/gtest.h>

#include "elit/runtime/error.h"
#include "elit/sampling/sampler.h"
#include "elit/sampling/time_grid.h"
#include "sampling/recording_model.h"

namespace elit::sampling {
namespace {

using testing::RecordingModel;

const auto kLabels = torch::tensor({3, 7}, torch::kInt64);

models::Condition labels() {
  return models::Condition::from_labels(kLabels);
}
torch::Tensor noise() {
  return torch::randn({2, 1, 4, 4});
}

std::vector<int64_t> expect_labels(std::initializer_list<int64_t> l) {
  return l;
}

TEST(Guidance, IntervalEdgesAreInclusive) {
  RecordingModel model;
  SamplerOptions o;
  o.guidance.scale = 3.0;
  o.guidance.low = 0.25;
  o.guidance.high = 0.75;
  std::vector<bool> guided;
  euler_sampler(model, noise(), labels(), ode_time_grid(4), o,
                [&](const StepInfo& s) { guided.push_back(s.guided); });
  // Grid 1, 0.75, 0.5, 0.25 (-> 0): t = 1 is outside, both edges are inside.
  EXPECT_EQ(guided, (std::vector<bool>{false, true, true, true}));
  ASSERT_EQ(model.calls.size(), 4u);
  EXPECT_EQ(model.calls[0].rows, 2);
  EXPECT_EQ(model.calls[0].labels, expect_labels({3, 7}));
  for (int i = 1; i < 4; ++i) {
    EXPECT_EQ(model.calls[i].rows, 4);  // [cond; uncond] in one batch
    EXPECT_EQ(model.calls[i].labels, expect_labels({3, 7, 10, 10}));
  }
  // A degenerate interval guides exactly at its point; scale 1 never guides.
  o.guidance.low = o.guidance.high = 0.5;
  EXPECT_FALSE(o.guidance.active(0.5000001));
  EXPECT_TRUE(o.guidance.active(0.5));
  o.guidance.scale = 1.0;
  EXPECT_FALSE(o.guidance.active(0.5));
}

TEST(Guidance, CfgCombinesBranchesAsPublished) {
  RecordingModel model;
  SamplerOptions o;
  o.guidance.scale = 2.5;
  o.budget = BudgetSchedule::constant(0.5);
  const auto x0 = noise();
  const auto out = euler_sampler(model, x0, labels(), ode_time_grid(1), o);
  // v_cond = label + 1 + 50, v_uncond = 11 + 50; v = v_u + s (v_c - v_u); one step of dt = -1.
  const auto v_c = (kLabels.to(torch::kFloat64) + 51).view({2, 1, 1, 1});
  const auto v = 61 + 2.5 * (v_c - 61);
  EXPECT_TRUE(torch::allclose(out, x0.to(torch::kFloat64) - v, 0, 1e-12));
  ASSERT_EQ(model.calls.size(), 1u);
  EXPECT_EQ(model.calls[0].budget, 0.5);
}

TEST(Guidance, CheapCfgRunsTheUnconditionalBranchAtItsOwnBudget) {
  RecordingModel model;
  SamplerOptions o;
  o.guidance.scale = 2.0;
  o.guidance.uncond_budget = 0.25;
  std::vector<int64_t> forwards;
  euler_sampler(model, noise(), labels(), ode_time_grid(3), o,
                [&](const StepInfo& s) { forwards.push_back(s.forwards); });
  EXPECT_EQ(forwards, (std::vector<int64_t>{2, 2, 2}));
  ASSERT_EQ(model.calls.size(), 6u);
  for (size_t i = 0; i < 6; i += 2) {
    EXPECT_EQ(model.calls[i].labels, expect_labels({3, 7}));
    EXPECT_EQ(model.calls[i].budget, 1.0);
    EXPECT_EQ(model.calls[i + 1].labels, expect_labels({10, 10}));  // the null class
    EXPECT_EQ(model.calls[i + 1].budget, 0.25);
  }
  EXPECT_EQ(o.guidance.mode(), "ccfg");
}

TEST(Guidance, AutoguidanceKeepsTheLabelAtTheLowBudget) {
  RecordingModel model;
  SamplerOptions o;
  o.guidance.scale = 2.0;
  o.guidance.uncond_budget = 0.25;
  o.guidance.autoguidance = true;
  o.budget = BudgetSchedule::constant(0.75);
  const auto x0 = noise();
  const auto out = euler_sampler(model, x0, labels(), ode_time_grid(1), o);
  ASSERT_EQ(model.calls.size(), 2u);
  EXPECT_EQ(model.calls[0].labels, expect_labels({3, 7}));
  EXPECT_EQ(model.calls[0].budget, 0.75);
  EXPECT_EQ(model.calls[1].labels, expect_labels({3, 7}));
  EXPECT_EQ(model.calls[1].budget, 0.25);
  // v_guide = label + 1 + 25, v_cond = label + 1 + 75: v = v_g + 2 * 50.
  const auto v = (kLabels.to(torch::kFloat64) + 26 + 100).view({2, 1, 1, 1});
  EXPECT_TRUE(torch::allclose(out, x0.to(torch::kFloat64) - v, 0, 1e-12));
  EXPECT_EQ(o.guidance.mode(), "autoguidance");
}

TEST(Guidance, InvalidGuidanceFailsBeforeAnyForward) {
  RecordingModel model;
  SamplerOptions o;
  o.guidance.scale = 2.0;
  o.guidance.autoguidance = true;  // without an unconditional budget
  EXPECT_THROW(euler_sampler(model, noise(), labels(), ode_time_grid(2), o), elit::Error);
  o.guidance.autoguidance = false;
  o.guidance.uncond_budget = 0.1;  // keeps int(0.4) = 0 latents of 4
  try {
    euler_sampler(model, noise(), labels(), ode_time_grid(2), o);
    ADD_FAILURE() << "expected an error";
  } catch (const elit::Error& e) {
    EXPECT_NE(std::string(e.what()).find("unconditional"), std::string::npos) << e.what();
  }
  o.guidance.uncond_budget.reset();
  o.guidance.low = 0.8;
  o.guidance.high = 0.2;
  EXPECT_THROW(euler_sampler(model, noise(), labels(), ode_time_grid(2), o), elit::Error);
  EXPECT_TRUE(model.calls.empty());
}

TEST(Samplers, HeunCorrectsEveryStepButTheLast) {
  RecordingModel model;
  SamplerOptions o;
  o.budget = BudgetSchedule::parse("0.25,0.5,1");
  heun_sampler(model, noise(), labels(), ode_time_grid(3), o);
  // 3 steps: (t, t_next) evaluations for steps 0 and 1, one evaluation for the last step.
  ASSERT_EQ(model.calls.size(), 5u);
  const std::vector<double> times{1.0, 2.0 / 3.0, 2.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0};
  const std::vector<double> budgets{0.25, 0.25, 0.5, 0.5, 1.0};
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_NEAR(model.calls[i].t[0], times[i], 1e-7) << i;  // float32 time input
    EXPECT_EQ(model.calls[i].budget, budgets[i]) << i;      // the step's budget for both
  }
}

TEST(Samplers, ModelRunsInTheInputDtypeAndTheStateInFloat64) {
  RecordingModel model;
  const auto out =
      euler_sampler(model, noise().to(torch::kFloat64), labels(), ode_time_grid(2), {});
  EXPECT_EQ(out.scalar_type(), torch::kFloat64);
  EXPECT_EQ(model.calls[0].dtype, torch::kFloat64);
  RecordingModel model32;
  euler_sampler(model32, noise(), labels(), ode_time_grid(2), {});
  EXPECT_EQ(model32.calls[0].dtype, torch::kFloat32);
}

TEST(Samplers, EulerMaruyamaAddsNoiseOnEveryStepButTheLast) {
  RecordingModel model;
  SamplerOptions o;
  int draws = 0;
  o.noise = [&](const torch::Tensor& like) {
    ++draws;
    return torch::zeros_like(like);
  };
  std::vector<double> times;
  const auto x0 = noise();
  const auto out = euler_maruyama_sampler(model, x0, labels(), sde_time_grid(5), o,
                                          [&](const StepInfo& s) { times.push_back(s.t); });
  EXPECT_EQ(draws, 4);
  ASSERT_EQ(times.size(), 5u);
  EXPECT_DOUBLE_EQ(times.front(), 1.0);
  EXPECT_DOUBLE_EQ(times.back(), 0.04);  // the last (noise-free) step goes 0.04 -> 0
  // Zero noise: the result is the deterministic drift integration; it must be finite and moved.
  EXPECT_TRUE(torch::isfinite(out).all().item<bool>());
  EXPECT_FALSE(torch::allclose(out, x0.to(torch::kFloat64)));
}

TEST(Samplers, TimeGridsAsPublished) {
  EXPECT_EQ(ode_time_grid(4), (std::vector<double>{1.0, 0.75, 0.5, 0.25, 0.0}));
  const auto sde = sde_time_grid(3);
  ASSERT_EQ(sde.size(), 4u);
  EXPECT_DOUBLE_EQ(sde[1], 0.52);
  EXPECT_DOUBLE_EQ(sde[2], 0.04);
  EXPECT_EQ(sde[3], 0.0);
  EXPECT_THROW(ode_time_grid(0), elit::Error);
  EXPECT_THROW(sde_time_grid(-1), elit::Error);
  EXPECT_EQ(parse_sampler("ode"), SamplerKind::euler);
  EXPECT_THROW(parse_sampler("ddim"), elit::Error);
}

TEST(Samplers, ModelWithoutLatentInterfaceGetsNoBudget) {
  RecordingModel model(/*elit=*/false);
  euler_sampler(model, noise(), labels(), ode_time_grid(1), {});
  ASSERT_EQ(model.calls.size(), 1u);
  EXPECT_FALSE(model.calls[0].budget.has_value());
  SamplerOptions o;
  o.budget = BudgetSchedule::constant(0.5);
  EXPECT_THROW(euler_sampler(model, noise(), labels(), ode_time_grid(1), o), elit::Error);
}

}  // namespace
}  // namespace elit::sampling
