#include "models/backbone_test_util.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include "elit/models/budget.h"
#include "elit/runtime/error.h"

namespace elit::testing {

ClassInputs class_inputs(int64_t B, int64_t C, int64_t H, int64_t W) {
  return {torch::randn({B, C, H, W}), torch::rand({B}), torch::randint(0, 6, {B}, torch::kInt64)};
}

void expect_trace(const models::BlockTrace& trace, const models::BlockTrace& expected) {
  ASSERT_EQ(trace.size(), expected.size());
  for (size_t i = 0; i < trace.size(); ++i) {
    EXPECT_EQ(trace[i].block, expected[i].block) << i;
    EXPECT_EQ(trace[i].domain, expected[i].domain) << trace[i].block;
    EXPECT_EQ(trace[i].tokens, expected[i].tokens) << trace[i].block;
  }
}

void expect_output_shape_at_every_valid_budget(models::DiffusionModel& model, const ClassInputs& in,
                                               int64_t tokens_per_group) {
  torch::NoGradGuard no_grad;
  const auto cond = models::Condition::from_labels(in.y);
  for (double b : models::valid_budgets(tokens_per_group)) {
    auto out = model.forward(in.x, in.t, cond, b);
    EXPECT_EQ(out.sizes(), in.x.sizes()) << b;
    EXPECT_TRUE(out.isfinite().all().item<bool>()) << b;
  }
  EXPECT_THROW(model.forward(in.x, in.t, cond, 0.1), Error);
}

std::vector<std::string> params_without_gradient(const torch::nn::Module& model,
                                                 const std::vector<std::string>& prefixes) {
  std::vector<std::string> missing;
  for (const auto& p : model.named_parameters()) {
    bool selected = false;
    for (const auto& prefix : prefixes) selected |= p.key().rfind(prefix, 0) == 0;
    if (!selected) continue;
    const auto& g = p.value().grad();
    if (!g.defined() || g.abs().sum().item<double>() == 0) missing.push_back(p.key());
  }
  return missing;
}

void perturb_parameters(torch::nn::Module& model, double scale) {
  torch::NoGradGuard no_grad;
  for (auto& p : model.parameters()) p.add_(torch::randn_like(p) * scale);
}

torch::Tensor smooth_images(int64_t B, int64_t C, int64_t H, int64_t W) {
  namespace F = torch::nn::functional;
  auto coarse = torch::rand({B, C, 3, 3}) * 2 - 1;
  return F::interpolate(coarse, F::InterpolateFuncOptions()
                                    .size(std::vector<int64_t>{H, W})
                                    .mode(torch::kBilinear)
                                    .align_corners(true));
}

namespace {

double flow_loss(models::DiffusionModel& model, const torch::Tensor& x0, const torch::Tensor& y,
                 const torch::Tensor& noise, const torch::Tensor& t, std::optional<double> budget) {
  const auto tb = t.view({-1, 1, 1, 1});
  auto xt = (1 - tb) * x0 + tb * noise;
  auto v = model.forward(xt, t, models::Condition::from_labels(y), budget);
  return (v - (noise - x0)).pow(2).mean().item<double>();
}

double eval_loss(models::DiffusionModel& model, const torch::Tensor& x0, const torch::Tensor& y) {
  // Fixed noise and times, several draws per image, so that before/after compare the same thing.
  torch::NoGradGuard no_grad;
  model.eval();
  double total = 0;
  const int draws = 4;
  for (int d = 0; d < draws; ++d) {
    auto noise = torch::randn_like(x0);
    auto t = torch::rand({x0.size(0)}) * 0.9 + 0.05;
    total += flow_loss(model, x0, y, noise, t, 1.0);
  }
  model.train();
  return total / draws;
}

}  // namespace

OverfitResult overfit(models::DiffusionModel& model, const torch::Tensor& images,
                      const torch::Tensor& labels, int steps, double lr) {
  // Tiny tensors gain nothing from a second thread, and on a busy machine its synchronisation
  // dominates the step time.
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  OverfitResult r;
  torch::manual_seed(1234);
  r.before = eval_loss(model, images, labels);
  torch::optim::AdamW opt(model.parameters(), torch::optim::AdamWOptions(lr).weight_decay(0));
  model.train();
  for (int step = 0; step < steps; ++step) {
    auto noise = torch::randn_like(images);
    auto t = torch::rand({images.size(0)});
    const auto tb = t.view({-1, 1, 1, 1});
    auto v =
        model.forward((1 - tb) * images + tb * noise, t, models::Condition::from_labels(labels));
    auto loss = (v - (noise - images)).pow(2).mean();
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
  torch::manual_seed(1234);
  r.after = eval_loss(model, images, labels);
  at::set_num_threads(threads);
  return r;
}

}  // namespace elit::testing
