// Hostile files and flags through the `elit` binary (issue 21): each gets a one-line error that
// names what is wrong and a non-zero exit status, before any model is built or sampled.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <limits>

#include "elit/io/checkpoint_path.h"
#include "elit/io/model_file.h"
#include "elit/io/state_dict.h"
#include "elit/models/sit.h"
#include "support/reference.h"
#include "support/run_cli.h"
#include "support/tiny_sit.h"

namespace elit::app {
namespace {

using elit::testing::run_elit;

// A tiny ELIT-SiT weights file with `edit` applied to its weights and config first.
std::string tiny_weights(const std::string& name,
                         const std::function<void(io::TensorMap&, nlohmann::json&)>& edit) {
  torch::manual_seed(0);
  models::SiT model(testing::tiny_sampling_sit_config(32));
  auto weights = io::state_dict(*model);
  for (auto& [k, t] : weights) t = t.detach().clone();
  auto config = model->config_json();
  edit(weights, config);
  const auto path = testing::temp_dir("hostile_cli") + "/" + name + ".safetensors";
  io::write_model_file(path, weights, config, {{io::kDataSpaceKey, "pixels"}});
  return path;
}

void expect_error(const testing::CliRun& r, const std::string& needle) {
  EXPECT_GT(r.status, 0) << r.output;  // an error exit, not a crash (-1)
  EXPECT_NE(r.output.find(needle), std::string::npos) << r.output;
}

TEST(HostileCli, UnknownCommandIsNamedEvenWithHelp) {
  expect_error(run_elit("teleport --help"), "unknown command 'teleport'");
  expect_error(run_elit("--threads 1 teleport"), "unknown command 'teleport'");
}

TEST(HostileCli, SampleCountsAreChecked) {
  const auto w = tiny_weights("ok", [](io::TensorMap&, nlohmann::json&) {});
  const auto out = testing::temp_dir("hostile_cli_out") + "/out";
  expect_error(run_elit("--threads 1 -q sample --weights " + w + " --num 0 --steps 1 --out " + out),
               "invalid --num 0");
  // Refused at once: even the labels of 10^12 images (written block by block) would not fit.
  expect_error(run_elit("--threads 1 -q sample --weights " + w +
                        " --num 1000000000000 --steps 1 --out " + out),
               "--num 1000000000000 would hold");
  expect_error(
      run_elit("--threads 1 -q sample --weights " + w + " --budget nan --steps 1 --out " + out),
      "not a finite number");
  expect_error(
      run_elit("--threads 1 -q sample --weights " + w + " --cfg-scale nan --steps 1 --out " + out),
      "invalid guidance scale");
  EXPECT_FALSE(std::filesystem::exists(out + "/grid.png"));
}

TEST(HostileCli, NonFiniteWeightsAreRefusedBeforeSampling) {
  const auto w = tiny_weights("nan", [](io::TensorMap& weights, nlohmann::json&) {
    weights.at("final_layer.linear.weight")[0][0] = std::numeric_limits<float>::quiet_NaN();
  });
  const auto out = testing::temp_dir("hostile_cli_out") + "/nan_out";
  expect_error(run_elit("--threads 1 -q sample --weights " + w + " --steps 1 --out " + out),
               "'final_layer.linear.weight' contains NaN");
  EXPECT_FALSE(std::filesystem::exists(out + "/grid.png"));
}

TEST(HostileCli, InfoChecksTheConfigAgainstTheTensors) {
  // depth 100000 in the metadata: refused before a model of that depth is allocated.
  const auto deep =
      tiny_weights("deep", [](io::TensorMap&, nlohmann::json& c) { c["depth"] = 100000; });
  expect_error(run_elit("info " + deep), "does not describe these weights");
  const auto missing = tiny_weights("missing", [](io::TensorMap& weights, nlohmann::json&) {
    weights.erase("final_layer.linear.bias");
  });
  expect_error(run_elit("info " + missing), "final_layer.linear.bias");
}

TEST(HostileCli, TrainingFlagsAreChecked) {
  const auto dir = testing::temp_dir("hostile_cli_train");
  const std::string base = "train --exp-name t --model ELIT-SiT-S/4 --output-dir " + dir;
  expect_error(run_elit(base + " --resolution -32"), "'resolution' must be > 0, got -32");
  expect_error(run_elit(base + " --max-train-steps 1e400"), "1e400");
  expect_error(run_elit(base + " --max-train-steps 99999999999999999999999"),
               "99999999999999999999999");
}

}  // namespace
}  // namespace elit::app
