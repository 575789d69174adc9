// End-to-end training runs on tiny models: the loss falls when overfitting a handful of images,
// an interrupted run resumed is bit-identical to an uninterrupted one, a diverging run stops
// without touching its last checkpoint, and checkpoints load as ordinary model files.
#include "elit/train/trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "elit/data/fashion_mnist.h"
#include "elit/io/image.h"
#include "elit/io/model_file.h"
#include "elit/io/state_dict.h"
#include "elit/runtime/atomic_file.h"
#include "elit/runtime/error.h"
#include "elit/train/checkpoint.h"
#include "support/reference.h"
#include "support/tiny_training.h"

namespace elit::train {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

using elit::testing::tiny_training_config;

std::vector<json> step_log(const std::string& run_dir) {
  std::vector<json> out;
  std::ifstream in(fs::path(run_dir) / "log.jsonl");
  for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
  return out;
}

void expect_same_tensors(const io::TensorMap& a, const io::TensorMap& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (const auto& [k, t] : a) {
    ASSERT_TRUE(b.count(k)) << what << " " << k;
    EXPECT_TRUE(torch::equal(t, b.at(k))) << what << " " << k << " differs";
  }
}

void expect_same_checkpoint(const std::string& a, const std::string& b) {
  for (const char* f : {kModelFile, kEmaFile, kOptimizerFile}) {
    expect_same_tensors(io::read_safetensors(a + "/" + f).tensors,
                        io::read_safetensors(b + "/" + f).tensors, f);
  }
  auto sa = json::parse(read_file(a + "/" + kTrainerStateFile));
  auto sb = json::parse(read_file(b + "/" + kTrainerStateFile));
  for (const char* k : {"step", "data_position", "torch_rng", "budget_sampler"}) {
    EXPECT_EQ(sa[k], sb[k]) << k;
  }
}

TEST(Trainer, ResumedRunIsBitIdentical) {
  const auto out = elit::testing::temp_dir("resume");
  // Uninterrupted: 6 updates.
  Trainer whole(train_config_from_json(tiny_training_config(out, "whole")));
  EXPECT_EQ(whole.run().end_step, 6);

  // Interrupted (Ctrl-C) after 4 updates, then resumed to 6.
  auto cfg = tiny_training_config(out, "split");
  int steps = 0;
  TrainEvents stop_after_4;
  stop_after_4.should_stop = [&] { return steps == 4; };
  stop_after_4.on_step = [&](const StepLog&) { ++steps; };
  const auto first = Trainer(train_config_from_json(cfg)).run(stop_after_4);
  EXPECT_EQ(first.stop_reason, "interrupted");
  EXPECT_EQ(latest_checkpoint(out + "/split/checkpoints"), 4);
  cfg["resume_step"] = -1;
  EXPECT_EQ(Trainer(train_config_from_json(cfg)).run().end_step, 6);
  expect_same_checkpoint(out + "/whole/checkpoints/0000006", out + "/split/checkpoints/0000006");
  expect_same_checkpoint(out + "/whole/checkpoints/0000003", out + "/split/checkpoints/0000003");

  // Killed after update 5 without a checkpoint: resumes from 3 and still ends identical.
  auto killed = tiny_training_config(out, "killed");
  killed["max_train_steps"] = 5;
  killed["checkpointing_steps"] = 3;
  Trainer(train_config_from_json(killed)).run();
  fs::remove_all(out + "/killed/checkpoints/0000005");  // as if the process died before it
  killed["max_train_steps"] = 6;
  killed["resume_step"] = -1;
  Trainer(train_config_from_json(killed)).run();
  expect_same_checkpoint(out + "/whole/checkpoints/0000006", out + "/killed/checkpoints/0000006");
  // The log reads as one run: the same losses, one line per update.
  const auto a = step_log(out + "/whole"), b = step_log(out + "/killed");
  ASSERT_EQ(a.size(), 6u);
  ASSERT_EQ(b.size(), 6u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i]["loss"], b[i]["loss"]) << "update " << i + 1;
    EXPECT_EQ(a[i]["budget"], b[i]["budget"]);
  }
}

TEST(Trainer, CheckpointsAreModelFiles) {
  const auto out = elit::testing::temp_dir("ckpt_files");
  auto cfg = tiny_training_config(out, "files");
  cfg["max_train_steps"] = 3;
  cfg["sampling_steps"] = 3;
  cfg["sampling_images"] = 4;
  Trainer trainer(train_config_from_json(cfg));
  trainer.run();
  const auto dir = out + "/files/checkpoints/0000003";
  for (const char* f : {kModelFile, kEmaFile}) {
    const auto file = io::read_model_file(dir + "/" + f);
    EXPECT_EQ(file.metadata.at("elit.data_space"), "pixels");
    EXPECT_EQ(file.metadata.at("elit.dataset"), "fashion_mnist:test");
    auto model = io::build_model(file);
    EXPECT_EQ(model->spec().height, 16);
    EXPECT_EQ(model->spec().in_channels, 1);
  }
  expect_same_tensors(io::read_model_file(dir + "/" + kModelFile).weights,
                      io::state_dict(trainer.model()), "model");
  EXPECT_TRUE(fs::exists(out + "/files/args.json"));
  EXPECT_TRUE(fs::exists(out + "/files/samples/0000003.png"));
  EXPECT_TRUE(fs::exists(out + "/files/samples/0000001.png"));
  const auto log = step_log(out + "/files");
  ASSERT_EQ(log.size(), 3u);
  EXPECT_LT(log[0]["lr"].get<double>(), log[2]["lr"].get<double>());  // warmup
}

TEST(Trainer, DrawsEveryTrainingBudget) {
  const auto out = elit::testing::temp_dir("budgets");
  auto cfg = tiny_training_config(out, "budgets");
  cfg["max_train_steps"] = 40;
  cfg["checkpointing_steps"] = 1000;
  std::set<double> seen;
  TrainEvents events;
  events.on_step = [&](const StepLog& s) { seen.insert(*s.budget); };
  Trainer(train_config_from_json(cfg)).run(events);
  EXPECT_EQ(seen, (std::set<double>{0.25, 0.5, 0.75, 1.0}));
}

TEST(Trainer, Bf16AutocastTrainsWithFloat32Weights) {
  const auto out = elit::testing::temp_dir("bf16");
  auto cfg = tiny_training_config(out, "bf16");
  cfg["mixed_precision"] = "bf16";
  cfg["max_train_steps"] = 12;
  std::vector<double> losses;
  TrainEvents events;
  events.on_step = [&](const StepLog& s) {
    EXPECT_FALSE(s.skipped) << s.skip_reason;
    losses.push_back(s.loss);
  };
  Trainer trainer(train_config_from_json(cfg));
  trainer.run(events);
  ASSERT_EQ(losses.size(), 12u);
  for (double l : losses) EXPECT_TRUE(std::isfinite(l));
  for (const auto& p : trainer.model().parameters()) EXPECT_EQ(p.scalar_type(), torch::kFloat32);
}

TEST(Trainer, CorruptCheckpointIsNamed) {
  const auto out = elit::testing::temp_dir("corrupt_ckpt");
  auto cfg = tiny_training_config(out, "corrupt");
  cfg["max_train_steps"] = 1;
  Trainer(train_config_from_json(cfg)).run();
  const auto state = out + "/corrupt/checkpoints/0000001/" + kTrainerStateFile;
  std::ofstream(state) << "{ not json";
  cfg["resume_step"] = -1;
  try {
    Trainer trainer(train_config_from_json(cfg));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(state), std::string::npos) << e.what();
  }
  // A changed model configuration is refused by name.
  fs::remove_all(out + "/corrupt/checkpoints/0000001");
  Trainer(train_config_from_json(cfg)).run();  // nothing to resume: starts fresh, saves step 1
  cfg["model_config"]["hidden_size"] = 64;
  try {
    Trainer trainer(train_config_from_json(cfg));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("hidden_size"), std::string::npos) << e.what();
  }
}

// Eight Fashion-MNIST images as an image folder, one sub-folder per class.
std::string eight_images(const std::string& root) {
  const auto d = data::load_fashion_mnist("test");
  for (int64_t i = 0; i < 8; ++i) {
    const auto dir = fs::path(root) / std::to_string(d.labels[i].item<int64_t>());
    fs::create_directories(dir);
    io::write_png((dir / (std::to_string(i) + ".png")).string(), d.images[i].unsqueeze(2));
  }
  return root;
}

TEST(Trainer, OverfitsAHandfulOfImages) {
  const auto out = elit::testing::temp_dir("overfit");
  auto cfg = tiny_training_config(out, "overfit");
  cfg["dataset"] = "image_folder";
  cfg["data_dir"] = eight_images(out + "/images");
  cfg["random_flip"] = false;
  cfg["model_config"]["hidden_size"] = 64;
  cfg["model_config"]["num_heads"] = 4;
  cfg["elit_max_mask_prob"] = 0.0;
  cfg["cfg_prob"] = 0.0;
  cfg["weighting"] = "uniform";
  cfg["learning_rate"] = 2e-3;
  cfg["max_train_steps"] = 400;
  cfg["checkpointing_steps"] = 1000;
  std::vector<double> losses;
  TrainEvents events;
  events.on_step = [&](const StepLog& s) { losses.push_back(s.loss); };
  Trainer(train_config_from_json(cfg)).run(events);
  ASSERT_EQ(losses.size(), 400u);
  auto mean = [&](size_t from, size_t n) {
    double s = 0;
    for (size_t i = from; i < from + n; ++i) s += losses[i];
    return s / static_cast<double>(n);
  };
  const double start = mean(0, 20), end = mean(380, 20);
  EXPECT_LT(end, 0.35 * start) << "loss " << start << " -> " << end;
}

TEST(Trainer, DivergingRunStopsAndKeepsLastCheckpoint) {
  const auto out = elit::testing::temp_dir("diverge");
  auto cfg = tiny_training_config(out, "diverge");
  cfg["max_train_steps"] = 50;
  cfg["checkpointing_steps"] = 1;
  cfg["warmup_steps"] = 0;
  cfg["max_skipped_steps"] = 3;
  cfg["max_grad_norm"] = 0.0;
  cfg["learning_rate"] = 1e30;  // the first update blows the weights up; later losses are inf/NaN
  std::vector<std::string> messages;
  Trainer trainer(train_config_from_json(cfg), local_communicator(),
                  [&](const std::string& m) { messages.push_back(m); });
  try {
    trainer.run();
    FAIL() << "expected the run to stop";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("non-finite"), std::string::npos) << msg;
    EXPECT_NE(msg.find("untouched"), std::string::npos) << msg;
  }
  const auto last = latest_checkpoint(out + "/diverge/checkpoints");
  ASSERT_TRUE(last.has_value());
  const auto dir = out + "/diverge/checkpoints/" + checkpoint_name(*last);
  // The kept checkpoint is complete, and the skipped updates left the weights as it holds them.
  expect_same_tensors(io::read_model_file(dir + "/" + kModelFile).weights,
                      io::state_dict(trainer.model()), "model");
  int skipped = 0;
  for (const auto& m : messages) {
    if (m.find("update skipped") != std::string::npos) {
      ++skipped;
      EXPECT_NE(m.find("step " + std::to_string(*last + 1)), std::string::npos) << m;
    }
  }
  EXPECT_EQ(skipped, 3);
}

}  // namespace
}  // namespace elit::train
