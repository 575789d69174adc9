// U-ViT transformer block (baofff/U-ViT libs/uvit.py Block): pre-LN (affine LayerNorm, eps
// 1e-5), multi-head self-attention with an optional qkv bias, exact-GELU MLP, and for out-blocks
// a long skip fused by Linear(2D, D) on [x, skip].
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "elit/models/attention.h"
#include "elit/models/mlp.h"

namespace elit::models {

class UViTBlockImpl : public torch::nn::Module {
 public:
  UViTBlockImpl(int64_t dim, int64_t num_heads, double mlp_ratio, bool qkv_bias, bool skip);
  // x: [B, L, D], skip: [B, L, D] (out-blocks with skip_linear; ignored otherwise) -> [B, L, D]
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& skip = {});
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  SelfAttention attn{nullptr};
  Mlp mlp{nullptr};
  torch::nn::Linear skip_linear{nullptr};
};
TORCH_MODULE(UViTBlock);

}  // namespace elit::models
