// A tiny text-conditioned ELIT-MM-DiT (built-in text encoder, caption dropout, budgets drawn in
// training) learns a few captioned images, and uses its captions to do so.
#include <gtest/gtest.h>

#include <chrono>

#include "elit/models/mmdit.h"
#include "models/tiny_backbones.h"

namespace elit::models {
namespace {

// The text-path test model, with caption dropout and every budget drawn in training.
MMDiTConfig tiny_text() {
  auto c = testing::tiny_text_mmdit_config();
  c.caption_dropout_prob = 0.1;
  c.elit_min_mask_prob = 0.0;
  return c;
}

// Rectified-flow loss of the model on (images, captions) at fixed noise and times.
torch::Tensor flow_loss(MMDiT& model, const torch::Tensor& x0, const Condition& cond,
                        const torch::Tensor& noise, const torch::Tensor& t) {
  auto tb = t.view({-1, 1, 1, 1});
  auto xt = (1 - tb) * x0 + tb * noise;
  return (model->forward(xt, t, cond) - (noise - x0)).pow(2).mean();
}

constexpr int kSteps = 200;

TEST(MMDiTTrain, TinyTextConditionedModelLearnsItsCaptionedImages) {
  torch::manual_seed(6);
  MMDiT model(tiny_text());
  // Three distinct images, one per caption.
  auto x0 = torch::zeros({3, 1, 8, 8});
  x0[0].narrow(2, 2, 3).fill_(1);   // vertical bar
  x0[1].narrow(1, 3, 2).fill_(-1);  // horizontal bar
  x0[2].narrow(1, 0, 4).narrow(2, 0, 4).fill_(1);
  auto labels = torch::tensor({0, 1, 2}, torch::kInt64);
  auto cond = model->condition_for_labels(labels);
  auto swapped = model->condition_for_labels(torch::tensor({1, 2, 0}, torch::kInt64));
  auto eval_noise = torch::randn({8, 3, 1, 8, 8});
  auto eval_t = torch::rand({8, 3});
  auto eval_loss = [&](const Condition& c) {
    torch::NoGradGuard no_grad;
    model->eval();
    double total = 0;
    for (int i = 0; i < 8; ++i)
      total += flow_loss(model, x0, c, eval_noise[i], eval_t[i]).item<double>();
    model->train();
    return total / 8;
  };
  const double start = eval_loss(cond);
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(3e-3));
  model->train();
  // Each step sees every image 4 times (batch 12) at fresh noise levels.
  const auto batch_x0 = x0.repeat({4, 1, 1, 1});
  const auto batch_cond = model->condition_for_labels(labels.repeat({4}));
  const auto begin = std::chrono::steady_clock::now();
  for (int step = 0; step < kSteps; ++step) {
    opt.zero_grad();
    auto loss =
        flow_loss(model, batch_x0, batch_cond, torch::randn_like(batch_x0), torch::rand({12}));
    loss.backward();
    opt.step();
    if (std::getenv("ELIT_TEST_VERBOSE") && step % 25 == 0)
      std::printf("step %d loss %.4f\n", step, loss.item<double>());
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  RecordProperty("train_seconds", std::to_string(seconds));
  const double end = eval_loss(cond), wrong = eval_loss(swapped);
  if (std::getenv("ELIT_TEST_VERBOSE")) {
    std::printf("start %.4f end %.4f swapped captions %.4f (%.1f s)\n", start, end, wrong, seconds);
  }
  EXPECT_LT(end, 0.25 * start) << "start " << start << " end " << end;
  // The captions carry the information: the wrong captions fit clearly worse.
  EXPECT_GT(wrong, 3 * end) << "right captions " << end << ", swapped " << wrong;
}

}  // namespace
}  // namespace elit::models
