// The tiny U-ViT, HDiT and text-conditioned MM-DiT configurations the backbone tests share, so
// that the per-backbone tests and the typed tests over all backbones build the same models.
#pragma once
#include "elit/models/hdit_config.h"
#include "elit/models/mmdit_config.h"
#include "elit/models/uvit_config.h"

namespace elit::testing {

// 8x8x3 input, patch 2: 4x4 tokens in 4 groups of 2x2 latents; `spatial` blocks at each end run
// on spatial tokens.
inline models::UViTConfig tiny_uvit_config(bool elit, int64_t spatial = 1) {
  models::UViTConfig c;
  c.model = elit ? "tiny-elit-uvit" : "tiny-uvit";
  c.img_size = 8;
  c.patch_size = 2;  // 4x4 tokens
  c.in_chans = 3;
  c.embed_dim = 32;
  c.depth = 6;  // 3 in-blocks, mid, 3 out-blocks
  c.num_heads = 2;
  c.num_classes = 6;  // 5 classes + null
  c.enable_elit = elit;
  c.encoder_depth = c.decoder_depth = spatial;
  c.group_size = 2;  // 4 groups of 4 latents
  return c;
}

// 16x16x3 input, patch 2: level 0 is 8x8 tokens (neighbourhood attention, kernel 3), the mid level
// 4x4 tokens (global attention) in 4 groups of 2x2 latents.
inline models::HDiTConfig tiny_hdit_config(bool elit, int64_t h = 16, int64_t w = 16) {
  models::HDiTConfig c;
  c.model = elit ? "tiny-elit-hdit" : "tiny-hdit";
  c.input_channels = 3;
  c.input_h = h;
  c.input_w = w;
  c.patch_h = c.patch_w = 2;
  c.levels = {models::HDiTLevelSpec{1, 16, 32, "neighborhood", 8, 3, 0.0},
              models::HDiTLevelSpec{4, 32, 64, "global", 8, 0, 0.0}};
  c.mapping_depth = 1;
  c.mapping_width = 24;
  c.mapping_d_ff = 48;
  c.num_classes = 6;
  c.enable_elit = elit;
  c.group_size = 2;
  c.encoder_depth = 1;
  c.decoder_depth = 1;
  return c;
}

// ELIT-MM-DiT with the built-in text encoder: 8x8x1 input, three captions of at most 8 tokens.
inline models::MMDiTConfig tiny_text_mmdit_config() {
  models::MMDiTConfig c;
  c.model = "tiny-text-mmdit";
  c.input_height = c.input_width = 8;
  c.in_channels = 1;
  c.depth = 3;
  c.hidden_size = 32;
  c.num_heads = 2;
  c.text_encoder = "builtin";
  c.captions = {"a photo of a trouser", "a photo of a bag", "a photo of an ankle boot"};
  c.text_max_tokens = 8;
  c.text_width = 16;
  c.text_depth = 1;
  c.text_heads = 2;
  c.enable_elit = true;
  c.encoder_depth = 1;
  c.dit_decoder_depth = 1;
  c.group_size = 2;
  return c;
}

}  // namespace elit::testing
