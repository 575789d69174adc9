// Training configuration: the published train.py keys (experiments/train/*.yaml work as they are,
// after changing data_dir) plus elit's own (dataset kind, model_config overrides, ema_decay,
// device, threads, time limit, ...). One description lists every key with its help and rule (the
// defaults are TrainConfig's); it drives parsing (unknown keys are an error that names them),
// `elit train --help`, the --key overrides and the resolved configuration saved in the run folder.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "elit/runtime/config_key.h"

namespace elit::train {

using elit::ConfigKey;

// Every accepted key, in help order.
const std::vector<ConfigKey>& train_config_keys();

// Defaults here are the defaults of the configuration keys (train_config.cpp describes each key).
struct TrainConfig {
  // Run folder and schedule
  std::string output_dir = "exps", exp_name;  // exp_name: required
  int64_t resume_step = 0;                    // -1: latest checkpoint, 0: fresh, N: that step
  int64_t max_train_steps = 400000, epochs = 1400, checkpointing_steps = 10000,
          sampling_steps = 10000, sampling_images = 16;
  double max_minutes = 0;
  // Model
  std::string model;                                       // required
  nlohmann::json model_config = nlohmann::json::object();  // overrides of the model's arguments
  std::optional<int64_t> num_classes, resolution;
  int64_t encoder_depth = 8, elit_group_size = 4, elit_read_depth = 1, elit_write_depth = 1;
  bool qk_norm = false;
  std::optional<double> elit_max_mask_prob = 0.0, elit_min_mask_prob;
  // Data
  std::string dataset = "fashion_mnist", data_dir, split = "train", on_bad_image = "fail";
  std::optional<bool> random_flip;
  double latents_scale = 0.18215, latents_bias = 0.0;
  int64_t batch_size = 256, gradient_accumulation_steps = 1, num_workers = 4, prefetch = 4;
  // Optimisation
  double learning_rate = 1e-4, adam_beta1 = 0.9, adam_beta2 = 0.999, adam_weight_decay = 0,
         adam_epsilon = 1e-8, max_grad_norm = 1.0, ema_decay = 0.9999;
  std::string lr_scheduler_type = "constant_with_linear_warmup";
  int64_t warmup_steps = 0, seed = 0, max_skipped_steps = 10;
  // Objective
  std::string path_type = "linear", prediction = "v", weighting = "uniform";
  double cfg_prob = 0.1;
  bool legacy = false;
  // Runtime
  std::string mixed_precision = "no", device = "cpu";
  int64_t threads = 0;
  bool allow_tf32 = false;
  double ddp_bucket_mb = 4;
  // Published keys that are accepted and change nothing here (or are refused unless at these
  // values: REPA, S3 data and DFM are not supported).
  std::string logging_dir = "logs", report_to = "wandb", enc_type = "none", s3_cache_dir;
  bool fused_attn = true;
  double proj_coeff = 0.0;
  int64_t stages_count = 2;
  std::vector<double> stage_weights = {0.9, 0.1}, stage_sampling_thresholds = {0.1};
  std::vector<int64_t> num_steps_per_scale = {40, 10};

  nlohmann::json resolved;  // every key with its value (defaults filled in)
};

// Parses a configuration (file contents merged with command-line overrides). Throws elit::Error
// naming every unknown key, a value of the wrong type, or an unsupported published feature
// (REPA encoders, DFM models, S3 data).
TrainConfig train_config_from_json(const nlohmann::json& config);

// Published spellings use hyphens on the command line (--learning-rate); keys use underscores.
std::string normalize_key(const std::string& key);

}  // namespace elit::train
