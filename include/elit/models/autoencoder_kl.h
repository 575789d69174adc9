// AutoencoderKL: the KL-regularised autoencoder of latent diffusion (the SD-VAE), as
// CompVis/latent-diffusion ldm/models/autoencoder.py composes it: encoder -> quant_conv ->
// diagonal Gaussian posterior; z -> post_quant_conv -> decoder. Parameter names are the ldm
// state_dict keys ("encoder.down.0.block.0.conv1.weight", "quant_conv.weight", ...).
#pragma once
#include <nlohmann/json_fwd.hpp>

#include "elit/models/autoencoder_kl_coders.h"

namespace elit::models {

// ldm DiagonalGaussianDistribution: the encoder's posterior over z.
struct DiagonalGaussian {
  torch::Tensor mean, logvar;  // [B, embed_dim, h, w]; logvar clamped to [-30, 20] as published
  // moments: [B, 2 * embed_dim, h, w] (mean channels first, then logvar)
  static DiagonalGaussian from_moments(const torch::Tensor& moments);
  torch::Tensor std() const;                             // exp(logvar / 2)
  torch::Tensor sample(const torch::Tensor& eps) const;  // mean + std * eps
  // KL(posterior || N(0, I)) summed over [C, h, w]: [B] (ldm's kl()).
  torch::Tensor kl() const;
};

struct AutoencoderKLImpl : torch::nn::Module {
  explicit AutoencoderKLImpl(const AutoencoderKLConfig& config);

  // x: [B, in_channels, H, W] in [-1, 1] -> the posterior over z [B, embed_dim, H/f, W/f]
  DiagonalGaussian encode(const torch::Tensor& x);
  // z: [B, embed_dim, h, w] (VAE units, not scaled) -> [B, out_ch, h * f, w * f], about [-1, 1]
  torch::Tensor decode(const torch::Tensor& z);
  // VAE latents <-> diffusion-model latents: (z - shift) * scale and back.
  torch::Tensor to_model_latents(const torch::Tensor& z) const;
  torch::Tensor from_model_latents(const torch::Tensor& latents) const;

  const AutoencoderKLConfig& config() const { return config_; }

  VAEEncoder encoder{nullptr};
  VAEDecoder decoder{nullptr};
  torch::nn::Conv2d quant_conv{nullptr}, post_quant_conv{nullptr};

 private:
  AutoencoderKLConfig config_;
};
TORCH_MODULE(AutoencoderKL);

}  // namespace elit::models
