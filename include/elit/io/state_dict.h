// state_dict-style access to libtorch modules, with the published parameter names.
#pragma once
#include <torch/nn/module.h>

#include "elit/io/safetensors.h"

namespace elit::io {

// Parameters and buffers by their registered dotted names ("blocks.3.attn.qkv.weight").
TensorMap state_dict(const torch::nn::Module& module);

// Copies `weights` into the module's parameters and buffers (converting dtype and device).
// Checks every key and shape first and throws one elit::Error that names all missing, unexpected
// and mismatched entries, so nothing is half-loaded. `origin` names the source in the message.
void load_state_dict(torch::nn::Module& module, const TensorMap& weights,
                     const std::string& origin);

// Keeps the entries whose key starts with `prefix`, with the prefix removed.
TensorMap select_prefix(const TensorMap& weights, const std::string& prefix);

// Removes the prefixes that wrappers add ("module." from DDP, "model.diffusion_model." from
// SD-style files, "weight." from the reference files) when every key carries one. Where some keys
// carry "model.diffusion_model." (Stability's SD3 files with the VAE and text encoders inside),
// only those are kept.
TensorMap strip_wrapper_prefixes(const TensorMap& weights);

}  // namespace elit::io
