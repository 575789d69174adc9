// One case of ../shared/reference/manifest.json, loaded for the model tests.
#pragma once
#include <vector>

#include "elit/models/sit.h"
#include "models/case_file.h"

namespace elit::testing {

struct ReferenceCase : CaseFile {
  models::SiTConfig config;
};

// Every SiT / ELIT-SiT case of the manifest (reference_dir() must exist).
std::vector<ReferenceCase> load_reference_cases();
// The model of a case, weights loaded, in `dtype`, eval mode.
models::SiT reference_model(const ReferenceCase& c, torch::Dtype dtype);

}  // namespace elit::testing
