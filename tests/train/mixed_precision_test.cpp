#include <gtest/gtest.h>
#include <torch/nn/modules/linear.h>

#include "elit/runtime/error.h"
#include "elit/train/mixed_precision.h"

namespace elit::train {
namespace {

TEST(MixedPrecision, CpuBf16AutocastScopesLinearLayers) {
  torch::nn::Linear layer(8, 4);
  const auto x = torch::randn({2, 8});
  {
    AutocastGuard guard(Precision::kBFloat16, torch::kCPU);
    EXPECT_EQ(layer(x).scalar_type(), torch::kBFloat16);
  }
  EXPECT_EQ(layer(x).scalar_type(), torch::kFloat32);  // restored
  {
    AutocastGuard guard(Precision::kFloat32, torch::kCPU);
    EXPECT_EQ(layer(x).scalar_type(), torch::kFloat32);
  }
  EXPECT_THROW(AutocastGuard(Precision::kFloat16, torch::kCPU), Error);
  EXPECT_EQ(parse_mixed_precision("no"), Precision::kFloat32);
  EXPECT_EQ(parse_mixed_precision("bf16"), Precision::kBFloat16);
  EXPECT_THROW(parse_mixed_precision("int8"), Error);
}

TEST(MixedPrecision, LossScalerBacksOffAndGrows) {
  LossScaler s(true, 1024.0, /*growth_interval=*/3);
  auto p = torch::ones({2}).requires_grad_();
  s.scale_loss((p * 2).sum()).backward();
  EXPECT_TRUE(torch::allclose(p.grad(), torch::full({2}, 2048.0)));
  s.unscale({p});
  EXPECT_TRUE(torch::allclose(p.grad(), torch::full({2}, 2.0)));
  s.update(true);
  EXPECT_DOUBLE_EQ(s.scale(), 512.0);
  for (int i = 0; i < 3; ++i) s.update(false);
  EXPECT_DOUBLE_EQ(s.scale(), 1024.0);
  LossScaler restored(true);
  restored.load_state(s.state());
  EXPECT_DOUBLE_EQ(restored.scale(), 1024.0);
  LossScaler off(false);
  off.update(true);
  EXPECT_DOUBLE_EQ(off.scale(), 1.0);
}

}  // namespace
}  // namespace elit::train
