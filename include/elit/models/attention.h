// Attention layers: the transformer blocks' self-attention (timm Attention, fused qkv, optional
// per-head qk LayerNorm) and the latent interface's cross-attention (published CrossAttention,
// separate q and kv projections, RMSNorm on q and k over the full width).
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

namespace elit::models {

// softmax(q k^T / sqrt(d)) v over the last two dims; leading dims broadcast.
// q: [..., Nq, d], k, v: [..., Nk, d] -> [..., Nq, d]. The softmax runs in float32 for reduced
// precision inputs. The result may be a non-contiguous view (strided_attention.h).
// With `weights`, the softmax weights the output was computed from are stored there:
// [..., Nq, Nk] (float32 for reduced precision inputs), so that an observer sees the very
// attention the forward used (the strided path, which never forms them, is skipped then).
torch::Tensor scaled_dot_product_attention(const torch::Tensor& q, const torch::Tensor& k,
                                           const torch::Tensor& v,
                                           torch::Tensor* weights = nullptr);

// timm Attention (published SiT blocks): qkv, optional q_norm/k_norm (LayerNorm over the head
// dim, eps 1e-5), proj. U-ViT's Attention is the same without qk norm and with an optional qkv
// bias.
class SelfAttentionImpl : public torch::nn::Module {
 public:
  SelfAttentionImpl(int64_t dim, int64_t num_heads, bool qk_norm, bool qkv_bias = true);
  // x: [B, N, D] -> [B, N, D]
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear qkv{nullptr}, proj{nullptr};
  torch::nn::LayerNorm q_norm{nullptr}, k_norm{nullptr};
  int64_t num_heads;
};
TORCH_MODULE(SelfAttention);

// Published RMSNorm: x / (||x||_2 / sqrt(d) + eps) * scale, epsilon outside the root, the
// normalisation computed in float32 whatever the input dtype.
class RMSNormImpl : public torch::nn::Module {
 public:
  explicit RMSNormImpl(int64_t dim, double eps = 1e-5);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor scale;
  int64_t dim;
  double eps;
};
TORCH_MODULE(RMSNorm);

// Published CrossAttention with qk_norm (RMSNorm before the head split) and bias on q/kv.
class CrossAttentionImpl : public torch::nn::Module {
 public:
  CrossAttentionImpl(int64_t dim, int64_t num_heads, bool qkv_bias = true);
  // q_in: [..., Nq, D], kv_in: [..., Nk, D] (leading dims broadcast) -> [..., Nq, D]
  torch::Tensor forward(const torch::Tensor& q_in, const torch::Tensor& kv_in);
  // The two halves of the attention, so that a query shared by many groups is projected once.
  torch::Tensor project_queries(const torch::Tensor& q_in);  // -> [..., H, Nq, d]
  // `weights`: as in scaled_dot_product_attention ([..., H, Nq, Nk]).
  torch::Tensor attend(const torch::Tensor& queries, const torch::Tensor& kv_in,
                       torch::Tensor* weights = nullptr);
  torch::nn::Linear q_proj{nullptr}, kv_proj{nullptr}, proj{nullptr};
  RMSNorm q_norm{nullptr}, k_norm{nullptr};
  int64_t num_heads;
};
TORCH_MODULE(CrossAttention);

// [..., N, H*d] -> [..., H, N, d] and back.
torch::Tensor split_heads(const torch::Tensor& x, int64_t num_heads);
torch::Tensor merge_heads(const torch::Tensor& x);

}  // namespace elit::models
