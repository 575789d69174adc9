#include "elit/models/autoencoder_kl.h"

#include "elit/runtime/error.h"

namespace elit::models {

DiagonalGaussian DiagonalGaussian::from_moments(const torch::Tensor& moments) {
  auto parts = moments.chunk(2, /*dim=*/1);  // 2 x [B, embed_dim, h, w]
  return {parts[0], parts[1].clamp(-30.0, 20.0)};
}

torch::Tensor DiagonalGaussian::std() const {
  return (0.5 * logvar).exp();
}

torch::Tensor DiagonalGaussian::sample(const torch::Tensor& eps) const {
  check(eps.sizes() == mean.sizes(), "posterior sample: eps has shape ", eps.sizes(),
        ", the posterior ", mean.sizes());
  return mean + std() * eps;
}

torch::Tensor DiagonalGaussian::kl() const {
  return 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).sum({1, 2, 3});
}

AutoencoderKLImpl::AutoencoderKLImpl(const AutoencoderKLConfig& config) : config_(config) {
  config_.validate();
  encoder = register_module("encoder", VAEEncoder(config_));
  decoder = register_module("decoder", VAEDecoder(config_));
  quant_conv =
      register_module("quant_conv", vae_conv(2 * config_.z_channels, 2 * config_.embed_dim, 1));
  post_quant_conv =
      register_module("post_quant_conv", vae_conv(config_.embed_dim, config_.z_channels, 1));
}

DiagonalGaussian AutoencoderKLImpl::encode(const torch::Tensor& x) {
  check(x.dim() == 4 && x.size(1) == config_.in_channels, "VAE encode: expected images [B, ",
        config_.in_channels, ", H, W], got ", x.sizes());
  return DiagonalGaussian::from_moments(quant_conv(encoder(x)));
}

torch::Tensor AutoencoderKLImpl::decode(const torch::Tensor& z) {
  check(z.dim() == 4 && z.size(1) == config_.embed_dim, "VAE decode: expected latents [B, ",
        config_.embed_dim, ", h, w], got ", z.sizes());
  return decoder(post_quant_conv(z));
}

torch::Tensor AutoencoderKLImpl::to_model_latents(const torch::Tensor& z) const {
  return (z - config_.shift_factor) * config_.scale_factor;
}

torch::Tensor AutoencoderKLImpl::from_model_latents(const torch::Tensor& latents) const {
  return latents / config_.scale_factor + config_.shift_factor;
}

}  // namespace elit::models
