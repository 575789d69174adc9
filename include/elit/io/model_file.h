// Loading and saving whole models: weights + configuration in one file.
//   * elit safetensors: the state_dict plus "__metadata__" {"elit.model_config": <json>}
//   * published train.py checkpoints (.pt, torch.save zip): "ema" (default) or "model" weights,
//     configuration inferred from the training arguments and the tensor shapes
//   * any other safetensors state_dict (e.g. the reference files with their "weight." prefix),
//     with the configuration given separately
#pragma once
#include <nlohmann/json.hpp>
#include <optional>

#include "elit/io/safetensors.h"
#include "elit/models/diffusion_model.h"

namespace elit::io {

inline constexpr const char* kModelConfigKey = "elit.model_config";

struct ModelFile {
  TensorMap weights;      // state_dict names, prefixes stripped
  nlohmann::json config;  // complete model configuration (family, name, sizes)
  std::string source;     // path (and entry) it came from
  Metadata metadata;      // safetensors metadata, if any
  std::string name() const { return config.value("model", std::string("custom")); }
};

struct ModelFileOptions {
  // Model configuration keys; override what the file says.
  std::optional<nlohmann::json> config;
  std::string weights_key = "ema";  // for published .pt checkpoints: "ema" or "model"
};

// Reads weights and configuration; throws elit::Error naming the file and what is missing.
ModelFile read_model_file(const std::string& path, const ModelFileOptions& options = {});

// A new model from its configuration (models::create_model) with the files its configuration
// names attached: an MM-DiT's label_context_file. Every tool builds models through this.
models::ModelPtr create_model(const nlohmann::json& config);

// Builds the model, loads the weights (every key and shape checked), casts to dtype/device and
// puts it in eval mode.
models::ModelPtr build_model(const ModelFile& file, torch::Dtype dtype = torch::kFloat32,
                             torch::Device device = torch::kCPU);

// Writes weights + configuration (+ extra metadata) atomically.
void write_model_file(const std::string& path, const models::DiffusionModel& model,
                      Metadata extra_metadata = {});
void write_model_file(const std::string& path, const TensorMap& weights,
                      const nlohmann::json& config, Metadata extra_metadata = {});

}  // namespace elit::io
