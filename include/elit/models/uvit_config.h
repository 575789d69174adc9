// Configuration of U-ViT and ELIT-U-ViT: the published constructor arguments of baofff/U-ViT
// libs/uvit.py (same names and defaults), the rectified-flow time scaling, and the latent
// interface options. Named variants: "UViT-{S,M,L,H}/{2,4}" (published sizes) and
// "ELIT-UViT-{S,M,L,H}/{2,4}", plus "UViT-T/2", "ELIT-UViT-T/2" for Fashion-MNIST on this machine.
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

namespace elit::models {

struct UViTConfig {
  std::string model = "custom";
  // Published UViT.__init__ arguments and defaults.
  int64_t img_size = 224;  // square input
  int64_t patch_size = 16;
  int64_t in_chans = 3;
  int64_t embed_dim = 768;
  int64_t depth = 12;  // depth/2 in-blocks, a mid block, depth/2 out-blocks
  int64_t num_heads = 12;
  double mlp_ratio = 4.0;
  bool qkv_bias = false;
  bool mlp_time_embed = false;
  // Rows of the label table; the last row is the null class of classifier-free guidance (the
  // published ImageNet configs use 1001 = 1000 classes + null). <= 0: unconditional.
  int64_t num_classes = -1;
  bool conv = true;  // 3x3 output convolution
  bool skip = true;  // long skips fused by Linear(2D, D)
  // Training: labels dropped to the null class with this probability (the published training
  // loop's p_uncond, done by the model here as SiT does).
  double class_dropout_prob = 0.1;
  // Rectified-flow t in [0, 1] -> the timestep the sinusoid sees. Published continuous-time
  // U-ViT (sde.py) feeds t * 999.
  double time_scale = 999.0;
  // Latent interface.
  bool enable_elit = false;
  int64_t encoder_depth = 2;  // first in-blocks on spatial tokens
  int64_t decoder_depth = 2;  // last out-blocks on spatial tokens; must equal encoder_depth
  int64_t group_size = 8;
  std::optional<double> elit_max_mask_prob = 0.5;
  std::optional<double> elit_min_mask_prob;
  int64_t latent_pos_embed_rows = 0;  // 0: exactly the number of latents

  int64_t grid_size() const { return img_size / patch_size; }
  int64_t num_tokens() const { return grid_size() * grid_size(); }
  int64_t half_depth() const { return depth / 2; }
  bool conditional() const { return num_classes > 0; }
  int64_t extras() const { return conditional() ? 2 : 1; }  // class token, time token
  int64_t tokens_per_group() const { return group_size * group_size; }
  int64_t latent_rows() const {
    return latent_pos_embed_rows > 0 ? latent_pos_embed_rows : num_tokens();
  }
  // Throws elit::Error naming the first inconsistent field.
  void validate() const;
};

UViTConfig named_uvit_config(const std::string& name);
std::vector<std::string> named_uvit_models();
bool is_named_uvit_model(const std::string& name);

// JSON with the published constructor argument names (+ the options above). Unknown keys are an
// error naming them. A named "model" first sets its sizes; explicit keys override them.
UViTConfig uvit_config_from_json(const nlohmann::json& j);
nlohmann::json uvit_config_to_json(const UViTConfig& config);

}  // namespace elit::models
