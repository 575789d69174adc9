// MM-DiT building blocks (Stability-AI/sd3.5 mmditx.py): the per-stream attention with optional
// per-head qk norm, the DismantledBlock (one stream's adaLN, qkv, MLP), the JointBlock (context
// and image streams attending jointly, context first), and the pooled-vector embedder.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <utility>

#include "elit/models/mlp.h"

namespace elit::models {

// softmax(q k^T / sqrt(d)) v with padded keys left out. q: [B, H, Nq, d], k, v: [B, H, Nk, d],
// key_mask: [B, Nk] bool (true = attend) or undefined (attend to all) -> [B, H, Nq, d].
torch::Tensor masked_attention(const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, const torch::Tensor& key_mask);

// SD3's RMSNorm (mmditx.py RMSNorm with elementwise_affine): x * rsqrt(mean(x^2) + eps) * weight,
// epsilon inside the root, computed in x's dtype. (The ELIT RMSNorm of attention.h differs.)
class QKRMSNormImpl : public torch::nn::Module {
 public:
  explicit QKRMSNormImpl(int64_t dim, double eps = 1e-6);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;
  double eps;
};
TORCH_MODULE(QKRMSNorm);

// Published SelfAttention: fused qkv, per-head ln_q/ln_k ("rms" or "ln", eps 1e-6), proj (absent
// when pre_only: the last context block's attention output is never used).
class MMDiTAttentionImpl : public torch::nn::Module {
 public:
  MMDiTAttentionImpl(int64_t dim, int64_t num_heads, bool qkv_bias, bool pre_only,
                     const std::string& qk_norm);
  // x: [B, N, D] -> q, k, v: [B, H, N, d] (q and k normalised per head)
  std::vector<torch::Tensor> pre_attention(const torch::Tensor& x);
  // attention output [B, H, N, d] -> [B, N, D]
  torch::Tensor post_attention(const torch::Tensor& attn);
  torch::nn::Linear qkv{nullptr}, proj{nullptr};
  QKRMSNorm rms_q{nullptr}, rms_k{nullptr};           // registered as ln_q / ln_k ("rms")
  torch::nn::LayerNorm ln_q{nullptr}, ln_k{nullptr};  // "ln"
  int64_t num_heads;
};
TORCH_MODULE(MMDiTAttention);

// One stream's projections before the joint attention, and what its residual update needs.
struct StreamPre {
  torch::Tensor q, k, v;            // [B, H, N, d] for the joint attention
  torch::Tensor q2, k2, v2;         // [B, H, N, d] for the x-only attention (attn2), if any
  torch::Tensor x;                  // the stream's input, for the residuals
  std::vector<torch::Tensor> mods;  // adaLN chunks, each [B, D]
};

// Published DismantledBlock (no rmsnorm / scale_mod_only / swiglu: no SD3 model uses them).
class DismantledBlockImpl : public torch::nn::Module {
 public:
  DismantledBlockImpl(int64_t hidden_size, int64_t num_heads, double mlp_ratio, bool qkv_bias,
                      bool pre_only, const std::string& qk_norm, bool x_block_self_attn);
  // x: [B, N, D], c: [B, D] -> q, k, v of the modulated, normalised x (published pre_attention
  // and pre_attention_x: both attentions read the same LayerNorm output)
  StreamPre pre_attention(const torch::Tensor& x, const torch::Tensor& c);
  // attn: [B, H, N, d] joint attention output for this stream's tokens, attn2: the x-only
  // attention output (with attn2) -> gated residual updates [B, N, D]
  torch::Tensor post_attention(const StreamPre& pre, const torch::Tensor& attn,
                               const torch::Tensor& attn2);
  MMDiTAttention attn{nullptr}, attn2{nullptr};
  Mlp mlp{nullptr};
  torch::nn::Sequential adaLN_modulation{nullptr};  // SiLU, Linear(D, n_mods * D)
  bool pre_only;
};
TORCH_MODULE(DismantledBlock);

// Published JointBlock + block_mixing.
class JointBlockImpl : public torch::nn::Module {
 public:
  JointBlockImpl(int64_t hidden_size, int64_t num_heads, double mlp_ratio, bool qkv_bias,
                 bool pre_only, const std::string& qk_norm, bool x_block_self_attn);
  // context: [B, L, D], x: [B, N, D], c: [B, D], context_mask: [B, L] bool or undefined
  //   -> (context' [B, L, D], undefined for the pre_only block; x' [B, N, D]).
  // Joint attention over [context; x] (context first, as published); padded context tokens are
  // left out as keys, so they change no real token.
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& context,
                                                  const torch::Tensor& x, const torch::Tensor& c,
                                                  const torch::Tensor& context_mask);
  DismantledBlock context_block{nullptr}, x_block{nullptr};
};
TORCH_MODULE(JointBlock);

// Published VectorEmbedder (`y_embedder`): Linear(P, D), SiLU, Linear(D, D).
class VectorEmbedderImpl : public torch::nn::Module {
 public:
  VectorEmbedderImpl(int64_t input_dim, int64_t hidden_size);
  // y: [B, P] -> [B, D]
  torch::Tensor forward(const torch::Tensor& y) { return mlp->forward(y); }
  torch::nn::Sequential mlp{nullptr};
};
TORCH_MODULE(VectorEmbedder);

}  // namespace elit::models
