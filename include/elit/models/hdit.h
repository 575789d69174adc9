// HDiT and ELIT-HDiT (crowsonkb/k-diffusion image_transformer_v2.py
// ImageTransformerDenoiserModelV2; the latent interface as in ELIT).
//   x -> patch merge -> [down level i (neighbourhood attention) -> keep skip -> merge 2x2] ...
//     -> mid level (global attention) -> [split 2x2, lerp with the skip -> up level i] ...
//     -> RMSNorm -> patch split. Every layer is conditioned (AdaRMSNorm) on the mapping network's
//   output for c_noise = log(sigma)/4 (+ augmentation features + class embedding).
// ELIT-HDiT: the latent interface sits at the mid level: Read right after the last merge (after
// `encoder_depth` spatial mid-level layers, default 0), the mid-level layers on the kept latents,
// Write before the first split (followed by `decoder_depth` spatial layers). Neighbourhood levels
// and skips stay spatial. Latents' RoPE positions are their group's mean position plus a learnable
// per-slot offset (initialised to the slot's spatial offset); Read's modulation takes the mapping
// network's output.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>

#include "elit/models/block_trace.h"
#include "elit/models/budget.h"
#include "elit/models/diffusion_model.h"
#include "elit/models/hdit_blocks.h"
#include "elit/models/hdit_config.h"
#include "elit/models/latent_interface.h"

namespace elit::models {

class HDiTImpl : public DiffusionModel {
 public:
  // Builds the model with the published initialisation (torch's global RNG).
  explicit HDiTImpl(HDiTConfig config);

  // x: [B, C, H, W], t: [B] rectified-flow time (mapped to sigma = t/(1-t), t clamped to
  // [rf_time_eps, 1 - rf_time_eps]), condition.labels: [B] -> velocity [B, C, H, W].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const Condition& condition,
                        std::optional<double> budget = std::nullopt) override;
  // The published call: sigma [B] (EDM noise level), class labels y [B] (undefined when
  // unconditional), aug_cond [B, 9] (undefined = zeros), keep: latents per group (ELIT only).
  torch::Tensor forward_sigma(const torch::Tensor& x, const torch::Tensor& sigma,
                              const torch::Tensor& y, const torch::Tensor& aug_cond, int64_t keep);
  // The noise level the network sees for rectified-flow time t.
  torch::Tensor sigma_for_time(const torch::Tensor& t) const;
  ModelSpec spec() const override;
  nlohmann::json config_json() const override;
  GroupLayout group_layout() const;  // of the mid level
  const HDiTConfig& config() const { return config_; }
  void set_trace(BlockTrace* trace) { trace_ = trace; }

  hdit::TokenMerge patch_in{nullptr};
  hdit::FourierFeatures time_emb{nullptr}, aug_emb{nullptr};
  torch::nn::Linear time_in_proj{nullptr}, aug_in_proj{nullptr};
  torch::nn::Embedding class_emb{nullptr};
  hdit::MappingNetwork mapping{nullptr};
  torch::nn::ModuleList down_levels{nullptr}, up_levels{nullptr};  // of ModuleLists of layers
  torch::nn::ModuleList mid_level{nullptr};
  torch::nn::ModuleList merges{nullptr}, splits{nullptr};
  hdit::RMSNorm out_norm{nullptr};
  hdit::TokenSplit patch_out{nullptr};
  InputTokenEditor input_token_editor{nullptr};
  OutputTokenEditor output_token_editor{nullptr};

 private:
  torch::nn::ModuleList make_level(const HDiTLevelSpec& spec);
  // [B, F] conditioning from the mapping network.
  torch::Tensor condition(const torch::Tensor& sigma, const torch::Tensor& y,
                          const torch::Tensor& aug_cond, torch::Dtype dtype);
  // Layers [begin, end) of `level` named `name`.i; domain for the trace.
  torch::Tensor run(torch::nn::ModuleListImpl& level, const std::string& name, int64_t begin,
                    int64_t end, torch::Tensor x, const torch::Tensor& pos,
                    const torch::Tensor& cond, const char* domain);
  // Mid level on [B, h, w, D]; with ELIT through Read, latents and Write.
  torch::Tensor run_mid(torch::Tensor x, const torch::Tensor& pos, const torch::Tensor& cond,
                        int64_t keep);
  // Published positions of level i: the patch grid's, downscaled i times ([h, w, 2]).
  torch::Tensor make_axial_pos_for_level(size_t level, torch::Dtype dtype) const;
  HDiTConfig config_;
  BlockTrace* trace_ = nullptr;
};
TORCH_MODULE(HDiT);

}  // namespace elit::models
