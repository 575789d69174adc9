// Training configuration: the published train.py keys (experiments/train/*.yaml work as they are,
// after changing data_dir) plus elit's own (dataset kind, model_config overrides, ema_decay,
// device, threads, time limit, ...). One table lists every key with its default and help; it
// drives parsing (unknown keys are an error that names them), `elit train --help` and the
// resolved configuration saved in the run folder.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace elit::train {

struct ConfigKey {
  std::string name;
  nlohmann::json default_value;
  std::string type;  // "int", "float", "string", "bool", "object", "list"; "?" suffix: nullable
  std::string help;
  bool published = true;  // a published train.py key (false: elit's own)
};

// Every accepted key, in help order.
const std::vector<ConfigKey>& train_config_keys();

struct TrainConfig {
  // Run folder and schedule
  std::string output_dir, exp_name;
  int64_t resume_step = 0;  // -1: latest checkpoint, 0: fresh, N: that step
  int64_t max_train_steps = 0, epochs = 0, checkpointing_steps = 0, sampling_steps = 0;
  int64_t sampling_images = 16;
  double max_minutes = 0;
  // Model
  std::string model;
  nlohmann::json model_config;  // overrides of the model's constructor arguments
  std::optional<int64_t> num_classes, resolution;
  int64_t encoder_depth = 8, elit_group_size = 4, elit_read_depth = 1, elit_write_depth = 1;
  bool qk_norm = false;
  std::optional<double> elit_max_mask_prob, elit_min_mask_prob;
  // Data
  std::string dataset, data_dir, split, on_bad_image;
  std::optional<bool> random_flip;
  double latents_scale = 0.18215, latents_bias = 0.0;
  int64_t batch_size = 0, gradient_accumulation_steps = 1, num_workers = 0, prefetch = 4;
  // Optimisation
  double learning_rate = 1e-4, adam_beta1 = 0.9, adam_beta2 = 0.999, adam_weight_decay = 0,
         adam_epsilon = 1e-8, max_grad_norm = 1.0, ema_decay = 0.9999;
  std::string lr_scheduler_type;
  int64_t warmup_steps = 0, seed = 0, max_skipped_steps = 10;
  // Objective
  std::string path_type, prediction, weighting;
  double cfg_prob = 0.1;
  bool legacy = false;
  // Runtime
  std::string mixed_precision, device;
  int64_t threads = 0;
  bool allow_tf32 = false;
  double ddp_bucket_mb = 4;

  nlohmann::json resolved;  // every key with its value (defaults filled in)
};

// Parses a configuration (file contents merged with command-line overrides). Throws elit::Error
// naming every unknown key, a value of the wrong type, or an unsupported published feature
// (REPA encoders, DFM models, S3 data).
TrainConfig train_config_from_json(const nlohmann::json& config);

// Published spellings use hyphens on the command line (--learning-rate); keys use underscores.
std::string normalize_key(const std::string& key);

}  // namespace elit::train
