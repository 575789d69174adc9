// The published train.py checkpoint format: read in C++, loaded, and forwarded to the expected
// outputs (float64) of its EMA weights.
#include "elit/io/published_checkpoint.h"

#include <gtest/gtest.h>

#include "elit/io/model_file.h"
#include "elit/io/safetensors.h"
#include "elit/runtime/error.h"
#include "support/reference.h"

namespace elit::io {
namespace {

nlohmann::json manifest_config() {
  auto cfg = elit::testing::reference_manifest()["published_format_checkpoint"]["config"];
  cfg.erase("elit");
  cfg["enable_elit"] = true;
  return cfg;
}

TEST(PublishedCheckpoint, ReadsAllParts) {
  ELIT_REQUIRE_REFERENCE(ref);
  auto ck = read_published_checkpoint(ref + "/published_format_checkpoint.pt");
  EXPECT_EQ(ck.keys, (std::vector<std::string>{"model", "ema", "opt", "args", "steps"}));
  ASSERT_TRUE(ck.steps.has_value());
  EXPECT_EQ(*ck.steps, 10);
  EXPECT_EQ(ck.args["model"], "ELIT-SiT-tiny");
  EXPECT_EQ(ck.args["elit_group_size"], 2);
  EXPECT_EQ(ck.weights.count("opt"), 0u) << "optimizer state is skipped unless asked for";
  const auto manifest = elit::testing::reference_manifest();
  std::vector<std::string> expected_keys;
  for (const auto& c : manifest["cases"]) {
    if (c["name"] == "elit_sit_tiny_g2") expected_keys = c["state_dict_keys"];
  }
  for (const char* which : {"model", "ema"}) {
    const auto& w = ck.weights.at(which);
    std::vector<std::string> keys;
    for (const auto& [k, t] : w) {
      keys.push_back(k);
      EXPECT_EQ(t.scalar_type(), torch::kFloat32) << k;
    }
    std::sort(expected_keys.begin(), expected_keys.end());
    EXPECT_EQ(keys, expected_keys) << which;
  }
  // EMA and raw weights differ after 10 steps.
  EXPECT_FALSE(torch::equal(ck.weights.at("model").at("blocks.0.attn.qkv.weight"),
                            ck.weights.at("ema").at("blocks.0.attn.qkv.weight")));
}

TEST(PublishedCheckpoint, EmaWeightsReproduceExpectedOutputs) {
  ELIT_REQUIRE_REFERENCE(ref);
  ModelFileOptions opts;
  opts.config = manifest_config();
  auto file = read_model_file(ref + "/published_format_checkpoint.pt", opts);
  EXPECT_EQ(file.config["group_size"], 2);
  EXPECT_EQ(file.config["encoder_depth"], 2);
  auto model = build_model(file, torch::kFloat64);
  auto expected = read_safetensors(ref + "/published_format_checkpoint.expected.safetensors").tensors;
  torch::NoGradGuard no_grad;
  for (double budget : {1.0, 0.5}) {
    char key[64];
    std::snprintf(key, sizeof key, "output.budget_%.4f", budget);
    auto out = model->forward(expected.at("input.x").to(torch::kFloat64),
                              expected.at("input.t").to(torch::kFloat64),
                              models::Condition::from_labels(expected.at("input.y")), budget);
    EXPECT_LT(elit::testing::max_rel_error(out, expected.at(key)), 1e-9) << key;
  }
}

TEST(PublishedCheckpoint, ConfigInferenceNamesWhatIsMissing) {
  ELIT_REQUIRE_REFERENCE(ref);
  // 'ELIT-SiT-tiny' is not a named model and the weights have no qk-norm: heads are unknowable.
  try {
    read_model_file(ref + "/published_format_checkpoint.pt");
    FAIL() << "expected an error";
  } catch (const elit::Error& e) {
    const std::string msg = e.what();
    EXPECT_TRUE(msg.find("num_heads") != std::string::npos ||
                msg.find("dit_decoder_depth") != std::string::npos)
        << msg;
  }
  ModelFileOptions opts;
  opts.weights_key = "nonexistent";
  opts.config = manifest_config();
  EXPECT_THROW(read_model_file(ref + "/published_format_checkpoint.pt", opts), elit::Error);
}

}  // namespace
}  // namespace elit::io
