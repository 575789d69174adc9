// Behaviour of SiT / ELIT-SiT beyond parity: shapes, budgets, dtypes, training-time dropping.
#include "elit/models/sit.h"

#include <gtest/gtest.h>

#include "elit/runtime/error.h"
#include "models/backbone_test_util.h"
#include "support/reference.h"
#include "support/tiny_sit.h"

namespace elit::models {
namespace {

SiTConfig tiny(bool elit) {
  return testing::tiny_rgb_sit_config(elit, /*depth=*/4);
}

testing::ClassInputs inputs(int64_t B = 3) {
  return testing::class_inputs(B, 3, 8, 8);
}

TEST(SiT, OutputShapeAtEveryValidBudget) {
  torch::manual_seed(0);
  SiT model(tiny(true));
  model->eval();
  auto in = inputs();
  torch::NoGradGuard no_grad;
  for (double b : valid_budgets(4)) {
    EXPECT_EQ(model->forward(in.x, in.t, in.y, b).sizes(), in.x.sizes()) << b;
  }
  EXPECT_EQ(model->forward(in.x, in.t, in.y, 8.0).sizes(), in.x.sizes());  // absolute count
}

TEST(SiT, BranchesWithSharedSpatialBlocksEqualTwoForwards) {
  // Cheap CFG's two branches: ELIT-SiT batches their spatial blocks; each branch must still get
  // exactly its own forward (float64), for the model with and without a latent interface.
  for (const bool elit : {true, false}) {
    torch::manual_seed(7);
    SiT model(tiny(elit));
    model->to(torch::kFloat64);
    model->eval();
    torch::NoGradGuard no_grad;
    // Non-zero adaLN and output layers, so that every block changes the output.
    for (auto& p : model->parameters()) p.normal_(0.0, 0.1);
    const auto in = inputs();
    const auto x = in.x.to(torch::kFloat64), t = in.t.to(torch::kFloat64);
    const auto cond = Condition::from_labels(in.y);
    const auto null_cond = Condition::from_labels(torch::full({3}, 5, torch::kInt64));
    const auto pairs = elit ? std::vector<std::pair<double, double>>{{1.0, 0.25}, {0.5, 1.0}}
                            : std::vector<std::pair<double, double>>{{1.0, 1.0}};
    for (const auto& [a, b] : pairs) {
      const auto [out_a, out_b] = model->forward_branches(x, t, cond, a, null_cond, b);
      const auto want_a = model->forward(x, t, cond, a),
                 want_b = model->forward(x, t, null_cond, b);
      EXPECT_TRUE(torch::allclose(out_a, want_a, 1e-12, 1e-12)) << "elit " << elit << " " << a;
      EXPECT_TRUE(torch::allclose(out_b, want_b, 1e-12, 1e-12)) << "elit " << elit << " " << b;
      EXPECT_GT((out_a - out_b).abs().max().item<double>(), 1e-6);  // the branches differ
    }
  }
}

TEST(SiT, BudgetChangesTheOutputOnlyThroughDroppedLatents) {
  torch::manual_seed(1);
  SiT model(tiny(true));
  model->eval();
  // Give Write and Read non-zero output weights so that budgets matter.
  testing::perturb_parameters(*model, 0.05);
  auto in = inputs();
  torch::NoGradGuard no_grad;
  auto full = model->forward(in.x, in.t, in.y, 1.0);
  auto default_eval = model->forward(in.x, in.t, in.y);
  EXPECT_TRUE(torch::allclose(full, default_eval)) << "eval default must be the full budget";
  auto half = model->forward(in.x, in.t, in.y, 0.5);
  EXPECT_GT((full - half).abs().max().item<double>(), 1e-6);
  // Each sample is independent of the others in the batch.
  auto single =
      model->forward(in.x.narrow(0, 1, 1), in.t.narrow(0, 1, 1), in.y.narrow(0, 1, 1), 0.5);
  EXPECT_TRUE(torch::allclose(single, half.narrow(0, 1, 1), 1e-5, 1e-6));
}

TEST(SiT, InvalidInputsAreClearErrors) {
  SiT model(tiny(true));
  model->eval();
  auto in = inputs();
  EXPECT_THROW(model->forward(in.x, in.t, in.y, 0.1), elit::Error);
  EXPECT_THROW(model->forward(in.x, in.t, in.y, 0.0), elit::Error);
  EXPECT_THROW(model->forward(torch::randn({3, 3, 16, 16}), in.t, in.y), elit::Error);
  EXPECT_THROW(model->forward(in.x, in.t.narrow(0, 0, 2), in.y), elit::Error);
  SiT plain(tiny(false));
  EXPECT_THROW(plain->forward(in.x, in.t, in.y, 0.5), elit::Error);
  auto bad = tiny(true);
  bad.group_size = 3;  // 4x4 token grid
  EXPECT_THROW(SiT{bad}, elit::Error);
  bad = tiny(true);
  bad.encoder_depth = 3;
  bad.dit_decoder_depth = 2;
  EXPECT_THROW(SiT{bad}, elit::Error);
}

TEST(SiT, PublishedInitialisationIsIdentityLike) {
  // adaLN-Zero and the zero-initialised Write make a fresh model output exactly zero.
  SiT model(tiny(true));
  auto in = inputs();
  torch::NoGradGuard no_grad;
  EXPECT_EQ(model->forward(in.x, in.t, in.y, 0.5).abs().max().item<double>(), 0.0);
}

TEST(SiT, RunsInBfloat16CloseToFloat32) {
  torch::manual_seed(2);
  SiT model(tiny(true));
  testing::perturb_parameters(*model, 0.05);
  model->eval();
  auto in = inputs();
  torch::NoGradGuard no_grad;
  auto ref = model->forward(in.x, in.t, in.y, 0.75);
  model->to(torch::kBFloat16);
  auto low = model->forward(in.x.to(torch::kBFloat16), in.t.to(torch::kBFloat16), in.y, 0.75);
  EXPECT_EQ(low.scalar_type(), torch::kBFloat16);
  EXPECT_LT(elit::testing::max_rel_error(low, ref), 5e-2);
}

TEST(SiT, TrainingModeDrawsOnlyConfiguredLevels) {
  auto cfg = tiny(true);
  cfg.elit_min_mask_prob = 0.0;
  cfg.elit_max_mask_prob = 0.75;
  cfg.class_dropout_prob = 0.0;
  SiT model(cfg);
  EXPECT_EQ(training_budgets(model->spec()), (std::vector<double>{1, 0.75, 0.5, 0.25}));
  model->train();
  auto in = inputs();
  in.y.clamp_(0, cfg.num_classes - 1);          // class_dropout_prob 0: the table has no null row
  auto out = model->forward(in.x, in.t, in.y);  // draws a level; must run and give a gradient
  out.pow(2).mean().backward();
  EXPECT_TRUE(model->input_token_editor->read->learned_query_embed.grad().defined());
}

}  // namespace
}  // namespace elit::models
