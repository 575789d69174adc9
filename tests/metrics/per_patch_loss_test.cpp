// The per-patch flow loss: one forward's squared velocity error averaged within every patch; its
// mean over the patches is the training loss of the same forward, and a patch that does not tile
// the image is refused.
#include "elit/metrics/per_patch_loss.h"

#include <gtest/gtest.h>

#include "elit/models/sit.h"
#include "elit/runtime/error.h"
#include "support/tiny_sit.h"

namespace elit::metrics {
namespace {

TEST(PerPatchLoss, AveragesToTheTrainingLossOfTheSameForward) {
  auto model = testing::random_sit(testing::tiny_sampling_sit_config());
  torch::NoGradGuard no_grad;
  const auto x0 = torch::randn({3, 1, 8, 8}), noise = torch::randn({3, 1, 8, 8});
  const auto t = torch::tensor({0.2f, 0.5f, 0.9f});
  const auto cond = models::Condition::from_labels(torch::tensor({1, 2, 3}, torch::kInt64));
  const auto per_patch =
      per_patch_flow_loss(*model, flow::PathType::kLinear, x0, noise, t, cond, 0.5, 2);
  ASSERT_EQ(per_patch.sizes(), (std::vector<int64_t>{3, 4, 4}));
  flow::FlowObjective objective;
  const auto loss = objective.loss(*model, x0, noise, t, cond, 0.5);  // [B]
  EXPECT_TRUE(torch::allclose(per_patch.mean({1, 2}), loss, 1e-5, 1e-7));
  EXPECT_TRUE((per_patch >= 0).all().item<bool>());
  // The patches differ: the loss is resolved in space, not a constant.
  EXPECT_GT(per_patch.std().item<double>(), 0.0);

  // Hand check of one patch: the squared error of the same forward over its 2x2 pixels.
  const auto s = flow::flow_sample(flow::PathType::kLinear, x0, noise, t);
  const auto error = (model->forward(s.x_t, t, cond, 0.5) - s.target).pow(2);
  EXPECT_NEAR(per_patch[1][2][3].item<double>(),
              error[1][0].slice(0, 4, 6).slice(1, 6, 8).mean().item<double>(), 1e-6);

  EXPECT_THROW(per_patch_flow_loss(*model, flow::PathType::kLinear, x0, noise, t, cond, 0.5, 3),
               Error);
}

}  // namespace
}  // namespace elit::metrics
