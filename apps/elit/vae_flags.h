// The --vae flags shared by `elit vae`, `encode-dataset` and the sampling commands: which
// autoencoder (any layout io/vae_file.h reads), its configuration, tiling, batch and dtype.
#pragma once
#include <CLI/CLI.hpp>
#include <string>

#include "elit/data/dataset.h"
#include "elit/models/autoencoder_kl_codec.h"

namespace elit::app {

struct VAEFlags {
  std::string path, config, dtype = "float32";
  int64_t tile = 0, overlap = -1, batch = 4;
  double scale_factor = 0;  // 0: the VAE's (or the diffusion checkpoint's) own

  // --vae, --vae-config, --vae-tile, --vae-overlap, --vae-batch, --vae-dtype, --vae-scale.
  void add_to(CLI::App& cmd, bool required);
  bool given() const { return !path.empty(); }
  // Reads and builds the autoencoder (one note line saying what was loaded).
  models::AutoencoderKL load() const;
  models::VAECodecOptions codec_options() const;
};

// The pixel dataset of --data: "fashion-mnist" or an image folder (ADM centre crop to
// `resolution`, labels from class sub-folders), without random flips; warnings go to note().
data::DatasetOptions image_dataset_options(const std::string& data, int64_t resolution,
                                           const std::string& on_bad_image);

}  // namespace elit::app
