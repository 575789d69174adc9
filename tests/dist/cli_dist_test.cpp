// The distributed commands from the command line: `elit train` as a torchrun-style rank (a killed
// peer stops it within --dist-timeout; a bad rendezvous is a clear error), `elit sample --nproc 2`
// byte-identical to one process, and `elit bench train --nproc 2`.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "elit/dist/launcher.h"
#include "elit/io/checkpoint_path.h"
#include "elit/io/model_file.h"
#include "elit/io/npz.h"
#include "elit/models/sit.h"
#include "elit/runtime/atomic_file.h"
#include "support/reference.h"
#include "support/tiny_sit.h"
#include "support/worker.h"

namespace elit::testing {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

const char* kTrainConfig =
    "exp_name: run\n"
    "model: ELIT-SiT-S/4\n"
    "model_config: {hidden_size: 32, depth: 2, num_heads: 2, dit_decoder_depth: 1}\n"
    "encoder_depth: 1\n"
    "elit_group_size: 2\n"
    "split: test\n"
    "resolution: 16\n"
    "batch_size: 4\n"
    "num_workers: 1\n"
    "sampling_steps: 0\n"
    "checkpointing_steps: 1000000\n"
    "max_train_steps: 1000000\n"
    "threads: 1\n";

std::map<std::string, std::string> rank_env(int rank, int port, const std::string& addr) {
  return {{"RANK", std::to_string(rank)},
          {"WORLD_SIZE", "2"},
          {"MASTER_ADDR", addr},
          {"MASTER_PORT", std::to_string(port)},
          {"OMP_NUM_THREADS", "1"}};
}

int spawn_cli(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
              const std::string& log) {
  std::vector<std::string> argv = {ELIT_CLI_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  return spawn_process(ELIT_CLI_PATH, argv, env, log);
}

size_t lines_in(const fs::path& path) {
  std::ifstream in(path);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

TEST(DistributedCli, KilledRankStopsTheOtherWithinTheTimeout) {
  const fs::path dir = temp_dir("dist_cli_kill");
  std::ofstream(dir / "run.yaml") << kTrainConfig;
  const int port = dist::free_port();
  std::vector<std::string> args = {
      "train",          "--config", (dir / "run.yaml").string(), "--output_dir", dir.string(),
      "--dist-timeout", "5"};
  const auto log0 = (dir / "rank0.log").string();
  const int p0 = spawn_cli(args, rank_env(0, port, "127.0.0.1"), log0);
  const int p1 = spawn_cli(args, rank_env(1, port, "127.0.0.1"), (dir / "rank1.log").string());
  // Mid-run: a few updates logged by rank 0.
  const auto start = std::chrono::steady_clock::now();
  while (lines_in(dir / "run" / "log.jsonl") < 3 && seconds_since(start) < 60) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_GE(lines_in(dir / "run" / "log.jsonl"), 3u) << read_file(log0);
  kill(p1, SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  const int code = wait_for(p0, 30);
  wait_for(p1, 10);
  if (code == -1) kill(p0, SIGKILL);
  EXPECT_NE(code, 0) << "rank 0 must fail when its peer dies";
  EXPECT_NE(code, -1) << "rank 0 hung after its peer died";
  EXPECT_LT(seconds_since(killed), 20);
  const auto output = read_file(log0);
  EXPECT_NE(output.find("a peer died or did not answer within 5 s"), std::string::npos) << output;
}

TEST(DistributedCli, BadRendezvousIsAClearError) {
  const fs::path dir = temp_dir("dist_cli_rendezvous");
  std::ofstream(dir / "run.yaml") << kTrainConfig;
  const std::vector<std::string> args = {
      "train",          "--config", (dir / "run.yaml").string(), "--output_dir", dir.string(),
      "--dist-timeout", "2"};
  // Rank 1 with nobody hosting the store at this port.
  const auto log = (dir / "rank1.log").string();
  const auto start = std::chrono::steady_clock::now();
  const int pid = spawn_cli(args, rank_env(1, dist::free_port(), "127.0.0.1"), log);
  EXPECT_EQ(wait_for(pid, 30), 1);
  EXPECT_LT(seconds_since(start), 25);
  auto output = read_file(log);
  EXPECT_NE(output.find("cannot reach the rendezvous at MASTER_ADDR:MASTER_PORT = 127.0.0.1:"),
            std::string::npos)
      << output;
  // A port that is not a number names the variable.
  auto env = rank_env(0, 1, "127.0.0.1");
  env["MASTER_PORT"] = "29x";
  EXPECT_EQ(wait_for(spawn_cli(args, env, log), 30), 1);
  output = read_file(log);
  EXPECT_NE(output.find("MASTER_PORT='29x'"), std::string::npos) << output;
}

std::string tiny_checkpoint(const fs::path& dir) {
  const auto c = elit::testing::tiny_sampling_sit_config();
  torch::manual_seed(3);
  models::SiT model(c);
  const auto path = (dir / "ema.safetensors").string();
  io::write_model_file(path, *model, {{io::kDataSpaceKey, "pixels"}});
  return path;
}

TEST(DistributedCli, SamplingOnTwoRanksEqualsOneProcess) {
  const fs::path dir = temp_dir("dist_cli_sample");
  const auto ckpt = tiny_checkpoint(dir);
  // 11 images in batches of 3: 4 batches, rank 0 takes 2 (6 images), rank 1 the other 5.
  const std::vector<std::string> args = {
      "--threads", "1",           "sample",  "--ckpt",    ckpt,
      "--num",     "11",          "--steps", "3",         "--batch-size",
      "3",         "--cfg-scale", "2",       "--sampler", "sde",
      "--budget",  "0.5",         "--seed",  "9"};
  auto one = args, two = args, rounds = args;
  one.insert(one.end(), {"--out", (dir / "one").string()});
  two.insert(two.end(), {"--out", (dir / "two").string(), "--nproc", "2", "--dist-timeout", "30"});
  // Rounds of one batch per rank ([0, 6): rank 0 takes 0-2, rank 1 3-5; then 6-8 and 9-10),
  // gathered and written round by round: the same files.
  rounds.insert(rounds.end(), {"--out", (dir / "rounds").string(), "--nproc", "2", "--dist-timeout",
                               "30", "--write-every", "3"});
  ASSERT_EQ(wait_for(spawn_cli(one, {}, (dir / "one.log").string()), 60), 0)
      << read_file((dir / "one.log").string());
  const auto a = io::read_npz((dir / "one" / "samples.npz").string());
  ASSERT_EQ(a.at("arr_0").size(0), 11);
  EXPECT_GT(a.at("arr_0").to(torch::kFloat32).std().item<double>(), 1.0) << "blank images";
  for (const char* name : {"two", "rounds"}) {
    const auto log = (dir / (std::string(name) + ".log")).string();
    ASSERT_EQ(wait_for(spawn_cli(name == std::string("two") ? two : rounds, {}, log), 60), 0)
        << read_file(log);
    const auto b = io::read_npz((dir / name / "samples.npz").string());
    for (const char* key : {"arr_0", "arr_1"}) {
      EXPECT_TRUE(torch::equal(a.at(key), b.at(key))) << name << ": " << key << " differs";
    }
    for (const char* file : {"grid.png", "images/000000.png", "images/000010.png"}) {
      EXPECT_EQ(read_file((dir / "one" / file).string()), read_file((dir / name / file).string()))
          << name << ": " << file;
    }
    EXPECT_FALSE(fs::exists(dir / name / "images" / "000011.png")) << name;
  }
}

TEST(DistributedCli, BenchTrainReportsScalingEfficiency) {
  const fs::path dir = temp_dir("dist_cli_bench");
  const auto log = (dir / "bench.log").string();
  std::ofstream(dir / "model.json") << R"({"model": "SiT-S/4", "hidden_size": 32, "depth": 2,
      "num_heads": 2, "input_size": 8, "in_channels": 1, "num_classes": 3})";
  const int pid = spawn_cli(
      {"bench", "train", "--model-config", (dir / "model.json").string(), "--batch", "4", "--steps",
       "2", "--warmup", "1", "--nproc", "2", "--out", (dir / "bench.jsonl").string()},
      {}, log);
  ASSERT_EQ(wait_for(pid, 120), 0) << read_file(log);
  std::ifstream in(dir / "bench.jsonl");
  std::string line;
  ASSERT_TRUE(std::getline(in, line)) << read_file(log);
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["processes"], 2);
  EXPECT_EQ(j["batch"], 4);
  EXPECT_GE(j["threads"].get<int>(), 1);
  const double speedup = j["images_per_s"].get<double>() / j["baseline_images_per_s"].get<double>();
  EXPECT_NEAR(j["speedup"].get<double>(), speedup, 1e-9);
  EXPECT_NEAR(j["scaling_efficiency"].get<double>(), speedup / 2, 1e-9);
  EXPECT_GT(j["baseline_median_s"].get<double>(), 0);
}

}  // namespace
}  // namespace elit::testing
