// ELIT-U-ViT and U-ViT beyond parity: shapes at every budget, where each block runs, splits,
// configuration errors and the registry (gradients, overfitting, the plain model, model files and
// named configs: backbone_typed_test.cpp).
#include "elit/models/uvit.h"

#include <gtest/gtest.h>

#include "elit/models/registry.h"
#include "elit/runtime/error.h"
#include "models/backbone_test_util.h"
#include "models/tiny_backbones.h"

namespace elit::models {
namespace {

using testing::ClassInputs;

UViTConfig tiny(bool elit, int64_t spatial = 1) {
  return testing::tiny_uvit_config(elit, spatial);
}
ClassInputs inputs(int64_t B = 3) {
  return testing::class_inputs(B, 3, 8, 8);
}

TEST(ELITUViT, OutputShapeAtEveryValidBudget) {
  torch::manual_seed(0);
  UViT model(tiny(true));
  model->eval();
  auto in = inputs();
  testing::expect_output_shape_at_every_valid_budget(*model, in, 4);
  torch::NoGradGuard no_grad;
  EXPECT_EQ(model->forward(in.x, in.t, Condition::from_labels(in.y), 8.0).sizes(), in.x.sizes());
}

TEST(ELITUViT, BlocksRunOnSpatialTokensOrLatentsAsSplit) {
  torch::manual_seed(1);
  UViT model(tiny(true, /*spatial=*/1));
  model->eval();
  BlockTrace trace;
  model->set_trace(&trace);
  auto in = inputs(2);
  torch::NoGradGuard no_grad;
  model->forward(in.x, in.t, Condition::from_labels(in.y), 0.5);  // 2 of 4 latents per group
  // 2 extra tokens (class, time) + 16 patches spatially; 2 + 4 groups x 2 kept latents in the core.
  const BlockTrace expected = {
      {"in_blocks.0", "spatial", 18}, {"read", "interface", 16},   {"in_blocks.1", "latent", 10},
      {"in_blocks.2", "latent", 10},  {"mid_block", "latent", 10}, {"out_blocks.0", "latent", 10},
      {"out_blocks.1", "latent", 10}, {"write", "interface", 16},  {"out_blocks.2", "spatial", 18}};
  testing::expect_trace(trace, expected);
}

TEST(ELITUViT, SplitsAtBothEndsWork) {
  torch::manual_seed(2);
  auto in = inputs(2);
  torch::NoGradGuard no_grad;
  for (int64_t spatial : {0, 3}) {  // every block on latents / only the mid block on latents
    UViT model(tiny(true, spatial));
    model->eval();
    BlockTrace trace;
    model->set_trace(&trace);
    auto out = model->forward(in.x, in.t, Condition::from_labels(in.y), 0.25);
    EXPECT_EQ(out.sizes(), in.x.sizes());
    int64_t latent = 0;
    for (const auto& run : trace) latent += run.domain == "latent";
    EXPECT_EQ(latent, 7 - 2 * spatial) << spatial;
  }
}

TEST(ELITUViT, AsymmetricSplitIsRejected) {
  auto c = tiny(true);
  c.decoder_depth = 2;
  try {
    UViT model(c);
    FAIL() << "an asymmetric split was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("symmetric"), std::string::npos) << e.what();
  }
}

TEST(UViT, TimeIsScaledAsConfigured) {
  torch::manual_seed(6);
  auto c = tiny(false);
  c.time_scale = 1000;
  UViT model(c);
  model->eval();
  auto in = inputs(2);
  torch::NoGradGuard no_grad;
  auto via_t = model->forward(in.x, in.t, Condition::from_labels(in.y));
  EXPECT_TRUE(torch::allclose(via_t, model->forward_timesteps(in.x, in.t * 1000, in.y, 1)));
}

TEST(UViT, UnconditionalModelHasOneExtraToken) {
  auto c = tiny(true);
  c.num_classes = -1;
  UViT model(c);
  model->eval();
  EXPECT_EQ(model->pos_embed.size(1), 1 + 16);
  EXPECT_EQ(model->spec().num_classes, 0);
  torch::NoGradGuard no_grad;
  auto x = torch::randn({2, 3, 8, 8});
  EXPECT_EQ(model->forward(x, torch::rand({2}), Condition{}, 0.5).sizes(), x.sizes());
}

TEST(UViT, RegistryBuildsNamedModelsAndPublishedConfigs) {
  auto names = named_models();
  for (const char* n : {"UViT-S/2", "UViT-H/2", "ELIT-UViT-L/2", "ELIT-UViT-T/2"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  }
  auto large = named_model_config("UViT-L/2");
  EXPECT_EQ(large["embed_dim"], 1024);
  EXPECT_EQ(large["depth"], 20);
  EXPECT_EQ(large["num_heads"], 16);
  EXPECT_EQ(named_model_config("UViT-H/2")["conv"], false);
  auto model = create_model({{"model", "ELIT-UViT-T/2"}});
  EXPECT_EQ(model->spec().family, "uvit");
  EXPECT_TRUE(model->spec().elit);
  EXPECT_EQ(resolve_model_config(model->config_json()), model->config_json());
  // The published imagenet256_uvit_large.py nnet section, as a JSON object.
  nlohmann::json published = {
      {"name", "uvit"},          {"img_size", 32},      {"patch_size", 2},
      {"in_chans", 4},           {"embed_dim", 64},     {"depth", 2},
      {"num_heads", 2},          {"mlp_ratio", 4},      {"qkv_bias", false},
      {"mlp_time_embed", false}, {"num_classes", 1001}, {"use_checkpoint", true}};
  EXPECT_EQ(create_model(published)->spec().num_classes, 1000);
  EXPECT_THROW(resolve_model_config({{"model", "UViT-S/2"}, {"embed_dims", 3}}), Error);
}

}  // namespace
}  // namespace elit::models
