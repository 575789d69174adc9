// ELIT-HDiT and HDiT beyond parity: shapes at every budget, where each layer runs, latent
// positions, gradients, overfitting a few images, the time mapping, configs and the registry.
#include "elit/models/hdit.h"

#include <gtest/gtest.h>

#include "elit/io/model_file.h"
#include "elit/models/registry.h"
#include "elit/runtime/error.h"
#include "models/backbone_test_util.h"
#include "support/reference.h"

namespace elit::models {
namespace {

// 16x16x3 input, patch 2: level 0 is 8x8 tokens (neighbourhood attention, kernel 3), the mid level
// 4x4 tokens (global attention) in 4 groups of 2x2 latents.
HDiTConfig tiny(bool elit, int64_t h = 16, int64_t w = 16) {
  HDiTConfig c;
  c.model = elit ? "tiny-elit-hdit" : "tiny-hdit";
  c.input_channels = 3;
  c.input_h = h;
  c.input_w = w;
  c.patch_h = c.patch_w = 2;
  c.levels = {HDiTLevelSpec{1, 16, 32, "neighborhood", 8, 3, 0.0},
              HDiTLevelSpec{4, 32, 64, "global", 8, 0, 0.0}};
  c.mapping_depth = 1;
  c.mapping_width = 24;
  c.mapping_d_ff = 48;
  c.num_classes = 6;
  c.enable_elit = elit;
  c.group_size = 2;
  c.encoder_depth = 1;
  c.decoder_depth = 1;
  return c;
}

struct Inputs {
  torch::Tensor x, t, y;
};
Inputs inputs(int64_t B = 2, int64_t h = 16, int64_t w = 16) {
  return {torch::randn({B, 3, h, w}), torch::rand({B}), torch::randint(0, 6, {B}, torch::kInt64)};
}

TEST(ELITHDiT, OutputShapeAtEveryValidBudgetOnSquareAndRectangularInputs) {
  torch::manual_seed(0);
  for (auto [h, w] : {std::pair{16, 16}, std::pair{16, 24}}) {
    HDiT model(tiny(true, h, w));
    model->eval();
    auto in = inputs(2, h, w);
    torch::NoGradGuard no_grad;
    for (double b : valid_budgets(4)) {
      auto out = model->forward(in.x, in.t, Condition::from_labels(in.y), b);
      EXPECT_EQ(out.sizes(), in.x.sizes()) << b;
      EXPECT_TRUE(out.isfinite().all().item<bool>()) << b;
    }
    EXPECT_THROW(model->forward(in.x, in.t, Condition::from_labels(in.y), 0.1), Error);
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
  ASSERT_EQ(trace.size(), expected.size());
  for (size_t i = 0; i < trace.size(); ++i) {
    EXPECT_EQ(trace[i].block, expected[i].block) << i;
    EXPECT_EQ(trace[i].domain, expected[i].domain) << trace[i].block;
    EXPECT_EQ(trace[i].tokens, expected[i].tokens) << trace[i].block;
  }
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

TEST(ELITHDiT, GradientsReachReadCoreAndWrite) {
  torch::manual_seed(3);
  HDiT model(tiny(true));
  testing::perturb_parameters(*model, 0.05);
  auto in = inputs();
  model->train();
  model->forward(in.x, in.t, Condition::from_labels(in.y), 0.5).pow(2).mean().backward();
  auto missing = testing::params_without_gradient(
      *model, {"input_token_editor.", "mid_level.1.", "mid_level.2.", "output_token_editor."});
  EXPECT_TRUE(missing.empty()) << missing.front();
}

TEST(ELITHDiT, TinyModelOverfitsAFewImages) {
  torch::manual_seed(4);
  HDiT model([] {
    auto c = tiny(true);
    c.elit_min_mask_prob = 0.0;  // train every budget, so the full-budget loss measures learning
    return c;
  }());
  auto images = testing::smooth_images(4, 3, 16, 16);
  auto labels = torch::tensor({0, 1, 2, 3}, torch::kInt64);
  auto r = testing::overfit(*model, images, labels, /*steps=*/300, /*lr=*/5e-3);
  EXPECT_LT(r.after, 0.5 * r.before) << "loss " << r.before << " -> " << r.after;
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

TEST(HDiT, PlainModelRunsEveryLayerOnSpatialTokens) {
  HDiT model(tiny(false));
  model->eval();
  BlockTrace trace;
  model->set_trace(&trace);
  auto in = inputs();
  torch::NoGradGuard no_grad;
  model->forward(in.x, in.t, Condition::from_labels(in.y));
  ASSERT_EQ(trace.size(), 6u);
  for (const auto& run : trace) EXPECT_EQ(run.domain, "spatial") << run.block;
  EXPECT_THROW(model->forward(in.x, in.t, Condition::from_labels(in.y), 0.5), Error);
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

TEST(HDiT, EveryNamedModelHasAValidConfig) {
  int count = 0;
  for (const auto& name : named_hdit_models()) {
    EXPECT_NO_THROW(named_hdit_config(name).validate()) << name;
    ++count;
  }
  EXPECT_EQ(count, 10);
}

TEST(ELITHDiT, ModelFileRoundTripKeepsConfigAndOutputs) {
  torch::manual_seed(7);
  auto model = create_model(hdit_config_to_json(tiny(true, 16, 24)));
  testing::perturb_parameters(*model, 0.05);
  model->eval();
  const auto path = testing::temp_dir("hdit_model_file") + "/model.safetensors";
  io::write_model_file(path, *model);
  auto loaded = io::build_model(io::read_model_file(path));
  EXPECT_EQ(loaded->config_json(), model->config_json());
  auto in = inputs(2, 16, 24);
  torch::NoGradGuard no_grad;
  const auto c = Condition::from_labels(in.y);
  EXPECT_TRUE(
      torch::equal(loaded->forward(in.x, in.t, c, 0.5), model->forward(in.x, in.t, c, 0.5)));
}

}  // namespace
}  // namespace elit::models
