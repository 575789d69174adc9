// Loading the KL autoencoder (SD-VAE) from every layout users have:
//   * ldm state_dict names ("encoder.down.0.block.0.conv1.weight"), bare, or under
//     "first_stage_model." in a full Stable Diffusion checkpoint: .ckpt (torch.save zip, read by
//     the data-only unpickler, "state_dict" entry) or .safetensors;
//   * a diffusers folder (config.json + diffusion_pytorch_model.safetensors, or a pipeline folder
//     with vae/), or such a .safetensors file alone, with current (to_q, to_out.0) or legacy
//     (query, proj_attn) attention names and Linear [C, C] or 1x1-conv [C, C, 1, 1] weights;
//   * elit's own VAE files (ldm names + "elit.vae_config" metadata), written by train-vae.
// The configuration comes from, in order: the explicit one, the file's metadata, the diffusers
// config.json, or the tensor shapes (sizes, levels, blocks, attention; scale factor 0.18215).
#pragma once
#include <nlohmann/json.hpp>
#include <optional>

#include "elit/io/safetensors.h"
#include "elit/models/autoencoder_kl.h"

namespace elit::io {

inline constexpr const char* kVAEConfigKey = "elit.vae_config";

struct VAEFile {
  models::AutoencoderKLConfig config;
  TensorMap weights;   // ldm names
  std::string source;  // path (and entry) they came from
  std::string layout;  // "ldm", "stable-diffusion", "diffusers" or "elit"
};

// Reads weights and configuration. `config` (ldm ddconfig JSON or diffusers config.json) overrides
// what the file says. Throws elit::Error naming the path and what is wrong.
VAEFile read_vae_file(const std::string& path, const std::optional<nlohmann::json>& config = {});

// Builds the autoencoder and loads the weights: a missing, unexpected or wrongly shaped key is an
// error naming it (in ldm names; diffusers names are translated). Eval mode, given dtype.
models::AutoencoderKL build_vae(const VAEFile& file, torch::Dtype dtype = torch::kFloat32);
models::AutoencoderKL load_vae(const std::string& path,
                               const std::optional<nlohmann::json>& config = {},
                               torch::Dtype dtype = torch::kFloat32);

// Writes ldm names + the configuration as metadata (elit's VAE file), atomically.
void write_vae_file(const std::string& path, models::AutoencoderKLImpl& vae);

// The configuration that ldm-named weights imply (attention levels at resolution 256 >> level;
// scale factor 0.18215). Throws naming the first key it needs and cannot find.
models::AutoencoderKLConfig infer_vae_config(const TensorMap& ldm_weights,
                                             const std::string& origin);

}  // namespace elit::io
