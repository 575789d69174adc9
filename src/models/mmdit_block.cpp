#include "elit/models/mmdit_block.h"

#include <torch/nn/modules/activation.h>

#include <cmath>
#include <limits>

#include "elit/models/adaln.h"
#include "elit/models/attention.h"
#include "elit/runtime/error.h"

namespace elit::models {

namespace nn = torch::nn;

torch::Tensor masked_attention(const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, const torch::Tensor& key_mask) {
  if (!key_mask.defined()) return scaled_dot_product_attention(q, k, v);
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  auto scores = torch::matmul(q * scale, k.transpose(-2, -1));  // [B, H, Nq, Nk]
  // [B, Nk] -> [B, 1, 1, Nk]: padded keys get -inf, i.e. softmax weight exactly 0.
  auto padded = key_mask.logical_not().view({key_mask.size(0), 1, 1, key_mask.size(1)});
  scores = scores.masked_fill(padded, -std::numeric_limits<double>::infinity());
  const bool low_precision =
      scores.scalar_type() == torch::kBFloat16 || scores.scalar_type() == torch::kFloat16;
  auto weights = low_precision ? scores.softmax(-1, torch::kFloat32).to(scores.scalar_type())
                               : scores.softmax(-1);
  return torch::matmul(weights, v);
}

QKRMSNormImpl::QKRMSNormImpl(int64_t dim, double eps) : eps(eps) {
  // Published: torch.empty, filled by the checkpoint; ones is the identity for training.
  weight = register_parameter("weight", torch::ones({dim}));
}

torch::Tensor QKRMSNormImpl::forward(const torch::Tensor& x) {
  return x * torch::rsqrt(x.pow(2).mean(-1, /*keepdim=*/true) + eps) * weight.to(x.scalar_type());
}

MMDiTAttentionImpl::MMDiTAttentionImpl(int64_t dim, int64_t num_heads, bool qkv_bias, bool pre_only,
                                       const std::string& qk_norm)
    : num_heads(num_heads) {
  qkv = register_module("qkv", nn::Linear(nn::LinearOptions(dim, 3 * dim).bias(qkv_bias)));
  if (!pre_only) proj = register_module("proj", nn::Linear(dim, dim));
  const int64_t head_dim = dim / num_heads;
  if (qk_norm == "rms") {
    rms_q = register_module("ln_q", QKRMSNorm(head_dim));
    rms_k = register_module("ln_k", QKRMSNorm(head_dim));
  } else if (qk_norm == "ln") {
    auto options = nn::LayerNormOptions({head_dim}).eps(1e-6);
    ln_q = register_module("ln_q", nn::LayerNorm(options));
    ln_k = register_module("ln_k", nn::LayerNorm(options));
  } else {
    check(qk_norm.empty(), "qk_norm must be empty, \"rms\" or \"ln\", got \"", qk_norm, "\"");
  }
}

std::vector<torch::Tensor> MMDiTAttentionImpl::pre_attention(const torch::Tensor& x) {
  const int64_t B = x.size(0), N = x.size(1), D = x.size(2);
  // [B, N, 3D] -> [B, N, 3, H, d] -> [3, B, H, N, d] (published split_qkv, heads after tokens)
  auto qkv_heads = qkv(x).view({B, N, 3, num_heads, D / num_heads}).permute({2, 0, 3, 1, 4});
  auto q = qkv_heads[0], k = qkv_heads[1], v = qkv_heads[2];
  if (rms_q) {
    q = rms_q(q);
    k = rms_k(k);
  } else if (ln_q) {
    q = ln_q(q);
    k = ln_k(k);
  }
  return {q, k, v};
}

torch::Tensor MMDiTAttentionImpl::post_attention(const torch::Tensor& attn) {
  check(!proj.is_empty(), "post_attention called on a pre_only attention");
  return proj(merge_heads(attn));  // [B, H, N, d] -> [B, N, D] -> [B, N, D]
}

DismantledBlockImpl::DismantledBlockImpl(int64_t hidden_size, int64_t num_heads, double mlp_ratio,
                                         bool qkv_bias, bool pre_only, const std::string& qk_norm,
                                         bool x_block_self_attn)
    : pre_only(pre_only) {
  check(!(pre_only && x_block_self_attn), "a pre_only block has no x-only attention");
  attn =
      register_module("attn", MMDiTAttention(hidden_size, num_heads, qkv_bias, pre_only, qk_norm));
  if (x_block_self_attn) {
    attn2 = register_module(
        "attn2", MMDiTAttention(hidden_size, num_heads, qkv_bias, /*pre_only=*/false, qk_norm));
  }
  if (!pre_only) {
    const auto hidden = static_cast<int64_t>(static_cast<double>(hidden_size) * mlp_ratio);
    mlp = register_module("mlp", Mlp(hidden_size, hidden, hidden_size));
  }
  // Published n_mods: 9 with attn2 (its shift, scale, gate appended), 2 for pre_only, else 6.
  const int64_t n_mods = x_block_self_attn ? 9 : (pre_only ? 2 : 6);
  adaLN_modulation =
      register_module("adaLN_modulation",
                      nn::Sequential(nn::SiLU(), nn::Linear(hidden_size, n_mods * hidden_size)));
}

StreamPre DismantledBlockImpl::pre_attention(const torch::Tensor& x, const torch::Tensor& c) {
  StreamPre out;
  out.x = x;
  // [shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp, shift2, scale2, gate2]
  const auto* linear = adaLN_modulation[1]->as<nn::Linear>();
  out.mods = adaLN_modulation->forward(c).chunk(linear->options.out_features() / x.size(-1), -1);
  auto qkv = attn->pre_attention(norm_modulate(x, out.mods[0], out.mods[1]));
  out.q = qkv[0], out.k = qkv[1], out.v = qkv[2];
  if (attn2) {
    auto qkv2 = attn2->pre_attention(norm_modulate(x, out.mods[6], out.mods[7]));
    out.q2 = qkv2[0], out.k2 = qkv2[1], out.v2 = qkv2[2];
  }
  return out;
}

torch::Tensor DismantledBlockImpl::post_attention(const StreamPre& pre, const torch::Tensor& a,
                                                  const torch::Tensor& a2) {
  check(!pre_only, "post_attention called on a pre_only block");
  const auto& m = pre.mods;
  auto x = gated_residual(pre.x, m[2], attn->post_attention(a));
  if (attn2) x = gated_residual(x, m[8], attn2->post_attention(a2));
  return gated_residual(x, m[5], mlp(norm_modulate(x, m[3], m[4])));
}

JointBlockImpl::JointBlockImpl(int64_t hidden_size, int64_t num_heads, double mlp_ratio,
                               bool qkv_bias, bool pre_only, const std::string& qk_norm,
                               bool x_block_self_attn) {
  context_block = register_module(
      "context_block", DismantledBlock(hidden_size, num_heads, mlp_ratio, qkv_bias, pre_only,
                                       qk_norm, /*x_block_self_attn=*/false));
  x_block =
      register_module("x_block", DismantledBlock(hidden_size, num_heads, mlp_ratio, qkv_bias,
                                                 /*pre_only=*/false, qk_norm, x_block_self_attn));
}

std::pair<torch::Tensor, torch::Tensor> JointBlockImpl::forward(const torch::Tensor& context,
                                                                const torch::Tensor& x,
                                                                const torch::Tensor& c,
                                                                const torch::Tensor& context_mask) {
  check(context.defined(),
        "a joint block needs the context stream (the previous block was the "
        "pre_only last block)");
  auto cp = context_block->pre_attention(context, c);
  auto xp = x_block->pre_attention(x, c);
  const int64_t L = context.size(1), N = x.size(1);
  torch::Tensor key_mask;  // [B, L + N]: image tokens are never padding
  if (context_mask.defined()) {
    key_mask = torch::cat({context_mask, torch::ones({x.size(0), N}, context_mask.options())}, 1);
  }
  // [B, H, L + N, d] with the context tokens first, as published block_mixing.
  auto attn = masked_attention(torch::cat({cp.q, xp.q}, 2), torch::cat({cp.k, xp.k}, 2),
                               torch::cat({cp.v, xp.v}, 2), key_mask);
  torch::Tensor attn2;
  if (xp.q2.defined()) attn2 = scaled_dot_product_attention(xp.q2, xp.k2, xp.v2);
  auto x_out = x_block->post_attention(xp, attn.narrow(2, L, N), attn2);
  if (context_block->pre_only) return {torch::Tensor(), x_out};
  return {context_block->post_attention(cp, attn.narrow(2, 0, L), torch::Tensor()), x_out};
}

VectorEmbedderImpl::VectorEmbedderImpl(int64_t input_dim, int64_t hidden_size) {
  mlp = register_module("mlp", nn::Sequential(nn::Linear(input_dim, hidden_size), nn::SiLU(),
                                              nn::Linear(hidden_size, hidden_size)));
}

}  // namespace elit::models
