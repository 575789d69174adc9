// `elit train` and `elit bench train` from the command line: help, overrides, clear errors for a
// corrupt config / unknown key / missing data, a short run resumed, and the bench JSON.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <thread>

#include "elit/io/model_file.h"
#include "elit/runtime/atomic_file.h"
#include "support/reference.h"
#include "support/worker.h"

namespace elit::testing {
namespace {
namespace fs = std::filesystem;

struct Result {
  int rc = -1;
  std::string output;
};

Result run_cli(const std::string& args) {
  Result r;
  const std::string cmd = std::string(ELIT_CLI_PATH) + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) r.output.append(buf, n);
  const int status = pclose(pipe);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string write(const fs::path& path, const std::string& text) {
  std::ofstream(path) << text;
  return path.string();
}

const char* kTiny =
    "exp_name: tiny\n"
    "model: ELIT-SiT-S/4\n"
    "model_config: {hidden_size: 32, depth: 3, num_heads: 2, dit_decoder_depth: 1}\n"
    "encoder_depth: 1\n"
    "elit_group_size: 2\n"
    "elit_max_mask_prob: 0.5\n"
    "elit_min_mask_prob: 0.0\n"
    "split: test\n"
    "resolution: 16\n"
    "batch_size: 4\n"
    "num_workers: 1\n"
    "sampling_steps: 0\n"
    "checkpointing_steps: 100\n";

TEST(TrainCli, HelpListsKeys) {
  const auto r = run_cli("train --help");
  EXPECT_EQ(r.rc, 0);
  for (const char* key : {"--resume", "learning_rate", "elit_max_mask_prob", "max_minutes",
                          "checkpoints/<step:07d>", "mixed_precision"}) {
    EXPECT_NE(r.output.find(key), std::string::npos) << key;
  }
}

TEST(TrainCli, OverridesAndErrors) {
  const fs::path dir = temp_dir("cli_train");
  const auto cfg = write(dir / "tiny.yaml", kTiny);
  auto r = run_cli("train --config " + cfg +
                   " --print-config --learning-rate 0.5 --model_config.hidden_size=64 --qk-norm"
                   " --output_dir " +
                   dir.string());
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  EXPECT_DOUBLE_EQ(j["config"]["learning_rate"].get<double>(), 0.5);
  EXPECT_EQ(j["model_config"]["hidden_size"], 64);
  EXPECT_EQ(j["model_config"]["qk_norm"], true);
  EXPECT_EQ(j["model_config"]["in_channels"], 1);

  r = run_cli("train --config " +
              write(dir / "bad_key.yaml", std::string(kTiny) + "learning_rat: 1\n"));
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.output.find("'learning_rat'"), std::string::npos) << r.output;

  r = run_cli("train --config " +
              write(dir / "corrupt.yaml", "model: [unclosed\n  exp_name: x: y\n"));
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.output.find("corrupt.yaml"), std::string::npos) << r.output;

  r = run_cli("train --config " + cfg + " --dataset image_folder --data_dir /no/such/folder");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.output.find("/no/such/folder"), std::string::npos) << r.output;

  r = run_cli("train --config " + cfg + " --batch_size");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.output.find("batch_size"), std::string::npos) << r.output;
}

TEST(TrainCli, ShortRunAndResume) {
  const fs::path dir = temp_dir("cli_run");
  const auto cfg = write(dir / "tiny.yaml", kTiny);
  auto r = run_cli("--threads 1 train --config " + cfg + " --output-dir " + dir.string() +
                   " --max-train-steps 2");
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto run = dir / "tiny";
  EXPECT_TRUE(fs::exists(run / "checkpoints/0000002/model.safetensors"));
  EXPECT_TRUE(fs::exists(run / "log.jsonl"));
  r = run_cli("--threads 1 train --config " + cfg + " --output-dir " + dir.string() +
              " --max-train-steps 3 --resume");
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find("resumed from"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(run / "checkpoints/0000003/ema.safetensors"));
  const auto file = io::read_model_file((run / "checkpoints/0000003/ema.safetensors").string());
  EXPECT_EQ(file.metadata.at("elit.step"), "3");
}

// SIGTERM (as from a scheduler) ends training after the current update, with a checkpoint of it
// that --resume continues from.
TEST(TrainCli, SigtermSavesACheckpointAndExitsCleanly) {
  const fs::path dir = temp_dir("cli_sigterm");
  const auto cfg = write(dir / "tiny.yaml", kTiny);
  const auto log = (dir / "train.log").string();
  const int pid = spawn_process(ELIT_CLI_PATH,
                                {ELIT_CLI_PATH, "--threads", "1", "train", "--config", cfg,
                                 "--output-dir", dir.string(), "--max-train-steps", "100000"},
                                {}, log);
  const auto start = std::chrono::steady_clock::now();
  auto lines = [&] {
    std::ifstream in(dir / "tiny" / "log.jsonl");
    return std::count(std::istreambuf_iterator<char>(in), {}, '\n');
  };
  while (lines() < 2 && std::chrono::steady_clock::now() - start < std::chrono::seconds(60)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGTERM);
  ASSERT_EQ(wait_for(pid, 60), 0) << elit::read_file(log);
  int64_t last = -1;
  for (const auto& e : fs::directory_iterator(dir / "tiny" / "checkpoints")) {
    last = std::max<int64_t>(last, std::stoll(e.path().filename().string()));
  }
  EXPECT_GE(last, 2) << elit::read_file(log);
  EXPECT_LT(last, 100000);
  const auto r = run_cli("--threads 1 train --config " + cfg + " --output-dir " + dir.string() +
                         " --max-train-steps " + std::to_string(last + 1) + " --resume");
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find("resumed from"), std::string::npos) << r.output;
}

TEST(BenchCli, TrainEmitsJsonLines) {
  const fs::path dir = temp_dir("cli_bench");
  const auto model = write(dir / "m.yaml",
                           "model: ELIT-SiT-S/4\ninput_size: 16\nin_channels: 1\nnum_classes: 10\n"
                           "hidden_size: 32\ndepth: 3\nnum_heads: 2\nencoder_depth: 1\n"
                           "dit_decoder_depth: 1\ngroup_size: 2\n");
  const auto r = run_cli("--threads 1 bench train --model-config " + model +
                         " --batch 2 --steps 2 --warmup 0 --budget 1,0.25");
  ASSERT_EQ(r.rc, 0) << r.output;
  std::istringstream lines(r.output);
  int count = 0;
  std::vector<double> flops;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] != '{') continue;
    const auto j = nlohmann::json::parse(line);
    for (const char* k : {"what", "model", "batch", "input_size", "budget", "dtype", "median_s",
                          "images_per_s", "peak_rss_mb", "flops"}) {
      EXPECT_TRUE(j.contains(k)) << k;
    }
    EXPECT_EQ(j["what"], "train");
    EXPECT_GT(j["images_per_s"].get<double>(), 0);
    ASSERT_TRUE(j["flops"].is_number()) << line;
    flops.push_back(j["flops"].get<double>());
    ++count;
  }
  EXPECT_EQ(count, 2);
  ASSERT_EQ(flops.size(), 2u);
  EXPECT_LT(flops[1], flops[0]);  // budget 0.25 does less work than the full budget
}

std::vector<nlohmann::json> json_lines(const std::string& output) {
  std::vector<nlohmann::json> out;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line[0] == '{') out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

const char* kBenchModel =
    "--model ELIT-SiT-S/4 --input-size 16 --in-channels 1 --num-classes 10 "
    "--hidden_size 32 --depth 3 --num-heads 2 --encoder_depth 1 "
    "--dit-decoder-depth 1 --group_size 2";

TEST(BenchCli, ForwardReportsRatiosAgainstFullBudgetAndBf16Error) {
  const auto r = run_cli(std::string("--threads 1 bench forward ") + kBenchModel +
                         " --batch 2 --steps 1 --warmup 0 --budgets 0.25,1 --dtype bf16");
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto lines = json_lines(r.output);
  ASSERT_EQ(lines.size(), 2u) << r.output;
  for (const auto& j : lines) {
    EXPECT_EQ(j["what"], "forward");
    EXPECT_EQ(j["dtype"], "bfloat16");
    EXPECT_EQ(j["input_size"], nlohmann::json({1, 16, 16}));
    EXPECT_GT(j["matmul_peak_gflops_per_s"].get<double>(), 0);
    EXPECT_GT(j["gflops_per_s"].get<double>(), 0);
    // bf16 weights and activations stay close to float32.
    EXPECT_LT(j["rel_err_vs_float32"].get<double>(), 0.05) << j;
    EXPECT_GT(j["rel_err_vs_float32"].get<double>(), 0) << j;
  }
  // Budgets are measured in interleaved rounds: a budget listed before the full one gets its
  // ratios too.
  EXPECT_DOUBLE_EQ(lines[1]["flops_ratio"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(lines[1]["time_ratio"].get<double>(), 1.0);
  EXPECT_LT(lines[0]["flops_ratio"].get<double>(), 1.0);
  EXPECT_GT(lines[0]["time_ratio"].get<double>(), 0);
}

TEST(BenchCli, SampleComparesCheapCfgWithCfg) {
  const auto r = run_cli(std::string("--threads 1 bench sample ") + kBenchModel +
                         " --batch 2 --steps 1 --warmup 0 --uncond-budget 0.25 --cfg-scale 3");
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto lines = json_lines(r.output);
  ASSERT_EQ(lines.size(), 4u) << r.output;
  EXPECT_EQ(lines[0]["guidance"], "none");
  EXPECT_EQ(lines[1]["guidance"], "cfg");
  EXPECT_EQ(lines[1]["forwards"], 1);  // both branches in one batch
  EXPECT_EQ(lines[2]["guidance"], "cfg_two_forwards");
  EXPECT_EQ(lines[2]["forwards"], 2);
  EXPECT_EQ(lines[3]["guidance"], "ccfg");
  EXPECT_EQ(lines[3]["forwards"], 2);  // cheap CFG: a separate low-budget forward
  EXPECT_EQ(lines[3]["uncond_budget"], 0.25);
  // CFG doubles the FLOPs however its branches run; cheap CFG adds a quarter-budget forward only.
  const double none = lines[0]["flops"], cfg = lines[1]["flops"], ccfg = lines[3]["flops"];
  EXPECT_DOUBLE_EQ(cfg, 2 * none);
  EXPECT_DOUBLE_EQ(lines[2]["flops"].get<double>(), cfg);
  EXPECT_GT(ccfg, none);
  EXPECT_LT(ccfg, cfg);
  EXPECT_TRUE(lines[2]["time_vs_cfg"].is_number());
  EXPECT_TRUE(lines[3]["time_vs_cfg"].is_number());
}

TEST(BenchCli, BadModelOverrideIsAClearError) {
  const auto r = run_cli(std::string("bench forward ") + kBenchModel + " --no-such-key 3");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.output.find("no_such_key"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace elit::testing
