// AdamW against a hand-computed (scalar, float64) PyTorch update; the warmup schedule against
// PyTorch's recursive LinearLR; EMA and gradient clipping rules.
#include <gtest/gtest.h>
#include <torch/nn/utils/clip_grad.h>

#include <cmath>

#include "elit/runtime/error.h"
#include "elit/train/adamw.h"
#include "elit/train/ema.h"
#include "elit/train/grad_clip.h"
#include "elit/train/lr_schedule.h"

namespace elit::train {
namespace {

// One parameter element through k AdamW steps, written out as in torch/optim/adamw.py.
struct ScalarAdamW {
  double p, m = 0, v = 0;
  int step = 0;
  void update(double g, double lr, const AdamWOptions& o) {
    ++step;
    p = p * (1 - lr * o.weight_decay);
    m = o.beta1 * m + (1 - o.beta1) * g;
    v = o.beta2 * v + (1 - o.beta2) * g * g;
    const double mhat = m / (1 - std::pow(o.beta1, step));
    const double vhat = v / (1 - std::pow(o.beta2, step));
    p -= lr * mhat / (std::sqrt(vhat) + o.eps);
  }
};

TEST(AdamW, MatchesHandComputedUpdate) {
  for (double wd : {0.0, 0.05}) {
    AdamWOptions o;
    o.weight_decay = wd;
    auto w = torch::randn({3, 4}, torch::kFloat64).requires_grad_();
    std::vector<ScalarAdamW> ref;
    for (int64_t i = 0; i < w.numel(); ++i) ref.push_back({w.view(-1)[i].item<double>()});
    AdamW opt({{"w", w}}, o);
    const std::vector<double> lrs = {1e-2, 3e-3, 5e-2, 1e-3, 2e-2};
    for (double lr : lrs) {
      const auto target = torch::randn({3, 4}, torch::kFloat64);
      auto loss = (w * w * target).sum() + w.pow(3).mean();
      loss.backward();
      const auto g = w.grad().clone().view(-1);
      for (int64_t i = 0; i < w.numel(); ++i) ref[i].update(g[i].item<double>(), lr, o);
      opt.step(lr);
      opt.zero_grad();
      ASSERT_FALSE(w.grad().defined());
    }
    for (int64_t i = 0; i < w.numel(); ++i) {
      EXPECT_NEAR(w.view(-1)[i].item<double>(), ref[i].p,
                  1e-13 * std::max(1.0, std::fabs(ref[i].p)));
    }
  }
}

TEST(AdamW, SkipsParametersWithoutGradientAndResumesFromState) {
  auto a = torch::randn({5}, torch::kFloat32).requires_grad_();
  auto b = torch::randn({2}, torch::kFloat32).requires_grad_();
  const auto b0 = b.detach().clone();
  AdamW opt({{"a", a}, {"b", b}}, {});
  (a * a).sum().backward();
  opt.step(0.1);
  EXPECT_TRUE(torch::equal(b, b0));  // no gradient: untouched, and no state
  auto state = opt.state_dict();
  EXPECT_EQ(state.count("b.step"), 0u);
  EXPECT_EQ(state.at("a.step").item<int64_t>(), 1);

  // A copy restored from the state continues exactly like the original.
  auto a2 = a.detach().clone().requires_grad_();
  AdamW copy({{"a", a2}, {"b", b.detach().clone().requires_grad_()}}, {});
  copy.load_state_dict(state, "test");
  for (auto* o : {&opt, &copy}) {
    o->zero_grad();
    auto& p = o == &opt ? a : a2;
    (p * p * p).sum().backward();
    o->step(0.05);
  }
  EXPECT_TRUE(torch::equal(a, a2));
  state["c.step"] = torch::tensor(int64_t{1});
  EXPECT_THROW(copy.load_state_dict(state, "test"), Error);
}

TEST(LrSchedule, WarmupMatchesTorchLinearLR) {
  for (int64_t warmup : {1, 4, 10}) {
    LrSchedule s{"constant_with_linear_warmup", 2e-4, warmup};
    // torch.optim.lr_scheduler.LinearLR's recursive form, then ConstantLR(factor 1).
    const double start = 1.0 / static_cast<double>(warmup), end = 1.0;
    double lr = 2e-4 * start;
    for (int64_t k = 0; k < warmup + 5; ++k) {
      if (k > 0 && k <= warmup) {
        lr *= 1.0 + (end - start) / (static_cast<double>(warmup) * start +
                                     static_cast<double>(k - 1) * (end - start));
      }
      EXPECT_NEAR(s.at(k), lr, 1e-18) << "warmup " << warmup << " step " << k;
    }
    EXPECT_DOUBLE_EQ(s.at(warmup + 100), 2e-4);
  }
  EXPECT_DOUBLE_EQ((LrSchedule{"constant", 1e-3, 50}.at(0)), 1e-3);
  EXPECT_DOUBLE_EQ((LrSchedule{"constant_with_linear_warmup", 1e-3, 0}.at(0)), 1e-3);
  EXPECT_THROW((LrSchedule{"cosine", 1e-3, 0}.validate()), Error);
}

TEST(EMA, StartsAsCopyAndFollowsPublishedRule) {
  torch::nn::Linear model(3, 2);
  model->register_buffer("fixed", torch::ones({2}));
  EMA ema(*model);
  EXPECT_TRUE(torch::equal(ema.weights().at("weight"), model->weight));
  const auto e0 = ema.weights().at("weight").clone();
  {
    torch::NoGradGuard no_grad;
    model->weight.add_(1.0);
    model->named_buffers()["fixed"].fill_(5.0);
  }
  const double decay = 0.9;
  ema.update(*model, decay);
  EXPECT_TRUE(
      torch::allclose(ema.weights().at("weight"), e0 * decay + model->weight * (1 - decay)));
  EXPECT_TRUE(torch::equal(ema.weights().at("fixed"), torch::ones({2})));  // buffers not averaged
  ema.update(*model, 0.0);                                                 // decay 0 copies
  EXPECT_TRUE(torch::equal(ema.weights().at("weight"), model->weight));
}

TEST(GradClip, MatchesTorchClipGradNorm) {
  auto a = torch::randn({4, 4}).requires_grad_(), b = torch::randn({7}).requires_grad_();
  (a.pow(2).sum() * 3 + b.sum() * 5).backward();
  auto a2 = a.detach().clone().requires_grad_(), b2 = b.detach().clone().requires_grad_();
  a2.mutable_grad() = a.grad().clone();
  b2.mutable_grad() = b.grad().clone();
  const double total = clip_grad_norm({a, b}, 1.0);
  const double want = torch::nn::utils::clip_grad_norm_(std::vector<torch::Tensor>{a2, b2}, 1.0);
  EXPECT_NEAR(total, want, 1e-4 * want);
  EXPECT_GT(total, 1.0);
  EXPECT_TRUE(torch::allclose(a.grad(), a2.grad()));
  EXPECT_NEAR(
      std::sqrt(a.grad().pow(2).sum().item<double>() + b.grad().pow(2).sum().item<double>()), 1.0,
      1e-5);
  // A non-finite gradient is reported and nothing is scaled.
  a.grad()[0][0] = std::numeric_limits<float>::infinity();
  const auto before = b.grad().clone();
  EXPECT_FALSE(std::isfinite(clip_grad_norm({a, b}, 1.0)));
  EXPECT_TRUE(torch::equal(b.grad(), before));
}

}  // namespace
}  // namespace elit::train
