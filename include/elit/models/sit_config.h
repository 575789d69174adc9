// Configuration of SiT and ELIT-SiT models: the published constructor arguments with their
// published defaults (models/sit.py, models/sit_elit.py), plus the named variants table.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace elit::models {

struct SiTConfig {
  std::string model = "custom";  // the named variant it came from, e.g. "ELIT-SiT-XL/2"
  int64_t input_size = 32;       // spatial size of the (latent) input, square
  int64_t patch_size = 2;
  int64_t in_channels = 4;
  int64_t hidden_size = 1152;
  int64_t depth = 28;
  int64_t num_heads = 16;
  double mlp_ratio = 4.0;
  int64_t encoder_depth = 8;      // spatial blocks before Read (published default 8)
  int64_t dit_decoder_depth = 0;  // spatial blocks after Write
  int64_t group_size = 8;         // g: latents are grouped in g x g windows (published default 8)
  bool qk_norm = false;           // per-head LayerNorm on q and k in the transformer blocks
  int64_t num_classes = 1000;
  double class_dropout_prob = 0.1;  // > 0 adds the null class (index num_classes) for CFG
  bool enable_elit = false;
  // Training-time tail dropping: mask probabilities (fraction of latents dropped per group) are
  // drawn from the multiples of 1/(g*g) in [min, max]. max unset = up to 1 - 1/(g*g).
  std::optional<double> elit_max_mask_prob = 0.5;
  std::optional<double> elit_min_mask_prob;  // unset = max (single budget)
  int64_t elit_read_depth = 1;               // published Read supports depth 1 only
  int64_t elit_write_depth = 1;
  int64_t latent_pos_embed_rows = 64 * 64;  // published: max tokens of a 512px latent image

  int64_t grid_size() const { return input_size / patch_size; }
  int64_t num_tokens() const { return grid_size() * grid_size(); }
  int64_t tokens_per_group() const { return group_size * group_size; }
  int64_t core_depth() const { return depth - encoder_depth - dit_decoder_depth; }

  // Throws elit::Error naming the first inconsistent field.
  void validate() const;
};

// Named variants: "SiT-{S,B,L,XL}/{2,4,8}", "ELIT-SiT-{S,B,L,XL}/{2,4,8}" with published sizes.
SiTConfig named_sit_config(const std::string& name);
std::vector<std::string> named_sit_models();
bool is_named_sit_model(const std::string& name);

// JSON with the published constructor argument names. Unknown keys are an error naming them.
// Fields absent from `j` keep their value in `base`.
SiTConfig sit_config_from_json(const nlohmann::json& j, SiTConfig base = {});
nlohmann::json sit_config_to_json(const SiTConfig& config);

}  // namespace elit::models
