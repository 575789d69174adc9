#include "elit/models/hdit_blocks.h"

#include <torch/nn/init.h>

#include "elit/models/neighborhood_attention.h"
#include "elit/runtime/error.h"

namespace elit::models::hdit {

namespace nn = torch::nn;

namespace {

nn::Linear linear(int64_t in, int64_t out, bool zero = false) {
  auto l = nn::Linear(nn::LinearOptions(in, out).bias(false));
  torch::NoGradGuard no_grad;
  if (zero) l->weight.zero_();  // published zero_init
  return l;
}

}  // namespace

SelfAttentionBlockImpl::SelfAttentionBlockImpl(int64_t d_model, int64_t d_head,
                                               int64_t cond_features, int64_t kernel_size,
                                               double dropout)
    : d_head(d_head), n_heads(d_model / d_head), kernel_size(kernel_size), dropout(dropout) {
  norm = register_module("norm", AdaRMSNorm(d_model, cond_features));
  qkv_proj = register_module("qkv_proj", linear(d_model, 3 * d_model));
  scale = register_parameter("scale", torch::full({n_heads}, 10.0));
  pos_emb = register_module("pos_emb", AxialRoPE(d_head / 2, n_heads));
  out_proj = register_module("out_proj", linear(d_model, d_model, /*zero=*/true));
}

torch::Tensor SelfAttentionBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& pos,
                                              const torch::Tensor& cond) {
  auto qkv = qkv_proj(norm(x, cond));  // [B, ..., 3D]
  auto h = kernel_size > 0 ? neighborhood_attention(qkv, pos) : global_attention(qkv, pos);
  return out_proj(torch::dropout(h, dropout, is_training())) + x;
}

torch::Tensor SelfAttentionBlockImpl::global_attention(const torch::Tensor& qkv,
                                                       const torch::Tensor& pos) {
  const int64_t B = qkv.size(0), D = qkv.size(-1) / 3, N = qkv.numel() / (B * 3 * D);
  check(pos.numel() == 2 * N, "global attention over ", N, " tokens got positions ", pos.sizes());
  // '(t nh e)': [B, N, 3, nh, e] -> [3, B, nh, N, e]
  auto parts = qkv.reshape({B, N, 3, n_heads, d_head}).permute({2, 0, 3, 1, 4});
  auto [q, k] = scale_for_cosine_sim(parts[0], parts[1], scale.view({n_heads, 1, 1}), 1e-6);
  // Published: positions cast to the activations' dtype before the angles; [N, nh, d] -> [nh, N, d]
  auto theta = pos_emb(pos.reshape({N, 2}).to(qkv.scalar_type())).movedim(-2, -3);
  q = apply_rotary_emb(q, theta);
  k = apply_rotary_emb(k, theta);
  // F.scaled_dot_product_attention(q, k, v, scale=1.0): the cosine scaling is in q and k.
  auto out = torch::matmul(torch::matmul(q, k.transpose(-2, -1)).softmax(-1), parts[2]);
  auto sizes = qkv.sizes().vec();
  sizes.back() = D;
  return out.transpose(1, 2).reshape(sizes);  // [B, nh, N, e] -> [B, N, nh, e] -> [B, ..., D]
}

torch::Tensor SelfAttentionBlockImpl::neighborhood_attention(const torch::Tensor& qkv,
                                                             const torch::Tensor& pos) {
  check(qkv.dim() == 4, "neighbourhood attention needs a token grid [B, H, W, D], got ",
        qkv.sizes());
  const int64_t B = qkv.size(0), H = qkv.size(1), W = qkv.size(2);
  // '(t nh e)': [B, H, W, 3, nh, e] -> [3, B, nh, H, W, e]
  auto parts = qkv.reshape({B, H, W, 3, n_heads, d_head}).permute({3, 0, 4, 1, 2, 5});
  auto [q, k] = scale_for_cosine_sim(parts[0], parts[1], scale.view({n_heads, 1, 1, 1}), 1e-6);
  // Published: the angles in the positions' own dtype (not cast to the activations'), [H, W, nh,
  // d] -> [nh, H, W, d]; the rotation then runs in at least float32.
  auto theta = pos_emb(pos).movedim(-2, -4);
  q = apply_rotary_emb(q, theta);
  k = apply_rotary_emb(k, theta);
  auto out = elit::models::neighborhood_attention(q, k, parts[2], kernel_size, /*scale=*/1.0);
  return out.permute({0, 2, 3, 1, 4}).reshape({B, H, W, n_heads * d_head});
}

FeedForwardBlockImpl::FeedForwardBlockImpl(int64_t d_model, int64_t d_ff, int64_t cond_features,
                                           double dropout)
    : dropout(dropout) {
  norm = register_module("norm", AdaRMSNorm(d_model, cond_features));
  up_proj = register_module("up_proj", linear(d_model, 2 * d_ff));  // LinearGEGLU
  down_proj = register_module("down_proj", linear(d_ff, d_model, /*zero=*/true));
}

torch::Tensor FeedForwardBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& cond) {
  auto h = torch::dropout(geglu(up_proj(norm(x, cond))), dropout, is_training());
  return down_proj(h) + x;
}

TransformerLayerImpl::TransformerLayerImpl(int64_t d_model, int64_t d_ff, int64_t d_head,
                                           int64_t cond_features, const std::string& attention,
                                           int64_t kernel_size, double dropout) {
  if (attention != "none") {
    const int64_t kernel = attention == "neighborhood" ? kernel_size : 0;
    self_attn = register_module(
        "self_attn", SelfAttentionBlock(d_model, d_head, cond_features, kernel, dropout));
  }
  ff = register_module("ff", FeedForwardBlock(d_model, d_ff, cond_features, dropout));
}

torch::Tensor TransformerLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& pos,
                                            const torch::Tensor& cond) {
  auto h = self_attn ? self_attn(x, pos, cond) : x;
  return ff(h, cond);
}

}  // namespace elit::models::hdit
