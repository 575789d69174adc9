// One case of a ../shared/reference manifest (its entry and its safetensors file), as every parity
// test loads it, and the model of a case with the case's weights.
#pragma once
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "elit/io/safetensors.h"
#include "elit/io/state_dict.h"

namespace elit::testing {

struct CaseFile {
  nlohmann::json entry;   // the manifest entry
  io::TensorMap tensors;  // everything in the case file
  io::TensorMap weights;  // "weight." entries, prefix removed
  std::string name() const { return entry["name"]; }
  // The published state_dict keys, sorted.
  std::vector<std::string> published_keys() const;
};

// The case of manifest `entry`, whose file lies in `dir`.
CaseFile read_case_file(const std::string& dir, const nlohmann::json& entry);

// The model of a case: built from `config`, the case's weights loaded, in `dtype`, eval mode.
template <class Model, class Config>
Model case_model(const Config& config, const CaseFile& c, torch::Dtype dtype) {
  Model model(config);
  io::load_state_dict(*model, c.weights, c.name());
  model->to(dtype);
  model->eval();
  return model;
}

}  // namespace elit::testing
