// Batched conversion between images and diffusion-model latents through a KL autoencoder:
// images [-1, 1] -> posterior -> (z - shift) * scale, and back, a few images at a time (tiled
// when asked) so that memory stays bounded whatever the number of images.
#pragma once
#include <functional>

#include "elit/models/autoencoder_kl_tiling.h"

namespace elit::models {

struct VAECodecOptions {
  VAETiling tiling;
  int64_t batch_size = 4;                // images coded at once
  double scale_factor = 0.0;             // 0: the VAE's own (config scale_factor)
  double shift_factor = 0.0;             // used with an explicit scale_factor
  torch::Dtype dtype = torch::kFloat32;  // the VAE's dtype; inputs are cast to it
  std::function<void(int64_t done, int64_t total)> progress;  // after each batch
};

// Model-space latents [N, embed_dim, h, w] -> images [N, out_ch, h f, w f] in [-1, 1] (float32,
// clamped).
torch::Tensor decode_latents(AutoencoderKLImpl& vae, const torch::Tensor& latents,
                             const VAECodecOptions& options);

// Images [N, in_channels, H, W] in [-1, 1] -> the posterior's mean and std, [N, 2 embed_dim, h, w]
// float32 in VAE units (what the published preprocessing stores and latent shards hold).
torch::Tensor encode_mean_std(AutoencoderKLImpl& vae, const torch::Tensor& images,
                              const VAECodecOptions& options);

// The (scale, shift) these options apply for this VAE.
std::pair<double, double> latent_scaling(const AutoencoderKLImpl& vae,
                                         const VAECodecOptions& options);

}  // namespace elit::models
