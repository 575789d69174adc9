// Configuration of MM-DiT and ELIT-MM-DiT models: the published MMDiTX constructor arguments
// (Stability-AI/sd3.5 mmditx.py) with their published defaults, the ELIT options (as for
// ELIT-SiT), the conditioning options, and the named variants table.
#pragma once
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace elit::models {

struct MMDiTConfig {
  std::string model = "custom";  // the named variant it came from, e.g. "ELIT-MMDiT-S/2"
  // Nominal input [C, H, W] (what spec() reports); any H, W whose patch grid fits the positional
  // table is accepted, as published (the table is centre-cropped to the input's grid).
  int64_t input_height = 32, input_width = 32;
  int64_t patch_size = 2;
  int64_t in_channels = 4;
  int64_t depth = 6;
  int64_t hidden_size = 0;  // 0: the SD3 rule, 64 * depth (head size 64)
  int64_t num_heads = 0;    // 0: the SD3 rule, depth
  double mlp_ratio = 4.0;
  bool qkv_bias = true;
  std::string qk_norm;  // "" (published None), "rms" (SD3.5) or "ln": per-head norm of q and k
  std::vector<int64_t> x_block_self_attn_layers;  // SD3.5-medium (MMDiT-X): extra x-only attention
  int64_t pos_embed_max_size =
      0;                        // side of the fixed sin-cos table; 0: the nominal grid's max side
  int64_t adm_in_channels = 0;  // width of the pooled vector `y`; 0: no y_embedder (None)
  int64_t context_in_features = 0;  // width of the context tokens fed to context_embedder
  // The published network takes the timestep t * 1000 (sd3_impls ModelSamplingDiscreteFlow:
  // timestep = sigma * 1000, sigma = rectified-flow t); forward() scales t in [0, 1] by this.
  double time_scale = 1000.0;

  // Conditioning. "external": the caller gives Condition::context (+ context_mask, pooled), e.g.
  // CLIP/T5 features read with io::read_context_file. "builtin": a small tokenizer + text encoder
  // trained with the model turns Condition::tokens (from prompts or class captions) into context.
  std::string text_encoder = "external";
  std::vector<std::string> captions;    // caption of every class label (builtin); label n = null
  std::vector<std::string> vocabulary;  // builtin tokenizer's words; empty: built from captions
  int64_t text_max_tokens = 16;         // including the start token
  int64_t text_width = 128;
  int64_t text_depth = 2;
  int64_t text_heads = 4;
  // Training: probability that a sample's condition is replaced by the null condition (empty
  // prompt / fully masked context), for classifier-free guidance.
  double caption_dropout_prob = 0.1;
  // External text: a context file (io::read_context_file) with one row per class label, so that
  // class-labelled data trains with precomputed CLIP/T5 caption features (label n = null).
  std::string label_context_file;

  // ELIT (same meaning as for ELIT-SiT). The joint blocks are split into encoder_depth head
  // blocks on [context; spatial], core blocks on [context; kept latents] and dit_decoder_depth
  // tail blocks on [context; spatial]; the last (pre_only) block is always in the tail.
  bool enable_elit = false;
  int64_t encoder_depth = 1;
  int64_t dit_decoder_depth = 1;
  int64_t group_size = 8;
  std::optional<double> elit_max_mask_prob = 0.5;
  std::optional<double> elit_min_mask_prob;
  int64_t elit_write_depth = 1;
  int64_t latent_pos_embed_rows = 0;  // 0: pos_embed_max_size^2 (every grid the table accepts)

  int64_t hidden() const { return hidden_size > 0 ? hidden_size : 64 * depth; }
  int64_t heads() const { return num_heads > 0 ? num_heads : depth; }
  int64_t grid_h() const { return input_height / patch_size; }
  int64_t grid_w() const { return input_width / patch_size; }
  int64_t num_tokens() const { return grid_h() * grid_w(); }
  int64_t pos_max() const;
  int64_t latent_rows() const;
  int64_t tokens_per_group() const { return group_size * group_size; }
  bool builtin_text() const { return text_encoder == "builtin"; }
  bool has_self_attn2(int64_t layer) const;

  // Fills the derived values (builtin text widths, vocabulary, captions defaults).
  void resolve();
  // Throws elit::Error naming the first inconsistent field.
  void validate() const;
};

// Named variants. "MMDiT-{S,B,L,XL}/{2,4,8}" and "ELIT-MMDiT-..." follow the SD3 rule at depths
// 6, 12, 16, 18 (widths 384, 768, 1024, 1152 as SiT-S/B/L/XL) with the built-in text path and
// Fashion-MNIST captions; "MMDiT-SD3-Medium", "MMDiT-SD3.5-Medium", "MMDiT-SD3.5-Large" have the
// published SD3 shapes (external CLIP+T5 context) so that their checkpoints load.
MMDiTConfig named_mmdit_config(const std::string& name);
std::vector<std::string> named_mmdit_models();
bool is_named_mmdit_model(const std::string& name);

// JSON with the published constructor argument names (adm_in_channels, context_embedder_config,
// pos_embed_max_size, num_patches, qk_norm, x_block_self_attn_layers, ...) plus the keys above.
// Unknown keys are an error naming them. Fields absent from `j` keep their value in `base`.
MMDiTConfig mmdit_config_from_json(const nlohmann::json& j, MMDiTConfig base = {});
nlohmann::json mmdit_config_to_json(const MMDiTConfig& config);

}  // namespace elit::models
