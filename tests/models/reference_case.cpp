#include "models/reference_case.h"

#include "elit/io/state_dict.h"
#include <gtest/gtest.h>

#include "support/reference.h"

namespace elit::testing {

std::vector<ReferenceCase> load_reference_cases() {
  std::vector<ReferenceCase> out;
  const auto manifest = reference_manifest();
  for (const auto& entry : manifest["cases"]) {
    ReferenceCase c;
    c.entry = entry;
    c.tensors = io::read_safetensors(reference_dir() + "/" + entry["file"].get<std::string>()).tensors;
    c.weights = io::select_prefix(c.tensors, "weight.");
    nlohmann::json cfg;
    for (const char* key : {"input_size", "patch_size", "in_channels", "hidden_size", "depth",
                            "num_heads", "encoder_depth", "dit_decoder_depth", "group_size",
                            "num_classes", "qk_norm"}) {
      if (entry.contains(key)) cfg[key] = entry[key];
    }
    cfg["enable_elit"] = entry["elit"];
    cfg["model"] = entry["name"];
    c.config = models::sit_config_from_json(cfg);
    out.push_back(std::move(c));
  }
  // A parity test over zero cases would pass without comparing anything.
  EXPECT_GE(out.size(), 3u) << "the reference manifest lists too few cases";
  return out;
}

models::SiT reference_model(const ReferenceCase& c, torch::Dtype dtype) {
  models::SiT model(c.config);
  io::load_state_dict(*model, c.weights, c.name());
  model->to(dtype);
  model->eval();
  return model;
}

}  // namespace elit::testing
