// SiT transformer block with adaLN-Zero conditioning and the final layer (published
// models/sit.py).
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include "elit/models/adaln.h"
#include "elit/models/attention.h"
#include "elit/models/mlp.h"

namespace elit::models {

class SiTBlockImpl : public torch::nn::Module {
 public:
  SiTBlockImpl(int64_t hidden_size, int64_t num_heads, double mlp_ratio, bool qk_norm);
  // x: [B, N, D], c: [B, D] -> [B, N, D]
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& c);
  // What the attention branch reads: norm1(x) * (1 + scale_msa) + shift_msa, [B, N, D]
  // (TeaCache's change signal).
  torch::Tensor modulated_input(const torch::Tensor& x, const torch::Tensor& c);
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
