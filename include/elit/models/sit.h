// SiT and ELIT-SiT (published models/sit.py and models/sit_elit.py).
//   x -> patch embedding + fixed sin-cos table -> encoder_depth spatial blocks
//     -> [ELIT: Read -> core blocks on the kept latents -> Write]
//     -> dit_decoder_depth spatial blocks -> final layer -> unpatchify
// Without ELIT every block runs on the spatial tokens.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>

#include <optional>

#include "elit/models/budget.h"
#include "elit/models/diffusion_model.h"
#include "elit/models/embeddings.h"
#include "elit/models/latent_interface.h"
#include "elit/models/sit_block.h"
#include "elit/models/sit_config.h"

namespace elit::models {

class SiTImpl : public DiffusionModel {
 public:
  // Builds the model with the published initialisation (torch's global RNG).
  explicit SiTImpl(SiTConfig config);

  // x: [B, C, H, W], t: [B] in [0, 1], y: [B] int64 labels (num_classes = null class)
  //   -> velocity [B, C, H, W].
  // budget: fraction of latents kept per group in (0, 1], or an absolute count > 1 (ELIT only).
  // Without a budget: full budget in eval mode; in training mode a mask level drawn from the
  // configured training levels (torch's global RNG), as the published masking strategy does.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& y,
                        std::optional<double> budget = std::nullopt);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const Condition& condition,
                        std::optional<double> budget = std::nullopt) override;
  // With a latent interface: both branches run the spatial blocks as one batch of 2B rows (as
  // CFG does), and the latent blocks at their own budgets.
  std::pair<torch::Tensor, torch::Tensor> forward_branches(
      const torch::Tensor& x, const torch::Tensor& t, const Condition& condition_a,
      std::optional<double> budget_a, const Condition& condition_b, std::optional<double> budget_b,
      SpanCache* cache_a = nullptr, SpanCache* cache_b = nullptr) override;
  // Cacheable span (models/span_cache.h): ELIT caches the core or Read -> core -> Write, with
  // the first core block's modulated latents as the signal; a plain SiT caches all its blocks.
  torch::Tensor forward_cached(const torch::Tensor& x, const torch::Tensor& t,
                               const Condition& condition, std::optional<double> budget,
                               SpanCache& cache) override;
  ModelSpec spec() const override;
  nlohmann::json config_json() const override;
  // Same with the latents kept per group given directly (1..T); ignored without ELIT.
  torch::Tensor forward_keep(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& y,
                             int64_t keep);

  GroupLayout group_layout() const;
  const SiTConfig& config() const { return config_; }
  // Training mask levels from the config (published MultiOrderedTokenMaskingStrategy).

  // [B, N, p*p*C] -> [B, C, H, W]
  torch::Tensor unpatchify(const torch::Tensor& x) const;

  PatchEmbed x_embedder{nullptr};
  TimestepEmbedder t_embedder{nullptr};
  LabelEmbedder y_embedder{nullptr};
  torch::Tensor pos_embed;  // buffer [1, N, D]; in the state_dict as published
  torch::nn::ModuleList blocks{nullptr};
  FinalLayer final_layer{nullptr};
  InputTokenEditor input_token_editor{nullptr};
  OutputTokenEditor output_token_editor{nullptr};

 private:
  void initialize_weights();
  // x [B, C, H, W], t [B], labels y [B]: clear errors otherwise.
  void check_inputs(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& y) const;
  torch::Tensor run_blocks(torch::Tensor x, const torch::Tensor& c, int64_t begin, int64_t end);
  // The whole forward; the cacheable span goes through `cache` when one is given.
  torch::Tensor forward_impl(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& y,
                             int64_t keep, SpanCache* cache);
  // Spatial tokens after the encoder blocks [B, N, D], c [B, D] -> spatial tokens for the decoder
  // blocks: Read -> core on `keep` latents per group -> Write (through `cache` when given).
  torch::Tensor run_interface(const torch::Tensor& h, const torch::Tensor& c, int64_t keep,
                              SpanCache* cache);
  SiTConfig config_;
};
TORCH_MODULE(SiT);

}  // namespace elit::models
