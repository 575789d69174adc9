// Training configuration: published keys accepted, unknown keys named, types checked, and the
// model configuration derived from the training keys and the dataset.
#include <gtest/gtest.h>

#include "elit/models/registry.h"
#include "elit/runtime/error.h"
#include "elit/train/trainer.h"

namespace elit::train {
namespace {
using nlohmann::json;

json minimal() {
  return {{"exp_name", "t"}, {"model", "ELIT-SiT-S/4"}};
}

std::string error_of(const json& config) {
  try {
    train_config_from_json(config);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(TrainConfig, AcceptsEveryPublishedKey) {
  // The published train.py DEFAULTS, with the values of
  // experiments/train/elit_sit_xl_256_multibudget.yaml.
  json c = {{"exp_name", "elit_sit_xl_256_multibudget"},
            {"output_dir", "exps"},
            {"report_to", "wandb"},
            {"model", "ELIT-SiT-XL/2"},
            {"data_dir", "/data"},
            {"resolution", 256},
            {"batch_size", 256},
            {"allow_tf32", true},
            {"mixed_precision", "bf16"},
            {"learning_rate", 1.0e-4},
            {"max_train_steps", 7000000},
            {"checkpointing_steps", 50000},
            {"sampling_steps", 10000},
            {"lr_scheduler_type", "constant_with_linear_warmup"},
            {"warmup_steps", 10000},
            {"path_type", "linear"},
            {"prediction", "v"},
            {"weighting", "lognormal"},
            {"enc_type", "none"},
            {"proj_coeff", 0.0},
            {"elit_max_mask_prob", 0.9375},
            {"elit_min_mask_prob", 0.0},
            {"elit_group_size", 4},
            {"seed", 0},
            {"resume_step", -1},
            {"logging_dir", "logs"},
            {"num_classes", 1000},
            {"encoder_depth", 8},
            {"fused_attn", true},
            {"qk_norm", false},
            {"s3_cache_dir", nullptr},
            {"epochs", 1400},
            {"gradient_accumulation_steps", 1},
            {"adam_beta1", 0.9},
            {"adam_beta2", 0.999},
            {"adam_weight_decay", 0.0},
            {"adam_epsilon", 1e-08},
            {"max_grad_norm", 1.0},
            {"num_workers", 4},
            {"cfg_prob", 0.1},
            {"legacy", false},
            {"stages_count", 2},
            {"stage_weights", {0.9, 0.1}},
            {"stage_sampling_thresholds", {0.1}},
            {"num_steps_per_scale", {40, 10}},
            {"elit_read_depth", 1},
            {"elit_write_depth", 1}};
  const auto t = train_config_from_json(c);
  EXPECT_EQ(t.resume_step, -1);
  EXPECT_EQ(t.warmup_steps, 10000);
  EXPECT_DOUBLE_EQ(*t.elit_max_mask_prob, 0.9375);
  EXPECT_EQ(t.mixed_precision, "bf16");
  EXPECT_EQ(t.resolved["weighting"], "lognormal");
}

TEST(TrainConfig, UnknownKeysAreNamed) {
  auto c = minimal();
  c["learning_rat"] = 1e-3;
  c["bogus-key"] = 1;
  const auto msg = error_of(c);
  EXPECT_NE(msg.find("'learning_rat'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'bogus-key'"), std::string::npos) << msg;
}

TEST(TrainConfig, HyphenatedKeysAndTypes) {
  auto c = minimal();
  c["learning-rate"] = 3e-4;
  c["max_train_steps"] = 1e3;  // YAML may read an integral float; accepted
  const auto t = train_config_from_json(c);
  EXPECT_DOUBLE_EQ(t.learning_rate, 3e-4);
  EXPECT_EQ(t.max_train_steps, 1000);
  c["batch_size"] = "big";
  EXPECT_NE(error_of(c).find("'batch_size' must be"), std::string::npos) << error_of(c);
  c = minimal();
  c["batch_size"] = 2.5;
  EXPECT_NE(error_of(c).find("batch_size"), std::string::npos);
}

TEST(TrainConfig, RequiredAndUnsupported) {
  EXPECT_NE(error_of({{"model", "SiT-S/2"}}).find("exp_name"), std::string::npos);
  EXPECT_NE(error_of({{"exp_name", "x"}}).find("model"), std::string::npos);
  auto c = minimal();
  c["enc_type"] = "dinov2-vit-b";
  c["proj_coeff"] = 0.5;
  EXPECT_NE(error_of(c).find("REPA"), std::string::npos);
  c = minimal();
  c["model"] = "DFM-SiT-XL/2";
  EXPECT_NE(error_of(c).find("DFM"), std::string::npos);
  c = minimal();
  c["max_train_steps"] = 0;
  EXPECT_NE(error_of(c).find("max_train_steps"), std::string::npos);
}

data::DatasetInfo fmnist_like() {
  data::DatasetInfo d;
  d.name = "fake";
  d.channels = 1;
  d.height = d.width = 32;
  d.num_classes = 10;
  d.labeled = true;
  return d;
}

TEST(TrainConfig, ModelConfigFromTrainingKeysAndData) {
  auto c = minimal();
  c["encoder_depth"] = 2;
  c["elit_group_size"] = 2;
  c["elit_max_mask_prob"] = 0.75;
  c["elit_min_mask_prob"] = 0.0;
  c["cfg_prob"] = 0.2;
  c["model_config"] = {
      {"hidden_size", 96}, {"depth", 5}, {"num_heads", 3}, {"dit_decoder_depth", 1}};
  const auto m = training_model_config(train_config_from_json(c), fmnist_like());
  EXPECT_EQ(m["input_size"], 32);
  EXPECT_EQ(m["in_channels"], 1);
  EXPECT_EQ(m["num_classes"], 10);
  EXPECT_EQ(m["encoder_depth"], 2);
  EXPECT_EQ(m["group_size"], 2);
  EXPECT_EQ(m["hidden_size"], 96);
  EXPECT_EQ(m["depth"], 5);
  EXPECT_EQ(m["patch_size"], 4);
  EXPECT_DOUBLE_EQ(m["class_dropout_prob"].get<double>(), 0.2);
  EXPECT_EQ(models::training_budgets(models::create_model(m)->spec()).size(), 4u);
  // Legacy mode: the model keeps its own (published default) rate; the trainer drops labels.
  c["legacy"] = true;
  const auto legacy = training_model_config(train_config_from_json(c), fmnist_like());
  EXPECT_DOUBLE_EQ(legacy["class_dropout_prob"].get<double>(), 0.1);
  // model_config wins over the training keys.
  c["model_config"]["group_size"] = 4;
  c["model_config"]["patch_size"] = 2;
  EXPECT_EQ(training_model_config(train_config_from_json(c), fmnist_like())["group_size"], 4);
  // Too few classes for the data.
  c["num_classes"] = 5;
  EXPECT_THROW(training_model_config(train_config_from_json(c), fmnist_like()), Error);
}

}  // namespace
}  // namespace elit::train
