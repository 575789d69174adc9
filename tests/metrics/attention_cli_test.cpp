// `elit attention` through the binary: the PNG grids, the raw maps (every group's mass 1 at every
// step, the trajectory mean equal to the mean of the steps) and the refusal of a model without a
// latent interface.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "elit/io/image.h"
#include "elit/io/model_file.h"
#include "elit/io/npz.h"
#include "elit/models/latent_interface.h"
#include "elit/models/sit.h"
#include "elit/runtime/atomic_file.h"
#include "support/reference.h"
#include "support/run_cli.h"
#include "support/tiny_sit.h"

namespace elit::metrics {
namespace {
namespace fs = std::filesystem;

std::string make_model(const std::string& name, bool elit) {
  const auto dir = testing::temp_dir(name);
  auto config = testing::tiny_sampling_sit_config(32);
  config.enable_elit = elit;
  auto model = testing::random_sit(config);
  const auto path = dir + "/model.safetensors";
  io::write_model_file(path, *model, {{"elit.data_space", "pixels"}});
  return path;
}

TEST(AttentionCli, WritesGridsAndMapsWhoseGroupsSumToOne) {
  const auto model = make_model("attention_cli", true);
  const auto out = fs::path(model).parent_path().string() + "/maps";
  const auto r = testing::run_elit("--threads 1 attention --ckpt " + model +
                                   " --classes 0,7,9 --steps 6 --budget 0.5 --t 0.4 --cfg-scale 2"
                                   " --out " +
                                   out);
  ASSERT_EQ(r.status, 0) << r.output;
  // 6 Euler steps from t = 1: the evaluation nearest 0.4 is at t = 1/3.
  ASSERT_TRUE(fs::exists(out + "/attention-t0.333333.png")) << r.output;
  const auto grid = io::read_image(out + "/attention-t0.333333.png");
  EXPECT_EQ(grid.dim(), 3);
  EXPECT_GT(grid.size(1), grid.size(0));  // 3 rows of 6 columns (image, mass, 4 slots)
  EXPECT_TRUE(fs::exists(out + "/attention-mean.png"));

  const auto arrays = io::read_npz(out + "/attention.npz");
  const auto& mass = arrays.at("mass");    // [N, S, gh, gw]
  const auto& slots = arrays.at("slots");  // [N, S, T, gh, gw]
  ASSERT_EQ(mass.sizes(), (std::vector<int64_t>{3, 6, 4, 4}));
  ASSERT_EQ(slots.sizes(), (std::vector<int64_t>{3, 6, 4, 4, 4}));
  EXPECT_EQ(arrays.at("images").sizes(), (std::vector<int64_t>{3, 8, 8, 1}));
  EXPECT_TRUE(torch::equal(arrays.at("labels"), torch::tensor({0, 7, 9}, torch::kInt64)));
  const models::GroupLayout layout{4, 4, 2};
  const auto per_group = models::group_tokens(mass.reshape({18, 16, 1}), layout).sum({2, 3});
  EXPECT_TRUE(torch::allclose(per_group, torch::ones({18, 4}), 0, 1e-5)) << per_group;
  EXPECT_TRUE(torch::allclose(arrays.at("mass_mean"), mass.mean(1), 0, 1e-6));
  EXPECT_TRUE(torch::allclose(arrays.at("slots_mean"), slots.mean(1), 0, 1e-6));
  // The maps are not uniform: Read looks somewhere.
  EXPECT_GT((mass - 0.25).abs().max().item<float>(), 0.0f);
}

TEST(AttentionCli, RefusesAModelWithoutReadAndTooManyImages) {
  const auto plain = make_model("attention_cli_plain", false);
  auto r = testing::run_elit("--threads 1 attention --ckpt " + plain + " --steps 2 --out " +
                             fs::path(plain).parent_path().string() + "/maps");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("no latent interface"), std::string::npos) << r.output;
  const auto model = make_model("attention_cli_many", true);
  r = testing::run_elit("--threads 1 attention --ckpt " + model + " --num 65 --steps 2 --out " +
                        fs::path(model).parent_path().string() + "/maps");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("at most 64 images"), std::string::npos) << r.output;
}

TEST(ReadDifficultyCli, CorrelatesReadMassWithLossOnHeldOutImages) {
  const auto model = make_model("read_difficulty_cli", true);
  const auto out = fs::path(model).parent_path().string() + "/e5";
  const auto r = testing::run_elit("--threads 1 read-difficulty --ckpt " + model +
                                   " --num 12 --batch-size 5 --times 0.3,0.7 --out " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  const auto report = nlohmann::json::parse(elit::read_file(out + "/results.json"));
  EXPECT_EQ(report["images"], 12);
  EXPECT_EQ(report["patch_pixels"], 2);
  ASSERT_EQ(report["results"].size(), 2u);
  for (const auto& row : report["results"]) {
    for (const char* key : {"mass_vs_loss", "mass_vs_variance", "chance"}) {
      const auto& c = row[key];
      EXPECT_EQ(c["images"].get<int64_t>() + c["constant_maps"].get<int64_t>(), 12) << key;
      EXPECT_GE(c["mean"].get<double>(), -1.0);
      EXPECT_LE(c["mean"].get<double>(), 1.0);
    }
  }
  EXPECT_TRUE(fs::exists(out + "/correlation.svg"));
  EXPECT_TRUE(fs::exists(out + "/table.md"));
  const auto bad = testing::run_elit("--threads 1 read-difficulty --ckpt " + model +
                                     " --times 0.5,1.5 --out " + out);
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.output.find("'1.5' is not a time in (0, 1)"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace elit::metrics
