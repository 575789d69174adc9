// HDiT transformer layers (k-diffusion image_transformer_v2.py): AdaRMSNorm pre-norm,
// cosine-similarity self-attention with a learnable per-head scale and axial RoPE, global or
// neighbourhood (NATTEN semantics), then a GEGLU feed-forward; both residual, output
// projections zero-initialised. Published GlobalTransformerLayer, NeighborhoodTransformerLayer and
// NoAttentionTransformerLayer are one class here: their parameters have the same names.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include "elit/models/hdit_layers.h"

namespace elit::models::hdit {

// Published SelfAttentionBlock (kernel_size 0) and NeighborhoodSelfAttentionBlock (kernel_size k).
class SelfAttentionBlockImpl : public torch::nn::Module {
 public:
  SelfAttentionBlockImpl(int64_t d_model, int64_t d_head, int64_t cond_features,
                         int64_t kernel_size, double dropout);
  // Global: x [B, ..., D] with pos [..., 2] over the same token dims (a grid or latents).
  // Neighbourhood: x [B, H, W, D] with pos [H, W, 2]. cond: [B, F]. -> x's shape.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& pos,
                        const torch::Tensor& cond);
  torch::Tensor scale;  // [n_heads], from 10
  AdaRMSNorm norm{nullptr};
  torch::nn::Linear qkv_proj{nullptr}, out_proj{nullptr};
  AxialRoPE pos_emb{nullptr};
  int64_t d_head, n_heads, kernel_size;
  double dropout;

 private:
  torch::Tensor global_attention(const torch::Tensor& qkv, const torch::Tensor& pos);
  torch::Tensor neighborhood_attention(const torch::Tensor& qkv, const torch::Tensor& pos);
};
TORCH_MODULE(SelfAttentionBlock);

// Published FeedForwardBlock: AdaRMSNorm, GEGLU up-projection, down-projection, residual.
class FeedForwardBlockImpl : public torch::nn::Module {
 public:
  FeedForwardBlockImpl(int64_t d_model, int64_t d_ff, int64_t cond_features, double dropout);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cond);
  AdaRMSNorm norm{nullptr};
  torch::nn::Linear up_proj{nullptr}, down_proj{nullptr};
  double dropout;
};
TORCH_MODULE(FeedForwardBlock);

// attention: "global", "neighborhood" (kernel_size) or "none" (no self_attn).
class TransformerLayerImpl : public torch::nn::Module {
 public:
  TransformerLayerImpl(int64_t d_model, int64_t d_ff, int64_t d_head, int64_t cond_features,
                       const std::string& attention, int64_t kernel_size, double dropout);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& pos,
                        const torch::Tensor& cond);
  SelfAttentionBlock self_attn{nullptr};
  FeedForwardBlock ff{nullptr};
};
TORCH_MODULE(TransformerLayer);

}  // namespace elit::models::hdit
