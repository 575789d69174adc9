// Configuration of HDiT and ELIT-HDiT: the model section of a k-diffusion image_transformer_v2
// JSON config (same keys and defaults as k_diffusion/config.py), the class table, the
// rectified-flow time mapping and the latent interface options.
// Named variants: "HDiT-{S,B,L,XL}/2" and "ELIT-HDiT-{S,B,L,XL}/2" (32x32x4 latents; the global
// level has the DiT width and depth - 4 layers, one neighbourhood level of half the width with 2
// down + 2 up layers: the ELIT paper's HDiT configurations are not published, these are this
// project's), and "HDiT-T/2", "ELIT-HDiT-T/2" for Fashion-MNIST on this machine.
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

namespace elit::models {

struct HDiTLevelSpec {
  int64_t depth = 1;
  int64_t width = 256;
  int64_t d_ff = 768;                      // k-diffusion default: 3 * width
  std::string attention = "neighborhood";  // "global", "neighborhood" or "none"
  int64_t d_head = 64;
  int64_t kernel_size = 7;  // neighbourhood attention only
  double dropout = 0.0;
};

struct HDiTConfig {
  std::string model = "custom";
  int64_t input_channels = 3;
  int64_t input_h = 32, input_w = 32;  // input_size
  int64_t patch_h = 4, patch_w = 4;    // patch_size
  std::vector<HDiTLevelSpec> levels;   // highest resolution first; the last one is the mid level
  int64_t mapping_depth = 2;
  int64_t mapping_width = 256;
  int64_t mapping_d_ff = 768;
  double mapping_dropout = 0.0;
  // Rows of the class table; the last row is the null class (k-diffusion make_model builds
  // num_classes + 1 rows for its dataset's classes). 0: unconditional.
  int64_t num_classes = 0;
  double class_dropout_prob = 0.1;  // k-diffusion's cond_dropout_rate, done by the model here
  // Rectified-flow t is clamped to [eps, 1 - eps] before sigma = t / (1 - t).
  double rf_time_eps = 1e-4;
  // Latent interface at the mid (lowest-resolution, global-attention) level.
  bool enable_elit = false;
  int64_t group_size = 4;
  int64_t encoder_depth = 0;  // mid-level layers on spatial tokens before Read
  int64_t decoder_depth = 0;  // mid-level layers on spatial tokens after Write
  std::optional<double> elit_max_mask_prob = 0.5;
  std::optional<double> elit_min_mask_prob;
  int64_t latent_pos_embed_rows = 0;  // 0: exactly the mid-level token count

  // Token grid of level i: the patch grid halved i times.
  int64_t level_h(size_t i) const { return (input_h / patch_h) >> i; }
  int64_t level_w(size_t i) const { return (input_w / patch_w) >> i; }
  const HDiTLevelSpec& mid() const { return levels.back(); }
  int64_t mid_tokens() const { return level_h(levels.size() - 1) * level_w(levels.size() - 1); }
  int64_t tokens_per_group() const { return group_size * group_size; }
  int64_t latent_rows() const {
    return latent_pos_embed_rows > 0 ? latent_pos_embed_rows : mid_tokens();
  }
  // Throws elit::Error naming the first inconsistent field.
  void validate() const;
};

HDiTConfig named_hdit_config(const std::string& name);
std::vector<std::string> named_hdit_models();
bool is_named_hdit_model(const std::string& name);

// The k-diffusion model-section keys (input_channels, input_size, patch_size, depths, widths,
// d_ffs, self_attns, dropout_rate, mapping_*) plus the options above. Training-only keys of a
// k-diffusion model section (loss_config, sigma_data, ...) are accepted and ignored; any other
// key is an error naming it.
HDiTConfig hdit_config_from_json(const nlohmann::json& j);
nlohmann::json hdit_config_to_json(const HDiTConfig& config);

}  // namespace elit::models
