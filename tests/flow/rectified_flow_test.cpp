// The rectified-flow objective: the published loss on every reference case (float64, 1e-9), the
// cosine path and the time distributions against their closed forms.
#include <gtest/gtest.h>

#include <cmath>

#include "elit/flow/rectified_flow.h"
#include "elit/runtime/error.h"
#include "models/reference_case.h"
#include "support/reference.h"

namespace elit::testing {
namespace {

TEST(RectifiedFlow, LossMatchesReference) {
  ELIT_REQUIRE_REFERENCE(ref);
  const auto cases = load_reference_cases();
  ASSERT_FALSE(cases.empty());
  for (const auto& c : cases) {
    auto model = reference_model(c, torch::kFloat64);
    const auto x0 = c.tensors.at("loss.x0").to(torch::kFloat64);
    const auto noise = c.tensors.at("loss.noise").to(torch::kFloat64);
    const auto t = c.tensors.at("loss.t").to(torch::kFloat64);
    std::optional<double> budget;
    if (!c.entry["grad_budget"].is_null()) budget = c.entry["grad_budget"].get<double>();
    flow::FlowObjective objective;  // linear path, velocity target: the reference's setting
    torch::NoGradGuard no_grad;
    const auto per_sample = objective.loss(
        *model, x0, noise, t, models::Condition::from_labels(c.tensors.at("input.y")), budget);
    ASSERT_EQ(per_sample.sizes(), (std::vector<int64_t>{x0.size(0)}));
    EXPECT_LT(max_rel_error(per_sample.mean().reshape({1}), c.tensors.at("loss.value")), 1e-9)
        << c.name();
  }
}

TEST(RectifiedFlow, LinearPathIsStraightLine) {
  const auto x0 = torch::randn({3, 2, 4, 4}, torch::kFloat64);
  const auto noise = torch::randn({3, 2, 4, 4}, torch::kFloat64);
  const auto t = torch::rand({3}, torch::kFloat64);
  const auto s = flow::flow_sample(flow::PathType::kLinear, x0, noise, t);
  const auto tb = t.view({3, 1, 1, 1});
  EXPECT_TRUE(torch::allclose(s.x_t, (1 - tb) * x0 + tb * noise, 0, 1e-15));
  EXPECT_TRUE(torch::allclose(s.target, noise - x0, 0, 1e-15));
}

TEST(RectifiedFlow, CosinePathMatchesClosedForm) {
  const auto x0 = torch::randn({4, 1, 2, 2}, torch::kFloat64);
  const auto noise = torch::randn({4, 1, 2, 2}, torch::kFloat64);
  const auto t = torch::rand({4}, torch::kFloat64);
  const auto s = flow::flow_sample(flow::PathType::kCosine, x0, noise, t);
  for (int64_t i = 0; i < 4; ++i) {
    const double ti = t[i].item<double>(), a = M_PI / 2 * ti;
    const auto want_x = std::cos(a) * x0[i] + std::sin(a) * noise[i];
    const auto want_v = -M_PI / 2 * std::sin(a) * x0[i] + M_PI / 2 * std::cos(a) * noise[i];
    EXPECT_TRUE(torch::allclose(s.x_t[i], want_x, 0, 1e-14));
    EXPECT_TRUE(torch::allclose(s.target[i], want_v, 0, 1e-14));
  }
  // The velocity is the time derivative of x_t: a central difference agrees.
  const double h = 1e-6;
  const auto ahead = flow::flow_sample(flow::PathType::kCosine, x0, noise, t + h).x_t;
  const auto behind = flow::flow_sample(flow::PathType::kCosine, x0, noise, t - h).x_t;
  EXPECT_TRUE(torch::allclose((ahead - behind) / (2 * h), s.target, 0, 1e-7));
}

TEST(RectifiedFlow, LogNormalTimesFollowSigmaLaw) {
  torch::manual_seed(7);
  const int64_t n = 200000;
  for (auto path : {flow::PathType::kLinear, flow::PathType::kCosine}) {
    const auto t = flow::sample_time(flow::TimeSampling::kLogNormal, path, n,
                                     torch::TensorOptions(torch::kFloat64));
    ASSERT_GT(t.min().item<double>(), 0.0);
    ASSERT_LT(t.max().item<double>(), 1.0);
    // Invert the map back to n = log(sigma); it must be standard normal.
    const auto sigma = path == flow::PathType::kLinear ? t / (1 - t) : torch::tan(t * M_PI / 2);
    const auto logs = sigma.log();
    EXPECT_NEAR(logs.mean().item<double>(), 0.0, 0.01);
    EXPECT_NEAR(logs.std().item<double>(), 1.0, 0.01);
  }
  const auto u = flow::sample_time(flow::TimeSampling::kUniform, flow::PathType::kLinear, n,
                                   torch::TensorOptions(torch::kFloat64));
  EXPECT_NEAR(u.mean().item<double>(), 0.5, 0.005);
  EXPECT_NEAR(u.var().item<double>(), 1.0 / 12, 0.002);
}

TEST(RectifiedFlow, SameSeedSameTimes) {
  auto draw = [] {
    torch::manual_seed(3);
    return flow::sample_time(flow::TimeSampling::kUniform, flow::PathType::kLinear, 16,
                             torch::TensorOptions(torch::kFloat32));
  };
  EXPECT_TRUE(torch::equal(draw(), draw()));
}

TEST(RectifiedFlow, RejectsUnknownNames) {
  EXPECT_THROW(flow::parse_path_type("sqrt"), elit::Error);
  EXPECT_THROW(flow::parse_time_sampling("logit"), elit::Error);
  EXPECT_EQ(flow::parse_path_type("cosine"), flow::PathType::kCosine);
}

}  // namespace
}  // namespace elit::testing
