#include "elit/models/autoencoder_kl_blocks.h"

#include <torch/nn/functional.h>

#include <cmath>

namespace elit::models {
namespace F = torch::nn::functional;

torch::nn::GroupNorm vae_group_norm(int64_t channels, int64_t groups) {
  return torch::nn::GroupNorm(torch::nn::GroupNormOptions(groups, channels).eps(1e-6));
}

torch::nn::Conv2d vae_conv(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                           int64_t padding) {
  if (padding < 0) padding = kernel / 2;
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding));
}

VAEResnetBlockImpl::VAEResnetBlockImpl(int64_t in_channels, int64_t out_channels, int64_t groups,
                                       double dropout_p)
    : dropout(dropout_p) {
  norm1 = register_module("norm1", vae_group_norm(in_channels, groups));
  conv1 = register_module("conv1", vae_conv(in_channels, out_channels, 3));
  norm2 = register_module("norm2", vae_group_norm(out_channels, groups));
  conv2 = register_module("conv2", vae_conv(out_channels, out_channels, 3));
  // ldm's default (conv_shortcut=False) projects the skip with a 1x1 conv.
  if (in_channels != out_channels) {
    nin_shortcut = register_module("nin_shortcut", vae_conv(in_channels, out_channels, 1));
  }
}

torch::Tensor VAEResnetBlockImpl::forward(const torch::Tensor& x) {
  auto h = conv1(torch::silu(norm1(x)));  // [B, out, H, W]
  h = torch::silu(norm2(h));
  if (dropout > 0 && is_training()) h = F::dropout(h, F::DropoutFuncOptions().p(dropout));
  h = conv2(h);
  return (nin_shortcut ? nin_shortcut(x) : x) + h;
}

VAEAttnBlockImpl::VAEAttnBlockImpl(int64_t channels, int64_t groups) {
  norm = register_module("norm", vae_group_norm(channels, groups));
  q = register_module("q", vae_conv(channels, channels, 1));
  k = register_module("k", vae_conv(channels, channels, 1));
  v = register_module("v", vae_conv(channels, channels, 1));
  proj_out = register_module("proj_out", vae_conv(channels, channels, 1));
}

torch::Tensor VAEAttnBlockImpl::forward(const torch::Tensor& x) {
  const int64_t B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const auto h = norm(x);
  const auto query = q(h).reshape({B, C, H * W}).transpose(1, 2);  // [B, HW, C]
  const auto key = k(h).reshape({B, C, H * W});                    // [B, C, HW]
  const auto value = v(h).reshape({B, C, H * W});                  // [B, C, HW]
  // Scores [B, HW(query), HW(key)], softmax over keys, scaled by C^-1/2 as published.
  auto w = torch::bmm(query, key).mul_(1.0 / std::sqrt(static_cast<double>(C))).softmax(2);
  auto out = torch::bmm(value, w.transpose(1, 2)).reshape({B, C, H, W});  // [B, C, H, W]
  return x + proj_out(out);
}

VAEDownsampleImpl::VAEDownsampleImpl(int64_t channels) {
  conv = register_module("conv", vae_conv(channels, channels, 3, /*stride=*/2, /*padding=*/0));
}

torch::Tensor VAEDownsampleImpl::forward(const torch::Tensor& x) {
  // ldm pads (left 0, right 1, top 0, bottom 1) with zeros: torch has no asymmetric conv padding.
  return conv(F::pad(x, F::PadFuncOptions({0, 1, 0, 1})));
}

VAEUpsampleImpl::VAEUpsampleImpl(int64_t channels) {
  conv = register_module("conv", vae_conv(channels, channels, 3));
}

torch::Tensor VAEUpsampleImpl::forward(const torch::Tensor& x) {
  return conv(F::interpolate(x, F::InterpolateFuncOptions()
                                    .scale_factor(std::vector<double>{2.0, 2.0})
                                    .mode(torch::kNearest)));
}

}  // namespace elit::models
