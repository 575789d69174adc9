#include "elit/models/mlp.h"

#include <torch/csrc/autograd/grad_mode.h>

namespace elit::models {

namespace nn = torch::nn;

namespace {

// GELU with the tanh approximation. Without autograd, float32/float64 on the CPU use the
// identity 0.5 (1 + tanh z) = sigmoid(2z) in place: x * sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3)),
// 1.6x faster than libtorch 1.13's tanh kernel on this machine (7.3 -> 4.5 ms for 3.1M values)
// and equal to it within 1e-15 in float64. Training and other dtypes keep torch::gelu.
torch::Tensor gelu_tanh(const torch::Tensor& x) {
  const auto type = x.scalar_type();
  if (torch::GradMode::is_enabled() || !x.device().is_cpu() ||
      (type != torch::kFloat32 && type != torch::kFloat64)) {
    return torch::gelu(x, "tanh");
  }
  constexpr double k = 1.5957691216057308;  // 2 sqrt(2 / pi)
  constexpr double c = 0.044715;
  auto out = x * x;
  out.mul_(k * c).add_(k).mul_(x).sigmoid_().mul_(x);
  return out;
}

}  // namespace

MlpImpl::MlpImpl(int64_t in_features, int64_t hidden_features, int64_t out_features, bool bias,
                 bool tanh_gelu)
    : tanh_gelu(tanh_gelu) {
  fc1 = register_module("fc1",
                        nn::Linear(nn::LinearOptions(in_features, hidden_features).bias(bias)));
  fc2 = register_module("fc2",
                        nn::Linear(nn::LinearOptions(hidden_features, out_features).bias(bias)));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  const auto h = fc1(x);
  return fc2(tanh_gelu ? gelu_tanh(h) : torch::gelu(h));
}

}  // namespace elit::models
