#include "elit/models/sit_block.h"

#include <torch/nn/modules/activation.h>

#include "elit/models/flat_linear.h"

namespace elit::models {

namespace nn = torch::nn;

SiTBlockImpl::SiTBlockImpl(int64_t hidden_size, int64_t num_heads, double mlp_ratio, bool qk_norm) {
  attn = register_module("attn", SelfAttention(hidden_size, num_heads, qk_norm));
  const auto mlp_hidden = static_cast<int64_t>(static_cast<double>(hidden_size) * mlp_ratio);
  mlp = register_module("mlp", Mlp(hidden_size, mlp_hidden, hidden_size));
  adaLN_modulation = register_module(
      "adaLN_modulation", nn::Sequential(nn::SiLU(), nn::Linear(hidden_size, 6 * hidden_size)));
}

torch::Tensor SiTBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& c) {
  // shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp: each [B, D]
  auto m = adaLN_modulation->forward(c).chunk(6, -1);
  auto h = gated_residual(x, m[2], attn(norm_modulate(x, m[0], m[1])));
  return gated_residual(h, m[5], mlp(norm_modulate(h, m[3], m[4])));
}

torch::Tensor SiTBlockImpl::modulated_input(const torch::Tensor& x, const torch::Tensor& c) {
  auto m = adaLN_modulation->forward(c).chunk(6, -1);
  return norm_modulate(x, m[0], m[1]);
}

FinalLayerImpl::FinalLayerImpl(int64_t hidden_size, int64_t patch_size, int64_t out_channels) {
  linear =
      register_module("linear", nn::Linear(hidden_size, patch_size * patch_size * out_channels));
  adaLN_modulation = register_module(
      "adaLN_modulation", nn::Sequential(nn::SiLU(), nn::Linear(hidden_size, 2 * hidden_size)));
}

torch::Tensor FinalLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& c) {
  auto m = adaLN_modulation->forward(c).chunk(2, -1);  // shift, scale
  return flat_linear(linear, norm_modulate(x, m[0], m[1]));
}

}  // namespace elit::models
