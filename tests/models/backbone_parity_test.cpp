// Parity of the plain U-ViT and HDiT with their published code on every case of
// ../shared/reference/backbones/manifest.json: outputs in float64 within 1e-9 and float32 within
// 1e-4 (parity_precision.h), and the parameter/buffer names exactly the published state_dict keys.
#include <gtest/gtest.h>

#include "elit/io/state_dict.h"
#include "models/backbone_case.h"
#include "models/parity_precision.h"
#include "support/reference.h"

namespace elit::testing {
namespace {

std::vector<std::string> our_keys(const torch::nn::Module& model) {
  std::vector<std::string> keys;
  for (const auto& [k, t] : io::state_dict(model)) keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  return keys;
}

void check_uvit(torch::Dtype dtype, double tolerance) {
  for (const auto& c : load_backbone_cases("U-ViT")) {
    auto model = uvit_case_model(c, dtype);
    const auto x = c.tensors.at("input.x").to(dtype);
    const auto t = c.tensors.at("input.t").to(dtype);  // raw timesteps, as published
    torch::NoGradGuard no_grad;
    auto out = model->forward_timesteps(x, t, c.tensors.at("input.y"), /*keep=*/1);
    EXPECT_LT(max_rel_error(out, c.tensors.at("output.full")), tolerance) << c.name();
  }
}

void check_hdit(torch::Dtype dtype, double tolerance) {
  for (const auto& c : load_backbone_cases("HDiT")) {
    auto model = hdit_case_model(c, dtype);
    const auto x = c.tensors.at("input.x").to(dtype);
    const auto sigma = c.tensors.at("input.sigma").to(dtype);
    const auto y = c.tensors.at("input.y");
    torch::NoGradGuard no_grad;
    auto plain = model->forward_sigma(x, sigma, y, {}, /*keep=*/1);
    EXPECT_LT(max_rel_error(plain, c.tensors.at("output.full")), tolerance) << c.name();
    auto aug = model->forward_sigma(x, sigma, y, c.tensors.at("input.aug_cond"), 1);
    EXPECT_LT(max_rel_error(aug, c.tensors.at("output.with_aug_cond")), tolerance) << c.name();
    // The augmentation input must matter, or the second comparison proves nothing.
    EXPECT_GT(max_rel_error(plain, c.tensors.at("output.with_aug_cond")), 10 * tolerance);
  }
}

class BackboneOutputParity : public ::testing::TestWithParam<ParityPrecision> {};

TEST_P(BackboneOutputParity, UViT) {
  ELIT_REQUIRE_REFERENCE(ref);
  check_uvit(GetParam().dtype, GetParam().tolerance);
}

TEST_P(BackboneOutputParity, HDiT) {
  ELIT_REQUIRE_REFERENCE(ref);
  check_hdit(GetParam().dtype, GetParam().tolerance);
}

INSTANTIATE_TEST_SUITE_P(, BackboneOutputParity, ::testing::ValuesIn(kParityPrecisions),
                         ParityPrecisionName());

TEST(BackboneParity, StateDictKeysArePublished) {
  ELIT_REQUIRE_REFERENCE(ref);
  for (const auto& c : load_backbone_cases("U-ViT")) {
    models::UViT model(uvit_case_config(c));
    EXPECT_EQ(our_keys(*model), c.published_keys()) << c.name();
  }
  for (const auto& c : load_backbone_cases("HDiT")) {
    models::HDiT model(hdit_case_config(c));
    EXPECT_EQ(our_keys(*model), c.published_keys()) << c.name();
  }
}

}  // namespace
}  // namespace elit::testing
