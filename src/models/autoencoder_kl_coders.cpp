#include "elit/models/autoencoder_kl_coders.h"

#include <algorithm>

namespace elit::models {
namespace {

bool has_attention(const AutoencoderKLConfig& c, int64_t resolution) {
  return std::count(c.attn_resolutions.begin(), c.attn_resolutions.end(), resolution) > 0;
}

// Fills `level` with `blocks` residual blocks from `in` to `out` channels, each followed by
// attention when the level's resolution is listed. Returns the level's output width.
int64_t fill_level(VAELevelImpl& level, const AutoencoderKLConfig& c, int64_t in, int64_t out,
                   int64_t blocks, int64_t resolution) {
  for (int64_t i = 0; i < blocks; ++i) {
    level.block->push_back(VAEResnetBlock(in, out, c.norm_groups, c.dropout));
    in = out;
    if (has_attention(c, resolution)) level.attn->push_back(VAEAttnBlock(in, c.norm_groups));
  }
  return in;
}

}  // namespace

VAELevelImpl::VAELevelImpl() {
  block = register_module("block", torch::nn::ModuleList());
  attn = register_module("attn", torch::nn::ModuleList());
}

torch::Tensor VAELevelImpl::forward(torch::Tensor x) {
  const bool with_attn = !attn->is_empty();
  for (size_t i = 0; i < block->size(); ++i) {
    x = block[i]->as<VAEResnetBlock>()->forward(x);
    if (with_attn) x = attn[i]->as<VAEAttnBlock>()->forward(x);
  }
  return x;
}

VAEMidImpl::VAEMidImpl(int64_t channels, int64_t groups, double dropout) {
  block_1 = register_module("block_1", VAEResnetBlock(channels, channels, groups, dropout));
  attn_1 = register_module("attn_1", VAEAttnBlock(channels, groups));
  block_2 = register_module("block_2", VAEResnetBlock(channels, channels, groups, dropout));
}

torch::Tensor VAEMidImpl::forward(const torch::Tensor& x) {
  return block_2(attn_1(block_1(x)));
}

VAEEncoderImpl::VAEEncoderImpl(const AutoencoderKLConfig& c) {
  c.validate();
  conv_in = register_module("conv_in", vae_conv(c.in_channels, c.ch, 3));
  down = register_module("down", torch::nn::ModuleList());
  int64_t width = c.ch, resolution = c.resolution;
  for (int64_t i = 0; i < c.levels(); ++i) {
    VAELevel level;
    width = fill_level(*level, c, width, c.ch * c.ch_mult[i], c.num_res_blocks, resolution);
    if (i + 1 < c.levels()) {
      level->downsample = level->register_module("downsample", VAEDownsample(width));
      resolution /= 2;
    }
    down->push_back(level);
  }
  mid = register_module("mid", VAEMid(width, c.norm_groups, c.dropout));
  norm_out = register_module("norm_out", vae_group_norm(width, c.norm_groups));
  conv_out = register_module("conv_out", vae_conv(width, 2 * c.z_channels, 3));
}

torch::Tensor VAEEncoderImpl::forward(const torch::Tensor& x) {
  auto h = conv_in(x);  // [B, ch, H, W]
  for (size_t i = 0; i < down->size(); ++i) {
    auto level = down[i]->as<VAELevel>();
    h = level->forward(h);
    if (level->downsample) h = level->downsample(h);  // halves H and W
  }
  h = mid(h);
  return conv_out(torch::silu(norm_out(h)));  // [B, 2 z, H / f, W / f]
}

VAEDecoderImpl::VAEDecoderImpl(const AutoencoderKLConfig& c) {
  c.validate();
  int64_t width = c.ch * c.ch_mult.back();
  int64_t resolution = c.resolution >> (c.levels() - 1);
  conv_in = register_module("conv_in", vae_conv(c.z_channels, width, 3));
  mid = register_module("mid", VAEMid(width, c.norm_groups, c.dropout));
  // Built from the deepest level up, stored by level index (ldm inserts each at the front).
  std::vector<VAELevel> levels(c.levels(), nullptr);
  for (int64_t i = c.levels() - 1; i >= 0; --i) {
    VAELevel level;
    width = fill_level(*level, c, width, c.ch * c.ch_mult[i], c.num_res_blocks + 1, resolution);
    if (i > 0) {
      level->upsample = level->register_module("upsample", VAEUpsample(width));
      resolution *= 2;
    }
    levels[i] = level;
  }
  up = register_module("up", torch::nn::ModuleList());
  for (auto& level : levels) up->push_back(level);
  norm_out = register_module("norm_out", vae_group_norm(width, c.norm_groups));
  conv_out = register_module("conv_out", vae_conv(width, c.out_ch, 3));
}

torch::Tensor VAEDecoderImpl::forward(const torch::Tensor& z) {
  auto h = mid(conv_in(z));  // [B, ch * ch_mult[-1], h, w]
  for (int64_t i = static_cast<int64_t>(up->size()) - 1; i >= 0; --i) {
    auto level = up[i]->as<VAELevel>();
    h = level->forward(h);
    if (level->upsample) h = level->upsample(h);  // doubles H and W
  }
  return conv_out(torch::silu(norm_out(h)));  // [B, out_ch, h * f, w * f]
}

}  // namespace elit::models
