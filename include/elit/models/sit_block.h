// SiT transformer block with adaLN-Zero conditioning and the final layer (published
// models/sit.py).
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include "elit/models/attention.h"
#include "elit/models/mlp.h"

namespace elit::models {

// LayerNorm without affine parameters (eps 1e-6) followed by x * (1 + scale) + shift, where
// shift/scale are [B, D] and broadcast over the tokens of x: [B, ..., D].
torch::Tensor norm_modulate(const torch::Tensor& x, const torch::Tensor& shift,
                            const torch::Tensor& scale);

// x + gate * y, gate [B, D] broadcast over the token dims of y, in one pass (DiT's gated
// residual).
torch::Tensor gated_residual(const torch::Tensor& x, const torch::Tensor& gate,
                             const torch::Tensor& y);

// Broadcasts a per-sample vector [B, D] over the token dims of x: [B, ..., D] -> [B, 1.., D].
torch::Tensor per_sample(const torch::Tensor& v, const torch::Tensor& like);

class SiTBlockImpl : public torch::nn::Module {
 public:
  SiTBlockImpl(int64_t hidden_size, int64_t num_heads, double mlp_ratio, bool qk_norm);
  // x: [B, N, D], c: [B, D] -> [B, N, D]
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& c);
  SelfAttention attn{nullptr};
  Mlp mlp{nullptr};
  torch::nn::Sequential adaLN_modulation{nullptr};  // SiLU, Linear(D, 6D)
};
TORCH_MODULE(SiTBlock);

class FinalLayerImpl : public torch::nn::Module {
 public:
  FinalLayerImpl(int64_t hidden_size, int64_t patch_size, int64_t out_channels);
  // x: [B, N, D], c: [B, D] -> [B, N, p*p*C]
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& c);
  torch::nn::Linear linear{nullptr};
  torch::nn::Sequential adaLN_modulation{nullptr};  // SiLU, Linear(D, 2D)
};
TORCH_MODULE(FinalLayer);

}  // namespace elit::models
