// One case of ../shared/reference/manifest.json, loaded for the model tests.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "elit/io/safetensors.h"
#include "elit/models/sit.h"

namespace elit::testing {

struct ReferenceCase {
  nlohmann::json entry;     // the manifest entry
  io::TensorMap tensors;    // everything in the case file
  io::TensorMap weights;    // "weight." entries, prefix removed
  models::SiTConfig config;
  std::string name() const { return entry["name"]; }
};

// Every SiT / ELIT-SiT case of the manifest (reference_dir() must exist).
std::vector<ReferenceCase> load_reference_cases();
// The model of a case, weights loaded, in `dtype`, eval mode.
models::SiT reference_model(const ReferenceCase& c, torch::Dtype dtype);

}  // namespace elit::testing
