// The encoder and decoder of the KL autoencoder (ldm/modules/diffusionmodules/model.py Encoder and
// Decoder, without the time embedding they never use): per level `num_res_blocks` residual blocks
// (the decoder one more), attention at the resolutions listed in attn_resolutions, resampling
// between levels, and a mid stage block_1 -> attn_1 -> block_2.
#pragma once
#include <torch/nn/modules/container/modulelist.h>

#include "elit/models/autoencoder_kl_blocks.h"
#include "elit/models/autoencoder_kl_config.h"

namespace elit::models {

// One level of the encoder ("down.i") or decoder ("up.i"): blocks, optional attention after
// each block, and the resampler (downsample / upsample) where there is one.
struct VAELevelImpl : torch::nn::Module {
  torch::nn::ModuleList block{nullptr}, attn{nullptr};
  VAEDownsample downsample{nullptr};
  VAEUpsample upsample{nullptr};
  VAELevelImpl();
  // The level's blocks (and attention) without the resampler. x: [B, C_in, H, W] -> [B, C, H, W]
  torch::Tensor forward(torch::Tensor x);
};
TORCH_MODULE(VAELevel);

struct VAEMidImpl : torch::nn::Module {
  VAEMidImpl(int64_t channels, int64_t groups, double dropout);
  torch::Tensor forward(const torch::Tensor& x);  // [B, C, H, W] -> same
  VAEResnetBlock block_1{nullptr}, block_2{nullptr};
  VAEAttnBlock attn_1{nullptr};
};
TORCH_MODULE(VAEMid);

struct VAEEncoderImpl : torch::nn::Module {
  explicit VAEEncoderImpl(const AutoencoderKLConfig& config);
  // x: [B, in_channels, H, W] -> [B, 2 * z_channels, H / f, W / f] (f = 2^(levels - 1); odd
  // sizes round down at each level as ldm's Downsample does)
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Conv2d conv_in{nullptr}, conv_out{nullptr};
  torch::nn::ModuleList down{nullptr};
  VAEMid mid{nullptr};
  torch::nn::GroupNorm norm_out{nullptr};
};
TORCH_MODULE(VAEEncoder);

struct VAEDecoderImpl : torch::nn::Module {
  explicit VAEDecoderImpl(const AutoencoderKLConfig& config);
  // z: [B, z_channels, h, w] -> [B, out_ch, h * f, w * f]
  torch::Tensor forward(const torch::Tensor& z);

  torch::nn::Conv2d conv_in{nullptr}, conv_out{nullptr};
  VAEMid mid{nullptr};
  torch::nn::ModuleList up{nullptr};  // up[i] is level i; they run from the deepest level
  torch::nn::GroupNorm norm_out{nullptr};
};
TORCH_MODULE(VAEDecoder);

}  // namespace elit::models
