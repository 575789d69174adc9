// Behaviour of MM-DiT / ELIT-MM-DiT beyond parity: budgets, the context stream through Read and
// Write, padding masks, conditioning, configuration and clear errors.
#include "elit/models/mmdit.h"

#include <gtest/gtest.h>

#include "elit/io/model_file.h"
#include "elit/io/safetensors.h"
#include "elit/models/attention.h"
#include "elit/models/registry.h"
#include "elit/runtime/error.h"
#include "models/backbone_test_util.h"
#include "support/reference.h"

namespace elit::models {
namespace {

// External context (40-d tokens, 24-d pooled), 8x12 input -> 4x6 patch grid, groups of 2x2.
MMDiTConfig tiny(bool elit) {
  MMDiTConfig c;
  c.model = elit ? "tiny-elit-mmdit" : "tiny-mmdit";
  c.input_height = 8;
  c.input_width = 12;
  c.in_channels = 3;
  c.depth = 4;
  c.hidden_size = 32;
  c.num_heads = 2;
  c.qk_norm = "rms";
  c.x_block_self_attn_layers = {0, 2};
  c.adm_in_channels = 24;
  c.context_in_features = 40;
  c.enable_elit = elit;
  c.encoder_depth = 1;
  c.dit_decoder_depth = 1;
  c.group_size = 2;
  return c;
}

// Moves every parameter away from the adaLN-Zero start so that every path matters.
void perturb(torch::nn::Module& m) {
  elit::testing::perturb_parameters(m, 0.05);
}

Condition context(int64_t B, int64_t L) {
  Condition c;
  c.context = torch::randn({B, L, 40});
  c.context_mask = torch::ones({B, L}, torch::kBool);
  c.pooled = torch::randn({B, 24});
  return c;
}

TEST(MMDiT, OutputShapeAtEveryValidBudget) {
  torch::manual_seed(0);
  MMDiT model(tiny(true));
  model->eval();
  perturb(*model);
  auto x = torch::randn({2, 3, 8, 12});
  auto t = torch::rand({2});
  auto cond = context(2, 5);
  torch::NoGradGuard no_grad;
  auto full = model->forward(x, t, cond, 1.0);
  for (double b : valid_budgets(4)) {
    auto out = model->forward(x, t, cond, b);
    EXPECT_EQ(out.sizes(), x.sizes()) << b;
    EXPECT_TRUE(torch::isfinite(out).all().item<bool>()) << b;
    if (b < 1) {
      EXPECT_GT((out - full).abs().max().item<double>(), 1e-6) << b;
    }
  }
  EXPECT_TRUE(torch::allclose(model->forward(x, t, cond), full)) << "eval default: full budget";
  EXPECT_EQ(model->forward(x, t, cond, 12.0).sizes(), x.sizes());  // absolute latent count
}

// The core blocks see [context; kept latents]; the context leaving the head block reaches the
// first core block unchanged (Read does not touch it), likewise through Write into the tail.
TEST(MMDiT, ContextStreamPassesReadAndWriteUntouched) {
  torch::manual_seed(1);
  MMDiT model(tiny(true));
  model->eval();
  perturb(*model);
  auto x = torch::randn({2, 3, 8, 12});
  auto t = torch::rand({2}) * 1000;
  auto cond = context(2, 5);
  torch::NoGradGuard no_grad;
  for (int64_t keep : {1, 2, 4}) {
    MMDiTTrace trace;
    model->forward_keep(x, t, cond, keep, &trace);
    ASSERT_EQ(trace.x_in.size(), 4u);
    const int64_t groups = 2 * 3;
    EXPECT_EQ(trace.x_in[0].size(1), 24);             // head: spatial tokens
    EXPECT_EQ(trace.x_in[1].size(1), groups * keep);  // core: kept latents
    EXPECT_EQ(trace.x_in[2].size(1), groups * keep);
    EXPECT_EQ(trace.x_in[3].size(1), 24);  // tail: spatial tokens again
    auto c = model->t_embedder(t) + model->y_embedder(cond.pooled);
    for (int64_t boundary : {0, 2}) {  // head -> core (Read), core -> tail (Write)
      auto* block = model->joint_blocks[boundary]->as<JointBlock>();
      auto out =
          block->forward(trace.context_in[boundary], trace.x_in[boundary], c, cond.context_mask);
      EXPECT_TRUE(torch::equal(out.first, trace.context_in[boundary + 1])) << keep;
      EXPECT_EQ(trace.context_in[boundary + 1].size(1), 5);
    }
  }
}

TEST(MMDiT, PaddedContextTokensChangeNothing) {
  torch::manual_seed(2);
  for (bool elit : {false, true}) {
    MMDiT model(tiny(elit));
    model->eval();
    perturb(*model);
    model->to(torch::kFloat64);
    auto x = torch::randn({2, 3, 8, 12}, torch::kFloat64);
    auto t = torch::rand({2}, torch::kFloat64);
    auto cond = context(2, 4);
    cond.context = cond.context.to(torch::kFloat64);
    cond.pooled = cond.pooled.to(torch::kFloat64);
    cond.context_mask[1][3] = false;  // sample 1 has 3 real tokens
    // Three more padding tokens of garbage, and different garbage in the padded slot.
    Condition padded = cond;
    padded.context = torch::cat({cond.context, torch::randn({2, 3, 40}, torch::kFloat64) * 9}, 1);
    padded.context[1][3] = torch::randn({40}, torch::kFloat64) * 9;
    padded.context_mask = torch::cat({cond.context_mask, torch::zeros({2, 3}, torch::kBool)}, 1);
    torch::NoGradGuard no_grad;
    auto a = model->forward(x, t, cond, 0.5 + 0.5 * !elit);
    auto b = model->forward(x, t, padded, 0.5 + 0.5 * !elit);
    EXPECT_LT((a - b).abs().max().item<double>(), 1e-12) << "elit " << elit;
    // A real token does change the output.
    padded.context_mask[1][3] = true;
    auto c = model->forward(x, t, padded, 0.5 + 0.5 * !elit);
    EXPECT_GT((c - a).narrow(0, 1, 1).abs().max().item<double>(), 1e-6);
  }
}

TEST(MMDiT, NullConditionBatchesWithTheConditionAndDropsTheText) {
  torch::manual_seed(3);
  MMDiT model(tiny(true));
  model->eval();
  perturb(*model);
  auto cond = context(2, 5);
  auto null = model->null_condition(cond);
  auto both = Condition::cat(cond, null);  // the CFG batch
  EXPECT_EQ(both.context.sizes(), (std::vector<int64_t>{4, 5, 40}));
  EXPECT_FALSE(null.context_mask.any().item<bool>());
  // The null branch does not depend on the conditional context.
  auto x = torch::randn({2, 3, 8, 12});
  auto t = torch::rand({2});
  auto other = context(2, 5);
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(model->forward(x, t, null),
                              model->forward(x, t, model->null_condition(other)), 1e-6, 1e-6));
}

// Class-labelled data with precomputed caption features: label i -> row i of the file.
TEST(MMDiT, LabelContextFileMapsLabelsToItsRows) {
  torch::manual_seed(9);
  const auto path = elit::testing::temp_dir("label_context") + "/captions.safetensors";
  io::TensorMap rows{{"context.0", torch::randn({3, 40})},
                     {"context.1", torch::randn({5, 40})},
                     {"pooled.0", torch::randn({24})},
                     {"pooled.1", torch::randn({24})}};
  io::write_safetensors(path, rows);
  auto cfg = tiny(true);
  cfg.label_context_file = path;
  // The model reads no file itself; io::create_model attaches the rows the config names.
  EXPECT_EQ(MMDiT(cfg)->spec().num_classes, 0);
  auto model = std::dynamic_pointer_cast<MMDiTImpl>(io::create_model(mmdit_config_to_json(cfg)));
  ASSERT_TRUE(model);
  EXPECT_EQ(model->spec().num_classes, 2);
  auto cond = model->condition_for_labels(torch::tensor({1, 0, 2}, torch::kInt64));
  EXPECT_EQ(cond.context.sizes(), (std::vector<int64_t>{3, 5, 40}));
  EXPECT_TRUE(torch::equal(cond.context[0], rows["context.1"]));
  EXPECT_TRUE(torch::equal(cond.pooled[1], rows["pooled.0"]));
  EXPECT_TRUE(torch::equal(cond.context_mask.sum(1), torch::tensor({5, 3, 0}, torch::kInt64)));
  model->eval();
  torch::NoGradGuard no_grad;
  EXPECT_EQ(model->forward(torch::randn({3, 3, 8, 12}), torch::rand({3}), cond).sizes(),
            (std::vector<int64_t>{3, 3, 8, 12}));
  EXPECT_THROW(model->condition_for_labels(torch::tensor({3}, torch::kInt64)), elit::Error);
  EXPECT_EQ(mmdit_config_from_json(model->config_json()).label_context_file, path);
  cfg.context_in_features = 41;
  EXPECT_THROW(io::create_model(mmdit_config_to_json(cfg)), elit::Error);
}

TEST(MMDiT, TrainingDropsCaptionsAndDrawsBudgets) {
  torch::manual_seed(4);
  auto cfg = tiny(true);
  cfg.caption_dropout_prob = 1.0;  // every sample gets the null condition
  cfg.elit_min_mask_prob = 0.25;
  MMDiT model(cfg);
  perturb(*model);
  auto x = torch::randn({2, 3, 8, 12});
  auto t = torch::rand({2});
  auto cond = context(2, 5);
  model->eval();
  auto null_out = model->forward(x, t, model->null_condition(cond), 1.0);
  model->train();
  auto train_out = model->forward(x, t, cond, 1.0);
  EXPECT_TRUE(torch::allclose(train_out, null_out, 1e-5, 1e-6));
  EXPECT_EQ(training_budgets(model->spec()), (std::vector<double>{0.75, 0.5}));
}

TEST(MMDiT, AcceptsOtherSizesAndCropsTheTable) {
  MMDiT model(tiny(false));
  model->eval();
  torch::NoGradGuard no_grad;
  // Nominal 8x12 (4x6 grid, table 6x6); a 12x4 input uses the centre 6x2 columns.
  EXPECT_EQ(model->forward(torch::randn({1, 3, 12, 4}), torch::rand({1}), context(1, 2)).sizes(),
            (std::vector<int64_t>{1, 3, 12, 4}));
  auto crop = model->cropped_pos_embed(2, 4).view({2, 4, -1});
  auto table = model->pos_embed.view({6, 6, -1});
  EXPECT_TRUE(torch::equal(crop, table.narrow(0, 2, 2).narrow(1, 1, 4)));
  EXPECT_THROW(model->forward(torch::randn({1, 3, 14, 4}), torch::rand({1}), context(1, 2)),
               elit::Error);
}

TEST(MMDiT, BadInputsAreClearErrors) {
  MMDiT model(tiny(true));
  model->eval();
  auto x = torch::randn({2, 3, 8, 12});
  auto t = torch::rand({2});
  auto expect_error = [&](const Condition& c, const std::string& words) {
    try {
      model->forward(x, t, c);
      ADD_FAILURE() << "no error; expected one mentioning '" << words << "'";
    } catch (const elit::Error& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
  };
  auto good = context(2, 5);
  auto wide = good;
  wide.context = torch::randn({2, 5, 41});
  expect_error(wide, "context width 41");
  expect_error(Condition::from_labels(torch::zeros({2}, torch::kInt64)), "needs context tokens");
  auto no_pooled = good;
  no_pooled.pooled = torch::Tensor();
  expect_error(no_pooled, "pooled text vector");
  auto bad_mask = good;
  bad_mask.context_mask = torch::ones({2, 4}, torch::kBool);
  expect_error(bad_mask, "context_mask must be");
  EXPECT_THROW(model->forward(x, t, good, 0.1), elit::Error);  // keeps no latent
  EXPECT_THROW(model->condition_for_prompts({"a cat"}), elit::Error);
  EXPECT_THROW(model->condition_for_labels(torch::zeros({2}, torch::kInt64)), elit::Error);
  auto bad = tiny(true);
  bad.dit_decoder_depth = 0;  // the pre_only block would run on latents
  EXPECT_THROW(MMDiT{bad}, elit::Error);
  bad = tiny(true);
  bad.group_size = 4;  // 4x6 grid
  EXPECT_THROW(MMDiT{bad}, elit::Error);
  EXPECT_THROW(mmdit_config_from_json({{"model", "MMDiT-S/2"}, {"depht", 3}}), elit::Error);
}

// SD3.5's x-only attention (MMDiT-X) appends its shift, scale and gate after the six SD3
// modulation chunks: with a zero gate the block is the SD3 block with the same other weights.
TEST(MMDiT, XOnlyAttentionAddsAGatedBranchAfterTheSD3Chunks) {
  torch::manual_seed(7);
  const int64_t D = 32;
  DismantledBlock sd3(D, 2, 4.0, true, false, "rms", /*x_block_self_attn=*/false);
  DismantledBlock sd35(D, 2, 4.0, true, false, "rms", /*x_block_self_attn=*/true);
  torch::NoGradGuard no_grad;
  for (auto& p : sd35->named_parameters()) {
    if (p.key().rfind("attn2.", 0) == 0) continue;
    auto ours = p.value();
    if (p.key().rfind("adaLN_modulation.1.", 0) == 0) ours = ours.narrow(0, 0, 6 * D);
    sd3->named_parameters()[p.key()].copy_(ours.detach());
  }
  auto lin = sd35->adaLN_modulation[1]->as<torch::nn::Linear>();
  lin->weight.narrow(0, 8 * D, D).zero_();  // gate of attn2
  lin->bias.narrow(0, 8 * D, D).zero_();
  auto x = torch::randn({2, 5, D});
  auto c = torch::randn({2, D});
  auto run = [&](DismantledBlock& b) {
    auto pre = b->pre_attention(x, c);
    auto a = scaled_dot_product_attention(pre.q, pre.k, pre.v);
    auto a2 = pre.q2.defined() ? scaled_dot_product_attention(pre.q2, pre.k2, pre.v2) : a;
    return b->post_attention(pre, a, a2);
  };
  EXPECT_TRUE(torch::allclose(run(sd3), run(sd35), 1e-6, 1e-6));
  lin->bias.narrow(0, 8 * D, D).fill_(0.5);
  EXPECT_GT((run(sd3) - run(sd35)).abs().max().item<double>(), 1e-3);
}

TEST(MMDiT, SizesFollowTheSD3RuleUnlessOverridden) {
  auto c = mmdit_config_from_json({{"model", "MMDiT-B/2"}});
  EXPECT_EQ(c.hidden(), 64 * 12);
  EXPECT_EQ(c.heads(), 12);
  c = mmdit_config_from_json({{"model", "MMDiT-B/2"}, {"depth", 3}});
  EXPECT_EQ(c.hidden(), 192);
  c = mmdit_config_from_json({{"model", "MMDiT-B/2"}, {"hidden_size", 96}, {"num_heads", 3}});
  EXPECT_EQ(c.hidden(), 96);
  EXPECT_EQ(c.heads(), 3);
  auto sd35 = named_mmdit_config("MMDiT-SD3.5-Medium");
  EXPECT_EQ(sd35.hidden(), 1536);
  EXPECT_EQ(sd35.qk_norm, "rms");
  EXPECT_EQ(sd35.x_block_self_attn_layers.size(), 13u);
}

TEST(MMDiT, RegistryBuildsNamedModelsAndConfigsRoundTrip) {
  const auto names = named_models();
  EXPECT_NE(std::find(names.begin(), names.end(), "ELIT-MMDiT-S/2"), names.end());
  // The builtin text path's captions are data: a named model gets them from its caller.
  EXPECT_THROW(
      {
        try {
          named_model_config("ELIT-MMDiT-S/4");
        } catch (const elit::Error& e) {
          EXPECT_NE(std::string(e.what()).find("needs captions"), std::string::npos) << e.what();
          throw;
        }
      },
      elit::Error);
  auto cfg = resolve_model_config(
      {{"model", "ELIT-MMDiT-S/4"}, {"captions", {"a photo of a bag", "a photo of a shirt"}}});
  EXPECT_EQ(cfg["family"], "mmdit");
  EXPECT_EQ(resolve_model_config(cfg), cfg);
  cfg["depth"] = 2;
  cfg["hidden_size"] = 32;
  cfg["num_heads"] = 2;
  cfg["encoder_depth"] = 0;
  cfg["text_width"] = 16;  // the context and pooled widths follow it
  auto model = create_model(cfg);
  const auto s = model->spec();
  EXPECT_EQ(s.family, "mmdit");
  EXPECT_TRUE(s.text_conditioned && s.elit);
  EXPECT_EQ(s.num_classes, 2);  // one class per caption
  EXPECT_EQ(s.tokens_per_group, 16);
  EXPECT_EQ(create_model(model->config_json())->config_json(), model->config_json());
}

}  // namespace
}  // namespace elit::models
