// U-ViT and ELIT-U-ViT (baofff/U-ViT libs/uvit.py; the latent interface as in ELIT).
//   x -> patches; [class token], time token in front (class first); + learnable positional table
//     -> depth/2 in-blocks (each output kept as a long skip) -> mid block
//     -> depth/2 out-blocks (each fuses the matching skip) -> LayerNorm -> linear -> unpatchify
//     -> optional 3x3 convolution.
// ELIT-U-ViT: the first `encoder_depth` in-blocks and the last `decoder_depth` (= encoder_depth)
// out-blocks run on spatial tokens; Read turns the patch tokens into latents after the spatial
// in-blocks, every block in between (remaining in-blocks, mid block, first out-blocks) runs on
// [class/time tokens, kept latents], and Write puts the latents back before the spatial
// out-blocks. Each long skip therefore joins two blocks of the same domain. The class/time tokens
// bypass Read/Write; Read's modulation takes the time + class embedding.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>

#include "elit/models/block_trace.h"
#include "elit/models/budget.h"
#include "elit/models/diffusion_model.h"
#include "elit/models/embeddings.h"
#include "elit/models/latent_interface.h"
#include "elit/models/uvit_block.h"
#include "elit/models/uvit_config.h"

namespace elit::models {

class UViTImpl : public DiffusionModel {
 public:
  // Builds the model with the published initialisation (torch's global RNG).
  explicit UViTImpl(UViTConfig config);

  // x: [B, C, H, W], t: [B] rectified-flow time in [0, 1] (fed to the sinusoid as t*time_scale),
  // condition.labels: [B] int64 for class-conditional models -> velocity [B, C, H, W].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const Condition& condition,
                        std::optional<double> budget = std::nullopt) override;
  // The published call: `timesteps` go to the sinusoid as given; y undefined when unconditional.
  // keep: latents kept per group (ELIT only; ignored otherwise).
  torch::Tensor forward_timesteps(const torch::Tensor& x, const torch::Tensor& timesteps,
                                  const torch::Tensor& y, int64_t keep);
  ModelSpec spec() const override;
  nlohmann::json config_json() const override;
  GroupLayout group_layout() const;
  const UViTConfig& config() const { return config_; }
  void set_trace(BlockTrace* trace) { trace_ = trace; }

  PatchEmbed patch_embed{nullptr};
  torch::nn::Sequential time_embed{nullptr};  // only with mlp_time_embed (else identity)
  torch::nn::Embedding label_emb{nullptr};
  torch::Tensor pos_embed;  // [1, extras + N, D]
  torch::nn::ModuleList in_blocks{nullptr}, out_blocks{nullptr};
  UViTBlock mid_block{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear decoder_pred{nullptr};
  torch::nn::Conv2d final_layer{nullptr};  // only with conv
  InputTokenEditor input_token_editor{nullptr};
  OutputTokenEditor output_token_editor{nullptr};

 private:
  void initialize_weights();
  // [B, D] time token (+ class embedding) for the token sequence and Read's conditioning.
  torch::Tensor embed_time(const torch::Tensor& timesteps, torch::Dtype dtype);
  torch::Tensor run(const std::string& name, UViTBlockImpl& block, const torch::Tensor& x,
                    const torch::Tensor& skip, bool latent);
  // [B, extras + N, D] -> [B, C, H, W]
  torch::Tensor head(const torch::Tensor& x);
  UViTConfig config_;
  BlockTrace* trace_ = nullptr;
};
TORCH_MODULE(UViT);

}  // namespace elit::models
