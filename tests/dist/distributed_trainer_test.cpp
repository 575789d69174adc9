// Data-parallel training on 2 Gloo ranks over loopback (real processes): the same weights as one
// process with the same global batch and seed, rank 0's budget on every rank, only rank 0 writing,
// and a 2-rank checkpoint resumed in one process.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "elit/dist/launcher.h"
#include "elit/io/safetensors.h"
#include "elit/runtime/atomic_file.h"
#include "elit/train/checkpoint.h"
#include "elit/train/process_group_communicator.h"
#include "elit/train/trainer.h"
#include "support/reference.h"
#include "support/tiny_training.h"
#include "support/worker.h"

namespace elit::train {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

// A multi-budget ELIT-SiT of ~40k parameters on 16x16 Fashion-MNIST. cfg_prob 0.5: the model's
// label dropout drops about half of every batch, and its draws must not depend on the ranks.
json small_run(const std::string& out, const std::string& name, int64_t steps) {
  auto config = elit::testing::tiny_training_config(out, name);
  config.update({{"cfg_prob", 0.5},
                 {"num_workers", 1},
                 {"learning_rate", 2e-3},
                 {"max_train_steps", steps},
                 {"checkpointing_steps", 2},
                 {"seed", 5},
                 {"warmup_steps", 1}});
  return config;
}

// Records every scalar float64 broadcast (the per-update mask level) as this rank received it.
class RecordingCommunicator : public ProcessGroupCommunicator {
 public:
  using ProcessGroupCommunicator::ProcessGroupCommunicator;
  void broadcast(std::vector<torch::Tensor>& tensors, int root) override {
    ProcessGroupCommunicator::broadcast(tensors, root);
    if (tensors.size() == 1 && tensors[0].numel() == 1 &&
        tensors[0].scalar_type() == torch::kFloat64) {
      levels.push_back(tensors[0].item<double>());
    }
  }
  std::vector<double> levels;
};

// A rank: trains ELIT_TEST_CONFIG; with ELIT_TEST_RECORD=<dir> its output_dir is <dir>/rank<r>
// and the mask levels it used go to <dir>/levels_rank<r>.json.
ELIT_TEST_WORKER(dist_train) {
  const auto env = dist::Environment::from_env();
  auto cfg = json::parse(read_file(std::getenv("ELIT_TEST_CONFIG")));
  const char* record = std::getenv("ELIT_TEST_RECORD");
  if (record) cfg["output_dir"] = std::string(record) + "/rank" + std::to_string(env.rank);
  auto comm = std::make_shared<RecordingCommunicator>(dist::ProcessGroup::create(env, 30s));
  Trainer(train_config_from_json(cfg), comm).run();
  if (record) {
    std::ofstream(std::string(record) + "/levels_rank" + std::to_string(env.rank) + ".json")
        << json(comm->levels).dump();
  }
  return 0;
}

void run_two_ranks(const json& config, const std::string& dir, bool record) {
  const auto path = dir + "/" + config["exp_name"].get<std::string>() + ".json";
  std::ofstream(path) << config.dump();
  const int port = dist::free_port();
  std::vector<int> pids;
  for (int r = 0; r < 2; ++r) {
    std::map<std::string, std::string> env = {
        {"RANK", std::to_string(r)},  {"WORLD_SIZE", "2"},
        {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", std::to_string(port)},
        {"OMP_NUM_THREADS", "1"},     {"ELIT_TEST_CONFIG", path}};
    if (record) env["ELIT_TEST_RECORD"] = dir;
    pids.push_back(elit::testing::spawn_worker("dist_train", env));
  }
  for (int r = 0; r < 2; ++r) ASSERT_EQ(elit::testing::wait_for(pids[r], 120), 0) << "rank " << r;
}

void expect_close_checkpoints(const std::string& a, const std::string& b) {
  for (const char* file : {kModelFile, kEmaFile, kOptimizerFile}) {
    const auto ta = io::read_safetensors(a + "/" + file).tensors;
    const auto tb = io::read_safetensors(b + "/" + file).tensors;
    ASSERT_EQ(ta.size(), tb.size()) << file;
    for (const auto& [name, t] : ta) {
      ASSERT_TRUE(tb.count(name)) << file << " " << name;
      if (!t.is_floating_point()) continue;
      EXPECT_TRUE(torch::allclose(t, tb.at(name), /*rtol=*/1e-4, /*atol=*/1e-6))
          << file << " " << name << " differs by " << (t - tb.at(name)).abs().max().item<double>();
    }
  }
}

std::vector<json> logged(const std::string& run_dir, const char* key) {
  std::vector<json> out;
  std::ifstream in(fs::path(run_dir) / "log.jsonl");
  for (std::string line; std::getline(in, line);) out.push_back(json::parse(line)[key]);
  return out;
}

TEST(DistributedTraining, TwoRanksGiveTheWeightsOfOneProcess) {
  const auto out = elit::testing::temp_dir("dist_train_equal");
  // 20 kB gradient buckets: several all-reduces start while backward runs; 2 micro-batches per
  // update, so the overlapped reduction must include the first one's gradients.
  auto two = small_run(out, "two", 4);
  two.update({{"ddp_bucket_mb", 0.02}, {"gradient_accumulation_steps", 2}});
  run_two_ranks(two, out, /*record=*/true);
  auto one = small_run(out, "one", 4);
  one["gradient_accumulation_steps"] = 2;
  Trainer(train_config_from_json(one)).run();

  // The update of W ranks is the update of one process with the same global batch.
  expect_close_checkpoints(out + "/one/checkpoints/0000004",
                           out + "/rank0/two/checkpoints/0000004");
  const auto losses_one = logged(out + "/one", "loss"),
             losses_two = logged(out + "/rank0/two", "loss");
  ASSERT_EQ(losses_two.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_NEAR(losses_one[i].get<double>(), losses_two[i].get<double>(), 1e-5) << "update " << i;
  }
  // Only rank 0 writes the run folder.
  EXPECT_TRUE(fs::exists(out + "/rank0/two/args.json"));
  EXPECT_FALSE(fs::exists(out + "/rank1")) << "rank 1 wrote into its output_dir";

  // Rank 0 draws the level, both ranks train at it (rank 1 never draws one itself).
  const auto levels0 = json::parse(read_file(out + "/levels_rank0.json"));
  const auto levels1 = json::parse(read_file(out + "/levels_rank1.json"));
  ASSERT_EQ(levels0.size(), 4u);
  EXPECT_EQ(levels0, levels1);
  EXPECT_GT(std::set<double>(levels0.begin(), levels0.end()).size(), 1u)
      << "expected several mask levels in 4 updates (seed 5): " << levels0.dump();
  EXPECT_EQ(logged(out + "/rank0/two", "budget"), logged(out + "/one", "budget"));
}

TEST(DistributedTraining, AllReduceAfterBackwardGivesTheSameWeights) {
  const auto out = elit::testing::temp_dir("dist_train_after_backward");
  auto two = small_run(out, "two", 2);
  two["ddp_bucket_mb"] = 0;  // no overlap: one bucketed all-reduce after backward
  run_two_ranks(two, out, /*record=*/false);
  Trainer(train_config_from_json(small_run(out, "one", 2))).run();
  expect_close_checkpoints(out + "/one/checkpoints/0000002", out + "/two/checkpoints/0000002");
}

TEST(DistributedTraining, TwoRankCheckpointResumesInOneProcess) {
  const auto out = elit::testing::temp_dir("dist_train_resume");
  run_two_ranks(small_run(out, "split", 4), out, /*record=*/false);
  const auto saved =
      json::parse(read_file(out + "/split/checkpoints/0000004/" + kTrainerStateFile));
  EXPECT_EQ(saved["world_size"], 2);
  EXPECT_EQ(saved["torch_rng"].size(), 2u);

  auto resumed = small_run(out, "split", 6);
  resumed["resume_step"] = -1;
  const auto summary = Trainer(train_config_from_json(resumed)).run();
  EXPECT_EQ(summary.start_step, 4);
  EXPECT_EQ(summary.end_step, 6);
  Trainer(train_config_from_json(small_run(out, "whole", 6))).run();

  expect_close_checkpoints(out + "/whole/checkpoints/0000006", out + "/split/checkpoints/0000006");
  const auto a = json::parse(read_file(out + "/whole/checkpoints/0000006/" + kTrainerStateFile));
  const auto b = json::parse(read_file(out + "/split/checkpoints/0000006/" + kTrainerStateFile));
  for (const char* key : {"data_position", "torch_rng", "budget_sampler"}) {
    EXPECT_EQ(a[key], b[key]) << key;
  }
}

}  // namespace
}  // namespace elit::train
