// The cases of ../shared/reference/backbones/manifest.json (plain U-ViT, HDiT and MM-DiT computed
// with their published code), loaded for the parity tests.
#pragma once
#include <string>
#include <vector>

#include "elit/models/hdit.h"
#include "elit/models/mmdit.h"
#include "elit/models/uvit.h"
#include "models/case_file.h"

namespace elit::testing {

// Every case of `family` ("U-ViT", "HDiT", "MM-DiT") in the backbones manifest (reference_dir()
// must exist).
std::vector<CaseFile> load_backbone_cases(const std::string& family);

// The case's published constructor arguments as this project's configs.
models::UViTConfig uvit_case_config(const CaseFile& c);
models::HDiTConfig hdit_case_config(const CaseFile& c);
models::MMDiTConfig mmdit_case_config(const CaseFile& c);

// The case's model with its weights loaded, in `dtype`, eval mode.
models::UViT uvit_case_model(const CaseFile& c, torch::Dtype dtype);
models::HDiT hdit_case_model(const CaseFile& c, torch::Dtype dtype);
models::MMDiT mmdit_case_model(const CaseFile& c, torch::Dtype dtype);

}  // namespace elit::testing
