// Configuration of the KL autoencoder of latent diffusion (the SD-VAE): the published `ddconfig`
// of CompVis/latent-diffusion (ldm/modules/diffusionmodules/model.py Encoder/Decoder) with the
// same names and the SD-VAE's values as defaults, plus `embed_dim` and the scale factor that
// maps posterior samples to diffusion-model latents. Readers for ldm configs (JSON/YAML parsed to
// JSON) and diffusers `config.json` files reject unknown keys by name.
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace elit::models {

struct AutoencoderKLConfig {
  // ldm ddconfig (the SD-VAE: models/first_stage_models/kl-f8 and Stable Diffusion v1/v2).
  bool double_z = true;  // the encoder outputs mean and logvar (2 * z_channels)
  int64_t z_channels = 4;
  int64_t resolution = 256;  // only decides at which levels attn_resolutions apply
  int64_t in_channels = 3;
  int64_t out_ch = 3;
  int64_t ch = 128;
  std::vector<int64_t> ch_mult = {1, 2, 4, 4};
  int64_t num_res_blocks = 2;
  std::vector<int64_t> attn_resolutions = {};
  double dropout = 0.0;  // inference never drops; kept for the published key
  // AutoencoderKL
  int64_t embed_dim = 4;     // channels of the latent z (quant_conv output / 2)
  int64_t norm_groups = 32;  // GroupNorm groups (ldm Normalize: 32; diffusers norm_num_groups)
  // Diffusion-model latents are (z - shift_factor) * scale_factor (SD: 0.18215, shift 0).
  double scale_factor = 0.18215;
  double shift_factor = 0.0;

  int64_t levels() const { return static_cast<int64_t>(ch_mult.size()); }
  // Pixels per latent along each side: 2^(levels - 1) (8 for the SD-VAE).
  int64_t downsample_factor() const { return int64_t{1} << (levels() - 1); }
  // Throws elit::Error naming the first inconsistent field.
  void validate() const;
};

// An ldm configuration: the ddconfig keys at the top level, or {"embed_dim", "ddconfig": {...}}
// as in the published model YAMLs' `first_stage_config.params` (monitor and lossconfig are
// accepted and ignored: they only matter for training the GAN). Also "scale_factor",
// "shift_factor", "norm_groups". Unknown keys are an error naming them.
AutoencoderKLConfig autoencoder_kl_config_from_json(const nlohmann::json& j);
nlohmann::json autoencoder_kl_config_to_json(const AutoencoderKLConfig& config);

// A diffusers AutoencoderKL config.json (block_out_channels, layers_per_block, latent_channels,
// scaling_factor, ...). Unknown keys and unsupported block types are errors naming them.
AutoencoderKLConfig autoencoder_kl_config_from_diffusers(const nlohmann::json& j);

// True when `j` looks like a diffusers config (has "block_out_channels" or "_class_name").
bool is_diffusers_vae_config(const nlohmann::json& j);

}  // namespace elit::models
