// ELIT-HDiT and HDiT beyond parity: shapes at every budget, where each layer runs, latent
// positions, the time mapping, configs and the registry (gradients, overfitting, the plain model,
// model files and named configs: backbone_typed_test.cpp).
#include "elit/models/hdit.h"

#include <gtest/gtest.h>

#include "elit/models/registry.h"
#include "elit/runtime/error.h"
#include "models/backbone_test_util.h"
#include "models/tiny_backbones.h"

namespace elit::models {
namespace {

using testing::ClassInputs;

HDiTConfig tiny(bool elit, int64_t h = 16, int64_t w = 16) {
  return testing::tiny_hdit_config(elit, h, w);
}
ClassInputs inputs(int64_t B = 2, int64_t h = 16, int64_t w = 16) {
  return testing::class_inputs(B, 3, h, w);
}

TEST(ELITHDiT, OutputShapeAtEveryValidBudgetOnSquareAndRectangularInputs) {
  torch::manual_seed(0);
  for (auto [h, w] : {std::pair{16, 16}, std::pair{16, 24}}) {
    HDiT model(tiny(true, h, w));
    model->eval();
    testing::expect_output_shape_at_every_valid_budget(*model, inputs(2, h, w), 4);
  }
}

TEST(ELITHDiT, LayersRunOnSpatialTokensOrLatentsAsSplit) {
  torch::manual_seed(1);
  HDiT model(tiny(true));
  model->eval();
  BlockTrace trace;
  model->set_trace(&trace);
  auto in = inputs();
  torch::NoGradGuard no_grad;
  model->forward(in.x, in.t, Condition::from_labels(in.y), 0.75);  // 3 of 4 latents per group
  const BlockTrace expected = {
      {"down_levels.0.0", "spatial", 64}, {"mid_level.0", "spatial", 16},
      {"read", "interface", 16},          {"mid_level.1", "latent", 12},
      {"mid_level.2", "latent", 12},      {"write", "interface", 16},
      {"mid_level.3", "spatial", 16},     {"up_levels.0.0", "spatial", 64}};
  testing::expect_trace(trace, expected);
}

TEST(ELITHDiT, LatentsStartAtTheirSlotsSpatialPositions) {
  // Group mean + initial slot offset = the position of the slot's spatial token, so RoPE sees the
  // latents where the tokens they read sit; rectangular grid to catch an h/w mix-up.
  HDiT model(tiny(true, 16, 24));
  const auto layout = model->group_layout();  // 4x6 mid-level tokens, 2x2 groups
  auto pos = hdit::downscale_pos(hdit::make_axial_pos(8, 12)).reshape({-1, 2});
  auto expected = group_tokens(pos.unsqueeze(0), layout).squeeze(0);  // [G, T, 2]
  auto read = model->input_token_editor->read;
  auto got = group_positions(pos, layout).unsqueeze(1) + read->latent_pos_offset.unsqueeze(0);
  EXPECT_TRUE(torch::allclose(got, expected, 0, 1e-6));
  EXPECT_TRUE(read->latent_pos_offset.requires_grad());
}

TEST(HDiT, RectifiedFlowTimeMapsToClampedSigma) {
  HDiT model(tiny(false));
  auto t = torch::tensor({0.0, 0.25, 0.5, 1.0}, torch::kFloat64);
  auto sigma = model->sigma_for_time(t);
  EXPECT_NEAR(sigma[1].item<double>(), 1.0 / 3.0, 1e-12);
  EXPECT_NEAR(sigma[2].item<double>(), 1.0, 1e-12);
  EXPECT_TRUE(sigma.isfinite().all().item<bool>());
  EXPECT_GT(sigma[0].item<double>(), 0);
  model->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::randn({4, 3, 16, 16});
  auto y = torch::zeros({4}, torch::kInt64);
  auto out = model->forward(x, t.to(torch::kFloat32), Condition::from_labels(y));
  EXPECT_TRUE(out.isfinite().all().item<bool>());
  EXPECT_TRUE(torch::allclose(
      out, model->forward_sigma(x, model->sigma_for_time(t).to(torch::kFloat32), y, {}, 1)));
}

TEST(HDiT, ConfigErrorsNameTheProblem) {
  auto expect_error = [](HDiTConfig c, const char* needle) {
    try {
      c.validate();
      ADD_FAILURE() << "accepted: " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  auto mid_na = tiny(true);
  mid_na.levels[1].attention = "neighborhood";
  mid_na.levels[1].kernel_size = 3;
  expect_error(mid_na, "global attention");
  auto big_kernel = tiny(false);
  big_kernel.levels[0].kernel_size = 9;
  expect_error(big_kernel, "kernel");
  auto odd_grid = tiny(false, 16, 18);  // 8x9 tokens cannot merge 2x2
  expect_error(odd_grid, "even");
  nlohmann::json shifted = {
      {"model", "HDiT-T/2"},
      {"self_attns", {{{"type", "shifted-window"}, {"window_size", 8}}, {{"type", "global"}}}}};
  EXPECT_THROW(resolve_model_config(shifted), Error);
}

TEST(HDiT, ReadsThePublishedKDiffusionConfigAndTheRegistry) {
  // configs/config_oxford_flowers.json's model section, as published.
  auto published = nlohmann::json::parse(R"({
    "type": "image_transformer_v2", "input_channels": 3, "input_size": [256, 256],
    "patch_size": [4, 4], "depths": [2, 2, 4], "widths": [128, 256, 512],
    "self_attns": [{"type": "neighborhood", "d_head": 64, "kernel_size": 7},
                   {"type": "neighborhood", "d_head": 64, "kernel_size": 7},
                   {"type": "global", "d_head": 64}],
    "loss_config": "karras", "loss_weighting": "soft-min-snr", "dropout_rate": [0.0, 0.0, 0.1],
    "mapping_dropout_rate": 0.0, "augment_prob": 0.0, "sigma_data": 0.5, "sigma_min": 1e-2,
    "sigma_max": 160, "sigma_sample_density": {"type": "cosine-interpolated"}})");
  auto c = resolve_model_config(published);
  EXPECT_EQ(c["family"], "hdit");
  EXPECT_EQ(c["d_ffs"], nlohmann::json({384, 768, 1536}));  // k-diffusion default 3 * width
  EXPECT_EQ(c["mapping_width"], 256);
  EXPECT_EQ(c["mapping_d_ff"], 768);
  EXPECT_EQ(c["dropout_rate"][2], 0.1);
  auto names = named_models();
  for (const char* n : {"HDiT-XL/2", "ELIT-HDiT-T/2", "ELIT-HDiT-S/2"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  }
  auto model = create_model({{"model", "ELIT-HDiT-T/2"}});
  EXPECT_EQ(model->spec().family, "hdit");
  EXPECT_EQ(model->spec().latent_tokens, 49);
  EXPECT_EQ(resolve_model_config(model->config_json()), model->config_json());
  EXPECT_THROW(resolve_model_config({{"model", "HDiT-T/2"}, {"widthz", 3}}), Error);
}

}  // namespace
}  // namespace elit::models
