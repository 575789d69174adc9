#include "elit/models/uvit_block.h"

#include "elit/runtime/error.h"

namespace elit::models {

namespace nn = torch::nn;

UViTBlockImpl::UViTBlockImpl(int64_t dim, int64_t num_heads, double mlp_ratio, bool qkv_bias,
                             bool skip) {
  // Registration order = published attribute order, so state_dict keys list the same way.
  norm1 = register_module("norm1", nn::LayerNorm(nn::LayerNormOptions({dim}).eps(1e-5)));
  attn = register_module("attn", SelfAttention(dim, num_heads, /*qk_norm=*/false, qkv_bias));
  norm2 = register_module("norm2", nn::LayerNorm(nn::LayerNormOptions({dim}).eps(1e-5)));
  const auto hidden = static_cast<int64_t>(static_cast<double>(dim) * mlp_ratio);
  mlp = register_module("mlp", Mlp(dim, hidden, dim, /*bias=*/true, /*tanh_gelu=*/false));
  if (skip) skip_linear = register_module("skip_linear", nn::Linear(2 * dim, dim));
}

torch::Tensor UViTBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& skip) {
  auto h = x;
  if (skip_linear) {
    check(skip.defined() && skip.sizes() == x.sizes(), "U-ViT out-block needs a skip of shape ",
          x.sizes(), ", got ", skip.defined() ? skip.sizes() : torch::IntArrayRef{});
    h = skip_linear(torch::cat({x, skip}, -1));  // [B, L, 2D] -> [B, L, D]
  }
  h = h + attn(norm1(h));
  return h + mlp(norm2(h));
}

}  // namespace elit::models
