// Where a model comes from on the command line (--ckpt) and what space it models.
//   * a model file (elit .safetensors, published .pt, reference .safetensors);
//   * a training checkpoint folder <run>/checkpoints/<step:07d>/: its ema.safetensors;
//   * a training run folder <run>/: the latest checkpoint's ema.safetensors.
#pragma once
#include <string>

#include "elit/io/model_file.h"

namespace elit::io {

inline constexpr const char* kDataSpaceKey = "elit.data_space";

// The model file `path` designates (see above). Throws elit::Error naming the path and what was
// looked for when there is none.
std::string resolve_model_path(const std::string& path);

// "pixels" or "latents": the file's "elit.data_space" metadata, else by the model's input channel
// count (1 or 3 channels are images, anything else is taken as an autoencoder's latents).
std::string model_data_space(const ModelFile& file, int64_t in_channels);

}  // namespace elit::io
