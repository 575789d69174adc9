#include "elit/models/adaln.h"

#include <torch/csrc/autograd/grad_mode.h>
#include <torch/nn/functional/normalization.h>

#include "elit/models/fused_kernels.h"

namespace elit::models {

namespace F = torch::nn::functional;

torch::Tensor per_sample(const torch::Tensor& v, const torch::Tensor& like) {
  auto sizes = std::vector<int64_t>(like.dim(), 1);
  sizes.front() = v.size(0);
  sizes.back() = v.size(-1);
  return v.view(sizes);
}

namespace {

// v is a per-sample vector [B, D] for x [B, ..., D] (what the fused kernels take).
bool per_sample_shape(const torch::Tensor& v, const torch::Tensor& x) {
  return x.dim() >= 2 && v.dim() == 2 && v.size(0) == x.size(0) && v.size(1) == x.size(-1);
}

}  // namespace

torch::Tensor norm_modulate(const torch::Tensor& x, const torch::Tensor& shift,
                            const torch::Tensor& scale) {
  if (fused::applies({x, shift, scale}) && per_sample_shape(shift, x) &&
      per_sample_shape(scale, x)) {
    return fused::layer_norm_modulate(x, shift, scale, 1e-6);
  }
  // libtorch 1.13's bfloat16 LayerNorm on the CPU is ~10x slower than casting to float32 and
  // back (and less accurate): inference with bfloat16 weights normalises in float32.
  if (x.scalar_type() == torch::kBFloat16 && x.device().is_cpu() &&
      !torch::GradMode::is_enabled()) {
    return norm_modulate(x.to(torch::kFloat32), shift.to(torch::kFloat32),
                         scale.to(torch::kFloat32))
        .to(x.scalar_type());
  }
  auto normed = F::layer_norm(x, F::LayerNormFuncOptions({x.size(-1)}).eps(1e-6));
  // normed * (1 + scale) + shift in one pass; without autograd into normed itself.
  const auto shift_b = per_sample(shift, x), scale_b = 1 + per_sample(scale, x);
  if (torch::GradMode::is_enabled()) return torch::addcmul(shift_b, normed, scale_b);
  return torch::addcmul_out(normed, shift_b, normed, scale_b);
}

torch::Tensor gated_residual(const torch::Tensor& x, const torch::Tensor& gate,
                             const torch::Tensor& y) {
  if (fused::applies({x, gate, y}) && x.sizes() == y.sizes() &&
      x.scalar_type() == y.scalar_type() && per_sample_shape(gate, x)) {
    return fused::gated_residual(x, gate, y);
  }
  return torch::addcmul(x, per_sample(gate, y), y);
}

}  // namespace elit::models
