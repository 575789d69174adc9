#include "models/backbone_case.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/reference.h"

namespace elit::testing {

std::vector<CaseFile> load_backbone_cases(const std::string& family) {
  const auto dir = std::filesystem::path(reference_dir()) / "backbones";
  std::ifstream in(dir / "manifest.json");
  const auto manifest = nlohmann::json::parse(in);
  std::vector<CaseFile> out;
  for (const auto& entry : manifest["cases"]) {
    if (entry["family"] == family) out.push_back(read_case_file(dir.string(), entry));
  }
  // A parity test over zero cases would pass without comparing anything.
  EXPECT_GE(out.size(), 2u) << "the backbones manifest lists too few " << family << " cases";
  return out;
}

models::UViTConfig uvit_case_config(const CaseFile& c) {
  auto cfg = c.entry["config"];  // published UViT constructor arguments, same names
  cfg["model"] = c.name();
  return models::uvit_config_from_json(cfg);
}

models::HDiTConfig hdit_case_config(const CaseFile& c) {
  // Published constructor form (LevelSpec / MappingSpec lists) -> the k-diffusion config form.
  const auto& p = c.entry["config"];
  EXPECT_EQ(p["in_channels"], p["out_channels"]);
  nlohmann::json cfg = {{"model", c.name()},
                        {"input_channels", p["in_channels"]},
                        {"input_size", c.entry["input_hw"]},
                        {"patch_size", p["patch_size"]},
                        {"mapping_depth", p["mapping"]["depth"]},
                        {"mapping_width", p["mapping"]["width"]},
                        {"mapping_d_ff", p["mapping"]["d_ff"]},
                        {"num_classes", p["num_classes"]}};
  for (const auto& level : p["levels"]) {
    cfg["depths"].push_back(level["depth"]);
    cfg["widths"].push_back(level["width"]);
    cfg["d_ffs"].push_back(level["d_ff"]);
    const bool global = level["self_attn"] == "GlobalAttentionSpec";
    EXPECT_TRUE(global || level["self_attn"] == "NeighborhoodAttentionSpec") << level.dump();
    nlohmann::json attn = {{"type", global ? "global" : "neighborhood"},
                           {"d_head", level["d_head"]}};
    if (!global) attn["kernel_size"] = level["kernel_size"];
    cfg["self_attns"].push_back(attn);
  }
  return models::hdit_config_from_json(cfg);
}

models::MMDiTConfig mmdit_case_config(const CaseFile& c) {
  auto cfg = c.entry["config"];  // published MMDiTX constructor arguments, same names
  cfg["model"] = c.name();
  cfg["input_size"] = c.entry["input_hw"];  // the published input_size is None (any size)
  return models::mmdit_config_from_json(cfg);
}

models::UViT uvit_case_model(const CaseFile& c, torch::Dtype dtype) {
  return case_model<models::UViT>(uvit_case_config(c), c, dtype);
}

models::HDiT hdit_case_model(const CaseFile& c, torch::Dtype dtype) {
  return case_model<models::HDiT>(hdit_case_config(c), c, dtype);
}

models::MMDiT mmdit_case_model(const CaseFile& c, torch::Dtype dtype) {
  return case_model<models::MMDiT>(mmdit_case_config(c), c, dtype);
}

}  // namespace elit::testing
