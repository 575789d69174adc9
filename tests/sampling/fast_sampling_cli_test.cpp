// Fast sampling through the `elit` binary: `elit teacache calibrate` stores its fits in the model
// file and `--teacache` uses them (threshold 0 changes nothing; a huge one skips all but the first
// and last steps; sample.json's FLOPs per image count what ran); presets resolve to the settings
// docs/sampling.md documents, and explicit flags win over a preset.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "elit/io/model_file.h"
#include "elit/io/npz.h"
#include "elit/models/sit.h"
#include "elit/runtime/atomic_file.h"
#include "elit/sampling/budget_schedule.h"
#include "elit/sampling/presets.h"
#include "elit/sampling/teacache.h"
#include "support/reference.h"
#include "support/run_cli.h"
#include "support/tiny_sit.h"

namespace elit::sampling {
namespace {
namespace fs = std::filesystem;

testing::CliRun run_cli(const std::string& args) {
  return testing::run_elit("--threads 1 " + args);
}

// A random tiny ELIT-SiT model file (output layers not zero, so samples depend on the model).
std::string make_model(const std::string& name) {
  const auto dir = testing::temp_dir(name);
  auto model = testing::random_sit(testing::tiny_sampling_sit_config(32));
  const auto path = dir + "/model.safetensors";
  io::write_model_file(path, *model, {{"elit.data_space", "pixels"}});
  return path;
}

nlohmann::json settings(const std::string& out) {
  return nlohmann::json::parse(read_file(out + "/sample.json"));
}

TEST(TeaCacheCli, CalibrateStoresFitsThatSamplingUses) {
  const auto model = make_model("teacache_cli");
  const auto dir = fs::path(model).parent_path().string();
  auto r = run_cli("teacache calibrate --ckpt " + model +
                   " --num 4 --steps 8 --cfg-scale 2 --budgets all --out " + dir + "/calib");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto file = io::read_model_file(model);
  ASSERT_TRUE(file.metadata.count(kTeaCacheKey)) << "no calibration stored";
  const auto calibration =
      TeaCacheCalibration::from_json(nlohmann::json::parse(file.metadata.at(kTeaCacheKey)), model);
  EXPECT_EQ(calibration.fits.size(), 4u);  // budgets 1/4 .. 1 of 2x2 groups
  EXPECT_EQ(calibration.fits[0].coefficients.size(), 5u);
  EXPECT_TRUE(file.metadata.count("elit.data_space"));  // the rest of the metadata is kept
  EXPECT_TRUE(fs::exists(dir + "/calib/calibration.json"));
  EXPECT_TRUE(fs::exists(dir + "/calib/fits.svg"));

  const std::string common =
      "sample --ckpt " + model + " --classes 0,1 --num 2 --steps 6 " + "--cfg-scale 2 --out " + dir;
  r = run_cli(common + "/plain");
  ASSERT_EQ(r.status, 0) << r.output;
  r = run_cli(common + "/zero --teacache 0");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(torch::equal(io::read_npz(dir + "/plain/samples.npz").at("arr_0"),
                           io::read_npz(dir + "/zero/samples.npz").at("arr_0")));
  r = run_cli(common + "/huge --teacache 1e9");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("calibrated at budgets"), std::string::npos) << r.output;
  const auto tc = settings(dir + "/huge")["teacache"];
  EXPECT_EQ(tc["evaluations"], 12);  // 6 steps x 2 CFG branches
  EXPECT_EQ(tc["skipped"], 8);       // all but the first and last step of each branch
  EXPECT_TRUE(tc["calibrated"].get<bool>());
  EXPECT_GT(tc["flops_saved_fraction"].get<double>(), 0.0);
  // sample.json's FLOPs per image take the skipped spans off, and cheap CFG's cheaper branch.
  const double plain_flops = settings(dir + "/plain")["flops_per_image"];
  EXPECT_GT(plain_flops, 0.0);
  EXPECT_NEAR(settings(dir + "/huge")["flops_per_image"].get<double>(),
              plain_flops * (1.0 - tc["flops_saved_fraction"].get<double>()), 1e-9 * plain_flops);
  r = run_cli(common + "/ccfg --uncond-budget 0.25");
  ASSERT_EQ(r.status, 0) << r.output;
  const double ccfg_flops = settings(dir + "/ccfg")["flops_per_image"];
  EXPECT_LT(ccfg_flops, plain_flops);
  EXPECT_GT(ccfg_flops, plain_flops / 2);

  // Calibration records every step: a threshold there is a mistake, said so.
  r = run_cli("teacache calibrate --ckpt " + model + " --teacache 0.1 --out " + dir + "/x");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("--teacache is for sampling"), std::string::npos) << r.output;
}

TEST(PresetCli, PresetsResolveToTheirSettingsAndFlagsWin) {
  const auto model = make_model("preset_cli");
  const auto dir = fs::path(model).parent_path().string();
  for (const auto& p : sampling_presets()) {
    SCOPED_TRACE(p.name);
    const auto out = dir + "/" + p.name;
    const auto r = run_cli("sample --ckpt " + model + " --classes 0 --num 1 --cfg-scale 2 " +
                           "--preset " + p.name + " --out " + out);
    ASSERT_EQ(r.status, 0) << r.output;
    const auto s = settings(out);
    EXPECT_EQ(s["preset"], p.name);
    EXPECT_EQ(s["sampler"], p.sampler);
    EXPECT_EQ(s["steps"], p.steps);
    EXPECT_EQ(s["budget"], BudgetSchedule::parse(p.budget).describe());
    EXPECT_EQ(s["dtype"], p.dtype);
    EXPECT_EQ(s["guidance"], p.uncond_budget ? "ccfg" : "cfg");
    if (p.teacache > 0) {
      EXPECT_EQ(s["teacache_threshold"], p.teacache);
    } else {
      EXPECT_TRUE(s["teacache_threshold"].is_null());
    }
  }
  const auto out = dir + "/override";
  const auto r = run_cli("sample --ckpt " + model + " --classes 0 --num 1 --preset fast " +
                         "--steps 3 --dtype float32 --out " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(settings(out)["steps"], 3);
  EXPECT_EQ(settings(out)["dtype"], "float32");
  EXPECT_NE(run_cli("sample --ckpt " + model + " --preset turbo").status, 0);
}

// docs/sampling.md's preset table lists exactly what sampling_presets() resolves to.
TEST(Presets, DocumentedTableMatchesTheLibrary) {
  std::ifstream in(std::string(ELIT_SOURCE_DIR) + "/docs/sampling.md");
  ASSERT_TRUE(in) << "docs/sampling.md not found";
  // | `name` | sampler | steps | budget | guiding budget or "CFG" | TeaCache or "off" | dtype |
  const std::regex row(
      R"(^\| `(\w+)` \| (\w+) \| (\d+) \| `([^`]+)` \| ([^|]+?) \| ([^|]+?) \| (\w+) \|)");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  auto text = [](double v) {
    std::ostringstream out;
    out << v;
    return out.str();
  };
  int found = 0;
  for (const auto& line : lines) {
    std::smatch m;
    if (!std::regex_search(line, m, row)) continue;
    const auto& p = sampling_preset(m[1].str());
    SCOPED_TRACE(p.name);
    ++found;
    EXPECT_EQ(m[2].str(), p.sampler);
    EXPECT_EQ(std::stoll(m[3].str()), p.steps);
    EXPECT_EQ(m[4].str(), p.budget);
    EXPECT_EQ(m[5].str(), p.uncond_budget ? text(*p.uncond_budget) : "CFG");
    EXPECT_EQ(m[6].str(), p.teacache > 0 ? text(p.teacache) : "off");
    EXPECT_EQ(m[7].str(), p.dtype);
  }
  EXPECT_EQ(found, static_cast<int>(sampling_presets().size()));
}

}  // namespace
}  // namespace elit::sampling
