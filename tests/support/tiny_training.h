// The tiny training run the trainer and distributed tests share: a ~40k-parameter multi-budget
// ELIT-SiT (hidden 32, 3 blocks, 2x2 latent groups) on 16x16 Fashion-MNIST (test split: quick to
// load), no previews, one thread (tiny models gain nothing from two and stay fast on a loaded
// machine). Tests override the keys they vary.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace elit::testing {

inline nlohmann::json tiny_training_config(const std::string& output_dir,
                                           const std::string& exp_name) {
  return {{"exp_name", exp_name},
          {"output_dir", output_dir},
          {"model", "ELIT-SiT-S/4"},
          {"model_config",
           {{"hidden_size", 32}, {"depth", 3}, {"num_heads", 2}, {"dit_decoder_depth", 1}}},
          {"encoder_depth", 1},
          {"elit_group_size", 2},
          {"elit_max_mask_prob", 0.75},
          {"elit_min_mask_prob", 0.0},
          {"split", "test"},
          {"resolution", 16},
          {"batch_size", 8},
          {"num_workers", 2},
          {"learning_rate", 1e-3},
          {"max_train_steps", 6},
          {"checkpointing_steps", 3},
          {"sampling_steps", 0},
          {"seed", 11},
          {"ema_decay", 0.9},
          {"warmup_steps", 2},
          {"weighting", "lognormal"},
          {"threads", 1}};
}

}  // namespace elit::testing
