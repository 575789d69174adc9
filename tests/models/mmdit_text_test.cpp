// The built-in text path of MM-DiT: prompts and captions to tokens, the text encoder, CFG with
// the empty prompt (training on captions: mmdit_train_test.cpp).
#include <gtest/gtest.h>

#include "elit/io/model_file.h"
#include "elit/models/mmdit.h"
#include "elit/runtime/error.h"
#include "models/backbone_test_util.h"
#include "models/tiny_backbones.h"
#include "support/reference.h"

namespace elit::models {
namespace {

MMDiTConfig tiny_text() {
  return testing::tiny_text_mmdit_config();
}

TEST(MMDiTText, LabelsBecomeCaptionTokensAndLabelNIsTheEmptyPrompt) {
  MMDiT model(tiny_text());
  EXPECT_EQ(model->spec().num_classes, 3);
  auto by_label = model->condition_for_labels(torch::tensor({2, 0, 3}, torch::kInt64));
  auto by_prompt =
      model->condition_for_prompts({"A photo of an ANKLE boot", "a photo of a trouser", ""});
  EXPECT_TRUE(torch::equal(by_label.tokens, by_prompt.tokens));
  auto null = model->null_condition(by_label);
  EXPECT_TRUE(torch::equal(null.tokens[0], by_label.tokens[2]));  // the empty prompt
  EXPECT_EQ(Condition::cat(by_label, null).tokens.size(0), 6);
}

TEST(MMDiTText, BadPromptsAndLabelsAreClearErrors) {
  MMDiT model(tiny_text());
  auto message = [&](const std::function<void()>& f) {
    try {
      f();
    } catch (const elit::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  auto too_long = message([&] { model->condition_for_prompts({"a a a a a a a a"}); });
  EXPECT_NE(too_long.find("at most 7"), std::string::npos) << too_long;
  auto unknown = message([&] { model->condition_for_prompts({"a photo of a cat"}); });
  EXPECT_NE(unknown.find("'cat' is not in the model's vocabulary"), std::string::npos) << unknown;
  auto label = message([&] { model->condition_for_labels(torch::tensor({4}, torch::kInt64)); });
  EXPECT_NE(label.find("labels 0..2"), std::string::npos) << label;
  Condition none;
  none.context = torch::randn({1, 2, 16});
  auto missing = message([&] {
    model->forward(torch::randn({1, 1, 8, 8}), torch::rand({1}), none);
  });
  EXPECT_NE(missing.find("needs token ids"), std::string::npos) << missing;
}

TEST(MMDiTText, PaddingTokensChangeNothingInTheEncoder) {
  torch::manual_seed(5);
  MMDiT model(tiny_text());
  model->eval();
  testing::perturb_parameters(*model, 0.05);
  auto cond = model->condition_for_prompts({"a bag", "a photo of a trouser"});
  Condition shorter;
  shorter.tokens = cond.tokens.narrow(1, 0, 6);  // drops padding only (start + 5 words)
  auto x = torch::randn({2, 1, 8, 8});
  auto t = torch::rand({2});
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(
      torch::allclose(model->forward(x, t, cond), model->forward(x, t, shorter), 1e-5, 1e-6));
}

// A model file carries the vocabulary and captions, so the trained text path comes back intact.
TEST(MMDiTText, ModelFileRoundTripKeepsTheTextPath) {
  torch::manual_seed(8);
  MMDiT model(tiny_text());
  testing::perturb_parameters(*model, 0.05);
  model->eval();
  const auto path = elit::testing::temp_dir("mmdit_file") + "/m.safetensors";
  io::write_model_file(path, *model);
  auto back = io::build_model(io::read_model_file(path));
  auto cond = back->condition_for_prompts({"a bag", "a photo of an ankle boot"});
  auto x = torch::randn({2, 1, 8, 8});
  auto t = torch::rand({2});
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(
      cond.tokens, model->condition_for_prompts({"a bag", "a photo of an ankle boot"}).tokens));
  EXPECT_TRUE(torch::allclose(back->forward(x, t, cond, 0.5), model->forward(x, t, cond, 0.5)));
}

}  // namespace
}  // namespace elit::models
