// MM-DiT (Stability-AI/sd3.5 mmditx.py, SD3/SD3.5) and ELIT-MM-DiT.
//   x -> patch embedding + centre-cropped fixed sin-cos table; c = t_embedder(t * 1000)
//   [+ y_embedder(pooled)]; context -> context_embedder
//   -> joint blocks on [context; image tokens] (context first) -> final layer -> unpatchify
// ELIT-MM-DiT splits the joint blocks:
//   encoder_depth head blocks on [context; spatial]
//   -> Read (image stream only, modulated by c) -> core blocks on [context; kept latents]
//   -> Write -> dit_decoder_depth tail blocks on [context; spatial] (the pre_only last block is
//   always in the tail). The context stream passes through Read and Write untouched. Groups tile
//   the input's (possibly rectangular) patch grid; latents index the latent positional table by
//   their raster position in that grid, as in ELIT-SiT.
// Text conditioning is either external (Condition::context [+ context_mask, pooled], e.g. CLIP/T5
// features from io::read_context_file) or the built-in tokenizer + text encoder
// (Condition::tokens from condition_for_prompts / condition_for_labels).
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>

#include <memory>
#include <optional>

#include "elit/models/diffusion_model.h"
#include "elit/models/embeddings.h"
#include "elit/models/latent_interface.h"
#include "elit/models/mmdit_block.h"
#include "elit/models/mmdit_config.h"
#include "elit/models/sit_block.h"
#include "elit/models/text_encoder.h"
#include "elit/text/tokenizer.h"

namespace elit::models {

// The inputs of every joint block, in block order (for tests and inspection).
struct MMDiTTrace {
  std::vector<torch::Tensor> context_in;  // [B, L, D]
  std::vector<torch::Tensor> x_in;        // [B, N, D] spatial, or [B, G*keep, D] latents (core)
};

// The context a forward runs on, before context_embedder.
struct TextContext {
  torch::Tensor context;  // [B, L, C]
  torch::Tensor mask;     // [B, L] bool or undefined (every token real)
  torch::Tensor pooled;   // [B, P] or undefined (no y_embedder)
};

class MMDiTImpl : public DiffusionModel {
 public:
  // Builds the model with DiT's initialisation (adaLN-Zero; torch's global RNG); the published
  // SD3 code only loads checkpoints, so there is no published initialisation to follow.
  explicit MMDiTImpl(MMDiTConfig config);

  // x: [B, C, H, W], t: [B] rectified-flow time in [0, 1] -> velocity [B, C, H, W].
  // budget as for ELIT-SiT (unset: full in eval, a drawn training level in training mode).
  // In training mode each sample's condition is replaced by the null condition with
  // caption_dropout_prob (classifier-free guidance training).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const Condition& condition,
                        std::optional<double> budget = std::nullopt) override;
  // The published network call: timestep as MMDiTX.forward takes it (t * time_scale); keep:
  // latents per group (ignored without ELIT). H, W: any multiple of the patch size whose grid
  // fits the positional table (and the groups, with ELIT).
  torch::Tensor forward_keep(const torch::Tensor& x, const torch::Tensor& timestep,
                             const Condition& condition, int64_t keep, MMDiTTrace* trace = nullptr);

  ModelSpec spec() const override;
  nlohmann::json config_json() const override;
  // Builtin text: the empty prompt; external: the context fully masked and a zero pooled vector.
  // Same shapes as `condition`, so the two CFG branches batch together.
  Condition null_condition(const Condition& condition) const override;
  // Builtin text: label i -> captions[i]; external text with label_context_file: label i -> row
  // i of that file. Label n (the number of captions / rows) -> the null condition.
  Condition condition_for_labels(const torch::Tensor& labels) const override;
  Condition condition_for_prompts(const std::vector<std::string>& prompts) const override;

  const MMDiTConfig& config() const { return config_; }
  // External text on class-labelled data: label i -> row i of `table` (the rows of the config's
  // label_context_file, read by io::create_model; the model itself reads no files). `origin`
  // names the table in errors.
  void set_label_context(const Condition& table, const std::string& origin);
  // The context, mask and pooled vector a condition gives (runs the builtin text encoder).
  TextContext text_context(const Condition& condition, int64_t batch);
  // The fixed table cropped to a gh x gw grid around its centre: [1, gh*gw, D].
  torch::Tensor cropped_pos_embed(int64_t grid_h, int64_t grid_w) const;
  // [B, gh*gw, p*p*C] -> [B, C, gh*p, gw*p]
  torch::Tensor unpatchify(const torch::Tensor& x, int64_t grid_h, int64_t grid_w) const;

  PatchEmbed x_embedder{nullptr};
  TimestepEmbedder t_embedder{nullptr};
  VectorEmbedder y_embedder{nullptr};
  torch::nn::Linear context_embedder{nullptr};
  torch::Tensor pos_embed;  // buffer [1, M*M, D], M = pos_embed_max_size (published buffer)
  torch::nn::ModuleList joint_blocks{nullptr};
  FinalLayer final_layer{nullptr};
  InputTokenEditor input_token_editor{nullptr};
  OutputTokenEditor output_token_editor{nullptr};
  TextEncoder text_encoder{nullptr};

 private:
  void initialize_weights();
  Condition drop_conditions(const Condition& condition) const;
  TextContext external_context(const Condition& condition, int64_t batch) const;
  void run_blocks(torch::Tensor& context, torch::Tensor& x, const torch::Tensor& c,
                  const torch::Tensor& mask, int64_t begin, int64_t end, MMDiTTrace* trace);
  MMDiTConfig config_;
  std::unique_ptr<text::WordTokenizer> tokenizer_;
  torch::Tensor caption_tokens_;  // [captions + 1, text_max_tokens]; the last row: empty prompt
  Condition label_context_;       // label_context_file's rows + a null row
};
TORCH_MODULE(MMDiT);

}  // namespace elit::models
