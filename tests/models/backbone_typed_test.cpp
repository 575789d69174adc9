// Properties every ELIT backbone with a class-conditional image interface shares, checked once for
// each of U-ViT and HDiT (one traits struct per backbone): gradients reach Read, the core and
// Write; a tiny model overfits a few images; the plain model runs only on spatial tokens and only
// at budget 1; a model file round-trips; every named model has a valid config.
#include <gtest/gtest.h>

#include "elit/io/model_file.h"
#include "elit/models/hdit.h"
#include "elit/models/registry.h"
#include "elit/models/uvit.h"
#include "elit/runtime/error.h"
#include "models/backbone_test_util.h"
#include "models/tiny_backbones.h"
#include "support/reference.h"

namespace elit::testing {
namespace {

struct UViTTraits {
  using Model = models::UViT;
  static constexpr const char* kName = "UViT";
  static models::UViTConfig tiny(bool elit) { return tiny_uvit_config(elit); }
  static ClassInputs inputs() { return class_inputs(2, 3, 8, 8); }
  static torch::Tensor images() { return smooth_images(4, 3, 8, 8); }
  // Read, every block between Read and Write (the long skips included), Write.
  static std::vector<std::string> elit_prefixes() {
    return {"input_token_editor.", "in_blocks.1.",  "in_blocks.2.",        "mid_block.",
            "out_blocks.0.",       "out_blocks.1.", "output_token_editor."};
  }
  static constexpr size_t kPlainBlocks = 7;
  static constexpr int64_t kPlainTokens = 18;  // class and time tokens + 4x4 patches
  static nlohmann::json round_trip_config() { return models::uvit_config_to_json(tiny(true)); }
  static ClassInputs round_trip_inputs() { return inputs(); }
  static std::vector<std::string> named() { return models::named_uvit_models(); }
  static void validate_named(const std::string& name) {
    models::named_uvit_config(name).validate();
  }
  static constexpr int kNamedModels = 18;
};

struct HDiTTraits {
  using Model = models::HDiT;
  static constexpr const char* kName = "HDiT";
  static models::HDiTConfig tiny(bool elit) { return tiny_hdit_config(elit); }
  static ClassInputs inputs() { return class_inputs(2, 3, 16, 16); }
  static torch::Tensor images() { return smooth_images(4, 3, 16, 16); }
  static std::vector<std::string> elit_prefixes() {
    return {"input_token_editor.", "mid_level.1.", "mid_level.2.", "output_token_editor."};
  }
  static constexpr size_t kPlainBlocks = 6;
  static constexpr int64_t kPlainTokens = 0;  // levels differ in size: not checked
  // Rectangular, to catch an h/w mix-up in the stored config.
  static nlohmann::json round_trip_config() {
    return models::hdit_config_to_json(tiny_hdit_config(true, 16, 24));
  }
  static ClassInputs round_trip_inputs() { return class_inputs(2, 3, 16, 24); }
  static std::vector<std::string> named() { return models::named_hdit_models(); }
  static void validate_named(const std::string& name) {
    models::named_hdit_config(name).validate();
  }
  static constexpr int kNamedModels = 10;
};

template <class Traits>
class Backbone : public ::testing::Test {};

// Names each typed test by its backbone: "Backbone/UViT.GradientsReachReadCoreAndWrite".
struct TraitsName {
  template <class Traits>
  static std::string GetName(int) {
    return Traits::kName;
  }
};

using Backbones = ::testing::Types<UViTTraits, HDiTTraits>;
TYPED_TEST_SUITE(Backbone, Backbones, TraitsName);

TYPED_TEST(Backbone, GradientsReachReadCoreAndWrite) {
  torch::manual_seed(3);
  typename TypeParam::Model model(TypeParam::tiny(true));
  perturb_parameters(*model, 0.05);  // open the zero-initialised gates
  auto in = TypeParam::inputs();
  model->train();
  model->forward(in.x, in.t, models::Condition::from_labels(in.y), 0.5).pow(2).mean().backward();
  auto missing = params_without_gradient(*model, TypeParam::elit_prefixes());
  EXPECT_TRUE(missing.empty()) << missing.front();
}

TYPED_TEST(Backbone, TinyModelOverfitsAFewImages) {
  torch::manual_seed(4);
  typename TypeParam::Model model([] {
    auto c = TypeParam::tiny(true);
    c.elit_min_mask_prob = 0.0;  // train every budget, so the full-budget loss measures learning
    return c;
  }());
  auto images = TypeParam::images();
  auto labels = torch::tensor({0, 1, 2, 3}, torch::kInt64);
  auto r = overfit(*model, images, labels, /*steps=*/300, /*lr=*/5e-3);
  EXPECT_LT(r.after, 0.5 * r.before) << "loss " << r.before << " -> " << r.after;
}

TYPED_TEST(Backbone, PlainModelRunsEveryBlockOnSpatialTokensAndOnlyBudgetOne) {
  torch::manual_seed(5);
  typename TypeParam::Model model(TypeParam::tiny(false));
  model->eval();
  models::BlockTrace trace;
  model->set_trace(&trace);
  auto in = TypeParam::inputs();
  const auto cond = models::Condition::from_labels(in.y);
  torch::NoGradGuard no_grad;
  EXPECT_EQ(model->forward(in.x, in.t, cond).sizes(), in.x.sizes());
  ASSERT_EQ(trace.size(), TypeParam::kPlainBlocks);
  for (const auto& run : trace) {
    EXPECT_EQ(run.domain, "spatial") << run.block;
    if (TypeParam::kPlainTokens > 0) {
      EXPECT_EQ(run.tokens, TypeParam::kPlainTokens) << run.block;
    }
  }
  EXPECT_THROW(model->forward(in.x, in.t, cond, 0.5), Error);
}

TYPED_TEST(Backbone, ModelFileRoundTripKeepsConfigAndOutputs) {
  torch::manual_seed(7);
  auto model = models::create_model(TypeParam::round_trip_config());
  perturb_parameters(*model, 0.05);
  model->eval();
  const auto path = temp_dir(std::string(TypeParam::kName) + "_model_file") + "/model.safetensors";
  io::write_model_file(path, *model);
  auto loaded = io::build_model(io::read_model_file(path));
  EXPECT_EQ(loaded->config_json(), model->config_json());
  auto in = TypeParam::round_trip_inputs();
  torch::NoGradGuard no_grad;
  const auto c = models::Condition::from_labels(in.y);
  EXPECT_TRUE(
      torch::equal(loaded->forward(in.x, in.t, c, 0.5), model->forward(in.x, in.t, c, 0.5)));
}

TYPED_TEST(Backbone, EveryNamedModelHasAValidConfig) {
  int count = 0;
  for (const auto& name : TypeParam::named()) {
    EXPECT_NO_THROW(TypeParam::validate_named(name)) << name;
    ++count;
  }
  EXPECT_EQ(count, TypeParam::kNamedModels);
}

}  // namespace
}  // namespace elit::testing
