// ELIT-U-ViT and U-ViT beyond parity: shapes at every budget, where each block runs, gradients,
// overfitting a few images, configuration errors and the registry.
#include "elit/models/uvit.h"

#include <gtest/gtest.h>

#include "elit/io/model_file.h"
#include "elit/models/registry.h"
#include "elit/runtime/error.h"
#include "models/backbone_test_util.h"
#include "support/reference.h"

namespace elit::models {
namespace {

UViTConfig tiny(bool elit, int64_t spatial = 1) {
  UViTConfig c;
  c.model = elit ? "tiny-elit-uvit" : "tiny-uvit";
  c.img_size = 8;
  c.patch_size = 2;  // 4x4 tokens
  c.in_chans = 3;
  c.embed_dim = 32;
  c.depth = 6;  // 3 in-blocks, mid, 3 out-blocks
  c.num_heads = 2;
  c.num_classes = 6;  // 5 classes + null
  c.enable_elit = elit;
  c.encoder_depth = c.decoder_depth = spatial;
  c.group_size = 2;  // 4 groups of 4 latents
  return c;
}

struct Inputs {
  torch::Tensor x, t, y;
};
Inputs inputs(int64_t B = 3) {
  return {torch::randn({B, 3, 8, 8}), torch::rand({B}), torch::randint(0, 6, {B}, torch::kInt64)};
}

TEST(ELITUViT, OutputShapeAtEveryValidBudget) {
  torch::manual_seed(0);
  UViT model(tiny(true));
  model->eval();
  auto in = inputs();
  torch::NoGradGuard no_grad;
  for (double b : valid_budgets(4)) {
    auto out = model->forward(in.x, in.t, Condition::from_labels(in.y), b);
    EXPECT_EQ(out.sizes(), in.x.sizes()) << b;
    EXPECT_TRUE(out.isfinite().all().item<bool>()) << b;
  }
  EXPECT_EQ(model->forward(in.x, in.t, Condition::from_labels(in.y), 8.0).sizes(), in.x.sizes());
  EXPECT_THROW(model->forward(in.x, in.t, Condition::from_labels(in.y), 0.1), Error);
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
  ASSERT_EQ(trace.size(), expected.size());
  for (size_t i = 0; i < trace.size(); ++i) {
    EXPECT_EQ(trace[i].block, expected[i].block) << i;
    EXPECT_EQ(trace[i].domain, expected[i].domain) << trace[i].block;
    EXPECT_EQ(trace[i].tokens, expected[i].tokens) << trace[i].block;
  }
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

TEST(ELITUViT, GradientsReachReadCoreAndWrite) {
  torch::manual_seed(3);
  UViT model(tiny(true));
  testing::perturb_parameters(*model, 0.05);  // open the zero-initialised gates
  auto in = inputs(2);
  model->train();
  model->forward(in.x, in.t, Condition::from_labels(in.y), 0.5).pow(2).mean().backward();
  auto missing = testing::params_without_gradient(
      *model, {"input_token_editor.", "in_blocks.1.", "in_blocks.2.", "mid_block.", "out_blocks.0.",
               "out_blocks.1.", "output_token_editor."});
  EXPECT_TRUE(missing.empty()) << missing.front();
}

TEST(ELITUViT, TinyModelOverfitsAFewImages) {
  torch::manual_seed(4);
  UViT model([] {
    auto c = tiny(true);
    c.elit_min_mask_prob = 0.0;  // train every budget, so the full-budget loss measures learning
    return c;
  }());
  auto images = testing::smooth_images(4, 3, 8, 8);
  auto labels = torch::tensor({0, 1, 2, 3}, torch::kInt64);
  auto r = testing::overfit(*model, images, labels, /*steps=*/300, /*lr=*/5e-3);
  EXPECT_LT(r.after, 0.5 * r.before) << "loss " << r.before << " -> " << r.after;
}

TEST(UViT, PlainModelRunsEveryBlockOnSpatialTokensAndOnlyBudgetOne) {
  torch::manual_seed(5);
  UViT model(tiny(false));
  model->eval();
  BlockTrace trace;
  model->set_trace(&trace);
  auto in = inputs(2);
  torch::NoGradGuard no_grad;
  EXPECT_EQ(model->forward(in.x, in.t, Condition::from_labels(in.y)).sizes(), in.x.sizes());
  ASSERT_EQ(trace.size(), 7u);
  for (const auto& run : trace) {
    EXPECT_EQ(run.domain, "spatial") << run.block;
    EXPECT_EQ(run.tokens, 18) << run.block;
  }
  EXPECT_THROW(model->forward(in.x, in.t, Condition::from_labels(in.y), 0.5), Error);
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

TEST(UViT, EveryNamedModelHasAValidConfig) {
  int count = 0;
  for (const auto& name : named_uvit_models()) {
    EXPECT_NO_THROW(named_uvit_config(name).validate()) << name;
    ++count;
  }
  EXPECT_EQ(count, 18);
}

TEST(ELITUViT, ModelFileRoundTripKeepsConfigAndOutputs) {
  torch::manual_seed(7);
  auto model = create_model(uvit_config_to_json(tiny(true)));
  testing::perturb_parameters(*model, 0.05);
  model->eval();
  const auto path = testing::temp_dir("uvit_model_file") + "/model.safetensors";
  io::write_model_file(path, *model);
  auto loaded = io::build_model(io::read_model_file(path));
  EXPECT_EQ(loaded->config_json(), model->config_json());
  auto in = inputs(2);
  torch::NoGradGuard no_grad;
  const auto c = Condition::from_labels(in.y);
  EXPECT_TRUE(
      torch::equal(loaded->forward(in.x, in.t, c, 0.5), model->forward(in.x, in.t, c, 0.5)));
}

}  // namespace
}  // namespace elit::models
