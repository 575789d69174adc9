// Training a small KL autoencoder on this CPU: reconstruction (L1 or L2) plus a weighted KL to
// the unit Gaussian, the loss of ldm's LPIPSWithDiscriminator with the perceptual and GAN terms
// left out (no pretrained network or discriminator exists here). With the posterior's logvar
// fixed at 0 as ldm starts it, ldm's nll is the summed reconstruction error; here both terms are
// divided by the pixels per image, which keeps ldm's ratio between them:
//   loss = mean |x - decode(z)|  +  kl_weight * KL(q(z|x) || N(0, I)) / (C H W).
#pragma once
#include <functional>

#include "elit/data/dataset.h"
#include "elit/models/autoencoder_kl.h"

namespace elit::train {

struct VAETrainOptions {
  std::string loss = "l1";  // l1 | l2
  double kl_weight = 1e-6;  // ldm kl-f8: 1e-6
  double learning_rate = 1e-3;
  int64_t batch_size = 32;
  int64_t steps = 1000;
  double max_minutes = 0;  // stop early after this long (0: no limit)
  int64_t holdout = 0;     // the last N examples are never trained on (for evaluation)
  uint64_t seed = 0;
};

struct VAETrainStep {
  int64_t step = 0;
  double loss = 0, reconstruction = 0, kl = 0, seconds = 0;
};

struct VAETrainResult {
  int64_t steps = 0;
  double seconds = 0, last_loss = 0;
};

// Trains `vae` (float32, CPU) on examples of `data` drawn at random (torch's RNG seeded with
// options.seed); `on_step` after each update.
VAETrainResult train_vae(models::AutoencoderKLImpl& vae, const data::Dataset& data,
                         const VAETrainOptions& options,
                         const std::function<void(const VAETrainStep&)>& on_step = {});

// Examples [begin, begin + count) of a dataset as one batch [count, C, H, W] (and their labels).
torch::Tensor dataset_images(const data::Dataset& data, int64_t begin, int64_t count);

// PSNR in dB of encode (posterior mean) -> decode over images in [-1, 1] (peak-to-peak 2).
double reconstruction_psnr(models::AutoencoderKLImpl& vae, const torch::Tensor& images);

// 1 / std of the posterior means over `images`: the scale that gives diffusion-model latents unit
// variance, how the SD-VAE's 0.18215 was chosen.
double fitted_scale_factor(models::AutoencoderKLImpl& vae, const torch::Tensor& images);

}  // namespace elit::train
