// The building blocks of the KL autoencoder, as CompVis/latent-diffusion
// ldm/modules/diffusionmodules/model.py defines them (same attribute names, so that the published
// state_dict keys load as they are): GroupNorm(eps 1e-6) + SiLU residual blocks with a 1x1
// nin_shortcut where the width changes, single-head spatial self-attention with 1x1-conv
// projections, and the stride-2 / nearest-x2 resamplers.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>

namespace elit::models {

// ldm Normalize: GroupNorm(groups, channels, eps=1e-6, affine=True).
torch::nn::GroupNorm vae_group_norm(int64_t channels, int64_t groups);
// Conv2d with a square kernel, "same" padding for odd kernels when stride is 1.
torch::nn::Conv2d vae_conv(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1,
                           int64_t padding = -1);

struct VAEResnetBlockImpl : torch::nn::Module {
  VAEResnetBlockImpl(int64_t in_channels, int64_t out_channels, int64_t groups, double dropout);
  // x: [B, in, H, W] -> [B, out, H, W]
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::GroupNorm norm1{nullptr}, norm2{nullptr};
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::Conv2d nin_shortcut{nullptr};  // only when in != out
  double dropout;
};
TORCH_MODULE(VAEResnetBlock);

// ldm AttnBlock: one head over all H*W positions, q/k/v/proj_out as 1x1 convolutions.
struct VAEAttnBlockImpl : torch::nn::Module {
  VAEAttnBlockImpl(int64_t channels, int64_t groups);
  // x: [B, C, H, W] -> [B, C, H, W]
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::GroupNorm norm{nullptr};
  torch::nn::Conv2d q{nullptr}, k{nullptr}, v{nullptr}, proj_out{nullptr};
};
TORCH_MODULE(VAEAttnBlock);

// ldm Downsample(with_conv=True): pad right and bottom by one, 3x3 conv with stride 2.
struct VAEDownsampleImpl : torch::nn::Module {
  explicit VAEDownsampleImpl(int64_t channels);
  // x: [B, C, H, W] -> [B, C, H/2, W/2] (floor for odd sizes: (H + 1 - 3) / 2 + 1)
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Conv2d conv{nullptr};
};
TORCH_MODULE(VAEDownsample);

// ldm Upsample(with_conv=True): nearest x2, then a 3x3 conv.
struct VAEUpsampleImpl : torch::nn::Module {
  explicit VAEUpsampleImpl(int64_t channels);
  // x: [B, C, H, W] -> [B, C, 2H, 2W]
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Conv2d conv{nullptr};
};
TORCH_MODULE(VAEUpsample);

}  // namespace elit::models
