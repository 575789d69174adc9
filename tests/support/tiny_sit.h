// The tiny ELIT-SiT models the tests share: 8x8 images, patch 2 (4x4 tokens), 2x2 latent groups.
#pragma once
#include <torch/torch.h>

#include "elit/models/sit.h"
#include "elit/models/sit_config.h"

namespace elit::testing {

// The one the sampling CLI tests write as a checkpoint: one channel, 2 blocks (1 before Read),
// 10 classes. Tests pick the width.
inline models::SiTConfig tiny_sampling_sit_config(int64_t hidden_size = 32) {
  models::SiTConfig c;
  c.model = "tiny";
  c.input_size = 8;
  c.patch_size = 2;
  c.in_channels = 1;
  c.hidden_size = hidden_size;
  c.depth = 2;
  c.num_heads = 2;
  c.encoder_depth = 1;
  c.dit_decoder_depth = 0;
  c.group_size = 2;
  c.num_classes = 10;
  c.enable_elit = true;
  return c;
}

// Three channels, 5 classes, `depth` blocks of which 1 before Read and 1 after Write: every part
// of the latent interface is present.
inline models::SiTConfig tiny_rgb_sit_config(bool elit, int64_t depth) {
  auto c = tiny_sampling_sit_config();
  c.model = elit ? "tiny-elit" : "tiny-sit";
  c.in_channels = 3;
  c.depth = depth;
  c.dit_decoder_depth = 1;
  c.num_classes = 5;
  c.enable_elit = elit;
  return c;
}

// A model of `config` whose every weight is drawn N(0, 0.05) from seed 0, in eval mode: the
// published init zeroes the output layers, so an initialised model's samples would not depend on
// its weights.
inline models::SiT random_sit(const models::SiTConfig& config) {
  torch::manual_seed(0);
  models::SiT model(config);
  torch::NoGradGuard no_grad;
  for (auto& p : model->parameters()) p.normal_(0, 0.05);
  model->eval();
  return model;
}

}  // namespace elit::testing
