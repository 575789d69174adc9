// The tiny ELIT-SiT the sampling CLI tests write as a checkpoint: 8x8 one-channel images, patch 2,
// 2 blocks (1 before Read), 2x2 latent groups, 10 classes. Tests pick the width.
#pragma once
#include "elit/models/sit_config.h"

namespace elit::testing {

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

}  // namespace elit::testing
