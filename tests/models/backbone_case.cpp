#include "models/backbone_case.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "elit/io/state_dict.h"
#include "support/reference.h"

namespace elit::testing {

std::vector<std::string> BackboneCase::published_keys() const {
  std::vector<std::string> keys = entry["state_dict_keys"];
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::vector<BackboneCase> load_backbone_cases(const std::string& family) {
  const auto dir = std::filesystem::path(reference_dir()) / "backbones";
  std::ifstream in(dir / "manifest.json");
  const auto manifest = nlohmann::json::parse(in);
  std::vector<BackboneCase> out;
  for (const auto& entry : manifest["cases"]) {
    if (entry["family"] != family) continue;
    BackboneCase c;
    c.entry = entry;
    c.tensors = io::read_safetensors((dir / entry["file"].get<std::string>()).string()).tensors;
    c.weights = io::select_prefix(c.tensors, "weight.");
    out.push_back(std::move(c));
  }
  // A parity test over zero cases would pass without comparing anything.
  EXPECT_GE(out.size(), 2u) << "the backbones manifest lists too few " << family << " cases";
  return out;
}

models::UViTConfig uvit_case_config(const BackboneCase& c) {
  auto cfg = c.entry["config"];  // published UViT constructor arguments, same names
  cfg["model"] = c.name();
  return models::uvit_config_from_json(cfg);
}

models::HDiTConfig hdit_case_config(const BackboneCase& c) {
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

models::UViT uvit_case_model(const BackboneCase& c, torch::Dtype dtype) {
  models::UViT model(uvit_case_config(c));
  io::load_state_dict(*model, c.weights, c.name());
  model->to(dtype);
  model->eval();
  return model;
}

models::HDiT hdit_case_model(const BackboneCase& c, torch::Dtype dtype) {
  models::HDiT model(hdit_case_config(c));
  io::load_state_dict(*model, c.weights, c.name());
  model->to(dtype);
  model->eval();
  return model;
}

}  // namespace elit::testing
