// Encoding an image dataset into the latent shards that LatentShardDataset (and so `elit train`)
// reads, the way the published preprocessing does: every image (ADM centre crop, done by the
// dataset) is encoded by the VAE and its posterior mean and std are stored, 8 channels for the
// SD-VAE, so that training draws z = (mean + std * eps) * 0.18215 as published train.py does.
// Optionally the mirrored image is encoded too, as its own example.
//
// Shards are written one at a time, atomically (shard-00000.safetensors, ...; "mean_std",
// "labels"). A run that stops is resumed by calling again with the same arguments: complete
// shards are kept and checked, the rest is encoded.
#pragma once
#include <functional>
#include <string>

#include "elit/data/dataset.h"
#include "elit/models/autoencoder_kl_codec.h"

namespace elit::data {

struct EncodeDatasetOptions {
  int64_t shard_size = 4096;  // examples per shard
  bool flips = false;         // also encode the horizontally mirrored image
  int64_t max_images = 0;     // 0: every image
  models::VAECodecOptions codec;
  std::function<void(int64_t done, int64_t total)> progress;  // examples encoded so far
};

struct EncodeDatasetResult {
  int64_t examples = 0, shards = 0, resumed_shards = 0;
  std::vector<int64_t> latent_shape;  // [2C, h, w]
};

EncodeDatasetResult encode_dataset(models::AutoencoderKLImpl& vae, const Dataset& images,
                                   const std::string& out_dir, const EncodeDatasetOptions& options);

}  // namespace elit::data
