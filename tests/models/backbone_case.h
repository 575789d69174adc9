// One case of ../shared/reference/backbones/manifest.json (plain U-ViT / HDiT computed with their
// published code), loaded for the parity tests.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "elit/io/safetensors.h"
#include "elit/models/hdit.h"
#include "elit/models/uvit.h"

namespace elit::testing {

struct BackboneCase {
  nlohmann::json entry;   // the manifest entry
  io::TensorMap tensors;  // everything in the case file
  io::TensorMap weights;  // "weight." entries, prefix removed
  std::string name() const { return entry["name"]; }
  // The published state_dict keys, sorted.
  std::vector<std::string> published_keys() const;
};

// Every case of `family` ("U-ViT", "HDiT") in the backbones manifest (reference_dir() must exist).
std::vector<BackboneCase> load_backbone_cases(const std::string& family);

// The case's published constructor arguments as this project's configs.
models::UViTConfig uvit_case_config(const BackboneCase& c);
models::HDiTConfig hdit_case_config(const BackboneCase& c);

// The case's model with its weights loaded, in `dtype`, eval mode.
models::UViT uvit_case_model(const BackboneCase& c, torch::Dtype dtype);
models::HDiT hdit_case_model(const BackboneCase& c, torch::Dtype dtype);

}  // namespace elit::testing
