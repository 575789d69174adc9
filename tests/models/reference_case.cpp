#include "models/reference_case.h"

#include <gtest/gtest.h>

#include "support/reference.h"

namespace elit::testing {

std::vector<ReferenceCase> load_reference_cases() {
  std::vector<ReferenceCase> out;
  const auto manifest = reference_manifest();
  for (const auto& entry : manifest["cases"]) {
    nlohmann::json cfg;
    for (const char* key :
         {"input_size", "patch_size", "in_channels", "hidden_size", "depth", "num_heads",
          "encoder_depth", "dit_decoder_depth", "group_size", "num_classes", "qk_norm"}) {
      if (entry.contains(key)) cfg[key] = entry[key];
    }
    cfg["enable_elit"] = entry["elit"];
    cfg["model"] = entry["name"];
    out.push_back({read_case_file(reference_dir(), entry), models::sit_config_from_json(cfg)});
  }
  // A parity test over zero cases would pass without comparing anything.
  EXPECT_GE(out.size(), 3u) << "the reference manifest lists too few cases";
  return out;
}

models::SiT reference_model(const ReferenceCase& c, torch::Dtype dtype) {
  return case_model<models::SiT>(c.config, c, dtype);
}

}  // namespace elit::testing
