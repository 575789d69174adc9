// Checkpoints written by the published train.py: a torch.save zip of
// {"model", "ema", "opt", "args" (argparse.Namespace), "steps"}, read directly in C++ with the
// data-only unpickler (nothing in the file is executed).
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "elit/io/safetensors.h"
#include "elit/models/sit_config.h"

namespace elit::io {

struct PublishedCheckpoint {
  std::string path;
  std::vector<std::string> keys;             // top-level keys of the saved dict
  std::map<std::string, TensorMap> weights;  // every top-level entry that is a dict of tensors
  nlohmann::json args = nlohmann::json::object();  // argparse.Namespace attributes (plain values)
  std::optional<int64_t> steps;
};

// True when `path` looks like a torch.save zip archive (by content, not by name).
bool is_torch_zip(const std::string& path);

// Reads the checkpoint; tensors of `which` ("model", "ema", ...; empty = all dicts of tensors)
// are materialised, optimizer state is skipped unless requested.
PublishedCheckpoint read_published_checkpoint(const std::string& path,
                                              const std::vector<std::string>& which = {"model",
                                                                                       "ema"});

// The model configuration of published weights: from the training arguments (model name,
// resolution, encoder_depth, elit_* keys) and the tensor shapes (hidden size, depth, patch size,
// channels, classes, group size, qk-norm), then `overrides` (published constructor names).
// Throws elit::Error naming what cannot be determined (e.g. num_heads of an unnamed model).
models::SiTConfig infer_sit_config(const TensorMap& weights, const nlohmann::json& args,
                                   const nlohmann::json& overrides = nlohmann::json::object());

}  // namespace elit::io
